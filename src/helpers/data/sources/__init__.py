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

What each output column means, its label, unit, range and role are not kept here: every column has one row in
``data/reference/variables.csv`` (:mod:`helpers.data.variables`), which also names the loader that produces it
(``module.function`` of this package). A new loader is a ``load_*`` function in a module of this package; the panel
build runs every loader the registry names.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable

import pandas as pd


def _loader_functions() -> dict[str, Callable[..., pd.DataFrame]]:
    out: dict[str, Callable[..., pd.DataFrame]] = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for name in dir(module):
            fn = getattr(module, name)
            if name.startswith("load_") and callable(fn) and fn.__module__ == module.__name__:
                if name in out:
                    raise ImportError(
                        f"loader {name} is defined in {out[name].__module__} and {module.__name__}"
                    )
                out[name] = fn
    return dict(sorted(out.items()))


#: loader name -> loader function, for every ``load_*`` function defined in a module of this package
LOADER_FUNCTIONS: dict[str, Callable[..., pd.DataFrame]] = _loader_functions()

__all__ = ["LOADER_FUNCTIONS"]
