"""Command line: ``python -m helpers <command>`` (also installed as ``treaty-effects``).

Commands (``python -m helpers <command> --help`` shows the options of each)
  data       fetch every raw file into data/raw (mirror or origin URL) and verify its sha256
  verify     list the status of every raw file, fetching nothing
  build      build data/processed (runs notebooks/00_build_panel.ipynb with its defaults)
  run        execute notebooks into reports/: all of them (plus params/*.yml), some, one parameter file, or one
             notebook with parameters given as -p NAME VALUE under a --label
  list       the notebooks, their parameters (default and valid values) and the parameter sets
  example    write an example panel for the "own panel" route (mpdta for 04, a synthetic case for 05)
  findings   collect every notebook's generated findings into reports/findings.json and reports/findings.md
             (--readme also rewrites README.md's "Results at a glance" block)
  index      write reports/index.html
  all        data + run (every notebook and parameter set) + findings + index: the main job
  matrix     the treaty-effects matrix (notebook 08): every instrument x mapped outcome, four estimators, on Dask
  bench      benchmarks: specification curve; matrix cells/s, one notebook rerun, main job (1 and 2 workers)

Examples
  python -m helpers run 03 -p lag 2 -p years "[1990, 2015]" --label lag2
  python -m helpers run --params params/03_cedaw_wbl.yml
  python -m helpers example mpdta && python -m helpers run --params params/examples/04_mpdta.yml
  python -m helpers matrix --workers 2
  python -m helpers matrix --scheduler tcp://127.0.0.1:8786 -p n_boot 199 --label cluster
"""

from __future__ import annotations

import argparse
import os
import sys
import time

for _k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS"):
    os.environ.setdefault(_k, "1")

from helpers.pipeline.bench_engine import BASELINE as BENCH_BASELINE  # noqa: E402  (after the thread settings)

#: example panel -> the parameter file that runs a notebook on it
MATRIX_NOTEBOOK = "08_treaty_matrix"
EXAMPLE_PARAMS = {"mpdta": "params/examples/04_mpdta.yml", "case": "params/examples/05_case.yml"}


