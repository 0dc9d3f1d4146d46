"""Tests of helpers.report.findings: generated sentences follow the numbers (none typed by hand), the per-run
findings.json, the reconciled reports/findings.json (read back by the site), the README block and the CLI step."""

from __future__ import annotations

import ast
import json
import re

import numpy as np
import pandas as pd
import pytest

from helpers.core import paths
from helpers.estimate import claims as C
from helpers.pipeline import cli, runner
from helpers.report import findings as F
from helpers.report import site


# --------------------------------------------------------------------------------------------------------------
# synthetic tidy results, one per notebook kind
# --------------------------------------------------------------------------------------------------------------
def _claims_table(shift: float = 0.0) -> pd.DataFrame:
    rows = [
        ("ratification_alone", "Ratification alone", "+", 0.14 + shift, 0.03 + shift, 0.25 + shift, 0.21),
        ("democracy", "Democracy", "+", -0.24, -0.39, -0.09, 0.017),
        ("civil_society", "Civil society", "+", -0.18, -0.32, -0.04, 0.35),
        ("nhri", "NHRI", "+", -0.05, -0.20, 0.09, 0.19),
    ]
    t = pd.DataFrame(
        rows, columns=["id", "label", "expected_sign", "estimate", "conf_low", "conf_high", "pretrend_p"]
    )
    t["verdict"] = [
        C.verdict(lo, hi, s, p)
        for lo, hi, s, p in zip(t.conf_low, t.conf_high, t.expected_sign, t.pretrend_p, strict=True)
    ]
    return t


def _tidy03(est: float = 0.011) -> tuple[pd.DataFrame, pd.DataFrame]:
    base = {
        "term": "cedaw_ratified_l1",
        "std_error": 0.009,
        "focal": True,
        "n_obs": 6593,
        "n_units": 170,
        "first_year": 1981,
        "last_year": 2022,
        "outcome": "v2x_gender",
        "first_stage_F": np.nan,
        "ar_set": "",
    }
    rows = [
        {
            **base,
            "model": "main:v2x_gender",
            "estimate": est,
            "conf_low": est - 0.017,
            "conf_high": est + 0.017,
            "p_value": 0.198,
            "se_type": "CRV1",
        },
        {
            **base,
            "model": "DK:v2x_gender",
            "estimate": est,
            "conf_low": est - 0.008,
            "conf_high": est + 0.008,
            "p_value": 0.009,
            "se_type": "DK",
        },
        {
            **base,
            "model": "iv:v2x_gender",
            "estimate": 0.007,
            "conf_low": -0.15,
            "conf_high": 0.17,
            "p_value": 0.93,
            "se_type": "CRV1",
            "first_stage_F": 9.17,
            "ar_set": "[-0.234, 0.195]",
        },
    ]
    inf = pd.DataFrame({"inference": ["CRV1", "wild"], "p_value": [0.198, 0.186]})
    return pd.DataFrame(rows), inf


def _summary04(cs: float = 0.035) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "estimator": ["TWFE (static)", "Callaway-Sant'Anna (simple)", "Sun-Abraham", "Imputation (BJS)"],
            "estimate": [0.038, cs, 0.071, 0.065],
            "conf_low": [0.016, cs - 0.028, 0.04, 0.03],
            "conf_high": [0.059, cs + 0.028, 0.1, 0.1],
            "p_value": [0.001, 0.014, 0.0001, 0.001],
        }
    )


def _pre04(p_cs: float = 0.214) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "estimator": ["callaway_santanna", "sun_abraham"],
            "p_value": [p_cs, 0.001],
            "statistic": [13.2, 27.7],
        }
    )


def _honest04(breakdown: float = 0.285) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "method": ["relative_magnitudes", "smoothness"],
            "target": ["average_post", "average_post"],
            "breakdown_mbar": [breakdown, 0.0],
        }
    )


def _diff04() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "estimator": ["Callaway-Sant'Anna (simple)", "Imputation (BJS)", "Sun-Abraham", "TWFE (static)"],
            "weight_beyond_15": [0.048, 0.048, 0.079, -0.036],
            "negative_weight": [0.0, 0.0, 0.0, 0.073],
        }
    )


