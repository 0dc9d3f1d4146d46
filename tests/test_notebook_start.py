"""One rule per parameter name, one start call per notebook (helpers.core.params, helpers.pipeline.notebook).

Every declared parameter of every notebook has a rule; a name means the same rule everywhere (the notebooks do no
validation of their own); every notebook calls ``start`` right after its parameters cell; a wrong value of every
rule raises a ParameterError naming the parameter and listing the valid values (run through the rule, on a small
synthetic panel: no real data needed); the rules' edge cases.
"""

from __future__ import annotations

import ast
import re

import nbformat
import numpy as np
import pandas as pd
import pytest

from helpers.core import params as P
from helpers.core import paths
from helpers.core.errors import HelpersError, ParameterError
from helpers.data import treaties
from helpers.estimate import models, specs, synth
from helpers.pipeline import notebook, runner

NOTEBOOKS = runner.discover()


def synthetic_panel() -> pd.DataFrame:
    """Three countries, 1990-1999, with the project's column names (iso3, country, year, region, outcomes)."""
    rows = []
    for iso, name, region in [
        ("PAK", "Pakistan", "South Asia"),
        ("NOR", "Norway", "Europe & Central Asia"),
        ("TUN", "Tunisia", "Middle East & North Africa"),
    ]:
        for y in range(1990, 2000):
            rows.append(
                {
                    "iso3": iso,
                    "country": name,
                    "year": y,
                    "region": region,
                    "v2x_gender": 0.5,
                    "wopol": 1.0,
                    "ln_gdppc": 8.0,
                    "cedaw_ratified": int(y >= 1996),
                    "cedaw_year": 1996.0,
                    "label": "x",
                }
            )
    return pd.DataFrame(rows)


def context(panel=None, **values) -> notebook.Context:
    return notebook.Context(values, panel if panel is not None else synthetic_panel())


# name -> (a valid value, an invalid value) on the synthetic panel
CASES: dict[str, tuple] = {
    "run_label": ("my_run.2", "my run/2"),
    "panel_path": ("", "no/such/panel.parquet"),
    "ratifications_path": ("none", "no/such/ratifications.parquet"),
    "claims_path": ("", "no/such/claims.csv"),
    "write": (False, "yes"),
    "unit_col": ("iso3", "iso"),
    "time_col": ("year", "period"),
    "name_col": ("", "name"),
    "cohort_col": ("cedaw_year", "cedaw_yr"),
    "status_col": ("", "status"),
    "treaty": ("cat", "cedwa"),
    "treaties": (["cedaw", "iccpr"], ["cedaw", "cedwa"]),
    "country": ("Norway", "Atlantis"),
    "region": ("South Asia", "Atlantis"),
    "income_group": ("LM", "middle"),
    "first_year": (1980, 1960),
    "last_year": (0, 1975),
    "successor_rule": ("own_act", "sometimes"),
    "yemen_rule": ("listed_act", "south"),
    "year": (1995, 2005),
    "years": ([1990, 1995], [1995, 1990]),
    "ciri_years": ([], [1995]),
    "windows": ([[1990, 1995]], [[1990, 1995], 1996]),
    "start_year": (1990, -1),
    "end_year": (0, 1.5),
    "gap_min_years": (0, -1),
    "outcome": ("v2x_gender", "ln_gdpc"),
    "outcomes": (["v2x_gender", "wopol"], []),
    "ciri_outcomes": ([], ["wecon"]),
    "moderator_outcome": ("wopol", "label"),
    "moderators": ([], ["polity"]),
    "controls": ("cole", "cole_minus"),
    "control_sets": (["none", "cole"], ["cole", "ln_gdppc"]),
    "covariates": (["ln_gdppc"], ["label"]),
    "hazard_covariates": (["signed"], ["ln_gdp"]),
    "coding": ("res_any", "res_art3"),
    "codings": (["ratified"], "ratified"),
    "lag": (10, 11),
    "lags": ([0, 10], [0, 1.0]),
    "covariate_lag": (5, 6),
    "anticipation": (2, True),
    "event_window": ([-3, 3], [-1, 3]),
    "event_year": (0, "1996"),
    "window": ([2, 1], [1, 5]),
    "estimator": ("iv", "ologit"),
    "estimators": (["twfe_ldv"], ["iv"]),
    "sample_mode": ("own", "each"),
    "ciri_estimators": (["ologit"], ["ols"]),
    "se": ("CRV3", "HC1"),
    "robustness": (True, 1),
    "alpha": (0.1, 1),
    "baseline": ("cubic", "weibull"),
    "km_by": ("region", "income"),
    "links": (["cloglog"], ["probit"]),
    "control_group": ("nevertreated", "everyone"),
    "base_period": ("universal", "fixed"),
    "donor_rule": ("cohort", "all"),
    "honest_mbar": ([0, 0.5], [-1]),
    "honest_m": ([], [0.01, -0.01]),
    "sovereign_only": (None, "yes"),
    "balanced": (False, "no"),
    "est_method": ("ipw", "aipw"),
    "min_controls": (10, -1),
    "min_donors": (10, 0),
    "seed": (0, -5),
    "n_wild": (99, 50),
    "n_null": (0, 10),
    "wild_weights": ("webb", "mammen"),
    "n_boot": (0, -1),
    "n_perm": (49, 9.5),
    "n_check": (0, None),
    "sdid_placebos": (None, 0),
}