def _data(args) -> int:
    from helpers.data import registry as data

    statuses = data.fetch(
        mirror=args.mirror if args.mirror is not None else "auto", download=not args.offline
    )
    counts: dict[str, int] = {}
    for s in statuses:
        counts[s.status] = counts.get(s.status, 0) + 1
    print("data step: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
    return 0


def _verify(args) -> int:
    from helpers.data import registry as data

    st = data.verify()
    print(st.to_string(index=False))
    return 0 if (st["status"] == "ok").all() else 1


def _value(name: str, text: str):
    """A -p value parsed as YAML (papermill's habit: 2 is an int, [1990, 2015] a list, cedaw a string)."""
    import yaml

    from helpers.core.errors import HelpersError

    if text == "":
        return ""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        first = str(exc).strip().splitlines()[0]
        raise HelpersError(
            f'-p {name} {text!r}: not a YAML value ({first}); quote lists, e.g. "[1990, 2015]"'
        ) from None


def _single_job(args) -> tuple:
    """The one run that -p / --label describe: a notebook (or a parameter file) with overrides, under a label."""
    from helpers.core.errors import HelpersError
    from helpers.core.params import check_label
    from helpers.pipeline import runner

    overrides = {name: _value(name, text) for name, text in args.param or []}
    if args.params:
        if args.notebooks:
            raise HelpersError("give notebooks or --params, not both")
        nb, label, params = runner.load_param_file(args.params)
    elif len(args.notebooks) == 1:
        nb, label, params = runner.resolve_notebook(args.notebooks[0]), "default", {}
    else:
        raise HelpersError(
            "-p and --label apply to one notebook: name exactly one, e.g. `run 03 -p lag 2 --label lag2`"
        )
    if overrides and not args.label:
        raise HelpersError(
            "-p changes parameters: give the run a --label (its outputs go to reports/<notebook>/<label>/ and the "
            "executed copy to reports/notebooks/<notebook>--<label>.ipynb)"
        )
    return nb, check_label("--label", args.label or label), {**params, **overrides}


def _run(args) -> int:
    from helpers.pipeline import runner

    _engine_env(args)
    if args.param or args.label:
        results = runner.run(jobs=[_single_job(args)])
    else:
        results = runner.run(
            args.notebooks or None, [args.params] if args.params else None, workers=args.workers
        )
    return 0 if results and all(r.ok for r in results) else 1


def _engine_env(args) -> None:
    """--workers / --scheduler reach the notebook kernels through the engine's environment variables."""
    from helpers.core import engine

    if getattr(args, "workers", None) is not None:
        os.environ[engine.WORKERS_ENV] = str(engine.check_workers(args.workers))
    if getattr(args, "scheduler", None):
        os.environ[engine.SCHEDULER_ENV] = engine.scheduler_address(args.scheduler)


def _matrix(args) -> int:
    from helpers.core.errors import HelpersError
    from helpers.pipeline import runner

    _engine_env(args)
    if args.params:
        nb, _, _ = runner.load_param_file(args.params)
        if nb.stem != MATRIX_NOTEBOOK:
            raise HelpersError(f"--params {args.params}: names notebook {nb.stem}, not {MATRIX_NOTEBOOK}")
        args.notebooks = []
    else:
        args.notebooks = [MATRIX_NOTEBOOK]
    import logging

    # papermill's log on the console (which notebook, where its output goes); the cells' progress lines are in
    # the executed notebook
    log = logging.getLogger("papermill")
    log.addHandler(logging.StreamHandler(sys.stdout))
    log.setLevel(logging.INFO)
    job = (
        _single_job(args)
        if (args.param or args.label or args.params)
        else runner.plan([MATRIX_NOTEBOOK], [])[0]
    )
    results = runner.run(jobs=[job], log_output=True)
    return 0 if results and all(r.ok for r in results) else 1


def _build(args) -> int:
    from helpers.pipeline import runner

    results = runner.run(["00_build_panel"], stop_on_error=True)
    results = [r for r in results if r.notebook == "00_build_panel"]
    return 0 if results and all(r.ok for r in results) else 1


def _one_line(text: str, width: int = 100) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _list(args) -> int:
    from helpers.core import paths
    from helpers.pipeline import runner

    chosen = [runner.resolve_notebook(n) for n in args.notebooks] if args.notebooks else runner.discover()
    print("Notebooks and their parameters (name = default  # valid values):")
    for nb in chosen:
        print(f"\n{nb.stem}")
        for name, info in runner.declared_parameters(nb).items():
            print(f"  {name} = {_one_line(info['default'], 60)}  # {info['help']}")
    print("\nParameter sets (python -m helpers run --params FILE):")
    for pf in sorted(paths.PARAMS.glob("*.yml")) + sorted(paths.PARAMS.glob("examples/*.yml")):
        print(f"  {_param_set_line(pf)}")
    return 0


def _param_set_line(pf) -> str:
    import yaml

    from helpers.core import paths
    from helpers.core.errors import HelpersError
    from helpers.pipeline import runner

    rel = pf.relative_to(paths.ROOT)
    try:
        nb, label, params = runner.load_param_file(pf)
    except HelpersError as exc:
        return f"{rel}: INVALID ({_one_line(exc)})"
    about = (yaml.safe_load(pf.read_text(encoding="utf-8")) or {}).get("description") or ""
    return f"{rel}: {nb.stem} [{label}] {_one_line(about, 90)}"


def _example(args) -> int:
    from helpers.data import examples

    for name in args.names or list(examples.EXAMPLES):
        path = examples.write(name)
        print(f"wrote {path} ({examples.EXAMPLES[name][2]})")
        print(f"  run:  python -m helpers run --params {EXAMPLE_PARAMS[name]}")
    return 0


def _index(args) -> int:
    from helpers.pipeline import runner
    from helpers.report import site as report

    runner.remove_stale_staging()
    path = report.build_index()
    print(f"wrote {path}")
    return 0


def findings(readme: bool = False) -> dict:
    """The findings step (also ``python -m helpers findings``): reconcile the latest default run of every notebook
    into reports/findings.json and reports/findings.md (:func:`helpers.report.findings.write_summary`); with
    ``readme`` also README.md's "Results at a glance" block. Returns the paths written."""
    from helpers.report import findings as fnd

    return fnd.write_summary(readme=readme)


def _findings(args) -> int:
    for what, path in findings(readme=args.readme).items():
        print(f"wrote {path} ({what})")
    return 0


def _all(args) -> int:
    t0 = time.perf_counter()
    args.offline = False
    rc = _data(args)
    if rc == 0:
        from helpers.pipeline import runner

        results = runner.run(None, None, workers=args.workers)
        rc = 0 if results and all(r.ok for r in results) else 1
    try:
        findings()
    except Exception as exc:  # noqa: BLE001  (reported, not fatal: the index still lists every notebook)
        print(f"findings not written: {exc}", file=sys.stderr)
        rc = rc or 1
    try:
        _index(args)
    except Exception as exc:  # noqa: BLE001  (the index is a convenience; a failure is reported, not fatal)
        print(f"index not written: {exc}", file=sys.stderr)
        rc = rc or 1
    print(f"main job finished in {time.perf_counter() - t0:.1f} s (exit {rc})")
    return rc


def _bench(args) -> int:
    from helpers.pipeline import bench, bench_engine

    rc = 0
    if args.only in (None, "spec"):
        rc = bench.main() or 0
    if args.only in (None, "engine"):
        against = None if args.against.lower() == "none" else args.against
        rc = bench_engine.main(main_job=args.main_job, n_cells=args.cells, against=against) or rc
    return rc


def _mirror_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--mirror",
        default=None,
        metavar="FOLDER",
        help="folder holding copies of the raw files ('' disables; default: $TREATY_EFFECTS_MIRROR, else the "
        "shared mirror beside the project when present)",
    )


