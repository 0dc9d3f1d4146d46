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
    register,
    year_column,
)

CIRI_FILE = "ciri/CIRI.csv"


CIRIGHTS_FILE = "cirights_2016_hackathon/CIRI_DATA_2016.csv"


CIRI_COLUMNS: dict[str, tuple[str, str]] = {
    "wecon": ("CIRI women's economic rights", "ordinal 0-3"),
    "wopol": ("CIRI women's political rights", "ordinal 0-3"),
    "wosoc": ("CIRI women's social rights (to 2005, a few to 2007)", "ordinal 0-3"),
    "physint": ("CIRI physical integrity rights index (kill+disap+polpris+tort)", "additive 0-8"),
    "disap": ("CIRI disappearance", "ordinal 0-2"),
    "kill": ("CIRI extrajudicial killing", "ordinal 0-2"),
    "polpris": ("CIRI political imprisonment", "ordinal 0-2"),
    "tort": ("CIRI torture", "ordinal 0-2"),
    "old_empinx": ("CIRI empowerment rights index (old, with old_move and old_relfre)", "additive 0-10"),
    "new_empinx": ("CIRI empowerment rights index (new)", "additive 0-14"),
    "assn": ("CIRI freedom of assembly and association", "ordinal 0-2"),
    "formov": ("CIRI freedom of foreign movement", "ordinal 0-1"),
    "dommov": ("CIRI freedom of domestic movement", "ordinal 0-1"),
    "old_move": ("CIRI freedom of movement (old)", "ordinal 0-2"),
    "speech": ("CIRI freedom of speech", "ordinal 0-2"),
    "elecsd": ("CIRI electoral self-determination", "ordinal 0-2"),
    "old_relfre": ("CIRI freedom of religion (old)", "ordinal 0-2"),
    "new_relfre": ("CIRI freedom of religion (new)", "ordinal 0-2"),
    "worker": ("CIRI workers' rights", "ordinal 0-2"),
    "injud": ("CIRI independence of the judiciary", "ordinal 0-2"),
}


register("load_ciri", "ciri", [(c, m, u) for c, (m, u) in CIRI_COLUMNS.items()])


CIRIGHTS_COLUMNS: dict[str, tuple[str, str]] = {
    "wecon": ("CIRIGHTS (early release) women's economic rights, 1981-2015", "ordinal 0-3"),
    "wopol": ("CIRIGHTS (early release) women's political rights, 1981-2015", "ordinal 0-3"),
    "physint": ("CIRIGHTS (early release) physical integrity rights index, 1981-2015", "additive 0-8"),
}


register(
    "load_cirights",
    "cirights_2016_hackathon",
    [(f"{c}_cirights", m, u) for c, (m, u) in CIRIGHTS_COLUMNS.items()],
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
    verified (SOURCES.md); use it to extend CIRI past 2011, not as a replacement.
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
