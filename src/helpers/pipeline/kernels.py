"""Preloaded notebook kernels: a fork server that imports the libraries once for every kernel of a run.

Each notebook of the main job starts a fresh Python kernel that imports ipykernel, pandas, scipy, plotly and the
estimation libraries again: 2.5 to 3.5 s of CPU per kernel, a quarter of a light notebook's run and about 30 s of
the main job on two cores. While the runner (:func:`helpers.pipeline.runner.run`) runs, :func:`preloaded` keeps a
*fork server*: one process that imported those libraries (:data:`PRELOAD`) and forks a kernel for each notebook.
A forked kernel is an ordinary ipykernel (``ipykernel.kernelapp``, the same as ``python -m ipykernel_launcher``)
with the environment, working folder, arguments and standard streams of the process jupyter_client started, so a
notebook computes, prints and displays what it would in a fresh kernel (tested). Nothing of the project
(``helpers``) is preloaded: its modules read the run's environment when imported.

How it plugs in: the runner asks papermill for the kernel :data:`KERNEL_NAME`, whose kernel spec (written in the
server's temporary folder, found through ``JUPYTER_PATH``) starts :func:`launch`: a small process that hands its
arguments, environment and standard streams to the server over a Unix socket, forwards signals (interrupt,
terminate) to the forked kernel and exits with its exit status, so jupyter_client manages it as it manages any
kernel. Killed outright (SIGKILL), the launcher leaves no kernel behind: the server kills a kernel whose launcher is
gone. When the server cannot be reached the launcher becomes an ordinary kernel (``exec`` of ipykernel_launcher).
Outside the runner (JupyterLab, VS Code) nothing changes. ``TREATY_EFFECTS_PRELOAD=0`` turns the server off.

What a library decides when it is imported is decided in the server, without a kernel, so (each found by
``tests/test_kernels.py``, which runs a notebook in both kinds of kernel and compares every output):

- plotly picks its default renderer when imported, by looking for a running kernel: the server sets
  ``PLOTLY_RENDERER=plotly_mimetype`` (what it picks in a kernel; a value the user set is kept);
- matplotlib reads ``MPLBACKEND`` when imported: the server sets the inline backend as ipykernel does; pyplot and
  ``matplotlib_inline`` are not preloaded, as the backend hooks into the IPython shell when first imported;
- ipykernel reads ``JPY_PARENT_PID`` when imported: the kernel gets it as ``--IPKernelApp.parent_handle``;
- nbclient keeps IPython's history in memory only for a kernel named ``python3``: the runner asks for it;
- a forked process shares the server's ``sys.path``: the server's own folder is removed, as ipykernel_launcher
  removes the current folder.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import selectors
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator

from helpers.core import imports
from helpers.core.environ import background_python, environment, exit_background, private_folder

ADDRESS_ENV = "TREATY_EFFECTS_FORK_SERVER"  # the server's socket, for the launchers
SWITCH_ENV = "TREATY_EFFECTS_PRELOAD"  # "0": no fork server
KERNEL_NAME = "treaty-effects-preloaded"
FALLBACK_KERNEL = "python3"

#: what the server imports once: the kernel itself and the third-party libraries the notebooks use (lazily
#: imported ones included: a kernel that never needs them pays nothing for them being here)
PRELOAD = (
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "IPython.core.interactiveshell",
    "numpy",
    "pandas",
    "pyarrow.parquet",
    "scipy.stats",
    "scipy.optimize",
    "scipy.sparse.linalg",
    "plotly.graph_objects",
    "plotly.express",
    "plotly.io",
    # matplotlib without pyplot and its inline backend: the backend hooks into the IPython shell when first
    # imported, and there is no shell here (a forked kernel imports them itself, as a fresh one does)
    "matplotlib",
    "statsmodels.api",
    "pyfixest",
    "diff_diff",
    "linearmodels",
    "geopandas",
    "shapely",
    "narwhals",
    "nbformat",
    "pandera.pandas",
)

#: settings ipykernel makes in every kernel, made here before the libraries that read them are imported
KERNEL_DEFAULTS = {
    "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    "PLOTLY_RENDERER": "plotly_mimetype",
}

_LEN = struct.Struct("!I")
_START_DIR = os.getcwd()  # the server's sys.path[0] (started with -m)


def enabled() -> bool:
    return os.environ.get(SWITCH_ENV, "1").strip() != "0"


def kernel_name() -> str:
    """The kernel a notebook of this run starts: the preloaded one while a fork server runs, else ``python3``."""
    return KERNEL_NAME if os.environ.get(ADDRESS_ENV) else FALLBACK_KERNEL


# --------------------------------------------------------------------------------------------------------------
# the runner's side
# --------------------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def preloaded(env: dict[str, str] | None = None) -> Iterator[bool]:
    """Start a fork server for the kernels started inside the block (its environment: this process's with
    ``env``, the kernels' numerical settings) and stop it, with any kernel still running, afterwards. Yields whether
    a server runs (not when :data:`SWITCH_ENV` is "0" or a server is already configured)."""
    if not enabled() or os.environ.get(ADDRESS_ENV):
        yield False
        return
    with private_folder("treaty-effects-kernels-") as folder:
        address = str(folder / "socket")
        spec = folder / "kernels" / KERNEL_NAME
        spec.mkdir(parents=True)
        (spec / "kernel.json").write_text(
            json.dumps(
                {
                    "argv": [sys.executable, "-m", "helpers.pipeline.kernels", "-f", "{connection_file}"],
                    "display_name": "Python 3 (treaty-effects, preloaded)",
                    "language": "python",
                    "metadata": {"debugger": True},
                    "kernel_protocol_version": "5.5",
                }
            )
        )
        jupyter_path = os.pathsep.join(p for p in (str(folder), os.environ.get("JUPYTER_PATH", "")) if p)
        with background_python(["-m", "helpers.pipeline.kernels", "--serve", address], env) as proc:
            _wait_for(address, proc)  # bound before its first import: a launcher never finds no socket
            with environment({ADDRESS_ENV: address, "JUPYTER_PATH": jupyter_path}):
                yield True


def _wait_for(address: str, proc: subprocess.Popen, timeout: float = 20.0) -> None:
    """Until the server's socket exists (or the server died, or ``timeout``: launchers then start ordinary kernels)."""
    deadline = time.monotonic() + timeout
    while not os.path.exists(address) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)


