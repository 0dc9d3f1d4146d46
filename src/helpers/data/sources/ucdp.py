"""UCDP/PRIO Armed Conflict Dataset v23.1 as zero-filled country-year incidence.

One loader per source file set; see :mod:`helpers.data.sources` for the conventions every loader follows.
"""

from __future__ import annotations

import pandas as pd

from helpers.core import paths
from helpers.core.errors import DataError, ParameterError
from helpers.data import countries
from helpers.data.sources.common import (
    KEYS,
    finish,
    numeric_columns,
    read_csv,
    to_iso3_array,
    year_column,
)

UCDP_FILE = "ucdp_prio_acd/UcdpPrioConflict_v23_1.csv"


UCDP_YEARS = (1946, 2022)


def default_conflict_frame(first_year: int = UCDP_YEARS[0], last_year: int = UCDP_YEARS[1]) -> pd.DataFrame:
    """Country-years in the Gleditsch-Ward or the COW state system (countrycode panel), as (iso3, year).

    The union is used because the countrycode panel has no GW code for Vietnam and GW leaves out micro-states.
    """
    gw = countries.state_system_frame("gwn", first_year, last_year)
    cow = countries.state_system_frame("cown", first_year, last_year)
    return pd.concat([gw, cow]).drop_duplicates().sort_values(KEYS).reset_index(drop=True)


def load_ucdp(frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """UCDP/PRIO Armed Conflict Dataset v23.1 as country-year incidence, zero-filled.

    A conflict-year counts for every country in its ``gwno_loc`` (comma-separated GW codes; a conflict can be
    located in several countries). ``ucdp_conflict`` = 1 if any conflict is located in the country that year,
    ``ucdp_war`` = 1 if any has intensity_level 2 (>= 1,000 battle deaths), ``ucdp_conflict_intrastate`` = 1 for
    type_of_conflict 3-4. GW codes map with year bounds (345 Yugoslavia -> SRB to 2006, 678 Yemen (Arab Rep.) ->
    YEM, 816 -> VNM; 265, 680, 817, 751 Hyderabad excluded).

    ``frame``: country-years to return (columns iso3, year). Every frame row gets 0 where no conflict is located,
    except years outside the data's coverage (1946-2022), which stay NaN. Default: the GW or COW state-system
    members 1946-2022 (:func:`default_conflict_frame`) plus any conflict country-year outside it.
    """
    df = read_csv(
        UCDP_FILE,
        ["conflict_id", "year", "gwno_loc", "intensity_level", "type_of_conflict"],
        dtype=str,
        keep_default_na=False,
    )
    path = paths.raw_path(UCDP_FILE)
    df["year"] = year_column(df["year"], path, "year")
    df = numeric_columns(df.replace({"": None}), ["intensity_level", "type_of_conflict"], path)
    if (df["gwno_loc"].fillna("").str.strip() == "").any():
        raise DataError(f"{path}: rows with an empty gwno_loc")
    loc = df.assign(gw=df["gwno_loc"].str.split(",")).explode("gw")
    loc["gw"] = loc["gw"].str.strip()
    loc["iso3"] = to_iso3_array(loc["gw"], "gwn", loc["year"], f"{path} column gwno_loc")
    loc = loc[loc["iso3"].notna()]
    loc["ucdp_conflict"] = 1.0
    loc["ucdp_war"] = (loc["intensity_level"] == 2).astype("float64")
    loc["ucdp_conflict_intrastate"] = loc["type_of_conflict"].isin([3, 4]).astype("float64")
    cols = ["ucdp_conflict", "ucdp_war", "ucdp_conflict_intrastate"]
    inc = loc.groupby(KEYS, as_index=False)[cols].max()
    if frame is None:
        base = pd.concat([default_conflict_frame(), inc[KEYS]]).drop_duplicates()
    else:
        missing = [c for c in KEYS if c not in frame.columns]
        if missing:
            raise ParameterError(
                "frame", f"columns {list(frame.columns)}", KEYS, hint="frame needs iso3 and year"
            )
        base = frame[KEYS].drop_duplicates()
    base = base.assign(iso3=base["iso3"].astype(str), year=base["year"].astype("int64"))
    out = base.merge(inc.assign(iso3=inc["iso3"].astype(str)), on=KEYS, how="left")
    inside = out["year"].between(*UCDP_YEARS)
    for c in cols:
        out[c] = out[c].where(~inside | out[c].notna(), 0.0)
    return finish(out, path, cols)
