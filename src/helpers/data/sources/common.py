"""Shared reading and checking for the source loaders: one place for file errors, key checks and dtypes."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.core import paths
from helpers.core.errors import DataError
from helpers.data import countries

KEYS = ["iso3", "year"]


def raw_file(rel: str) -> Path:
    path = paths.raw_path(rel)
    if not path.exists():
        raise DataError(f"{path}: raw file missing; run the data step (make data) to fetch it")
    return path


def read_csv(rel: str, required: Sequence[str], **kwargs) -> pd.DataFrame:
    """Read a raw CSV; corrupt, truncated or incomplete files raise DataError naming the file."""
    path = raw_file(rel)
    check_not_truncated(path, kwargs.get("encoding") or "utf-8")
    try:
        df = pd.read_csv(path, **kwargs)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"{path}: cannot parse as CSV ({type(exc).__name__}: {exc})") from exc
    require_columns(df, required, path)
    return df


def check_not_truncated(path: Path, encoding: str) -> None:
    """A CSV cut short ends mid-line: its last line then has fewer fields than the header (or the file is empty)."""
    with open(path, "rb") as fh:
        head = fh.readline()
        fh.seek(0, 2)
        size = fh.tell()
        if size == 0 or not head.strip():
            raise DataError(f"{path}: file is empty")
        fh.seek(max(0, size - 65536))
        tail = fh.read()
    if tail.endswith((b"\n", b"\r")):
        return
    last = tail.splitlines()[-1]
    try:
        n_head = len(next(csv.reader(io.StringIO(head.decode(encoding, errors="replace")))))
        n_last = len(next(csv.reader(io.StringIO(last.decode(encoding, errors="replace")))))
    except (csv.Error, StopIteration):
        n_head, n_last = 1, 0
    if n_last != n_head:
        raise DataError(
            f"{path}: last line has {n_last} field(s), the header {n_head}: the file is truncated "
            f"(re-fetch it with the data step)"
        )


def read_excel(rel: str, sheet: str, required: Sequence[str] = (), **kwargs) -> pd.DataFrame:
    """Read one sheet of a raw .xlsx (python-calamine when installed: ~10x faster than openpyxl)."""
    path = raw_file(rel)
    try:
        import python_calamine  # noqa: F401

        engine = "calamine"
    except ImportError:  # pragma: no cover - depends on the environment
        engine = "openpyxl"
    try:
        df = pd.read_excel(path, sheet_name=sheet, engine=engine, **kwargs)
    except ValueError as exc:
        if "not found" in str(exc).lower() or "worksheet" in str(exc).lower():
            raise DataError(f"{path}: sheet {sheet!r} not found ({exc})") from exc
        raise DataError(f"{path}: cannot read sheet {sheet!r} ({type(exc).__name__}: {exc})") from exc
    except (zipfile.BadZipFile, KeyError, OSError, EOFError) as exc:
        raise DataError(
            f"{path}: not a readable .xlsx file, corrupt or truncated ({type(exc).__name__}: {exc})"
        ) from exc
    except Exception as exc:  # calamine raises its own CalamineError / Zip errors
        raise DataError(
            f"{path}: not a readable .xlsx file, corrupt or truncated ({type(exc).__name__}: {exc})"
        ) from exc
    require_columns(df, required, path, sheet)
    return df


def read_r(rel: str, obj: str) -> pd.DataFrame:
    path = raw_file(rel)
    import pyreadr

    try:
        res = pyreadr.read_r(str(path))
    except Exception as exc:  # pyreadr.LibrdataError and friends
        raise DataError(
            f"{path}: cannot read the R data file, corrupt or truncated ({type(exc).__name__}: {exc})"
        ) from exc
    if obj not in res:
        raise DataError(f"{path}: R object {obj!r} not found; objects present: {list(res)}")
    return res[obj]


def require_columns(df: pd.DataFrame, required: Sequence[str], path: Path, sheet: str | None = None) -> None:
    missing = [c for c in required if c not in df.columns]
    if missing:
        where = f" sheet {sheet!r}" if sheet else ""
        raise DataError(
            f"{path}{where}: missing required column(s) {missing}; "
            f"columns found: {[str(c) for c in df.columns][:40]}"
        )


def year_column(values: pd.Series, path: Path, column: str) -> pd.Series:
    """A year column as int64; non-integer or missing years raise DataError naming file and column."""
    y = pd.to_numeric(values, errors="coerce")
    bad = y.isna() | (y != np.floor(y))
    if bad.any():
        raise DataError(
            f"{path}: column {column!r} has {int(bad.sum())} missing or non-integer year(s), "
            f"e.g. {values[bad].head(5).tolist()}"
        )
    return y.astype("int64")


def numeric_columns(df: pd.DataFrame, cols: Iterable[str], path: Path) -> pd.DataFrame:
    """Columns as float64; a non-numeric cell raises DataError naming the file and column."""
    out = {}
    for c in cols:
        v = pd.to_numeric(df[c], errors="coerce")
        bad = v.isna() & df[c].notna()
        if bad.any():
            raise DataError(
                f"{path}: column {c!r} has non-numeric value(s) {df.loc[bad, c].astype(str).unique()[:5].tolist()}"
            )
        out[c] = v.astype("float64")
    return df.assign(**out)


def check_unique_keys(df: pd.DataFrame, where: str | Path, keys: Sequence[str] = KEYS) -> None:
    """Raise DataError naming ``where`` and the duplicated keys if ``keys`` are not unique."""
    dup = df.duplicated(list(keys), keep=False)
    if dup.any():
        shown = df.loc[dup, list(keys)].drop_duplicates().head(12)
        pairs = ", ".join("/".join(str(x) for x in row) for row in shown.itertuples(index=False))
        raise DataError(
            f"{where}: {int(df.loc[dup, list(keys)].drop_duplicates().shape[0])} duplicated "
            f"{'-'.join(keys)} key(s) after harmonisation: {pairs}"
        )


def finish(df: pd.DataFrame, where: str | Path, value_cols: Sequence[str]) -> pd.DataFrame:
    """Drop excluded units, check keys, set dtypes, sort: the common tail of every loader."""
    df = df[df["iso3"].notna()]
    check_unique_keys(df, where)
    out = pd.DataFrame(
        {"iso3": df["iso3"].astype(str).to_numpy(), "year": df["year"].astype("int64").to_numpy()}
    )
    for c in value_cols:
        col = df[c]
        out[c] = (
            col.to_numpy()
            if col.dtype == object or isinstance(col.dtype, pd.StringDtype)
            else col.astype("float64").to_numpy()
        )
    return out.sort_values(KEYS).reset_index(drop=True)


def keep_continuing_unit(df: pd.DataFrame, unit_col: str, where: str | Path) -> pd.DataFrame:
    """Resolve transition-year duplicates: for an (iso3, year) held by two source units, keep the unit that
    continues after that year (largest last year in the source), i.e. the one in force at year end.

    Example: Polity 260 (West Germany, to 1990) and 255 (Germany, 1990-) both give DEU 1990; 255 is kept.
    A tie (both units end the same year) is not a transition and raises DataError naming the keys.
    """
    last = df.groupby(unit_col)["year"].transform("max")
    df = df.assign(_last=last)
    dup = df.duplicated(KEYS, keep=False) & df["iso3"].notna()
    if not dup.any():
        return df.drop(columns="_last")
    d = df[dup]
    top = d.groupby(KEYS)["_last"].transform("max")
    ties = d[d["_last"] == top].duplicated(KEYS, keep=False)
    if ties.any():
        check_unique_keys(d[d["_last"] == top], where)
    drop = d.index[d["_last"] < top]
    return df.drop(index=drop).drop(columns="_last")


def to_iso3_array(values: pd.Series, scheme: str, years: pd.Series | None, source: str) -> pd.Series:
    return countries.to_iso3(values, scheme, years=years, source=source).to_numpy()
