"""Country harmonisation: every source's country names and codes become ISO 3166 alpha-3 here, and only here.

How a value is mapped (first hit wins):

1. ``data/reference/country_map.csv``: the explicit, reviewed map (columns ``scheme, code, iso3, year_from,
   year_to, note``). Year bounds let a code mean different states at different times (e.g. COW 260 = West
   Germany until 1990, then Germany). Rows are reviewed by hand; each has a note saying why.
2. ``data/reference/country_exclusions.csv``: deliberate exclusions (historical units, aggregates, territories
   not in the panel), columns ``scheme, code, reason``. They map to <NA> on purpose. A code can have year-bounded
   map rows and an exclusion: the exclusion then applies outside the mapped years.
3. The ``countrycode`` crosswalk (Arel-Bundock et al., ``data/raw/countrycode/codelist_without_cldr.csv``):
   a code column for code schemes, or the English-name regular expressions for ``scheme="name"``.

Anything left over raises :class:`helpers.errors.UnmappedCountryError` listing every unmapped value.

Project-wide decisions recorded in the reference files:

* **Kosovo is ``XKX``** (the World Bank's and countrycode's code; V-Dem uses it too) in every scheme: WB ``KSV``,
  COW/GW 347, Polity 341, Natural Earth ``KOS``, Gapminder ``kos`` all map to XKX.
* **Continuator convention** (as V-Dem codes its own units): a predecessor state's code maps to the ISO3 of the
  continuing state, with year bounds (USSR -> RUS, Yugoslavia / Serbia and Montenegro -> SRB, West Germany -> DEU,
  North Yemen -> YEM, North Vietnam -> VNM, Czechoslovakia -> CZE, ...); units absorbed into another state (GDR,
  South Yemen, South Vietnam, Zanzibar) and de facto units (Somaliland, Northern Cyprus) are excluded.

:func:`state_system_frame` gives the Gleditsch-Ward or COW state-system country-years as ISO3 (from the
countrycode panel), e.g. as the frame for zero-filling conflict data.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable
from functools import cache, lru_cache

import pandas as pd

from helpers.core import paths
from helpers.core.errors import DataError, ParameterError, UnmappedCountryError

CROSSWALK_FILE = "countrycode/codelist_without_cldr.csv"
MAP_FILE = "country_map.csv"
EXCLUSIONS_FILE = "country_exclusions.csv"

#: scheme name -> crosswalk column (``None`` = matched by regex on English names)
SCHEMES: dict[str, str | None] = {
    "iso3c": "iso3c",  # ISO alpha-3 (also Gapminder `geo` upper-cased, WDI ISO3, Maddison countrycode)
    "iso3n": "iso3n",  # ISO numeric (= UN M49 for countries)
    "cown": "cown",  # Correlates of War numeric (CIRI COW)
    "gwn": "gwn",  # Gleditsch-Ward numeric (UCDP gwno_*)
    "p5n": "p5n",  # Polity5 ccode
    "vdem": "vdem",  # V-Dem numeric country_id
    "wb": "wb",  # World Bank code (WBL, income classifications)
    "gapminder": "iso3c",  # Gapminder `geo`: lower-case ISO3, plus a few historical codes (map/exclusions)
    "name": None,  # English country name (UNTC participants, APT, ...): regex match
}

#: schemes whose codes are matched case-insensitively (normalised to lower case)
_LOWER_SCHEMES = {"gapminder"}


def _norm(value: object, scheme: str) -> str:
    s = str(value).strip()
    if scheme == "name":
        s = re.sub(r"\s+", " ", s).casefold()
    elif scheme in _LOWER_SCHEMES:
        s = s.lower()
    elif SCHEMES.get(scheme) in {"iso3n", "cown", "gwn", "p5n", "vdem"}:
        with contextlib.suppress(ValueError):
            s = str(int(float(s)))
    return s


@lru_cache(maxsize=1)
def crosswalk() -> pd.DataFrame:
    """The countrycode crosswalk as strings (no NaN surprises under pandas 3)."""
    path = paths.raw_path(CROSSWALK_FILE)
    if not path.exists():
        raise DataError(f"{path}: the countrycode crosswalk is missing; run the data step (make data)")
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@lru_cache(maxsize=1)
def _name_patterns() -> list[tuple[re.Pattern, str]]:
    cw = crosswalk()
    out = []
    for pat, iso in zip(cw["country.name.en.regex"], cw["iso3c"], strict=True):
        if pat and iso:
            out.append((re.compile(pat, re.IGNORECASE), iso))
    return out


def _read_reference(name: str, columns: list[str]) -> pd.DataFrame:
    path = paths.REFERENCE / name
    if not path.exists():
        return pd.DataFrame(columns=columns, dtype=str)
    df = pd.read_csv(path, dtype=str, keep_default_na=False, comment=None)
    missing = set(columns) - set(df.columns)
    if missing:
        raise DataError(f"{path}: missing column(s) {sorted(missing)}; expected {columns}")
    bad = sorted(set(df["scheme"]) - set(SCHEMES))
    if bad:
        rows = [int(i) + 2 for i in df.index[df["scheme"].isin(bad)]]
        raise DataError(f"{path}: unknown scheme(s) {bad} at line(s) {rows}; valid: {sorted(SCHEMES)}")
    return df


def _rows(df: pd.DataFrame, mask) -> list[int]:
    """1-based line numbers in the CSV file (header = line 1) of the rows selected by ``mask``."""
    return [int(i) + 2 for i in df.index[mask]]


@lru_cache(maxsize=1)
def overrides() -> pd.DataFrame:
    """The reviewed explicit map (data/reference/country_map.csv), validated.

    Raises :class:`DataError` naming the file and line for: an unknown scheme, an iso3 that is not three capital
    letters, a year bound that is not a whole number, a row without a note, or two rows for the same code whose
    year ranges overlap (an ambiguous map).
    """
    path = paths.REFERENCE / MAP_FILE
    df = _read_reference(MAP_FILE, ["scheme", "code", "iso3", "year_from", "year_to", "note"])
    df["key"] = [_norm(c, s) for c, s in zip(df["code"], df["scheme"], strict=True)]
    bad = ~df["iso3"].str.fullmatch(r"[A-Z]{3}")
    if bad.any():
        raise DataError(
            f"{path}: iso3 must be three capital letters; line(s) {_rows(df, bad)} "
            f"(values {sorted(set(df.loc[bad, 'iso3']))})"
        )
    for col in ("year_from", "year_to"):
        badyr = (df[col] != "") & ~df[col].str.fullmatch(r"-?\d{1,4}")
        if badyr.any():
            raise DataError(f"{path}: column {col} must be a year or blank; line(s) {_rows(df, badyr)}")
    nonote = df["note"].str.strip() == ""
    if nonote.any():
        raise DataError(f"{path}: every row needs a note saying why; line(s) {_rows(df, nonote)} have none")
    df["lo"] = pd.to_numeric(df["year_from"].replace("", None), errors="coerce").fillna(-10_000)
    df["hi"] = pd.to_numeric(df["year_to"].replace("", None), errors="coerce").fillna(10_000)
    inverted = df["lo"] > df["hi"]
    if inverted.any():
        raise DataError(f"{path}: year_from after year_to at line(s) {_rows(df, inverted)}")
    for (scheme, _key), grp in df.groupby(["scheme", "key"], sort=False):
        if len(grp) < 2:
            continue
        g = grp.sort_values("lo")
        overlap = g["lo"].to_numpy()[1:] <= g["hi"].to_numpy()[:-1]
        if overlap.any():
            raise DataError(
                f"{path}: rows for {scheme} code {g['code'].iloc[0]!r} have overlapping year ranges "
                f"(line(s) {sorted(int(i) + 2 for i in g.index)}); give each row its own years"
            )
    return df


@lru_cache(maxsize=1)
def exclusions() -> pd.DataFrame:
    """Deliberately excluded units (historical states, aggregates) with the reason, in one place.

    Raises :class:`DataError` naming the file and line for an unknown scheme or a row without a reason.
    """
    df = _read_reference(EXCLUSIONS_FILE, ["scheme", "code", "reason"])
    noreason = df["reason"].str.strip() == ""
    if noreason.any():
        raise DataError(
            f"{paths.REFERENCE / EXCLUSIONS_FILE}: every exclusion needs a reason; "
            f"line(s) {_rows(df, noreason)} have none"
        )
    df["key"] = [_norm(c, s) for c, s in zip(df["code"], df["scheme"], strict=True)]
    return df


def clear_caches() -> None:
    """Forget cached reference tables (after editing them, or in tests that point paths elsewhere)."""
    for f in (crosswalk, _name_patterns, overrides, exclusions, _code_lookup, _codelist_panel):
        f.cache_clear()


@cache
def _code_lookup(scheme: str) -> dict[str, str]:
    col = SCHEMES[scheme]
    cw = crosswalk()
    out: dict[str, str] = {}
    for code, iso in zip(cw[col], cw["iso3c"], strict=True):
        if code and iso:
            out.setdefault(_norm(code, scheme), iso)
    return out


def _match_name(name: str) -> str | None:
    hits = {iso for pat, iso in _name_patterns() if pat.search(name)}
    if len(hits) == 1:
        return hits.pop()
    return None  # no hit, or ambiguous: both need a reviewed row in country_map.csv


def _is_blank(v: object) -> bool:
    return v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NA or str(v).strip() == ""


def _overrides_by_key(scheme: str) -> dict[str, list[tuple[float, float, str]]]:
    """The reviewed map's rows for one scheme, by normalised code: [(year_from, year_to, iso3), ...]."""
    ov = overrides()
    ov = ov[ov["scheme"] == scheme]
    ov_by_key: dict[str, list[tuple[float, float, str]]] = {}
    for k, lo, hi, iso in zip(ov["key"], ov["lo"], ov["hi"], ov["iso3"], strict=True):
        ov_by_key.setdefault(k, []).append((lo, hi, iso))
    return ov_by_key


