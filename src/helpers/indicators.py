"""Indicator loaders: one function per outcome/control source, each returning a tidy country-year table.

Every loader reads its pinned raw file(s) from ``data/raw/<source>/`` (through :func:`helpers.paths.raw_path`) and
returns a DataFrame keyed by ``iso3`` (str, ISO 3166 alpha-3; Kosovo = ``XKX``) and ``year`` (int64), with unique
keys, float64 values named as in the source's codebook (lower case), the source's missing-value codes turned into
NaN and every country identifier mapped through :mod:`helpers.countries` (anything unmapped raises
:class:`~helpers.errors.UnmappedCountryError`; deliberate exclusions are listed, with reasons, in
``data/reference/country_exclusions.csv``). A file that is missing, corrupt, truncated or lacks a required column
raises :class:`~helpers.errors.DataError` naming the file; duplicated country-years raise a DataError naming the keys.

Conventions shared by all loaders (see ``data/reference/country_map.csv`` for each reviewed row):

* **Continuator convention.** Where a source codes a predecessor state under its own code, its series is attached
  to the ISO3 of the continuing state, as V-Dem does: USSR -> RUS, Yugoslavia / FR Yugoslavia / Serbia and
  Montenegro -> SRB, West Germany -> DEU, North Yemen -> YEM, North Vietnam -> VNM, Czechoslovakia -> CZE,
  Pakistan incl. East Pakistan -> PAK, Ethiopia incl. Eritrea -> ETH, Sudan incl. South Sudan -> SDN. Units absorbed
  by another state (GDR, South Yemen, South Vietnam, Zanzibar, Hyderabad, Tibet) and de facto or sub-national units
  (Somaliland, Northern Cyprus, Gaza as a separate V-Dem unit) are excluded. Aggregates (UN M49 regions, Maddison's
  former-USSR/-Yugoslavia/-Czechoslovakia totals that run beside the successors' own series) are excluded.
* **Transition years.** When a predecessor and its successor both have a row for the same ISO3 and year (Polity
  1990 Germany, 1991 and 2006 Yugoslavia/Serbia, 1993 Ethiopia, 2011 Sudan, 1976 Vietnam, 1990 Yemen; Gapminder's
  Polity import likewise), the row of the unit that continues after that year (the one in force at year end) is
  kept: :func:`keep_continuing_unit`.
* Values are float64 (0/1 dummies included, so that years a source does not cover can be NaN); categorical WB
  income groups are strings.

The registry :data:`VARIABLES` / :func:`variable_metadata` gives, for every output column, its meaning, source id
(the ``source`` of ``data/registry.tsv``) and unit, for the data dictionary; :data:`LOADERS` maps source ids to loaders.
"""

from __future__ import annotations

import datetime as _dt
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import countries, paths
from .errors import DataError, ParameterError

# ---------------------------------------------------------------------------------------------------------------
# raw files (relative to data/raw, as in data/registry.tsv)

VDEM_FILE = "vdemlite/vdemlite.rda"
VDEM_CODEBOOK_FILE = "vdem_codebook/codebook.RData"
CIRI_FILE = "ciri/CIRI.csv"
CIRIGHTS_FILE = "cirights_2016_hackathon/CIRI_DATA_2016.csv"
WBL_FILE = "wbl/WBL50YearPanelData.xlsx"
WDI_FILE = "wdi_plsc504/WDI2-24.csv"
GAPMINDER_DIR = "gapminder_sg"
GAPMINDER_ENTITIES = f"{GAPMINDER_DIR}/ddf--entities--geo--country.csv"
POLITY_FILE = "polity5/p5v2018.csv"
UCDP_FILE = "ucdp_prio_acd/UcdpPrioConflict_v23_1.csv"
MADDISON_FILE = "maddison/mpd2020.xlsx"
OGHIST_FILE = "wb_income_class/OGHIST.xlsx"
CLASS_FILE = "wb_income_class/CLASS.xlsx"
MMR_FILE = "unsdg_open_numbers/ddf--datapoints--sh_sta_mmr--by--geo_area--nature--units--year.csv"
MMR_ENTITIES = "unsdg_open_numbers/ddf--entities--geo_area.csv"
APT_FILE = "apt_torture_prevention_2025/APT_data_corrected_April2025.xlsx"

KEYS = ["iso3", "year"]


# ---------------------------------------------------------------------------------------------------------------
# variable registry (for the data dictionary)

@dataclass(frozen=True)
class Variable:
    """One output column: what it means, which registry source it comes from, its unit."""

    column: str
    meaning: str
    source: str
    unit: str
    loader: str


VARIABLES: list[Variable] = []


def _reg(loader: str, source: str, rows: Iterable[tuple[str, str, str]]) -> None:
    for column, meaning, unit in rows:
        VARIABLES.append(Variable(column, meaning, source, unit, loader))


VDEM_COLUMNS: dict[str, tuple[str, str]] = {
    "v2x_gender": ("Women political empowerment index", "index 0-1"),
    "v2x_gencl": ("Women civil liberties index", "index 0-1"),
    "v2x_gencs": ("Women civil society participation index", "index 0-1"),
    "v2x_genpp": ("Women political participation index", "index 0-1"),
    "v2lgfemleg": ("Lower chamber female legislators", "percent"),
    "v2clacjstw": ("Access to justice for women", "latent scale (V-Dem measurement model, ~-5..5)"),
    "v2cldmovew": ("Freedom of domestic movement for women", "latent scale (~-5..5)"),
    "v2csgender": ("CSO women participation", "latent scale (~-5..5)"),
    "v2pepwrgen": ("Power distributed by gender", "latent scale (~-5..5)"),
    "v2cldiscw": ("Freedom of discussion for women", "latent scale (~-5..5)"),
    "v2clslavef": ("Freedom from forced labor for women", "latent scale (~-5..5)"),
    "v2clprptyw": ("Property rights for women", "latent scale (~-5..5)"),
    "v2mefemjrn": ("Female journalists", "percent"),
    "v2xpe_exlgender": ("Exclusion by gender index", "index 0-1 (higher = more exclusion)"),
    "v2clgencl": ("Gender equality in respect for civil liberties", "latent scale (~-5..5)"),
    "v2x_polyarchy": ("Electoral democracy index", "index 0-1"),
    "v2x_libdem": ("Liberal democracy index", "index 0-1"),
    "v2x_regime": ("Regimes of the World (0 closed autocracy ... 3 liberal democracy)", "ordinal 0-3"),
    "v2xcs_ccsi": ("Core civil society index", "index 0-1"),
    "v2x_civlib": ("Civil liberties index", "index 0-1"),
    "v2x_cspart": ("Civil society participation index", "index 0-1"),
    "e_gdppc": ("GDP per capita (V-Dem extended: Fariss et al. latent estimates; to 2019)", "thousands of 2011 US$ (PPP)"),
    "e_wb_pop": ("Population (World Bank WDI via V-Dem; to 2022)", "persons"),
    "e_regionpol": ("V-Dem politico-geographic region (10 categories)", "code 1-10"),
    "e_regionpol_6c": ("V-Dem politico-geographic region (6 categories; source column e_regionpol_6C)", "code 1-6"),
    "e_peaveduc": ("Average years of education, population 15+ (Clio Infra)", "years"),
    "e_miurbani": ("Urbanization rate (V-Dem extended data)", "proportion urban (source scale; a few values > 1)"),
    "e_pt_coup": ("Number of successful coup attempts in the year (Powell & Thyne)", "count"),
}
_reg("load_vdem", "vdemlite", [(c, m, u) for c, (m, u) in VDEM_COLUMNS.items()])

