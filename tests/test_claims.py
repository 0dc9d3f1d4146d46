"""Tests of helpers.estimate.claims: the verdict rule on synthetic results, the claims table, and claims estimated
end to end on synthetic panels with a known effect."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.estimate import claims as C
from helpers.report import figures


# --------------------------------------------------------------------------------------------------------------
# the verdict rule
# --------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("low", "high", "sign", "pre", "expected"),
    [
        (0.1, 0.5, "+", 0.5, "supported"),
        (-0.5, -0.1, "-", 0.5, "supported"),
        (-0.5, -0.1, "+", 0.5, "contradicted"),
        (0.1, 0.5, "-", 0.5, "contradicted"),
        (-0.1, 0.5, "+", 0.5, "inconclusive"),  # interval includes 0
        (0.1, 0.5, "+", 0.05, "inconclusive"),  # pre-trend rejects at 10%
        (0.1, 0.5, "+", 0.10, "supported"),  # p = 0.10 does not reject at 10%
        (-0.5, -0.1, "+", 0.099, "inconclusive"),
        (np.nan, np.nan, "+", np.nan, "inconclusive"),  # not estimable
        (0.1, 0.5, "+", np.nan, "inconclusive"),  # no pre-trend test
    ],
)
def test_verdict_rule(low, high, sign, pre, expected):
    assert C.verdict(low, high, sign, pre) == expected


def test_verdict_rule_is_stated_with_its_threshold():
    assert f"{C.PRETREND_ALPHA:.2f}" in C.VERDICT_RULE
    for v in C.VERDICTS:
        assert v.upper() in C.VERDICT_RULE


def test_verdict_bad_sign_names_valid_values():
    with pytest.raises(Exception, match=r"expected_sign.*\+"):
        C.verdict(0.1, 0.2, "positive", 0.5)


def _row(est, lo, hi, pre, sign="+"):
    row = {
        "id": "x",
        "label": "Democracy",
        "estimate": est,
        "conf_low": lo,
        "conf_high": hi,
        "pretrend_p": pre,
    }
    row["expected_sign"] = sign
    row["verdict"] = C.verdict(lo, hi, sign, pre)
    return row


def test_verdict_sentence_follows_the_numbers():
    a = C.verdict_sentence(_row(0.21, 0.05, 0.37, 0.4))
    b = C.verdict_sentence(_row(0.11, -0.05, 0.27, 0.4))
    c = C.verdict_sentence(_row(0.21, 0.05, 0.37, 0.02))
    assert "supported" in a and "+0.210" in a and "[+0.050, +0.370]" in a and "p = 0.400" in a
    assert "inconclusive" in b and "+0.110" in b and "includes 0" in b
    assert "inconclusive" in c and "rejects" in c and "p = 0.020" in c
    assert len({a, b, c}) == 3


# --------------------------------------------------------------------------------------------------------------
# the table
# --------------------------------------------------------------------------------------------------------------
def test_project_claims_table_is_valid_and_covers_the_brief():
    t = C.load_claims()
    assert set(t["design"]) <= set(C.DESIGNS)
    factors = set(t["factor"])
    for f in ("v2x_polyarchy", "v2xcs_ccsi", "nhri_a_status", "cedaw_op_year", "ln_gdppc", "income_group"):
        assert f in factors
    assert {"cedaw_res_core", "cedaw_res_withdrawal_year"} <= factors
    assert t.loc[t["factor"] == "nhri_a_status", "confidence"].item() == "low"
    assert "wbl_index" in " ".join(t["measure"])


def test_bad_claims_table_names_row_and_column(tmp_path):
    t = C.load_claims()
    t.loc[3, "design"] = "ols"
    path = tmp_path / "claims.csv"
    t.to_csv(path, index=False)
    with pytest.raises(C.ClaimsError, match=r"row 5 \(democracy\), column 'design'.*cs_att"):
        C.load_claims(path)


# --------------------------------------------------------------------------------------------------------------
# end to end on a synthetic panel with a known effect
# --------------------------------------------------------------------------------------------------------------
def _synthetic(effect_high: float, effect_low: float, seed: int = 7) -> pd.DataFrame:
    """60 countries, 1980-2010; cohorts 1990/1995/2000 or never; the factor is constant per country (high for
    the first half); the outcome has country and year effects, noise sd 0.05 and a constant effect after
    ratification of ``effect_high`` (high countries) or ``effect_low``."""
    rng = np.random.default_rng(seed)
    units = [f"U{i:02d}" for i in range(60)]
    cohorts = np.array([1990, 1995, 2000, np.nan] * 15)
    rows = []
    for i, u in enumerate(units):
        high = i < 30
        a = rng.normal(0, 0.5)
        for year in range(1980, 2011):
            treated = np.isfinite(cohorts[i]) and year >= cohorts[i]
            tau = (effect_high if high else effect_low) if treated else 0.0
            rows.append(
                {
                    "iso3": u,
                    "year": year,
                    "cedaw_year": cohorts[i],
                    "v2x_polyarchy": 0.8 if high else 0.2,
                    "y": a + 0.02 * (year - 1980) + tau + rng.normal(0, 0.05),
                }
            )
    return pd.DataFrame(rows)


CLAIM = {
    "id": "democracy",
    "label": "Democracy",
    "claim": "stronger where democratic",
    "measure": "practice",
    "factor": "v2x_polyarchy",
    "design": "cs_subgroup",
    "split": "median",
    "sample": "all",
    "expected_sign": "+",
    "confidence": "high",
}
SETTINGS = C.Settings(outcome="y", years=None, event_window=(-5, 10), min_controls=0)


@pytest.mark.parametrize(("high", "low", "verdict"), [(0.6, 0.1, "supported"), (0.1, 0.6, "contradicted")])
def test_subgroup_claim_recovers_known_difference(high, low, verdict):
    panel = _synthetic(high, low)
    sd = panel["y"].std()
    out = C.estimate_claims(panel, pd.DataFrame([CLAIM]), SETTINGS).iloc[0]
    truth = (high - low) / sd
    assert out["estimate"] == pytest.approx(truth, abs=4 * out["std_error"])
    assert out["std_error"] < 0.2 * abs(truth)
    assert out["pretrend_p"] >= C.PRETREND_ALPHA
    assert out["verdict"] == verdict
    assert f"{out['estimate']:+.3f}" in out["sentence"]
    assert "high" in out["detail"] and "(30 countries)" in out["detail"]


def test_att_claim_recovers_known_effect_and_pre_trend_makes_it_inconclusive():
    panel = _synthetic(0.3, 0.3)
    claim = {**CLAIM, "id": "ratification_alone", "design": "cs_att", "factor": "", "split": ""}
    out = C.estimate_claims(panel, pd.DataFrame([claim]), SETTINGS).iloc[0]
    assert out["estimate"] == pytest.approx(0.3 / panel["y"].std(), abs=4 * out["std_error"])
    assert out["verdict"] == "supported"
    # a trend that starts 4 years before ratification in the treated countries: the pre-trend test rejects
    lead = panel["year"] - panel["cedaw_year"]
    bent = panel.assign(y=panel["y"] + np.where(lead.between(-4, -1), 0.08 * (lead + 5), 0.0))
    out2 = C.estimate_claims(bent, pd.DataFrame([claim]), SETTINGS).iloc[0]
    assert out2["pretrend_p"] < C.PRETREND_ALPHA
    assert out2["verdict"] == "inconclusive"


def test_positions_place_a_country_on_its_factor():
    panel = _synthetic(0.6, 0.1)
    panel.loc[panel["iso3"] == "U00", "v2x_polyarchy"] = 0.95  # the most democratic country
    pos = C.positions(panel, pd.DataFrame([CLAIM]), "U00", SETTINGS).iloc[0]
    assert pos["value"] == pytest.approx(0.95)
    assert pos["group"] == "high"
    assert pos["percentile"] == pytest.approx(100 * 59.5 / 60)
    with pytest.raises(Exception, match="country"):
        C.positions(panel, pd.DataFrame([CLAIM]), "PAK", SETTINGS)


def test_forest_figure_has_one_row_per_claim_coloured_by_verdict():
    panel = _synthetic(0.6, 0.1)
    claim2 = {
        **CLAIM,
        "id": "att",
        "label": "Ratification alone",
        "design": "cs_att",
        "factor": "",
        "split": "",
    }
    t = C.estimate_claims(panel, pd.DataFrame([CLAIM, claim2]), SETTINGS)
    fig = figures.claims_forest_figure(t)
    ys = [y for tr in fig.data for y in tr.y]
    assert sorted(ys) == sorted(["Democracy (+)", "Ratification alone (+)"])
    assert {tr.name for tr in fig.data} <= set(C.VERDICTS)
