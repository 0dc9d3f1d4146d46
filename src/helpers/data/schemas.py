"""pandera schemas for the processed tables: unique keys, types, ranges, no future dates.

The valid range of every column comes from the variable registry (``min``/``max`` of
``data/reference/variables.csv``, :func:`helpers.data.variables.ranges`); the types of the treaty-status columns are
fixed here. A failed check raises :class:`helpers.errors.DataError` that lists the failing column, check and a few
offending rows (iso3, year), so the source of the problem can be found.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from helpers.core.errors import DataError
from helpers.data import variables


def _raise(exc: SchemaErrors, table: str) -> None:
    fc = exc.failure_cases
    lines = []
    for (col, check), grp in fc.groupby(["column", "check"], dropna=False, sort=False):
        idx = grp["index"].dropna().astype(int).tolist()[:5]
        lines.append(
            f"  column {col!r} failed {check}: {len(grp)} case(s), e.g. rows {idx} values "
            f"{grp['failure_case'].astype(str).tolist()[:5]}"
        )
    raise DataError(f"{table} failed validation:\n" + "\n".join(lines[:30])) from None


def _range_checks(lo: float | None, hi: float | None) -> list[pa.Check]:
    if lo is not None and hi is not None:
        return [pa.Check.in_range(lo, hi)]
    return [pa.Check.ge(lo)] if lo is not None else [pa.Check.le(hi)]


def panel_schema(columns: Iterable[str], treaties: Iterable[str]) -> pa.DataFrameSchema:
    """Keys, the integer treaty-status columns of ``treaties`` (required, no missing values) and the registry's
    ranges for every registered column present in ``columns`` (values only: a column's dtype is left as built)."""
    cols = set(columns)
    spec: dict[str, pa.Column] = {
        "iso3": pa.Column(str, pa.Check.str_matches(r"^[A-Z]{3}$"), nullable=False),
        "year": pa.Column(int, pa.Check.in_range(1900, pd.Timestamp.today().year), nullable=False),
    }
    rng = variables.ranges()
    for c, (lo, hi) in rng.items():
        if c in cols:
            spec[c] = pa.Column(checks=_range_checks(lo, hi), nullable=True)
    for t in treaties:
        for c in (f"{t}_ratified", f"{t}_signed", f"{t}_years_since"):
            checks = _range_checks(*rng[c]) if c in rng else []
            spec[c] = pa.Column(int, checks, nullable=False, coerce=True)
    return pa.DataFrameSchema(spec, unique=["iso3", "year"], strict=False, report_duplicates="all")


def validate_panel(panel: pd.DataFrame, treaties: Iterable[str]) -> pd.DataFrame:
    """Validate the panel; returns it (with coerced dtypes) or raises DataError naming columns and rows."""
    treaties = list(treaties)
    try:
        out = panel_schema(panel.columns, treaties).validate(panel, lazy=True)
    except SchemaErrors as exc:
        _raise(exc, "panel")
    # cross-column invariants that a schema cannot say
    for t in treaties:
        r, ys = out[f"{t}_ratified"], out[f"{t}_years_since"]
        if ((r == 0) & (ys != 0)).any():
            raise DataError(f"panel: {t}_years_since is non-zero where {t}_ratified is 0")
    return out


def validate_ratifications(rat: pd.DataFrame) -> pd.DataFrame:
    """No future dates, known treaties and act types, unique (participant, treaty) acts."""
    from helpers.data.treaties import TREATIES

    today = pd.Timestamp.today().normalize()
    date = pa.Column("datetime64[ns]", pa.Check.le(today), nullable=True, coerce=True)
    schema = pa.DataFrameSchema(
        {
            "participant": pa.Column(str, nullable=False),
            "treaty": pa.Column(str, pa.Check.isin(list(TREATIES)), nullable=False),
            "signature_date": date,
            "ratification_date": date,
            "denounced_date": date,
            "act_type": pa.Column(
                str,
                pa.Check.isin(
                    ["ratification", "accession", "succession", "acceptance", "formal_confirmation"]
                ),
                nullable=True,
            ),
        },
        strict=False,
    )
    try:
        return schema.validate(rat, lazy=True)
    except SchemaErrors as exc:
        _raise(exc, "ratification table")
