"""CIRI Human Rights Data 2014.04.14 (1981-2011) and the early CIRIGHTS release (1981-2015).

One loader per source file set; see :mod:`helpers.data.sources` for the conventions every loader follows.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.core import paths
from helpers.data import countries
from helpers.data.sources.common import (
    finish,
    numeric_columns,
    read_csv,
    year_column,
)

CIRI_FILE = "ciri/CIRI.csv"


CIRIGHTS_FILE = "cirights_2016_hackathon/CIRI_DATA_2016.csv"


#: output columns (the CIRI codebook names in lower case); meanings: data/reference/variables.csv
CIRI_COLUMNS: tuple[str, ...] = (
    "wecon",
    "wopol",
    "wosoc",
    "physint",
    "disap",
    "kill",
    "polpris",
    "tort",
    "old_empinx",
    "new_empinx",
    "assn",
    "formov",
    "dommov",
    "old_move",
    "speech",
    "elecsd",
    "old_relfre",
    "new_relfre",
    "worker",
    "injud",
)


#: CIRIGHTS columns read (output as ``<name>_cirights``); meanings: data/reference/variables.csv
CIRIGHTS_COLUMNS: tuple[str, ...] = (
    "wecon",
    "wopol",
    "physint",
)


#: KILL is coded in every real CIRI country-year; a row without it is a placeholder for a year the state did not exist
_CIRI_PLACEHOLDER_KEY = "KILL"


#: CIRI special codes: -999 missing, -66 interregnum / transition, -77 state failure / civil war (-99: CIRIGHTS)
CIRI_SPECIAL_CODES = (-999, -99, -77, -66)


def _ciri_iso(df: pd.DataFrame, cow: str, name: str, path: Path) -> np.ndarray:
    """COW code -> ISO3 (year-bounded); rows without a COW code (Serbia, Montenegro, Kosovo after 2006) by name."""
    has = df[cow].notna()
    iso = pd.Series(pd.NA, index=df.index, dtype="string")
    iso[has] = countries.to_iso3(
        df.loc[has, cow].astype(int).astype(str),
        "cown",
        years=df.loc[has, "year"],
        source=f"{path} column {cow}",
    ).to_numpy()
    if (~has).any():
        iso[~has] = countries.to_iso3(
            df.loc[~has, name],
            "name",
            years=df.loc[~has, "year"],
            source=f"{path} column {name} (rows without {cow})",
        ).to_numpy()
    return iso.to_numpy()


def _negative_to_nan(df: pd.DataFrame, cols: Iterable[str]) -> pd.DataFrame:
    """CIRI indices are >= 0; every negative value is a special code (-999/-99/-77/-66, or sums of them) -> NaN."""
    return df.assign(**{c: df[c].where(df[c] >= 0) for c in cols})


def load_ciri() -> pd.DataFrame:
    """CIRI Human Rights Data 2014.04.14 (1981-2011): women's rights (wecon, wopol, wosoc) and all other indices.

    The file lists every country for all 31 years; the 1,219 rows in which a state did not exist (or was not
    coded) are placeholders without KILL, which every real country-year has, and are dropped, leaving 5,043
    country-years (a few placeholders carry stray cells: formov/dommov/new_relfre/injud for some micro-states, and
    POLPRIS = 0 for the "Yemen Arab Republic" in 2007; they go too). Special codes -999 (missing), -66 (interregnum), -77 (state failure) become NaN. COW codes map to ISO3
    with year bounds (260 West Germany -> DEU to 1990, 255 Germany after; 345 Yugoslavia/Serbia -> SRB; 315
    Czechoslovakia -> CZE to 1992; 678 North Yemen -> YEM to 1990; 680 South Yemen excluded); the rows without a
    COW code (Serbia, Montenegro 2006-, Kosovo 2009-) map by country name. Columns: :data:`CIRI_COLUMNS`.
    """
    upper = [c.upper() for c in CIRI_COLUMNS]
    df = read_csv(CIRI_FILE, ["CTRY", "YEAR", "COW", *upper, _CIRI_PLACEHOLDER_KEY])
    path = paths.raw_path(CIRI_FILE)
    df = numeric_columns(df, ["COW", *upper], path)
    df = df[df[_CIRI_PLACEHOLDER_KEY].notna()].copy()
    df["year"] = year_column(df["YEAR"], path, "YEAR")
    df = _negative_to_nan(df, upper).rename(columns=dict(zip(upper, CIRI_COLUMNS, strict=True)))
    df["iso3"] = _ciri_iso(df, "COW", "CTRY", path)
    return finish(df, path, list(CIRI_COLUMNS))


#: documented coding errors in the CIRIGHTS file: (country name, wrong cow) -> right cow
CIRIGHTS_COW_FIXES: dict[tuple[str, int], int] = {
    ("Albania", 439): 339,  # 2013-2015 rows of Albania carry Burkina Faso's COW code 439; Albania is 339
}


def load_cirights() -> pd.DataFrame:
    """Early CIRIGHTS release (1981-2015): ``wecon_cirights``, ``wopol_cirights``, ``physint_cirights``.

    Keyed on ``cow`` (country names vary across years), with the fixes in :data:`CIRIGHTS_COW_FIXES` (Albania
    2013-2015 is coded 439, Burkina Faso's code) and the CIRI rules otherwise: placeholder rows (no ``kill``)
    dropped; every negative value (-999, -99, -77, -66, and -308 = 4 x -77 in two physint sums) -> NaN;
    rows without a COW code (Serbia, Montenegro, Kosovo) mapped by name. The exact CIRIGHTS version cannot be
    verified (docs/data.md#cirights_2016_hackathon); use it to extend CIRI past 2011, not as a replacement.
    """
    cols = list(CIRIGHTS_COLUMNS)
    key = _CIRI_PLACEHOLDER_KEY.lower()
    df = read_csv(CIRIGHTS_FILE, ["countryname", "year", "cow", *cols, key])
    path = paths.raw_path(CIRIGHTS_FILE)
    df = numeric_columns(df, ["cow", *cols, key], path)
    df = df[df[key].notna()].copy()
    df["year"] = year_column(df["year"], path, "year")
    name = df["countryname"].astype(str).str.strip()
    for (nm, wrong), right in CIRIGHTS_COW_FIXES.items():
        df.loc[(name == nm) & (df["cow"] == wrong), "cow"] = right
    df = _negative_to_nan(df, cols).rename(columns={c: f"{c}_cirights" for c in cols})
    df["iso3"] = _ciri_iso(df, "cow", "countryname", path)
    return finish(df, path, [f"{c}_cirights" for c in cols])