CIRI_COLUMNS: dict[str, tuple[str, str]] = {
    "wecon": ("CIRI women's economic rights", "ordinal 0-3"),
    "wopol": ("CIRI women's political rights", "ordinal 0-3"),
    "wosoc": ("CIRI women's social rights (to 2005, a few to 2007)", "ordinal 0-3"),
    "physint": ("CIRI physical integrity rights index (kill+disap+polpris+tort)", "additive 0-8"),
    "disap": ("CIRI disappearance", "ordinal 0-2"),
    "kill": ("CIRI extrajudicial killing", "ordinal 0-2"),
    "polpris": ("CIRI political imprisonment", "ordinal 0-2"),
    "tort": ("CIRI torture", "ordinal 0-2"),
    "old_empinx": ("CIRI empowerment rights index (old, with old_move and old_relfre)", "additive 0-10"),
    "new_empinx": ("CIRI empowerment rights index (new)", "additive 0-14"),
    "assn": ("CIRI freedom of assembly and association", "ordinal 0-2"),
    "formov": ("CIRI freedom of foreign movement", "ordinal 0-1"),
    "dommov": ("CIRI freedom of domestic movement", "ordinal 0-1"),
    "old_move": ("CIRI freedom of movement (old)", "ordinal 0-2"),
    "speech": ("CIRI freedom of speech", "ordinal 0-2"),
    "elecsd": ("CIRI electoral self-determination", "ordinal 0-2"),
    "old_relfre": ("CIRI freedom of religion (old)", "ordinal 0-2"),
    "new_relfre": ("CIRI freedom of religion (new)", "ordinal 0-2"),
    "worker": ("CIRI workers' rights", "ordinal 0-2"),
    "injud": ("CIRI independence of the judiciary", "ordinal 0-2"),
}
_reg("load_ciri", "ciri", [(c, m, u) for c, (m, u) in CIRI_COLUMNS.items()])

CIRIGHTS_COLUMNS: dict[str, tuple[str, str]] = {
    "wecon": ("CIRIGHTS (early release) women's economic rights, 1981-2015", "ordinal 0-3"),
    "wopol": ("CIRIGHTS (early release) women's political rights, 1981-2015", "ordinal 0-3"),
    "physint": ("CIRIGHTS (early release) physical integrity rights index, 1981-2015", "additive 0-8"),
}
_reg("load_cirights", "cirights_2016_hackathon",
     [(f"{c}_cirights", m, u) for c, (m, u) in CIRIGHTS_COLUMNS.items()])

WBL_COLUMNS: dict[str, str] = {
    "WBL INDEX": "wbl_index", "MOBILITY": "wbl_mobility", "WORKPLACE": "wbl_workplace", "PAY": "wbl_pay",
    "MARRIAGE": "wbl_marriage", "PARENTHOOD": "wbl_parenthood", "ENTREPRENEURSHIP": "wbl_entrepreneurship",
    "ASSETS": "wbl_assets", "PENSION": "wbl_pension",
}
_reg("load_wbl", "wbl", [
    ("wbl_index", "Women, Business and the Law index (mean of the 8 sub-indices); year = report year - 1", "score 0-100"),
    *[(v, f"WBL sub-index {k.title()}; year = report year - 1", "score 0-100")
      for k, v in WBL_COLUMNS.items() if k != "WBL INDEX"],
])

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
    "NetAidReceived": ("DT.ODA.ALLD.KD", "Net official development assistance and aid received", "constant US$"),
    "MobileCellSubscriptions": ("IT.CEL.SETS.P2", "Mobile cellular subscriptions", "per 100 people"),
    "NaturalResourceRents": ("NY.GDP.TOTL.RT.ZS", "Total natural resources rents", "percent of GDP"),
    "GovtExpenditures": ("NE.CON.GOVT.ZS", "General government final consumption expenditure", "percent of GDP"),
    "PublicHealthExpend": ("SH.XPD.GHED.GD.ZS", "Domestic general government health expenditure", "percent of GDP"),
    "WomenInLegislature": ("SG.GEN.PARL.ZS", "Proportion of seats held by women in national parliaments (1997-2023)",
                           "percent"),
    "PaidParentalLeave": ("SH.PAR.LEVE.AL", "Paid leave available to parents (WBL question, via WDI)", "1 = yes, 0 = no"),
}


def wdi_column(code: str) -> str:
    """WDI indicator code -> output column name (lower case, dots to underscores): SG.GEN.PARL.ZS -> sg_gen_parl_zs."""
    return code.lower().replace(".", "_")


_reg("load_wdi", "wdi_plsc504", [(wdi_column(c), f"{m} [{c}]", u) for c, m, u in WDI_COLUMNS.values()])

