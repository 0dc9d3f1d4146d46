"""Execute the notebook collection with papermill.

- :func:`discover` globs ``notebooks/NN_*.ipynb`` (no hand-kept list).
- :func:`run_notebook` runs one notebook with a parameter set under one *label*. Parameter *names* are checked
  against the notebook's tagged ``parameters`` cell (papermill itself only warns on a misspelled name); parameter
  *values* are validated inside the notebook by :func:`helpers.pipeline.notebook.start`, with the one rule of each
  name (:data:`helpers.core.params.RULES`). The notebook's ``run_label`` is the label (one name: a parameter set
  may not set ``run_label`` itself).
- Runs are atomic. A run holds a lock on ``reports/<notebook>/.<label>.lock`` (an ``flock`` with the holder's pid
  in the file, released by the kernel when the process dies, so a killed run leaves no stale lock); a second run of
  the same notebook and label is refused with a message naming the holder. The kernel writes every figure, table
  and result into a fresh staging folder ``reports/<notebook>/.<label>.staging-<pid>/`` (the runner passes it in
  ``TREATY_EFFECTS_STAGING``; :func:`helpers.report.export.run_dir` returns it), and the executed copy of the
  notebook goes there too; the static files of its plotly figures are written there by the run's render service
  (:mod:`helpers.report.renderer`) while the notebook goes on, and the runner waits for them (a figure that could not
  be rendered fails the run). Only when the run succeeds does the staging folder replace the run folder
  ``reports/<notebook>/<label>/`` in one rename (``renameat2(RENAME_EXCHANGE)`` where the file system has it, else
  two renames a moment apart), and the executed copy then replaces ``reports/notebooks/<stem>--<label>.ipynb``. A
  failed, interrupted or killed run leaves the previous run folder and executed copy untouched; the failed copy is
  kept as ``<stem>--<label>.failed.ipynb`` for reading the traceback; leftover staging folders of dead runs are
  removed by the next run.
- Parameter sets live in ``params/*.yml``: ``notebook: 03_treaty_effects``, ``label: ciri``, ``parameters: {...}``.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import json
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from helpers.core import engine, imports, paths
from helpers.core.environ import environment
from helpers.core.errors import HelpersError, ParameterError
from helpers.core.params import LABEL_RE, check_label, parameters_cell
from helpers.pipeline import kernels

__all__ = ["LABEL_RE", "THREAD_ENV", "NotebookFailed", "RunLocked", "RunResult", "run", "run_notebook"]

#: Environment of every kernel: the engine workers' (single-threaded numerical libraries, Dask's string-hash seed),
#: so a kernel computes what a worker would, byte for byte, and two runs give byte-identical results
THREAD_ENV = {**engine.WORKER_ENV, "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
PARAM_FILE_KEYS = ("notebook", "label", "parameters", "description")


def _thread_env() -> dict[str, str]:
    """:data:`THREAD_ENV`, each value the user set in this process's environment kept."""
    return {k: os.environ.get(k, v) for k, v in THREAD_ENV.items()}


class NotebookFailed(HelpersError):
    """A notebook raised during execution; the message names the notebook and the failed copy."""


class RunLocked(HelpersError):
    """Another run of the same notebook and label holds the lock."""


@dataclass
class RunResult:
    notebook: str
    label: str
    output: Path
    seconds: float
    ok: bool
    error: str = ""
    #: of ``seconds``: the wait, after the last cell, for static figures the render service was still writing
    figure_wait: float = 0.0


def discover(folder: Path | None = None) -> list[Path]:
    """Every collection notebook (``NN_name.ipynb``), in order."""
    folder = Path(folder or paths.NOTEBOOKS)
    return sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))


def resolve_notebook(name: str | Path) -> Path:
    """A notebook given as path, stem (``03_treaty_effects``) or number (``03``)."""
    p = Path(name)
    if p.suffix == ".ipynb" and p.exists():
        return p
    options = discover()
    for nb in options:
        if name in {nb.stem, nb.name, nb.stem.split("_")[0]}:
            return nb
    raise ParameterError("notebook", str(name), [nb.stem for nb in options])


