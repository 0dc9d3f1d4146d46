"""Source loaders: one module per outcome/control source, each loader returning a tidy country-year table.

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

from collections.abc import Callable

import pandas as pd

from helpers.data import countries
from helpers.data.sources import apt, ciri, gapminder, maddison, polity, sdg, ucdp, vdem, wbl, wdi, worldbank
from helpers.data.sources.common import VARIABLES, Variable, variable_metadata

#: registry source id -> loader (frame-producing loaders keyed by iso3, year; regions by iso3)
LOADERS: dict[str, Callable[[], pd.DataFrame]] = {
    "vdemlite": vdem.load_vdem,
    "ciri": ciri.load_ciri,
    "cirights_2016_hackathon": ciri.load_cirights,
    "wbl": wbl.load_wbl,
    "wdi_plsc504": wdi.load_wdi,
    "gapminder_sg": gapminder.load_gapminder,
    "polity5": polity.load_polity,
    "ucdp_prio_acd": ucdp.load_ucdp,
    "maddison": maddison.load_maddison,
    "wb_income_class": worldbank.load_income_groups,
    "unsdg_open_numbers": sdg.load_mmr,
    "apt_torture_prevention_2025": apt.load_apt_nhri,
}

#: loader name -> loader function, for every ``load_*`` of the source modules
LOADER_FUNCTIONS: dict[str, Callable[..., pd.DataFrame]] = {
    name: getattr(module, name)
    for module in (vdem, ciri, wbl, wdi, gapminder, polity, ucdp, maddison, worldbank, sdg, apt)
    for name in dir(module)
    if name.startswith("load_")
}

#: loader name -> source files it reads (relative to data/raw), for error messages and documentation
SOURCES: dict[str, tuple[str, ...]] = {
    "load_vdem": (vdem.VDEM_FILE,),
    "load_vdem_codebook": (vdem.VDEM_CODEBOOK_FILE,),
    "load_ciri": (ciri.CIRI_FILE, "countrycode/codelist_without_cldr.csv"),
    "load_cirights": (ciri.CIRIGHTS_FILE,),
    "load_wbl": (wbl.WBL_FILE,),
    "load_wdi": (wdi.WDI_FILE,),
    "load_gapminder": (
        gapminder.GAPMINDER_ENTITIES,
        *[gapminder.gapminder_file(c) for c in gapminder.GAPMINDER_CONCEPTS],
    ),
    "load_polity": (polity.POLITY_FILE,),
    "load_ucdp": (ucdp.UCDP_FILE, countries.PANEL_FILE),
    "load_maddison": (maddison.MADDISON_FILE,),
    "load_income_groups": (worldbank.OGHIST_FILE,),
    "load_regions": (worldbank.CLASS_FILE,),
    "load_mmr": (sdg.MMR_FILE, sdg.MMR_ENTITIES),
    "load_apt_nhri": (apt.APT_FILE,),
}

__all__ = ["LOADERS", "LOADER_FUNCTIONS", "SOURCES", "VARIABLES", "Variable", "variable_metadata"]
