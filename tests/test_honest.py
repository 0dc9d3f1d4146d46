"""Tests of helpers.did.honest_did (Rambachan-Roth relative-magnitudes sensitivity, via diff-diff's HonestDiD).

Expected numbers are derived by hand: under Delta^RM with the reference violation pinned at 0, the violation at
post event time e can drift by at most (e + ref_gap) steps of size Mbar * m, where m is the largest absolute
pre-period first difference (the last one taken to the reference period). So for a single post period e
(reference -1) the identified set is beta_e -/+ (e + 1) Mbar m, and for the average of post periods 0..T-1 it is
theta -/+ Mbar m (T + 1) / 2; the interval adds crit * se on each side (diff-diff's construction).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from helpers.core.errors import DataError, ParameterError
from helpers.estimate import did

Z = stats.norm.ppf(0.975)


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


def test_hand_example_average_and_single_period():
    slope, se = 0.1, 0.2
    es, V = hand_event_study(slope, se)
    h = did.honest_did(es, V, mbar_grid=[0, 0.5, 1, 2, 5])
    theta, se_th, T = np.mean([1.0, 1.2, 1.5, 1.6]), se / 2, 4
    half = h["mbar"] * slope * (T + 1) / 2
    np.testing.assert_allclose(h["id_low"], theta - half, atol=1e-8)
    np.testing.assert_allclose(h["id_high"], theta + half, atol=1e-8)
    np.testing.assert_allclose(h["conf_low"], theta - half - Z * se_th, atol=1e-8)
    np.testing.assert_allclose(h["conf_high"], theta + half + Z * se_th, atol=1e-8)
    assert h["breakdown_mbar"].iloc[0] == pytest.approx((theta - Z * se_th) / (slope * (T + 1) / 2), abs=1e-3)
    h2 = did.honest_did(es, V, target=2, mbar_grid=[0, 1, 3])
    np.testing.assert_allclose(h2["conf_low"], 1.5 - 3 * slope * h2["mbar"] - Z * se, atol=1e-8)
    assert h2["breakdown_mbar"].iloc[0] == pytest.approx((1.5 - Z * se) / (3 * slope), abs=1e-3)
    assert set(h2["target"]) == {"event_time::2"}


def test_mbar_zero_is_original_interval_and_widening_is_monotone(trend):
    _, es = trend
    h = did.honest_did(es, mbar_grid=[2, 0, 0.25, 0.5, 1, 1.5], target=1)
    row = es.set_index("event_time").loc[1]  # pyfixest SE, t(G-1) interval computed by twfe_event_study
    first = h.iloc[0]
    assert first["mbar"] == 0
    assert first["conf_low"] == pytest.approx(row["conf_low"], abs=1e-10)
    assert first["conf_high"] == pytest.approx(row["conf_high"], abs=1e-10)
    assert list(h["mbar"]) == sorted(h["mbar"])
    assert (np.diff(h["conf_low"]) < 0).all() and (np.diff(h["conf_high"]) > 0).all()
    assert (h["conf_low"] <= h["id_low"]).all() and (h["id_high"] <= h["conf_high"]).all()


def test_linear_pretrend_breakdown_and_coverage(trend):
    """No true effect + a linear differential trend: the naive CI excludes 0, Mbar 1 (post drift as large as
    the pre drift) covers it, and the breakdown equals the hand formula on the estimated coefficients."""
    _, es = trend
    e = 2
    h = did.honest_did(es, mbar_grid=[0, 1], target=e)
    s = es.set_index("event_time")
    assert s.loc[e, "conf_low"] > 0  # biased by the trend: "significant" effect
    assert h["conf_low"].iloc[1] < 0 < h["conf_high"].iloc[1]
    pre = s.loc[[-5, -4, -3, -2], "estimate"].to_numpy()
    m = max(np.abs(np.diff(pre)).max(), abs(pre[-1]))  # last step goes to the reference (0)
    assert m == pytest.approx(0.03, abs=0.01)  # the true slope
    crit = stats.t.ppf(0.975, es.attrs["df"])
    expected = (s.loc[e, "estimate"] - crit * s.loc[e, "std_error"]) / ((e + 1) * m)
    assert h["breakdown_mbar"].iloc[0] == pytest.approx(expected, abs=1e-3)
    assert 0 < expected < 1


def test_callaway_santanna_universal_base(trend):
    p, _ = trend
    cs = did.callaway_santanna(p, base_period="universal", n_boot=0)
    dyn = cs.aggregate("dynamic")
    ks = [-4, -2, 0, 3]
    V = did.cs_event_vcov(cs, ks)
    np.testing.assert_allclose(
        np.sqrt(np.diag(V)), dyn.set_index("event_time").loc[ks, "se_analytic"], rtol=1e-10
    )
    h = did.honest_did(dyn, cs, mbar_grid=[0, 1], target=0)
    row = dyn.set_index("event_time").loc[0]
    assert h["conf_low"].iloc[0] == pytest.approx(row["conf_low"], abs=1e-10)  # normal critical value
    assert h["conf_high"].iloc[0] == pytest.approx(row["conf_high"], abs=1e-10)
    varying = did.callaway_santanna(p, base_period="varying", n_boot=0)
    with pytest.raises(ParameterError, match="universal"):
        did.honest_did(varying.aggregate("dynamic"), varying)


def test_binned_endpoints_dropped(trend):
    p, _ = trend
    es = did.twfe_event_study(p, window=(-5, 4), bin_endpoints=True)
    h = did.honest_did(es, mbar_grid=[0])
    assert h["n_pre"].iloc[0] == 3 and h["n_post"].iloc[0] == 4  # -4..-2 and 0..3: the bins -5 and 4 go


def test_bad_inputs():
    es, V = hand_event_study()
    with pytest.raises(ParameterError, match="mbar_grid"):
        did.honest_did(es, V, mbar_grid=[0, -1])
    with pytest.raises(ParameterError, match="mbar_grid"):
        did.honest_did(es, V, mbar_grid=[])
    with pytest.raises(ParameterError, match="valid values"):
        did.honest_did(es, V, target=9)
    with pytest.raises(ParameterError, match="valid values"):
        did.honest_did(es, V, method="smoothness")
    with pytest.raises(ParameterError, match="reference"):
        did.honest_did(es[es["event_time"] != -1], V)
    with pytest.raises(ParameterError, match="vcov"):
        did.honest_did(es)
    with pytest.raises(DataError, match="consecutive"):
        did.honest_did(es[es["event_time"] != -3], V)