# --------------------------------------------------------------------------------------------------------------
# the server
# --------------------------------------------------------------------------------------------------------------
def _recv_exact(conn: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def serve(address: str) -> None:
    """Bind ``address``, import :data:`PRELOAD`, then fork a kernel for each launcher that connects (launchers that
    connect meanwhile wait in the socket's backlog)."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(address)
    listener.listen(64)
    for key, value in KERNEL_DEFAULTS.items():
        os.environ.setdefault(key, value)
    imports.skip_iri_format_checker()  # as every notebook's start() does, before jsonschema is imported
    for name in PRELOAD:
        with contextlib.suppress(ImportError):  # a library a kernel may lack is imported by it, if ever
            importlib.import_module(name)
    _Server(listener, address).loop()


class _Server:
    """The fork server's loop: accept launchers, fork kernels, report their exits, kill orphans."""

    def __init__(self, listener: socket.socket, address: str) -> None:
        self.listener = listener
        self.address = address
        self.kernels: dict[int, socket.socket] = {}  # kernel pid -> its launcher's connection
        self.wake_r, self.wake_w = socket.socketpair()
        self.wake_r.setblocking(False)
        self.wake_w.setblocking(False)
        signal.set_wakeup_fd(self.wake_w.fileno())
        signal.signal(signal.SIGCHLD, lambda *_: None)  # wakes the selector (through the wakeup fd)
        signal.signal(signal.SIGTERM, lambda *_: exit_background())  # the runner's terminate(): kernels too
        self.sel = selectors.DefaultSelector()
        self.sel.register(listener, selectors.EVENT_READ, "accept")
        self.sel.register(self.wake_r, selectors.EVENT_READ, "signal")

    def loop(self) -> None:
        parent = os.getppid()
        while True:
            for key, _ in self.sel.select(timeout=1.0):
                if key.data == "accept":
                    self.accept()
                elif key.data == "signal":
                    with contextlib.suppress(OSError):
                        self.wake_r.recv(4096)
                else:  # a launcher's connection: closed means the launcher is gone (killed), and so goes its kernel
                    with contextlib.suppress(OSError):
                        if key.fileobj.recv(1) == b"":
                            os.kill(key.data, signal.SIGKILL)
                            self.sel.unregister(key.fileobj)
            _reap(self.kernels, self.sel)
            if (
                os.getppid() != parent
            ):  # the runner was killed: every kernel goes, and the folder it cannot remove
                exit_background(orphaned_in=self.address)

    def accept(self) -> None:
        conn, _ = self.listener.accept()
        try:
            pid = _fork_kernel(conn, [self.listener, self.wake_r, self.wake_w, *self.kernels.values()])
        except (OSError, EOFError, ValueError):
            conn.close()
            return
        self.kernels[pid] = conn
        self.sel.register(conn, selectors.EVENT_READ, pid)


def _reap(kernels: dict[int, socket.socket], sel: selectors.BaseSelector) -> None:
    """Send each exited kernel's status to its launcher."""
    while kernels:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        conn = kernels.pop(pid, None)
        if conn is None:
            continue
        with contextlib.suppress(KeyError, ValueError):
            sel.unregister(conn)
        with contextlib.suppress(OSError):
            conn.sendall(f"exit {os.waitstatus_to_exitcode(status)}\n".encode())
        conn.close()


def _fork_kernel(conn: socket.socket, close_in_child: list[socket.socket]) -> int:
    """Read one launcher's request (arguments, environment, working folder; its stdin, stdout and stderr as file
    descriptors), fork, and start the kernel in the child. Returns the kernel's pid (also sent to the launcher)."""
    head, fds, _, _ = socket.recv_fds(conn, _LEN.size, 3)
    if len(head) < _LEN.size or len(fds) != 3:
        raise ValueError("malformed request")
    request = json.loads(_recv_exact(conn, _LEN.unpack(head)[0]))
    pid = os.fork()
    if pid == 0:
        _become_kernel(request, fds, [*close_in_child, conn])
    for fd in fds:
        os.close(fd)
    conn.sendall(f"pid {pid}\n".encode())
    return pid


def _become_kernel(request: dict, fds: list[int], close: list[socket.socket]) -> None:
    """In the forked child: take the launcher's streams, folder, environment and arguments, and run ipykernel's
    kernel app as ``python -m ipykernel_launcher`` would. Never returns: it ends in SystemExit, which no frame of
    the server catches, so the child ends as a kernel ends (exit handlers included, such as the runner's quick exit
    registered by the notebook's ``start()``), never back in the server's loop."""
    try:
        signal.set_wakeup_fd(-1)
        for sig in (signal.SIGCHLD, signal.SIGTERM):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for s in close:
            s.close()
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        if sys.path and sys.path[0] == _START_DIR:  # removed, as ipykernel_launcher removes its own
            del sys.path[0]
        sys.argv = [request["argv0"], *request["argv"]]
        if os.environ.get("JPY_PARENT_PID"):  # ipykernel reads it when imported (here: in the server)
            sys.argv.append(f"--IPKernelApp.parent_handle={os.environ['JPY_PARENT_PID']}")
        from ipykernel import kernelapp

        kernelapp.launch_new_instance()
    except SystemExit:
        raise
    except BaseException:  # noqa: BLE001  (the kernel's own failure: reported on its stderr, exit 1)
        import traceback

        traceback.print_exc()
        sys.exit(1)
    sys.exit(0)


# --------------------------------------------------------------------------------------------------------------
# the launcher (what jupyter_client starts)
# --------------------------------------------------------------------------------------------------------------
_FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)


