"""Atomic notebook runs (issue 11, items 2, 6 and 7): a run replaces its run folder in one step on success only; a
failed, killed or disk-full run leaves the previous outputs as they were; runs of one label are serialised by a
lock; the run label is one name; parameter files and report folders that cannot work end in one line."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time

import nbformat
import pandas as pd
import pytest

from helpers.core import paths
from helpers.core.errors import HelpersError, ParameterError
from helpers.pipeline import runner
from helpers.report import export

BODY = """\
import errno, os, time
import pandas as pd
from helpers.report import export
out = export.run_dir("10_tiny", run_label)
export.save_results(pd.DataFrame({"x": [x]}), f"r{x}", out)
time.sleep(sleep)
if fail == "raise":
    raise RuntimeError("x must not be 99")
if fail == "enospc":  # the disk fills up: every further write fails with ENOSPC
    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    os.fsync = full
    export.save_table(pd.DataFrame({"x": [x]}), "second", out)
"""


def tiny_notebook(folder):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    p = nbformat.v4.new_code_cell(
        'x = 1  # any int\nfail = ""  # "", "raise" or "enospc"\nsleep = 0  # seconds\nrun_label = "default"'
    )
    p.metadata["tags"] = ["parameters"]
    nb.cells = [p, nbformat.v4.new_code_cell(BODY)]
    path = folder / "10_tiny.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.fixture
def tmp_reports(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "REPORTS", tmp_path / "reports")
    return tmp_path / "reports"


def snapshot(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def leftovers(reports):
    """Hidden staging folders, lock files and temporary notebooks anywhere under the reports folder."""
    return sorted(str(p.relative_to(reports)) for p in reports.rglob(".*"))


# ---------------------------------------------------------------------------------------------------------------
# item 2: atomic runs
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_failed_run_leaves_the_previous_run_folder_and_copy_untouched(tmp_path, tmp_reports):
    nb = tiny_notebook(tmp_path)
    good = runner.run_notebook(nb, {"x": 3}, "lbl")
    assert good.ok, good.error
    run_folder = tmp_reports / "10_tiny" / "lbl"
    before, copy_before = snapshot(run_folder), good.output.read_bytes()
    assert "results/r3.csv" in before and "." not in "".join(k[0] for k in before)
    assert json.loads(copy_before)["metadata"]["papermill"]["parameters"]["run_label"] == "lbl"

    bad = runner.run_notebook(nb, {"x": 4, "fail": "raise"}, "lbl")
    assert not bad.ok and "x must not be 99" in bad.error
    assert bad.output.name == "10_tiny--lbl.failed.ipynb" and bad.output.is_file()
    assert snapshot(run_folder) == before  # no r4.csv beside the old results
    assert good.output.read_bytes() == copy_before
    assert leftovers(tmp_reports) == []  # no staging folder, no lock, no .running copy

    again = runner.run_notebook(nb, {"x": 5}, "lbl")
    assert again.ok and sorted(snapshot(run_folder)) == ["results/r5.csv"]  # replaced whole: r3.csv is gone
    assert not bad.output.exists() and leftovers(tmp_reports) == []


@pytest.mark.slow
def test_a_killed_run_leaves_the_previous_outputs_and_no_stale_lock(tmp_path, tmp_reports):
    nb = tiny_notebook(tmp_path)
    assert runner.run_notebook(nb, {"x": 3}, "k").ok
    run_folder = tmp_reports / "10_tiny" / "k"
    before = snapshot(run_folder)
    code = (
        "import sys; from helpers.pipeline import runner; "
        "runner.run_notebook(sys.argv[1], {'x': 7, 'sleep': 120}, 'k')"
    )
    env = dict(os.environ, TREATY_EFFECTS_REPORTS=str(tmp_reports))
    proc = subprocess.Popen([sys.executable, "-c", code, str(nb)], env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not list((tmp_reports / "10_tiny").glob(".k.staging-*/results/r7.csv")):
            assert time.monotonic() < deadline and proc.poll() is None, "the run never started writing"
            time.sleep(0.5)
        with pytest.raises(runner.RunLocked, match=rf"10_tiny \[k\]: another run .* \(pid {proc.pid} on"):
            runner.run_notebook(nb, {"x": 8}, "k")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the runner and the kernel it started (same session)
        proc.wait(30)
    assert snapshot(run_folder) == before
    # the kernel dropped the lock with the process; the next run takes it and clears the dead run's staging folder
    nxt = runner.run_notebook(nb, {"x": 9}, "k")
    assert nxt.ok, nxt.error
    assert sorted(snapshot(run_folder)) == ["results/r9.csv"] and leftovers(tmp_reports) == []


def test_runs_of_one_label_are_refused_while_one_holds_the_lock(tmp_path, tmp_reports):
    nb = tiny_notebook(tmp_path)
    folder = tmp_reports / "10_tiny"
    folder.mkdir(parents=True)
    with runner.run_lock(folder, "busy"):
        with pytest.raises(runner.RunLocked, match=rf"another run .*pid {os.getpid()}.*another label"):
            runner.run_notebook(nb, {"x": 2}, "busy")
        with runner.run_lock(folder, "other"):  # another label is free
            pass
    with runner.run_lock(folder, "busy"):  # released on exit
        pass
    assert leftovers(tmp_reports) == []


@pytest.mark.parametrize("use_exchange", [True, False], ids=["renameat2", "two-renames"])
def test_publish_replaces_the_folder_whole(tmp_path, monkeypatch, use_exchange):
    if not use_exchange:
        monkeypatch.setattr(runner, "_exchange", lambda a, b: False)
    target, staging = tmp_path / "lbl", tmp_path / ".lbl.staging-1"
    (target / "tables").mkdir(parents=True)
    (target / "tables" / "old.csv").write_text("old")
    (staging / "tables").mkdir(parents=True)
    (staging / "tables" / "new.csv").write_text("new")
    runner.publish(staging, target)
    assert snapshot(target) == {"tables/new.csv": b"new"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lbl"]
    fresh = tmp_path / ".fresh.staging-1"
    (fresh / "results").mkdir(parents=True)
    runner.publish(fresh, tmp_path / "fresh")  # no previous run folder
    assert (tmp_path / "fresh" / "results").is_dir() and not fresh.exists()


def test_run_dir_writes_into_the_staging_folder_the_runner_names(tmp_reports, monkeypatch):
    staging = tmp_reports / "03_x" / ".lbl.staging-1"
    monkeypatch.setenv(paths.STAGING_ENV, str(staging))
    monkeypatch.setenv(paths.STAGING_FOR_ENV, "03_x/lbl")
    assert export.run_dir("03_x", "lbl") == staging and (staging / "figures").is_dir()
    assert export.run_dir("03_x", "other") == tmp_reports / "03_x" / "other"  # another run: its own folder


def test_the_run_label_is_the_label(tmp_path, tmp_reports):
    nb = tiny_notebook(tmp_path)
    with pytest.raises(ParameterError, match=r"'run_label'.*set from the run's label \('lbl'\)"):
        runner.run_notebook(nb, {"run_label": "other"}, "lbl")
    pf = tmp_path / "p.yml"
    pf.write_text(f"notebook: {nb}\nlabel: lbl\nparameters:\n  run_label: other\n")
    with pytest.raises(HelpersError, match=r"p.yml: 'run_label' is set from the file's label \('lbl'\)"):
        runner.load_param_file(pf)


# ---------------------------------------------------------------------------------------------------------------
# item 7: parameter files, labels and report folders that cannot work: one line each
# ---------------------------------------------------------------------------------------------------------------
BAD_FILES = {
    "list.yml": (
        "- notebook: 03\n- label: x\n",
        "is a YAML mapping with the keys notebook, label and parameters",
    ),
    "string.yml": ("just some words\n", "found a str ('just some words')"),
    "empty.yml": ("", "found an empty file"),
    "params_list.yml": (
        "notebook: 03\nlabel: x\nparameters:\n  - lag\n  - 2\n",
        "'parameters' must be a mapping",
    ),
    "extra.yml": ("notebook: 03\nlabel: x\nparams: {lag: 2}\n", "found keys ['label', 'notebook', 'params']"),
    "bad_yaml.yml": ("notebook: [03\n", "not valid YAML"),
    "long_label.yml": ("notebook: 03\nlabel: " + "x" * 300 + "\n", "at most 80 characters"),
    "slash_label.yml": ("notebook: 03\nlabel: ../other\n", "starting with a letter or digit"),
    "no_notebook.yml": ("notebook: 99_nothing\nlabel: x\n", "valid values: 00_build_panel"),
}


@pytest.mark.parametrize("name", BAD_FILES)
def test_a_bad_parameter_file_is_one_line_naming_it(tmp_path, name):
    text, expected = BAD_FILES[name]
    pf = tmp_path / name
    pf.write_text(text)
    with pytest.raises(HelpersError) as e:
        runner.load_param_file(pf)
    msg = str(e.value)
    assert expected in msg and "\n" not in msg and (name in msg or name == "no_notebook.yml")


def test_a_300_character_label_is_refused_before_anything_is_written(tmp_path, tmp_reports):
    nb = tiny_notebook(tmp_path)
    with pytest.raises(ParameterError, match=r"'label'.*\(300 characters\).*at most 80 characters"):
        runner.run_notebook(nb, {"x": 1}, "x" * 300)
    assert not tmp_reports.exists()


def test_a_reports_folder_under_a_file_is_one_line(tmp_path, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    monkeypatch.setattr(paths, "REPORTS", blocker / "reports")
    nb = tiny_notebook(tmp_path)
    with pytest.raises(
        HelpersError, match=r"cannot create the reports folder .*a_file/reports.*TREATY_EFFECTS_REPORTS"
    ):
        runner.run_notebook(nb, {"x": 1}, "lbl")
    with pytest.raises(export.ExportError, match=r"cannot create the output folder .*a_file/reports"):
        export.run_dir("03_x", "lbl")


def test_a_full_disk_names_the_file_and_leaves_no_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "tables"
    export.save_table(pd.DataFrame({"a": [1]}), "t", tmp_path)
    before = snapshot(target)

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(export.os, "fsync", full)
    with pytest.raises(export.ExportError) as e:
        export.save_table(pd.DataFrame({"a": [2]}), "t", tmp_path)
    assert str(e.value).startswith(
        f"cannot write {target / 't.html'}: No space left on device (the disk is full"
    )
    assert snapshot(target) == before  # no temporary file left, the old table kept


@pytest.mark.slow
def test_a_full_disk_during_a_run_keeps_the_previous_run(tmp_path, tmp_reports):
    nb = tiny_notebook(tmp_path)
    assert runner.run_notebook(nb, {"x": 3}, "lbl").ok
    before = snapshot(tmp_reports / "10_tiny" / "lbl")
    res = runner.run_notebook(nb, {"x": 4, "fail": "enospc"}, "lbl")
    assert not res.ok
    assert "ExportError: cannot write" in res.error and "second.html: No space left on device" in res.error
    assert snapshot(tmp_reports / "10_tiny" / "lbl") == before and leftovers(tmp_reports) == []


# ---------------------------------------------------------------------------------------------------------------
# item 6: reports outside the project
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_reports_outside_the_project_get_a_run_log(tmp_path, tmp_reports):
    assert not str(tmp_reports.resolve()).startswith(str(paths.ROOT.resolve()))
    nb = tiny_notebook(tmp_path)
    pf = tmp_path / "tiny.yml"
    pf.write_text(f"notebook: {nb}\nlabel: outside\nparameters: {{x: 2}}\n")
    results = runner.run(param_files=[str(pf)], echo=lambda *a, **k: None)
    assert [r.ok for r in results] == [True]
    log = pd.read_csv(tmp_reports / "run_log.csv")
    assert log["output"].tolist() == [str((tmp_reports / "notebooks" / "10_tiny--outside.ipynb").resolve())]


@pytest.mark.slow
def test_parallel_runs_through_the_engine_keep_atomic_folders_and_the_log(tmp_path, tmp_reports, monkeypatch):
    """`run --workers 2`: two labels of one notebook run in two Dask worker processes; both run folders are
    published whole, in the jobs' order, and run_log.csv lists both."""
    monkeypatch.setenv("TREATY_EFFECTS_REPORTS", str(tmp_reports))  # read by the worker processes
    nb = tiny_notebook(tmp_path)
    jobs = [(nb, "a", {"x": 1, "sleep": 2}), (nb, "b", {"x": 2})]
    results = runner.run(jobs=jobs, workers=2, echo=lambda *a, **k: None)
    assert [r.ok for r in results] == [True, True], [r.error for r in results]
    assert [r.label for r in results] == ["a", "b"]
    assert sorted(snapshot(tmp_reports / "10_tiny" / "a")) == ["results/r1.csv"]
    assert sorted(snapshot(tmp_reports / "10_tiny" / "b")) == ["results/r2.csv"]
    assert leftovers(tmp_reports) == []
    log = pd.read_csv(tmp_reports / "run_log.csv")
    assert list(log["label"]) == ["a", "b"] and log["ok"].all()


