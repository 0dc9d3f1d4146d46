"""Tests of helpers.did.honest_did (Rambachan-Roth sensitivity with R HonestDiD's default confidence sets).

Expected numbers:
- R HonestDiD's README (Medicaid expansion example): its printed C-LF intervals for Delta^RM and FLCI intervals
  for Delta^SD. The event-study coefficients are the README's TWFE regression (fixest; reproduced here with
  pyfixest on the README's data, ``README_BETA`` / ``README_SIGMA``) and, for the regression with a control, the
  ``betahat`` / ``sigma`` the README stores in its knitr cache (``README_CTRL_*``).
- identified sets by hand: under Delta^RM with the reference violation pinned at 0, the violation at post event
  time e can drift by at most (e + 1) steps of size Mbar * m (m: largest absolute pre-period first difference),
  so the identified set of the average of post periods 0..T-1 is theta -/+ Mbar m (T + 1) / 2.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from helpers.core.errors import DataError, ParameterError
from helpers.estimate import did

Z = stats.norm.ppf(0.975)

# R HonestDiD README: dins ~ i(year, D, ref = 2013) | stfips + year, clustered by state (pre 2008-2012, post
# 2014-2015); coefficients and CRV1 covariance recomputed with pyfixest on the README's data.
README_BETA = [-0.005285354533, -0.011297324648, -0.002675991812, -0.001419312252, 0.000339663519, 0.04644685416,
               0.069206175479]  # fmt: skip
README_SIGMA = [
    [7.488483635898e-05, 6.039874095644e-05, 4.444619818461e-05, 3.385764706089e-05, 4.328011254744e-05, 4.765880478778e-05, 2.425128699754e-05],
    [6.039874095644e-05, 7.266500616997e-05, 3.789330221288e-05, 2.866578025148e-05, 4.543320628404e-05, 4.428850119318e-05, 2.824655042985e-05],
    [4.444619818461e-05, 3.789330221288e-05, 5.052051940163e-05, 2.673679432484e-05, 2.778193567674e-05, 3.060644108906e-05, 9.637533882669e-06],
    [3.385764706089e-05, 2.866578025148e-05, 2.673679432484e-05, 4.003222026338e-05, 2.412859975716e-05, 2.380868209074e-05, 2.923878143363e-06],
    [4.328011254744e-05, 4.543320628404e-05, 2.778193567674e-05, 2.412859975716e-05, 5.462662207054e-05, 3.682531051743e-05, 9.722947502418e-06],
    [4.765880478778e-05, 4.428850119318e-05, 3.060644108906e-05, 2.380868209074e-05, 3.682531051743e-05, 8.375668824677e-05, 6.321397962534e-05],
    [2.425128699754e-05, 2.824655042985e-05, 9.637533882669e-06, 2.923878143363e-06, 9.722947502418e-06, 6.321397962534e-05, 0.00010712352303],
]  # fmt: skip
# The README's regression with a (simulated) control: betahat and sigma as stored in the README's knitr cache.
README_CTRL_BETA = [-0.00550345940206875, -0.01122778820363205, -0.0024676126204477883, -0.0016661616464780146,
                    -0.0002392167160723217, 0.046573191126320905, 0.06929652113913157]  # fmt: skip
README_CTRL_SIGMA = [
    [7.961911625844e-05, 6.412780246129e-05, 4.651908306181e-05, 3.617176471389e-05, 4.685815491157e-05, 5.026146001056e-05, 2.605045103347e-05],
    [6.412780246129e-05, 7.515798352061e-05, 3.952864962788e-05, 3.042175856146e-05, 4.845443132626e-05, 4.609163830057e-05, 2.844123776677e-05],
    [4.651908306181e-05, 3.952864962788e-05, 5.128056197441e-05, 2.837059882786e-05, 2.957291350256e-05, 3.326675647047e-05, 1.161740120521e-05],
    [3.617176471389e-05, 3.042175856146e-05, 2.837059882786e-05, 4.138173887697e-05, 2.590936566786e-05, 2.571106635494e-05, 4.599738363714e-06],
    [4.685815491157e-05, 4.845443132626e-05, 2.957291350256e-05, 2.590936566786e-05, 5.788266974629e-05, 3.981601514993e-05, 1.171258105845e-05],
    [5.026146001056e-05, 4.609163830057e-05, 3.326675647047e-05, 2.571106635494e-05, 3.981601514993e-05, 8.427848817658e-05, 6.247778420761e-05],
    [2.605045103347e-05, 2.844123776677e-05, 1.161740120521e-05, 4.599738363714e-06, 1.171258105845e-05, 6.247778420761e-05, 0.0001060776384268],
]  # fmt: skip
README_RM_FIRST = {  # createSensitivityResults_relativeMagnitudes(Mbarvec = seq(0, 2, 0.5)): lb, ub (C-LF)
    0.0: (0.028766, 0.064310), 0.5: (0.024002, 0.067242), 1.0: (0.017040, 0.072006), 1.5: (0.008245, 0.079701),
    2.0: (-0.000916, 0.088129)}  # fmt: skip
README_RM_AVG = {  # the same with l_vec = c(0.5, 0.5)
    0.0: (0.040530, 0.075123), 0.5: (0.032142, 0.079816), 1.0: (0.019384, 0.090149), 1.5: (0.005824, 0.103501),
    2.0: (-0.008538, 0.117249)}  # fmt: skip
README_SD_FIRST = {  # createSensitivityResults(Mvec = seq(0, 0.05, 0.01)): lb, ub (FLCI)
    0.0: (0.025941, 0.060726), 0.01: (0.013197, 0.078671), 0.02: (0.002857, 0.090716), 0.03: (-0.007143, 0.100716),
    0.04: (-0.017143, 0.110716), 0.05: (-0.027143, 0.120716)}  # fmt: skip
README_SD_CTRL = {  # the regression with the control, printed to 3 significant digits
    0.0: (0.0264, 0.0607), 0.01: (0.0128, 0.0788), 0.02: (0.00186, 0.0908), 0.03: (-0.00814, 0.101),
    0.04: (-0.0181, 0.111), 0.05: (-0.0281, 0.121)}  # fmt: skip


def readme_event_study(beta=README_BETA, sigma=README_SIGMA):
    """The README's event study as a tidy frame: event times -6..-2 (2008-2012), reference -1 (2013), 0..1."""
    ks = [-6, -5, -4, -3, -2, 0, 1]
    V = pd.DataFrame(np.asarray(sigma), index=ks, columns=ks)
    es = pd.DataFrame(
        {
            "event_time": ks + [-1],
            "estimate": list(beta) + [0.0],
            "std_error": list(np.sqrt(np.diag(V))) + [np.nan],
            "n_obs": 344,
            "n_units": 43,
        }
    )
    return es, V