def _run_parser(sub) -> None:
    r = sub.add_parser(
        "run",
        help="execute notebooks into reports/ (all by default, plus the params/*.yml sets)",
        description="Execute notebooks with papermill. Without arguments: every notebook with its defaults and "
        "every parameter set in params/. Each run replaces reports/<notebook>/<label>/ only when it succeeds.",
    )
    r.add_argument(
        "notebooks", nargs="*", metavar="NB", help="notebook stems or numbers, e.g. 03 (default: all)"
    )
    r.add_argument(
        "--params", metavar="FILE", help="run one YAML parameter set, e.g. params/03_cedaw_wbl.yml"
    )
    r.add_argument(
        "-p",
        "--param",
        nargs=2,
        action="append",
        metavar=("NAME", "VALUE"),
        help='set one parameter (repeatable); VALUE is read as YAML: 2, cedaw, "[1990, 2015]"; needs --label',
    )
    r.add_argument(
        "--label",
        metavar="LABEL",
        help="name of the run (letters, digits, '_', '-', '.'): outputs go to reports/<notebook>/<LABEL>/; for "
        "notebook 00 a label other than 'default' writes data/processed/<LABEL>/",
    )
    _engine_options(r)
    r.set_defaults(fn=_run)


def _engine_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="Dask worker processes on this machine (default: $TREATY_EFFECTS_WORKERS, else one per core; 1: "
        "Dask's synchronous scheduler in one process)",
    )
    parser.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDR",
        help="address of a running Dask scheduler, e.g. tcp://127.0.0.1:8786 (default: $TREATY_EFFECTS_SCHEDULER; "
        "none: a LocalCluster)",
    )


