"""Tests of helpers.synth: known weights, Proposition 99 (Abadie et al.; Arkhangelsky et al. 2021), donor rule,
placebo inference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers import synth
from helpers.errors import EmptySampleError, ParameterError


def factor_panel(seed=0, N=30, T=25, event=2015, effect=1.0, start=2000):
    """Donors follow two factors; the treated unit is exactly 0.5*u0 + 0.3*u1 + 0.2*u2 before the event."""
    rng = np.random.default_rng(seed)
    F = rng.normal(size=(T, 2)).cumsum(axis=0)
    L = rng.normal(size=(N, 2))
    Y = L @ F.T + rng.normal(0, 0.05, (N, T))
    years = np.arange(start, start + T)
    y1 = 0.5 * Y[0] + 0.3 * Y[1] + 0.2 * Y[2] + effect * (years >= event)
    rows = [(f"u{i:02d}", t, Y[i, j], 0) for i in range(N) for j, t in enumerate(years)]
    rows += [("TRT", t, y1[j], int(t >= event)) for j, t in enumerate(years)]
    return pd.DataFrame(rows, columns=["unit", "year", "y", "status"])


def test_sc_recovers_known_weights():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(20, 15))
    w_true = np.zeros(15)
    w_true[[2, 7, 11]] = [0.6, 0.3, 0.1]
    w = synth.sc_weights(X, X @ w_true)
    np.testing.assert_allclose(w, w_true, atol=1e-6)
    # many donors: same optimum as the SLSQP reference solver
    X2 = rng.normal(size=(12, 80)).cumsum(axis=0)
    y2 = rng.normal(size=12).cumsum()
    a, b = synth.sc_weights(X2, y2), synth.sc_weights_slsqp(X2, y2)
    loss = lambda w: ((X2 @ w - y2) ** 2).sum()
    assert loss(a) <= loss(b) + 1e-9 and a.min() >= 0 and a.sum() == pytest.approx(1)


def test_case_effect_recovered():
    df = factor_panel()
    res = synth.run_case(df, "unit", "year", "y", "TRT", 2015, window=(15, 9), status_col="status",
                         sdid_placebos=10)
    t = res["tidy"].set_index("estimator")
    assert t.loc["synthetic_control", "estimate"] == pytest.approx(1.0, abs=0.1)
    assert t.loc["synthetic_did", "estimate"] == pytest.approx(1.0, abs=0.15)
    w = res["weights"].set_index("unit")["weight_sc"]
    assert w[["u00", "u01", "u02"]].sum() > 0.9
    assert t.loc["synthetic_control", "p_value"] == pytest.approx(1 / 31)  # treated ratio ranks first
    assert res["fit"].set_index("method").loc["sc", "pre_rmspe"] < 0.05
    assert set(res["paths"].columns) >= {"time", "treated", "synthetic_sc", "synthetic_sdid"}


@pytest.fixture(scope="module")
def prop99():
    sd = pytest.importorskip("synthdid")
    return sd.load_california_prop99()


def test_prop99_published_estimates(prop99):
    # Arkhangelsky et al. (2021, Table 1): SDID -15.6, SC -19.6, DiD -27.3 (synthdid R package: -15.604)
    res = synth.run_case(prop99, "State", "Year", "PacksPerCapita", "California", 1989, window=(19, 11),
                         status_col="treated", placebos=False)
    t = res["tidy"].set_index("estimator")["estimate"]
    assert round(t["synthetic_did"], 3) == -15.604
    assert round(t["did_2x2"], 2) == -27.35
    assert t["synthetic_control"] == pytest.approx(-19.6, abs=0.15)
    # our exact simplex solution fits the pre-period at least as well as synthdid's Frank-Wolfe SC
    import synthdid as sd
    case = res["case"]
    Y = case.Y.to_numpy()
    om = np.asarray(sd.sc_estimate(Y, case.N0, case.T0).weights.omega)
    ours = res["fits"]["sc"]["weights"].to_numpy()
    loss = lambda w: ((Y[:-1, :19].T @ w - Y[-1, :19]) ** 2).sum()
    assert loss(ours) <= loss(om) + 1e-8


def test_donor_rule_and_errors():
    df = factor_panel()
    # u05 becomes treated inside the window, u06 outside it, u07 misses a year
    df.loc[(df["unit"] == "u05") & (df["year"] >= 2012), "status"] = 1
    df.loc[(df["unit"] == "u06") & (df["year"] >= 2024), "status"] = 1
    df = df[~((df["unit"] == "u07") & (df["year"] == 2012))]
    donors, excl, rule = synth.donor_pool(df, "unit", "year", "y", "TRT", 2015, (5, 5), status_col="status")
    assert "u05" not in donors and "u06" in donors and "u07" not in donors and "TRT" not in donors
    assert "[2010, 2020]" in rule
    assert excl.set_index("unit").loc["u05", "reason"].startswith("status changes")
    with pytest.raises(EmptySampleError, match="no usable donors"):
        synth.donor_pool(df.assign(status=np.where(df["year"] >= 2015, 1, 0)), "unit", "year", "y", "TRT",
                         2015, (5, 5), status_col="status")
    with pytest.raises(ParameterError):
        synth.donor_pool(df, "unit", "year", "y", "XXX", 2015, (5, 5))
    with pytest.raises(ParameterError, match="window"):
        synth.case_matrix(df, "unit", "year", "y", "TRT", 2015, (1, 5), donors)


def test_placebo_p_values_null_case():
    df = factor_panel(effect=0.0, seed=3)
    res = synth.run_case(df, "unit", "year", "y", "TRT", 2015, window=(15, 9), status_col="status",
                         sdid_placebos=8)
    pv = res["p_values"].set_index("method")
    assert pv.loc["sc", "n_placebos"] == 30 and pv.loc["sdid", "n_placebos"] == 8
    assert res["tidy"].set_index("estimator").loc["synthetic_did", "p_value"] > 0.1