def _resolve_code(
    v: object,
    key: str,
    y: object,
    ov_by_key: dict[str, list[tuple[float, float, str]]],
    excluded: set[str],
    lookup: dict[str, str] | None,
) -> object:
    """ISO3 of one value (normalised ``key``) in year ``y``: the reviewed map's row covering ``y`` first, then a
    deliberate exclusion (<NA>), then the crosswalk's codes (or its name patterns); None if unmapped."""
    for lo, hi, iso in ov_by_key.get(key, []):
        if y is None or pd.isna(y) or lo <= float(y) <= hi:
            return iso
    if key in excluded:
        return pd.NA
    return lookup.get(key) if lookup is not None else _match_name(str(v).strip())


def to_iso3(
    values: Iterable, scheme: str, *, years: Iterable | None = None, source: str = "", strict: bool = True
) -> pd.Series:
    """Map country names or codes to ISO3.

    Parameters
    ----------
    values : names or codes (any iterable; a Series keeps its index).
    scheme : one of :data:`SCHEMES`.
    years : optional, same length as ``values``; lets year-bounded rows of the reviewed map apply.
    source : label used in error messages (e.g. ``"ciri/CIRI.csv column COW"``).
    strict : if True (default) raise :class:`UnmappedCountryError` listing every value that is neither mapped
        nor deliberately excluded; if False those become <NA> too.

    Returns a string Series (ISO3 or <NA> for deliberate exclusions), aligned with ``values``.
    """
    if scheme not in SCHEMES:
        raise ParameterError("scheme", scheme, sorted(SCHEMES))
    index = values.index if isinstance(values, pd.Series) else None
    vals = list(values)
    yrs = list(years) if years is not None else [None] * len(vals)
    if len(yrs) != len(vals):
        raise ValueError("to_iso3: `years` must have the same length as `values`")

    ov_by_key = _overrides_by_key(scheme)
    ex = exclusions()
    excluded = set(ex.loc[ex["scheme"] == scheme, "key"])
    lookup = _code_lookup(scheme) if SCHEMES[scheme] else None

    # a value's result depends on the year only when the reviewed map has rows for its key: cache by key otherwise
    # (sources repeat each country once a year), and normalise each distinct value once
    cache: dict[object, object] = {}
    keys: dict[tuple[type, object], str | None] = {}  # (type, value) -> normalised key, None when blank
    out: list[object] = []
    unmapped: set[str] = set()
    for v, y in zip(vals, yrs, strict=True):
        try:
            vk = (type(v), v)
            key = keys[vk] if vk in keys else keys.setdefault(vk, None if _is_blank(v) else _norm(v, scheme))
        except TypeError:  # an unhashable value
            key = None if _is_blank(v) else _norm(v, scheme)
        if key is None:
            out.append(pd.NA)
            continue
        ck = (key, y) if key in ov_by_key else key
        if ck not in cache:
            cache[ck] = _resolve_code(v, key, y, ov_by_key, excluded, lookup)
        res = cache[ck]
        if res is None:
            unmapped.add(str(v).strip())
            res = pd.NA
        out.append(res)
    if unmapped and strict:
        raise UnmappedCountryError(unmapped, scheme, source)
    return pd.Series(out, index=index, dtype="string")


