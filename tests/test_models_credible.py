"""Credible Cole-style models (issue 9): the estimation sample each fit reports, centred moderators, two-way and
Driscoll-Kraay standard errors, the Anderson-Rubin set of the 2SLS, and empty samples as errors.

Expected numbers come from independent computations: pyfixest fits (uncentred interactions, the reduced form
under the null), numpy sandwiches with explicit small-sample factors, counts from ratification years, and
synthetic designs with a known first stage."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from helpers.core import paths
from helpers.core.errors import EmptySampleError, ParameterError
from helpers.estimate import fe
from helpers.estimate import models as M
from helpers.pipeline.bench import synthetic_panel
from helpers.report import tables as T


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return synthetic_panel(n_countries=60, n_years=32, first_year=1980, seed=11)


@pytest.fixture(scope="module")
def gappy(panel) -> pd.DataFrame:
    """The income group starts in 1990 (as the World Bank's starts in 1987); C005 has no GDP at all."""
    p = panel.copy()
    p.loc[p["year"] < 1990, "income_group"] = pd.NA
    p.loc[p["iso3"] == "C005", "ln_gdppc"] = np.nan
    return p


def _pyfixest(d: pd.DataFrame, fml: str, vcov, ssc, vcov_kwargs=None):
    import pyfixest as pf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pf.feols(
            fml,
            data=d,
            vcov=vcov,
            ssc=ssc,
            vcov_kwargs=vcov_kwargs,
            fixef_rm="none",
            demeaner=fe.pyfixest_demeaner(),
        )


# ---------------------------------------------------------------------------------------------- sample reported


def test_fit_reports_the_sample_it_used(gappy):
    r = M.fit(gappy, controls="cole_plus", years=(1981, 2011))
    si = r.sample_info
    d = M.build_design(gappy, controls="cole_plus", years=(1981, 2011)).data
    # the lagged income group exists from 1991: the sample starts there, not in 1981, and says why
    assert r.sample_years == (1991, 2011) == (d["year"].min(), d["year"].max())
    assert si["trimmed"] == [{"variable": "income_group_l1", "bound": "first", "year": 1991}]
    # switching countries, counted from the ratification years (status at t = year - 1 >= act year)
    act = gappy.groupby("iso3")["cedaw_year"].first().astype("Float64")
    sw = 0
    for c, g in d.groupby("iso3"):
        prev = g["year"] - 1
        sw += int((prev < act[c]).any() and (prev >= act[c]).any()) if pd.notna(act[c]) else 0
    assert si["n_switchers"] == sw and 0 < sw < r.n_units
    # C005 has the outcome but no GDP: named, with the variable that removed it
    assert si["dropped"] == [{"iso3": "C005", "country": "Country C005", "missing": ["ln_gdppc_l1"]}]
    t = r.tidy()
    assert (
        (t["first_year"] == 1991).all() and (t["last_year"] == 2011).all() and (t["n_switchers"] == sw).all()
    )
    assert t["dropped_units"].iloc[0] == "C005 (ln_gdppc_l1)"
    assert t["window_trimmed"].iloc[0] == "income_group_l1 first observed in 1991"
    # the Cole controls keep 1981
    assert M.fit(gappy, controls="cole", years=(1981, 2011)).sample_years == (1981, 2011)


def test_table_years_row_is_the_estimation_sample(gappy):
    rs = [
        M.fit(gappy, controls="cole", years=(1981, 2011)),
        M.fit(gappy, controls="cole_plus", years=(1981, 2011)),
    ]
    tab = T.regression_table(rs)
    rows = tab.df.set_index("")
    assert list(rows.loc["Years"]) == ["1981–2011", "1991–2011"]
    assert list(rows.loc["Countries switching"]) == [f"{r.sample_info['n_switchers']:,}" for r in rs]
    text = tab.notes_text
    assert (
        "(2): estimation sample 1991–2011 (asked: 1981–2011): Income group (t−1) first observed in 1991"
        in text
    )
    assert "Country C005 (C005: ln GDP per capita (t−1))" in text
    frame = T.sample_frame(rs)
    assert list(frame["first_year"]) == [1981, 1991] and list(frame["years_asked"]) == ["1981-2011"] * 2
    assert "1991–2011" in T.samples_text(rs, "CEDAW")


@pytest.mark.realdata
@pytest.mark.skipif(not paths.PANEL.exists(), reason="data/processed/panel.parquet not built")
def test_real_panel_cole_plus_starts_in_1988():
    p = pd.read_parquet(paths.PANEL)
    cole = M.fit(p, controls="cole", years=(1981, 2022))
    plus = M.fit(p, controls="cole_plus", years=(1981, 2022))
    assert (cole.n_obs, cole.sample_years, cole.sample_info["n_switchers"]) == (6593, (1981, 2022), 137)
    assert (plus.n_obs, plus.sample_years, plus.sample_info["n_switchers"]) == (5645, (1988, 2022), 68)
    assert [d["iso3"] for d in cole.sample_info["dropped"]] == ["PRK", "PSE", "VEN"]
    missing = {d["iso3"]: d["missing"] for d in cole.sample_info["dropped"]}
    assert missing == {"PRK": ["ln_gdppc_l1"], "PSE": ["ucdp_conflict_l1"], "VEN": ["ln_gdppc_l1"]}


# ---------------------------------------------------------------------------------------------- moderators


def test_moderator_centred_effect_at_mean_and_percentiles(panel):
    r = M.fit(panel, moderator="ln_gdppc")
    des = M.build_design(panel, moderator="ln_gdppc")
    d = des.data
    raw = d["ln_gdppc_l1"] + des.moderator_mean  # the centred column back on its scale
    assert des.moderator_mean == pytest.approx(raw.mean())
    # hand computation: the uncentred interaction model with pyfixest, then b1 + b2 m and the delta method
    u = d.assign(ln_gdppc_l1=raw, inter=d["cedaw_ratified_l1"] * raw)
    rhs = ["cedaw_ratified_l1", "inter", "ln_gdppc_l1", "v2x_polyarchy_l1", "ln_pop_l1", "ucdp_conflict_l1"]
    m = _pyfixest(u, f"v2x_gender ~ {' + '.join(rhs)} | iso3 + year", *M.pyfixest_vcov("CRV1"))
    b, V = m.coef(), m._vcov
    i1, i2 = 0, 1
    for q, row in zip([10, 50, 90], r.moderator_effects.itertuples(), strict=True):
        v = float(np.quantile(raw, q / 100))
        assert row.moderator_value == pytest.approx(v)
        assert row.estimate == pytest.approx(b.iloc[i1] + b.iloc[i2] * v, abs=1e-10)
        se = np.sqrt(V[i1, i1] + v**2 * V[i2, i2] + 2 * v * V[i1, i2])
        assert row.std_error == pytest.approx(se, rel=1e-8)
    f = r.focal()
    mbar = float(raw.mean())
    assert f["estimate"] == pytest.approx(b.iloc[i1] + b.iloc[i2] * mbar, abs=1e-10)
    assert f["std_error"] == pytest.approx(
        np.sqrt(V[i1, i1] + mbar**2 * V[i2, i2] + 2 * mbar * V[i1, i2]), rel=1e-8
    )
    # the interaction (slope of the effect) is unchanged by centring
    inter = r.coefs.set_index("term").loc["cedaw_ratified_l1_x_ln_gdppc", "estimate"]
    assert inter == pytest.approx(b.iloc[i2], abs=1e-10)
    t = r.tidy()
    assert t["moderator_centre"].iloc[0] == pytest.approx(mbar)
    assert list(t.loc[t["moderator_value"].notna(), "term"]) == [
        f"cedaw_ratified_l1@ln_gdppc_l1=p{q}" for q in (10, 50, 90)
    ]
    assert any("centred at its estimation-sample mean" in n for n in r.notes)
    me = r.marginal_effects  # grid on the raw scale
    assert me["moderator_value"].min() == pytest.approx(np.quantile(raw, 0.05))
    np.testing.assert_allclose(me["estimate"], b.iloc[i1] + b.iloc[i2] * me["moderator_value"], atol=1e-10)


# ---------------------------------------------------------------------------------------------- standard errors


def _by_hand(des: M.Design, se: str) -> np.ndarray:
    """Two-way clustered or Driscoll-Kraay standard errors with numpy (explicit dummies swept by least squares)."""
    d = des.data
    D = pd.get_dummies(d[["iso3", "year"]].astype(str), drop_first=True, dtype=float).to_numpy()
    D = np.column_stack([np.ones(len(d)), D])
    X = d[des.regressors].to_numpy(float)
    y = d[des.y].to_numpy(float)
    Xd = X - D @ np.linalg.lstsq(D, X, rcond=None)[0]
    yd = y - D @ np.linalg.lstsq(D, y, rcond=None)[0]
    XtXi = np.linalg.inv(Xd.T @ Xd)
    e = yd - Xd @ (XtXi @ Xd.T @ yd)
    sc = Xd * e[:, None]
    n, k, C, Tn = len(d), X.shape[1], d["iso3"].nunique(), d["year"].nunique()

    def meat(g):
        S = pd.DataFrame(sc).groupby(np.asarray(g)).sum().sort_index().to_numpy()
        return S.T @ S

    if se == "twoway":  # Cameron-Gelbach-Miller; fixest: min(G), both FE nested in a cluster -> K = k + 1
        G = min(C, Tn)
        mt = meat(d["iso3"]) + meat(d["year"]) - sc.T @ sc
        adj = G / (G - 1) * (n - 1) / (n - (k + 1))
    else:  # Driscoll-Kraay: Bartlett weights on year sums, lag floor(4 (T/100)^(2/9))
        S = pd.DataFrame(sc).groupby(d["year"].to_numpy()).sum().sort_index().to_numpy()
        L = int(np.floor(4 * (Tn / 100) ** (2 / 9)))
        mt = S.T @ S
        for lg in range(1, L + 1):
            G_ = S[lg:].T @ S[:-lg]
            mt += (1 - lg / (L + 1)) * (G_ + G_.T)
        adj = Tn / (Tn - 1) * (n - 1) / (n - (k + C + Tn - 1))
    return np.sqrt(np.diag(adj * XtXi @ mt @ XtXi))


@pytest.mark.parametrize("se", ["twoway", "DK"])
def test_twoway_and_driscoll_kraay_equal_pyfixest_and_numpy(panel, se):
    r = M.fit(panel, controls="cole", se=se)
    des = M.build_design(panel, controls="cole")
    d = des.data.assign(**{M.DK_PANEL_ID: pd.factorize(des.data["iso3"])[0]})
    vcov, ssc = M.pyfixest_vcov(se)
    m = _pyfixest(
        d,
        f"{des.y} ~ {' + '.join(des.regressors)} | iso3 + year",
        vcov,
        ssc,
        M.pyfixest_vcov_kwargs(se, d["year"].nunique()),
    )
    ref = m.tidy()
    got = r.coefs.set_index("term")
    np.testing.assert_allclose(got["std_error"], ref["Std. Error"].to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(got["p_value"], ref["Pr(>|t|)"].to_numpy(), rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(got["std_error"], _by_hand(des, se), rtol=1e-7)
    G = min(r.n_units, des.data["year"].nunique()) if se == "twoway" else des.data["year"].nunique()
    assert r.stats["df_t"] == G - 1
    assert se in M.SE_LABELS and T.SE_SHORT[se] in T.regression_table([r]).df.set_index("").loc["SE"].iloc[0]


def test_dk_lag_rule():
    assert [M.dk_lag(t) for t in (10, 30, 42, 100, 200)] == [2, 3, 3, 4, 4]


def test_se_options_that_cannot_apply_are_errors(panel):
    with pytest.raises(ParameterError, match="pyfixest has no CRV3 jackknife for 2SLS"):
        M.fit(panel, estimator="iv", se="CRV3")
    with pytest.raises(ParameterError, match="ordered logit"):
        M.fit(panel, outcome="wopol", estimator="ologit", se="DK", years=(1981, 2011))


# ---------------------------------------------------------------------------------------------- Anderson-Rubin


def _iv_panel(
    strength: float, seed: int = 4, n_c: int = 80, n_t: int = 25, beta: float = 0.5
) -> pd.DataFrame:
    """A panel with one endogenous regressor d, one instrument z and a control; first stage d = strength z + v."""
    rng = np.random.default_rng(seed)
    iso = np.repeat([f"C{i:03d}" for i in range(n_c)], n_t)
    year = np.tile(np.arange(1990, 1990 + n_t), n_c)
    a = np.repeat(rng.normal(0, 1, n_c), n_t)
    z = rng.normal(0, 1, n_c * n_t) + 0.3 * np.repeat(rng.normal(0, 1, n_c), n_t)
    x = rng.normal(0, 1, n_c * n_t)
    u = rng.normal(0, 1, n_c * n_t)
    d = strength * z + 0.2 * x + 0.8 * u + rng.normal(0, 1, n_c * n_t) + a
    y = beta * d + 0.3 * x + u + a + 0.05 * (year - 1990)
    return pd.DataFrame({"iso3": iso, "year": year, "y": y, "d": d, "z": z, "x": x})


def _ar_direct(df: pd.DataFrame, b: float, se: str = "CRV1") -> float:
    m = _pyfixest(df.assign(ystar=df["y"] - b * df["d"]), "ystar ~ z + x | iso3 + year", *M.pyfixest_vcov(se))
    return float(m.tidy().loc["z", "t value"] ** 2)


@pytest.mark.parametrize("se", ["CRV1", "CR1"])
def test_ar_statistic_equals_reduced_form_wald(se):
    df = _iv_panel(strength=0.3)
    ar = M.anderson_rubin(df, "y", "d", "z", ["x"], se=se)
    for b in (-1.0, 0.0, 0.5, 2.0):
        assert float(ar.statistic(b)) == pytest.approx(_ar_direct(df, b, se), rel=1e-8)


def test_ar_set_strong_close_to_wald_weak_wider():
    import pyfixest as pf

    def wald(df):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = pf.feols(
                "y ~ x | iso3 + year | d ~ z",
                data=df,
                vcov={"CRV1": "iso3"},
                ssc=M.pyfixest_vcov("CRV1")[1],
                fixef_rm="none",
            )
        t = m.tidy().loc["d"]
        return float(t["2.5%"]), float(t["97.5%"])

    strong = _iv_panel(strength=1.5)
    s = M.anderson_rubin(strong, "y", "d", "z", ["x"]).confidence_set()
    lo, hi = wald(strong)
    assert s["kind"] == "bounded"
    (alo, ahi), width = s["intervals"][0], hi - lo
    assert abs(alo - lo) < 0.1 * width and abs(ahi - hi) < 0.1 * width and alo < 0.5 < ahi
    weak = _iv_panel(strength=0.02)
    w = M.anderson_rubin(weak, "y", "d", "z", ["x"])
    ws = w.confidence_set()
    assert ws["kind"] in ("two rays", "real line")  # unbounded: the first stage does not pin beta down
    assert np.isinf(ws["intervals"][0][0])
    # closed form equals a grid inversion of the statistic
    grid = np.linspace(-20, 20, 40001)
    acc = w.statistic(grid) <= w.critical_value()
    inside = np.zeros_like(acc)
    for lo_, hi_ in ws["intervals"]:
        inside |= (grid >= lo_) & (grid <= hi_)
    assert (acc == inside).mean() > 0.9999


def test_iv_fit_reports_first_stage_and_ar_set(panel):
    r = M.fit(panel, estimator="iv")
    assert r.ar_set is not None and r.ar_set["text"] and "first_stage_F" in r.stats
    des = M.build_design(panel, estimator="iv")
    exog = [c for c in des.regressors if c != des.focal]
    ar = M.anderson_rubin(des.data, des.y, des.focal, des.instrument, exog)
    assert r.stats["ar_p_zero"] == pytest.approx(ar.p_value(0.0))
    assert r.ar_set == ar.confidence_set(0.95)
    t = r.tidy()
    assert t["ar_set"].iloc[0] == r.ar_set["text"] and t["first_stage_F"].iloc[0] == r.stats["first_stage_F"]
    tab = T.regression_table([r]).df.set_index("")
    assert tab.loc["Anderson–Rubin 95% set"].iloc[0] == r.ar_set["text"]


# ---------------------------------------------------------------------------------------------- empty samples


def test_every_model_empty_is_an_error_naming_the_filters(panel):
    rs = [M.fit(panel, years=(1900, 1950), outcome=o) for o in ("v2x_gender", "v2x_gencl")]
    assert all(r.skipped == "empty sample" for r in rs)
    with pytest.raises(EmptySampleError, match=r"years=\[1900, 1950\] \(the panel has 1980-2011\)"):
        M.require_estimated(rs, panel, years=(1900, 1950))
    region = panel["region"].iloc[0]
    p2 = panel.assign(income_group=panel["income_group"].where(panel["region"].ne(region), "H"))
    r2 = [M.fit(p2, region=region, income_group="L")]
    assert r2[0].skipped == "empty sample"
    with pytest.raises(EmptySampleError, match=rf"income groups present in \['{region}'\]: \['H'\]"):
        M.require_estimated(r2, p2, region=region, income_group="L")
    # one estimable model is enough
    M.require_estimated([*rs, M.fit(panel)], panel, years=(1900, 1950))
