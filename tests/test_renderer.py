"""The render service (helpers.report.renderer): one Chromium renders the static figures of every kernel of a run.

Checked: a figure rendered by the service has the bytes this process's own kaleido gives (PNG); a render error in
the service reaches the caller as an ExportError with the service's message; a service that cannot be reached
makes the caller render itself; the service's socket folder is gone afterwards; and a kernel started by the runner
renders through the service (it never starts a Chromium of its own). Each case runs in a fresh process, so that no
kaleido started by another test is reused."""

from __future__ import annotations

import subprocess
import sys

import nbformat
import pandas as pd
import pytest

from helpers.core import paths
from helpers.pipeline import runner
from helpers.report import export

pytestmark = pytest.mark.skipif(
    export.chromium_path() is None or not export.static_export_enabled(),
    reason="no Chromium (tools/install_system_deps.sh) or TREATY_EFFECTS_STATIC=0",
)

FIGURE = """
import os
import plotly.graph_objects as go
from helpers.report import export, renderer
fig = go.Figure(go.Scatter(x=[1, 2, 3], y=[2, 1, 3]), layout={"title": {"text": "a title"}}).to_dict()
size = export.SIZES["column"]
"""


def _python(code: str, **env: str) -> str:
    import os

    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=paths.ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **env},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_the_service_renders_what_the_process_would():
    code = (
        FIGURE
        + """
with renderer.service() as on:
    assert on and export.render_service_configured()
    folder = os.path.dirname(os.environ[export.RENDERER_ADDRESS_ENV])
    served = export._static_bytes(fig, "png", size)
    pdf = export._static_bytes(fig, "pdf", size)
    assert not export._KALEIDO_STARTED, "rendered in this process, not by the service"
    try:
        export._static_bytes(fig, "bmp", size)
    except export.ExportError as exc:
        assert "bmp" in str(exc), exc
        print("error:", exc)
    else:
        raise AssertionError("the service rendered an unknown format")
    assert not export._RENDERER_GONE.is_set()  # a render error is not a lost service
assert not export.render_service_configured() and not os.path.exists(folder)
local = export._static_bytes(fig, "png", size)
assert export._KALEIDO_STARTED
assert served == local, "the service's PNG differs from this process's"
assert pdf.startswith(b"%PDF")
print("ok")
"""
    )
    out = _python(code)
    assert out.strip().endswith("ok") and "error:" in out


def test_an_unreachable_service_means_rendering_here(tmp_path):
    code = (
        FIGURE
        + """
export.RENDERER_CONNECT_WAIT = 0.3
assert export.render_service_configured()
png = export._static_bytes(fig, "png", size)
assert png.startswith(bytes([0x89]) + b"PNG") and export._KALEIDO_STARTED and export._RENDERER_GONE.is_set()
print("ok")
"""
    )
    out = _python(
        code,
        **{"TREATY_EFFECTS_RENDERER": str(tmp_path / "no-socket"), "TREATY_EFFECTS_RENDERER_KEY": "00" * 32},
    )
    assert out.strip().endswith("ok")


KERNEL_BODY = """\
import os
import pandas as pd
import plotly.graph_objects as go
from helpers.report import export, plots
out = export.run_dir("11_render", run_label)
fig = go.Figure(go.Bar(x=["a", "b"], y=[1, 2]), layout={"title": {"text": "Two bars"}})
plots.source_note(fig, "Source: a test")
export.save_figure(fig, "bars", out)
export.save_results(
    pd.DataFrame({"service": [bool(os.environ.get("TREATY_EFFECTS_RENDERER"))],
                  "own_chromium": [export._KALEIDO_STARTED]}),
    "where",
    out,
)
"""


@pytest.mark.slow
def test_kernels_of_a_run_render_through_the_service(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "REPORTS", tmp_path / "reports")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    p = nbformat.v4.new_code_cell('run_label = "default"')
    p.metadata["tags"] = ["parameters"]
    nb.cells = [p, nbformat.v4.new_code_cell(KERNEL_BODY)]
    path = tmp_path / "11_render.ipynb"
    nbformat.write(nb, path)
    (res,) = runner.run(jobs=[(path, "lbl", {})], workers=1, echo=lambda *_: None)
    assert res.ok, res.error
    folder = tmp_path / "reports" / "11_render" / "lbl"
    where = pd.read_csv(folder / "results" / "where.csv")
    assert bool(where["service"].iloc[0]) and not bool(where["own_chromium"].iloc[0])
    assert {f.suffix for f in (folder / "figures").iterdir()} >= {".html", ".png", ".svg", ".pdf"}


def test_the_service_stops_when_its_runner_is_killed():
    """A runner killed with SIGKILL leaves no render service (nor its Chromium) behind."""
    import os
    import signal
    import time

    import psutil

    code = (
        "import os, sys, time\n"
        "from helpers.report import renderer\n"
        "cm = renderer.service()\n"
        "assert cm.__enter__()\n"
        "print('ready', flush=True)\n"
        "time.sleep(120)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], cwd=paths.ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 30
        services = []
        while not services and time.monotonic() < deadline:
            services = [
                c
                for c in psutil.Process(parent.pid).children()
                if "helpers.report.renderer" in " ".join(c.cmdline())
            ]
            time.sleep(0.1)
        assert len(services) == 1
        family = [services[0], *services[0].children(recursive=True)]
        time.sleep(3)  # Chromium up
        family += [c for c in services[0].children(recursive=True) if c not in family]
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        gone, alive = psutil.wait_procs([services[0]], timeout=15)
        assert not alive, "the render service outlived its killed runner"
        _, alive = psutil.wait_procs([p for p in family if "crashpad" not in " ".join(_cmd(p))], timeout=15)
        assert not alive, f"left running: {[_cmd(p) for p in alive]}"
    finally:
        if parent.poll() is None:
            parent.kill()


def _cmd(p) -> list[str]:
    import psutil

    try:
        return p.cmdline()
    except psutil.Error:
        return []