def launch(argv: list[str]) -> int:
    """Have the fork server start a kernel with ``argv`` (ipykernel's arguments) and this process's environment,
    working folder and standard streams; forward signals to it; return its exit status. Without a server: become
    an ordinary kernel."""
    address = os.environ.get(ADDRESS_ENV, "")
    try:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.connect(address)
        request = json.dumps(
            {"argv0": _launcher_path(), "argv": argv, "env": dict(os.environ), "cwd": os.getcwd()}
        ).encode()
        socket.send_fds(conn, [_LEN.pack(len(request))], [0, 1, 2])
        conn.sendall(request)
        reply = conn.makefile("r")
        first = reply.readline().split()
        if len(first) != 2 or first[0] != "pid":
            raise OSError("no kernel started")
    except OSError:
        os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", *argv])
    pid = int(first[1])

    def forward(sig, _frame) -> None:
        with contextlib.suppress(OSError):
            os.kill(pid, sig)

    for sig in _FORWARDED:
        signal.signal(sig, forward)
    while True:
        try:
            line = reply.readline()
        except InterruptedError:  # pragma: no cover - retried by Python itself (PEP 475)
            continue
        if not line:  # the server is gone: the kernel with it
            return 1
        word, _, value = line.strip().partition(" ")
        if word == "exit":
            code = int(value)
            return code if code >= 0 else 128 - code


def _launcher_path() -> str:
    """``sys.argv[0]`` of an ordinary kernel: the path of ipykernel's launcher script."""
    import importlib.util

    spec = importlib.util.find_spec("ipykernel_launcher")
    return spec.origin if spec and spec.origin else "ipykernel_launcher"


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        serve(sys.argv[2])
    else:
        sys.exit(launch(sys.argv[1:]))
