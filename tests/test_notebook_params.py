"""Every notebook validates its parameter values (helpers.start): a wrong value stops the run at the setup cell with
an error that names the parameter and lists the valid values (run through the same runner as the main job)."""

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
    ("08_treaty_matrix", {"treaties": ["cedaw", "cedwa"]}, ["treaties", "cedwa", "iccpr_op2"]),
    ("08_treaty_matrix", {"n_boot": -1}, ["n_boot"]),
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
# 04 and 05 run unchanged on any tidy panel given by path and column names (issue 4), by the documented route
# (README, "Your own panel"): `python -m helpers example NAME` writes the panel, params/examples/*.yml run it: the R
# `did` package's mpdta county panel (04) and a synthetic panel with a known jump (05)
def _example_run(name: str, tmp_path, monkeypatch, **fewer_draws):
    from helpers.data import examples

    monkeypatch.setattr(paths, "PROCESSED", tmp_path / "processed")
    written = examples.write(name)
    nb, label, params = runner.load_param_file(
        paths.ROOT / f"params/examples/{'04_mpdta' if name == 'mpdta' else '05_case'}.yml"
    )
    params["panel_path"] = str(written)  # the file the example command wrote (here in a temporary folder)
    return runner.run_notebook(nb, {**params, **fewer_draws}, label), label


@pytest.mark.slow
@pytest.mark.realdata
def test_staggered_notebook_runs_on_another_panel(tmp_path, tmp_reports, monkeypatch):
    res, label = _example_run("mpdta", tmp_path, monkeypatch, n_boot=99, n_wild=99, n_perm=49)
    assert res.ok, res.error
    simple = pd.read_csv(tmp_reports / "04_staggered_did" / label / "results" / "cs_simple.csv")
    # the published simple ATT of the R did package for mpdta (never-treated controls): -0.0400
    assert round(float(simple["estimate"].iloc[0]), 4) == -0.0400
    caption = (tmp_reports / "04_staggered_did" / label / "tables" / "overall_effects.html").read_text()
    assert "first.treat on lemp" in caption and "CEDAW" not in caption  # the user's names, not the project's


@pytest.mark.slow
def test_case_notebook_runs_on_a_synthetic_panel(tmp_path, tmp_reports, monkeypatch):
    res, label = _example_run("case", tmp_path, monkeypatch, n_wild=99)
    assert res.ok, res.error
    est = pd.read_csv(tmp_reports / "05_country_case" / label / "results" / "case_estimates.csv")
    sc = est.loc[est["estimator"].str.contains("synthetic_control"), "estimate"].iloc[0]
    assert abs(sc - 0.5) < 0.05  # the true jump is 0.5
    assert (
        (est["window_pre"] == 8).all()
        and (est["first_period"] == 1992).all()
        and (est["last_period"] == 2007).all()
    )
    caption = (tmp_reports / "05_country_case" / label / "tables" / "case_estimates.html").read_text()
    assert "Effect of the event of 2000 on y in U00" in caption and "CEDAW" not in caption