def hand_event_study(slope: float = 0.1, se: float = 0.2, post=(1.0, 1.2, 1.5, 1.6)):
    """A tidy event study with an exactly linear pre-trend (beta_k = slope * (k + 1), reference -1)."""
    pre = [-4, -3, -2]
    ks = pre + list(range(len(post)))
    b = [slope * (k + 1) for k in pre] + list(post)
    es = pd.DataFrame(
        {
            "event_time": ks + [-1],
            "estimate": b + [0.0],
            "std_error": [se] * len(ks) + [np.nan],
            "n_obs": 100,
            "n_units": 10,
        }
    )
    V = pd.DataFrame(np.eye(len(ks)) * se**2, index=ks, columns=ks)
    return es, V


def trend_panel(
    seed: int = 3,
    slope: float = 0.03,
    n_treat: int = 40,
    n_never: int = 60,
    cohorts=(2006, 2009),
    years=(2000, 2013),
    noise: float = 0.05,
) -> pd.DataFrame:
    """No treatment effect at all, but treated units follow a linear differential trend (slope per year)."""
    rng = np.random.default_rng(seed)
    gs = np.concatenate([np.repeat(cohorts, n_treat), np.zeros(n_never)]).astype(int)
    T = np.arange(years[0], years[1] + 1)
    a = rng.normal(0, 1, len(gs))
    b = np.cumsum(rng.normal(0.05, 0.1, len(T)))
    rows = [
        (i, t, a[i] + b[j] + (slope * (t - years[0]) if gs[i] > 0 else 0.0) + rng.normal(0, noise), gs[i])
        for i in range(len(gs))
        for j, t in enumerate(T)
    ]
    return pd.DataFrame(rows, columns=["id", "t", "y", "g"])


@pytest.fixture(scope="module")
def trend():
    p = did.prepare_panel(trend_panel(), "id", "t", "y", "g")
    return p, did.twfe_event_study(p, window=(-5, 4), bin_endpoints=False)


