"""The engine benchmark's side-by-side plumbing: the baseline commit's own code, each measurement in a fresh process.

The measurements themselves take minutes (``python -m helpers bench``); these tests check that a measurement runs
the code of the checkout it is given, that a baseline is the commit's tracked files, and that failures name what
failed.
"""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest

from helpers.core import paths
from helpers.core.errors import HelpersError
from helpers.pipeline import bench_engine


def _fake_project(root: Path, body: str) -> Path:
    """A project whose ``helpers.pipeline.bench_engine`` is ``body`` (plus the peak-memory probe)."""
    pkg = root / "src" / "helpers" / "pipeline"
    pkg.mkdir(parents=True)
    for d in (root / "src" / "helpers", pkg):
        (d / "__init__.py").write_text("")
    (pkg / "bench_engine.py").write_text(textwrap.dedent(body) + "\n\ndef _peak_mb():\n    return 1.0\n")
    (root / "pyproject.toml").write_text("")
    return root


def test_measure_runs_the_code_of_the_checkout_it_is_given(tmp_path):
    root = _fake_project(
        tmp_path / "old",
        """
        import os
        def where(x):
            return {"file": __file__, "x": x, "root": os.environ["TREATY_EFFECTS_ROOT"]}
        """,
    )
    got = bench_engine._measure(root, "where", x=[1, 2])
    assert Path(got["result"]["file"]).resolve().is_relative_to(root.resolve())
    assert got["result"]["x"] == [1, 2] and Path(got["result"]["root"]) == root
    assert got["peak_mb"] == 1.0


def test_measure_of_this_checkout_runs_this_code():
    got = bench_engine._measure(None, "_load")  # a cheap function of this module, in a fresh process
    assert got["result"].startswith("load average")
    assert got["peak_mb"] > 0


def test_a_failed_measurement_names_the_function_and_the_error(tmp_path):
    root = _fake_project(tmp_path / "old", 'def broken():\n    raise RuntimeError("the runner failed: 08")')
    with pytest.raises(
        HelpersError, match=r"benchmark broken of the baseline .*RuntimeError: the runner failed: 08"
    ):
        bench_engine._measure(root, "broken")


def _in_git_history() -> bool:
    return (
        subprocess.run(["git", "-C", str(paths.ROOT), "rev-parse", "HEAD"], capture_output=True).returncode
        == 0
    )


@pytest.mark.skipif(not _in_git_history(), reason="the project is not a git clone (no history to archive)")
def test_archive_writes_the_commits_tracked_files(tmp_path):
    bench_engine.archive("HEAD", tmp_path / "base")
    assert (tmp_path / "base" / "src" / "helpers" / "pipeline" / "bench_engine.py").is_file()
    assert (tmp_path / "base" / "pyproject.toml").is_file()
    # data are never tracked: the baseline fetches and builds its own
    assert not (tmp_path / "base" / "data" / "processed" / "panel.parquet").exists()


@pytest.mark.skipif(not _in_git_history(), reason="the project is not a git clone (no history to archive)")
def test_an_unknown_baseline_is_named_with_the_way_out(tmp_path):
    with pytest.raises(HelpersError, match=r"--against no-such-commit-0: no such commit.*--against none"):
        bench_engine.archive("no-such-commit-0", tmp_path / "base")
    assert not (tmp_path / "base").exists()


def test_a_baseline_run_that_failed_is_no_comparison(tmp_path):
    """A baseline whose benchmark does not check its runs (d5a8bce's does not): its failed copy is found, and the
    figure gets no ratio, as a failed run does less work."""
    root = _fake_project(
        tmp_path / "old",
        """
        import os, pathlib
        def bench_notebook():
            copies = pathlib.Path(os.environ["TREATY_EFFECTS_REPORTS"]) / "notebooks"
            copies.mkdir(parents=True, exist_ok=True)
            (copies / "01_ratification_atlas--bench.failed.ipynb").write_text("{}")
            return {"seconds": 3.0}
        """,
    )
    was = bench_engine._measure(root, "bench_notebook")
    assert was["failed"] == ["01_ratification_atlas--bench.failed.ipynb"]
    side = bench_engine._side(12.0, was, "d5a8bce")
    assert "no comparison" in side and "ratio" not in side
    ok = {"result": [{"runs_ok": "10/10", "seconds": 30.0}], "failed": []}
    assert bench_engine._side(15.0, ok, "d5a8bce") == " | d5a8bce: 30.0 s, ratio 0.50"
    short = {"result": [{"runs_ok": "9/10", "seconds": 30.0}], "failed": []}
    assert "1 of 10 runs" in bench_engine._side(15.0, short, "d5a8bce")


def test_the_baseline_finds_this_projects_npm_assets(tmp_path, monkeypatch):
    """A copy of the tracked files has no npm assets: without them its maps fail (d5a8bce's notebook 01 did)."""
    from helpers.report import export

    monkeypatch.delenv("TREATY_EFFECTS_NPM_DIR", raising=False)
    npm = export.npm_dir()
    if npm is None:
        pytest.skip("the npm assets are not installed here (tools/install_system_deps.sh)")
    root = _fake_project(
        tmp_path / "old",
        """
        import os
        def npm():
            return os.environ.get("TREATY_EFFECTS_NPM_DIR")
        """,
    )
    assert bench_engine._measure(root, "npm")["result"] == str(npm)
