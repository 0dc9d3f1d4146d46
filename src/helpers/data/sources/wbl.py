"""World Bank Women, Business and the Law 50-year panel (data years 1970-2019).

One loader per source file set; see :mod:`helpers.data.sources` for the conventions every loader follows.
"""

from __future__ import annotations

import pandas as pd

from helpers.core import paths
from helpers.data.sources.common import (
    finish,
    numeric_columns,
    read_excel,
    to_iso3_array,
    year_column,
)

WBL_FILE = "wbl/WBL50YearPanelData.xlsx"


WBL_COLUMNS: dict[str, str] = {
    "WBL INDEX": "wbl_index",
    "MOBILITY": "wbl_mobility",
    "WORKPLACE": "wbl_workplace",
    "PAY": "wbl_pay",
    "MARRIAGE": "wbl_marriage",
    "PARENTHOOD": "wbl_parenthood",
    "ENTREPRENEURSHIP": "wbl_entrepreneurship",
    "ASSETS": "wbl_assets",
    "PENSION": "wbl_pension",
}


WBL_SHEET = "WBL1971-2020"


def load_wbl() -> pd.DataFrame:
    """Women, Business and the Law 50-year panel: ``wbl_index`` and the 8 sub-indices (0-100), data years 1970-2019.

    Sheet ``WBL1971-2020`` (2-row header, read with header=1). The data year is ``WBL Report Year - 1`` (the 2020
    report describes laws in force in 2019, as the AER: Insights replication code does). World Bank codes map
    through the reviewed map (KSV -> XKX, ROM -> ROU, TMP -> TLS, WBG -> PSE, ZAR -> COD).
    """
    path = paths.raw_path(WBL_FILE)
    df = read_excel(WBL_FILE, WBL_SHEET, ["Code", "WBL Report Year", *WBL_COLUMNS], header=1)
    df = df[df["Code"].notna()].copy()
    df = numeric_columns(df, WBL_COLUMNS, path).rename(columns=WBL_COLUMNS)
    df["year"] = year_column(df["WBL Report Year"], path, "WBL Report Year") - 1
    df["iso3"] = to_iso3_array(df["Code"], "wb", df["year"], f"{path} sheet {WBL_SHEET} column Code")
    return finish(df, path, list(WBL_COLUMNS.values()))