@pytest.mark.slow
def test_relative_magnitudes_clf_reproduces_r_readme():
    """C-LF intervals equal R's printed ones to within 1.5 steps of the 1,000-point theta grid (R's own runs differ
    by about one step: the least-favourable critical value is simulated)."""
    es, V = readme_event_study()
    for target, expected, lvec in ((0, README_RM_FIRST, [1, 0]), ("average_post", README_RM_AVG, [0.5, 0.5])):
        h = did.honest_did(es, V, mbar_grid=list(expected), target=target).set_index("mbar")
        sd = float(np.sqrt(np.array(lvec) @ V.loc[[0, 1], [0, 1]].to_numpy() @ np.array(lvec)))
        step = 40 * sd / 999
        for m, (lb, ub) in expected.items():
            assert h.loc[m, "conf_low"] == pytest.approx(lb, abs=1.5 * step), (target, m)
            assert h.loc[m, "conf_high"] == pytest.approx(ub, abs=1.5 * step), (target, m)
        assert (h["ci_method"].str.startswith("C-LF")).all()
    # the README: "the breakdown value for a significant effect is Mbar = 2" (lb > 0 at 1.5, < 0 at 2)
    bd = did.honest_did(es, V, mbar_grid=[0, 0.5, 1, 1.5, 2], target=0)["breakdown_mbar"].iloc[0]
    assert 1.5 < bd <= 2.0


def test_smoothness_flci_reproduces_r_readme():
    es, V = readme_event_study()
    h = did.honest_did(es, V, method="smoothness", mbar_grid=list(README_SD_FIRST), target=0).set_index(
        "mbar"
    )
    for m, (lb, ub) in README_SD_FIRST.items():
        assert h.loc[m, "conf_low"] == pytest.approx(lb, abs=1e-4)
        assert h.loc[m, "conf_high"] == pytest.approx(ub, abs=1e-4)
    # README: "the breakdown value for a significant effect is M of about 0.03"
    assert 0.02 < h["breakdown_mbar"].iloc[0] < 0.03
    es2, V2 = readme_event_study(README_CTRL_BETA, README_CTRL_SIGMA)
    h2 = did.honest_did(es2, V2, method="smoothness", mbar_grid=list(README_SD_CTRL), target=0)
    for (lb, ub), (_, r) in zip(README_SD_CTRL.values(), h2.iterrows(), strict=True):
        assert r["conf_low"] == pytest.approx(lb, rel=6e-3, abs=6e-5)
        assert r["conf_high"] == pytest.approx(ub, rel=6e-3)
    assert set(h2["bound"]) == {"M"} and h2["ci_method"].str.startswith("FLCI").all()


def test_fast_folded_normal_cv_is_diff_diffs_bit_for_bit():
    """The FLCI's critical value on scipy.special is diff-diff's ``_cv_alpha`` to the last bit (a second
    implementation: diff-diff's own), and the FLCI with it patched in equals the unpatched FLCI exactly."""
    from diff_diff import honest_did as dd

    from helpers.estimate.did import honest

    rng = np.random.default_rng(7)
    ts = np.concatenate([np.linspace(-40, 40, 801), rng.normal(0, 6, 400), [0.0, 1e-300, 1e-9, 1e3]])
    for alpha in (0.05, 0.1, 0.01, 0.5):
        for t in ts:
            assert honest.folded_normal_cv(t, alpha) == dd._cv_alpha(t, alpha), (t, alpha)
    with pytest.raises(ParameterError, match="df"):
        honest.folded_normal_cv(1.0, 0.05, df=10)
    es, V = readme_event_study()
    with honest.fast_folded_normal_cv():
        assert dd._cv_alpha is not honest.folded_normal_cv and getattr(dd._cv_alpha, "_fast", False)
        assert dd._cv_alpha(2.0, 0.05, df=12) == dd._cv_alpha.__closure__[0].cell_contents(2.0, 0.05, df=12)
    assert not getattr(dd._cv_alpha, "_fast", False)  # restored
    fast = did.honest_did(es, V, method="smoothness", mbar_grid=[0, 0.01, 0.02], target=0)
    original, noop = dd._cv_alpha, honest.fast_folded_normal_cv
    try:
        honest.fast_folded_normal_cv = contextlib.nullcontext
        slow = did.honest_did(es, V, method="smoothness", mbar_grid=[0, 0.01, 0.02], target=0)
    finally:
        honest.fast_folded_normal_cv = noop
    assert dd._cv_alpha is original
    pd.testing.assert_frame_equal(fast, slow, check_exact=True)


def test_identified_set_by_hand():
    slope, se = 0.1, 0.2
    es, V = hand_event_study(slope, se)
    h = did.honest_did(es, V, mbar_grid=[0, 0.5, 1, 2], grid_points=200)
    theta, T = np.mean([1.0, 1.2, 1.5, 1.6]), 4
    half = h["mbar"] * slope * (T + 1) / 2
    np.testing.assert_allclose(h["id_low"], theta - half, atol=1e-8)
    np.testing.assert_allclose(h["id_high"], theta + half, atol=1e-8)
    assert (h["conf_low"] <= h["id_low"] + 1e-9).all() and (h["id_high"] <= h["conf_high"] + 1e-9).all()
    assert list(h["mbar"]) == sorted(h["mbar"]) and (np.diff(h["conf_low"]) <= 1e-12).all()