def _summary06(share: float = 0.031) -> tuple[pd.DataFrame, pd.DataFrame]:
    cols = [
        "by",
        "value",
        "n_specs",
        "n_estimated",
        "median_estimate",
        "share_positive",
        "share_significant",
        "share_positive_significant",
        "share_negative_significant",
    ]
    rows = [
        ["all", "all", 1620, 1620, -0.0001, 0.49, 0.072, share, 0.041],
        ["coding", "ratified", 324, 324, 0.0, 0.5, 0.0, 0.0, 0.0],
        ["coding", "res_any", 324, 324, 0.01, 0.6, 0.2, 0.11, 0.02],
        ["estimator", "twfe", 810, 810, 0.0, 0.5, 0.07, 0.03, 0.04],
        ["estimator", "twfe_ldv", 810, 810, 0.0, 0.5, 0.07, 0.05, 0.04],
    ]
    joint = pd.DataFrame({"statistic": ["median_estimate", "share_significant"], "p_value": [0.952, 0.266]})
    return pd.DataFrame(rows, columns=cols), joint


def _case05(est: float = 0.014) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "estimator": ["synthetic_control", "synthetic_did"],
            "estimate": [est, 0.037],
            "p_value": [0.333, 0.5],
            "pre_rmspe": [0.0366, 0.041],
            "n_donors": [5, 5],
        }
    )


def _timing02(ratio: float = 5.29) -> tuple[pd.DataFrame, pd.DataFrame]:
    ratios = pd.DataFrame(
        {
            "term": ["v2x_polyarchy", "ln_gdppc", "v2x_polyarchy", "ln_gdppc"],
            "covariate": ["Democracy (polyarchy)", "ln GDP per capita"] * 2,
            "ratio": [ratio, 0.87, ratio * 1.1, 0.88],
            "conf_low": [1.27, 0.76, 1.27, 0.76],
            "conf_high": [22.07, 1.0, 26.5, 1.0],
            "p_value": [0.022, 0.058, 0.024, 0.05],
            "link": ["cloglog", "cloglog", "logit", "logit"],
            "ratio_type": ["hazard ratio", "hazard ratio", "odds ratio", "odds ratio"],
        }
    )
    km = pd.DataFrame(
        {"group": ["A"] * 3 + ["B"] * 3, "time": [0, 5, 9] * 2, "survival": [1, 0.6, 0.4, 1, 0.45, 0.3]}
    )
    return ratios, km


# --------------------------------------------------------------------------------------------------------------
# sentences follow the numbers
# --------------------------------------------------------------------------------------------------------------
def test_claims_sentences_follow_the_numbers():
    a, b = F.claims(_claims_table()), F.claims(_claims_table(shift=-0.2))
    assert 3 <= len(a.sentences) <= 6
    assert "the stated rule finds 1 supported, 1 contradicted and 2 inconclusive" in a.sentences[0]
    assert "Ratification alone +0.140 SD [0.030, 0.250]" in a.sentences[1]
    assert "Democracy (pre-trend p 0.017)" in " ".join(a.sentences)
    assert "finds 0 supported" in b.sentences[0] and "Ratification alone" in " ".join(b.sentences[-2:])
    assert a.numbers["counts"] == {"supported": 1, "contradicted": 1, "inconclusive": 2}


def test_timing_sentences_follow_the_numbers():
    r, km = _timing02()
    a = F.timing(r, km, "CEDAW", "regime")
    r2 = r.assign(p_value=[0.3, 0.058, 0.3, 0.05])
    b = F.timing(r2, km, "CEDAW", "regime")
    assert "sooner with higher democracy (polyarchy) (hazard ratio 5.29" in a.sentences[0]
    assert "no covariate predicts CEDAW ratification at the 5% level" in b.sentences[0]
    assert "A 9 years; B 5 years" in " ".join(a.sentences)


def test_treaty_effects_sentences_follow_the_numbers():
    t, inf = _tidy03()
    a = F.treaty_effects(t, inf, "v2x_gender", "Women's political empowerment", "CEDAW")
    b = F.treaty_effects(_tidy03(0.05)[0], inf, "v2x_gender", "Women's political empowerment", "CEDAW")
    assert "+0.011" in a.sentences[0] and "[-0.006, 0.028]" in a.sentences[0] and "6,593" in a.sentences[0]
    assert "+0.050" in b.sentences[0] and a.sentences[0] != b.sentences[0]
    assert "only Driscoll-Kraay puts it below 0.05" in a.sentences[1]
    assert "F = 9.2 (below 10: a weak instrument)" in " ".join(a.sentences)


