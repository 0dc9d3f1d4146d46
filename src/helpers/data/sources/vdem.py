"""V-Dem v14 (vdemlite subset, 1970-2023) and the V-Dem codebook table (v16).

One loader per source file set; see :mod:`helpers.data.sources` for the conventions every loader follows.
"""

from __future__ import annotations

import pandas as pd

from helpers.core import paths
from helpers.data.sources.common import (
    finish,
    numeric_columns,
    read_r,
    register,
    require_columns,
    to_iso3_array,
    year_column,
)

VDEM_FILE = "vdemlite/vdemlite.rda"
VDEM_CODEBOOK_FILE = "vdem_codebook/codebook.RData"


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
    "e_gdppc": (
        "GDP per capita (V-Dem extended: Fariss et al. latent estimates; to 2019)",
        "thousands of 2011 US$ (PPP)",
    ),
    "e_wb_pop": ("Population (World Bank WDI via V-Dem; to 2022)", "persons"),
    "e_regionpol": ("V-Dem politico-geographic region (10 categories)", "code 1-10"),
    "e_regionpol_6c": (
        "V-Dem politico-geographic region (6 categories; source column e_regionpol_6C)",
        "code 1-6",
    ),
    "e_peaveduc": ("Average years of education, population 15+ (Clio Infra)", "years"),
    "e_miurbani": (
        "Urbanization rate (V-Dem extended data)",
        "proportion urban (source scale; a few values > 1)",
    ),
    "e_pt_coup": ("Number of successful coup attempts in the year (Powell & Thyne)", "count"),
}


register("load_vdem", "vdemlite", [(c, m, u) for c, (m, u) in VDEM_COLUMNS.items()])


def load_vdem() -> pd.DataFrame:
    """V-Dem v14 (vdemlite subset, 1970-2023): women's rights and democracy indices plus extended controls.

    ``country_text_id`` is ISO3-like and maps through scheme ``iso3c``; V-Dem-only units are excluded (GDR ``DDR``,
    South Yemen ``YMD``, Republic of Vietnam ``VDR``, Zanzibar ``ZZB``, Somaliland ``SML``, Palestine/Gaza ``PSG``)
    and Palestine/West Bank keeps ``PSE``; Kosovo keeps ``XKX``. V-Dem's own continuator coding is kept (e.g. DEU
    1970-1990 is West Germany, YEM to 1990 is North Yemen). Columns: see :data:`VDEM_COLUMNS`.
    """
    path = paths.raw_path(VDEM_FILE)
    df = read_r(VDEM_FILE, "vdemlite")
    src_cols = {c: ("e_regionpol_6C" if c == "e_regionpol_6c" else c) for c in VDEM_COLUMNS}
    require_columns(df, ["country_text_id", "year", *src_cols.values()], path)
    df = df.rename(columns={v: k for k, v in src_cols.items()})
    df = numeric_columns(df, VDEM_COLUMNS, path)
    df["year"] = year_column(df["year"], path, "year")
    df["iso3"] = to_iso3_array(df["country_text_id"], "iso3c", df["year"], f"{path} column country_text_id")
    return finish(df, path, list(VDEM_COLUMNS))


def load_vdem_codebook() -> pd.DataFrame:
    """The V-Dem codebook table (v16; tags and definitions of the variables used here are unchanged since v14).

    Returns one row per V-Dem variable with ``column`` (the tag in lower case, as the loaders name it), ``tag``,
    ``name``, ``question``, ``clarification``, ``responses``, ``scale``, ``cy_aggregation``, ``years`` and the rest.
    """
    path = paths.raw_path(VDEM_CODEBOOK_FILE)
    cb = read_r(VDEM_CODEBOOK_FILE, "codebook")
    require_columns(cb, ["name", "tag", "question", "scale"], path)
    cb = cb.copy()
    cb.insert(0, "column", cb["tag"].astype(str).str.lower())
    return cb.reset_index(drop=True)