#: Gapminder concept id -> (meaning, unit); file = ddf--datapoints--<concept>--by--geo--time.csv
GAPMINDER_CONCEPTS: dict[str, tuple[str, str]] = {
    "females_aged_15plus_labour_force_participation_rate_percent": (
        "Labour force participation rate, females 15+ (ILOSTAT modelled estimates; projected years after 2023 dropped)",
        "percent"),
    "ratio_of_girls_to_boys_in_primary_and_secondary_education_perc": (
        "Gender parity index, gross enrolment, primary+secondary (WDI SE.ENR.PRSC.FM.ZS)",
        "ratio (girls/boys; 1 = parity; stored as a ratio despite the name)"),
    "maternal_mortality_ratio_who": ("Maternal mortality ratio (WHO GHO, 1990-2010, 5-yearly)", "per 100,000 live births"),
    "maternal_mortality_ratio_per_100000_live_births": ("Maternal mortality ratio (Gapminder gd010)", "per 100,000 live births"),
    "teen_fertility_rate_births_per_1000_women_ages_15_19": ("Adolescent fertility rate (Gapminder, to 2010)",
                                                             "births per 1,000 women aged 15-19"),
    "mean_years_in_school_women_percent_men_25_to_34_years": (
        "Mean years in school, women as percent of men, ages 25-34 (IHME, 1970-2015)", "percent"),
    "contraceptive_use_percent_of_women_ages_15_49": ("Contraceptive prevalence (WDI SP.DYN.CONU.ZS)",
                                                      "percent of women 15-49"),
    "gdppercapita_us_inflation_adjusted": ("GDP per capita (WDI NY.GDP.PCAP.KD)", "constant US$"),
    "alternative_gdp_per_capita_ppp_wb": ("GDP per capita, PPP (WDI NY.GDP.PCAP.PP.KD)", "constant international $"),
    "income_per_person_long_series": ("Income per person, long series (Gapminder GDP per capita PPP v15, to 2019)",
                                      "constant international $ (2011 PPP)"),
    "democracy_score_use_as_color": ("Polity5 polity2 as imported by Gapminder", "score -10..10"),
}
GAPMINDER_LFPR = "females_aged_15plus_labour_force_participation_rate_percent"
#: last year kept from the ILO modelled LFPR series (later years are ILO projections; SOURCES.md)
GAPMINDER_LFPR_LAST_YEAR = 2023
_reg("load_gapminder", "gapminder_sg", [(c, m, u) for c, (m, u) in GAPMINDER_CONCEPTS.items()])

_reg("load_polity", "polity5", [
    ("polity2", "Polity5 revised combined polity score (interregna and transitions pro-rated, as published)",
     "score -10..10"),
    ("polity", "Polity5 combined polity score; special codes -66/-77/-88 set to NaN", "score -10..10"),
    ("democ", "Polity5 institutionalized democracy; special codes set to NaN", "score 0-10"),
    ("autoc", "Polity5 institutionalized autocracy; special codes set to NaN", "score 0-10"),
    ("durable", "Polity5 regime durability (years since the last regime transition)", "years"),
])
_reg("load_ucdp", "ucdp_prio_acd", [
    ("ucdp_conflict", "Armed conflict (>= 25 battle deaths) located on the country's territory (UCDP/PRIO gwno_loc)",
     "0/1"),
    ("ucdp_war", "War (>= 1,000 battle deaths, intensity_level 2) located on the country's territory", "0/1"),
    ("ucdp_conflict_intrastate", "Intrastate or internationalized intrastate conflict (type 3-4) on the territory",
     "0/1"),
])
_reg("load_maddison", "maddison", [
    ("mpd_gdppc", "Real GDP per capita (Maddison Project 2020)", "2011 international $"),
    ("mpd_pop", "Population (Maddison Project 2020)", "thousands"),
])
_reg("load_income_groups", "wb_income_class", [
    ("income_group", ("World Bank income group (OGHIST) based on GNI per capita of this calendar year "
                      "(classification FY[year+2])"), "category L/LM/UM/H"),
    ("income_group_fy", "World Bank fiscal year of that classification (e.g. FY89 = GNI 1987, in force Jul 1988-Jun 1989)",
     "label"),
])
_reg("load_regions", "wb_income_class", [
    ("region", "World Bank region (CLASS.xlsx, July 2022; 7 regions)", "category"),
    ("income_group_fy23", "World Bank income group FY23 (CLASS.xlsx, GNI 2021)", "category L/LM/UM/H"),
])
_reg("load_mmr", "unsdg_open_numbers", [
    ("sh_sta_mmr", "Maternal mortality ratio (SDG 3.1.1, MMEIG 2019 round, 2000-2017)", "per 100,000 live births"),
])
_reg("load_apt_nhri", "apt_torture_prevention_2025", [
    ("nhri_a_status", ("NHRI fully compliant with the Paris Principles (A status) from the APT-recorded year on; "
                       "LOW-CONFIDENCE PROXY (current status only, no downgrades, 1999 floor)"), "0/1"),
])


def variable_metadata() -> pd.DataFrame:
    """One row per output column of every loader: column, meaning, source (registry id), unit, loader."""
    return pd.DataFrame([v.__dict__ for v in VARIABLES], columns=["column", "meaning", "source", "unit", "loader"])


# ---------------------------------------------------------------------------------------------------------------
# shared reading and checking

def _raw(rel: str) -> Path:
    path = paths.raw_path(rel)
    if not path.exists():
        raise DataError(f"{path}: raw file missing; run the data step (make data) to fetch it")
    return path


def _read_csv(rel: str, required: Sequence[str], **kwargs) -> pd.DataFrame:
    """Read a raw CSV; corrupt, truncated or incomplete files raise DataError naming the file."""
    path = _raw(rel)
    _check_not_truncated(path, kwargs.get("encoding") or "utf-8")
    try:
        df = pd.read_csv(path, **kwargs)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"{path}: cannot parse as CSV ({type(exc).__name__}: {exc})") from exc
    _require(df, required, path)
    return df


def _check_not_truncated(path: Path, encoding: str) -> None:
    """A CSV cut short ends mid-line: its last line then has fewer fields than the header (or the file is empty)."""
    import csv
    import io

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
        raise DataError(f"{path}: last line has {n_last} field(s), the header {n_head}: the file is truncated "
                        f"(re-fetch it with the data step)")


def _read_excel(rel: str, sheet: str, required: Sequence[str] = (), **kwargs) -> pd.DataFrame:
    """Read one sheet of a raw .xlsx (python-calamine when installed: ~10x faster than openpyxl)."""
    path = _raw(rel)
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
        raise DataError(f"{path}: not a readable .xlsx file, corrupt or truncated ({type(exc).__name__}: {exc})") from exc
    except Exception as exc:  # calamine raises its own CalamineError / Zip errors
        raise DataError(f"{path}: not a readable .xlsx file, corrupt or truncated ({type(exc).__name__}: {exc})") from exc
    _require(df, required, path, sheet)
    return df


def _read_r(rel: str, obj: str) -> pd.DataFrame:
    path = _raw(rel)
    import pyreadr

    try:
        res = pyreadr.read_r(str(path))
    except Exception as exc:  # pyreadr.LibrdataError and friends
        raise DataError(f"{path}: cannot read the R data file, corrupt or truncated ({type(exc).__name__}: {exc})") from exc
    if obj not in res:
        raise DataError(f"{path}: R object {obj!r} not found; objects present: {list(res)}")
    return res[obj]