def declared_parameters(notebook: Path) -> dict[str, dict]:
    """:func:`parameters_cell` of a notebook file, read as plain JSON: every notebook's first cell calls this, and
    importing nbformat there would import jsonschema, whose URI grammars take 2 to 6 s to build."""
    try:
        nb = json.loads(Path(notebook).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # ValueError: not UTF-8, not JSON
        raise HelpersError(f"{notebook}: not a readable notebook ({type(exc).__name__}: {exc})") from exc
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise HelpersError(f"{notebook}: not a notebook (no list of cells)")
    return parameters_cell(nb, str(notebook))


def check_parameter_names(notebook: Path, params: dict) -> None:
    declared = declared_parameters(notebook)
    if not declared:
        raise HelpersError(f"{notebook}: no cell tagged 'parameters'; every collection notebook needs one")
    unknown = sorted(set(params) - set(declared))
    if unknown:
        raise ParameterError(
            f"{notebook.stem} parameter name",
            unknown[0] if len(unknown) == 1 else unknown,
            sorted(declared),
            hint="unknown parameter name",
        )


def load_param_file(path: Path | str) -> tuple[Path, str, dict]:
    """Read a YAML parameter set: returns (notebook path, label, parameters); every problem is one HelpersError
    naming the file and what is valid."""
    path = Path(path)
    if not path.is_file():
        raise ParameterError(
            "params",
            str(path),
            sorted(str(p.relative_to(paths.ROOT)) for p in paths.PARAMS.glob("*.yml")),
            hint="no such parameter file",
        )
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0]
        raise HelpersError(f"{path}: not valid YAML ({first})") from None
    shape = (
        "a parameter file is a YAML mapping with the keys notebook, label and parameters (a mapping of parameter "
        "names to values), and optionally description"
    )
    if not isinstance(spec, dict):
        raise HelpersError(f"{path}: {shape}; found {_kind(spec)}")
    extra = sorted(map(str, set(spec) - set(PARAM_FILE_KEYS)))
    if extra or "notebook" not in spec:
        raise HelpersError(f"{path}: {shape}; found keys {sorted(map(str, spec))}")
    given = spec.get("parameters") or {}
    if not isinstance(given, dict):
        raise HelpersError(f"{path}: 'parameters' must be a mapping of names to values; found {_kind(given)}")
    if "run_label" in given:
        raise HelpersError(
            f"{path}: 'run_label' is set from the file's label ({spec.get('label') or path.stem!r}); "
            "remove it from parameters"
        )
    label = check_label(f"{path.name}: label", str(spec.get("label") or path.stem))
    return resolve_notebook(str(spec["notebook"])), label, dict(given)


def _kind(value: object) -> str:
    if value is None:
        return "an empty file"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__} ({str(value)[:60]!r})"


def output_path(notebook: Path, label: str) -> Path:
    """The executed copy of a successful run: ``reports/notebooks/<stem>--<label>.ipynb``."""
    return Path(paths.REPORTS) / "notebooks" / f"{notebook.stem}--{label}.ipynb"


def failed_path(notebook: Path, label: str) -> Path:
    """The executed copy of the last failed run: ``reports/notebooks/<stem>--<label>.failed.ipynb``."""
    return Path(paths.REPORTS) / "notebooks" / f"{notebook.stem}--{label}.failed.ipynb"


