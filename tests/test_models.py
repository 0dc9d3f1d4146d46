"""Tests of helpers.models: recovery of a known effect, agreement with independent implementations
(statsmodels OLS with country and year dummies, statsmodels OrderedModel, linearmodels IV2SLS with dummies),
named SE conventions, lags by calendar year, moderators, and bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from helpers.core import paths
from helpers.core.errors import ParameterError
from helpers.data import variables
from helpers.estimate import fe
from helpers.estimate import models as M
from helpers.pipeline.bench import TRUE_EFFECT, synthetic_panel


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return synthetic_panel(n_countries=60, n_years=32, first_year=1980, seed=11)


def _sm_dummies(d: pd.DataFrame, y: str, regressors: list[str]):
    import statsmodels.formula.api as smf

    fml = f"{y} ~ {' + '.join(regressors)} + C(iso3) + C(year)"
    groups = pd.factorize(d["iso3"])[0]
    return smf.ols(fml, data=d).fit(cov_type="cluster", cov_kwds={"groups": groups})


# ---------------------------------------------------------------------------------------------- estimates


def test_recovers_known_effect(panel):
    r = M.fit(panel, outcome="v2x_gender", controls="cole", lag=1)
    f = r.focal()
    assert r.skipped is None
    assert f["term"] == "cedaw_ratified_l1"
    assert abs(f["estimate"] - TRUE_EFFECT) < 4 * f["std_error"]
    assert abs(f["estimate"] - TRUE_EFFECT) < 0.01  # 20 % of the effect
    assert r.n_units == 60 and r.fixed_effects == ["iso3", "year"]


def test_known_effect_is_zero_when_absent():
    p0 = synthetic_panel(n_countries=60, n_years=32, first_year=1980, seed=5, effect=0.0)
    f = M.fit(p0).focal()
    assert abs(f["estimate"]) < 4 * f["std_error"]


@pytest.mark.parametrize(
    "kw",
    [
        {"controls": "cole"},
        {"controls": "cole_plus", "coding": "years_since_binned"},
        {"controls": "none", "coding": "optional_protocol", "lag": 2},
        {"estimator": "twfe_ldv", "coding": "res_art16", "years": (1985, 2008)},
    ],
)
def test_twfe_equals_statsmodels_dummies_cr1(panel, kw):
    r = M.fit(panel, se="CR1", **kw)
    des = M.build_design(panel, **kw)
    sm = _sm_dummies(des.data, des.y, des.regressors)
    got = r.coefs.set_index("term")
    assert list(got.index) == des.regressors
    np.testing.assert_allclose(got["estimate"], sm.params[des.regressors], rtol=0, atol=1e-8)
    # statsmodels 'cluster' = CR1: G/(G-1) (N-1)/(N-K), K counting every dummy
    np.testing.assert_allclose(got["std_error"], sm.bse[des.regressors], rtol=1e-10)
    assert r.n_obs == int(sm.nobs)


def test_crv1_equals_pyfixest_default_and_rescaled_statsmodels(panel):
    import pyfixest as pf

    r = M.fit(panel, se="CRV1")
    des = M.build_design(panel)
    d = des.data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = pf.feols(
            f"{des.y} ~ {' + '.join(des.regressors)} | iso3 + year",
            data=d,
            vcov={"CRV1": "iso3"},
            fixef_rm="none",
            demeaner=fe.pyfixest_demeaner(),
        )  # pyfixest's default small-sample correction
    np.testing.assert_allclose(r.coefs["std_error"], m.tidy()["Std. Error"].to_numpy(), rtol=1e-10)
    # independent: CRV1 = CR1 x sqrt((N - K_CR1) / (N - K_CRV1)), K_CR1 = k + C + T - 1, K_CRV1 = k + T
    sm = _sm_dummies(d, des.y, des.regressors)
    n, k, C, T = len(d), len(des.regressors), d["iso3"].nunique(), d["year"].nunique()
    expected = sm.bse[des.regressors].to_numpy() * np.sqrt((n - (k + C + T - 1)) / (n - (k + T)))
    np.testing.assert_allclose(r.coefs["std_error"], expected, rtol=1e-10)
    # t(G-1) inference
    f = r.focal()
    from scipy import stats

    assert f["p_value"] == pytest.approx(2 * stats.t.sf(abs(f["statistic"]), C - 1), rel=1e-12)


def test_crv3_larger_than_crv1_and_same_coefs(panel):
    r1 = M.fit(panel, se="CRV1", controls="none")
    r3 = M.fit(panel, se="CRV3", controls="none")
    np.testing.assert_allclose(r1.coefs["estimate"], r3.coefs["estimate"], atol=1e-10)
    assert r3.se_type == "CRV3" and "jackknife" in r3.se_label
    assert r3.coefs["std_error"].iloc[0] > 0.9 * r1.coefs["std_error"].iloc[0]


def _pyfixest_crv3(d: pd.DataFrame, y: str, regressors: list[str]):
    import pyfixest as pf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pf.feols(
            f"{y} ~ {' + '.join(regressors)} | iso3 + year",
            data=d,
            vcov={"CRV3": "iso3"},
            ssc=pf.ssc(k_adj=False, G_adj=False),
            fixef_rm="none",
            demeaner=fe.pyfixest_demeaner(),
        )


@pytest.mark.parametrize(
    "kw", [{"controls": "cole"}, {"estimator": "twfe_ldv", "coding": "years_since_binned"}]
)
def test_crv3_equals_pyfixest_refits(panel, kw):
    # unbalanced sample: pyfixest's CRV3 refits the model without each country (every FE re-estimated)
    p = panel[~((panel["year"] > 2005) & panel["iso3"].isin(["C001", "C002", "C003"]))]
    r = M.fit(p, se="CRV3", **kw)
    des = M.build_design(p, **kw)
    m = _pyfixest_crv3(des.data, des.y, des.regressors)
    np.testing.assert_allclose(r.coefs["estimate"], m.tidy()["Estimate"].to_numpy(), atol=1e-10)
    np.testing.assert_allclose(r.coefs["std_error"], m.tidy()["Std. Error"].to_numpy(), rtol=1e-7)
    np.testing.assert_allclose(r.coefs["p_value"], m.tidy()["Pr(>|t|)"].to_numpy(), rtol=1e-6, atol=1e-14)


def test_term_labels():
    assert variables.term_label("cedaw_ratified_l1") == "CEDAW ratified (t\u22121)"
    assert variables.term_label("ln_gdppc_l1") == "ln GDP per capita (t\u22121)"
    assert variables.term_label("v2x_polyarchy_l1") == "Democracy (polyarchy, t\u22121)"
    assert (
        variables.term_label("ced_ratified_l2") == "CPED ratified (t\u22122)"
    )  # TREATIES[t].short, not upper()
    assert variables.term_label("cedaw_ratified_l1_x_v2xcs_ccsi") == (
        "CEDAW ratified (t\u22121) \u00d7 Civil society (core index, t\u22121)"
    )
    assert variables.term_label("no_such_column_l1") == "no_such_column_l1"  # unknown names pass through
    # every contract outcome and control has a label
    for c in M.OUTCOMES + [c for c in M.CONTROL_COLUMNS if c != "region_density"]:
        assert variables.variable_label(c) != c


def test_tidy_keeps_raw_terms_and_adds_labels(panel):
    t = M.fit(panel).tidy()
    row = t.loc[t["focal"]].iloc[0]
    assert row["term"] == "cedaw_ratified_l1" and row["term_label"] == "CEDAW ratified (t\u22121)"


def test_lag_is_by_calendar_year_not_row(panel):
    # drop one year of one country: the next year's lag must be missing, not the previous row's value
    gap = panel[~((panel["iso3"] == "C000") & (panel["year"] == 1995))]
    lagged = M.lag_within(gap, ["ln_gdppc"], 1)
    row = gap.index[(gap["iso3"] == "C000") & (gap["year"] == 1996)][0]
    assert np.isnan(lagged.loc[row, "ln_gdppc"])
    row97 = gap.index[(gap["iso3"] == "C000") & (gap["year"] == 1997)][0]
    src = gap.loc[(gap["iso3"] == "C000") & (gap["year"] == 1996), "ln_gdppc"].iloc[0]
    assert lagged.loc[row97, "ln_gdppc"] == pytest.approx(float(src))


def test_years_since_binned_partition(panel):
    des = M.build_design(panel, coding="years_since_binned", controls="none", lag=0)
    d = des.data.merge(panel[["iso3", "year", "cedaw_ratified", "cedaw_years_since"]], on=["iso3", "year"])
    bins = d[des.terms].sum(axis=1)
    np.testing.assert_array_equal(bins.to_numpy(), d["cedaw_ratified"].to_numpy(dtype=float))
    late = d["cedaw_ys_10plus"].eq(1)
    assert (d.loc[late, "cedaw_years_since"] >= 10).all() and late.any()
    assert des.focal == "cedaw_ys_10plus"


def test_moderator_marginal_effects(panel):
    r = M.fit(panel, moderator="v2x_polyarchy")
    me = r.marginal_effects
    c = r.coefs.set_index("term")
    b1, b2 = c.loc["cedaw_ratified_l1", "estimate"], c.loc["cedaw_ratified_l1_x_v2x_polyarchy", "estimate"]
    # the moderator is centred at its sample mean: b1 is the effect there, the grid is on the moderator's scale
    np.testing.assert_allclose(
        me["estimate"], b1 + b2 * (me["moderator_value"] - r.moderator_mean), atol=1e-12
    )
    # at m = 0 the delta-method SE is the SE of the main term
    z = M.marginal_effects(
        c["estimate"],
        pd.DataFrame(np.diag(c["std_error"] ** 2), index=c.index, columns=c.index),
        "cedaw_ratified_l1",
        "cedaw_ratified_l1_x_v2x_polyarchy",
        np.array([0.0]),
        None,
    )
    assert z["std_error"].iloc[0] == pytest.approx(c.loc["cedaw_ratified_l1", "std_error"])
    assert me["moderator_value"].is_monotonic_increasing and len(me) == 21


def test_iv_equals_linearmodels_with_dummies(panel):
    from linearmodels.iv import IV2SLS

    r = M.fit(panel, estimator="iv", controls="cole")
    des = M.build_design(panel, estimator="iv", controls="cole")
    d = des.data
    exog_names = [x for x in des.regressors if x != des.focal]
    dummies = pd.get_dummies(d[["iso3", "year"]].astype(str), drop_first=True, dtype=float)
    exog = pd.concat([pd.Series(1.0, index=d.index, name="const"), d[exog_names], dummies], axis=1)
    lm = IV2SLS(d[des.y], exog, d[[des.focal]], d[[des.instrument]]).fit(cov_type="unadjusted")
    got = r.coefs.set_index("term")["estimate"]
    np.testing.assert_allclose(got[[des.focal, *exog_names]], lm.params[[des.focal, *exog_names]], atol=1e-8)
    assert "first_stage_F" in r.stats and any("First stage" in n for n in r.notes)


def test_ologit_equals_statsmodels(panel):
    from statsmodels.miscmodels.ordinal_model import OrderedModel
    from statsmodels.tools.numdiff import approx_fprime

    kw = {
        "outcome": "wopol",
        "estimator": "ologit",
        "controls": ["ln_gdppc", "v2x_polyarchy"],
        "years": (1981, 2011),
    }
    r = M.fit(panel, se="CR1", **kw)
    des = M.build_design(panel, **kw)
    X = M.ologit_exog(des.data, des.regressors)
    assert [c for c in X.columns if not c.startswith("yr_")] == des.regressors
    y = des.data["wopol"].astype(int).to_numpy()
    plain = OrderedModel(y, X, distr="logit")
    # the analytic score equals statsmodels' numerical derivative of its own log-likelihood
    fast = M.ordered_logit_model(y, X)
    rng = np.random.default_rng(0)
    par = np.asarray(fast.start_params) + rng.normal(0, 0.1, len(fast.start_params))
    np.testing.assert_allclose(
        fast.score(par), approx_fprime(par, plain.loglike, centered=True), rtol=1e-5, atol=1e-6
    )
    groups = {"groups": pd.factorize(des.data["iso3"])[0]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mine = fast.fit(
            method="bfgs", maxiter=2000, disp=False, gtol=1e-7, cov_type="cluster", cov_kwds=groups
        )
        default = plain.fit(method="bfgs", maxiter=2000, disp=False, cov_type="cluster", cov_kwds=groups)
        # statsmodels (numerical derivatives) started at our optimum stays there
        res = plain.fit(
            start_params=np.asarray(mine.params),
            method="bfgs",
            maxiter=2000,
            disp=False,
            cov_type="cluster",
            cov_kwds=groups,
        )
    k = len(des.regressors)
    np.testing.assert_allclose(r.coefs["estimate"], np.asarray(mine.params)[:k], rtol=1e-12)
    np.testing.assert_allclose(r.coefs["estimate"], np.asarray(res.params)[:k], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(r.coefs["std_error"], np.asarray(res.bse)[:k], rtol=1e-3)  # same CR1 sandwich
    # at least as good an optimum as statsmodels' own default run, and close to it
    assert float(mine.llf) >= float(default.llf) - 1e-8
    np.testing.assert_allclose(r.coefs["estimate"], np.asarray(default.params)[:k], rtol=2e-2, atol=1e-3)
    assert r.fixed_effects == ["year (dummies)"]
    assert (
        r.coefs.set_index("term").loc["cedaw_ratified_l1", "estimate"] > 0
    )  # true latent effect is positive
    # CRV1 for a likelihood model drops the (N-1)/(N-K) factor only
    r1 = M.fit(panel, se="CRV1", **kw)
    n, K = r.n_obs, len(mine.params)
    np.testing.assert_allclose(
        r1.coefs["std_error"], r.coefs["std_error"] / np.sqrt((n - 1) / (n - K)), rtol=1e-10
    )


# ---------------------------------------------------------------------------------------------- tidy contract


def test_tidy_contract(panel):
    t = M.fit(panel, outcome="v2x_gencl").tidy()
    for c in [
        "term",
        "estimate",
        "std_error",
        "statistic",
        "p_value",
        "conf_low",
        "conf_high",
        "n_obs",
        "n_units",
        "model",
        "outcome",
        "treaty",
        "estimator",
    ]:
        assert c in t.columns
    assert t["outcome"].eq("v2x_gencl").all() and t["focal"].sum() == 1


# ---------------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "kw,name,valid",
    [
        ({"treaty": "cedawx"}, "treaty", "cedaw_op"),
        ({"outcome": "gdp"}, "outcome", "v2x_gender"),
        ({"controls": "colee"}, "controls", "cole_plus"),
        ({"controls": ["ln_gdppc", "gdp"]}, "controls", "v2xcs_ccsi"),
        ({"coding": "dummy"}, "coding", "years_since_binned"),
        ({"estimator": "ols"}, "estimator", "twfe_ldv"),
        ({"se": "HC1"}, "se", "CRV3"),
        ({"moderator": "gdp"}, "moderator", "v2xcs_ccsi"),
        ({"coding": "res_any", "treaty": "iccpr"}, "coding", "ratified"),
        ({"coding": "optional_protocol", "treaty": "cerd"}, "coding", "years_since"),
        ({"region": "Atlantis"}, "region", "South Asia"),
        ({"income_group": "XL"}, "income_group", "UM"),
        ({"lag": -1}, "lag", "0"),
    ],
)
def test_bad_parameters_list_valid_values(panel, kw, name, valid):
    with pytest.raises(ParameterError) as e:
        M.fit(panel, **kw)
    assert f"parameter {name!r}" in str(e.value)
    assert valid in str(e.value)


def test_ordinal_estimator_on_continuous_outcome(panel):
    with pytest.raises(ParameterError, match="continuous.*ordered logit"):
        M.fit(panel, outcome="v2x_gender", estimator="ologit")


def test_empty_sample_is_skipped(panel):
    r = M.fit(panel, years=(1950, 1960))
    assert r.skipped == "empty sample" and r.n_obs == 0 and r.coefs.empty
    t = r.tidy()
    assert len(t) == 1 and t["skipped"].iloc[0] == "empty sample" and np.isnan(t["estimate"].iloc[0])


def test_no_treatment_variation_is_skipped(panel):
    p = panel.assign(cedaw_ratified=1)
    r = M.fit(p)
    assert r.skipped is not None and "no variation in treatment" in r.skipped
    # constant within country (but varying across): absorbed by country FE
    first = panel.groupby("iso3")["cedaw_ratified"].transform("max")
    r2 = M.fit(panel.assign(cedaw_ratified=first))
    assert r2.skipped is not None and "within-country" in r2.skipped


# ---------------------------------------------------------------------------------------------- real panel


@pytest.mark.realdata
@pytest.mark.skipif(not paths.PANEL.exists(), reason="data/processed/panel.parquet not built")
def test_real_panel_twfe_equals_statsmodels():
    p = pd.read_parquet(paths.PANEL)
    kw = {"treaty": "cedaw", "outcome": "v2x_gender", "controls": "cole", "years": (1981, 2022)}
    r = M.fit(p, se="CR1", **kw)
    assert r.skipped is None
    des = M.build_design(p, **kw)
    sm = _sm_dummies(des.data, des.y, des.regressors)
    got = r.coefs.set_index("term")
    np.testing.assert_allclose(got["estimate"], sm.params[des.regressors], rtol=0, atol=1e-8)
    np.testing.assert_allclose(got["std_error"], sm.bse[des.regressors], rtol=1e-10)
