"""Command line: ``python -m helpers <command>`` (also installed as ``treaty-effects``).

Commands
  data                 fetch every raw file into data/raw (mirror or origin URL) and verify sha256
  verify               list the status of every raw file, fetching nothing
  build                build data/processed (runs notebooks/00_build_panel.ipynb with its defaults)
  run [NB ...]         execute notebooks (all by default, plus params/*.yml sets) into reports/
      --params F.yml   execute one parameter set instead
  index                write reports/index.html
  all                  data + run (all notebooks) + index: the main job
  bench                specification-curve benchmark: project engine vs pyfixest vs statsmodels
"""

from __future__ import annotations

import argparse
import os
import sys
import time

for _k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_k, "1")


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


def _run(args) -> int:
    from helpers.pipeline import runner

    results = runner.run(args.notebooks or None, [args.params] if args.params else None)
    return 0 if results and all(r.ok for r in results) else 1


def _build(args) -> int:
    from helpers.pipeline import runner

    results = runner.run(["00_build_panel"], stop_on_error=True)
    results = [r for r in results if r.notebook == "00_build_panel"]
    return 0 if results and all(r.ok for r in results) else 1


def _index(args) -> int:
    from helpers.report import site as report

    path = report.build_index()
    print(f"wrote {path}")
    return 0


def _all(args) -> int:
    t0 = time.perf_counter()
    args.offline = False
    rc = _data(args)
    if rc == 0:
        from helpers.pipeline import runner

        results = runner.run(None, None)
        rc = 0 if results and all(r.ok for r in results) else 1
    try:
        _index(args)
    except Exception as exc:  # noqa: BLE001  (the index is a convenience; a failure is reported, not fatal)
        print(f"index not written: {exc}", file=sys.stderr)
        rc = rc or 1
    print(f"main job finished in {time.perf_counter() - t0:.1f} s (exit {rc})")
    return rc


def _bench(args) -> int:
    from helpers.pipeline import bench

    return bench.main() or 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="treaty-effects", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("data", help="fetch and verify raw files")
    d.add_argument("--mirror", default=None, help="mirror folder ('' disables; default: auto)")
    d.add_argument("--offline", action="store_true", help="never download; mirror only")
    d.set_defaults(fn=_data)
    sub.add_parser("verify", help="status of raw files").set_defaults(fn=_verify)
    sub.add_parser("build", help="build data/processed").set_defaults(fn=_build)
    r = sub.add_parser("run", help="execute notebooks into reports/")
    r.add_argument("notebooks", nargs="*", help="notebook stems or numbers (default: all)")
    r.add_argument("--params", help="a YAML parameter file (params/*.yml)")
    r.set_defaults(fn=_run)
    sub.add_parser("index", help="write reports/index.html").set_defaults(fn=_index)
    a = sub.add_parser("all", help="the main job: data + every notebook + index")
    a.add_argument("--mirror", default=None)
    a.set_defaults(fn=_all)
    sub.add_parser("bench", help="specification-curve benchmark").set_defaults(fn=_bench)
    args = p.parse_args(argv)
    try:
        return args.fn(args)
    except Exception as exc:
        from helpers.core.errors import HelpersError

        if isinstance(exc, HelpersError):
            print(f"error: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