def _require(df: pd.DataFrame, required: Sequence[str], path: Path, sheet: str | None = None) -> None:
    missing = [c for c in required if c not in df.columns]
    if missing:
        where = f" sheet {sheet!r}" if sheet else ""
        raise DataError(f"{path}{where}: missing required column(s) {missing}; "
                        f"columns found: {[str(c) for c in df.columns][:40]}")


def _years(values: pd.Series, path: Path, column: str) -> pd.Series:
    """A year column as int64; non-integer or missing years raise DataError naming file and column."""
    y = pd.to_numeric(values, errors="coerce")
    bad = y.isna() | (y != np.floor(y))
    if bad.any():
        raise DataError(f"{path}: column {column!r} has {int(bad.sum())} missing or non-integer year(s), "
                        f"e.g. {values[bad].head(5).tolist()}")
    return y.astype("int64")


def _numeric(df: pd.DataFrame, cols: Iterable[str], path: Path) -> pd.DataFrame:
    """Columns as float64; a non-numeric cell raises DataError naming the file and column."""
    out = {}
    for c in cols:
        v = pd.to_numeric(df[c], errors="coerce")
        bad = v.isna() & df[c].notna()
        if bad.any():
            raise DataError(f"{path}: column {c!r} has non-numeric value(s) {df.loc[bad, c].astype(str).unique()[:5].tolist()}")
        out[c] = v.astype("float64")
    return df.assign(**out)


def check_unique_keys(df: pd.DataFrame, where: str | Path, keys: Sequence[str] = KEYS) -> None:
    """Raise DataError naming ``where`` and the duplicated keys if ``keys`` are not unique."""
    dup = df.duplicated(list(keys), keep=False)
    if dup.any():
        shown = df.loc[dup, list(keys)].drop_duplicates().head(12)
        pairs = ", ".join("/".join(str(x) for x in row) for row in shown.itertuples(index=False))
        raise DataError(f"{where}: {int(df.loc[dup, list(keys)].drop_duplicates().shape[0])} duplicated "
                        f"{'-'.join(keys)} key(s) after harmonisation: {pairs}")


def _finish(df: pd.DataFrame, where: str | Path, value_cols: Sequence[str]) -> pd.DataFrame:
    """Drop excluded units, check keys, set dtypes, sort: the common tail of every loader."""
    df = df[df["iso3"].notna()]
    check_unique_keys(df, where)
    out = pd.DataFrame({"iso3": df["iso3"].astype(str).to_numpy(), "year": df["year"].astype("int64").to_numpy()})
    for c in value_cols:
        col = df[c]
        out[c] = col.to_numpy() if col.dtype == object or isinstance(col.dtype, pd.StringDtype) \
            else col.astype("float64").to_numpy()
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


def _iso(values: pd.Series, scheme: str, years: pd.Series | None, source: str) -> pd.Series:
    return countries.to_iso3(values, scheme, years=years, source=source).to_numpy()


# ---------------------------------------------------------------------------------------------------------------
# V-Dem

def load_vdem() -> pd.DataFrame:
    """V-Dem v14 (vdemlite subset, 1970-2023): women's rights and democracy indices plus extended controls.

    ``country_text_id`` is ISO3-like and maps through scheme ``iso3c``; V-Dem-only units are excluded (GDR ``DDR``,
    South Yemen ``YMD``, Republic of Vietnam ``VDR``, Zanzibar ``ZZB``, Somaliland ``SML``, Palestine/Gaza ``PSG``)
    and Palestine/West Bank keeps ``PSE``; Kosovo keeps ``XKX``. V-Dem's own continuator coding is kept (e.g. DEU
    1970-1990 is West Germany, YEM to 1990 is North Yemen). Columns: see :data:`VDEM_COLUMNS`.
    """
    path = paths.raw_path(VDEM_FILE)
    df = _read_r(VDEM_FILE, "vdemlite")
    src_cols = {c: ("e_regionpol_6C" if c == "e_regionpol_6c" else c) for c in VDEM_COLUMNS}
    _require(df, ["country_text_id", "year", *src_cols.values()], path)
    df = df.rename(columns={v: k for k, v in src_cols.items()})
    df = _numeric(df, VDEM_COLUMNS, path)
    df["year"] = _years(df["year"], path, "year")
    df["iso3"] = _iso(df["country_text_id"], "iso3c", df["year"], f"{path} column country_text_id")
    return _finish(df, path, list(VDEM_COLUMNS))


def load_vdem_codebook() -> pd.DataFrame:
    """The V-Dem codebook table (v16; tags and definitions of the variables used here are unchanged since v14).

    Returns one row per V-Dem variable with ``column`` (the tag in lower case, as the loaders name it), ``tag``,
    ``name``, ``question``, ``clarification``, ``responses``, ``scale``, ``cy_aggregation``, ``years`` and the rest.
    """
    path = paths.raw_path(VDEM_CODEBOOK_FILE)
    cb = _read_r(VDEM_CODEBOOK_FILE, "codebook")
    _require(cb, ["name", "tag", "question", "scale"], path)
    cb = cb.copy()
    cb.insert(0, "column", cb["tag"].astype(str).str.lower())
    return cb.reset_index(drop=True)


# ---------------------------------------------------------------------------------------------------------------
# CIRI and CIRIGHTS

#: KILL is coded in every real CIRI country-year; a row without it is a placeholder for a year the state did not exist
_CIRI_PLACEHOLDER_KEY = "KILL"
#: CIRI special codes: -999 missing, -66 interregnum / transition, -77 state failure / civil war (-99: CIRIGHTS)
CIRI_SPECIAL_CODES = (-999, -99, -77, -66)


def _ciri_iso(df: pd.DataFrame, cow: str, name: str, path: Path) -> np.ndarray:
    """COW code -> ISO3 (year-bounded); rows without a COW code (Serbia, Montenegro, Kosovo after 2006) by name."""
    has = df[cow].notna()
    iso = pd.Series(pd.NA, index=df.index, dtype="string")
    iso[has] = countries.to_iso3(df.loc[has, cow].astype(int).astype(str), "cown", years=df.loc[has, "year"],
                                 source=f"{path} column {cow}").to_numpy()
    if (~has).any():
        iso[~has] = countries.to_iso3(df.loc[~has, name], "name", years=df.loc[~has, "year"],
                                      source=f"{path} column {name} (rows without {cow})").to_numpy()
    return iso.to_numpy()


