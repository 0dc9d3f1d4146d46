"""The command line (issue 11, "own panel" and CLI items): papermill's -p NAME VALUE beside --params, a list
command, a help line for every subcommand and option, example panels, the named Jupyter kernel, and the thread
settings that make results byte-identical between runs (item 10)."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from helpers.core import paths
from helpers.data import examples
from helpers.pipeline import cli, runner


@pytest.fixture
def jobs(monkeypatch):
    """Capture what `run` would execute instead of executing it."""
    seen: list = []

    def fake_run(
        notebooks=None,
        param_files=None,
        stop_on_error=False,
        echo=print,
        jobs=None,
        workers=1,
        log_output=False,
    ):
        seen.append(jobs if jobs is not None else runner.plan(notebooks, param_files))
        return [runner.RunResult("x", "y", paths.ROOT, 0.0, True)]

    monkeypatch.setattr(runner, "run", fake_run)
    return seen


def test_p_name_value_is_papermills_habit(jobs):
    rc = cli.main(
        ["run", "03", "-p", "lag", "2", "-p", "years", "[1990, 2015]", "-p", "region", "", "--label", "lag2"]
    )
    assert rc == 0
    [(nb, label, params)] = jobs[0]
    assert nb.stem == "03_treaty_effects" and label == "lag2"
    assert params == {"lag": 2, "years": [1990, 2015], "region": ""}


def test_p_overrides_a_parameter_file(jobs):
    assert (
        cli.main(["run", "--params", "params/03_cedaw_wbl.yml", "-p", "lag", "0", "--label", "wbl_lag0"]) == 0
    )
    [(nb, label, params)] = jobs[0]
    assert label == "wbl_lag0" and params["lag"] == 0 and params["years"] == [1981, 2019]


@pytest.mark.parametrize(
    "argv,expected",
    [
        (["run", "03", "-p", "lag", "2"], "-p changes parameters: give the run a --label"),
        (["run", "03", "04", "-p", "lag", "2", "--label", "x"], "-p and --label apply to one notebook"),
        (["run", "03", "-p", "years", "[1990,", "--label", "x"], "-p years '[1990,': not a YAML value"),
        (["run", "03", "--label", "x" * 300], "'--label': invalid value 'xxxx"),
        (["run", "99"], "parameter 'notebook': invalid value '99'; valid values: 00_build_panel"),
        (["run", "--params", "nope.yml"], "parameter 'params': invalid value 'nope.yml'"),
        (["example", "nope"], "parameter 'example': invalid value 'nope'; valid values: mpdta, case"),
    ],
    ids=[
        "p-without-label",
        "p-two-notebooks",
        "p-bad-yaml",
        "long-label",
        "no-notebook",
        "no-file",
        "no-example",
    ],
)
def test_cli_mistakes_are_one_line(jobs, capsys, argv, expected):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and expected in err and err.count("\n") == 1
    assert not jobs


def _actions(parser: argparse.ArgumentParser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                yield f"command {choice.dest}", choice.help
            for name, sub in action.choices.items():
                for a in sub._actions:
                    if not isinstance(a, argparse._HelpAction):
                        yield f"{name} {a.dest}", a.help
        elif not isinstance(action, argparse._HelpAction):
            yield action.dest, action.help


def test_every_subcommand_and_option_has_a_help_line():
    seen = dict(_actions(cli._parser()))
    assert {"command run", "command list", "command example", "run param", "run label"} <= set(seen)
    assert all(h and len(h) > 10 for h in seen.values()), [k for k, h in seen.items() if not h]
    text = cli.__doc__
    for name in ("data", "verify", "build", "run", "list", "example", "index", "all", "matrix", "bench"):
        assert re.search(rf"^  {name} +\S", text, re.M), f"{name} missing from the module docstring"


def test_list_shows_every_notebook_parameter_with_its_valid_values_and_the_sets(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    for nb in runner.discover():
        assert f"\n{nb.stem}\n" in out
        for name, info in runner.declared_parameters(nb).items():
            assert info["help"], f"{nb.stem}: parameter {name} has no comment naming its valid values"
            assert f"  {name} = " in out and info["help"][:40] in out
    for pf in [*paths.PARAMS.glob("*.yml"), *paths.PARAMS.glob("examples/*.yml")]:
        assert f"{pf.relative_to(paths.ROOT)}: " in out and "INVALID" not in out


def test_a_comment_inside_a_parenthesised_default_is_the_help():
    nb = runner.resolve_notebook("05_country_case")
    assert runner.declared_parameters(nb)["panel_path"]["help"].startswith('"" means the project panel')


# ---------------------------------------------------------------------------------------------------------------
# example panels and their parameter files
# ---------------------------------------------------------------------------------------------------------------
def test_the_case_example_has_its_known_jump(tmp_path):
    path = examples.write("case", tmp_path)
    df = pd.read_csv(path)
    assert list(df.columns) == ["unit", "period", "y", "event", "treated"] and len(df) == 25 * 21
    assert (
        df.loc[df["unit"] == "U00", "event"].eq(2000).all()
        and df.loc[df["unit"] != "U00", "event"].isna().all()
    )
    # the treated unit's jump, net of the common trend and the donors' average, is the planted 0.5
    wide = df.pivot(index="period", columns="unit", values="y")
    gap = wide["U00"] - wide.drop(columns="U00").mean(axis=1)
    assert abs((gap.loc[2000:].mean() - gap.loc[:1999].mean()) - examples.CASE_EFFECT) < 0.02


@pytest.mark.realdata
def test_the_mpdta_example_is_the_r_data_set(tmp_path):
    if not paths.raw_path(examples.MPDTA_FILE).is_file():
        pytest.skip("did_mpdta not fetched")
    df = pd.read_csv(examples.write("mpdta", tmp_path))
    assert df.shape == (2500, 6) and df["countyreal"].nunique() == 500
    assert sorted(df["first.treat"].unique()) == [0, 2004, 2006, 2007]
    assert not df.duplicated(["countyreal", "year"]).any()


@pytest.mark.parametrize("name", list(examples.EXAMPLES))
def test_each_example_has_a_parameter_file_that_reads_it(name):
    pf = paths.ROOT / cli.EXAMPLE_PARAMS[name]
    nb, label, params = runner.load_param_file(pf)
    runner.check_parameter_names(nb, params)
    assert params["panel_path"] == f"data/processed/examples/{examples.EXAMPLES[name][0]}"
    assert "python -m helpers example " + name in yaml.safe_load(pf.read_text())["description"]


# ---------------------------------------------------------------------------------------------------------------
# the named kernel, and one thread everywhere (deterministic sums)
# ---------------------------------------------------------------------------------------------------------------
def test_make_kernel_registers_the_venvs_python(tmp_path):
    recipe = re.search(r"^kernel:.*\n\t(.+)$", (paths.ROOT / "Makefile").read_text(), re.M)[1]
    assert recipe.startswith("$(PY) -m ipykernel install --user --name treaty-effects")
    cmd = recipe.replace("$(PY)", sys.executable)
    env = dict(os.environ, JUPYTER_DATA_DIR=str(tmp_path))  # not the user's real Jupyter folder
    subprocess.run(cmd, shell=True, check=True, env=env, capture_output=True)
    spec = json.loads((tmp_path / "kernels" / "treaty-effects" / "kernel.json").read_text())
    assert spec["display_name"] == "Python (treaty-effects)"
    assert os.path.realpath(spec["argv"][0]) == os.path.realpath(sys.executable)


def test_one_thread_for_blas_openmp_and_rayon_everywhere():
    assert runner.THREAD_ENV["RAYON_NUM_THREADS"] == "1" and runner.THREAD_ENV["OPENBLAS_NUM_THREADS"] == "1"
    for f in ("Makefile", ".ci/run", "tests/conftest.py", "src/helpers/pipeline/cli.py"):
        text = (paths.ROOT / f).read_text()
        assert "RAYON_NUM_THREADS" in text and "OPENBLAS_NUM_THREADS" in text, f
    code = "import os, helpers.pipeline.cli; print(os.environ['RAYON_NUM_THREADS'])"
    env = {k: v for k, v in os.environ.items() if k != "RAYON_NUM_THREADS"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"


@pytest.mark.slow
def test_pyfixest_results_are_byte_identical_between_runs(tmp_path):
    """Two fresh processes fit the same fixed-effects model and write the same bytes (RAYON_NUM_THREADS=1)."""
    code = (
        "import numpy as np, pandas as pd, pyfixest as pf\n"
        "rng = np.random.default_rng(1); n = 4000\n"
        "df = pd.DataFrame({'g': rng.integers(0, 200, n), 't': rng.integers(0, 40, n), 'x': rng.normal(size=n)})\n"
        "df['y'] = 0.3 * df['x'] + rng.normal(size=n) + df['g'] * 0.01\n"
        "fit = pf.feols('y ~ x | g + t', data=df, vcov={'CRV1': 'g'})\n"
        "print(fit.tidy().to_csv(float_format='%.17g'))\n"
    )
    env = {**os.environ, **runner.THREAD_ENV}
    outs = [
        subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        ).stdout
        for _ in range(2)
    ]
    assert outs[0] == outs[1] and "x," in outs[0]


def test_matrix_command_runs_notebook_08_with_the_engine_settings(jobs, monkeypatch):
    from helpers.core import engine

    for name in (engine.SCHEDULER_ENV, engine.WORKERS_ENV):  # registered, so the test's values are undone
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    rc = cli.main(
        [
            "matrix",
            "--workers",
            "2",
            "--scheduler",
            "tcp://127.0.0.1:8786",
            "-p",
            "n_boot",
            "199",
            "--label",
            "b199",
        ]
    )
    assert rc == 0
    [(nb, label, params)] = jobs[0]
    assert nb.stem == "08_treaty_matrix" and label == "b199" and params == {"n_boot": 199}
    import os

    assert (
        os.environ[engine.WORKERS_ENV] == "2" and os.environ[engine.SCHEDULER_ENV] == "tcp://127.0.0.1:8786"
    )
    assert cli.main(["matrix", "--scheduler", "localhost:8786"]) == 2  # no scheme: a one-line error