def test_staggered_sentences_follow_the_numbers_and_flag_fragility():
    a = F.staggered(
        _summary04(), _pre04(), _honest04(), _diff04(), 15, "CEDAW", "Women's political empowerment"
    )
    b = F.staggered(
        _summary04(0.02), _pre04(0.5), _honest04(1.5), _diff04(), 15, "CEDAW", "Women's political empowerment"
    )
    text_a, text_b = " ".join(a.sentences), " ".join(b.sentences)
    assert "between +0.035 and +0.071" in text_a and "between +0.020 and +0.071" in text_b
    assert "Sun-Abraham puts 8% of its weight" in text_a and "7% of the TWFE weight is negative" in text_a
    assert "do not reject for Callaway-Sant'Anna (p 0.214)" in text_a and "(p 0.500)" in text_b
    assert "Mbar = 0.28" in text_a or "Mbar = 0.29" in text_a
    assert "fragile" in text_a and "fragile" not in text_b.split("Mbar")[1].split(".")[0]
    assert "linear continuation" in text_a


def test_case_and_spec_curve_sentences_follow_the_numbers():
    a, b = (
        F.case(_case05(), "Pakistan", "CEDAW", "Women's political empowerment", 10),
        F.case(_case05(0.2), "Pakistan", "CEDAW", "Women's political empowerment", 10),
    )
    assert "synthetic control +0.014" in a.sentences[0] and "synthetic control +0.200" in b.sentences[0]
    assert "1/6 = 0.167" in a.sentences[1]
    s, j = _summary06()
    c, d = F.spec_curve(s, j), F.spec_curve(_summary06(0.2)[0], j)
    assert (
        "1,620 estimated specifications" in c.sentences[0] and "3% positive and significant" in c.sentences[0]
    )
    assert "20% positive and significant" in d.sentences[0]
    assert "not distinguishable from chance: joint p 0.952" in c.sentences[1]
    assert (
        "coding: positive and significant in 11% of specifications with a reservation in force (any)"
        in (c.sentences[2])
    )
    assert "benchmark" in F.spec_curve(s, None).sentences[1]


def test_no_number_is_typed_into_a_sentence_template():
    """A decimal number in a string constant of helpers.report.findings may only be a stated threshold (the p-value
    floor 0.001, the 5% level), never a result."""
    src = (paths.ROOT / "src" / "helpers" / "report" / "findings.py").read_text(encoding="utf-8")
    thresholds = {"0.001", "0.05"}
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found = set(re.findall(r"(?<![\w.])\d+\.\d+", node.value))
            assert found <= thresholds, (node.value, found - thresholds)


# --------------------------------------------------------------------------------------------------------------
# per-run files, the reconciled summary, the site, the README block
# --------------------------------------------------------------------------------------------------------------
def _fake_reports(tmp_path):
    r = tmp_path / "reports"
    F.claims(_claims_table()).write(r / "07_implementation_gap" / "default")
    t, inf = _tidy03()
    F.treaty_effects(t, inf, "v2x_gender", "Women's political empowerment", "CEDAW").write(
        r / "03_treaty_effects" / "default"
    )
    F.staggered(
        _summary04(),
        _pre04(),
        _honest04(),
        _diff04(),
        15,
        "CEDAW",
        "Women's political empowerment",
        sample={
            "outcome": "v2x_gender",
            "short": "CEDAW",
            "outcome_label": "Women's political empowerment",
            "n_units": 125,
            "years": "1970-2023",
            "min_controls": 10,
        },
    ).write(r / "04_staggered_did" / "default")
    s, j = _summary06()
    F.spec_curve(s, j).write(r / "06_specification_curve" / "default")
    res = r / "07_implementation_gap" / "default" / "results"
    res.mkdir(parents=True)
    tab = _claims_table().assign(
        claim="a claim", measure="v2x_gender", design="cs_att", p_value=0.01, confidence="high"
    )
    tab.to_csv(res / "claims.csv", index=False)
    return r


def test_findings_json_per_run_has_sentences_and_numbers(tmp_path):
    path = F.claims(_claims_table()).write(tmp_path, "lab")
    d = json.loads(path.read_text())
    assert d["notebook"] == "07_implementation_gap" and d["run_label"] == "lab"
    assert d["sentences"] and d["numbers"]["claims"]["democracy"]["verdict"] == "inconclusive"