@pytest.mark.slow
def test_linear_pretrend_is_absorbed_by_smoothness_and_flagged_by_rm(trend):
    """No true effect + a linear differential trend: the naive CI excludes 0; Delta^SD(0) (a linear trend continues)
    covers 0; under Delta^RM the breakdown is below 1 (the conclusion needs post drift smaller than pre drift)."""
    _, es = trend
    e = 2
    s = es.set_index("event_time")
    assert s.loc[e, "conf_low"] > 0  # biased by the trend: "significant" effect
    sd = did.honest_did(es, method="smoothness", mbar_grid=[0], target=e)
    assert sd["conf_low"].iloc[0] < 0 < sd["conf_high"].iloc[0]
    rm = did.honest_did(es, mbar_grid=[0, 1], target=e, grid_points=300)
    assert rm["conf_low"].iloc[0] > 0 and rm["conf_low"].iloc[1] < 0 < rm["conf_high"].iloc[1]
    assert 0 < rm["breakdown_mbar"].iloc[0] < 1


def test_callaway_santanna_universal_base(trend):
    p, _ = trend
    cs = did.callaway_santanna(p, base_period="universal", n_boot=0)
    dyn = cs.aggregate("dynamic", min_e=-5, max_e=4)
    ks = [-4, -2, 0, 3]
    V = did.cs_event_vcov(cs, ks)
    np.testing.assert_allclose(
        np.sqrt(np.diag(V)), dyn.set_index("event_time").loc[ks, "se_analytic"], rtol=1e-10
    )
    h = did.honest_did(dyn, cs, mbar_grid=[0, 1], target=0, grid_points=200)
    row = dyn.set_index("event_time").loc[0]
    assert h["orig_conf_low"].iloc[0] == pytest.approx(row["estimate"] - Z * row["se_analytic"], abs=1e-10)
    assert h["conf_low"].iloc[1] <= h["conf_low"].iloc[0]
    varying = did.callaway_santanna(p, base_period="varying", n_boot=0)
    with pytest.raises(ParameterError, match="universal"):
        did.honest_did(varying.aggregate("dynamic"), varying)


def test_binned_endpoints_dropped_only_when_binned(trend):
    """Issue 11 item 10: end points are dropped only when they absorbed event times beyond the window."""
    p, _ = trend
    es = did.twfe_event_study(p, window=(-5, 4), bin_endpoints=True)
    h = did.honest_did(es, method="smoothness", mbar_grid=[0])
    assert h["n_pre"].iloc[0] == 3 and h["n_post"].iloc[0] == 4  # -4..-2 and 0..3: the bins -5 and 4 go
    rel = p.data.loc[np.isfinite(p.data["g"]), "time"] - p.data.loc[np.isfinite(p.data["g"]), "g"]
    lo, hi = int(rel.min()), int(rel.max())
    full = did.twfe_event_study(p, window=(lo, hi), bin_endpoints=True)
    assert not full["binned"].any()
    h2 = did.honest_did(full, method="smoothness", mbar_grid=[0])
    assert (
        h2["n_pre"].iloc[0] == -1 - lo and h2["n_post"].iloc[0] == hi + 1
    )  # nothing binned: nothing dropped
    sa = did.sun_abraham(p, window=(lo, hi))
    assert not sa["binned"].any()
    assert did.sun_abraham(p, window=(-5, 4))["binned"].sum() == 2


def test_bad_inputs():
    es, V = hand_event_study()
    with pytest.raises(ParameterError, match="mbar_grid"):
        did.honest_did(es, V, mbar_grid=[0, -1])
    with pytest.raises(ParameterError, match="mbar_grid"):
        did.honest_did(es, V, mbar_grid=[])
    with pytest.raises(ParameterError, match="valid values"):
        did.honest_did(es, V, target=9)
    with pytest.raises(ParameterError, match="valid values"):
        did.honest_did(es, V, method="curvature")
    with pytest.raises(ParameterError, match="reference"):
        did.honest_did(es[es["event_time"] != -1], V)
    with pytest.raises(ParameterError, match="vcov"):
        did.honest_did(es)
    with pytest.raises(DataError, match="consecutive"):
        did.honest_did(es[es["event_time"] != -3], V)
