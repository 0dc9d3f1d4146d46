"""pandera schemas for the processed tables: unique keys, types, ranges, no future dates.

A failed check raises :class:`helpers.errors.DataError` that lists the failing column, check and a few offending
rows (iso3, year), so the source of the problem can be found.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from helpers.core.errors import DataError

# column -> (min, max); a column not in the panel is simply not checked
RANGES: dict[str, tuple[float, float]] = {
    **dict.fromkeys(
        [
            "v2x_gender",
            "v2x_gencl",
            "v2x_gencs",
            "v2x_genpp",
            "v2x_polyarchy",
            "v2x_libdem",
            "v2xcs_ccsi",
            "v2x_civlib",
            "v2x_cspart",
            "v2xpe_exlgender",
        ],
        (0.0, 1.0),
    ),
    "v2lgfemleg": (0.0, 100.0),
    **dict.fromkeys(["wecon", "wopol", "wosoc", "wecon_cirights", "wopol_cirights"], (0, 3)),
    "physint": (0, 8),
    **dict.fromkeys(
        [
            "wbl_index",
            "wbl_mobility",
            "wbl_workplace",
            "wbl_pay",
            "wbl_marriage",
            "wbl_parenthood",
            "wbl_entrepreneurship",
            "wbl_assets",
            "wbl_pension",
            "sg_gen_parl_zs",
        ],
        (0.0, 100.0),
    ),
    "polity2": (-10, 10),
    "v2x_regime": (0, 3),
    **dict.fromkeys(["ucdp_conflict", "ucdp_war", "nhri_a_status"], (0, 1)),
    "sh_sta_mmr": (0.0, 5000.0),
}


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


def panel_schema(columns: Iterable[str], treaties: Iterable[str]) -> pa.DataFrameSchema:
    cols = set(columns)
    spec: dict[str, pa.Column] = {
        "iso3": pa.Column(str, pa.Check.str_matches(r"^[A-Z]{3}$"), nullable=False),
        "year": pa.Column(int, pa.Check.in_range(1900, pd.Timestamp.today().year), nullable=False),
    }
    for t in treaties:
        spec[f"{t}_ratified"] = pa.Column(int, pa.Check.isin([0, 1]), nullable=False, coerce=True)
        spec[f"{t}_signed"] = pa.Column(int, pa.Check.isin([0, 1]), nullable=False, coerce=True)
        spec[f"{t}_years_since"] = pa.Column(int, pa.Check.ge(0), nullable=False, coerce=True)
        if f"{t}_region_density" in cols:
            spec[f"{t}_region_density"] = pa.Column(float, pa.Check.in_range(0.0, 1.0), nullable=True)
    for c, (lo, hi) in RANGES.items():
        if c in cols:
            spec[c] = pa.Column(float, pa.Check.in_range(lo, hi), nullable=True, coerce=True)
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
