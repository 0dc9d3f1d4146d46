"""The one engine for independent tasks: Dask distributed (issue 12).

:func:`map_tasks` runs ``fn(shared, item)`` for every item and returns the results in the items' order. Where it
runs:

- an existing Dask cluster when a scheduler address is given (``scheduler="tcp://host:8786"`` or the environment
  variable :data:`SCHEDULER_ENV`); start one by hand with ``dask scheduler`` and ``dask worker tcp://host:8786``
  (workers need this package installed and ``OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1``);
- otherwise a ``distributed.LocalCluster`` of ``workers`` processes (default: the machine's cores,
  :func:`default_workers`), one thread each, BLAS/OpenMP/Rayon/Numba threads set to 1 in every worker;
- ``workers=1`` (or :data:`WORKERS_ENV` = 1), or a single task without a scheduler: Dask's synchronous scheduler in
  this process (the serial run; no cluster is started).

There is no other code path. Results never depend on the number of workers: a task's randomness must come from
its arguments (seeds derived from the parameter set and the task key, e.g. ``helpers.estimate.matrix.task_seed``),
never from worker state. Progress is printed as tasks complete, one line per 10% (readable in papermill logs), and
the dashboard address of a cluster is printed when it starts.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from helpers.core.errors import ParameterError

SCHEDULER_ENV = "TREATY_EFFECTS_SCHEDULER"
WORKERS_ENV = "TREATY_EFFECTS_WORKERS"
#: environment of every process that estimates (engine workers, and the runner's kernels with it): one thread per
#: numerical library, so floating-point sums are added in one order and workers do not oversubscribe cores, and one
#: string-hash seed, as pyfixest's results move with it: 6640, the seed Dask's nanny gives its workers anyway (it
#: overrides 0)
WORKER_ENV = {
    "PYTHONHASHSEED": "6640",
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "RAYON_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
}
PROGRESS_STEP = 10  # percent between two progress lines


#: Dask configuration of the LocalCluster the engine starts: no statistical profiler (by default it samples every
#: worker thread's stack every 10 ms; on two cores that halved to a tenth of a core per idle worker, about 10 s of
#: CPU over the main job's parallel phase). A cluster started by hand is as its owner configures it.
LOCAL_CLUSTER_CONFIG = {"distributed.worker.profile.enabled": False}


def default_workers() -> int:
    """The cores this process may use (CPU affinity where the platform reports it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - platforms without sched_getaffinity
        return max(1, os.cpu_count() or 1)


def check_workers(workers: object) -> int:
    """``workers`` as an integer >= 1 (None: :data:`WORKERS_ENV` if set, else :func:`default_workers`; 0: one per
    core)."""
    if workers is None and os.environ.get(WORKERS_ENV, "").strip():
        text = os.environ[WORKERS_ENV].strip()
        if not text.isdigit():
            raise ParameterError(WORKERS_ENV, text, hint="an integer, 1 or more (0: one per core)")
        workers = int(text)
    if workers is None or workers == 0:
        return default_workers()
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
        raise ParameterError("workers", workers, hint="an integer, 1 or more (0 or none: one per core)")
    return int(workers)


def scheduler_address(scheduler: str | None = None) -> str:
    """The scheduler address to use: the argument, else :data:`SCHEDULER_ENV`, else "" (start a local one)."""
    addr = scheduler if scheduler else os.environ.get(SCHEDULER_ENV, "")
    if addr and "://" not in addr:
        raise ParameterError(
            "scheduler",
            addr,
            hint="a Dask scheduler address such as tcp://127.0.0.1:8786 (dask scheduler prints it)",
        )
    return addr


@contextmanager
def cluster(
    workers: int | None = None, scheduler: str | None = None, quiet: bool = False, local: bool = False
) -> Iterator[Any]:
    """A ``distributed.Client`` (an existing scheduler, or a LocalCluster of ``workers`` processes), or None for
    Dask's synchronous scheduler (``workers == 1`` and no scheduler address). ``local=True`` ignores any scheduler
    address (tasks that must run on this machine, such as notebook runs writing its reports folder)."""
    addr = "" if local else scheduler_address(scheduler)
    n = check_workers(workers)
    if not addr and n == 1:
        yield None
        return
    import dask
    from distributed import Client, LocalCluster

    if addr:
        client = Client(addr)
        local = None
    else:
        with dask.config.set(LOCAL_CLUSTER_CONFIG):  # the nannies hand this configuration to their workers
            local = LocalCluster(
                n_workers=n,
                threads_per_worker=1,
                processes=True,
                env=dict(WORKER_ENV),
                dashboard_address=":0",
                silence_logs=logging.ERROR,
            )
        client = Client(local)
    try:
        if not quiet:
            where = addr or f"LocalCluster, {n} worker processes"
            print(f"dask: {where}; dashboard {client.dashboard_link}", flush=True)
        yield client
    finally:
        client.close()
        if local is not None:
            local.close()


class _Progress:
    def __init__(self, n: int, label: str, enabled: bool):
        self.n, self.label, self.enabled = n, label, enabled
        self.done, self.next_pct, self.t0 = 0, PROGRESS_STEP, time.perf_counter()

    def tick(self) -> None:
        self.done += 1
        pct = 100 * self.done / max(self.n, 1)
        if self.enabled and (pct >= self.next_pct or self.done == self.n):
            print(
                f"{self.label}: {self.done}/{self.n} done ({pct:.0f}%, {time.perf_counter() - self.t0:.1f} s)",
                file=sys.stdout,
                flush=True,
            )
            while self.next_pct <= pct:
                self.next_pct += PROGRESS_STEP


def _one_thread(fn: Callable[[Any, Any], Any], shared: Any, item: Any) -> Any:
    """Run one task with Numba's parallel loops on one thread (pyfixest demeans with ``prange``): the order of a
    floating-point reduction then never depends on the cores of the process that runs the task, so results are
    bit-identical in this process, a LocalCluster worker or a remote worker."""
    try:
        import numba
    except ImportError:  # pragma: no cover - numba comes with pyfixest
        return fn(shared, item)
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        return fn(shared, item)
    finally:
        numba.set_num_threads(before)


def _synchronous(fn, items, shared, prog: _Progress) -> list:
    import dask
    from dask.callbacks import Callback

    tasks = [
        dask.delayed(_one_thread, pure=False)(fn, shared, it, dask_key_name=f"task-{i}")
        for i, it in enumerate(items)
    ]
    keys = {f"task-{i}" for i in range(len(items))}

    def posttask(key, result, dsk, state, worker_id):
        if key in keys:
            prog.tick()

    with Callback(posttask=posttask):
        return list(dask.compute(*tasks, scheduler="synchronous"))


def _distributed(client, fn, items, shared, prog: _Progress, label: str) -> list:
    from distributed import as_completed

    data = client.scatter(shared, broadcast=True) if shared is not None else None
    keys = [f"{label}-{i}-{os.getpid()}-{time.time_ns()}" for i in range(len(items))]
    futures = [
        client.submit(_one_thread, fn, data, it, key=k, pure=False) for k, it in zip(keys, items, strict=True)
    ]
    position = {f.key: i for i, f in enumerate(futures)}
    out: list = [None] * len(items)
    for fut in as_completed(futures):
        out[position[fut.key]] = fut.result()
        prog.tick()
    return out


def map_tasks(
    fn: Callable[[Any, Any], Any],
    items: Sequence[Any],
    *,
    shared: Any = None,
    workers: int | None = None,
    scheduler: str | None = None,
    client: Any = None,
    label: str = "tasks",
    progress: bool = True,
    local: bool = False,
) -> list:
    """``[fn(shared, item) for item in items]`` through Dask (see the module docstring); ``shared`` is sent to
    each worker once. Pass ``client`` to reuse a running cluster (then ``workers``/``scheduler`` are ignored);
    ``local=True`` runs on this machine whatever :data:`SCHEDULER_ENV` says."""
    items = list(items)
    prog = _Progress(len(items), label, progress)
    if len(items) <= 1 and client is None and not scheduler and (local or not os.environ.get(SCHEDULER_ENV)):
        workers = 1  # one task: starting a LocalCluster (seconds) cannot pay
    if client is not None:
        return _distributed(client, fn, items, shared, prog, label)
    with cluster(workers, scheduler, quiet=not progress, local=local) as c:
        if c is None:
            return _synchronous(fn, items, shared, prog)
        return _distributed(c, fn, items, shared, prog, label)
