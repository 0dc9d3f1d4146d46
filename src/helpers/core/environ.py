"""What the processes a block starts get, and what the block cleans up afterwards, one way each: environment
variables (:func:`environment`), a private temporary folder (:func:`private_folder`) and a background Python
process such as the runner's render service and kernel fork server (:func:`background_python`), which ends
through :func:`exit_background`."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import NoReturn

#: every private folder's name starts with this (``treaty-effects-render-...``, ``treaty-effects-kernels-...``)
PRIVATE_PREFIX = "treaty-effects-"


@contextlib.contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set ``values`` in ``os.environ`` for the duration of the block (processes started inside inherit them),
    then restore each variable's previous value, or remove it when it was unset."""
    before = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def private_folder(prefix: str) -> Iterator[Path]:
    """A new temporary folder for the block (``prefix`` names its owner, and must start with
    :data:`PRIVATE_PREFIX`), removed with its contents afterwards."""
    if not prefix.startswith(PRIVATE_PREFIX):
        raise ValueError(f"a private folder's prefix starts with {PRIVATE_PREFIX!r}, not {prefix!r}")
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def remove_private_folder(inside: str | Path) -> None:
    """Remove the :func:`private_folder` holding ``inside`` (a socket in it, say): what a background process does
    when the process that made the folder was killed outright (SIGKILL) and so cannot remove it
    (:func:`exit_background`). Refuses a folder whose name does not start with :data:`PRIVATE_PREFIX`, so it never
    removes anything else."""
    folder = Path(inside).parent
    if not folder.name.startswith(PRIVATE_PREFIX):
        raise ValueError(
            f"{folder} is not a private folder (its name does not start with {PRIVATE_PREFIX!r})"
        )
    shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def background_python(
    args: Sequence[str], env: Mapping[str, str] | None = None
) -> Iterator[subprocess.Popen]:
    """This Python running ``args`` in the background for the block (this process's environment with ``env`` over
    it; standard streams to /dev/null); stopped afterwards with SIGTERM, then SIGKILL if it has not ended in 10 s."""
    proc = subprocess.Popen(
        [sys.executable, *args],
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def exit_background(orphaned_in: str | Path | None = None) -> NoReturn:
    """End a :func:`background_python` process at once, from its SIGTERM handler or once its parent is gone: kill
    its child processes (a child leading a process group of its own, such as Chromium and its helpers, with its
    whole group), remove the private folder holding ``orphaned_in`` when given (the parent that made it was killed
    outright and cannot), and exit without Python's teardown (nothing of it is waited for)."""
    import psutil

    for child in psutil.Process().children():
        with contextlib.suppress(OSError, psutil.Error):
            if os.getpgid(child.pid) == child.pid:
                os.killpg(child.pid, signal.SIGKILL)
            else:
                child.kill()
    if orphaned_in is not None:  # the children are dead: nothing writes into the folder any more
        with contextlib.suppress(OSError, ValueError):
            remove_private_folder(orphaned_in)
    os._exit(0)
