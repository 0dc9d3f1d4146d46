"""Every notebook validates its parameter values: a wrong value stops the run at the setup cell with an error that
names the parameter and lists the valid values (run through the same runner as the main job)."""

import pytest

from helpers import paths, runner

CASES = [
    ("00_build_panel", {"successor_rule": "sometimes"}, ["successor_rule", "inherit", "own_act"]),
    ("00_build_panel", {"treaties": ["cedaw", "cedwa"]}, ["treaties", "cedwa", "iccpr_op2"]),
    ("01_ratification_atlas", {"treaty": "cedwa"}, ["treaty", "cedwa", "cedaw_op"]),
    ("02_ratification_timing", {"treaty": "cedwa"}, ["treaty", "cedwa", "cedaw_op"]),
    ("03_treaty_effects", {"estimator": "magic"}, ["estimator", "magic"]),
    ("04_staggered_did", {"control_group": "everyone"}, ["control_group", "notyettreated", "nevertreated"]),
    ("05_country_case", {"country": "Atlantis"}, ["country", "Atlantis"]),
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
    except Exception:
        pytest.skip(f"{notebook} not in this collection")
    res = runner.run_notebook(nb, params, "bad")
    assert not res.ok, f"{notebook} accepted {params}"
    for word in expected:
        assert word in res.error, f"{word!r} not in error: {res.error}"
    # no good executed copy was written for the failed run
    assert not (tmp_reports / "notebooks" / f"{notebook}--bad.ipynb").exists()
