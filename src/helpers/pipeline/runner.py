"""Execute the notebook collection with papermill.

- :func:`discover` globs ``notebooks/NN_*.ipynb`` (no hand-kept list).
- :func:`run_notebook` runs one notebook with a parameter set. Parameter *names* are checked against the
  notebook's tagged ``parameters`` cell (papermill itself only warns on a misspelled name); parameter *values*
  are validated inside the notebook by :func:`helpers.pipeline.notebook.start`, with the one rule of each name
  (:data:`helpers.core.params.RULES`). The executed copy goes to
  ``reports/notebooks/<stem>--<label>.ipynb``; the source notebook is never modified. The copy is written to a
  temporary file and renamed only when the run succeeds, so a failed run leaves the earlier good copy intact
  (the failed copy is kept beside it as ``<stem>--<label>.failed.ipynb`` for reading the traceback).
- Parameter sets live in ``params/*.yml``: ``notebook: 03_treaty_effects``, ``label: ciri``, ``parameters: {...}``.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from helpers.core import paths
from helpers.core.errors import HelpersError, ParameterError
from helpers.core.params import LABEL_RE, parameters_cell

THREAD_ENV = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",
}


class NotebookFailed(HelpersError):
    """A notebook raised during execution; the message names the notebook and the failed copy."""


@dataclass
class RunResult:
    notebook: str
    label: str
    output: Path
    seconds: float
    ok: bool
    error: str = ""


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
    """:func:`parameters_cell` of a notebook file."""
    import nbformat

    return parameters_cell(nbformat.read(str(notebook), as_version=4), str(notebook))


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
    """Read a YAML parameter set: returns (notebook path, label, parameters)."""
    path = Path(path)
    if not path.is_file():
        raise ParameterError(
            "params",
            str(path),
            sorted(str(p.relative_to(paths.ROOT)) for p in paths.PARAMS.glob("*.yml")),
            hint="no such parameter file",
        )
    try:
        spec = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise HelpersError(f"{path}: not valid YAML ({exc})") from exc
    allowed = {"notebook", "label", "parameters", "description"}
    extra = sorted(set(spec) - allowed)
    if extra or "notebook" not in spec:
        raise HelpersError(
            f"{path}: a parameter file needs keys notebook, label, parameters "
            f"(optional description); found {sorted(spec)}"
        )
    label = str(spec.get("label") or path.stem)
    return resolve_notebook(spec["notebook"]), label, dict(spec.get("parameters") or {})


def output_path(notebook: Path, label: str) -> Path:
    return paths.REPORTS / "notebooks" / f"{notebook.stem}--{label}.ipynb"


def run_notebook(
    notebook: Path | str,
    params: dict | None = None,
    label: str = "default",
    timeout: int = 1800,
    log_output: bool = False,
) -> RunResult:
    """Execute one notebook with papermill into reports/notebooks/ (see module docstring)."""
    import papermill as pm

    nb = resolve_notebook(notebook)
    params = dict(params or {})
    if not LABEL_RE.fullmatch(label):
        raise ParameterError("label", label, hint="letters, digits, '_', '-', '.' only")
    check_parameter_names(nb, params)
    declared = declared_parameters(nb)
    if "run_label" in declared:
        params.setdefault("run_label", label)
    out = output_path(nb, label)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.stem}.running.ipynb")
    failed = out.with_name(f"{out.stem}.failed.ipynb")
    for k, v in THREAD_ENV.items():
        os.environ.setdefault(k, v)
    previous = os.environ.get("TREATY_EFFECTS_REPORTS")
    os.environ["TREATY_EFFECTS_REPORTS"] = str(paths.REPORTS)  # the kernel writes where this runner reports
    t0 = time.perf_counter()
    try:
        pm.execute_notebook(
            str(nb),
            str(tmp),
            parameters=params,
            kernel_name="python3",
            cwd=str(paths.ROOT),
            progress_bar=False,
            log_output=log_output,
            execution_timeout=timeout,
        )
    except Exception as exc:  # noqa: BLE001  (any kernel or cell failure: keep the failed copy, report, go on)
        seconds = time.perf_counter() - t0
        if tmp.exists():
            os.replace(tmp, failed)
        msg = str(exc).strip().splitlines()
        short = next((m for m in reversed(msg) if m.strip()), type(exc).__name__)
        return RunResult(nb.stem, label, failed, seconds, False, short[:500])
    finally:
        if previous is None:
            os.environ.pop("TREATY_EFFECTS_REPORTS", None)
        else:
            os.environ["TREATY_EFFECTS_REPORTS"] = previous
    os.replace(tmp, out)
    failed.unlink(missing_ok=True)
    return RunResult(nb.stem, label, out, time.perf_counter() - t0, True)


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


def run(
    notebooks: list[str] | None = None,
    param_files: list[str] | None = None,
    stop_on_error: bool = False,
    echo=print,
) -> list[RunResult]:
    """Run a plan, printing per-notebook and total wall time; returns the results (raises nothing per notebook)."""
    results = []
    t0 = time.perf_counter()
    for nb, label, params in plan(notebooks, param_files):
        echo(f"-> {nb.stem} [{label}] ...", end="", flush=True) if echo is print else echo(
            f"-> {nb.stem} [{label}]"
        )
        res = run_notebook(nb, params, label)
        results.append(res)
        status = "ok" if res.ok else f"FAILED: {res.error}\n   see {res.output}"
        echo(f" {res.seconds:6.1f} s  {status}")
        if not res.ok and stop_on_error:
            break
    total = time.perf_counter() - t0
    n_ok = sum(r.ok for r in results)
    echo(f"{n_ok}/{len(results)} notebook runs succeeded; total wall time {total:.1f} s")
    _write_log(results, total)
    return results


def _write_log(results: list[RunResult], total: float) -> None:
    import pandas as pd

    log = pd.DataFrame(
        [
            {
                "notebook": r.notebook,
                "label": r.label,
                "ok": r.ok,
                "seconds": round(r.seconds, 1),
                "output": str(r.output.relative_to(paths.ROOT)),
                "error": r.error,
            }
            for r in results
        ]
    )
    path = paths.REPORTS / "run_log.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    log.to_csv(tmp, index=False)
    os.replace(tmp, path)