def _project_codes() -> set[str]:
    """Every ISO3 the harmonisation can return: crosswalk iso3c plus the reviewed map's targets (e.g. XKX)."""
    return (set(crosswalk()["iso3c"]) | set(overrides()["iso3"])) - {""}


def iso3_name(iso3: str) -> str:
    """English short name of an ISO3 code (from the crosswalk; project codes such as XKX via their World Bank code)."""
    cw = crosswalk()
    hit = cw.loc[cw["iso3c"] == iso3, "country.name.en"]
    if hit.empty:
        hit = cw.loc[(cw["iso3c"] == "") & (cw["wb"] == iso3), "country.name.en"]
    if hit.empty:
        raise ParameterError("iso3", iso3, hint="not an ISO3 code known to the countrycode crosswalk")
    return str(hit.iloc[0])


def resolve_country(value: str) -> str:
    """A user's country parameter (ISO3 code or English name) -> ISO3, or an error suggesting close names."""
    v = str(value).strip()
    if v.upper() in _project_codes():
        return v.upper()
    iso = to_iso3([v], "name", strict=False).iloc[0]
    if not pd.isna(iso):
        return str(iso)
    cw = crosswalk()
    import difflib

    names = sorted(set(cw["country.name.en"]) - {""})
    close = difflib.get_close_matches(v, names, n=5, cutoff=0.5)
    raise ParameterError(
        "country", value, close or None, hint="give an ISO3 code (e.g. PAK) or an English country name"
    )


