"""World Development Indicators pull (October 2024), 1960-2023.

One loader per source file set; see :mod:`helpers.data.sources` for the conventions every loader follows.
"""

from __future__ import annotations

import pandas as pd

from helpers.core import paths
from helpers.data.sources.common import (
    finish,
    numeric_columns,
    read_csv,
    to_iso3_array,
    year_column,
)

WDI_FILE = "wdi_plsc504/WDI2-24.csv"


#: WDI2-24.csv column -> WDI indicator code (output column: :func:`wdi_column`); meanings: data/reference/variables.csv
WDI_COLUMNS: dict[str, str] = {
    "RuralPopulation": "SP.RUR.TOTL.ZS",
    "UrbanPopulation": "SP.URB.TOTL.IN.ZS",
    "BirthRatePer1K": "SP.DYN.CBRT.IN",
    "FertilityRate": "SP.DYN.TFRT.IN",
    "PrimarySchoolAge": "SE.PRM.AGES",
    "LifeExpectancy": "SP.DYN.LE00.IN",
    "AgeDepRatioOld": "SP.POP.DPND.OL",
    "ChildMortality": "SH.DYN.MORT",
    "GDP": "NY.GDP.MKTP.KD",
    "GDPPerCapita": "NY.GDP.PCAP.KD",
    "GDPPerCapGrowth": "NY.GDP.PCAP.KD.ZG",
    "TotalTrade": "NE.TRD.GNFS.ZS",
    "FDIIn": "BX.KLT.DINV.WD.GD.ZS",
    "NetAidReceived": "DT.ODA.ALLD.KD",
    "MobileCellSubscriptions": "IT.CEL.SETS.P2",
    "NaturalResourceRents": "NY.GDP.TOTL.RT.ZS",
    "GovtExpenditures": "NE.CON.GOVT.ZS",
    "PublicHealthExpend": "SH.XPD.GHED.GD.ZS",
    "WomenInLegislature": "SG.GEN.PARL.ZS",
    "PaidParentalLeave": "SH.PAR.LEVE.AL",
}


def wdi_column(code: str) -> str:
    """WDI indicator code -> output column name (lower case, dots to underscores): SG.GEN.PARL.ZS -> sg_gen_parl_zs."""
    return code.lower().replace(".", "_")


def load_wdi() -> pd.DataFrame:
    """World Development Indicators pull (Oct 2024), 1960-2023: every indicator, named by its WDI code.

    Columns are the WDI codes in lower case with dots as underscores (:func:`wdi_column`): e.g. ``sg_gen_parl_zs``
    (WomenInLegislature, 1997-2023), ``ny_gdp_pcap_kd`` (GDPPerCapita), ``sp_dyn_tfrt_in``, ``sh_par_leve_al``.
    ``ISO3`` is checked through the harmonisation module; Kosovo and the Channel Islands are not in this pull.
    """
    df = read_csv(WDI_FILE, ["ISO3", "Year", *WDI_COLUMNS])
    path = paths.raw_path(WDI_FILE)
    df = numeric_columns(df, WDI_COLUMNS, path)
    df = df.rename(columns={k: wdi_column(v) for k, v in WDI_COLUMNS.items()})
    df["year"] = year_column(df["Year"], path, "Year")
    df["iso3"] = to_iso3_array(df["ISO3"], "iso3c", df["year"], f"{path} column ISO3")
    return finish(df, path, [wdi_column(v) for v in WDI_COLUMNS.values()])