def _negative_to_nan(df: pd.DataFrame, cols: Iterable[str]) -> pd.DataFrame:
    """CIRI indices are >= 0; every negative value is a special code (-999/-99/-77/-66, or sums of them) -> NaN."""
    return df.assign(**{c: df[c].where(df[c] >= 0) for c in cols})


def load_ciri() -> pd.DataFrame:
    """CIRI Human Rights Data 2014.04.14 (1981-2011): women's rights (wecon, wopol, wosoc) and all other indices.

    The file lists every country for all 31 years; the 1,219 rows in which a state did not exist (or was not
    coded) are placeholders without KILL, which every real country-year has, and are dropped, leaving 5,043
    country-years (a few placeholders carry stray cells: formov/dommov/new_relfre/injud for some micro-states, and
    POLPRIS = 0 for the "Yemen Arab Republic" in 2007; they go too). Special codes -999 (missing), -66 (interregnum), -77 (state failure) become NaN. COW codes map to ISO3
    with year bounds (260 West Germany -> DEU to 1990, 255 Germany after; 345 Yugoslavia/Serbia -> SRB; 315
    Czechoslovakia -> CZE to 1992; 678 North Yemen -> YEM to 1990; 680 South Yemen excluded); the rows without a
    COW code (Serbia, Montenegro 2006-, Kosovo 2009-) map by country name. Columns: :data:`CIRI_COLUMNS`.
    """
    upper = [c.upper() for c in CIRI_COLUMNS]
    df = _read_csv(CIRI_FILE, ["CTRY", "YEAR", "COW", *upper, _CIRI_PLACEHOLDER_KEY])
    path = paths.raw_path(CIRI_FILE)
    df = _numeric(df, ["COW", *upper], path)
    df = df[df[_CIRI_PLACEHOLDER_KEY].notna()].copy()
    df["year"] = _years(df["YEAR"], path, "YEAR")
    df = _negative_to_nan(df, upper).rename(columns=dict(zip(upper, CIRI_COLUMNS)))
    df["iso3"] = _ciri_iso(df, "COW", "CTRY", path)
    return _finish(df, path, list(CIRI_COLUMNS))


#: documented coding errors in the CIRIGHTS file: (country name, wrong cow) -> right cow
CIRIGHTS_COW_FIXES: dict[tuple[str, int], int] = {
    ("Albania", 439): 339,  # 2013-2015 rows of Albania carry Burkina Faso's COW code 439; Albania is 339
}


def load_cirights() -> pd.DataFrame:
    """Early CIRIGHTS release (1981-2015): ``wecon_cirights``, ``wopol_cirights``, ``physint_cirights``.

    Keyed on ``cow`` (country names vary across years), with the fixes in :data:`CIRIGHTS_COW_FIXES` (Albania
    2013-2015 is coded 439, Burkina Faso's code) and the CIRI rules otherwise: placeholder rows (no ``kill``)
    dropped; every negative value (-999, -99, -77, -66, and -308 = 4 x -77 in two physint sums) -> NaN;
    rows without a COW code (Serbia, Montenegro, Kosovo) mapped by name. The exact CIRIGHTS version cannot be
    verified (SOURCES.md); use it to extend CIRI past 2011, not as a replacement.
    """
    cols = list(CIRIGHTS_COLUMNS)
    key = _CIRI_PLACEHOLDER_KEY.lower()
    df = _read_csv(CIRIGHTS_FILE, ["countryname", "year", "cow", *cols, key])
    path = paths.raw_path(CIRIGHTS_FILE)
    df = _numeric(df, ["cow", *cols, key], path)
    df = df[df[key].notna()].copy()
    df["year"] = _years(df["year"], path, "year")
    name = df["countryname"].astype(str).str.strip()
    for (nm, wrong), right in CIRIGHTS_COW_FIXES.items():
        df.loc[(name == nm) & (df["cow"] == wrong), "cow"] = right
    df = _negative_to_nan(df, cols).rename(columns={c: f"{c}_cirights" for c in cols})
    df["iso3"] = _ciri_iso(df, "cow", "countryname", path)
    return _finish(df, path, [f"{c}_cirights" for c in cols])


# ---------------------------------------------------------------------------------------------------------------
# World Bank: WBL, WDI, income classifications

WBL_SHEET = "WBL1971-2020"


def load_wbl() -> pd.DataFrame:
    """Women, Business and the Law 50-year panel: ``wbl_index`` and the 8 sub-indices (0-100), data years 1970-2019.

    Sheet ``WBL1971-2020`` (2-row header, read with header=1). The data year is ``WBL Report Year - 1`` (the 2020
    report describes laws in force in 2019, as the AER: Insights replication code does). World Bank codes map
    through the reviewed map (KSV -> XKX, ROM -> ROU, TMP -> TLS, WBG -> PSE, ZAR -> COD).
    """
    path = paths.raw_path(WBL_FILE)
    df = _read_excel(WBL_FILE, WBL_SHEET, ["Code", "WBL Report Year", *WBL_COLUMNS], header=1)
    df = df[df["Code"].notna()].copy()
    df = _numeric(df, WBL_COLUMNS, path).rename(columns=WBL_COLUMNS)
    df["year"] = _years(df["WBL Report Year"], path, "WBL Report Year") - 1
    df["iso3"] = _iso(df["Code"], "wb", df["year"], f"{path} sheet {WBL_SHEET} column Code")
    return _finish(df, path, list(WBL_COLUMNS.values()))


