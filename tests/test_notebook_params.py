"""Every notebook validates its parameter values (helpers.start): a wrong value stops the run at the setup cell with
an error that names the parameter and lists the valid values (run through the same runner as the main job)."""

import numpy as np
import pandas as pd
import pytest

from helpers.core import paths
from helpers.core.errors import ParameterError
from helpers.pipeline import runner

CASES = [
    ("00_build_panel", {"successor_rule": "sometimes"}, ["successor_rule", "inherit", "own_act"]),
    ("00_build_panel", {"treaties": ["cedaw", "cedwa"]}, ["treaties", "cedwa", "iccpr_op2"]),
    ("01_ratification_atlas", {"treaty": "cedwa"}, ["treaty", "cedwa", "cedaw_op"]),
    ("02_ratification_timing", {"treaty": "cedwa"}, ["treaty", "cedwa", "cedaw_op"]),
    ("03_treaty_effects", {"estimator": "magic"}, ["estimator", "magic"]),
    ("03_treaty_effects", {"n_wild": 50}, ["n_wild", "at least 99"]),
    ("04_staggered_did", {"control_group": "everyone"}, ["control_group", "notyettreated", "nevertreated"]),
    ("04_staggered_did", {"honest_mbar": [-1]}, ["honest_mbar"]),
    ("04_staggered_did", {"n_perm": -5}, ["n_perm"]),
    ("05_country_case", {"country": "Atlantis"}, ["country", "Atlantis"]),
    ("05_country_case", {"treaty": "", "event_year": 0}, ["treaty", "event_year"]),
    ("05_country_case", {"status_col": "cedaw_ratifed"}, ["status_col", "cedaw_ratifed"]),
    ("05_country_case", {"min_donors": 0}, ["min_donors"]),
    ("04_staggered_did", {"treaty": ""}, ["treaty", "cohort_col"]),
    ("04_staggered_did", {"min_controls": -1}, ["min_controls"]),
    ("04_staggered_did", {"sovereign_only": "yes"}, ["sovereign_only", "True", "False", "None"]),
    ("06_specification_curve", {"outcomes": ["v2x_gendr"]}, ["v2x_gendr", "v2x_gender"]),
]


@pytest.fixture
def tmp_reports(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "REPORTS", tmp_path / "reports")
    return tmp_path / "reports"


@pytest.mark.slow
@pytest.mark.parametrize("notebook,params,expected", CASES, ids=[f"{c[0]}-{next(iter(c[1]))}" for c in CASES])
def test_bad_parameter_value_is_rejected_with_valid_values(notebook, params, expected, tmp_reports, panel):
    try:
        nb = runner.resolve_notebook(notebook)
    except ParameterError:
        pytest.skip(f"{notebook} not in this collection")
    res = runner.run_notebook(nb, params, "bad")
    assert not res.ok, f"{notebook} accepted {params}"
    for word in expected:
        assert word in res.error, f"{word!r} not in error: {res.error}"
    # no good executed copy was written for the failed run
    assert not (tmp_reports / "notebooks" / f"{notebook}--bad.ipynb").exists()


# ---------------------------------------------------------------------------------------------------------------
# 04 and 05 run unchanged on any tidy panel given by path and column names (issue 4): here the R `did` package's
# mpdta county panel (04) and a synthetic country panel with a known jump (05)
@pytest.mark.slow
@pytest.mark.realdata
def test_staggered_notebook_runs_on_another_panel(tmp_path, tmp_reports):
    import pyreadr

    mpdta = pyreadr.read_r(str(paths.raw_path("did_mpdta/mpdta.rda")))["mpdta"]
    path = tmp_path / "mpdta.csv"
    mpdta.to_csv(path, index=False)
    res = runner.run_notebook(
        "04_staggered_did",
        {
            "panel_path": str(path),
            "unit_col": "countyreal",
            "time_col": "year",
            "treaty": "",
            "cohort_col": "first.treat",
            "outcome": "lemp",
            "covariates": [],
            "control_group": "nevertreated",
            "balanced": False,  # the unbalanced-panel route (R's allow_unbalanced_panel): equal on a balanced panel
            "est_method": "ipw",  # without covariates every est_method gives the published numbers
            "years": [],
            "event_window": [-3, 3],
            "n_boot": 99,
            "n_wild": 99,
            "n_perm": 49,
        },
        "mpdta",
    )
    assert res.ok, res.error
    simple = pd.read_csv(tmp_reports / "04_staggered_did" / "mpdta" / "results" / "cs_simple.csv")
    # the published simple ATT of the R did package for mpdta (never-treated controls): -0.0400
    assert round(float(simple["estimate"].iloc[0]), 4) == -0.0400
    caption = (tmp_reports / "04_staggered_did" / "mpdta" / "tables" / "overall_effects.html").read_text()
    assert "first.treat on lemp" in caption and "CEDAW" not in caption  # the user's names, not the project's


@pytest.mark.slow
def test_case_notebook_runs_on_a_synthetic_panel(tmp_path, tmp_reports):
    rng = np.random.default_rng(7)
    units = [f"U{i:02d}" for i in range(25)]
    rows = []
    for u in units:
        level = rng.normal(0, 0.3)
        for t in range(1990, 2011):
            y = level + 0.02 * (t - 1990) + rng.normal(0, 0.01) + (0.5 if (u == "U00" and t >= 2000) else 0.0)
            rows.append(
                {
                    "unit": u,
                    "period": t,
                    "y": y,
                    "event": 2000 if u == "U00" else np.nan,
                    "treated": int(u == "U00" and t >= 2000),
                }
            )
    path = tmp_path / "synthetic.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    res = runner.run_notebook(
        "05_country_case",
        {
            "panel_path": str(path),
            "ratifications_path": "none",
            "unit_col": "unit",
            "time_col": "period",
            "name_col": "",
            "country": "U00",
            "treaty": "",
            "event_year": 2000,
            "outcome": "y",
            "window": [8, 8],
            "donor_rule": "untreated",
            "status_col": "treated",
            "cohort_col": "event",
            "sdid_placebos": 10,
            "n_wild": 99,
        },
        "synthetic",
    )
    assert res.ok, res.error
    est = pd.read_csv(tmp_reports / "05_country_case" / "synthetic" / "results" / "case_estimates.csv")
    sc = est.loc[est["estimator"] == "synthetic_control", "estimate"].iloc[0]
    assert abs(sc - 0.5) < 0.05  # the true jump is 0.5
    assert (
        (est["window_pre"] == 8).all()
        and (est["first_period"] == 1992).all()
        and (est["last_period"] == 2007).all()
    )
    caption = (tmp_reports / "05_country_case" / "synthetic" / "tables" / "case_estimates.html").read_text()
    assert "Effect of the event of 2000 on y in U00" in caption and "CEDAW" not in caption
