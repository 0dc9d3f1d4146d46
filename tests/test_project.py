"""Project hygiene and the notebook runner: env file in sync, notebooks stored clean, parameter names checked,
failed runs lose nothing."""

import json
import re
import subprocess
import tomllib

import nbformat
import pytest
import yaml

from helpers.core import paths
from helpers.core.errors import ParameterError
from helpers.pipeline import runner


def test_environment_yml_in_sync_with_pyproject():
    env = yaml.safe_load((paths.ROOT / "environment.yml").read_text())
    proj = tomllib.loads((paths.ROOT / "pyproject.toml").read_text())["project"]
    deps = env["dependencies"]
    py = [d for d in deps if isinstance(d, str) and d.startswith("python=")]
    assert py == ["python=3.11"] and proj["requires-python"] == ">=3.11,<3.12"
    pip = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    assert pip == ["-e .[dev]"], "environment.yml must install the project itself (pins live in pyproject)"
    # no conda package may shadow a pinned Python dependency with another version
    pinned = {
        re.split(r"[=<>]", d)[0].lower() for d in proj["dependencies"] + proj["optional-dependencies"]["dev"]
    }
    conda_names = {re.split(r"[=<>]", d)[0].lower() for d in deps if isinstance(d, str)}
    assert not (conda_names & pinned), conda_names & pinned
    for d in proj["dependencies"] + proj["optional-dependencies"]["dev"]:
        assert re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[0-9][0-9A-Za-z.]*", d), f"not an exact pin: {d}"


def test_notebooks_are_stored_clean_and_use_python3_kernel():
    nbs = runner.discover()
    assert nbs, "no notebooks found"
    for nb_path in nbs:
        nb = nbformat.read(nb_path, as_version=4)
        assert nb.metadata.get("kernelspec", {}).get("name") == "python3", nb_path
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, (
                    f"{nb_path.name} stored with outputs"
                )
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, f"{nb_path.name}: exactly one cell tagged 'parameters'"
        assert "run_label" in runner.declared_parameters(nb_path), nb_path.name


def test_no_raw_or_generated_data_tracked():
    out = subprocess.run(
        ["git", "ls-files", "data/raw", "data/processed", "reports"],
        cwd=paths.ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert all(p.endswith((".gitkeep", "README.md")) for p in out), out


def _tiny_notebook(path, body="y = x * 2\nassert x != 99, 'x must not be 99'"):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    p = nbformat.v4.new_code_cell("x = 1  # any int except 99\nrun_label = 'default'")
    p.metadata["tags"] = ["parameters"]
    nb.cells = [p, nbformat.v4.new_code_cell(body)]
    nbformat.write(nb, path)
    return path


@pytest.fixture
def tmp_reports(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "REPORTS", tmp_path / "reports")
    return tmp_path / "reports"


def test_runner_rejects_unknown_parameter_name(tmp_path, tmp_reports):
    nb = _tiny_notebook(tmp_path / "10_tiny.ipynb")
    with pytest.raises(ParameterError) as e:
        runner.run_notebook(nb, {"xx": 3}, "typo")
    assert "'xx'" in str(e.value) and "run_label" in str(e.value) and "x" in str(e.value)
    assert not (tmp_reports / "notebooks").exists() or not list((tmp_reports / "notebooks").iterdir())


@pytest.mark.slow
def test_runner_writes_named_copy_and_failed_run_keeps_good_copy(tmp_path, tmp_reports):
    nb = _tiny_notebook(tmp_path / "10_tiny.ipynb")
    before = nb.read_bytes()
    ok = runner.run_notebook(nb, {"x": 3}, "three")
    assert ok.ok and ok.output == tmp_reports / "notebooks" / "10_tiny--three.ipynb"
    executed = json.loads(ok.output.read_text())
    assert executed["metadata"]["papermill"]["parameters"] == {"x": 3, "run_label": "three"}
    bad = runner.run_notebook(nb, {"x": 99}, "three")
    assert not bad.ok and "x must not be 99" in bad.error
    assert bad.output.name == "10_tiny--three.failed.ipynb" and bad.output.exists()
    # the earlier good copy is intact, and the source notebook was never modified
    assert json.loads(ok.output.read_text())["metadata"]["papermill"]["parameters"]["x"] == 3
    assert nb.read_bytes() == before


def test_param_files_are_valid_and_name_declared_parameters():
    for pf in sorted(paths.PARAMS.glob("*.yml")):
        nb, label, params = runner.load_param_file(pf)
        runner.check_parameter_names(nb, params)
        assert runner.LABEL_RE.fullmatch(label)
