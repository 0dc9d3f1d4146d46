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

Each figure is printed with its ratio to the reference measured before issue 12 on this 2-core machine
(:data:`BEFORE`). Other processes on the machine inflate every number: the load average is printed with them.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

#: reference timings before issue 12 (seconds, 2-core machine, idle): main job, one notebook rerun
BEFORE = {"main_job_s": 150.0, "notebook_rerun_s": 18.0}
#: this benchmark at commit d5a8bce, before the speed work (same machine, load about 1, 2026-11-30): the matrix with
#: 1 and 2 workers and the rerun of notebook 01 (which has grown since the issue's 18 s)
BEFORE_SPEED_WORK = {"matrix_1": 74.0, "matrix_2": 59.5, "notebook_rerun_s": 40.9}
TARGETS = {"matrix_s": 60.0, "main_job_s": 90.0, "notebook_rerun_s": 10.0, "peak_mb": 2048.0}


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


def main(main_job: bool = False, n_cells: int | None = None) -> int:
    """Print the engine benchmark; 0 when the targets that were measured are met."""
    print(f"\nengine benchmark ({_load()}; numbers are inflated when other processes run)")
    rows = bench_matrix(n_cells=n_cells)
    for r, ref in zip(rows, ("matrix_1", "matrix_2"), strict=False):
        was = f" (d5a8bce: {BEFORE_SPEED_WORK[ref]:.1f} s, ratio {r['seconds'] / BEFORE_SPEED_WORK[ref]:.2f})"
        was = "" if n_cells is not None else was  # a subset of cells has no reference
        print(
            f"  {r['what']:<28} {r['cells']} cells in {r['seconds']:6.1f} s = {r['per_s']:.2f} cells/s{was}"
        )
    if len(rows) == 2:
        print(f"  speed-up 2 workers / 1 worker: {rows[0]['seconds'] / rows[1]['seconds']:.2f}x")
    best = min(r["seconds"] for r in rows)
    met = best <= TARGETS["matrix_s"] or n_cells is not None
    nb = bench_notebook()
    print(
        f"  {nb['what']}: {nb['seconds']:.1f} s (before: {BEFORE['notebook_rerun_s']:.0f} s, ratio "
        f"{nb['seconds'] / BEFORE['notebook_rerun_s']:.2f}; d5a8bce: {BEFORE_SPEED_WORK['notebook_rerun_s']:.1f} s, "
        f"ratio {nb['seconds'] / BEFORE_SPEED_WORK['notebook_rerun_s']:.2f}) = kernel start + papermill "
        f"{nb['kernel_start_and_papermill']:.1f} s, imports and start {nb['imports_and_start']:.1f} s, compute "
        f"{nb['compute']:.1f} s, static figure export in the kernel (queued to the render service) "
        f"{nb['static_export']:.1f} s, wait after the last cell for the service's last figures {nb['figure_wait']:.1f} s"
    )
    met = met and nb["seconds"] <= TARGETS["notebook_rerun_s"]
    if main_job:
        for r in bench_main_job():
            print(
                f"  {r['what']:<28} {r['seconds']:6.1f} s ({r['runs_ok']} runs ok; before: "
                f"{BEFORE['main_job_s']:.0f} s, ratio {r['seconds'] / BEFORE['main_job_s']:.2f}; {r['order']})"
            )
    peak = _peak_mb()
    print(
        f"  peak resident memory (this process or one child): {peak:.0f} MB (target {TARGETS['peak_mb']:.0f})"
    )
    print(f"  {_load()}")
    return 0 if met and peak <= TARGETS["peak_mb"] else 1
