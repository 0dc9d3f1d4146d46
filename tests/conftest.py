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
