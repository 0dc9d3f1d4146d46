"""UN SDG database: maternal mortality ratio (SDG 3.1.1), 2000-2017.

One loader per source file set; see :mod:`helpers.data.sources` for the conventions every loader follows.
"""

from __future__ import annotations

import pandas as pd

from helpers.core import paths
from helpers.core.errors import DataError
from helpers.data.sources.common import (
    finish,
    numeric_columns,
    read_csv,
    to_iso3_array,
    year_column,
)

MMR_FILE = "unsdg_open_numbers/ddf--datapoints--sh_sta_mmr--by--geo_area--nature--units--year.csv"


MMR_ENTITIES = "unsdg_open_numbers/ddf--entities--geo_area.csv"


MMR_UNITS = "per_100000_live_births"


#: SDG "nature" codes in order of preference (country data first); this file only has "notspec" (MMEIG estimates)
MMR_NATURE_PREFERENCE = ("C", "CA", "N", "E", "M", "notspec", "NA")


def load_mmr() -> pd.DataFrame:
    """SDG 3.1.1 maternal mortality ratio (``sh_sta_mmr``, per 100,000 live births), 2000-2017.

    M49 ``geo_area`` -> ISO3 (scheme ``iso3n``); the 35 regional and group aggregates are listed in
    country_exclusions.csv. Only the per-100,000 unit is kept; where several ``nature`` values exist for a
    country-year the national one wins (:data:`MMR_NATURE_PREFERENCE`); this file has only "notspec".
    """
    df = read_csv(MMR_FILE, ["geo_area", "nature", "units", "year", "sh_sta_mmr"])
    path = paths.raw_path(MMR_FILE)
    ent = read_csv(MMR_ENTITIES, ["geo_area", "name"])
    unknown = sorted(set(df["geo_area"].astype(str)) - set(ent["geo_area"].astype(str)))
    if unknown:
        raise DataError(f"{path}: geo_area code(s) {unknown[:10]} not in {paths.raw_path(MMR_ENTITIES)}")
    df = df[df["units"] == MMR_UNITS].copy()
    if df.empty:
        raise DataError(f"{path}: no rows with units == {MMR_UNITS!r}")
    df = numeric_columns(df, ["sh_sta_mmr"], path)
    df["year"] = year_column(df["year"], path, "year")
    rank = {n: i for i, n in enumerate(MMR_NATURE_PREFERENCE)}
    df["_rank"] = df["nature"].map(rank).fillna(len(rank))
    df = df.sort_values([*["geo_area", "year"], "_rank"]).drop_duplicates(["geo_area", "year"])
    df["iso3"] = to_iso3_array(df["geo_area"].astype(str), "iso3n", df["year"], f"{path} column geo_area")
    return finish(df, path, ["sh_sta_mmr"])