def run_notebook(
    notebook: Path | str,
    params: dict | None = None,
    label: str = "default",
    timeout: int = 1800,
    log_output: bool = False,
) -> RunResult:
    """Execute one notebook with papermill, atomically (see module docstring).

    Returns a :class:`RunResult` (``ok`` False with the last line of the error when the notebook failed). Raises
    :class:`RunLocked` when another run of the same notebook and label is in progress, ParameterError for a bad
    label or parameter name, HelpersError when the reports folder cannot be written.
    """
    nb = resolve_notebook(notebook)
    params = dict(params or {})
    label = check_label("label", label)
    check_parameter_names(nb, params)
    if "run_label" in params:
        raise ParameterError(
            "run_label",
            params["run_label"],
            hint=f"set from the run's label ({label!r}); give the label instead",
        )
    if "run_label" in declared_parameters(nb):
        params["run_label"] = label
    folder = Path(paths.REPORTS) / nb.stem
    _make_folder(folder)
    _make_folder(output_path(nb, label).parent)
    with run_lock(folder, label):
        # staging and half-published folders of this label: only the lock holder makes them, so these are leftovers
        for pattern in (f".{label}.staging-*", f".{label}.old-*"):
            for stale in folder.glob(pattern):
                shutil.rmtree(stale, ignore_errors=True)
        staging = folder / f".{label}.staging-{os.getpid()}"
        _make_folder(staging)
        try:
            return _execute(nb, params, label, staging, timeout, log_output)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HelpersError(
            f"cannot create the reports folder {folder}: {exc.strerror or exc}; set TREATY_EFFECTS_REPORTS to a "
            "writable folder (now: "
            f"{paths.REPORTS})"
        ) from None


def _import_papermill():
    """papermill, imported without jsonschema's optional IRI format checker
    (:func:`helpers.core.imports.skip_iri_format_checker`)."""
    imports.skip_iri_format_checker()
    import papermill

    return papermill


def _execute(nb: Path, params: dict, label: str, staging: Path, timeout: int, log_output: bool) -> RunResult:
    pm = _import_papermill()

    out, failed = output_path(nb, label), failed_path(nb, label)
    executed = staging / f".{out.name}"
    env = {
        **_thread_env(),
        "TREATY_EFFECTS_REPORTS": str(paths.REPORTS),  # the kernel writes where this runner reports
        paths.STAGING_ENV: str(staging),  # read by helpers.report.export.run_dir in the kernel
        paths.STAGING_FOR_ENV: f"{nb.stem}/{label}",
    }
    t0 = time.perf_counter()
    try:
        with environment(env):
            pm.execute_notebook(
                str(nb),
                str(executed),
                parameters=params,
                kernel_name=kernels.kernel_name(),  # preloaded under a fork server (kernels.preloaded)
                cwd=str(paths.ROOT),
                progress_bar=False,
                log_output=log_output,
                execution_timeout=timeout,
                # one write at the end instead of two per cell (nbformat re-serialises the whole notebook, figures
                # included, each time: seconds per notebook); a cell error still writes the failed copy
                request_save_on_cell_execute=False,
                # the kernel's own log stays quiet: ipykernel's warning about local TCP sockets at every start,
                # and its "KeyboardInterrupt caught in kernel" when jupyter_client's SIGINT at shutdown lands while
                # the kernel is still answering a message; cell errors and outputs reach the executed notebook and
                # the run log as before
                # history in memory, as nbclient asks of a kernel named python3 (and of no other name)
                extra_arguments=["--IPKernelApp.log_level=CRITICAL", "--HistoryManager.hist_file=:memory:"],
            )
    except Exception as exc:  # noqa: BLE001  (any kernel or cell failure: keep the failed copy, report, go on)
        _static_figures(staging)  # before the staging folder goes: nothing may still be writing into it
        with contextlib.suppress(OSError):
            os.replace(executed, failed)
        return RunResult(nb.stem, label, failed, time.perf_counter() - t0, False, _short_error(exc, executed))
    t_cells = time.perf_counter()
    static_errors = _static_figures(staging)
    wait = time.perf_counter() - t_cells
    if static_errors:
        with contextlib.suppress(OSError):
            os.replace(executed, failed)
        error = f"static figure export failed: {'; '.join(static_errors)}"
        return RunResult(nb.stem, label, failed, time.perf_counter() - t0, False, error[:500], wait)
    run_folder = staging.parent / label
    try:
        publish(staging, run_folder)
        os.replace(run_folder / executed.name, out)
    except OSError as exc:
        return RunResult(
            nb.stem, label, failed, time.perf_counter() - t0, False, _short_error(exc, run_folder)
        )
    failed.unlink(missing_ok=True)
    return RunResult(nb.stem, label, out, time.perf_counter() - t0, True, figure_wait=wait)


