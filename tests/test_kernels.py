"""Preloaded kernels (helpers.pipeline.kernels): a kernel forked from the runner's fork server.

Checked: a notebook run in a forked kernel prints, displays and computes what it does in a fresh kernel (text
outputs, a plotly figure's JSON, a matplotlib figure's inline PNG, numbers, a warning, the working folder, the
environment, sys.path and sys.argv[0]),
and the forked kernel really was preloaded (a fresh one was not); a launcher killed outright leaves no kernel; the
server's end ends its kernels; without a reachable server the launcher becomes an ordinary kernel; the runner forks
the kernels of a run of several notebooks (not of one alone), and ``TREATY_EFFECTS_PRELOAD=0`` turns it off."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from helpers.core import paths
from helpers.core.environ import environment
from helpers.pipeline import kernels

PROBE = [
    "import os, sys\npreloaded = 'scipy.stats' in sys.modules\nprint(preloaded)",
    "import numpy as np\nimport pandas as pd\nrng = np.random.default_rng(7)\n"
    "x = pd.Series(rng.normal(size=1000))\nprint(repr(float(x.std())), repr(float(np.linalg.inv(np.eye(3) * 2).sum())))",
    "print(sys.path, sys.argv[0], os.getcwd(), os.environ.get('PROBE_VAR'))",
    "import warnings\nwarnings.warn('a warning')",
    "import plotly.graph_objects as go\ngo.Figure(go.Scatter(x=[1, 2, 3], y=[3, 1, 2]), layout={'title': {'text': 't'}})",
    "import matplotlib.pyplot as plt\nfig, ax = plt.subplots(figsize=(2, 1.5))\nax.plot([1, 2, 3], [3, 1, 2])\nplt.show()",
    "hash('a string') == hash('a string'), sys.flags.hash_randomization",
]


def _run(kernel: str, tmp_path, name: str) -> list[dict]:
    import papermill as pm

    nb = new_notebook(cells=[new_code_cell(c) for c in PROBE])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    src, out = tmp_path / f"{name}-in.ipynb", tmp_path / f"{name}.ipynb"
    nbformat.write(nb, src)
    with environment({"PROBE_VAR": "seen"}):
        pm.execute_notebook(str(src), str(out), kernel_name=kernel, cwd=str(paths.ROOT), progress_bar=False)
    return [c.outputs for c in nbformat.read(out, 4).cells]


def _comparable(outputs: list) -> list:
    keep = []
    for cell in outputs:
        for o in cell:
            o = dict(o)
            o.pop("execution_count", None)
            if "data" in o:
                o["data"] = dict(o["data"])
            text = json.dumps(o, sort_keys=True, default=str)
            keep.append(
                re.sub(r"ipykernel_\d+", "ipykernel_PID", text)
            )  # a cell's file is named by its kernel
    return keep


def test_a_forked_kernel_gives_what_a_fresh_kernel_gives(tmp_path):
    fresh = _run(kernels.FALLBACK_KERNEL, tmp_path, "fresh")
    with kernels.preloaded() as on:
        assert on and kernels.kernel_name() == kernels.KERNEL_NAME
        forked = _run(kernels.kernel_name(), tmp_path, "forked")
    assert fresh[0][0]["text"].strip() == "False"  # a fresh kernel imports scipy itself
    assert forked[0][0]["text"].strip() == "True"  # the forked one had it
    assert _comparable(forked[1:]) == _comparable(fresh[1:])
    kinds = {k for cell in forked for o in cell for k in o.get("data", {})}
    assert {"application/vnd.plotly.v1+json", "image/png"} <= kinds, (
        kinds
    )  # plotly's renderer, inline backend
    assert forked[2][0]["text"].split()[-1] == "seen"  # the launcher's environment


def _kernel_pid(km) -> int:
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        reply = kc.execute_interactive("import os; print(os.getpid())", timeout=60, output_hook=_collect)
        assert reply["content"]["status"] == "ok"
        return int(_collect.text.strip().splitlines()[-1])
    finally:
        kc.stop_channels()


def _collect(msg) -> None:
    if msg["msg_type"] == "stream":
        _collect.text += msg["content"]["text"]


def _thread_names(pid: int) -> set[str]:
    """The names of the threads of process ``pid`` other than its main thread (Linux: /proc/PID/task)."""
    tasks = Path(f"/proc/{pid}/task")
    return {(tasks / t / "comm").read_text().strip() for t in os.listdir(tasks) if int(t) != pid}


@pytest.mark.parametrize("how", ["launcher killed", "server stopped"])
def test_no_kernel_outlives_its_launcher_or_its_server(how, still_running):
    """A kernel dies with its launcher or its server; and the server it was forked from runs a single thread."""
    import psutil
    from jupyter_client import KernelManager

    _collect.text = ""
    with kernels.preloaded():
        km = KernelManager(kernel_name=kernels.KERNEL_NAME)
        km.start_kernel()
        try:
            pid = _kernel_pid(km)
            assert pid != km.provisioner.process.pid  # the kernel is the server's child, not the launcher
            # fork() copies only the calling thread: a thread a preloaded library started in the server (a pool, a
            # watcher) would be missing, with its locks possibly held, in every kernel. The server runs none but
            # jemalloc's background thread (pyarrow's allocator starts it), which jemalloc's own fork handlers
            # take all its locks for and stop in the child; a Python thread would show under the name "python".
            server = psutil.Process(pid).parent()
            assert "--serve" in " ".join(server.cmdline())
            assert _thread_names(server.pid) - {"jemalloc_bg_thd"} == set(), _thread_names(server.pid)
            assert "jemalloc_bg_thd" not in _thread_names(pid)  # stopped in the forked kernel
            if how == "launcher killed":
                os.kill(km.provisioner.process.pid, signal.SIGKILL)
                assert not still_running([pid]), "the kernel outlived its killed launcher"
        finally:
            if how == "launcher killed":
                km.cleanup_resources()
    if how == "server stopped":
        assert not still_running([pid]), "the kernel outlived the fork server"
        km.shutdown_kernel(now=True)


def test_without_a_server_the_launcher_is_an_ordinary_kernel(tmp_path):
    with kernels.preloaded(), environment({kernels.ADDRESS_ENV: str(tmp_path / "no-such-socket")}):
        outputs = _run(kernels.KERNEL_NAME, tmp_path, "fallback")
    assert outputs[0][0]["text"].strip() == "False"  # not preloaded: exec'd as ipykernel_launcher
    assert any("image/png" in o.get("data", {}) for o in outputs[5])


def test_the_runner_forks_the_kernels_of_a_run_of_several_notebooks(tmp_path):
    """The probe notebook through the runner: two runs are forked from the server (the main job's case), one run
    alone gets a fresh kernel (a server would import more than one notebook needs), and with
    TREATY_EFFECTS_PRELOAD=0 no run is forked."""
    code = (
        "import json, nbformat, sys\n"
        "from pathlib import Path\n"
        "from helpers.pipeline import runner\n"
        "jobs = [(Path(sys.argv[1]), label, {}) for label in sys.argv[2].split(',')]\n"
        "res = runner.run(jobs=jobs, echo=lambda *a, **k: None)\n"
        "assert all(r.ok for r in res), [r.error for r in res]\n"
        "print(json.dumps([nbformat.read(r.output, 4).cells[-1].outputs[0]['text'].strip() for r in res]))\n"
    )
    params = new_code_cell('run_label = "default"')
    params.metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=[params, new_code_cell(PROBE[0])])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    probe = tmp_path / "notebooks" / "probe.ipynb"
    probe.parent.mkdir()
    nbformat.write(nb, probe)
    seen = {}
    for switch, labels in (("1", "a,b"), ("1", "alone"), ("0", "c,d")):
        done = subprocess.run(
            [sys.executable, "-c", code, str(probe), labels],
            cwd=paths.ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            env={
                **os.environ,
                kernels.SWITCH_ENV: switch,
                "TREATY_EFFECTS_REPORTS": str(tmp_path / "reports"),
                "TREATY_EFFECTS_STATIC": "0",
            },
        )
        assert done.returncode == 0, done.stderr[-3000:]
        seen[labels] = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen == {"a,b": ["True", "True"], "alone": ["False"], "c,d": ["False", "False"]}


def test_a_killed_runner_leaves_no_server_and_no_kernel(still_running):
    """SIGKILL to the process that started the server (the runner): the server sees it is orphaned and kills its
    kernels, then itself, and removes the private folder (socket, kernel spec) the runner can no longer remove."""
    import psutil

    code = (
        "import os, time\n"
        "from jupyter_client import KernelManager\n"
        "from helpers.pipeline import kernels\n"
        "cm = kernels.preloaded()\n"
        "assert cm.__enter__()\n"
        "km = KernelManager(kernel_name=kernels.KERNEL_NAME)\n"
        "km.start_kernel()\n"
        "kc = km.client(); kc.start_channels(); kc.wait_for_ready(timeout=60)\n"
        "print('ready', os.environ[kernels.ADDRESS_ENV], flush=True)\n"
        "time.sleep(120)\n"
    )
    runner = subprocess.Popen([sys.executable, "-c", code], cwd=paths.ROOT, stdout=subprocess.PIPE, text=True)
    try:
        word, address = runner.stdout.readline().split()
        assert word == "ready"
        folder = Path(address).parent
        assert folder.is_dir()
        server = [p for p in psutil.Process(runner.pid).children() if "--serve" in " ".join(p.cmdline())]
        assert len(server) == 1
        forked = server[0].children()
        assert len(forked) == 1  # the kernel, a child of the server
        os.kill(runner.pid, signal.SIGKILL)
        runner.wait()
        assert not still_running([server[0].pid]), "the fork server outlived its killed runner"
        assert not still_running([forked[0].pid]), "a kernel outlived the killed runner"
        assert not folder.exists(), f"the killed runner's private folder was left behind: {folder}"
    finally:
        if runner.poll() is None:
            runner.kill()
