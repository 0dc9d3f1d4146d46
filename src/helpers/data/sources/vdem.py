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
    require_columns,
    to_iso3_array,
    year_column,
)

VDEM_FILE = "vdemlite/vdemlite.rda"
VDEM_CODEBOOK_FILE = "vdem_codebook/codebook.RData"


#: output columns (the V-Dem tags in lower case); what each means: data/reference/variables.csv
VDEM_COLUMNS: tuple[str, ...] = (
    "v2x_gender",
    "v2x_gencl",
    "v2x_gencs",
    "v2x_genpp",
    "v2lgfemleg",
    "v2clacjstw",
    "v2cldmovew",
    "v2csgender",
    "v2pepwrgen",
    "v2cldiscw",
    "v2clslavef",
    "v2clprptyw",
    "v2mefemjrn",
    "v2xpe_exlgender",
    "v2clgencl",
    "v2x_polyarchy",
    "v2x_libdem",
    "v2x_regime",
    "v2xcs_ccsi",
    "v2x_civlib",
    "v2x_cspart",
    "e_gdppc",
    "e_wb_pop",
    "e_regionpol",
    "e_regionpol_6c",
    "e_peaveduc",
    "e_miurbani",
    "e_pt_coup",
    "v2x_clphy",
    "v2cltort",
    "v2x_jucon",
    "v2xlg_legcon",
)


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