def _static_figures(staging: Path) -> list[str]:
    """Wait for the static figures the run's kernel left to the render service (written into ``staging``); return
    the errors (:func:`helpers.report.export.wait_for_deferred`)."""
    from helpers.report import export  # imports pandas: not at the command line's start

    return export.wait_for_deferred(staging)


def _short_error(exc: BaseException, where: Path) -> str:
    """One line for the run log: the exception a cell raised (``Name: message``, its lines joined), at most 500
    characters; a write failure names the file."""
    if isinstance(exc, OSError) and not isinstance(exc, HelpersError):
        return f"cannot write {exc.filename or where}: {exc.strerror or exc}"
    ename, evalue = getattr(exc, "ename", None), getattr(exc, "evalue", None)  # papermill's cell error
    if ename and evalue is not None:
        return " ".join(f"{ename}: {evalue}".split())[:500]
    lines = [m for m in str(exc).strip().splitlines() if m.strip()]
    return (lines[-1] if lines else type(exc).__name__)[:500]


# --------------------------------------------------------------------------------------------------------------
# lock and publish
# --------------------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def run_lock(folder: Path, label: str) -> Iterator[Path]:
    """Hold ``folder/.<label>.lock`` for the duration of a run; raise :class:`RunLocked` if another process holds it.

    An advisory ``flock``: the kernel drops it when the holding process ends (also when killed), so a lock is never
    stale. The file records the holder's pid, host and start time for the message.
    """
    lock = folder / f".{label}.lock"
    fd = _acquire(lock)
    try:
        os.ftruncate(fd, 0)
        os.write(
            fd,
            f"pid {os.getpid()} on {socket.gethostname()} since {time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode(),
        )
        yield lock
    finally:
        with contextlib.suppress(OSError):
            lock.unlink()
        os.close(fd)  # closing drops the flock


