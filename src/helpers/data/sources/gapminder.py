"""Gapminder Systema Globalis series (female labour-force participation, schooling, maternal mortality, ...).

One loader per source file set; see :mod:`helpers.data.sources` for the conventions every loader follows.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from helpers.core import paths
from helpers.core.errors import ParameterError
from helpers.data.sources.common import (
    KEYS,
    finish,
    keep_continuing_unit,
    numeric_columns,
    read_csv,
    register,
    to_iso3_array,
    year_column,
)

GAPMINDER_DIR = "gapminder_sg"


GAPMINDER_ENTITIES = f"{GAPMINDER_DIR}/ddf--entities--geo--country.csv"


#: Gapminder concept id -> (meaning, unit); file = ddf--datapoints--<concept>--by--geo--time.csv
GAPMINDER_CONCEPTS: dict[str, tuple[str, str]] = {
    "females_aged_15plus_labour_force_participation_rate_percent": (
        "Labour force participation rate, females 15+ (ILOSTAT modelled estimates; projected years after 2023 dropped)",
        "percent",
    ),
    "ratio_of_girls_to_boys_in_primary_and_secondary_education_perc": (
        "Gender parity index, gross enrolment, primary+secondary (WDI SE.ENR.PRSC.FM.ZS)",
        "ratio (girls/boys; 1 = parity; stored as a ratio despite the name)",
    ),
    "maternal_mortality_ratio_who": (
        "Maternal mortality ratio (WHO GHO, 1990-2010, 5-yearly)",
        "per 100,000 live births",
    ),
    "maternal_mortality_ratio_per_100000_live_births": (
        "Maternal mortality ratio (Gapminder gd010)",
        "per 100,000 live births",
    ),
    "teen_fertility_rate_births_per_1000_women_ages_15_19": (
        "Adolescent fertility rate (Gapminder, to 2010)",
        "births per 1,000 women aged 15-19",
    ),
    "mean_years_in_school_women_percent_men_25_to_34_years": (
        "Mean years in school, women as percent of men, ages 25-34 (IHME, 1970-2015)",
        "percent",
    ),
    "contraceptive_use_percent_of_women_ages_15_49": (
        "Contraceptive prevalence (WDI SP.DYN.CONU.ZS)",
        "percent of women 15-49",
    ),
    "gdppercapita_us_inflation_adjusted": ("GDP per capita (WDI NY.GDP.PCAP.KD)", "constant US$"),
    "alternative_gdp_per_capita_ppp_wb": (
        "GDP per capita, PPP (WDI NY.GDP.PCAP.PP.KD)",
        "constant international $",
    ),
    "income_per_person_long_series": (
        "Income per person, long series (Gapminder GDP per capita PPP v15, to 2019)",
        "constant international $ (2011 PPP)",
    ),
    "democracy_score_use_as_color": ("Polity5 polity2 as imported by Gapminder", "score -10..10"),
}


GAPMINDER_LFPR = "females_aged_15plus_labour_force_participation_rate_percent"


#: last year kept from the ILO modelled LFPR series (later years are ILO projections; SOURCES.md)
GAPMINDER_LFPR_LAST_YEAR = 2023


register("load_gapminder", "gapminder_sg", [(c, m, u) for c, (m, u) in GAPMINDER_CONCEPTS.items()])


def gapminder_file(concept: str) -> str:
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
    ent = read_csv(GAPMINDER_ENTITIES, ["country", "iso3166_1_alpha3"], dtype=str, keep_default_na=False)
    alpha3 = dict(zip(ent["country"], ent["iso3166_1_alpha3"], strict=True))
    frames = []
    for concept in concepts:
        rel = gapminder_file(concept)
        path = paths.raw_path(rel)
        df = read_csv(rel, ["geo", "time", concept])
        df = numeric_columns(df, [concept], path)
        df["year"] = year_column(df["time"], path, "time")
        code = df["geo"].astype(str).map(lambda g: alpha3.get(g) or g)
        df["iso3"] = to_iso3_array(code, "gapminder", df["year"], f"{path} column geo")
        if concept == GAPMINDER_LFPR:
            df = df[df["year"] <= GAPMINDER_LFPR_LAST_YEAR]
        df = keep_continuing_unit(df, "geo", path)
        frames.append(finish(df, path, [concept]).set_index(KEYS))
    out = pd.concat(frames, axis=1, join="outer").reset_index()
    return out.sort_values(KEYS).reset_index(drop=True)
