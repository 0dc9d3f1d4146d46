"""One Chromium for a whole run of notebooks: a static-figure render service shared by every kernel.

Without it each notebook kernel starts its own Chromium for kaleido (2 to 4 s, and 1.5 to 2 s of CPU, per notebook
run), and its first figure waits for it. The runner (:func:`helpers.pipeline.runner.run`) starts this service once
(:func:`service`) before the first notebook, so Chromium starts while the first kernel starts; kernels find it
through :data:`ADDRESS_ENV` and :data:`KEY_ENV` and send their figures to it (the client is in
:mod:`helpers.report.export`, so that export does not import this module), rendered one at a time with the same
kaleido and Chromium settings as in-kernel export (:func:`helpers.report.export.render_static`, which both use). Outside the runner (JupyterLab, a script) nothing changes: the kernel renders itself.

Protocol: a Unix socket of :mod:`multiprocessing.connection` with an authentication key; a request is
``(figure dict, format, width, height, scale)``, a reply ``("ok", bytes)`` or ``("error", message)``. A render error
is raised in the kernel as :class:`helpers.report.export.ExportError` with the service's message; a service that
cannot be reached (it died, or the socket is gone) is not an error: the kernel renders the figure itself.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from multiprocessing.connection import Listener
from pathlib import Path

from helpers.core.environ import environment
from helpers.report import export
from helpers.report.export import RENDERER_ADDRESS_ENV as ADDRESS_ENV
from helpers.report.export import RENDERER_KEY_ENV as KEY_ENV


# --------------------------------------------------------------------------------------------------------------
# the service process
# --------------------------------------------------------------------------------------------------------------
def _serve_connection(conn, lock: threading.Lock) -> None:
    with conn:
        while True:
            try:
                fig_dict, fmt, width, height, scale = conn.recv()
            except (EOFError, OSError):
                return
            try:
                with lock:  # one kaleido, one figure at a time
                    reply = ("ok", export.render_static(fig_dict, fmt, width, height, scale))
            except Exception as exc:  # the kernel raises it as an ExportError
                reply = (
                    "error",
                    str(exc) if isinstance(exc, export.ExportError) else f"{type(exc).__name__}: {exc}",
                )
            try:
                conn.send(reply)
            except (OSError, EOFError):
                return


def _exit_with_parent(parent: int) -> None:
    """A runner killed outright (SIGKILL) cannot stop its service: the service stops itself once its parent is gone
    (it is re-parented), through SIGTERM so that Chromium is closed too."""
    import signal
    import time

    while os.getppid() == parent:
        time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGTERM)


def serve(address: str, key: bytes) -> None:
    """Run the service until the process is terminated: start kaleido's Chromium, then answer every connection
    (one thread each; renders one at a time)."""
    import signal

    # terminate() from the runner: exit through Python, so kaleido's exit handler closes Chromium
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    lock = threading.Lock()
    with Listener(address, family="AF_UNIX", authkey=key) as listener:
        with lock:  # listening already: the first request waits for Chromium, not for the socket
            export.start_kaleido()
        while True:
            try:
                conn = listener.accept()
            except (OSError, EOFError):  # a client that failed authentication, or a broken handshake
                continue
            threading.Thread(target=_serve_connection, args=(conn, lock), daemon=True).start()


@contextlib.contextmanager
def service() -> Iterator[bool]:
    """Start the render service for the processes this one starts (the runner's kernels), and stop it afterwards.

    Yields whether a service runs: none when static export is off or Chromium is missing (kernels then do what
    they did before), or when a service is already configured (an outer run). The address and key go into this
    process's environment, which kernels and Dask workers started inside the block inherit."""
    if (
        export.render_service_configured()
        or not export.static_export_enabled()
        or export.chromium_path() is None
    ):
        yield False
        return
    folder = Path(tempfile.mkdtemp(prefix="treaty-effects-render-"))
    address, key = str(folder / "socket"), secrets.token_bytes(32)
    env = {**os.environ, KEY_ENV: key.hex()}
    proc = subprocess.Popen(
        [sys.executable, "-m", "helpers.report.renderer", address],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with environment({ADDRESS_ENV: address, KEY_ENV: key.hex()}):
            yield True
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        with contextlib.suppress(OSError):
            for f in folder.iterdir():
                f.unlink()
            folder.rmdir()


if __name__ == "__main__":
    serve(sys.argv[1], bytes.fromhex(os.environ[KEY_ENV]))
