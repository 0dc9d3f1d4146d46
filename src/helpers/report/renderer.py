"""One Chromium for a whole run of notebooks: a static-figure render service shared by every kernel.

Without it each notebook kernel starts its own Chromium for kaleido (2 to 4 s, and 1.5 to 2 s of CPU, per notebook
run), and its first figure waits for it. The runner (:func:`helpers.pipeline.runner.run`) starts this service once
(:func:`service`) before the first notebook, so Chromium starts while the first kernel starts; kernels find it
through :data:`ADDRESS_ENV` and :data:`KEY_ENV` and send their figures to it (the client is in
:mod:`helpers.report.export`, so that export does not import this module), rendered one at a time with the same
kaleido and Chromium settings as in-kernel export (:func:`helpers.report.export.render_static`, which both use).
Outside the runner (JupyterLab, a script) nothing changes: the kernel renders itself.

A kernel does not wait for its static figures: :func:`helpers.report.export.save_figure` queues them (``write``)
for the service, which renders and writes them, in order, into the run's staging folder while the notebook goes on
(on the machine's other core). Before it publishes a run, the runner waits for that run's figures (``wait``) and
fails the run when one could not be rendered or written.

Protocol: a Unix socket of :mod:`multiprocessing.connection` with an authentication key. Requests:
``("render", figure dict, format, width, height, scale)``, replied ``("ok", bytes)``;
``("write", run folder, figure dict, [(path, format, width, height, scale), ...])`` (one figure, each of its static
formats), replied ``("ok", None)`` once queued;
``("wait", run folder)``, replied ``("ok", [error, ...])`` once every figure queued for that folder is written.
A failed request is replied ``("error", message)``, which the kernel raises as
:class:`helpers.report.export.ExportError`; a service that cannot be reached (it died, or the socket is gone) is
not an error for a kernel, which then renders its figures itself, but is one for the runner's ``wait``: figures
queued before it died are lost, so the run fails.
"""

from __future__ import annotations

import collections
import contextlib
import os
import queue
import secrets
import signal
import sys
import threading
import time
from collections.abc import Iterator
from multiprocessing.connection import Listener
from pathlib import Path

from helpers.core.environ import background_python, environment, exit_background, private_folder
from helpers.report import export
from helpers.report.export import RENDERER_ADDRESS_ENV as ADDRESS_ENV
from helpers.report.export import RENDERER_KEY_ENV as KEY_ENV


# --------------------------------------------------------------------------------------------------------------
# the service process
# --------------------------------------------------------------------------------------------------------------
class _Queue:
    """Static figures that kernels left to the service (``write`` requests), written in order by one thread, and
    what the runner waits for (``wait``): per run (its staging folder), the number still to write and the errors."""

    def __init__(self, lock: threading.Lock) -> None:
        self.lock = lock  # the one kaleido: shared with the direct renders
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        self.done = threading.Condition()
        self.pending: collections.Counter[str] = collections.Counter()
        self.errors: collections.defaultdict[str, list[str]] = collections.defaultdict(list)
        threading.Thread(target=self._work, name="render-queue", daemon=True).start()

    def put(self, folder: str, fig_dict: dict, jobs: list[tuple[str, str, int, int, float]]) -> None:
        """Queue one figure to be written as each ``(path, format, width, height, scale)`` of ``jobs``."""
        outside = [path for path, *_ in jobs if not Path(path).resolve().is_relative_to(folder)]
        if outside:
            raise ValueError(f"{outside} not inside the run folder {folder}")
        with self.done:
            self.pending[folder] += len(jobs)
        self.jobs.put((folder, fig_dict, jobs))

    def wait(self, folder: str) -> list[str]:
        with self.done:
            self.done.wait_for(lambda: self.pending[folder] == 0)
            self.pending.pop(folder, None)
            return self.errors.pop(folder, [])

    def _work(self) -> None:
        while True:
            folder, fig_dict, jobs = self.jobs.get()
            for path, fmt, width, height, scale in jobs:
                try:
                    if not Path(path).parent.is_dir():  # the run was given up (interrupted): write nothing
                        raise FileNotFoundError(f"{Path(path).parent} is gone")
                    with self.lock:
                        data = export.render_static(fig_dict, fmt, width, height, scale)
                    export.atomic_write(Path(path), data)
                except Exception as exc:  # reported to the runner, which fails the run
                    with self.done:
                        self.errors[folder].append(f"{Path(path).name}: {_message(exc)}")
                finally:
                    with self.done:
                        self.pending[folder] -= 1
                        self.done.notify_all()


