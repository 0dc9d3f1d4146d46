"""Example panels for the "own panel" route: notebooks 04 and 05 on data that is not the project panel.

``python -m helpers example NAME`` writes one of :data:`EXAMPLES` to ``data/processed/examples/`` (generated, never
committed); ``params/examples/*.yml`` run the notebooks on them (README, "Your own panel"):

- ``mpdta``: the R ``did`` package's county panel of teen employment (Callaway and Sant'Anna 2021), read from the
  registry file ``did_mpdta/mpdta.rda`` and written as a tidy CSV (``countyreal``, ``year``, ``lemp``,
  ``first.treat`` = first treated year, 0 = never treated, ``treat``, ``lpop``), for notebook 04;
- ``case``: a synthetic panel of 25 units over 1990-2010 in which unit ``U00`` jumps by exactly 0.5 from 2000 on
  (``unit``, ``period``, ``y``, ``event`` = 2000 for U00 and empty for the others, ``treated`` = 1 for U00 from
  2000), for notebook 05; the known effect lets a user check the route end to end.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.core import paths
from helpers.core.errors import DataError, ParameterError
from helpers.data.registry import require

#: the file of the mpdta example in the data registry
MPDTA_FILE = "did_mpdta/mpdta.rda"
#: the jump of the treated unit in the synthetic case panel
CASE_EFFECT = 0.5


def examples_dir() -> Path:
    """``data/processed/examples/``."""
    return Path(paths.PROCESSED) / "examples"


def mpdta() -> pd.DataFrame:
    """The mpdta county panel as a DataFrame (columns as in R)."""
    import pyreadr

    src = require(MPDTA_FILE)[0]
    try:
        df = pyreadr.read_r(str(src))["mpdta"]
    except Exception as exc:  # pyreadr raises its own LibrdataError / KeyError
        raise DataError(f"{src}: cannot read the R data set 'mpdta' ({type(exc).__name__}: {exc})") from None
    return df.astype({"year": "int64", "countyreal": "int64", "first.treat": "int64", "treat": "int64"})


def synthetic_case(seed: int = 7, n_units: int = 25) -> pd.DataFrame:
    """25 units x 1990-2010: unit level + common trend + noise, and :data:`CASE_EFFECT` for U00 from 2000 on."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_units):
        unit, level = f"U{i:02d}", rng.normal(0, 0.3)
        for t in range(1990, 2011):
            treated = unit == "U00" and t >= 2000
            y = level + 0.02 * (t - 1990) + rng.normal(0, 0.01) + (CASE_EFFECT if treated else 0.0)
            rows.append(
                {
                    "unit": unit,
                    "period": t,
                    "y": round(y, 6),
                    "event": 2000 if unit == "U00" else np.nan,
                    "treated": int(treated),
                }
            )
    return pd.DataFrame(rows).astype({"event": "Int64"})


#: example name -> (file name, maker, one line on what it is)
EXAMPLES: dict[str, tuple[str, Callable[[], pd.DataFrame], str]] = {
    "mpdta": ("mpdta.csv", mpdta, "R did package's county teen-employment panel, for notebook 04"),
    "case": (
        "case_synthetic.csv",
        synthetic_case,
        "synthetic 25-unit panel with a known jump of 0.5, for notebook 05",
    ),
}


def write(name: str, out_dir: Path | None = None) -> Path:
    """Write the example ``name`` (a key of :data:`EXAMPLES`) as CSV; return its path."""
    if name not in EXAMPLES:
        raise ParameterError("example", name, list(EXAMPLES))
    file_name, make, _ = EXAMPLES[name]
    out = Path(out_dir or examples_dir())
    out.mkdir(parents=True, exist_ok=True)
    target = out / file_name
    fd, tmp = tempfile.mkstemp(prefix=f".{file_name}.", suffix=".tmp", dir=out)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            make().to_csv(fh, index=False, lineterminator="\n")
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return target
