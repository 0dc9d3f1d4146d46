"""The render service (helpers.report.renderer): one Chromium renders the static figures of every kernel of a run.

Checked: a figure rendered by the service has the bytes this process's own kaleido gives (PNG); a render error in
the service reaches the caller as an ExportError with the service's message; a service that cannot be reached
makes the caller render itself; the service's socket folder is gone afterwards; a kernel started by the runner
renders through the service (it never starts a Chromium of its own); figures a kernel leaves to the service are
written before the runner's wait returns, and one that cannot be written fails the run without publishing it. Each case runs in a fresh process, so that no
kaleido started by another test is reused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
    assert not export._renderer_gone()  # a render error is not a lost service
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


def test_figures_left_to_the_service_are_written_before_the_wait_returns(tmp_path):
    """Under the runner (a staging folder and a service), save_figure queues the static files and returns; the
    runner's wait returns once they are written (the bytes of a direct render), or with one error per figure that
    could not be written, naming the file."""
    code = (
        FIGURE
        + f"""
import plotly.graph_objects as go
from pathlib import Path
from helpers.report import plots
staging = Path({str(tmp_path / "staging")!r})
os.environ["TREATY_EFFECTS_STAGING"] = str(staging)
fig = go.Figure(go.Scatter(x=[1, 2, 3], y=[2, 1, 3]), layout={{"title": {{"text": "a title"}}}})
plots.source_note(fig, "Source: a test")
with renderer.service():
    files = export.save_figure(fig, "line", staging, formats=("html", "png", "pdf"))
    (staging / "figures" / "broken.png").mkdir()  # the service cannot write this file
    export.save_figure(fig, "broken", staging, formats=("png",))
    errors = export.wait_for_deferred(staging)
    assert not export._KALEIDO_STARTED, "rendered in this process, not by the service"
    direct = export._static_bytes(export._sized_dict(fig, size, None, None), "png", size)
    assert files["png"].read_bytes() == direct, "the queued PNG differs from a direct render"
    assert files["pdf"].read_bytes().startswith(b"%PDF") and files["html"].is_file()
    assert len(errors) == 1 and errors[0].startswith("broken.png: cannot write"), errors
    assert export.wait_for_deferred(staging) == []  # each wait reports its errors once
    print("ok")
"""
    )
    assert _python(code).strip().endswith("ok")


def test_an_unreachable_service_means_rendering_here(tmp_path):
    code = (
        FIGURE
        + """
export.RENDERER_CONNECT_WAIT = 0.3
assert export.render_service_configured()
png = export._static_bytes(fig, "png", size)
assert png.startswith(bytes([0x89]) + b"PNG") and export._KALEIDO_STARTED and export._renderer_gone()
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


