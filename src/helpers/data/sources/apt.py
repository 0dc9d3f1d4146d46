"""Association for the Prevention of Torture indicators: the low-confidence NHRI proxy.

One loader per source file set; see :mod:`helpers.data.sources` for the conventions every loader follows.
"""

from __future__ import annotations

import datetime as _dt

import numpy as np
import pandas as pd

from helpers.core import paths
from helpers.core.errors import DataError, ParameterError
from helpers.data.sources.common import (
    KEYS,
    check_unique_keys,
    finish,
    read_excel,
    register,
    to_iso3_array,
)

APT_FILE = "apt_torture_prevention_2025/APT_data_corrected_April2025.xlsx"


register(
    "load_apt_nhri",
    "apt_torture_prevention_2025",
    [
        (
            "nhri_a_status",
            (
                "NHRI fully compliant with the Paris Principles (A status) from the APT-recorded year on; "
                "LOW-CONFIDENCE PROXY (current status only, no downgrades, 1999 floor)"
            ),
            "0/1",
        ),
    ],
)


APT_SHEET = "Data revised 25.09"


APT_NHRI = "Existence of National Human Rights Institution that fully complies with Paris Principles"


#: short ids of the 8 APT indicators
APT_INDICATORS: dict[str, str] = {
    "Ratification of the UN Convention against Torture": "cat_ratified",
    "Ratification of Optional Protocol (OPCAT)": "opcat_ratified",
    "Submission of initial report to CAT": "cat_initial_report",
    "Prohibition of torture in the constitution": "constitution_prohibits_torture",
    "Criminalisation of torture under domestic law": "torture_criminalised",
    "Designation of the National Preventive Mechanism (in law)": "npm_designated",
    "Operationality of the National Preventive Mechanism": "npm_operational",
    APT_NHRI: "nhri_a_status",
}


#: documented APT errors: iso3 -> indicator ids set to NA, with the reason
APT_KNOWN_ERRORS: dict[str, tuple[tuple[str, ...], str]] = {
    "PRK": (
        ("nhri_a_status",),
        (
            "DPRK 'Yes (2004)' for a Paris-Principles NHRI is apparently copied from the "
            "Republic of Korea (SOURCES.md); set to NA"
        ),
    ),
}


def _apt_year(value: object) -> float:
    """APT ``Date``: an Excel date (1 January of the year), a datetime, an int year, or blank."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return np.nan
    if isinstance(value, (_dt.date, pd.Timestamp)):
        return float(value.year)
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return np.nan
    v = float(value)
    if 1800 <= v <= 2100:
        return float(int(v))
    if 20_000 < v < 80_000:  # an Excel serial day number that lost its date format
        return float((pd.Timestamp("1899-12-30") + pd.Timedelta(days=v)).year)
    raise ValueError(value)


def load_apt_indicators() -> pd.DataFrame:
    """All 8 APT torture-prevention indicators in long form: ``iso3, indicator, input, year``.

    ``indicator`` is a short id (:data:`APT_INDICATORS`), ``input`` Yes/No/Partially/NA, ``year`` the year APT
    records for the measure (Int64; NA when none). Known errors (:data:`APT_KNOWN_ERRORS`) are set to NA.
    Current status only (April 2025), no history of reversals.
    """
    path = paths.raw_path(APT_FILE)
    df = read_excel(APT_FILE, APT_SHEET, ["Country", "Indicator", "Input", "Date"])
    df = df[df["Country"].notna()].copy()
    ind = df["Indicator"].astype(str).str.strip()
    unknown = sorted(set(ind) - set(APT_INDICATORS))
    if unknown:
        raise DataError(
            f"{path} sheet {APT_SHEET!r}: unknown indicator(s) {unknown}; known: {list(APT_INDICATORS)}"
        )
    years = []
    for i, v in zip(df.index, df["Date"], strict=True):
        try:
            years.append(_apt_year(v))
        except (TypeError, ValueError):
            raise DataError(
                f"{path} sheet {APT_SHEET!r}: row {int(i) + 2} column Date: {v!r} is neither a date "
                f"nor a year"
            ) from None
    inp = df["Input"].astype("string").str.strip()
    bad = inp.notna() & ~inp.isin(["Yes", "No", "Partially"])
    if bad.any():
        raise DataError(
            f"{path} sheet {APT_SHEET!r}: column Input has value(s) {sorted(inp[bad].unique())}; "
            f"valid: Yes, No, Partially or blank"
        )
    out = pd.DataFrame(
        {
            "iso3": to_iso3_array(
                df["Country"].astype(str).str.strip(),
                "name",
                None,
                f"{path} sheet {APT_SHEET} column Country",
            ),
            "indicator": ind.map(APT_INDICATORS).to_numpy(),
            "input": inp.to_numpy(),
            "year": pd.array(years, dtype="Float64").astype("Int64"),
        }
    )
    for iso, (inds, _why) in APT_KNOWN_ERRORS.items():
        m = (out["iso3"] == iso) & out["indicator"].isin(inds)
        out.loc[m, "input"] = pd.NA
        out.loc[m, "year"] = pd.NA
    out = out[out["iso3"].notna()]
    check_unique_keys(out, path, ["iso3", "indicator"])
    out["iso3"] = out["iso3"].astype(str)
    return out.sort_values(["iso3", "indicator"]).reset_index(drop=True)


def load_apt_nhri(years: tuple[int, int] = (1970, 2024)) -> pd.DataFrame:
    """NHRI A-status proxy ``nhri_a_status`` per country-year from the APT indicators (LOW-CONFIDENCE PROXY).

    1 from the year APT records for a Paris-Principles-compliant NHRI on (Input "Yes"), 0 before it and in every
    year for "No"; NA for the documented DPRK error. This is **not** a GANHRI accreditation history: current status
    only (April 2025), no B/C status, no downgrades or lapses, and 1999 is APT's earliest year (a floor, not a
    founding year), so early years are understated and lapsed institutions overstated. Treat as a rough moderator.
    ``years`` gives the country-year frame (inclusive).
    """
    lo, hi = years
    if lo > hi:
        raise ParameterError("years", years, hint="(first_year, last_year) with first_year <= last_year")
    apt = load_apt_indicators()
    n = apt[apt["indicator"] == "nhri_a_status"]
    yes = n["input"] == "Yes"
    if (yes & n["year"].isna()).any():
        raise DataError(
            f"{paths.raw_path(APT_FILE)}: NHRI 'Yes' without a year for "
            f"{sorted(n.loc[yes & n['year'].isna(), 'iso3'])}"
        )
    grid = pd.MultiIndex.from_product([sorted(n["iso3"]), range(lo, hi + 1)], names=KEYS).to_frame(
        index=False
    )
    g = grid.merge(n[["iso3", "input", "year"]].rename(columns={"year": "since"}), on="iso3", how="left")
    since = g["since"].astype("float64")
    val = np.where(g["input"].fillna("") == "Yes", (g["year"] >= since).astype("float64"), 0.0)
    val = np.where(g["input"].isna(), np.nan, val)
    g["nhri_a_status"] = val
    return finish(g, paths.raw_path(APT_FILE), ["nhri_a_status"])
