"""World Bank income classifications (historical OGHIST, FY89-FY25) and regions (CLASS, FY23).

One loader per source file set; see :mod:`helpers.data.sources` for the conventions every loader follows.
"""

from __future__ import annotations

import pandas as pd

from helpers.core import paths
from helpers.core.errors import DataError
from helpers.data.sources.common import (
    check_unique_keys,
    finish,
    read_excel,
    register,
    to_iso3_array,
)

OGHIST_FILE = "wb_income_class/OGHIST.xlsx"


CLASS_FILE = "wb_income_class/CLASS.xlsx"


register(
    "load_income_groups",
    "wb_income_class",
    [
        (
            "income_group",
            (
                "World Bank income group (OGHIST) based on GNI per capita of this calendar year "
                "(classification FY[year+2])"
            ),
            "category L/LM/UM/H",
        ),
        (
            "income_group_fy",
            "World Bank fiscal year of that classification (e.g. FY89 = GNI 1987, in force Jul 1988-Jun 1989)",
            "label",
        ),
    ],
)


register(
    "load_regions",
    "wb_income_class",
    [
        ("region", "World Bank region (CLASS.xlsx, July 2022; 7 regions)", "category"),
        ("income_group_fy23", "World Bank income group FY23 (CLASS.xlsx, GNI 2021)", "category L/LM/UM/H"),
    ],
)


OGHIST_SHEET = "Country Analytical History"


INCOME_GROUPS = ("L", "LM", "UM", "H")


def load_income_groups() -> pd.DataFrame:
    """World Bank historical income classification (OGHIST, sheet "Country Analytical History", FY89-FY25).

    Year convention (chosen here, stated in the data dictionary): a fiscal-year classification FYxx is set on
    1 July of 20xx-1 from GNI per capita of calendar year 20xx-2 and is in force July 20xx-1 to June 20xx. It is
    attached to the **GNI data year**: ``year`` t carries FY(t+2), so FY89 -> 1987 and FY25 -> 2023 (the sheet's
    own "Data for calendar year" row, which is checked against this rule). ``income_group`` is L/LM/UM/H;
    ".." (not classified) -> NA; the footnote mark in Yemen's "LM*" (FY89-90, combined North and South) is dropped.
    Historical units (former USSR, Yugoslavia, Czechoslovakia, Serbia and Montenegro, Netherlands Antilles) and the
    Channel Islands are excluded (country_exclusions.csv); XKX stays XKX.
    """
    path = paths.raw_path(OGHIST_FILE)
    raw = read_excel(OGHIST_FILE, OGHIST_SHEET, header=None)
    labels = raw.astype(str)
    hdr = [i for i in range(min(len(raw), 30)) if (labels.iloc[i] == "FY89").any()]
    if not hdr:
        raise DataError(f"{path} sheet {OGHIST_SHEET!r}: header row with FY89 ... not found")
    h = hdr[0]
    fy_cols = [j for j in range(raw.shape[1]) if str(raw.iat[h, j]).startswith("FY")]
    data_years = pd.to_numeric(raw.iloc[h + 1, fy_cols], errors="coerce")
    fy = [str(raw.iat[h, j]) for j in fy_cols]
    rule = [2000 + int(f[2:]) - 2 if int(f[2:]) < 50 else 1900 + int(f[2:]) - 2 for f in fy]
    if data_years.isna().any() or list(data_years.astype(int)) != rule:
        raise DataError(
            f"{path} sheet {OGHIST_SHEET!r}: the 'Data for calendar year' row {list(data_years)} does "
            f"not follow FYxx -> 20xx-2; the year convention would be wrong"
        )
    code = raw.iloc[:, 0]
    body = raw[(raw.index > h + 1) & code.notna() & code.astype(str).str.fullmatch(r"[A-Za-z]{3}f?")]
    long = body.iloc[:, [0, *fy_cols]].copy()
    long.columns = ["code", *fy]
    long = long.melt(id_vars="code", var_name="income_group_fy", value_name="income_group")
    long["year"] = long["income_group_fy"].map(dict(zip(fy, rule, strict=True))).astype("int64")
    grp = long["income_group"].astype(str).str.strip().str.rstrip("*")
    grp = grp.where(~long["income_group"].isna() & (grp != "..") & (grp != "nan"))
    bad = grp.notna() & ~grp.isin(INCOME_GROUPS)
    if bad.any():
        raise DataError(
            f"{path} sheet {OGHIST_SHEET!r}: unknown income group value(s) "
            f"{sorted(grp[bad].unique())}; valid: {list(INCOME_GROUPS)} or '..'"
        )
    long["income_group"] = grp.astype("string")
    long["iso3"] = to_iso3_array(
        long["code"].astype(str), "wb", long["year"], f"{path} sheet {OGHIST_SHEET} column A"
    )
    long["income_group_fy"] = long["income_group_fy"].astype("string")
    return finish(long, path, ["income_group", "income_group_fy"])


CLASS_SHEET = "List of economies"


_INCOME_LABELS = {
    "Low income": "L",
    "Lower middle income": "LM",
    "Upper middle income": "UM",
    "High income": "H",
}


def load_regions() -> pd.DataFrame:
    """World Bank regions and FY23 income groups (CLASS.xlsx, July 2022): one row per economy.

    Returns ``iso3``, ``region`` (the 7 WB regions), ``income_group_fy23`` (L/LM/UM/H; NA for unclassified, e.g.
    Venezuela). Aggregates (rows without a region, after the economies) are dropped; CHI (Channel Islands)
    is excluded; keys are ``iso3`` only (time-invariant).
    """
    path = paths.raw_path(CLASS_FILE)
    df = read_excel(CLASS_FILE, CLASS_SHEET, ["Economy", "Code", "Region", "Income group"])
    df = df[df["Region"].notna() & df["Code"].notna()].copy()
    ig = df["Income group"]
    bad = ig.notna() & ~ig.isin(list(_INCOME_LABELS))
    if bad.any():
        raise DataError(f"{path} sheet {CLASS_SHEET!r}: unknown income group(s) {sorted(ig[bad].unique())}")
    df["iso3"] = to_iso3_array(df["Code"], "wb", None, f"{path} sheet {CLASS_SHEET} column Code")
    df["income_group_fy23"] = ig.map(_INCOME_LABELS)
    df = df[df["iso3"].notna()]
    check_unique_keys(df, path, ["iso3"])
    out = pd.DataFrame(
        {
            "iso3": df["iso3"].astype(str).to_numpy(),
            "region": df["Region"].astype("string").to_numpy(),
            "income_group_fy23": df["income_group_fy23"].astype("string").to_numpy(),
        }
    )
    return out.sort_values("iso3").reset_index(drop=True)
