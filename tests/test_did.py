"""Tests of helpers.did: published mpdta numbers, a second implementation (diff-diff, pyfixest), and a synthetic
staggered panel with a known heterogeneous effect."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from helpers.core.errors import DataError, EmptySampleError, ParameterError
from helpers.core.paths import RAW
from helpers.estimate import did
from helpers.report import figures

MPDTA = RAW / "did_mpdta" / "mpdta.rda"


def staggered_panel(
    seed: int = 1,
    n_per: int = 60,
    n_never: int = 120,
    noise: float = 0.2,
    cohorts=(2004, 2008, 2011),
    years=(2000, 2014),
) -> pd.DataFrame:
    """Balanced panel with unit and time effects and a dynamic, cohort-varying effect.

    tau(g, e) = (1 + 0.5 * k_g) * 0.1 * (e + 1) for e >= 0 (k_g = 0, 1, 2 for the cohorts), else 0.
    Columns: id, t, y, g (0 = never), tau (the true effect of that observation).
    """
    rng = np.random.default_rng(seed)
    gs = np.concatenate([np.repeat(cohorts, n_per), np.zeros(n_never)]).astype(int)
    n = len(gs)
    T = np.arange(years[0], years[1] + 1)
    a = rng.normal(0, 1, n)
    b = np.cumsum(rng.normal(0.05, 0.1, len(T)))
    k = {g: i for i, g in enumerate(cohorts)}
    rows = []
    for i in range(n):
        for j, t in enumerate(T):
            e = t - gs[i]
            tau = (1 + 0.5 * k[gs[i]]) * 0.1 * (e + 1) if gs[i] > 0 and e >= 0 else 0.0
            rows.append((i, t, a[i] + b[j] + tau + rng.normal(0, noise), gs[i], tau))
    return pd.DataFrame(rows, columns=["id", "t", "y", "g", "tau"])


@pytest.fixture(scope="module")
def synth():
    df = staggered_panel()
    return df, did.prepare_panel(df, "id", "t", "y", "g")


@pytest.fixture(scope="module")
def mpdta():
    pyreadr = pytest.importorskip("pyreadr")
    if not MPDTA.exists():
        pytest.skip("mpdta.rda not fetched")
    df = pyreadr.read_r(str(MPDTA))["mpdta"]
    return df, did.prepare_panel(df, "countyreal", "year", "lemp", "first.treat")


def _dd_cs(p, control_group, base_period="varying"):
    import diff_diff as dd

    d = p.data.assign(g0=np.where(np.isinf(p.data["g"]), 0, p.data["g"]).astype(int))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dd.CallawaySantAnna(
            control_group=control_group,
            estimation_method="reg",
            anticipation=p.anticipation,
            base_period=base_period,
        ).fit(d, outcome="y", unit="unit", time="time", first_treat="g0", aggregate="all")


# ----------------------------------------------------------- published values (R did docs; docs/methods.md)


@pytest.mark.realdata
def test_cs_mpdta_published_values(mpdta):
    _, p = mpdta
    cs = did.callaway_santanna(p, control_group="nevertreated", base_period="varying", n_boot=199)
    grp = cs.aggregate("group").set_index("term")["estimate"].round(4)
    assert grp["group::2004"] == -0.0797 and grp["group::2006"] == -0.0229 and grp["group::2007"] == -0.0261
    assert grp["group_average"] == -0.0310
    dyn = cs.aggregate("dynamic")
    body = dyn[dyn["event_time"].notna()]
    assert body["event_time"].tolist() == [-3, -2, -1, 0, 1, 2, 3]
    np.testing.assert_array_equal(
        body["estimate"].round(4).to_numpy(), [0.0305, -0.0006, -0.0245, -0.0199, -0.0510, -0.1373, -0.1008]
    )
    assert round(dyn.set_index("term").loc["dynamic_average", "estimate"], 4) == -0.0772
    assert round(cs.aggregate("simple")["estimate"].iloc[0], 4) == -0.0400


@pytest.mark.realdata
@pytest.mark.parametrize(
    "cg,dd_cg,bp,ant",
    [
        ("nevertreated", "never_treated", "varying", 0),
        ("notyettreated", "not_yet_treated", "varying", 0),
        ("notyettreated", "not_yet_treated", "universal", 0),
        ("nevertreated", "never_treated", "varying", 1),
    ],
)
def test_cs_matches_diff_diff(mpdta, cg, dd_cg, bp, ant):
    df, _ = mpdta
    p = did.prepare_panel(df, "countyreal", "year", "lemp", "first.treat", anticipation=ant)
    cs = did.callaway_santanna(p, control_group=cg, base_period=bp, n_boot=0)
    r = _dd_cs(p, dd_cg, bp)
    a = cs.att_gt[~cs.att_gt["is_reference"]]
    for _, row in a.iterrows():
        ref = r.group_time_effects[(row["group"], row["time"])]
        assert row["att"] == pytest.approx(ref["effect"], abs=1e-10)
        assert row["se_analytic"] == pytest.approx(ref["se"], rel=1e-6)
    if (
        ant == 0
    ):  # with anticipation R did (and this module) keep t >= g as post; diff-diff keeps t >= g - ant
        simple = cs.aggregate("simple").iloc[0]
        assert simple["estimate"] == pytest.approx(r.overall_att, abs=1e-10)
        assert simple["se_analytic"] == pytest.approx(r.overall_se, rel=1e-6)
    dyn = cs.aggregate("dynamic").dropna(subset=["event_time"]).set_index("event_time")
    for e, v in r.event_study_effects.items():
        if np.isfinite(v["se"]):
            assert dyn.loc[int(e), "estimate"] == pytest.approx(v["effect"], abs=1e-10)
            assert dyn.loc[int(e), "se_analytic"] == pytest.approx(v["se"], rel=1e-6)
    grp = cs.aggregate("group").dropna(subset=["group"]).set_index("group")
    for g, v in r.group_effects.items() if ant == 0 else []:
        assert grp.loc[int(g), "estimate"] == pytest.approx(v["effect"], abs=1e-10)
        assert grp.loc[int(g), "se_analytic"] == pytest.approx(v["se"], rel=1e-6)


@pytest.mark.realdata
def test_bacon_mpdta_sums_to_twfe(mpdta):
    _, p = mpdta
    comp, by = did.bacon_decomposition(p)
    tw = did.twfe(p)["estimate"].iloc[0]
    assert comp["weight"].sum() == pytest.approx(1.0, abs=1e-10)
    assert (comp["weight"] * comp["estimate"]).sum() == pytest.approx(tw, abs=1e-10)
    assert by["weight"].sum() == pytest.approx(1.0, abs=1e-10)


# ---------------------------------------------------------------- synthetic truth


def test_twfe_biased_robust_estimators_recover_truth(synth):
    df, p = synth
    truth = df.loc[df["tau"] > 0, "tau"].mean()  # ATT over treated observations (e >= 0 has tau > 0)
    tw = did.twfe(p)["estimate"].iloc[0]
    # theory (Goodman-Bacon 2021): with effects growing over time, already-treated units act as controls in
    # later-vs-earlier 2x2s, whose estimates are pulled down by the earlier group's growth: TWFE understates
    # the average effect, while clean treated-vs-never comparisons are unbiased
    comp, _ = did.bacon_decomposition(p)
    assert tw < truth - 0.15 * truth
    for _, r in comp.iterrows():
        g = int(r["treated_group"])
        win = df[(df["g"] == g) & (df["t"] >= g) & (df["t"] <= r["time_end"])]
        true_post = win["tau"].mean()  # the treated group's true average post effect in that 2x2 window
        if r["comparison_type"] == "treated_vs_never":  # clean comparison: unbiased
            assert r["estimate"] == pytest.approx(true_post, abs=0.05)
        elif r["comparison_type"] == "later_vs_earlier":  # forbidden comparison: pulled down by the
            assert r["estimate"] < true_post - 0.2  # earlier group's growing effect
    cs = did.callaway_santanna(p, n_boot=0)
    assert cs.aggregate("simple")["estimate"].iloc[0] == pytest.approx(truth, abs=0.03)
    imp = did.imputation(p)
    assert imp.attrs["overall"]["estimate"].iloc[0] == pytest.approx(truth, abs=0.03)
    # dynamic truth: cohort-size weighted tau(e) among cohorts observed at e
    tr = df[df["g"] > 0].assign(e=lambda x: x["t"] - x["g"])
    dyn_truth = tr[tr["e"] >= 0].groupby("e")["tau"].mean()
    sa = did.sun_abraham(p, control_group="nevertreated").set_index("event_time")
    csd = cs.aggregate("dynamic").dropna(subset=["event_time"]).set_index("event_time")
    imps = imp.set_index("event_time")
    for e in range(8):
        for est in (sa, csd, imps):
            assert est.loc[e, "estimate"] == pytest.approx(dyn_truth[e], abs=0.05)
    # pre-periods are null in the DGP
    assert csd.loc[-5:-1, "estimate"].abs().max() < 0.05
    assert sa.loc[-5:-2, "estimate"].abs().max() < 0.05


def test_twfe_event_study_pretrend_and_vcov(synth):
    df, p = synth
    es = did.twfe_event_study(p, window=(-4, 6))
    assert es.loc[es["event_time"] == -1, "estimate"].iloc[0] == 0
    assert es["term"].is_unique and {"event_time", "std_error", "conf_low"} <= set(es.columns)
    pt = did.pretrend_test(es)
    assert pt["df"].iloc[0] == 3 and pt["p_value"].iloc[0] > 0.01
    # a violated pre-trend (treated cohorts drift upward before treatment) is detected
    d2 = df.assign(y=df["y"] + np.where(df["g"] > 0, 0.05 * (df["t"] - 2000), 0.0))
    p2 = did.prepare_panel(d2, "id", "t", "y", "g")
    pt2 = did.pretrend_test(did.twfe_event_study(p2, window=(-4, 6)))
    assert pt2["p_value"].iloc[0] < 1e-6
    cs = did.callaway_santanna(p2, n_boot=0)
    ptcs = did.pretrend_test(cs.aggregate("dynamic"), cs=cs)
    assert ptcs["p_value"].iloc[0] < 1e-6


def test_sun_abraham_matches_manual_saturated_regression(synth):
    import pyfixest as pf

    _, p = synth
    d = p.data.copy()
    d["rel"] = d["time"] - d["g"]
    cols = []
    for g in p.cohorts:
        for e in sorted(d.loc[d["g"] == g, "rel"].unique()):
            if e == -1:
                continue
            nm = f"c{int(g)}_{'m' if e < 0 else 'p'}{abs(int(e))}"
            d[nm] = ((d["g"] == g) & (d["rel"] == e)).astype(float)
            cols.append((g, int(e), nm))
    fit = pf.feols("y ~ " + " + ".join(c for *_, c in cols) + " | unit + time", data=d)
    b = fit.coef()
    sizes = p.unit_table()["g"].value_counts()
    man = {}
    for e in sorted({e for _, e, _ in cols}):
        gs = [(g, nm) for g, ee, nm in cols if ee == e]
        w = np.array([sizes[g] for g, _ in gs], float)
        man[e] = float(np.dot(w / w.sum(), [b[nm] for _, nm in gs]))
    sa = did.sun_abraham(p, control_group="nevertreated").set_index("event_time")
    for e, v in man.items():
        assert sa.loc[e, "estimate"] == pytest.approx(v, abs=1e-8)
    ref = did.sun_abraham_dd(p, control_group="nevertreated").set_index("event_time")
    common = ref.index.intersection(sa.index)
    assert len(common) >= 20
    np.testing.assert_allclose(sa.loc[common, "estimate"], ref.loc[common, "estimate"], atol=1e-8)
    np.testing.assert_allclose(sa.loc[common, "std_error"], ref.loc[common, "std_error"], rtol=0.05)
    assert sa.attrs["overall"]["estimate"].iloc[0] == pytest.approx(
        ref.attrs["overall"]["estimate"].iloc[0], abs=1e-8
    )


def test_sun_abraham_lastcohort_and_window(synth):
    df, p = synth
    sa = did.sun_abraham(p, control_group="lastcohort")
    assert (sa["control_group"] == "lastcohort").all() and sa["event_time"].max() == 2010 - 2004
    w = did.sun_abraham(p, window=(-4, 5))
    assert w["event_time"].min() == -4 and w["event_time"].max() == 5
    tr = df[df["g"] > 0].assign(e=lambda x: x["t"] - x["g"])
    assert w.set_index("event_time").loc[2, "estimate"] == pytest.approx(
        tr[tr["e"] == 2]["tau"].mean(), abs=0.05
    )


def test_imputation_matches_own_and_did2s():
    import pyfixest as pf

    df = staggered_panel(seed=3, n_per=20, n_never=30)
    p = did.prepare_panel(df, "id", "t", "y", "g")
    own = did.imputation_points(p)
    imp = did.imputation(p)
    assert imp.attrs["overall"]["estimate"].iloc[0] == pytest.approx(own["tau"].mean(), abs=1e-8)
    byE = own.groupby("event_time")["tau"].mean()
    ie = imp.set_index("event_time")["estimate"]
    for e in range(5):
        assert ie[e] == pytest.approx(byE[e], abs=1e-8)
    d = p.data.assign(D=(p.data["time"] >= p.data["g"]).astype(int))
    fit = pf.did2s(
        d, yname="y", first_stage="~ 0 | unit + time", second_stage="~ D", treatment="D", cluster="unit"
    )
    assert fit.coef()["D"] == pytest.approx(own["tau"].mean(), abs=1e-8)


def test_imputation_with_singleton_untreated_period():
    # cohort 2001 has exactly one untreated period (2000): pyfixest did2s drops such units (pitfall 10)
    df = staggered_panel(seed=4, n_per=40, n_never=40, cohorts=(2001, 2005))
    p = did.prepare_panel(df, "id", "t", "y", "g")
    own = did.imputation_points(p)
    assert set(own["g"].unique()) == {2001.0, 2005.0}
    truth = df.loc[df["tau"] > 0, "tau"].mean()
    imp = did.imputation(p)
    assert imp.attrs["overall"]["estimate"].iloc[0] == pytest.approx(own["tau"].mean(), abs=1e-8)
    se = imp.attrs["overall"]["std_error"].iloc[0]
    assert abs(own["tau"].mean() - truth) < 3 * se


def test_bacon_synthetic_identities(synth):
    _, p = synth
    comp, by = did.bacon_decomposition(p)
    tw = did.twfe(p)["estimate"].iloc[0]
    assert comp["weight"].sum() == pytest.approx(1.0, abs=1e-10)
    assert comp["weighted"].sum() == pytest.approx(tw, abs=1e-10)
    assert set(by["comparison_type"]) == {"treated_vs_never", "earlier_vs_later", "later_vs_earlier"}


def test_bootstrap_deterministic_and_bands(synth):
    _, p = synth
    a = did.callaway_santanna(p, n_boot=199, seed=7).aggregate("dynamic")
    b = did.callaway_santanna(p, n_boot=199, seed=7).aggregate("dynamic")
    pd.testing.assert_frame_equal(a, b)
    c = did.callaway_santanna(p, n_boot=199, seed=8).aggregate("dynamic")
    assert not np.allclose(a["std_error"].dropna(), c["std_error"].dropna())
    body = a.dropna(subset=["event_time"])
    assert (
        body["conf_high_uniform"] - body["conf_low_uniform"] >= body["conf_high"] - body["conf_low"]
    ).all()
    assert body["crit_uniform"].iloc[0] > 1.96
    # bootstrap SEs close to the analytic ones
    ratio = (body["std_error"] / body["se_analytic"]).to_numpy()
    assert 0.85 < np.median(ratio) < 1.15 and ratio.min() > 0.6 and ratio.max() < 1.6
    cal = did.callaway_santanna(p, n_boot=0).aggregate("calendar")
    assert cal.dropna(subset=["time"])["time"].min() == 2004


def test_universal_base_period_reference_row(synth):
    _, p = synth
    cs = did.callaway_santanna(p, base_period="universal", n_boot=0)
    dyn = cs.aggregate("dynamic").dropna(subset=["event_time"]).set_index("event_time")
    assert dyn.loc[-1, "estimate"] == 0 and np.isnan(dyn.loc[-1, "std_error"])
    assert dyn.loc[-3, "estimate"] == pytest.approx(0, abs=0.05)


# ---------------------------------------------------------------- cohorts and bad input


def test_normalize_cohort_mixed_codes():
    g, counts = did.normalize_cohort(
        pd.Series([2004, 0, np.nan, np.inf, None], dtype="object"), np.array([2000, 2010])
    )
    assert np.isinf(g[1:]).all() and g[0] == 2004
    assert counts == {"nan": 2, "inf": 1, "zero": 1}
    with pytest.raises(DataError, match="0 is a possible time value"):
        did.normalize_cohort(pd.Series([3.0, 0.0]), np.array([0, 1, 2, 3]))
    with pytest.raises(DataError, match="-inf"):
        did.normalize_cohort(pd.Series([3.0, -np.inf]), np.array([1, 2, 3]))
    with pytest.raises(DataError, match="non-numeric"):
        did.normalize_cohort(pd.Series(["2004", "never"]), np.array([2000, 2010]))


def test_prepare_panel_mixed_codes_give_same_estimates(synth):
    df, p = synth
    mixed = df.copy()
    mixed["g"] = mixed["g"].astype(float)
    never_ids = mixed.loc[mixed["g"] == 0, "id"].unique()
    mixed.loc[mixed["id"].isin(never_ids[:40]), "g"] = np.nan
    mixed.loc[mixed["id"].isin(never_ids[40:80]), "g"] = np.inf
    p2 = did.prepare_panel(mixed, "id", "t", "y", "g")
    a = did.callaway_santanna(p, n_boot=0).aggregate("simple")["estimate"].iloc[0]
    b = did.callaway_santanna(p2, n_boot=0).aggregate("simple")["estimate"].iloc[0]
    assert a == b and p2.n_never == p.n_never


def test_always_treated_dropped_and_errors():
    df = staggered_panel(seed=5, n_per=5, n_never=5, cohorts=(1995, 2004, 2008))
    p = did.prepare_panel(df, "id", "t", "y", "g")
    assert p.counts["always_treated_dropped"] == 5 and 1995 not in p.cohorts
    assert any("always-treated" in n for n in p.notes)
    only_always = df[(df["g"] == 1995)]
    with pytest.raises(EmptySampleError):
        did.prepare_panel(only_always, "id", "t", "y", "g")
    one = staggered_panel(seed=6, n_per=10, n_never=0, cohorts=(2005,))
    with pytest.raises(DataError, match="no variation in treatment timing"):
        did.prepare_panel(one, "id", "t", "y", "g")
    never = df.assign(g=0)
    with pytest.raises(DataError, match="no treated units"):
        did.prepare_panel(never, "id", "t", "y", "g")
    with pytest.raises(EmptySampleError):
        did.prepare_panel(df.iloc[0:0], "id", "t", "y", "g")
    with pytest.raises(ParameterError, match="valid values"):
        did.prepare_panel(df, "id", "t", "nope", "g")
    with pytest.raises(DataError, match="duplicate"):
        did.prepare_panel(pd.concat([df, df.head(1)]), "id", "t", "y", "g")


def test_late_adopters_recoded_and_unbalanced_dropped():
    df = staggered_panel(seed=7, n_per=5, n_never=5, cohorts=(2004, 2030))
    df = df[~((df["id"] == 0) & (df["t"] == 2002))]  # a gap in one unit
    p = did.prepare_panel(df, "id", "t", "y", "g")
    assert p.counts["late_recoded_never"] == 5 and p.counts["unbalanced_dropped"] == 1
    assert p.n_never == 10


def test_nevertreated_requires_never_units():
    df = staggered_panel(seed=8, n_per=10, n_never=0)
    p = did.prepare_panel(df, "id", "t", "y", "g")
    with pytest.raises(ParameterError, match="notyettreated"):
        did.callaway_santanna(p, control_group="nevertreated")
    cs = did.callaway_santanna(p, n_boot=0)  # not-yet-treated works; last cohort's late cells are skipped
    assert len(cs.att_gt.attrs["skipped"]) > 0
    with pytest.raises(ParameterError, match="valid values"):
        did.callaway_santanna(p, base_period="fixed")


def test_cohort_from_treaty():
    panel = pd.DataFrame(
        {
            "iso3": ["AAA"] * 3 + ["BBB"] * 3,
            "year": [1, 2, 3] * 2,
            "cedaw_year": [2.0, 2.0, 2.0, np.nan, np.nan, np.nan],
        }
    )
    out = did.cohort_from_treaty(panel, "cedaw")
    assert out["cedaw_cohort"].isna().sum() == 3
    with pytest.raises(ParameterError, match="cedaw"):
        did.cohort_from_treaty(panel, "cat")


def test_timing_overview_and_panel_view(synth):
    _, p = synth
    tab = did.timing_overview(p)
    assert tab["cohort"].tolist() == ["2004", "2008", "2011", "never"]
    assert tab["n_units"].tolist() == [60, 60, 60, 120] and tab["share"].sum() == pytest.approx(1)
    pv = did.panel_view(p)
    assert pv.shape == (300, 15) and set(np.unique(pv.to_numpy())) == {0, 1, 2}
    assert pv.iloc[0].tolist()[4] == 1 and pv.iloc[0].tolist()[3] == 0


def test_figures_use_readable_labels(synth):
    _, p = synth
    pv = did.panel_view(p)
    fig = figures.panel_view_figure(pv, title="timing")
    assert fig.data[0].showscale is False  # discrete legend, not a continuous colour bar
    assert [t.name for t in fig.data[1:]] == ["not yet treated", "treated", "never treated"]
    assert fig.layout.yaxis.showticklabels is False and "300 units" in fig.layout.yaxis.title.text
    small = figures.panel_view_figure(pv.iloc[:20])
    assert small.layout.yaxis.showticklabels is True
    comp, _ = did.bacon_decomposition(p)
    bf = figures.bacon_figure(comp)
    shown = sorted(bf.data, key=lambda t: t.legendrank)  # legend order; drawing order puts the many below
    names = [t.name for t in shown]
    assert names[:3] == [
        figures.BACON_SHORT[k] for k in ("treated_vs_never", "earlier_vs_later", "later_vs_earlier")
    ]
    assert sum(len(t.x) for t in shown[:3]) == len(comp)
    assert f"{comp.attrs['twfe']:.4f}" in names[3] and list(shown[3].y) == [comp.attrs["twfe"]] * 2


def test_sun_abraham_standard_errors_follow_fixest_convention(synth):
    """Issue 9 item 1: the covariance of the event-time effects equals W V W' with V pyfixest's default CRV1
    covariance of the saturated cohort x relative-time regression (G/(G-1) x (N-1)/(N-K), as fixest sunab); the
    old G/(G-1)-only covariance was (N-K)/(N-1) of it."""
    import pyfixest as pf

    _, p = synth
    d = p.data.copy()
    d["rel"] = d["time"] - d["g"]
    cols = []
    for g in p.cohorts:
        for e in sorted(d.loc[d["g"] == g, "rel"].unique()):
            if e == -1:
                continue
            nm = f"c{int(g)}_{'m' if e < 0 else 'p'}{abs(int(e))}"
            d[nm] = ((d["g"] == g) & (d["rel"] == e)).astype(float)
            cols.append((g, int(e), nm))
    fit = pf.feols("y ~ " + " + ".join(c for *_, c in cols) + " | unit + time", data=d, vcov={"CRV1": "unit"})
    names = list(fit._coefnames)
    V = pd.DataFrame(fit._vcov, index=names, columns=names)
    sizes = p.unit_table()["g"].value_counts()
    sa = did.sun_abraham(p, control_group="nevertreated").set_index("event_time")
    es = sorted({e for _, e, _ in cols})
    W = np.zeros((len(es), len(names)))
    for i, e in enumerate(es):
        gs = [(g, nm) for g, ee, nm in cols if ee == e]
        w = np.array([sizes[g] for g, _ in gs], float)
        for (_, nm), wk in zip(gs, w / w.sum(), strict=True):
            W[i, names.index(nm)] = wk
    ref_cov = W @ V.to_numpy() @ W.T
    np.testing.assert_allclose(sa.loc[es, "std_error"], np.sqrt(np.diag(ref_cov)), rtol=1e-6)
    np.testing.assert_allclose(sa.attrs["vcov"].loc[es, es].to_numpy(), ref_cov, rtol=1e-6, atol=1e-14)
    assert "(N-1)/(N-K)" in sa["se_type"].iloc[0]


# ----------------------------------------------------------- comparison units, thin cells, weights by horizon


def test_keep_sovereign_rule():
    df = pd.DataFrame({"u": [1, 1, 2, 2], "t": [1, 2, 1, 2], "sovereign": [0, 1, 1, 1], "y": 0.0})
    kept, note = did.keep_sovereign(df)  # None: the column exists, so only sovereign rows
    assert len(kept) == 3 and "dropped 1" in note
    assert len(did.keep_sovereign(df, True)[0]) == 3 and len(did.keep_sovereign(df, False)[0]) == 4
    gone = did.dropped_units(df, kept, "u")
    assert gone["u"].tolist() == [1] and not gone["whole_unit"].iloc[0]
    own = df.drop(columns="sovereign")
    assert len(did.keep_sovereign(own)[0]) == 4  # a user's panel without the column: documented no-op
    with pytest.raises(ParameterError, match="'sovereign_only'.*no 'sovereign' column"):
        did.keep_sovereign(own, True)  # asked explicitly: an error
    with pytest.raises(ParameterError, match="sovereign_only"):
        did.keep_sovereign(df, "yes")


def test_control_counts_and_min_controls(synth):
    """Cells are trimmed by the number of untreated units at their period, in CS and in the trimmed panel alike."""
    _, p = synth  # cohorts 2004, 2008, 2011 (60 units each) + 120 never treated, 2000-2014
    period, cells = did.control_counts(p)
    by_t = period.set_index("time")
    assert by_t.loc[2003, "n_untreated"] == 300 and by_t.loc[2009, "n_untreated"] == 180
    assert (by_t["n_never"] == 120).all() and by_t.loc[2012, "n_not_yet"] == 0
    c = cells.set_index(["group", "time"])
    assert c.loc[(2004, 2009), "n_controls"] == 180 and c.loc[(2004, 2009), "n_treated"] == 60
    # min_controls 150: periods from 2011 on have 120 untreated units -> their cells go
    trimmed, thin = did.trim_thin_cells(p, 150)
    assert set(thin["time"]) == set(range(2011, 2015)) and (thin["n_controls"] == 120).all()
    d = trimmed.data
    assert not ((d["time"] >= 2011) & np.isfinite(d["g"])).any()
    cs = did.callaway_santanna(p, n_boot=0, min_controls=150)
    post = cs.att_gt[cs.att_gt["time"] >= cs.att_gt["group"]]
    assert post["time"].max() == 2010 and all(s[3] < 150 for s in cs.att_gt.attrs["skipped"])
    assert did.trim_thin_cells(p, 0)[1].empty
    with pytest.raises(ParameterError, match="min_controls"):
        did.trim_thin_cells(p, -1)
    with pytest.raises(EmptySampleError, match="min_controls"):
        did.trim_thin_cells(p, 10_000)


def test_horizon_weights_reproduce_the_overall_estimates(synth):
    """The weights explain the numbers: sum(weight x cell effect) equals each estimator's overall estimate."""
    _, p = synth
    cs = did.callaway_santanna(p, n_boot=0)
    sa = did.sun_abraham(p, control_group="nevertreated", window=(-5, 6))
    w = did.horizon_weights(p, cs, sa)
    assert np.allclose(w.groupby("estimator")["weight"].sum(), 1.0)
    # TWFE: the coefficient equals sum_it w_it tau_hat_it with tau_hat from the imputation (exact identity for
    # the TWFE regression on the same panel: de Chaisemartin-D'Haultfoeuille weights applied to Y itself)
    tw = did.twfe(p)["estimate"].iloc[0]
    tww = did.twfe_weights(p)
    y = p.data.set_index(["g", "time"])
    assert abs(tww["weight"].sum() - 1) < 1e-10
    # CS simple: weights applied to the ATT(g,t) cells give the aggregate
    cw = did.cs_simple_weights(cs).merge(cs.att_gt[["group", "time", "att"]], on=["group", "time"])
    assert (cw["weight"] * cw["att"]).sum() == pytest.approx(
        cs.aggregate("simple")["estimate"].iloc[0], abs=1e-12
    )
    # imputation: equal weights over treated observations; weighted tau equals the overall estimate
    pts = did.imputation_points(p)
    assert pts["tau"].mean() == pytest.approx(
        did.imputation(p).attrs["overall"]["estimate"].iloc[0], abs=1e-6
    )
    iw = did.imputation_weights(p)
    assert len(iw) == len(pts) and iw["weight"].sum() == pytest.approx(1)
    # TWFE weights applied to the imputed effects give the TWFE coefficient (exact when Y(0) is the FE model fit
    # on untreated observations and the TWFE uses the same panel)
    m = tww.merge(
        pts.rename(columns={"g": "group"})[["group", "time", "tau"]]
        .groupby(["group", "time"])
        .mean()
        .reset_index(),
        on=["group", "time"],
    )
    assert len(y) > 0 and (m["weight"] * m["tau"]).sum() == pytest.approx(tw, abs=0.02)
    # SA: binned end point flagged; weights on e >= 0 only
    sw = w[w["estimator"] == "sun_abraham"]
    assert sw["event_time"].min() == 0 and sw.loc[sw["binned"], "event_time"].tolist() == [6]
    tab = did.comparison_table(
        w,
        {"twfe": tw, "callaway_santanna": 0.5, "sun_abraham": 0.5, "imputation": 0.5},
        {"twfe": "all", "callaway_santanna": "not yet", "sun_abraham": "never", "imputation": "untreated"},
        beyond=5,
    ).set_index("key")
    assert tab.loc["sun_abraham", "weight_beyond_5"] == pytest.approx(
        sw.loc[sw["event_time"] >= 6, "weight"].sum()
    )
    text = did.explain(tab.reset_index(), beyond=5, weights=w)
    assert "Sun-Abraham" in text and "beyond 5 years" in text
    # CS simple and imputation weight the horizons alike on a balanced panel: a gap between them is attributed
    # to their comparison units, not to the horizons
    assert (
        "Callaway-Sant'Anna (simple) (0.500) and Imputation" not in text
    )  # equal estimates: nothing to explain
    tab2 = tab.assign(estimate=[tw, 0.4, 0.5, 0.6]).reset_index()
    assert (
        "Callaway-Sant'Anna (simple) (0.400) and Imputation (BJS) (0.600) weight the horizons alike"
        in did.explain(tab2, beyond=5, weights=w)
    )