def load_wdi() -> pd.DataFrame:
    """World Development Indicators pull (Oct 2024), 1960-2023: every indicator, named by its WDI code.

    Columns are the WDI codes in lower case with dots as underscores (:func:`wdi_column`): e.g. ``sg_gen_parl_zs``
    (WomenInLegislature, 1997-2023), ``ny_gdp_pcap_kd`` (GDPPerCapita), ``sp_dyn_tfrt_in``, ``sh_par_leve_al``.
    ``ISO3`` is checked through the harmonisation module; Kosovo and the Channel Islands are not in this pull.
    """
    df = _read_csv(WDI_FILE, ["ISO3", "Year", *WDI_COLUMNS])
    path = paths.raw_path(WDI_FILE)
    df = _numeric(df, WDI_COLUMNS, path)
    df = df.rename(columns={k: wdi_column(v[0]) for k, v in WDI_COLUMNS.items()})
    df["year"] = _years(df["Year"], path, "Year")
    df["iso3"] = _iso(df["ISO3"], "iso3c", df["year"], f"{path} column ISO3")
    return _finish(df, path, [wdi_column(v[0]) for v in WDI_COLUMNS.values()])


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
    raw = _read_excel(OGHIST_FILE, OGHIST_SHEET, header=None)
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
        raise DataError(f"{path} sheet {OGHIST_SHEET!r}: the 'Data for calendar year' row {list(data_years)} does "
                        f"not follow FYxx -> 20xx-2; the year convention would be wrong")
    code = raw.iloc[:, 0]
    body = raw[(raw.index > h + 1) & code.notna() & code.astype(str).str.fullmatch(r"[A-Za-z]{3}f?")]
    long = body.iloc[:, [0, *fy_cols]].copy()
    long.columns = ["code", *fy]
    long = long.melt(id_vars="code", var_name="income_group_fy", value_name="income_group")
    long["year"] = long["income_group_fy"].map(dict(zip(fy, rule))).astype("int64")
    grp = long["income_group"].astype(str).str.strip().str.rstrip("*")
    grp = grp.where(~long["income_group"].isna() & (grp != "..") & (grp != "nan"))
    bad = grp.notna() & ~grp.isin(INCOME_GROUPS)
    if bad.any():
        raise DataError(f"{path} sheet {OGHIST_SHEET!r}: unknown income group value(s) "
                        f"{sorted(grp[bad].unique())}; valid: {list(INCOME_GROUPS)} or '..'")
    long["income_group"] = grp.astype("string")
    long["iso3"] = _iso(long["code"].astype(str), "wb", long["year"], f"{path} sheet {OGHIST_SHEET} column A")
    long["income_group_fy"] = long["income_group_fy"].astype("string")
    return _finish(long, path, ["income_group", "income_group_fy"])


CLASS_SHEET = "List of economies"
_INCOME_LABELS = {"Low income": "L", "Lower middle income": "LM", "Upper middle income": "UM", "High income": "H"}


def load_regions() -> pd.DataFrame:
    """World Bank regions and FY23 income groups (CLASS.xlsx, July 2022): one row per economy.

    Returns ``iso3``, ``region`` (the 7 WB regions), ``income_group_fy23`` (L/LM/UM/H; NA for unclassified, e.g.
    Venezuela). Aggregates (rows without a region, after the economies) are dropped; CHI (Channel Islands)
    is excluded; keys are ``iso3`` only (time-invariant).
    """
    path = paths.raw_path(CLASS_FILE)
    df = _read_excel(CLASS_FILE, CLASS_SHEET, ["Economy", "Code", "Region", "Income group"])
    df = df[df["Region"].notna() & df["Code"].notna()].copy()
    ig = df["Income group"]
    bad = ig.notna() & ~ig.isin(list(_INCOME_LABELS))
    if bad.any():
        raise DataError(f"{path} sheet {CLASS_SHEET!r}: unknown income group(s) {sorted(ig[bad].unique())}")
    df["iso3"] = _iso(df["Code"], "wb", None, f"{path} sheet {CLASS_SHEET} column Code")
    df["income_group_fy23"] = ig.map(_INCOME_LABELS)
    df = df[df["iso3"].notna()]
    check_unique_keys(df, path, ["iso3"])
    out = pd.DataFrame({
        "iso3": df["iso3"].astype(str).to_numpy(),
        "region": df["Region"].astype("string").to_numpy(),
        "income_group_fy23": df["income_group_fy23"].astype("string").to_numpy(),
    })
    return out.sort_values("iso3").reset_index(drop=True)


# ---------------------------------------------------------------------------------------------------------------
# Gapminder

def _gapminder_file(concept: str) -> str:
    return f"{GAPMINDER_DIR}/ddf--datapoints--{concept}--by--geo--time.csv"


def load_gapminder(concepts: Sequence[str] | None = None) -> pd.DataFrame:
    """Gapminder Systema Globalis series, one column per concept id (default: all of :data:`GAPMINDER_CONCEPTS`).

    ``geo`` -> ISO3 through the entities file's ``iso3166_1_alpha3`` (then checked by :mod:`helpers.countries`,
    scheme ``gapminder``); geos without an ISO3 are mapped or excluded there (kos -> XKX; Gapminder's historical
    Polity units deu_west/ussr/yug/scg/yem_north/cheslo follow the continuator convention with year bounds, and
    transition-year duplicates keep the continuing unit; deu_east, yem_south, chanisl, ant excluded).
    Female LFPR: ILO modelled estimates include projections to 2026; years after
    :data:`GAPMINDER_LFPR_LAST_YEAR` (2023) are dropped. The girls/boys enrolment ratio is a ratio (1 = parity).
    """
    concepts = list(GAPMINDER_CONCEPTS) if concepts is None else list(concepts)
    unknown = [c for c in concepts if c not in GAPMINDER_CONCEPTS]
    if unknown:
        raise ParameterError("concepts", unknown, list(GAPMINDER_CONCEPTS))
    ent = _read_csv(GAPMINDER_ENTITIES, ["country", "iso3166_1_alpha3"], dtype=str, keep_default_na=False)
    alpha3 = dict(zip(ent["country"], ent["iso3166_1_alpha3"]))
    frames = []
    for concept in concepts:
        rel = _gapminder_file(concept)
        path = paths.raw_path(rel)
        df = _read_csv(rel, ["geo", "time", concept])
        df = _numeric(df, [concept], path)
        df["year"] = _years(df["time"], path, "time")
        code = df["geo"].astype(str).map(lambda g: alpha3.get(g) or g)
        df["iso3"] = _iso(code, "gapminder", df["year"], f"{path} column geo")
        if concept == GAPMINDER_LFPR:
            df = df[df["year"] <= GAPMINDER_LFPR_LAST_YEAR]
        df = keep_continuing_unit(df, "geo", path)
        frames.append(_finish(df, path, [concept]).set_index(KEYS))
    out = pd.concat(frames, axis=1, join="outer").reset_index()
    return out.sort_values(KEYS).reset_index(drop=True)


# ---------------------------------------------------------------------------------------------------------------
# Polity5

POLITY_SPECIAL_CODES = (-66, -77, -88)


