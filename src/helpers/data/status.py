"""A state's standing under a treaty by country-year, and the descriptive implementation-gap view built on it.

- :func:`party_status`: one row per country-year of the panel with ``status`` in :data:`STATUS_CATEGORIES`:
  ``party`` when ``{treaty}_ratified`` is 1 (bound at the end of the year), else ``signed, not ratified`` when
  ``{treaty}_signed`` is 1, else ``not party``. The panel's treaty columns already apply its succession rule and
  denunciations, so this adds no rule of its own.
- :func:`gap_frame`, :func:`gap_snapshot` and :func:`gap_ranking`: the *implementation gap* of notebook 01, that
  is, for the parties to a treaty, the outcome against the years since ratification. The ranking orders the
  parties with at least ``min_years`` years since ratification (in the last panel year) by their mean outcome over
  the years since they ratified (lowest first). Description, not a causal estimate.

Bad input (an unknown treaty or outcome, a panel missing a column) raises an error that names the parameter or the
columns and lists the valid values.
"""

from __future__ import annotations

import pandas as pd

from helpers.core.errors import DataError, ParameterError
from helpers.data.treaties import TREATIES

__all__ = ["STATUS_CATEGORIES", "country_names", "gap_frame", "gap_ranking", "gap_snapshot", "party_status"]

#: a state's standing under a treaty at the end of a year, in legend order
STATUS_CATEGORIES = ("party", "signed, not ratified", "not party")
#: width of the bands of years since ratification whose mean outcome the gap figure draws
BAND_YEARS = 5


def _need(panel: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in panel.columns]
    if missing:
        raise DataError(f"{what}: the panel lacks column(s) {missing}; it has {list(panel.columns)}")


def _check_treaty(treaty: str) -> None:
    if treaty not in TREATIES:
        raise ParameterError("treaty", treaty, list(TREATIES))


def _check_outcome(panel: pd.DataFrame, outcome: str) -> None:
    if outcome not in panel.columns or not pd.api.types.is_numeric_dtype(panel[outcome]):
        numeric = [c for c in panel.columns if pd.api.types.is_numeric_dtype(panel[c])]
        raise ParameterError("outcome", outcome, numeric, hint="a numeric column of the panel")


def country_names(panel: pd.DataFrame) -> pd.Series:
    """``iso3 -> country`` (the first name the panel gives each code)."""
    _need(panel, ["iso3", "country"], "country_names")
    return panel.drop_duplicates("iso3").set_index("iso3")["country"]


def party_status(panel: pd.DataFrame, treaty: str, year: int | None = None) -> pd.DataFrame:
    """``iso3, year, country, status`` for every country-year of the panel (or of ``year`` only, without the
    ``year`` column); ``status`` is one of :data:`STATUS_CATEGORIES` (see the module doc)."""
    _check_treaty(treaty)
    _need(panel, ["iso3", "year", "country", f"{treaty}_signed", f"{treaty}_ratified"], "party_status")
    status = panel[["iso3", "year"]].assign(
        country=panel["iso3"].map(country_names(panel)), status="not party"
    )
    status["status"] = (
        status["status"]
        .mask(panel[f"{treaty}_signed"].eq(1), "signed, not ratified")
        .mask(panel[f"{treaty}_ratified"].eq(1), "party")
    )
    if year is None:
        return status
    years = sorted(int(y) for y in panel["year"].dropna().unique())
    if year not in years:
        raise ParameterError("year", year, years)
    return status[status["year"] == year].drop(columns="year")


def gap_frame(panel: pd.DataFrame, treaty: str, outcome: str, region: str | None = None) -> pd.DataFrame:
    """The country-years of the gap view: ``iso3, year, country, region, {treaty}_ratified, ratified_in,
    years_since, <outcome>``, restricted to one World Bank ``region`` when given."""
    _check_treaty(treaty)
    _check_outcome(panel, outcome)
    cols = [
        "iso3",
        "year",
        "country",
        "region",
        f"{treaty}_ratified",
        f"{treaty}_year",
        f"{treaty}_years_since",
        outcome,
    ]
    _need(panel, cols, "gap_frame")
    g = panel[cols].rename(columns={f"{treaty}_year": "ratified_in", f"{treaty}_years_since": "years_since"})
    if region:
        regions = sorted(panel["region"].dropna().astype(str).unique())
        if region not in regions:
            raise ParameterError("region", region, regions)
        g = g[g["region"] == region]
    return g


def gap_snapshot(
    panel: pd.DataFrame, treaty: str, outcome: str, region: str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The parties with an observed outcome in the last panel year (``band``: the midpoint of their
    :data:`BAND_YEARS`-year band of years since ratification), and the mean outcome by band (``band, <outcome>``)."""
    g = gap_frame(panel, treaty, outcome, region)
    last = int(panel["year"].max())
    cur = g[(g["year"] == last) & g[f"{treaty}_ratified"].eq(1) & g[outcome].notna()].copy()
    cur["band"] = (cur["years_since"] // BAND_YEARS) * BAND_YEARS + BAND_YEARS / 2
    return cur, cur.groupby("band", as_index=False)[outcome].mean()


def gap_ranking(
    panel: pd.DataFrame, treaty: str, outcome: str, region: str | None = None, min_years: int = 10
) -> pd.DataFrame:
    """Parties ranked by their mean outcome since ratifying (lowest first; ties by country name).

    One row per party with at least ``min_years`` years since ratification: ``iso3, country, region,
    ratified_in, years_since`` (in the last panel year), ``mean_since`` (mean of the outcome over the party's
    country-years since ratification, where observed), ``<outcome>_<last year>`` and ``at_ratification`` (the
    outcome in the year of ratification).
    """
    if not isinstance(min_years, int) or isinstance(min_years, bool) or min_years < 0:
        raise ParameterError("min_years", min_years, hint="an integer, 0 or more")
    g = gap_frame(panel, treaty, outcome, region)
    last = int(panel["year"].max())
    since = g[g[f"{treaty}_ratified"].eq(1) & g[outcome].notna()]
    rank = (
        since.groupby("iso3")
        .agg(
            country=("country", "first"),
            region=("region", "first"),
            ratified_in=("ratified_in", "first"),
            years_since=("years_since", "max"),
            mean_since=(outcome, "mean"),
        )
        .join(g[g["year"] == last].set_index("iso3")[outcome].rename(f"{outcome}_{last}"))
        .join(
            g.dropna(subset=["ratified_in"])
            .query("year == ratified_in")
            .set_index("iso3")[outcome]
            .rename("at_ratification")
        )
    )
    rank = rank[rank["years_since"] >= min_years].sort_values(["mean_since", "country"]).reset_index()
    rank["ratified_in"] = rank["ratified_in"].astype("Int64")
    return rank