def test_summary_reconciles_03_and_04_and_is_read_by_the_site(tmp_path):
    r = _fake_reports(tmp_path)
    written = F.write_summary(r)
    loaded = site.load_findings(written["json"])
    text = " ".join(loaded.sentences)
    assert "Cole-style TWFE of notebook 03 gives +0.011 [-0.006, 0.028]" in text
    assert "of notebook 04 give +0.035 to +0.071" in text
    assert "03: 170 countries" in text and "04: 125 sovereign countries" in text
    assert "joint p 0.952" in text
    # 04's fragility travels with the comparison: the rejecting pre-trend test and the breakdown value below 1
    assert "fragile: the pre-adoption coefficients reject parallel trends for Sun-Abraham (p 0.001)" in text
    assert "up to 0.28 times the largest pre-adoption one" in text or "up to 0.29 times" in text
    assert [c["verdict"] for c in loaded.claims] == list(_claims_table()["verdict"])
    assert set(loaded.notebooks) == {
        "03_treaty_effects",
        "04_staggered_did",
        "06_specification_curve",
        "07_implementation_gap",
    }
    md = written["md"].read_text()
    assert "| Democracy | + | -0.240 | [-0.390, -0.090] | 0.017 | inconclusive |" in md


def test_no_fragility_sentence_when_pre_trends_hold_and_the_breakdown_is_large():
    n04 = {"pretrend_p": {"Sun-Abraham": 0.4}, "breakdown_Mbar": 1.5}
    assert F._fragility(n04) == []
    assert "Sun-Abraham (p 0.040)" in F._fragility({"pretrend_p": {"Sun-Abraham": 0.04}})[0]
    assert "up to 0.50 times" in F._fragility({"breakdown_Mbar": 0.5})[0]


def test_readme_block_is_replaced_between_markers(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# T\n\nIntro.\n\n{F.README_START}\nold\n{F.README_END}\n\n## Rest\n")
    summary = F.collect(_fake_reports(tmp_path))
    F.update_readme(F.readme_block(summary), readme)
    F.update_readme(F.readme_block(summary), readme)  # idempotent
    text = readme.read_text()
    assert text.count(F.README_START) == 1 and "old" not in text and text.endswith("## Rest\n")
    assert F.readme_section(text) == F.readme_block(summary)


def test_cli_lists_the_findings_step():
    assert re.search(r"^  findings +\S", cli.__doc__, re.M)
    sub = next(a for a in cli._parser()._actions if a.dest == "cmd")
    assert "findings" in sub.choices


# --------------------------------------------------------------------------------------------------------------
# README's "Results at a glance" against a fresh computation
# --------------------------------------------------------------------------------------------------------------
def test_claims_settings_are_notebook_07_defaults():
    declared = runner.declared_parameters(runner.resolve_notebook("07"))
    d = {k: ast.literal_eval(v["default"]) for k, v in declared.items()}
    s = C.Settings()
    assert (d["outcome"], tuple(d["years"]), tuple(d["event_window"])) == (s.outcome, s.years, s.event_window)
    assert (d["control_group"], d["min_controls"], d["sovereign_only"]) == (
        s.control_group,
        s.min_controls,
        s.sovereign_only,
    )


def _readme_block() -> str:
    block = F.readme_section((paths.ROOT / "README.md").read_text(encoding="utf-8"))
    assert block is not None, "README.md lacks the results-at-a-glance markers"
    return block


@pytest.mark.realdata
@pytest.mark.slow
def test_readme_claims_table_matches_a_fresh_computation(panel):
    """The claims rows of README's block equal notebook 07's defaults recomputed from the panel now (about 10 s),
    at the printed precision; needs no reports, so it runs in CI before the notebooks."""
    fresh = C.estimate_claims(panel, C.load_claims(), C.Settings())
    expected = F.claims_table_md(fresh.to_dict("records"))
    assert expected in _readme_block(), (
        "README.md's claims table disagrees with a fresh computation: run the notebooks and "
        "`python -m helpers findings --readme`"
    )


@pytest.mark.realdata
def test_readme_block_matches_the_reports():
    """When the default runs of 03, 04, 06 and 07 are in reports/, README's whole block equals the one the findings
    step writes from them now."""
    needed = ["03_treaty_effects", "04_staggered_did", "06_specification_curve", "07_implementation_gap"]
    missing = [s for s in needed if F.read_run(s) is None]
    if missing:
        pytest.skip(
            f"no findings.json of the default run of {missing} in {paths.REPORTS} (run the notebooks)"
        )
    assert _readme_block() == F.readme_block(F.collect()), (
        "README.md's results block is stale: run `python -m helpers findings --readme`"
    )