def test_engine_inside_parallel_notebooks_runs_serially_unless_the_user_chose(monkeypatch):
    """With notebooks in parallel, each kernel's engine is serial (no LocalCluster per notebook on cores the other
    notebooks use); a scheduler address or an explicit worker count is kept; one notebook at a time changes nothing."""
    monkeypatch.delenv("TREATY_EFFECTS_SCHEDULER", raising=False)
    monkeypatch.delenv("TREATY_EFFECTS_WORKERS", raising=False)
    assert runner._nested_engine_env(2) == {"TREATY_EFFECTS_WORKERS": "1"}
    assert runner._nested_engine_env(1) == {}
    monkeypatch.setenv("TREATY_EFFECTS_WORKERS", "2")
    assert runner._nested_engine_env(2) == {}
    monkeypatch.delenv("TREATY_EFFECTS_WORKERS")
    monkeypatch.setenv("TREATY_EFFECTS_SCHEDULER", "tcp://127.0.0.1:8786")
    assert runner._nested_engine_env(2) == {}


# ---------------------------------------------------------------------------------------------------------------
# the order of parallel runs
# ---------------------------------------------------------------------------------------------------------------
def test_parallel_runs_start_longest_first_and_untimed_runs_before_all(tmp_path):
    nb = tmp_path / "10_tiny.ipynb"
    jobs = [(nb, "a", {}), (nb, "b", {}), (nb, "c", {}), (nb, "d", {})]
    durations = {"10_tiny--a": 5.0, "10_tiny--b": 30.0, "10_tiny--d": 12.5}
    assert runner.longest_first(jobs, durations) == [2, 1, 3, 0]  # c never timed, then 30 s, 12.5 s, 5 s
    assert runner.longest_first(jobs, {}) == [0, 1, 2, 3]  # nothing known: plan order


