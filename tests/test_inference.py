"""Tests of helpers.inference: bootstrap t-statistics equal pyfixest refits; size under the null; RI checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.core import params
from helpers.core.errors import DataError, ParameterError
from helpers.estimate import fe, inference
from helpers.report import figures


def panel(seed=0, G=12, T=10, effect=0.0, cohorts=(3, 6, 8), n_never=3):
    rng = np.random.default_rng(seed)
    gs = np.concatenate([np.resize(cohorts, G - n_never), np.zeros(n_never)])
    rows = []
    a = rng.normal(size=G)
    b = rng.normal(size=T)
    for i in range(G):
        shock = rng.normal(0, 0.5)  # cluster-level (unit) heterogeneity in trends
        for t in range(1, T + 1):
            D = float(gs[i] > 0 and t >= gs[i])
            rows.append(
                (
                    i,
                    t,
                    a[i] + b[t - 1] + shock * t / T + effect * D + rng.normal(0, 0.5),
                    D,
                    gs[i],
                    rng.normal(),
                )
            )
    return pd.DataFrame(rows, columns=["id", "t", "y", "D", "g", "x"])


def test_bootstrap_t_equals_pyfixest_refit():
    import pyfixest as pf

    df = panel(seed=1)
    rng = np.random.default_rng(5)
    V = rng.choice([-1.0, 1.0], size=(5, 12))
    res = inference.wild_cluster_bootstrap(
        df, "y", "D", covariates=["x"], fe=["id", "t"], cluster="id", boot_weights=V
    )
    ssc = pf.ssc(k_adj=False, G_adj=True)
    fit = pf.feols("y ~ D + x | id + t", data=df, vcov={"CRV1": "id"}, ssc=ssc)
    assert res["estimate"].iloc[0] == pytest.approx(fit.coef()["D"], rel=1e-8)
    assert res["statistic"].iloc[0] == pytest.approx(fit.tstat()["D"], rel=1e-6)
    # rebuild bootstrap sample 0 by hand: restricted fit (D coefficient = 0) and cluster-flipped residuals
    r0 = pf.feols("y ~ x | id + t", data=df)
    fitted = df["y"].to_numpy() - r0.resid()
    for b in range(3):
        ystar = fitted + r0.resid() * V[b, df["id"].to_numpy()]
        fb = pf.feols("ys ~ D + x | id + t", data=df.assign(ys=ystar), vcov={"CRV1": "id"}, ssc=ssc)
        assert res.attrs["t_boot"][b] == pytest.approx(fb.tstat()["D"], rel=1e-6)


def test_wild_bootstrap_size_and_power():
    rej = []
    for s in range(60):
        df = panel(seed=100 + s)
        p = inference.wild_cluster_bootstrap(df, "y", "D", fe=["id", "t"], cluster="id", B=199, seed=s)
        rej.append(p["p_value"].iloc[0] < 0.10)
    rate = np.mean(rej)
    assert 0.0 < rate < 0.25  # nominal 10 %, 60 draws: generous band
    strong = inference.wild_cluster_bootstrap(
        panel(seed=3, effect=2.0), "y", "D", fe=["id", "t"], cluster="id", B=199, weights="webb"
    )
    assert strong["p_value"].iloc[0] < 0.05
    a = inference.wild_cluster_bootstrap(panel(seed=3), "y", "D", fe=["id", "t"], cluster="id", B=99, seed=1)
    b = inference.wild_cluster_bootstrap(panel(seed=3), "y", "D", fe=["id", "t"], cluster="id", B=99, seed=1)
    assert a["p_value"].iloc[0] == b["p_value"].iloc[0]
    with pytest.raises(ParameterError, match="valid values"):
        inference.wild_cluster_bootstrap(panel(), "y", "D", fe=["id"], cluster="id", weights="mammen")


def test_randomization_inference_matches_refits_and_detects_effect():
    import pyfixest as pf

    df = panel(seed=2, G=20, effect=0.0)
    res = inference.randomization_inference(df, "id", "t", "y", "g", n_perm=50, seed=3)
    fit = pf.feols("y ~ D | id + t", data=df)
    assert res["estimate"].iloc[0] == pytest.approx(fit.coef()["D"], rel=1e-8)
    # replay the first permutation by hand
    rng = np.random.default_rng(3)
    ug = df.groupby("id")["g"].first().replace(0, np.inf)
    perm = rng.permutation(ug.to_numpy())
    Dp = (df["t"].to_numpy() >= perm[df["id"].to_numpy()]).astype(float)
    fp = pf.feols("y ~ Dp | id + t", data=df.assign(Dp=Dp))
    assert res.attrs["distribution"][0] == pytest.approx(fp.coef()["Dp"], rel=1e-8)
    assert res["p_value"].iloc[0] > 0.05
    strong = inference.randomization_inference(
        panel(seed=2, G=20, effect=3.0), "id", "t", "y", "g", n_perm=99, seed=3
    )
    assert strong["p_value"].iloc[0] == pytest.approx(1 / 100)
    again = inference.randomization_inference(df, "id", "t", "y", "g", n_perm=50, seed=3)
    np.testing.assert_array_equal(again.attrs["distribution"], res.attrs["distribution"])


def test_randomization_inference_bad_input():
    df = panel(seed=2)
    with pytest.raises(DataError, match="no treated"):
        inference.randomization_inference(df.assign(g=np.nan), "id", "t", "y", "g", n_perm=5)
    with pytest.raises(DataError, match="no variation"):
        inference.randomization_inference(df.assign(g=3), "id", "t", "y", "g", n_perm=5)
    with pytest.raises(ParameterError):
        inference.randomization_inference(df, "id", "t", "nope", "g", n_perm=5)


def test_demean_matches_pyfixest_unbalanced():
    from pyfixest.estimation import demean

    rng = np.random.default_rng(4)
    n = 400
    codes = np.column_stack([rng.integers(0, 30, n), rng.integers(0, 12, n), rng.integers(0, 5, n)])
    M = rng.normal(size=(n, 3)) + codes[:, :1] * 0.3
    for k in (1, 2, 3):
        ours = fe.demean(M, codes[:, :k])
        ref, ok = demean(M.copy(), codes[:, :k].astype(np.uint64), np.ones(n), tol=1e-12, maxiter=100_000)
        assert ok
        np.testing.assert_allclose(ours, ref, atol=1e-8)
    # the result is orthogonal to every fixed effect: group means are zero
    out = fe.demean(M, codes[:, :2])
    for j in range(2):
        means = pd.DataFrame(out).groupby(codes[:, j]).mean().to_numpy()
        assert np.abs(means).max() < 1e-7


def test_check_draws():
    assert params.check_draws("n_wild", 0) == 0 and params.check_draws("n_perm", 199) == 199
    for bad in (-1, 2.5, "99", True, None):
        with pytest.raises(ParameterError, match="n_wild"):
            params.check_draws("n_wild", bad)
    with pytest.raises(ParameterError, match="at least 1"):
        params.check_draws("B", 0, minimum=1)
    with pytest.raises(ParameterError, match="B"):
        inference.wild_cluster_bootstrap(panel(), "y", "D", fe=["id", "t"], cluster="id", B=0)
    with pytest.raises(ParameterError, match="n_perm"):
        inference.randomization_inference(panel(), "id", "t", "y", "g", n_perm=0)


def test_permutation_figure_marks_observed():
    draws = np.random.default_rng(0).normal(size=200)
    fig = figures.permutation_figure(draws, 2.5, p_value=0.01, observed_label="observed TWFE", title="RI")
    assert len(fig.data) == 1 and len(fig.data[0].x) == 200
    line = next(s for s in fig.layout.shapes if s.type == "line")
    assert line.x0 == line.x1 == 2.5
    ann = fig.layout.annotations[0]
    assert "observed TWFE" in ann.text and "p = 0.010" in ann.text
    assert ann.xanchor == "right"  # observed value right of the draws: label on the left of the line