def _declared_names(nb_path) -> list[str]:
    """Every name assigned in the parameters cell, duplicates included."""
    nb = nbformat.read(str(nb_path), as_version=4)
    cell = next(c for c in nb.cells if "parameters" in (c.metadata.get("tags") or []))
    return [
        t.id for node in ast.parse(cell.source).body if isinstance(node, ast.Assign) for t in node.targets
    ]


def test_every_rule_has_a_case_and_every_vocabulary_is_served():
    assert set(CASES) == set(P.RULES)
    used = {k for r in P.RULES.values() for k in r.needs}
    assert used <= set(P.VOCABULARY_KEYS) == set(notebook.VOCABULARIES)


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_declared_parameter_has_exactly_one_rule(nb_path):
    names = _declared_names(nb_path)
    assert len(names) == len(set(names)), f"{nb_path.stem} declares a parameter twice"
    assert [n for n in names if n not in P.RULES] == []


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_each_notebook_calls_start_once_and_validates_nothing_itself(nb_path):
    nb = nbformat.read(str(nb_path), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", [])
    call = f'run = start("{nb_path.stem}", globals())'
    assert call in code[1].source, f"{nb_path.stem}: the cell after the parameters calls {call}"
    rest = "\n".join(c.source for c in code[1:])
    assert rest.count("start(") == 1
    # the same name means the same rule everywhere: no notebook re-validates or sets up on its own
    for own in ("check_choice", "check_draws", "ParameterError", "run_dir(", "apply_theme(", "versions()"):
        assert own not in rest, f"{nb_path.stem} uses {own} itself; start does it"


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_wrong_value_is_rejected_with_the_valid_values(name):
    good, bad = CASES[name]
    rule = P.RULES[name]
    ctx = context(first_year=1980, start_year=1990)
    rule(name, good, ctx)  # the valid example passes: the rule can tell the two apart
    with pytest.raises(ParameterError) as info:
        rule(name, bad, ctx)
    err, msg = info.value, str(info.value)
    assert err.name == name and msg.startswith(f"parameter {name!r}: invalid value")
    assert "valid values: " in msg or rule.shape in msg, msg


def test_choices_list_the_vocabulary_of_the_helpers():
    ctx = context()
    with pytest.raises(ParameterError) as info:
        P.RULES["treaty"]("treaty", "cedwa", ctx)
    assert info.value.valid == list(treaties.TREATIES)
    with pytest.raises(ParameterError) as info:
        P.RULES["codings"]("codings", ["ratified", "nope"], ctx)
    assert info.value.value == "nope" and info.value.valid == models.CODINGS
    with pytest.raises(ParameterError) as info:
        P.RULES["outcome"]("outcome", "v2x_gendr", ctx)
    assert info.value.valid == ["v2x_gender", "wopol"]  # the registered outcomes in this panel
    assert list(synth.DONOR_RULES) == ctx.valid("donor_rules") == ["untreated", "status", "cohort", "none"]
    # one se rule serves 03 (models) and 06 (specs)
    assert specs.SPEC_SE_TYPES == models.SE_TYPES == ctx.valid("se_types")


def test_normalised_values():
    ctx = context()
    assert P.RULES["treaties"]("treaties", [], ctx) == list(treaties.TREATIES)
    assert P.RULES["country"]("country", "pakistan", ctx) == "PAK"  # a name, case-insensitively
    assert P.RULES["country"]("country", "NOR", ctx) == "NOR"
    # every other rule returns the value unchanged
    for name, (good, _) in CASES.items():
        if name not in {"treaties", "country"}:
            assert P.RULES[name](name, good, context(first_year=1980, start_year=1990)) == good, name


def test_rules_that_read_other_parameters():
    last, end = P.RULES["last_year"], P.RULES["end_year"]
    assert last("last_year", 1990, context(first_year=1990)) == 1990
    with pytest.raises(ParameterError, match="not before first_year"):
        last("last_year", 1989, context(first_year=1990))
    assert end("end_year", 0, context(start_year=2000)) == 0
    assert end("end_year", 1999, context(start_year=0)) == 1999
    with pytest.raises(ParameterError, match="end_year"):
        end("end_year", 1999, context(start_year=2000))
    # country with another unit column and no name column (any tidy panel)
    p = synthetic_panel().rename(columns={"iso3": "unit"})
    ctx = context(p, unit_col="unit", name_col="")
    assert P.RULES["country"]("country", "TUN", ctx) == "TUN"
    with pytest.raises(ParameterError, match="not a value of 'unit'"):
        P.RULES["country"]("country", "Tunisia", ctx)
    # validate() runs the columns before the country that reads them
    values = {"country": "Tunisia", "name_col": "country", "unit_col": "iso3"}
    assert P.validate(list(values), values, context(**values))["country"] == "TUN"


def test_draws_and_ranges():
    n_wild, lag = P.RULES["n_wild"], P.RULES["lag"]
    for ok in (0, 99, 999, np.int64(199)):
        assert n_wild("n_wild", ok) == ok
    for bad in (1, 98, -1, True, 99.0):
        with pytest.raises(ParameterError, match="at least 99"):
            n_wild("n_wild", bad)
    with pytest.raises(ParameterError) as info:
        lag("lag", 11)
    assert info.value.valid == list(range(11))
    assert P.RULES["covariate_lag"]("covariate_lag", 5) == 5
    with pytest.raises(ParameterError):
        P.RULES["covariate_lag"]("covariate_lag", 6)  # the hazard models lag covariates at most 5 years


def test_lag_ranges_agree_with_the_estimators():
    """The rules accept exactly the lags the helpers accept (a wrong rule would let a bad value through start)."""
    from helpers.estimate import timing

    panel = synthetic_panel()
    for name, call, top in [
        ("lag", lambda lag: models.build_design(panel, lag=lag), P.MAX_LAG),
        ("lags", lambda lag: specs.specification_grid(lags=[lag], panel=panel), P.MAX_LAG),
        ("covariate_lag", lambda lag: timing.at_risk_set(panel, lag=lag), P.MAX_COVARIATE_LAG),
    ]:
        with pytest.raises(ParameterError) as info:
            call(top + 1)
        assert info.value.valid == list(range(top + 1)), name
        rule = P.RULES[name]
        assert rule(name, [top] if name == "lags" else top)
        with pytest.raises(ParameterError):
            rule(name, [top + 1] if name == "lags" else top + 1)


def test_outcomes_of_another_panel_are_its_numeric_columns():
    other = pd.DataFrame({"countyreal": [1, 1, 2, 2], "year": [1, 2, 1, 2], "lemp": [0.1, 0.2, 0.3, 0.4]})
    ctx = context(other)
    assert P.RULES["outcome"]("outcome", "lemp", ctx) == "lemp"
    assert ctx.valid("outcomes") == ["countyreal", "year", "lemp"]
    with pytest.raises(ParameterError, match="lemp"):
        P.RULES["outcome"]("outcome", "emp", ctx)


def test_a_declared_parameter_without_a_rule_is_an_error():
    with pytest.raises(HelpersError, match="no rule for parameter.*'shiny_new'"):
        P.validate(["seed", "shiny_new"], {"seed": 1, "shiny_new": 2}, context())


@pytest.fixture
def tmp_reports(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "REPORTS", tmp_path / "reports")
    return tmp_path / "reports"


def test_start_validates_creates_the_run_folder_and_returns_the_run(tmp_reports, capsys):
    nb = runner.resolve_notebook("05_country_case")
    ns = {k: v["value"] for k, v in runner.declared_parameters(nb).items()}
    ns.update(country="Pakistan", run_label="unit_test")
    run = notebook.start("05_country_case", ns, panel=synthetic_panel())
    assert run.out == tmp_reports / "05_country_case" / "unit_test"
    assert all((run.out / sub).is_dir() for sub in ("figures", "tables", "results"))
    assert run.country == "PAK" and run.short == "CEDAW" and run.label == "unit_test"
    assert run.panel is run.context.panel and len(run.panel) == 30
    assert re.search(r"pandas \d", capsys.readouterr().out)  # the versions line
    with pytest.raises(AttributeError, match="no parameter or attribute 'nope'"):
        _ = run.nope
    ns["window"] = [1, 5]
    with pytest.raises(ParameterError, match="window"):
        notebook.start("05_country_case", ns, panel=synthetic_panel())
    del ns["seed"]
    with pytest.raises(HelpersError, match="'seed'"):
        notebook.validate("05_country_case", ns, panel=synthetic_panel())


def test_helpers_start_is_lazy():
    import subprocess
    import sys

    code = "import sys, helpers; assert 'helpers.pipeline.notebook' not in sys.modules; "
    code += "from helpers import start; assert start.__module__ == 'helpers.pipeline.notebook'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=paths.ROOT)


# ---------------------------------------------------------------------------------------------------------------
# on the real panel: every notebook's defaults and every parameter file pass their rules
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.realdata
@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_defaults_pass_their_rules(nb_path, panel):
    ns = {k: v["value"] for k, v in runner.declared_parameters(nb_path).items()}
    run = notebook.validate(nb_path.stem, ns, panel=panel)
    assert set(run.values) == set(ns)


@pytest.mark.realdata
@pytest.mark.parametrize("param_file", sorted(paths.PARAMS.glob("*.yml")), ids=lambda p: p.stem)
def test_parameter_files_pass_their_rules(param_file, panel):
    nb, label, given = runner.load_param_file(param_file)
    ns = {k: v["value"] for k, v in runner.declared_parameters(nb).items()} | given | {"run_label": label}
    notebook.validate(nb.stem, ns, panel=panel)


def test_treaty_may_be_blank_only_where_an_alternative_is_given():
    """Issue 11 own panel: treaty "" is valid in 04 with cohort_col and in 05 with event_year, nowhere else."""
    assert P.RULES["treaty"]("treaty", "", context(cohort_col="cedaw_year")) == ""
    assert P.RULES["treaty"]("treaty", "", context(event_year=1996, cohort_col="")) == ""
    with pytest.raises(ParameterError, match="cohort_col"):
        P.RULES["treaty"]("treaty", "", context(cohort_col="", event_year=0))
    with pytest.raises(ParameterError, match="needs a treaty"):
        P.RULES["treaty"]("treaty", "", context())
    with pytest.raises(
        ParameterError, match="no treaty is read"
    ):  # 04: cohort_col and a treaty exclude each other
        P.RULES["treaty"]("treaty", "cedaw", context(cohort_col="cedaw_year"))
    assert (
        P.RULES["treaty"]("treaty", "cedaw", context(cohort_col="cedaw_year", event_year=0)) == "cedaw"
    )  # 05


def test_est_method_rule_matches_the_estimator():
    from helpers.estimate import did

    assert P.EST_METHODS == did.EST_METHODS


def test_kernels_and_runner_skip_jsonschemas_iri_checker():
    """plotly's first figure display imports nbformat, hence jsonschema, which would compile rfc3987_syntax's Lark
    grammars (2.5 s of CPU per kernel): start() and the runner keep it out; notebooks still validate."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from helpers.core import imports\n"
        "assert imports.skip_iri_format_checker()\n"
        "import nbformat, plotly.io._renderers, jsonschema\n"
        "assert 'lark' not in sys.modules and sys.modules['rfc3987_syntax'] is None\n"
        "nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('1')])\n"
        "nbformat.validate(nb)\n"
        "nb.cells[0]['outputs'] = 'bad'\n"
        "try:\n"
        "    nbformat.validate(nb)\n"
        "except nbformat.ValidationError:\n"
        "    pass\n"
        "else:\n"
        "    raise AssertionError('an invalid notebook passed')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=paths.ROOT)
    # and where it is called: the notebook start and the runner's papermill import
    import inspect

    from helpers.pipeline import notebook as nbmod

    assert "imports.skip_iri_format_checker()" in inspect.getsource(nbmod.start)
    assert "imports.skip_iri_format_checker()" in inspect.getsource(runner._import_papermill)