def test_run_times_are_kept_across_runs_and_a_damaged_file_is_only_a_lost_hint(tmp_reports):
    ok = runner.RunResult("10_tiny", "a", tmp_reports / "x.ipynb", 3.14, True)
    failed = runner.RunResult("10_tiny", "b", tmp_reports / "y.ipynb", 1.0, False, "boom")
    runner._save_durations([ok, failed])
    assert runner._load_durations() == {"10_tiny--a": 3.1}  # a failed run's time says nothing
    runner._save_durations([runner.RunResult("02_other", "default", tmp_reports / "z.ipynb", 9.0, True)])
    assert runner._load_durations() == {"10_tiny--a": 3.1, "02_other--default": 9.0}
    (tmp_reports / runner.DURATIONS_FILE).write_text("{not json")
    assert runner._load_durations() == {}
    runner._save_durations([ok])
    assert runner._load_durations() == {"10_tiny--a": 3.1}
    assert sorted(p.name for p in tmp_reports.iterdir()) == [runner.DURATIONS_FILE]  # no temporary files


# ---------------------------------------------------------------------------------------------------------------
# a kernel the runner started exits without Python's finalisation
# ---------------------------------------------------------------------------------------------------------------
QUICK_EXIT_BODY = """\
import os, pathlib
from helpers.pipeline import notebook as nbk
marker = pathlib.Path(os.environ["QUICK_EXIT_MARKER"])
if quick:
    marker.with_suffix(".registered").write_text(str(nbk.quick_exit_under_runner()))
class Finaliser:
    def __del__(self):  # runs when the kernel tears its namespace down at exit
        marker.write_text("finalised")
keep = Finaliser()
"""