def _acquire(lock: Path) -> int:
    for _ in range(5):
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 200).decode(errors="replace").strip() or "another process"
            os.close(fd)
            notebook, label = lock.parent.name, lock.name[1:].removesuffix(".lock")
            raise RunLocked(
                f"{notebook} [{label}]: another run of this notebook with this label is in progress ({holder}); "
                f"wait for it to finish, or run with another label (lock: {lock})"
            ) from None
        try:
            same = os.fstat(fd).st_ino == os.stat(lock).st_ino  # not a file a finishing run just unlinked
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)
    raise RunLocked(f"{lock}: could not take the lock (it keeps changing hands)")


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically with Linux ``renameat2(RENAME_EXCHANGE)``; False where unavailable."""
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    rc = fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EPERM, errno.ENOTSUP):
        return False  # the file system or kernel cannot exchange: fall back to two renames
    raise OSError(err, os.strerror(err), str(b))


def publish(staging: Path, target: Path) -> None:
    """Make ``staging`` the folder ``target`` in one step; the previous ``target`` (if any) is removed."""
    if not target.exists():
        os.rename(staging, target)
        return
    if _exchange(staging, target):
        shutil.rmtree(staging)  # now the previous run
        return
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    os.rename(target, old)
    os.rename(staging, target)
    shutil.rmtree(old, ignore_errors=True)


def remove_stale_staging(reports: Path | None = None) -> list[Path]:
    """Remove staging and half-published folders of runs whose process is gone (after a kill); return them."""
    removed = []
    for d in Path(reports or paths.REPORTS).glob("*/.*"):
        name, _, pid = d.name.rpartition("-")
        if d.is_dir() and (".staging" in name or ".old" in name) and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def plan(
    notebooks: list[str] | None = None, param_files: list[str] | None = None
) -> list[tuple[Path, str, dict]]:
    """What a run executes: each chosen notebook with its defaults, then every matching params/*.yml set."""
    jobs: list[tuple[Path, str, dict]] = []
    if param_files:
        return [load_param_file(p) for p in param_files]
    chosen = [resolve_notebook(n) for n in notebooks] if notebooks else discover()
    for nb in chosen:
        jobs.append((nb, "default", {}))
    for pf in sorted(paths.PARAMS.glob("*.yml")):
        nb, label, params = load_param_file(pf)
        if nb in chosen:
            jobs.append((nb, label, params))
    return jobs


BUILD_NOTEBOOK = "00_build_panel"


def _run_job(log_output: object, job: tuple[Path, str, dict]) -> RunResult:
    """One engine task: run one notebook job; a locked run or bad label is a failed result, never an exception."""
    nb, label, params = job
    try:
        return run_notebook(nb, params, label, log_output=bool(log_output))
    except HelpersError as exc:
        return RunResult(nb.stem, label, failed_path(nb, label), 0.0, False, str(exc).splitlines()[0])


def _nested_engine_env(notebook_workers: int) -> dict[str, str]:
    """While notebooks run in parallel, the engine inside each (matrix cells, null draws) runs serially in its
    kernel: a LocalCluster per notebook on cores the other notebooks already use only adds processes and copies of
    the panel. Not when the user chose: a scheduler address or an explicit worker count in the environment."""
    if notebook_workers <= 1 or os.environ.get(engine.SCHEDULER_ENV) or os.environ.get(engine.WORKERS_ENV):
        return {}
    return {engine.WORKERS_ENV: "1"}


def _report(res: RunResult, echo) -> None:
    status = "ok" if res.ok else f"FAILED: {res.error}\n   see {res.output}"
    echo(f"-> {res.notebook} [{res.label}] {res.seconds:6.1f} s  {status}")


def run(
    notebooks: list[str] | None = None,
    param_files: list[str] | None = None,
    stop_on_error: bool = False,
    echo=print,
    jobs: list[tuple[Path, str, dict]] | None = None,
    workers: int | None = 1,
    log_output: bool = False,
) -> list[RunResult]:
    """Run a plan (:func:`plan` of ``notebooks`` and ``param_files``, or the given ``jobs``: (notebook, label,
    parameters) triples), printing per-notebook and total wall time; returns the results (raises nothing per
    notebook).

    Jobs run through the project's Dask engine (:func:`helpers.core.engine.map_tasks`): ``workers=1`` is Dask's
    synchronous scheduler (one after the other, in this process); more workers run independent notebooks in
    parallel, each in its own worker process on this machine (``None``: one per core; a scheduler address is for
    the tasks inside the notebooks, such as the matrix cells, not for the notebooks; while notebooks run in
    parallel, the tasks inside each run serially in its kernel unless a scheduler or ``TREATY_EFFECTS_WORKERS`` is
    set). The build notebook (00) runs first and alone, then the rest; in parallel, runs start longest first by
    their last wall time (:func:`longest_first`, from ``reports/run_seconds.json``); results come in plan order.
    Each run keeps its atomic run folder and lock, so parallel runs never mix outputs. With more than one run, the
    kernels are forked from a server that imported the libraries once (:mod:`helpers.pipeline.kernels`)."""
    t0 = time.perf_counter()
    jobs = jobs if jobs is not None else plan(notebooks, param_files)
    remove_stale_staging()
    first = [j for j in jobs if j[0].stem == BUILD_NOTEBOOK]
    rest = [j for j in jobs if j[0].stem != BUILD_NOTEBOOK]
    n = min(engine.check_workers(workers), max(len(rest), 1))
    from helpers.report import renderer  # export imports pandas: not at the command line's start

    results: list[RunResult] = []
    # one Chromium renders the static figures of every kernel of this run; with more than one notebook run, one fork
    # server starts the kernels with the libraries imported once (one run alone: a fresh kernel imports only what
    # its notebook needs, sooner than a server imports what every notebook needs)
    preload = kernels.preloaded(_thread_env()) if len(jobs) > 1 else contextlib.nullcontext(False)
    with renderer.service(), preload:
        for batch, w in ((first, 1), (rest, n)):
            if not batch:
                continue
            if stop_on_error and any(not r.ok for r in results):
                break
            if w == 1 and stop_on_error:  # one at a time, stopping at the first failure
                for job in batch:
                    res = _run_job(log_output, job)
                    results.append(res)
                    _report(res, echo)
                    if not res.ok:
                        break
                continue
            order = longest_first(batch, _load_durations()) if w > 1 else list(range(len(batch)))
            with environment(_nested_engine_env(w)):
                ran = engine.map_tasks(
                    _run_job,
                    [batch[i] for i in order],
                    workers=w,
                    label="notebooks",
                    progress=w > 1,
                    local=True,
                )
            done = [res for _, res in sorted(zip(order, ran, strict=True), key=lambda x: x[0])]  # plan order
            for res in done:
                _report(res, echo)
            results += done
    total = time.perf_counter() - t0
    n_ok = sum(r.ok for r in results)
    echo(f"{n_ok}/{len(results)} notebook runs succeeded; total wall time {total:.1f} s")
    _write_log(results, total)
    _save_durations(results)
    return results


# --------------------------------------------------------------------------------------------------------------
# the order of parallel runs
# --------------------------------------------------------------------------------------------------------------
#: last wall time of every notebook run, kept across runs in the reports folder: ``{"<stem>--<label>": seconds}``
DURATIONS_FILE = "run_seconds.json"


def longest_first(jobs: list[tuple[Path, str, dict]], durations: dict[str, float]) -> list[int]:
    """The order in which to start ``jobs`` on parallel workers: runs never timed first (in plan order: they may
    be long), then the longest last time first, so that the short ones fill the end instead of one long run
    starting last and running alone. Returns indices into ``jobs``."""

    def key(i: int) -> tuple[int, float, int]:
        seconds = durations.get(f"{jobs[i][0].stem}--{jobs[i][1]}")
        return (0, 0.0, i) if seconds is None else (1, -seconds, i)

    return sorted(range(len(jobs)), key=key)


def _durations_path() -> Path:
    return Path(paths.REPORTS) / DURATIONS_FILE


def _load_durations() -> dict[str, float]:
    """The last wall times (:data:`DURATIONS_FILE`); an unreadable file is only a lost hint: ``{}``."""
    try:
        data = json.loads(_durations_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): float(v) for k, v in data.items() if isinstance(v, int | float)}


def _save_durations(results: list[RunResult]) -> None:
    """Add the wall times of this run's successful runs to :data:`DURATIONS_FILE` (atomically; best effort)."""
    durations = _load_durations()
    durations.update({f"{r.notebook}--{r.label}": round(r.seconds, 1) for r in results if r.ok})
    path = _durations_path()
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f"{DURATIONS_FILE}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(dict(sorted(durations.items())), fh, indent=1)
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


def _shown(path: Path) -> str:
    """A path relative to the project when inside it, else absolute (reports may live anywhere)."""
    try:
        return str(Path(path).resolve().relative_to(Path(paths.ROOT).resolve()))
    except ValueError:
        return str(Path(path).resolve())


def _write_log(results: list[RunResult], total: float) -> None:
    import pandas as pd

    log = pd.DataFrame(
        [
            {
                "notebook": r.notebook,
                "label": r.label,
                "ok": r.ok,
                "seconds": round(r.seconds, 1),
                "figure_wait_s": round(r.figure_wait, 1),
                "output": _shown(r.output),
                "error": r.error,
            }
            for r in results
        ]
    )
    path = Path(paths.REPORTS) / "run_log.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".run_log.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            log.to_csv(fh, index=False)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