def _message(exc: Exception) -> str:
    return str(exc) if isinstance(exc, export.ExportError) else f"{type(exc).__name__}: {exc}"


def _answer(request: tuple, lock: threading.Lock, writes: _Queue) -> tuple[str, object]:
    verb, *args = request
    if verb == "render":  # (figure dict, format, width, height, scale): the bytes
        with lock:  # one kaleido, one figure at a time
            return "ok", export.render_static(*args)
    if verb == "write":  # (run folder, figure dict, [(path, format, width, height, scale), ...]): queued
        writes.put(*args)
        return "ok", None
    if verb == "wait":  # (run folder,): the errors of its queued figures, once all are written
        return "ok", writes.wait(*args)
    raise ValueError(f"unknown request {verb!r}")


def _serve_connection(conn, lock: threading.Lock, writes: _Queue) -> None:
    with conn:
        while True:
            try:
                request = conn.recv()
            except (EOFError, OSError):
                return
            try:
                reply = _answer(request, lock, writes)
            except Exception as exc:  # the kernel raises it as an ExportError
                reply = ("error", _message(exc))
            try:
                conn.send(reply)
            except (OSError, EOFError):
                return


def _exit_with_parent(parent: int, address: str) -> None:
    """A runner killed outright (SIGKILL) cannot stop its service nor remove its folder: once its parent is gone (it
    is re-parented), the service kills Chromium and removes the folder (socket and Chromium's profile) itself."""
    while os.getppid() == parent:
        time.sleep(0.5)
    exit_background(orphaned_in=address)


def serve(address: str, key: bytes) -> None:
    """Run the service until the process is terminated: start kaleido's Chromium, then answer every connection
    (one thread each; renders one at a time).

    SIGTERM (the runner's ``terminate()``) kills Chromium and exits at once (:func:`exit_background`): closing
    Chromium through kaleido's exit handler took 0.4 to 0.5 s that every run waited for. Chromium runs in a process
    group of its own (choreographer starts it in a new session), killed whole; its profile folder is in this
    service's temporary folder (``TMPDIR``), which the runner removes."""
    signal.signal(signal.SIGTERM, lambda *_: exit_background())
    threading.Thread(target=_exit_with_parent, args=(os.getppid(), address), daemon=True).start()
    lock = threading.Lock()
    writes = _Queue(lock)
    with Listener(address, family="AF_UNIX", authkey=key) as listener:
        with lock:  # listening already: the first request waits for Chromium, not for the socket
            export.start_kaleido()
        while True:
            try:
                conn = listener.accept()
            except (OSError, EOFError):  # a client that failed authentication, or a broken handshake
                continue
            threading.Thread(target=_serve_connection, args=(conn, lock, writes), daemon=True).start()


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
    with private_folder("treaty-effects-render-") as folder:
        address, key = str(folder / "socket"), secrets.token_bytes(32)
        # TMPDIR: Chromium's profile goes into the folder, removed with it
        service_env = {KEY_ENV: key.hex(), "TMPDIR": str(folder)}
        with (
            background_python(["-m", "helpers.report.renderer", address], service_env),
            environment({ADDRESS_ENV: address, KEY_ENV: key.hex()}),
        ):
            yield True


if __name__ == "__main__":
    serve(sys.argv[1], bytes.fromhex(os.environ[KEY_ENV]))