def _matrix_parser(sub) -> None:
    m = sub.add_parser(
        "matrix",
        help="the treaty-effects matrix: every instrument x mapped outcome, four estimators (notebook 08)",
        description="Run notebooks/08_treaty_matrix.ipynb: every instrument x outcome cell of the variable "
        "registry, with TWFE, Callaway-Sant'Anna, Sun-Abraham and imputation, BH and Romano-Wolf adjustments. "
        "Results go to reports/08_treaty_matrix/<label>/results/treaty_matrix.{csv,parquet}.",
    )
    m.add_argument("--params", metavar="FILE", help="a YAML parameter set for notebook 08")
    m.add_argument(
        "-p",
        "--param",
        nargs=2,
        action="append",
        metavar=("NAME", "VALUE"),
        help='set one parameter of notebook 08 (repeatable), read as YAML, e.g. -p treaties "[cat, iccpr]"; needs '
        "--label",
    )
    m.add_argument(
        "--label", metavar="LABEL", help="name of the run: outputs go to reports/08_treaty_matrix/<LABEL>/"
    )
    _engine_options(m)
    m.set_defaults(fn=_matrix)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="treaty-effects", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    d = sub.add_parser("data", help="fetch every raw file (mirror or origin URL) and verify its sha256")
    _mirror_option(d)
    d.add_argument("--offline", action="store_true", help="never download; use the mirror only")
    d.set_defaults(fn=_data)
    sub.add_parser("verify", help="list the status of every raw file, fetching nothing").set_defaults(
        fn=_verify
    )
    sub.add_parser("build", help="build data/processed with notebook 00's defaults").set_defaults(fn=_build)
    _run_parser(sub)
    ls = sub.add_parser(
        "list", help="notebooks, their parameters (default, valid values) and the parameter sets"
    )
    ls.add_argument("notebooks", nargs="*", metavar="NB", help="only these notebooks (stems or numbers)")
    ls.set_defaults(fn=_list)
    ex = sub.add_parser(
        "example", help="write example panels for the own-panel route to data/processed/examples/"
    )
    ex.add_argument(
        "names", nargs="*", metavar="NAME", help="mpdta (for 04) and/or case (for 05); default: both"
    )
    ex.set_defaults(fn=_example)
    fd = sub.add_parser(
        "findings", help="collect the generated findings into reports/findings.json and reports/findings.md"
    )
    fd.add_argument(
        "--readme", action="store_true", help="also rewrite README.md's 'Results at a glance' block"
    )
    fd.set_defaults(fn=_findings)
    sub.add_parser("index", help="write reports/index.html").set_defaults(fn=_index)
    _matrix_parser(sub)
    a = sub.add_parser("all", help="the main job: data + every notebook and parameter set + findings + index")
    _mirror_option(a)
    _engine_options(a)
    a.set_defaults(fn=_all)
    b = sub.add_parser(
        "bench",
        help="benchmarks: specification curve (engine vs pyfixest vs statsmodels); matrix, notebook and main job",
    )
    b.add_argument("--only", choices=["spec", "engine"], default=None, help="run one of the two benchmarks")
    b.add_argument(
        "--main-job", action="store_true", help="also time the main job with 1 and 2 workers (minutes)"
    )
    b.add_argument("--cells", type=int, default=None, metavar="N", help="time only the first N matrix cells")
    b.add_argument(
        "--against",
        default=BENCH_BASELINE,
        metavar="REF",
        help=f"commit measured side by side with this checkout (default {BENCH_BASELINE}, the last before the speed "
        "work; 'none': this checkout alone)",
    )
    b.set_defaults(fn=_bench)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from helpers.core.errors import HelpersError

    try:
        return args.fn(args)
    except HelpersError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "interrupted: a run in progress left the earlier outputs of its label untouched", file=sys.stderr
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
