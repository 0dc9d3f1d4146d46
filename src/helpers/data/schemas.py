"""Schemas of the processed tables: unique keys, types, ranges, no future dates.

The valid range of every column comes from the variable registry (``min``/``max`` of
``data/reference/variables.csv``, :func:`helpers.data.variables.ranges`); the types of the treaty-status columns are
fixed here. A failed check raises :class:`helpers.errors.DataError` that lists the failing column, check and a few
offending rows (iso3, year), so the source of the problem can be found.

Two implementations of the panel's checks:

- :func:`panel_schema` / :func:`validate_panel`: the pandera schema, run once when the panel is built (it also
  coerces the treaty-status columns to integers);
- :func:`panel_failures` / :func:`check_panel`: the same checks written as vectorised pandas/numpy comparisons, run
  on *every* load of a panel (:func:`helpers.data.panel.load`): about 20 ms on the real panel where pandera takes
  0.2-1.5 s. ``tests/test_panel_load.py`` checks that both find the same failures (column, check, rows) on corrupted
  panels. The vectorised checks are a little stricter: a treaty-status value with a fraction (1.5) fails
  ``integer`` (pandera's coercion to int64 truncates it silently).

:func:`check_panel` applies the checks that fit the panel it is given. A project panel (keys ``iso3`` and ``year``)
gets the full set: key format and range, unique keys, the registry's range of every registered column present,
integer treaty-status columns without gaps and ``{t}_years_since`` = 0 where ``{t}_ratified`` = 0. Any other tidy
panel (a user's own, given by path with its unit and time column names) gets what applies to it: both key columns
present and never missing, unique unit-period keys, integer periods and, when named, a numeric outcome column.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from helpers.core.errors import DataError, ParameterError
from helpers.data import variables

if TYPE_CHECKING:  # pandera is imported where a schema is built (0.4 s): not by every panel load
    import pandera.pandas as pa
    from pandera.errors import SchemaErrors

#: the project panel's keys, the format of ``iso3`` and the first valid ``year``
PROJECT_KEYS = ("iso3", "year")
ISO3_PATTERN = r"^[A-Z]{3}$"
FIRST_VALID_YEAR = 1900
#: per instrument ``t``: the integer status columns (required, no missing values)
STATUS_COLUMNS = ("{t}_ratified", "{t}_signed", "{t}_years_since")


def _this_year() -> int:
    return pd.Timestamp.today().year


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
    import pandera.pandas as pa

    if lo is not None and hi is not None:
        return [pa.Check.in_range(lo, hi)]
    return [pa.Check.ge(lo)] if lo is not None else [pa.Check.le(hi)]


def panel_schema(columns: Iterable[str], treaties: Iterable[str]) -> pa.DataFrameSchema:
    """Keys, the integer treaty-status columns of ``treaties`` (required, no missing values) and the registry's
    ranges for every registered column present in ``columns`` (values only: a column's dtype is left as built)."""
    import pandera.pandas as pa

    cols = set(columns)
    spec: dict[str, pa.Column] = {
        "iso3": pa.Column(str, pa.Check.str_matches(ISO3_PATTERN), nullable=False),
        "year": pa.Column(int, pa.Check.in_range(FIRST_VALID_YEAR, _this_year()), nullable=False),
    }
    rng = variables.ranges()
    for c, (lo, hi) in rng.items():
        if c in cols:
            spec[c] = pa.Column(checks=_range_checks(lo, hi), nullable=True)
    for t in treaties:
        for c in (f.format(t=t) for f in STATUS_COLUMNS):
            checks = _range_checks(*rng[c]) if c in rng else []
            spec[c] = pa.Column(int, checks, nullable=False, coerce=True)
    return pa.DataFrameSchema(spec, unique=["iso3", "year"], strict=False, report_duplicates="all")


def validate_panel(panel: pd.DataFrame, treaties: Iterable[str]) -> pd.DataFrame:
    """Validate the panel; returns it (with coerced dtypes) or raises DataError naming columns and rows."""
    from pandera.errors import SchemaErrors

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
    import pandera.pandas as pa
    from pandera.errors import SchemaErrors

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


# --------------------------------------------------------------------------------------------------------------
# vectorised checks, run on every load
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Failure:
    """One failed check: the column, the check (named as pandera names it), the positions of the failing rows."""

    column: str
    check: str
    rows: np.ndarray


def _range_name(lo: float | None, hi: float | None) -> str:
    if lo is not None and hi is not None:
        return f"in_range({lo}, {hi})"
    return f"greater_than_or_equal_to({lo})" if lo is not None else f"less_than_or_equal_to({hi})"


def _where(mask) -> np.ndarray:
    return np.flatnonzero(np.asarray(mask, dtype=bool))


def _out_of_range(s: pd.Series, lo: float | None, hi: float | None) -> np.ndarray:
    v = s.to_numpy(dtype=float, na_value=np.nan)
    bad = np.zeros(len(v), dtype=bool)
    with np.errstate(invalid="ignore"):
        if lo is not None:
            bad |= v < lo
        if hi is not None:
            bad |= v > hi
    return _where(bad)


def _not_integer(s: pd.Series) -> np.ndarray:
    """Non-missing values with a fractional part (integer dtypes pass at once)."""
    if pd.api.types.is_integer_dtype(s):
        return np.empty(0, dtype=int)
    v = s.to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        return _where(~np.isnan(v) & (v != np.round(v)))


def _is_numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)


