"""Maddison Project Database 2020 (GDP per capita, population).

One loader per source file set; see :mod:`helpers.data.sources` for the conventions every loader follows.
"""

from __future__ import annotations

import pandas as pd

from helpers.core import paths
from helpers.data.sources.common import (
    finish,
    numeric_columns,
    read_excel,
    to_iso3_array,
    year_column,
)

MADDISON_FILE = "maddison/mpd2020.xlsx"


MADDISON_SHEET = "Full data"


def load_maddison() -> pd.DataFrame:
    """Maddison Project Database 2020: ``mpd_gdppc`` (2011 int. $) and ``mpd_pop`` (thousands), years 1-2018.

    The former USSR, Yugoslavia and Czechoslovakia (CSK, SUN, YUG) are aggregate series that run to 2018 beside
    their successors' own series, so they are excluded (country_exclusions.csv) rather than mapped. GDP per capita
    stored as 0 (United Arab Emirates 1991-1992) is a gap, not a value: set to NaN.
    """
    path = paths.raw_path(MADDISON_FILE)
    df = read_excel(MADDISON_FILE, MADDISON_SHEET, ["countrycode", "year", "gdppc", "pop"])
    df = numeric_columns(df, ["gdppc", "pop"], path).rename(columns={"gdppc": "mpd_gdppc", "pop": "mpd_pop"})
    df["mpd_gdppc"] = df["mpd_gdppc"].where(df["mpd_gdppc"] > 0)  # UAE 1991-1992 are stored as 0: missing
    df["year"] = year_column(df["year"], path, "year")
    df["iso3"] = to_iso3_array(
        df["countrycode"], "iso3c", df["year"], f"{path} sheet {MADDISON_SHEET} column countrycode"
    )
    return finish(df, path, ["mpd_gdppc", "mpd_pop"])
