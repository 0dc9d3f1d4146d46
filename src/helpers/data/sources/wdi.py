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
    register,
    to_iso3_array,
    year_column,
)

WDI_FILE = "wdi_plsc504/WDI2-24.csv"


#: WDI2-24.csv column -> (WDI code, meaning, unit)
WDI_COLUMNS: dict[str, tuple[str, str, str]] = {
    "RuralPopulation": ("SP.RUR.TOTL.ZS", "Rural population", "percent of total population"),
    "UrbanPopulation": ("SP.URB.TOTL.IN.ZS", "Urban population", "percent of total population"),
    "BirthRatePer1K": ("SP.DYN.CBRT.IN", "Birth rate, crude", "per 1,000 people"),
    "FertilityRate": ("SP.DYN.TFRT.IN", "Fertility rate, total", "births per woman"),
    "PrimarySchoolAge": ("SE.PRM.AGES", "Primary school starting age", "years"),
    "LifeExpectancy": ("SP.DYN.LE00.IN", "Life expectancy at birth, total", "years"),
    "AgeDepRatioOld": ("SP.POP.DPND.OL", "Age dependency ratio, old", "percent of working-age population"),
    "ChildMortality": ("SH.DYN.MORT", "Mortality rate, under-5", "per 1,000 live births"),
    "GDP": ("NY.GDP.MKTP.KD", "GDP", "constant 2015 US$"),
    "GDPPerCapita": ("NY.GDP.PCAP.KD", "GDP per capita", "constant 2015 US$"),
    "GDPPerCapGrowth": ("NY.GDP.PCAP.KD.ZG", "GDP per capita growth", "annual percent"),
    "TotalTrade": ("NE.TRD.GNFS.ZS", "Trade (exports + imports)", "percent of GDP"),
    "FDIIn": ("BX.KLT.DINV.WD.GD.ZS", "Foreign direct investment, net inflows", "percent of GDP"),
    "NetAidReceived": (
        "DT.ODA.ALLD.KD",
        "Net official development assistance and aid received",
        "constant US$",
    ),
    "MobileCellSubscriptions": ("IT.CEL.SETS.P2", "Mobile cellular subscriptions", "per 100 people"),
    "NaturalResourceRents": ("NY.GDP.TOTL.RT.ZS", "Total natural resources rents", "percent of GDP"),
    "GovtExpenditures": (
        "NE.CON.GOVT.ZS",
        "General government final consumption expenditure",
        "percent of GDP",
    ),
    "PublicHealthExpend": (
        "SH.XPD.GHED.GD.ZS",
        "Domestic general government health expenditure",
        "percent of GDP",
    ),
    "WomenInLegislature": (
        "SG.GEN.PARL.ZS",
        "Proportion of seats held by women in national parliaments (1997-2023)",
        "percent",
    ),
    "PaidParentalLeave": (
        "SH.PAR.LEVE.AL",
        "Paid leave available to parents (WBL question, via WDI)",
        "1 = yes, 0 = no",
    ),
}


def wdi_column(code: str) -> str:
    """WDI indicator code -> output column name (lower case, dots to underscores): SG.GEN.PARL.ZS -> sg_gen_parl_zs."""
    return code.lower().replace(".", "_")


register("load_wdi", "wdi_plsc504", [(wdi_column(c), f"{m} [{c}]", u) for c, m, u in WDI_COLUMNS.values()])


def load_wdi() -> pd.DataFrame:
    """World Development Indicators pull (Oct 2024), 1960-2023: every indicator, named by its WDI code.

    Columns are the WDI codes in lower case with dots as underscores (:func:`wdi_column`): e.g. ``sg_gen_parl_zs``
    (WomenInLegislature, 1997-2023), ``ny_gdp_pcap_kd`` (GDPPerCapita), ``sp_dyn_tfrt_in``, ``sh_par_leve_al``.
    ``ISO3`` is checked through the harmonisation module; Kosovo and the Channel Islands are not in this pull.
    """
    df = read_csv(WDI_FILE, ["ISO3", "Year", *WDI_COLUMNS])
    path = paths.raw_path(WDI_FILE)
    df = numeric_columns(df, WDI_COLUMNS, path)
    df = df.rename(columns={k: wdi_column(v[0]) for k, v in WDI_COLUMNS.items()})
    df["year"] = year_column(df["Year"], path, "Year")
    df["iso3"] = to_iso3_array(df["ISO3"], "iso3c", df["year"], f"{path} column ISO3")
    return finish(df, path, [wdi_column(v[0]) for v in WDI_COLUMNS.values()])
