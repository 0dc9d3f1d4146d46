"""Tests of the specification-curve engine (helpers.specs) against a pyfixest.feols loop and statsmodels with
dummies, plus grouping by sample, skipped specifications, the exact two-way sweep, and bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from helpers.core.errors import EmptySampleError, ParameterError
from helpers.estimate import fe
from helpers.estimate import models as M
from helpers.estimate import specs as S
from helpers.pipeline.bench import TRUE_EFFECT, synthetic_panel
from helpers.report import figures


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return synthetic_panel(n_countries=50, n_years=36, first_year=1978, seed=7)


@pytest.fixture(scope="module")
def grid(panel) -> pd.DataFrame:
    return S.specification_grid(
        panel=panel,
        outcomes=["v2x_gender", "v2x_genpp", "v2lgfemleg"],
        lags=[0, 1, 2],
        windows=[(1981, 2012), (1990, 2012)],
    )


@pytest.fixture(scope="module")
def results(panel, grid) -> pd.DataFrame:
    # each specification on its own complete rows, so that it can be compared with models.build_design's sample
    return S.run_specs(panel, grid, sample_mode="own")


def _feols(des: M.Design, se: str = "CRV1"):
    import pyfixest as pf

    vcov, ssc = M.pyfixest_vcov(se)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pf.feols(
            f"{des.y} ~ {' + '.join(des.regressors)} | iso3 + year",
            data=des.data,
            vcov=vcov,
            ssc=ssc,
            fixef_rm="none",
            demeaner=fe.pyfixest_demeaner(),
        )


def test_grid_is_full_product(grid):
    assert len(grid) == 3 * 5 * 3 * 3 * 2 * 2
    assert grid["spec_id"].is_unique
    assert set(grid["coding"]) == {
        "ratified",
        "years_since",
        "years_since_binned",
        "optional_protocol",
        "res_any",
    }


def test_default_grid_has_at_least_1000_specs(panel):
    assert len(S.specification_grid(panel=panel)) >= 1000


def test_engine_equals_pyfixest_loop(panel, grid, results):
    # every coding, control set, lag, window and estimator appears in the subsample
    sub = grid.groupby(["coding", "controls", "estimator"], group_keys=False).head(2)
    assert len(sub) >= 60
    for row in sub.itertuples():
        des = M.build_design(
            panel,
            treaty=row.treaty,
            outcome=row.outcome,
            coding=row.coding,
            controls=row.controls,
            lag=row.lag,
            estimator=row.estimator,
            years=(row.year_start, row.year_end),
        )
        m = _feols(des)
        got = results.loc[results["spec_id"] == row.spec_id].iloc[0]
        ref = m.tidy().loc[des.focal]
        assert got["skipped"] == ""
        assert got["term"] == des.focal
        assert got["estimate"] == pytest.approx(ref["Estimate"], abs=1e-8)
        assert got["std_error"] == pytest.approx(ref["Std. Error"], rel=1e-8)
        assert got["p_value"] == pytest.approx(ref["Pr(>|t|)"], rel=1e-6, abs=1e-12)
        assert got["conf_low"] == pytest.approx(ref["2.5%"], abs=1e-8)
        assert int(got["n_obs"]) == int(m._N)
        assert got["r2_within"] == pytest.approx(float(m._r2_within), abs=1e-8)


def test_engine_equals_statsmodels_dummies_cr1(panel, grid):
    import statsmodels.formula.api as smf

    sub = grid[(grid["lag"] == 1) & (grid["coding"].isin(["ratified", "years_since_binned"]))].head(8)
    res = S.run_specs(panel, sub, se="CR1", sample_mode="own")
    for row, got in zip(sub.itertuples(), res.itertuples(), strict=True):
        des = M.build_design(
            panel,
            outcome=row.outcome,
            coding=row.coding,
            controls=row.controls,
            lag=row.lag,
            estimator=row.estimator,
            years=(row.year_start, row.year_end),
        )
        d = des.data
        sm = smf.ols(f"{des.y} ~ {' + '.join(des.regressors)} + C(iso3) + C(year)", data=d).fit(
            cov_type="cluster", cov_kwds={"groups": pd.factorize(d["iso3"])[0]}
        )
        assert got.estimate == pytest.approx(sm.params[des.focal], abs=1e-8)
        assert got.std_error == pytest.approx(sm.bse[des.focal], rel=1e-10)


def test_engine_recovers_true_effect(results):
    r = results[
        (results["outcome"] == "v2x_gender")
        & (results["coding"] == "ratified")
        & (results["lag"] == 1)
        & (results["estimator"] == "twfe")
        & (results["controls"] == "cole")
    ]
    assert len(r) == 2
    assert (abs(r["estimate"] - TRUE_EFFECT) < 4 * r["std_error"]).all()


def test_two_way_sweep_is_exact_projection(panel):
    d = panel.dropna(subset=["ln_gdppc"]).sort_values(["iso3", "year"])
    d = d[d["year"] >= 1985]
    sw = fe.TwoWaySweeper(d["iso3"].to_numpy(), d["year"].to_numpy())
    Z = d[["ln_gdppc", "v2x_gender"]].to_numpy(float)
    R = sw.sweep(Z)
    # independent: residuals from least squares on explicit dummies
    D = pd.get_dummies(d[["iso3", "year"]].astype(str), dtype=float).to_numpy()
    ref = Z - D @ np.linalg.lstsq(D, Z, rcond=None)[0]
    np.testing.assert_allclose(R, ref, atol=1e-10)


def test_skipped_specs_have_reasons(panel):
    g = S.specification_grid(
        panel=panel,
        outcomes=["v2x_gender"],
        codings=["ratified"],
        controls=["none"],
        lags=[1],
        windows=[(1950, 1960), (1981, 2012)],
        estimators=["twfe"],
    )
    res = S.run_specs(panel, g)
    assert res.loc[0, "skipped"].startswith("empty sample (no country-year in 1950-1960")
    assert np.isnan(res.loc[0, "estimate"])
    assert res.loc[1, "skipped"] == "" and np.isfinite(res.loc[1, "estimate"])
    # a grid in which nothing can be estimated is an error naming the windows and the reasons
    flat = panel.assign(cedaw_ratified=panel.groupby("iso3")["cedaw_ratified"].transform("max"))
    with pytest.raises(EmptySampleError, match=r"windows \['1981-2012'\].*no within-country variation"):
        S.run_specs(flat, g.iloc[[1]])
    with pytest.raises(EmptySampleError, match=r"windows \['1950-1960'\].*empty sample"):
        S.run_specs(panel, g.iloc[[0]])


def test_collinear_control_dropped_like_pyfixest(panel):
    # a control identical to the treatment is dropped (pyfixest drops the later duplicate too)
    p = panel.assign(ln_pop=panel["cedaw_ratified"].astype(float))
    g = S.specification_grid(
        panel=p,
        outcomes=["v2x_gender"],
        codings=["ratified"],
        controls=["cole"],
        lags=[1],
        windows=[(1981, 2012)],
        estimators=["twfe"],
    )
    res = S.run_specs(p, g)
    des = M.build_design(p, outcome="v2x_gender", controls="cole", lag=1, years=(1981, 2012))
    m = _feols(des)
    assert "ln_pop_l1" not in m._coefnames
    assert res.loc[0, "estimate"] == pytest.approx(m.tidy().loc["cedaw_ratified_l1", "Estimate"], abs=1e-8)
    assert res.loc[0, "std_error"] == pytest.approx(m.tidy().loc["cedaw_ratified_l1", "Std. Error"], rel=1e-8)


def test_summary(results):
    s = S.summarize(results).iloc[0]
    ok = results[results["skipped"].eq("")]
    assert s["n_specs"] == len(results) and s["n_estimated"] == len(ok)
    assert s["median_estimate"] == pytest.approx(ok["estimate"].median())
    assert 0 <= s["share_significant"] <= 1
    assert s["share_positive"] == pytest.approx((ok["estimate"] > 0).mean())


@pytest.mark.parametrize(
    "kw,name",
    [
        ({"outcomes": ["nope"]}, "outcomes"),
        ({"codings": ["x"]}, "codings"),
        ({"controls": ["all"]}, "controls"),
        ({"estimators": ["ologit"]}, "estimators"),
        ({"lags": [-1]}, "lags"),
        ({"treaty": "xyz"}, "treaty"),
        ({"treaty": "iccpr", "codings": ["res_any"]}, "coding"),
    ],
)
def test_bad_grid(panel, kw, name):
    with pytest.raises(ParameterError, match=f"parameter '{name}'.*valid values"):
        S.specification_grid(panel=panel, **kw)


def test_bad_se(panel, grid):
    with pytest.raises(ParameterError, match="CRV1, CR1, CRV3"):
        S.run_specs(panel, grid.head(2), se="HC1")


def test_engine_crv3_equals_pyfixest_refits(panel, grid):
    # pyfixest's CRV3 with fixed effects refits the model without each country (year FE re-estimated too)
    import pyfixest as pf

    sub = grid.groupby(["coding", "estimator"], group_keys=False).head(1).head(8)
    res = S.run_specs(panel, sub, se="CRV3", sample_mode="own")
    for row, got in zip(sub.itertuples(), res.itertuples(), strict=True):
        des = M.build_design(
            panel,
            outcome=row.outcome,
            coding=row.coding,
            controls=row.controls,
            lag=row.lag,
            estimator=row.estimator,
            years=(row.year_start, row.year_end),
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = pf.feols(
                f"{des.y} ~ {' + '.join(des.regressors)} | iso3 + year",
                data=des.data,
                vcov={"CRV3": "iso3"},
                ssc=pf.ssc(k_adj=False, G_adj=False),
                fixef_rm="none",
                demeaner=fe.pyfixest_demeaner(),
            )
        ref = m.tidy().loc[des.focal]
        assert got.estimate == pytest.approx(ref["Estimate"], abs=1e-8)
        assert got.std_error == pytest.approx(ref["Std. Error"], rel=1e-7)
        assert got.p_value == pytest.approx(ref["Pr(>|t|)"], rel=1e-6, abs=1e-14)


def test_leave_one_country_out_downdates_are_exact():
    # awkward sample: unbalanced, a year observed in one country only, a single-year country
    p = synthetic_panel(n_countries=25, n_years=15, first_year=1990, seed=2)
    p = p[np.random.default_rng(1).random(len(p)) > 0.15]
    p = pd.concat(
        [
            p,
            p[p["iso3"] == "C003"].head(1).assign(year=2010),
            p[p["iso3"] == "C004"].head(1).assign(iso3="C999"),
        ]
    ).sort_values(["iso3", "year"])
    p = p.dropna(subset=["v2x_gender", "ln_gdppc"])
    cols = ["v2x_gender", "cedaw_ratified", "ln_gdppc"]
    sw = fe.TwoWaySweeper(p["iso3"].to_numpy(), p["year"].to_numpy())
    Zd = sw.sweep(p[cols].to_numpy(float))
    loo, gram = sw.loo_corrections(Zd), Zd.T @ Zd
    refs = []
    for gi, g in enumerate(sw.c_uni):
        q = p[p["iso3"] != g]
        D = pd.get_dummies(q[["iso3", "year"]].astype(str), dtype=float).to_numpy()  # refit with dummies
        ref = np.linalg.lstsq(
            np.column_stack([q[cols[1:]].to_numpy(float), D]), q[cols[0]].to_numpy(float), rcond=None
        )[0][:2]
        got = np.linalg.solve(gram[1:, 1:] - loo[gi][1:, 1:], gram[1:, 0] - loo[gi][1:, 0])
        np.testing.assert_allclose(got, ref, atol=1e-10)
        refs.append(ref)
    # and the jackknife covariance equals the one built from those refits (rows given in shuffled order)
    D = pd.get_dummies(p[["iso3", "year"]].astype(str), dtype=float).to_numpy()
    b_full = np.linalg.lstsq(
        np.column_stack([p[cols[1:]].to_numpy(float), D]), p[cols[0]].to_numpy(float), rcond=None
    )[0][:2]
    dev = np.array(refs) - b_full
    sh = p.sample(frac=1.0, random_state=3)
    beta, V = fe.twfe_crv3(
        sh["iso3"].to_numpy(),
        sh["year"].to_numpy(),
        sh[cols[0]].to_numpy(float),
        sh[cols[1:]].to_numpy(float),
    )
    np.testing.assert_allclose(beta, b_full, atol=1e-10)
    np.testing.assert_allclose(V, dev.T @ dev, rtol=1e-8)


def test_spec_curve_figure_indicator_panel(results):
    fig = figures.spec_curve_figure(results, title="t")
    heat = [t for t in fig.data if t.type == "heatmap"]
    assert len(heat) == 1
    z = np.asarray(heat[0].z, dtype=float)
    ok = results[results["skipped"].eq("")]
    labels = list(fig.layout.yaxis2.ticktext)
    n_levels = sum(results[c].nunique() for c in S.CHOICE_COLUMNS)
    assert z.shape == (n_levels + len(S.CHOICE_COLUMNS), len(ok))
    assert "<b>Outcome</b>" in labels and "Women's political empowerment" in labels and "1 year" in labels
    assert "v2x_gender" not in labels
    # every specification fills exactly one row per choice; header rows stay empty
    assert (np.isfinite(z).sum(axis=0) == len(S.CHOICE_COLUMNS)).all()
    headers = [i for i, s in enumerate(labels) if s.startswith("<b>")]
    assert np.isnan(z[headers]).all()
    # cell colours code significance as in the top panel: 1 positive significant, 2 negative significant
    srt = ok.assign(std=ok["estimate"] / ok["outcome_sd"]).sort_values("std", kind="mergesort")
    sig = srt["p_value"].to_numpy() < 0.05
    expected = np.where(sig & (srt["estimate"].to_numpy() > 0), 1, np.where(sig, 2, 0))
    np.testing.assert_array_equal(np.nanmax(z, axis=0), expected)
