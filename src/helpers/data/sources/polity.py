"""Polity5 p5v2018 regime scores.

One loader per source file set; see :mod:`helpers.data.sources` for the conventions every loader follows.
"""

from __future__ import annotations

import pandas as pd

from helpers.core import paths
from helpers.data.sources.common import (
    finish,
    keep_continuing_unit,
    numeric_columns,
    read_csv,
    to_iso3_array,
    year_column,
)

POLITY_FILE = "polity5/p5v2018.csv"


POLITY_SPECIAL_CODES = (-66, -77, -88)


def load_polity() -> pd.DataFrame:
    """Polity5 p5v2018: ``polity2`` (as published), ``polity``, ``democ``, ``autoc`` (-66/-77/-88 -> NaN), ``durable``.

    ``ccode`` maps through scheme ``p5n`` with year-bounded rows where Polity changes a state's code (260 West
    Germany -> DEU to 1990, 345/347 Yugoslavia -> SRB, 364 USSR -> RUS, 530 Ethiopia to 1993, 625 Sudan to 2011,
    769 Pakistan to 1971, 816 North Vietnam to 1976, 678 North Yemen to 1990, 315 Czechoslovakia -> CZE; 265 GDR,
    680 South Yemen, 817 South Vietnam excluded). In transition years two Polity units give the same ISO3-year
    (DEU 1990, SRB 1991 and 2006, ETH 1993, SDN 2011, VNM 1976, YEM 1990): the unit in force at year end (the one
    that continues) is kept (:func:`keep_continuing_unit`).
    """
    cols = ["democ", "autoc", "polity", "polity2", "durable"]
    df = read_csv(POLITY_FILE, ["ccode", "year", *cols], encoding="utf-8-sig")
    path = paths.raw_path(POLITY_FILE)
    df = numeric_columns(df, ["ccode", *cols], path)
    df["year"] = year_column(df["year"], path, "year")
    for c in ("democ", "autoc", "polity"):
        df[c] = df[c].where(~df[c].isin(POLITY_SPECIAL_CODES))
    df["iso3"] = to_iso3_array(df["ccode"].astype(int).astype(str), "p5n", df["year"], f"{path} column ccode")
    df = keep_continuing_unit(df, "ccode", path)
    return finish(df, path, ["polity2", "polity", "democ", "autoc", "durable"])