@pytest.mark.slow
@pytest.mark.parametrize("quick", [True, False])
def test_a_kernel_of_the_runner_exits_without_finalising(tmp_path, tmp_reports, monkeypatch, quick):
    """With the quick exit the kernel ends before tearing its namespace down (the finaliser never runs); without it
    (the control) the same notebook's finaliser runs, so the test can fail."""
    marker = tmp_path / "finalised.txt"
    monkeypatch.setenv("QUICK_EXIT_MARKER", str(marker))
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    p = nbformat.v4.new_code_cell(f"quick = {quick}\nrun_label = 'default'")
    p.metadata["tags"] = ["parameters"]
    nb.cells = [p, nbformat.v4.new_code_cell(QUICK_EXIT_BODY)]
    path = tmp_path / "12_exit.ipynb"
    nbformat.write(nb, path)
    (res,) = runner.run(jobs=[(path, "lbl", {})], workers=1, echo=lambda *_: None)
    assert res.ok, res.error
    if quick:
        assert marker.with_suffix(".registered").read_text() == "True"
        assert not marker.exists()
    else:
        assert marker.read_text() == "finalised"


def test_the_quick_exit_is_only_for_kernels_of_the_runner(monkeypatch, tmp_path):
    """This process (pytest, not a kernel) never registers it, even with a staging folder in its environment: its
    exit status must stay its own."""
    from helpers.pipeline import notebook as nbk

    monkeypatch.setenv(paths.STAGING_ENV, str(tmp_path))
    assert nbk.quick_exit_under_runner() is False
