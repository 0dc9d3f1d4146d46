"""Shared test set-up: single-threaded BLAS (set before numpy loads) and common fixtures."""

import os

for _k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS"):
    os.environ.setdefault(_k, "1")
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")

import pandas as pd
import pytest

from helpers.core import paths


@pytest.fixture(scope="session")
def panel() -> pd.DataFrame:
    """The real processed panel (built by `make build`); skipped when it has not been built."""
    if not paths.PANEL.exists():
        pytest.skip(f"{paths.PANEL} not built yet (run `make build`)")
    return pd.read_parquet(paths.PANEL)


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie, killed and waiting to be reaped by init, is not)."""
    import psutil

    try:
        return psutil.Process(pid).status() not in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)
    except psutil.Error:
        return False


@pytest.fixture
def still_running():
    """``still_running(pids, timeout=15)``: the processes of ``pids`` still running once they all ended or
    ``timeout`` seconds passed (for tests that a stopped or killed process leaves nothing behind)."""
    import time

    def wait(pids, timeout: float = 15.0) -> list[int]:
        deadline = time.monotonic() + timeout
        alive = [p for p in pids if _running(p)]
        while alive and time.monotonic() < deadline:
            time.sleep(0.1)
            alive = [p for p in alive if _running(p)]
        return alive

    return wait