def _key_failures(df: pd.DataFrame, unit: str, time: str) -> list[Failure]:
    out = [Failure(c, "not_nullable", _where(df[c].isna())) for c in (unit, time)]
    dup = _where(df.duplicated([unit, time], keep=False))
    out += [
        Failure(unit, "multiple_fields_uniqueness", dup),
        Failure(time, "multiple_fields_uniqueness", dup),
    ]
    if not _is_numeric(df[time]):
        out.append(Failure(time, "numeric", np.arange(len(df))))
    else:
        out.append(Failure(time, "integer", _not_integer(df[time])))
    return out


def _project_failures(df: pd.DataFrame) -> list[Failure]:
    """The checks of :func:`panel_schema` beyond the keys, for a panel with the project's keys."""
    iso = df["iso3"]
    ok = iso.isna() | iso.astype("string").str.fullmatch(ISO3_PATTERN[1:-1]).fillna(False).astype(bool)
    out = [Failure("iso3", f"str_matches('{ISO3_PATTERN}')", _where(~ok))]
    if _is_numeric(df["year"]):
        lo, hi = FIRST_VALID_YEAR, _this_year()
        out.append(Failure("year", f"in_range({lo}, {hi})", _out_of_range(df["year"], lo, hi)))
    rng = variables.ranges()
    status = set(status_columns(df.columns))
    for c in df.columns:
        if c in status:
            out.append(Failure(c, "not_nullable", _where(df[c].isna())))
        if c not in rng and c not in status:
            continue
        if not _is_numeric(df[c]):
            out.append(Failure(c, "numeric", _where(df[c].notna())))
            continue
        if c in rng:
            out.append(Failure(c, _range_name(*rng[c]), _out_of_range(df[c], *rng[c])))
        if c in status:
            out.append(Failure(c, "integer", _not_integer(df[c])))
    return out + _status_invariants(df)


def status_columns(columns: Iterable[str]) -> list[str]:
    """The integer treaty-status columns present, for every instrument whose ``{t}_ratified`` is present."""
    from helpers.data.treaties import TREATIES

    cols = set(columns)
    return [
        f.format(t=t)
        for t in TREATIES
        if f"{t}_ratified" in cols
        for f in STATUS_COLUMNS
        if f.format(t=t) in cols
    ]


def _status_invariants(df: pd.DataFrame) -> list[Failure]:
    """``{t}_years_since`` is 0 wherever ``{t}_ratified`` is 0 (a cross-column rule the schema cannot say)."""
    out = []
    for r in (c for c in df.columns if c.endswith("_ratified")):
        ys = r.removesuffix("_ratified") + "_years_since"
        if ys in df.columns and _is_numeric(df[r]) and _is_numeric(df[ys]):
            rv = df[r].to_numpy(dtype=float, na_value=np.nan)
            yv = df[ys].to_numpy(dtype=float, na_value=np.nan)
            with np.errstate(invalid="ignore"):
                bad = (rv == 0) & (yv != 0) & ~np.isnan(yv)
            out.append(Failure(ys, f"equals 0 where {r} is 0", _where(bad)))
    return out


def panel_failures(
    df: pd.DataFrame, unit: str = "iso3", time: str = "year", outcome: str | None = None
) -> list[Failure]:
    """Every failed check of :func:`check_panel` (module docstring), with the rows that fail it."""
    out = _key_failures(df, unit, time)
    if (unit, time) == PROJECT_KEYS:
        out += _project_failures(df)
    if outcome and outcome in df.columns and not _is_numeric(df[outcome]):
        out.append(Failure(outcome, "numeric", _where(df[outcome].notna())))
    return [f for f in out if len(f.rows)]


def _describe(df: pd.DataFrame, f: Failure, unit: str, time: str, shown: int = 5) -> str:
    rows = f.rows[:shown]
    keys = [f"{df[unit].iat[i]} {df[time].iat[i]}" for i in rows]
    where = ", ".join(f"row {i + 1} ({k})" for i, k in zip(rows, keys, strict=True))
    if f.check == "multiple_fields_uniqueness":
        return f"  keys ({unit}, {time}) not unique: {len(f.rows)} rows share a key, e.g. {where}"
    if f.check == "numeric":
        return f"  column {f.column!r} failed numeric: dtype {df[f.column].dtype} is not a number type"
    values = [df[f.column].iat[i] for i in rows]
    return (
        f"  column {f.column!r} failed {f.check}: {len(f.rows)} row(s), e.g. {where} with value(s) "
        f"{', '.join(map(str, values))}"
    )


def check_panel(
    df: pd.DataFrame,
    source: str | Path = "panel",
    unit: str = "iso3",
    time: str = "year",
    outcome: str | None = None,
) -> pd.DataFrame:
    """Return ``df`` if it passes the checks that apply to it (module docstring); else raise DataError naming
    ``source``, and for each failure its column, check and first rows (1-based data rows with their keys).

    ``unit``/``time`` not among the columns is a ParameterError (``unit_col``/``time_col``) listing the columns.
    """
    for name, col in (("unit_col", unit), ("time_col", time)):
        if col not in df.columns:
            raise ParameterError(name, col, list(df.columns), f"not a column of {source}")
    failures = panel_failures(df, unit, time, outcome)
    if not failures:
        return df
    seen, lines = set(), []
    for f in failures:
        line = _describe(df, f, unit, time)
        if line not in seen:  # a key failure is reported once, not once per key column
            seen.add(line)
            lines.append(line)
    raise DataError(f"{source} failed validation ({len(lines)} problem(s)):\n" + "\n".join(lines[:30]))