PANEL_FILE = "countrycode/codelist_panel.rda"


@lru_cache(maxsize=1)
def _codelist_panel() -> pd.DataFrame:
    path = paths.raw_path(PANEL_FILE)
    if not path.exists():
        raise DataError(f"{path}: the countrycode panel is missing; run the data step (make data)")
    import pyreadr

    try:
        df = pyreadr.read_r(str(path))["codelist_panel"]
    except Exception as exc:  # pyreadr raises its own LibrdataError / KeyError
        raise DataError(f"{path}: cannot read R object 'codelist_panel' ({exc})") from exc
    return df[["country.name.en", "year", "gwn", "cown"]].copy()


def state_system_frame(system: str = "gwn", first_year: int = 1946, last_year: int = 2022) -> pd.DataFrame:
    """Country-years of the Gleditsch-Ward (``"gwn"``) or COW (``"cown"``) state system as (iso3, year).

    Membership comes from the countrycode panel (``codelist_panel``: a unit is a member in a year when it has a
    code that year); codes become ISO3 through :func:`to_iso3` with years, so the reviewed year-bounded rows and
    exclusions apply (e.g. GW 345 -> SRB to 2006, GW 265 GDR left out). The panel ends in 2020: members in its
    last year are carried forward to ``last_year`` (no state was born or dissolved in 2021-2024).
    Returns a DataFrame sorted by iso3, year with unique keys.
    """
    if system not in ("gwn", "cown"):
        raise ParameterError("system", system, ["gwn", "cown"])
    p = _codelist_panel()
    p = p[p[system].notna()]
    yr = p["year"].astype(int)
    last = int(yr.max())
    p = p[(yr >= min(first_year, last)) & (yr <= last_year)]
    iso = to_iso3(
        p[system].astype(int).astype(str),
        system,
        years=p["year"].astype(int),
        source=f"{PANEL_FILE} column {system}",
    )
    df = pd.DataFrame({"iso3": iso.to_numpy(), "year": p["year"].astype(int).to_numpy()}).dropna()
    if last_year > last:
        tail = df[df["year"] == last]
        extra = [tail.assign(year=y) for y in range(last + 1, last_year + 1)]
        df = pd.concat([df, *extra], ignore_index=True)
    df = df[(df["year"] >= first_year) & (df["year"] <= last_year)]
    df = df.drop_duplicates().sort_values(["iso3", "year"]).reset_index(drop=True)
    df["iso3"] = df["iso3"].astype("string")
    df["year"] = df["year"].astype("int64")
    return df


def resolve_unit(df: pd.DataFrame, country, unit_col: str = "iso3", name_col: str = "") -> object:
    """The unit a case is about: ``country`` as a value of ``unit_col`` (e.g. "PAK"), or as a value of
    ``name_col`` (e.g. "Pakistan", compared case-insensitively; the first matching row's unit).

    Raises ParameterError("country", ...) listing the units when neither matches.
    """
    if unit_col not in df.columns:
        raise ParameterError(
            "unit_col", unit_col, sorted(map(str, df.columns)), hint="column not in the panel"
        )
    units = set(df[unit_col])
    if country in units:
        return country
    by_text = {str(u): u for u in units}
    if str(country) in by_text:  # "3" for a numeric unit column: the valid values are listed as text
        return by_text[str(country)]
    if name_col and name_col in df.columns:
        match = df[name_col].astype(str).str.casefold() == str(country).casefold()
        if match.any():
            return df.loc[match, unit_col].iloc[0]
    valid = sorted(map(str, units))
    shown = valid[:250]
    raise ParameterError(
        "country",
        country,
        shown,
        hint=f"not a value of {unit_col!r}"
        + (f" or {name_col!r}" if name_col else "")
        + (f"; {len(shown)} of {len(valid)} units shown" if len(shown) < len(valid) else ""),
    )
