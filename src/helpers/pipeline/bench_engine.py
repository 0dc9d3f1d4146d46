"""Benchmark of the Dask engine and of the main job (issue 12, item 5): a measurement, not a timed test.

Measured side by side in one run (``python -m helpers bench``, after the specification-curve benchmark):

* the treaty matrix (every instrument x mapped outcome, four estimators, diagnostics) on the project panel: cells
  per second with 1 worker (Dask's synchronous scheduler) and with 2 worker processes (LocalCluster, start
  included);
* the main job (every notebook and parameter set, ``helpers.pipeline.runner.run``) with 1 and 2 workers, into a
  temporary reports folder (``--main-job``; it takes minutes);
* one notebook rerun split into kernel start, imports (the ``start`` cell), compute, static figure export in the
  kernel (the same notebook with ``TREATY_EFFECTS_STATIC=0`` gives that cost: preparing and queueing the figures
  for the runner's render service, which renders them while the notebook goes on) and the wait, after the last
  cell, for the service's last figures;
* the peak resident memory of this process and its children.

Each figure is printed next to the same figure of a baseline commit (:data:`BASELINE`, the last commit before the
speed work; ``--against REF`` for another), measured side by side in the same run: the baseline's own code in a
temporary copy of the project at that commit (:func:`baseline_checkout`: its tracked files, its raw data copied from
this project's verified ``data/raw`` by its own data step, its processed data built by its own build notebook), in
the same environment. Each measurement of either side runs in a fresh process (:func:`_measure`), the two sides one
after the other, so that both see the same machine; the ratio is this checkout's figure over the baseline's. Other
processes on the machine inflate every number: the load average is printed with them.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from helpers.core.errors import HelpersError

#: the commit measured side by side by default: the last one before the speed work of issue 12 (the matrix, the
#: notebook collection and the runner as the issue found them)
BASELINE = "d5a8bce"
TARGETS = {"matrix_s": 60.0, "main_job_s": 90.0, "notebook_rerun_s": 10.0, "peak_mb": 2048.0}
_MARK = "@@bench-result@@ "  # prefixes the one line of a measurement process's JSON result


def _load() -> str:
    try:
        a, b, c = os.getloadavg()
        return f"load average {a:.2f} {b:.2f} {c:.2f}"
    except OSError:  # pragma: no cover
        return "load average unknown"


def bench_matrix(workers: tuple[int, ...] = (1, 2), n_cells: int | None = None) -> list[dict]:
    """Wall time and cells per second of the matrix on the project panel for each worker count."""
    import pandas as pd

    from helpers.core import paths
    from helpers.estimate import matrix

    panel = pd.read_parquet(Path(paths.PROCESSED) / "panel.parquet")
    pairs, _ = matrix.cells(panel)
    pairs = pairs[:n_cells] if n_cells else pairs
    rows = []
    for w in workers:
        t0 = time.perf_counter()
        matrix.run_matrix(panel, pairs=pairs, workers=w, progress=False)
        dt = time.perf_counter() - t0
        rows.append(
            {"what": f"matrix, {w} worker(s)", "cells": len(pairs), "seconds": dt, "per_s": len(pairs) / dt}
        )
    return rows


def bench_main_job(workers: tuple[int, ...] = (1, 2)) -> list[dict]:
    """Wall time of every notebook and parameter set (the runner part of the main job) per worker count."""
    from helpers.core import paths
    from helpers.pipeline import runner

    durations = Path(paths.REPORTS) / runner.DURATIONS_FILE
    rows = []
    for w in workers:
        with _temporary_reports() as tmp:
            if durations.is_file():  # the order a rerun of the main job uses: longest first, by the last run
                shutil.copy(durations, tmp / runner.DURATIONS_FILE)
            jobs = [j for j in runner.plan(None, None) if j[0].stem != runner.BUILD_NOTEBOOK]
            t0 = time.perf_counter()
            res = runner.run(jobs=jobs, workers=w, echo=lambda *a, **k: None)
            dt = time.perf_counter() - t0
        ok = sum(r.ok for r in res)
        rows.append(
            {
                "what": f"main job, {w} worker(s)",
                "runs_ok": f"{ok}/{len(res)}",
                "seconds": dt,
                "order": "longest first (last run's times)"
                if durations.is_file()
                else "plan order (no times yet)",
            }
        )
    return rows


@contextlib.contextmanager
def _temporary_reports():
    """Runs write into a temporary reports folder (the project's reports/ and its run log stay as they are)."""
    from helpers.core import paths
    from helpers.core.environ import environment

    with (
        tempfile.TemporaryDirectory(prefix="bench-reports-") as tmp,
        environment({"TREATY_EFFECTS_REPORTS": tmp}),
    ):
        old_path, paths.REPORTS = paths.REPORTS, Path(tmp)
        try:
            yield Path(tmp)
        finally:
            paths.REPORTS = old_path


def bench_notebook(notebook: str = "01_ratification_atlas") -> dict:
    """One notebook rerun as ``python -m helpers run <notebook>`` does it (the runner, with its render service),
    into a temporary reports folder: total, kernel start (total minus the cells and the figure wait), imports (the
    start cell), compute, static export in the kernel (the rerun with static formats minus the rerun with HTML only)
    and the runner's wait for the render service's last figures."""
    import nbformat

    from helpers.core.environ import environment
    from helpers.pipeline import runner

    out = {}
    for static in ("1", "0"):
        # as `python -m helpers run 01` does it: the runner with its render service, here in a temporary reports folder
        with environment({"TREATY_EFFECTS_STATIC": static}), _temporary_reports():
            t0 = time.perf_counter()
            (res,) = runner.run(
                jobs=[(runner.resolve_notebook(notebook), "bench", {})], workers=1, echo=lambda *a, **k: None
            )
            total = time.perf_counter() - t0
            if not res.ok:  # a failed run is no measurement
                raise RuntimeError(f"benchmark run of {notebook} failed: {res.error} (see {res.output})")
            nb = nbformat.read(res.output, 4)
        durs = [
            c.metadata.get("papermill", {}).get("duration") or 0.0 for c in nb.cells if c.cell_type == "code"
        ]
        out[static] = {
            "total": total,
            "cells": sum(durs),
            "start_cell": durs[2] if len(durs) > 2 else 0.0,
            "wait": res.figure_wait,
        }
    on, off = out["1"], out["0"]
    return {
        "what": f"notebook rerun ({notebook})",
        "seconds": on["total"],
        "kernel_start_and_papermill": on["total"] - on["cells"] - on["wait"],
        "imports_and_start": on["start_cell"],
        "compute": off["cells"] - off["start_cell"],
        "static_export": max(on["cells"] - off["cells"], 0.0),
        "figure_wait": on["wait"],
    }


def _peak_mb() -> float:
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(self_kb, kids_kb) / 1024


@contextlib.contextmanager
def baseline_checkout(ref: str) -> Iterator[Path]:
    """A temporary copy of the project at commit ``ref``, ready to benchmark, removed afterwards: its tracked files
    (``git archive``), its raw data (its own data step, copying this project's verified ``data/raw``) and its
    processed data (its own build notebook). Raises HelpersError naming the ref or the step that failed."""
    from helpers.core import paths

    with tempfile.TemporaryDirectory(prefix="bench-baseline-") as tmp:
        root = Path(tmp) / "project"
        archive(ref, root)
        for what, args in (
            ("data step", ["data", "--mirror", str(paths.RAW), "--offline"]),
            ("build notebook", ["run", "00_build_panel"]),
        ):
            proc = _python(root, ["-m", "helpers", *args])
            if proc.returncode:
                raise HelpersError(f"baseline {ref}: its {what} failed: {_last_line(proc)}")
        yield root


def archive(ref: str, dest: Path) -> None:
    """The files git tracks at commit ``ref`` of this project, written into ``dest``."""
    from helpers.core import paths

    proc = subprocess.run(
        ["git", "-C", str(paths.ROOT), "archive", "--format=tar", f"{ref}^{{commit}}"], capture_output=True
    )
    if proc.returncode:
        err = proc.stderr.decode(errors="replace").strip().splitlines()
        raise HelpersError(
            f"bench --against {ref}: no such commit in this clone's history ({err[-1] if err else 'git failed'}); "
            "give a commit of `git log`, or --against none"
        )
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as tar:
        tar.extractall(dest, filter="data")


def _python(root: Path, args: list[str], baseline: bool = True) -> subprocess.CompletedProcess:
    """This environment's Python running the package of the project at ``root`` (its ``src`` first on the path). A
    baseline also gets its reports inside it and this project's npm assets (the offline topojson and MathJax that
    static maps need; set-up files, not data: a copy of the tracked files has none); this project keeps its own
    settings (the main job reads the last run's times in its reports folder)."""
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    if baseline:
        from helpers.report import export

        env.update(TREATY_EFFECTS_ROOT=str(root), TREATY_EFFECTS_REPORTS=str(root / "reports"))
        npm = export.npm_dir()
        if npm is not None and not os.environ.get("TREATY_EFFECTS_NPM_DIR"):
            env["TREATY_EFFECTS_NPM_DIR"] = str(npm)
    return subprocess.run([sys.executable, *args], cwd=root, env=env, capture_output=True, text=True)


def _last_line(proc: subprocess.CompletedProcess) -> str:
    lines = [x for x in (proc.stderr + proc.stdout).strip().splitlines() if x.strip()]
    return lines[-1] if lines else f"exit {proc.returncode}"


def _measure(root: Path | None, name: str, **kwargs) -> dict:
    """``bench_engine.<name>(**kwargs)`` of the project at ``root`` (None: this one) in a fresh process:
    ``{"result": ..., "peak_mb": that process's peak resident memory, "failed": failed copies of a baseline's
    runs}`` (a baseline's benchmark may not check its runs: we look)."""
    from helpers.core import paths

    code = (
        "import json, sys\n"
        "from helpers.pipeline import bench_engine as b\n"
        "r = getattr(b, sys.argv[1])(**json.loads(sys.argv[2]))\n"
        f"print({_MARK!r} + json.dumps({{'result': r, 'peak_mb': b._peak_mb()}}))\n"
    )
    copies = Path(root) / "reports" / "notebooks" if root is not None else None
    for f in copies.glob("*.failed.ipynb") if copies else ():
        f.unlink()
    proc = _python(
        Path(root or paths.ROOT), ["-c", code, name, json.dumps(kwargs)], baseline=root is not None
    )
    found = [x[len(_MARK) :] for x in proc.stdout.splitlines() if x.startswith(_MARK)]
    if proc.returncode or not found:
        where = "this checkout" if root is None else f"the baseline at {root}"
        raise HelpersError(f"benchmark {name} of {where} failed: {_last_line(proc)}")
    out = json.loads(found[-1])
    out["failed"] = sorted(f.name for f in copies.glob("*.failed.ipynb")) if copies else []
    return out


def _first(measured: dict) -> dict:
    """The one row of a measurement (a notebook rerun is a dict, the matrix and the main job a one-row list)."""
    res = measured["result"]
    return res[0] if isinstance(res, list) else res


def _failed_runs(measured: dict) -> str:
    """What failed in a measurement (its runs' failed copies, or a main job's count), "" when nothing did."""
    if measured["failed"]:
        return ", ".join(measured["failed"])
    ok, n = _first(measured).get("runs_ok", "1/1").split("/")
    return f"{int(n) - int(ok)} of {n} runs" if ok != n else ""


def _side(now: float, was: dict | None, ref: str | None) -> str:
    """The baseline's figure and the ratio, or why there is no ratio: a failed run does less work, so its time is
    no comparison."""
    if was is None:
        return ""
    seconds, failed = _first(was)["seconds"], _failed_runs(was)
    if failed:
        return f" | {ref}: {seconds:.1f} s, but failed ({failed}): no comparison"
    return f" | {ref}: {seconds:.1f} s, ratio {now / seconds:.2f}"


def main(main_job: bool = False, n_cells: int | None = None, against: str | None = BASELINE) -> int:
    """Print the engine benchmark, side by side with commit ``against`` (None: this checkout alone); 0 when the
    targets that were measured are met."""
    with contextlib.suppress(AttributeError, ValueError):  # each line as it is measured, also into a file
        sys.stdout.reconfigure(line_buffering=True)
    print(f"\nengine benchmark ({_load()}; numbers are inflated when other processes run)")
    with contextlib.ExitStack() as stack:
        base = None
        if against:
            t0 = time.perf_counter()
            base = stack.enter_context(baseline_checkout(against))
            print(
                f"  side by side with {against} (its own code, data step and build, in {base.parent}; set up in "
                f"{time.perf_counter() - t0:.0f} s); each measurement in a fresh process, this checkout first"
            )

        def both(name: str, **kwargs) -> tuple[dict, dict | None]:
            now = _measure(None, name, **kwargs)
            was = _measure(base, name, **kwargs) if base is not None else None
            return now, was

        peaks, best = [], []
        for w in (1, 2):
            now, was = both("bench_matrix", workers=[w], n_cells=n_cells)
            peaks.append(now["peak_mb"])
            (r,) = now["result"]
            best.append(r["seconds"])
            print(
                f"  {r['what']:<28} {r['cells']} cells in {r['seconds']:6.1f} s = {r['per_s']:.2f} cells/s"
                + _side(r["seconds"], was, against)
            )
        print(f"  speed-up 2 workers / 1 worker: {best[0] / best[1]:.2f}x")
        met = min(best) <= TARGETS["matrix_s"] or n_cells is not None
        now, was = both("bench_notebook")
        peaks.append(now["peak_mb"])
        nb = now["result"]
        print(
            f"  {nb['what']}: {nb['seconds']:.1f} s"
            + _side(nb["seconds"], was, against)
            + f"\n    = kernel start + papermill {nb['kernel_start_and_papermill']:.1f} s, imports and start "
            f"{nb['imports_and_start']:.1f} s, compute {nb['compute']:.1f} s, static figure export in the kernel "
            f"(queued to the render service) {nb['static_export']:.1f} s, wait after the last cell for the "
            f"service's last figures {nb['figure_wait']:.1f} s"
        )
        met = met and nb["seconds"] <= TARGETS["notebook_rerun_s"]
        if main_job:
            for w in (1, 2):
                now, was = both("bench_main_job", workers=[w])
                peaks.append(now["peak_mb"])
                (r,) = now["result"]
                print(
                    f"  {r['what']:<28} {r['seconds']:6.1f} s ({r['runs_ok']} runs ok; {r['order']})"
                    + _side(r["seconds"], was, against)
                )
                if w == 2:
                    met = met and r["seconds"] <= TARGETS["main_job_s"]
    peak = max(peaks)
    print(
        f"  peak resident memory (one process of this checkout's measurements or its children): {peak:.0f} MB "
        f"(target {TARGETS['peak_mb']:.0f})"
    )
    print(
        "  targets: matrix under {matrix_s:.0f} s, notebook rerun under {notebook_rerun_s:.0f} s, main job (2 "
        "workers) under {main_job_s:.0f} s, memory under {peak_mb:.0f} MB: ".format(**TARGETS)
        + ("all measured ones met" if met and peak <= TARGETS["peak_mb"] else "not all met")
    )
    print(f"  {_load()}")
    return 0 if met and peak <= TARGETS["peak_mb"] else 1