def _notebook(folder, parameters: str, body: str):
    """A two-cell notebook (a tagged parameters cell, then ``body``) written to ``folder/11_render.ipynb``."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    p = nbformat.v4.new_code_cell(parameters)
    p.metadata["tags"] = ["parameters"]
    nb.cells = [p, nbformat.v4.new_code_cell(body)]
    path = folder / "11_render.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.mark.slow
def test_kernels_of_a_run_render_through_the_service(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "REPORTS", tmp_path / "reports")
    path = _notebook(tmp_path, 'run_label = "default"', KERNEL_BODY)
    (res,) = runner.run(jobs=[(path, "lbl", {})], workers=1, echo=lambda *_: None)
    assert res.ok, res.error
    folder = tmp_path / "reports" / "11_render" / "lbl"
    where = pd.read_csv(folder / "results" / "where.csv")
    assert bool(where["service"].iloc[0]) and not bool(where["own_chromium"].iloc[0])
    assert {f.suffix for f in (folder / "figures").iterdir()} >= {".html", ".png", ".svg", ".pdf"}


@pytest.mark.slow
def test_a_figure_the_service_cannot_write_fails_the_run(tmp_path, monkeypatch):
    """The static files are written after the kernel has moved on: one that cannot be written fails the run, which
    then publishes nothing (the previous run folder stays), and the error names the file."""
    monkeypatch.setattr(paths, "REPORTS", tmp_path / "reports")
    body = KERNEL_BODY.replace(
        'export.save_figure(fig, "bars", out)',
        'if break_png:\n    (out / "figures" / "bars.png").mkdir()\nexport.save_figure(fig, "bars", out)',
    )
    path = _notebook(tmp_path, 'run_label = "default"\nbreak_png = False', body)
    (good,) = runner.run(jobs=[(path, "lbl", {})], workers=1, echo=lambda *_: None)
    assert good.ok, good.error
    folder = tmp_path / "reports" / "11_render" / "lbl"
    before = {f.name: f.read_bytes() for f in (folder / "figures").iterdir()}
    (bad,) = runner.run(jobs=[(path, "lbl", {"break_png": True})], workers=1, echo=lambda *_: None)
    assert not bad.ok and bad.error.startswith("static figure export failed: bars.png: cannot write"), (
        bad.error
    )
    assert {f.name: f.read_bytes() for f in (folder / "figures").iterdir()} == before
    assert [d.name for d in folder.parent.iterdir() if d.is_dir()] == ["lbl"]  # no staging folder left


def test_the_service_stops_when_its_runner_is_killed(still_running):
    """A runner killed with SIGKILL leaves no render service (nor its Chromium) behind, nor the service's private
    folder (socket and Chromium's profile), which the orphaned service removes."""
    import os
    import signal
    import time

    import psutil

    code = (
        "import os, sys, time\n"
        "from helpers.report import renderer\n"
        "cm = renderer.service()\n"
        "assert cm.__enter__()\n"
        "print('ready', os.environ[renderer.ADDRESS_ENV], flush=True)\n"
        "time.sleep(120)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], cwd=paths.ROOT, stdout=subprocess.PIPE, text=True)
    try:
        word, address = parent.stdout.readline().split()
        assert word == "ready"
        folder = Path(address).parent
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
        assert not still_running([services[0].pid]), "the render service outlived its killed runner"
        named = {p.pid: _cmd(p) for p in family}
        alive = still_running([pid for pid, cmd in named.items() if "crashpad" not in " ".join(cmd)])
        assert not alive, f"left running: {[named[pid] for pid in alive]}"
        assert not folder.exists(), f"the killed runner's private folder was left behind: {folder}"
    finally:
        if parent.poll() is None:
            parent.kill()


def _cmd(p) -> list[str]:
    import psutil

    try:
        return p.cmdline()
    except psutil.Error:
        return []


def test_a_stopped_service_leaves_no_chromium_and_no_files(still_running):
    """The runner stops its service by SIGTERM, which kills Chromium's process group outright (no graceful close
    to wait for): nothing of the service keeps running, and its temporary folder (socket and Chromium profile,
    through TMPDIR) is gone."""
    code = (
        "import json, os, time, psutil\n"
        "from pathlib import Path\n"
        "from helpers.report import renderer\n"
        "with renderer.service() as on:\n"
        "    assert on\n"
        "    folder = Path(os.environ[renderer.ADDRESS_ENV]).parent\n"
        "    time.sleep(3)  # Chromium up\n"
        "    family = [p for c in psutil.Process().children() for p in [c, *c.children(recursive=True)]]\n"
        "    names = [p.name() for p in family]\n"
        "    profile = [p.name for p in folder.iterdir() if p.name != 'socket']\n"
        "print(json.dumps({'pids': [p.pid for p in family], 'names': names,\n"
        "                  'folder': str(folder), 'profile': profile}))\n"
    )
    import json

    seen = json.loads(_python(code).strip().splitlines()[-1])
    assert any("chrom" in n for n in seen["names"]), seen["names"]  # Chromium ran under the service
    assert seen["profile"], "Chromium's profile was not in the service's folder (TMPDIR)"
    assert not os.path.exists(seen["folder"])
    alive = still_running(seen["pids"])
    assert not alive, f"left running: {alive}"