def load_polity() -> pd.DataFrame:
    """Polity5 p5v2018: ``polity2`` (as published), ``polity``, ``democ``, ``autoc`` (-66/-77/-88 -> NaN), ``durable``.

    ``ccode`` maps through scheme ``p5n`` with year-bounded rows where Polity changes a state's code (260 West
    Germany -> DEU to 1990, 345/347 Yugoslavia -> SRB, 364 USSR -> RUS, 530 Ethiopia to 1993, 625 Sudan to 2011,
    769 Pakistan to 1971, 816 North Vietnam to 1976, 678 North Yemen to 1990, 315 Czechoslovakia -> CZE; 265 GDR,
    680 South Yemen, 817 South Vietnam excluded). In transition years two Polity units give the same ISO3-year
    (DEU 1990, SRB 1991 and 2006, ETH 1993, SDN 2011, VNM 1976, YEM 1990): the unit in force at year end (the one
    that continues) is kept (:func:`keep_continuing_unit`).
    """
    cols = ["democ", "autoc", "polity", "polity2", "durable"]
    df = _read_csv(POLITY_FILE, ["ccode", "year", *cols], encoding="utf-8-sig")
    path = paths.raw_path(POLITY_FILE)
    df = _numeric(df, ["ccode", *cols], path)
    df["year"] = _years(df["year"], path, "year")
    for c in ("democ", "autoc", "polity"):
        df[c] = df[c].where(~df[c].isin(POLITY_SPECIAL_CODES))
    df["iso3"] = _iso(df["ccode"].astype(int).astype(str), "p5n", df["year"], f"{path} column ccode")
    df = keep_continuing_unit(df, "ccode", path)
    return _finish(df, path, ["polity2", "polity", "democ", "autoc", "durable"])


# ---------------------------------------------------------------------------------------------------------------
# UCDP/PRIO

UCDP_YEARS = (1946, 2022)


def default_conflict_frame(first_year: int = UCDP_YEARS[0], last_year: int = UCDP_YEARS[1]) -> pd.DataFrame:
    """Country-years in the Gleditsch-Ward or the COW state system (countrycode panel), as (iso3, year).

    The union is used because the countrycode panel has no GW code for Vietnam and GW leaves out micro-states.
    """
    gw = countries.state_system_frame("gwn", first_year, last_year)
    cow = countries.state_system_frame("cown", first_year, last_year)
    return pd.concat([gw, cow]).drop_duplicates().sort_values(KEYS).reset_index(drop=True)