# R did documentation (att_gt reference page): att_gt(..., xformla = ~lpop, data = mpdta), est_method "dr" (default)
MPDTA_DR_LPOP = {
    "nevertreated": [-0.0145, -0.0764, -0.1404, -0.1069, -0.0005, -0.0062, 0.0010, -0.0413, 0.0267, -0.0046,
                     -0.0284, -0.0288],
    "notyettreated": [-0.0212, -0.0816, -0.1382, -0.1069, -0.0075, -0.0046, 0.0087, -0.0413, 0.0269, -0.0042,
                      -0.0284, -0.0288],
}  # fmt: skip


def test_doubly_robust_cs_with_covariates_reproduces_r_did(mpdta):
    """Issue 9 item 4: doubly robust Callaway-Sant'Anna with a covariate reproduces R did's published mpdta
    ATT(g,t) (xformla = ~lpop); its analytic SEs and the IPW variant agree with diff-diff's CallawaySantAnna."""
    import diff_diff as dd

    df, _ = mpdta
    p = did.prepare_panel(df, "countyreal", "year", "lemp", "first.treat", covariates=["lpop"])
    for cg, published in MPDTA_DR_LPOP.items():
        gt = did.callaway_santanna(p, control_group=cg, n_boot=0).group_time()
        np.testing.assert_array_equal(np.round(gt["estimate"].to_numpy(), 4), published)
    d = p.data.assign(g0=np.where(np.isinf(p.data["g"]), 0, p.data["g"]).astype(int))
    for m in ("dr", "ipw"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = dd.CallawaySantAnna(control_group="never_treated", estimation_method=m).fit(
                d, outcome="y", unit="unit", time="time", first_treat="g0", covariates=["lpop"]
            )
        r = ref.to_dataframe().head(12)
        ours = did.callaway_santanna(p, control_group="nevertreated", n_boot=0, est_method=m).group_time()
        np.testing.assert_allclose(
            ours["estimate"], r["effect"], atol=1e-5
        )  # pre-period cells differ at 1e-5
        np.testing.assert_allclose(ours["se_analytic"], r["se"], rtol=0.02)
    reg = did.callaway_santanna(p, control_group="nevertreated", n_boot=0, est_method="reg").group_time()
    assert not np.allclose(reg["estimate"], ours["estimate"], atol=1e-4)  # the methods differ with covariates
    with pytest.raises(ParameterError, match="est_method"):
        did.callaway_santanna(p, est_method="aipw")


def test_unbalanced_panel_option(synth):
    """allow_unbalanced: equal to the balanced estimator on a balanced panel; on a panel with random gaps it
    recovers the known effect; without the option an unbalanced panel is an error."""
    df, p = synth
    a = did.callaway_santanna(p, n_boot=0)
    b = did.callaway_santanna(p, n_boot=0, allow_unbalanced=True)
    np.testing.assert_allclose(b.att_gt["att"], a.att_gt["att"], atol=1e-12)
    np.testing.assert_allclose(b.inf, a.inf, atol=1e-10)
    rng = np.random.default_rng(3)
    gappy = df.drop(index=rng.choice(len(df), size=len(df) // 10, replace=False))
    pu = did.prepare_panel(gappy, "id", "t", "y", "g", balance=False)
    assert pu.wide("y").isna().any().any()
    with pytest.raises(DataError, match="unbalanced"):
        did.callaway_santanna(pu, n_boot=0)
    cs = did.callaway_santanna(pu, n_boot=0, allow_unbalanced=True)
    truth = df[(df["g"] > 0) & (df["t"] >= df["g"])]["tau"].mean()
    assert cs.aggregate("simple")["estimate"].iloc[0] == pytest.approx(truth, abs=0.03)
    dyn = cs.aggregate("dynamic").dropna(subset=["event_time"]).set_index("event_time")
    assert dyn.loc[-5:-1, "estimate"].abs().max() < 0.05
    with pytest.raises(ParameterError, match="allow_unbalanced"):
        did.callaway_santanna(
            did.prepare_panel(gappy.assign(x=1.0), "id", "t", "y", "g", covariates=["x"], balance=False),
            allow_unbalanced=True,
        )


def test_cs_closed_form_cell_equals_the_regression_path():
    """Without covariates a cell's outcome regression is the control mean, computed in closed form; with a
    covariate that is zero everywhere the general least-squares path runs and must give the same ATT(g,t) and
    influence functions (a second implementation)."""
    df = staggered_panel(seed=7, n_per=15, n_never=20).assign(zero=0.0)
    plain = did.callaway_santanna(did.prepare_panel(df, "id", "t", "y", "g"), n_boot=0)
    p_zero = did.prepare_panel(df, "id", "t", "y", "g", covariates=["zero"])
    regression = did.callaway_santanna(p_zero, n_boot=0, est_method="reg")
    np.testing.assert_allclose(plain.att_gt["att"], regression.att_gt["att"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(plain.inf, regression.inf, rtol=0, atol=1e-12)
    assert np.abs(plain.inf).max() > 0.1  # the comparison is not between two zero arrays