def load_ucdp(frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """UCDP/PRIO Armed Conflict Dataset v23.1 as country-year incidence, zero-filled.

    A conflict-year counts for every country in its ``gwno_loc`` (comma-separated GW codes; a conflict can be
    located in several countries). ``ucdp_conflict`` = 1 if any conflict is located in the country that year,
    ``ucdp_war`` = 1 if any has intensity_level 2 (>= 1,000 battle deaths), ``ucdp_conflict_intrastate`` = 1 for
    type_of_conflict 3-4. GW codes map with year bounds (345 Yugoslavia -> SRB to 2006, 678 Yemen (Arab Rep.) ->
    YEM, 816 -> VNM; 265, 680, 817, 751 Hyderabad excluded).

    ``frame``: country-years to return (columns iso3, year). Every frame row gets 0 where no conflict is located,
    except years outside the data's coverage (1946-2022), which stay NaN. Default: the GW or COW state-system
    members 1946-2022 (:func:`default_conflict_frame`) plus any conflict country-year outside it.
    """
    df = _read_csv(UCDP_FILE, ["conflict_id", "year", "gwno_loc", "intensity_level", "type_of_conflict"],
                   dtype=str, keep_default_na=False)
    path = paths.raw_path(UCDP_FILE)
    df["year"] = _years(df["year"], path, "year")
    df = _numeric(df.replace({"": None}), ["intensity_level", "type_of_conflict"], path)
    if (df["gwno_loc"].fillna("").str.strip() == "").any():
        raise DataError(f"{path}: rows with an empty gwno_loc")
    loc = df.assign(gw=df["gwno_loc"].str.split(",")).explode("gw")
    loc["gw"] = loc["gw"].str.strip()
    loc["iso3"] = _iso(loc["gw"], "gwn", loc["year"], f"{path} column gwno_loc")
    loc = loc[loc["iso3"].notna()]
    loc["ucdp_conflict"] = 1.0
    loc["ucdp_war"] = (loc["intensity_level"] == 2).astype("float64")
    loc["ucdp_conflict_intrastate"] = loc["type_of_conflict"].isin([3, 4]).astype("float64")
    cols = ["ucdp_conflict", "ucdp_war", "ucdp_conflict_intrastate"]
    inc = loc.groupby(KEYS, as_index=False)[cols].max()
    if frame is None:
        base = pd.concat([default_conflict_frame(), inc[KEYS]]).drop_duplicates()
    else:
        missing = [c for c in KEYS if c not in frame.columns]
        if missing:
            raise ParameterError("frame", f"columns {list(frame.columns)}", KEYS, hint="frame needs iso3 and year")
        base = frame[KEYS].drop_duplicates()
    base = base.assign(iso3=base["iso3"].astype(str), year=base["year"].astype("int64"))
    out = base.merge(inc.assign(iso3=inc["iso3"].astype(str)), on=KEYS, how="left")
    inside = out["year"].between(*UCDP_YEARS)
    for c in cols:
        out[c] = out[c].where(~inside | out[c].notna(), 0.0)
    return _finish(out, path, cols)


# ---------------------------------------------------------------------------------------------------------------
# Maddison

MADDISON_SHEET = "Full data"


def load_maddison() -> pd.DataFrame:
    """Maddison Project Database 2020: ``mpd_gdppc`` (2011 int. $) and ``mpd_pop`` (thousands), years 1-2018.

    The former USSR, Yugoslavia and Czechoslovakia (CSK, SUN, YUG) are aggregate series that run to 2018 beside
    their successors' own series, so they are excluded (country_exclusions.csv) rather than mapped. GDP per capita
    stored as 0 (United Arab Emirates 1991-1992) is a gap, not a value: set to NaN.
    """
    path = paths.raw_path(MADDISON_FILE)
    df = _read_excel(MADDISON_FILE, MADDISON_SHEET, ["countrycode", "year", "gdppc", "pop"])
    df = _numeric(df, ["gdppc", "pop"], path).rename(columns={"gdppc": "mpd_gdppc", "pop": "mpd_pop"})
    df["mpd_gdppc"] = df["mpd_gdppc"].where(df["mpd_gdppc"] > 0)  # UAE 1991-1992 are stored as 0: missing
    df["year"] = _years(df["year"], path, "year")
    df["iso3"] = _iso(df["countrycode"], "iso3c", df["year"], f"{path} sheet {MADDISON_SHEET} column countrycode")
    return _finish(df, path, ["mpd_gdppc", "mpd_pop"])


# ---------------------------------------------------------------------------------------------------------------
# SDG maternal mortality

MMR_UNITS = "per_100000_live_births"
#: SDG "nature" codes in order of preference (country data first); this file only has "notspec" (MMEIG estimates)
MMR_NATURE_PREFERENCE = ("C", "CA", "N", "E", "M", "notspec", "NA")


def load_mmr() -> pd.DataFrame:
    """SDG 3.1.1 maternal mortality ratio (``sh_sta_mmr``, per 100,000 live births), 2000-2017.

    M49 ``geo_area`` -> ISO3 (scheme ``iso3n``); the 35 regional and group aggregates are listed in
    country_exclusions.csv. Only the per-100,000 unit is kept; where several ``nature`` values exist for a
    country-year the national one wins (:data:`MMR_NATURE_PREFERENCE`); this file has only "notspec".
    """
    df = _read_csv(MMR_FILE, ["geo_area", "nature", "units", "year", "sh_sta_mmr"])
    path = paths.raw_path(MMR_FILE)
    ent = _read_csv(MMR_ENTITIES, ["geo_area", "name"])
    unknown = sorted(set(df["geo_area"].astype(str)) - set(ent["geo_area"].astype(str)))
    if unknown:
        raise DataError(f"{path}: geo_area code(s) {unknown[:10]} not in {paths.raw_path(MMR_ENTITIES)}")
    df = df[df["units"] == MMR_UNITS].copy()
    if df.empty:
        raise DataError(f"{path}: no rows with units == {MMR_UNITS!r}")
    df = _numeric(df, ["sh_sta_mmr"], path)
    df["year"] = _years(df["year"], path, "year")
    rank = {n: i for i, n in enumerate(MMR_NATURE_PREFERENCE)}
    df["_rank"] = df["nature"].map(rank).fillna(len(rank))
    df = df.sort_values([*["geo_area", "year"], "_rank"]).drop_duplicates(["geo_area", "year"])
    df["iso3"] = _iso(df["geo_area"].astype(str), "iso3n", df["year"], f"{path} column geo_area")
    return _finish(df, path, ["sh_sta_mmr"])


# ---------------------------------------------------------------------------------------------------------------
# APT (NHRI proxy)

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
    "PRK": (("nhri_a_status",), ("DPRK 'Yes (2004)' for a Paris-Principles NHRI is apparently copied from the "
                                 "Republic of Korea (SOURCES.md); set to NA")),
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
    df = _read_excel(APT_FILE, APT_SHEET, ["Country", "Indicator", "Input", "Date"])
    df = df[df["Country"].notna()].copy()
    ind = df["Indicator"].astype(str).str.strip()
    unknown = sorted(set(ind) - set(APT_INDICATORS))
    if unknown:
        raise DataError(f"{path} sheet {APT_SHEET!r}: unknown indicator(s) {unknown}; known: {list(APT_INDICATORS)}")
    years = []
    for i, v in zip(df.index, df["Date"]):
        try:
            years.append(_apt_year(v))
        except (TypeError, ValueError):
            raise DataError(f"{path} sheet {APT_SHEET!r}: row {int(i) + 2} column Date: {v!r} is neither a date "
                            f"nor a year") from None
    inp = df["Input"].astype("string").str.strip()
    bad = inp.notna() & ~inp.isin(["Yes", "No", "Partially"])
    if bad.any():
        raise DataError(f"{path} sheet {APT_SHEET!r}: column Input has value(s) {sorted(inp[bad].unique())}; "
                        f"valid: Yes, No, Partially or blank")
    out = pd.DataFrame({
        "iso3": _iso(df["Country"].astype(str).str.strip(), "name", None, f"{path} sheet {APT_SHEET} column Country"),
        "indicator": ind.map(APT_INDICATORS).to_numpy(),
        "input": inp.to_numpy(),
        "year": pd.array(years, dtype="Float64").astype("Int64"),
    })
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
        raise DataError(f"{paths.raw_path(APT_FILE)}: NHRI 'Yes' without a year for "
                        f"{sorted(n.loc[yes & n['year'].isna(), 'iso3'])}")
    grid = pd.MultiIndex.from_product([sorted(n["iso3"]), range(lo, hi + 1)], names=KEYS).to_frame(index=False)
    g = grid.merge(n[["iso3", "input", "year"]].rename(columns={"year": "since"}), on="iso3", how="left")
    since = g["since"].astype("float64")
    val = np.where(g["input"].fillna("") == "Yes", (g["year"] >= since).astype("float64"), 0.0)
    val = np.where(g["input"].isna(), np.nan, val)
    g["nhri_a_status"] = val
    return _finish(g, paths.raw_path(APT_FILE), ["nhri_a_status"])


# ---------------------------------------------------------------------------------------------------------------
# registry of loaders

#: registry source id -> loader (frame-producing loaders keyed by iso3, year; regions by iso3)
LOADERS: dict[str, Callable[[], pd.DataFrame]] = {
    "vdemlite": load_vdem,
    "ciri": load_ciri,
    "cirights_2016_hackathon": load_cirights,
    "wbl": load_wbl,
    "wdi_plsc504": load_wdi,
    "gapminder_sg": load_gapminder,
    "polity5": load_polity,
    "ucdp_prio_acd": load_ucdp,
    "maddison": load_maddison,
    "wb_income_class": load_income_groups,
    "unsdg_open_numbers": load_mmr,
    "apt_torture_prevention_2025": load_apt_nhri,
}

#: loader name -> source files it reads (relative to data/raw), for error messages and documentation
SOURCES: dict[str, tuple[str, ...]] = {
    "load_vdem": (VDEM_FILE,),
    "load_vdem_codebook": (VDEM_CODEBOOK_FILE,),
    "load_ciri": (CIRI_FILE, "countrycode/codelist_without_cldr.csv"),
    "load_cirights": (CIRIGHTS_FILE,),
    "load_wbl": (WBL_FILE,),
    "load_wdi": (WDI_FILE,),
    "load_gapminder": (GAPMINDER_ENTITIES, *[_gapminder_file(c) for c in GAPMINDER_CONCEPTS]),
    "load_polity": (POLITY_FILE,),
    "load_ucdp": (UCDP_FILE, countries.PANEL_FILE),
    "load_maddison": (MADDISON_FILE,),
    "load_income_groups": (OGHIST_FILE,),
    "load_regions": (CLASS_FILE,),
    "load_mmr": (MMR_FILE, MMR_ENTITIES),
    "load_apt_nhri": (APT_FILE,),
}
