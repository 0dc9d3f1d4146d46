"""Country harmonisation: every source's country names and codes become ISO 3166 alpha-3 here, and only here.

How a value is mapped (first hit wins):

1. ``data/reference/country_map.csv``: the explicit, reviewed map (columns ``scheme, code, iso3, year_from,
   year_to, note``). Year bounds let a code mean different states at different times (e.g. COW 260 = West
   Germany until 1990, then Germany). Rows are reviewed by hand; each has a note saying why.
2. ``data/reference/country_exclusions.csv``: deliberate exclusions (historical units, aggregates, territories
   not in the panel), columns ``scheme, code, reason``. They map to <NA> on purpose.
3. The ``countrycode`` crosswalk (Arel-Bundock et al., ``data/raw/countrycode/codelist_without_cldr.csv``):
   a code column for code schemes, or the English-name regular expressions for ``scheme="name"``.

Anything left over raises :class:`helpers.errors.UnmappedCountryError` listing every unmapped value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

import pandas as pd

from . import paths
from .errors import DataError, ParameterError, UnmappedCountryError

CROSSWALK_FILE = "countrycode/codelist_without_cldr.csv"
MAP_FILE = "country_map.csv"
EXCLUSIONS_FILE = "country_exclusions.csv"

#: scheme name -> crosswalk column (``None`` = matched by regex on English names)
SCHEMES: dict[str, str | None] = {
    "iso3c": "iso3c",        # ISO alpha-3 (also Gapminder `geo` upper-cased, WDI ISO3, Maddison countrycode)
    "iso3n": "iso3n",        # ISO numeric (= UN M49 for countries)
    "cown": "cown",          # Correlates of War numeric (CIRI COW)
    "gwn": "gwn",            # Gleditsch-Ward numeric (UCDP gwno_*)
    "p5n": "p5n",            # Polity5 ccode
    "vdem": "vdem",          # V-Dem numeric country_id
    "wb": "wb",              # World Bank code (WBL, income classifications)
    "name": None,            # English country name (UNTC participants, APT, ...): regex match
}


def _norm(value: object, scheme: str) -> str:
    s = str(value).strip()
    if scheme == "name":
        s = re.sub(r"\s+", " ", s).casefold()
    elif SCHEMES.get(scheme) in {"iso3n", "cown", "gwn", "p5n", "vdem"}:
        try:
            s = str(int(float(s)))
        except ValueError:
            pass
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
    for pat, iso in zip(cw["country.name.en.regex"], cw["iso3c"]):
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
        raise DataError(f"{path}: unknown scheme(s) {bad} at row(s) {rows}; valid: {sorted(SCHEMES)}")
    return df


@lru_cache(maxsize=1)
def overrides() -> pd.DataFrame:
    """The reviewed explicit map (data/reference/country_map.csv)."""
    df = _read_reference(MAP_FILE, ["scheme", "code", "iso3", "year_from", "year_to", "note"])
    df["key"] = [_norm(c, s) for c, s in zip(df["code"], df["scheme"])]
    df["lo"] = pd.to_numeric(df["year_from"].replace("", None), errors="coerce").fillna(-10_000)
    df["hi"] = pd.to_numeric(df["year_to"].replace("", None), errors="coerce").fillna(10_000)
    bad = df[~df["iso3"].str.fullmatch(r"[A-Z]{3}")]
    if len(bad):
        raise DataError(f"{paths.REFERENCE / MAP_FILE}: iso3 must be three capital letters; rows {list(bad.index + 2)}")
    return df


@lru_cache(maxsize=1)
def exclusions() -> pd.DataFrame:
    """Deliberately excluded units (historical states, aggregates) with the reason, in one place."""
    df = _read_reference(EXCLUSIONS_FILE, ["scheme", "code", "reason"])
    df["key"] = [_norm(c, s) for c, s in zip(df["code"], df["scheme"])]
    return df


def clear_caches() -> None:
    """Forget cached reference tables (after editing them, or in tests that point paths elsewhere)."""
    for f in (crosswalk, _name_patterns, overrides, exclusions, _code_lookup):
        f.cache_clear()


@lru_cache(maxsize=None)
def _code_lookup(scheme: str) -> dict[str, str]:
    col = SCHEMES[scheme]
    cw = crosswalk()
    out: dict[str, str] = {}
    for code, iso in zip(cw[col], cw["iso3c"]):
        if code and iso:
            out.setdefault(_norm(code, scheme), iso)
    return out


def _match_name(name: str) -> str | None:
    hits = {iso for pat, iso in _name_patterns() if pat.search(name)}
    if len(hits) == 1:
        return hits.pop()
    return None  # no hit, or ambiguous: both need a reviewed row in country_map.csv


def to_iso3(values: Iterable, scheme: str, *, years: Iterable | None = None, source: str = "",
            strict: bool = True) -> pd.Series:
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

    ov = overrides()
    ov = ov[ov["scheme"] == scheme]
    ov_by_key: dict[str, list[tuple[float, float, str]]] = {}
    for k, lo, hi, iso in zip(ov["key"], ov["lo"], ov["hi"], ov["iso3"]):
        ov_by_key.setdefault(k, []).append((lo, hi, iso))
    ex = exclusions()
    excluded = set(ex.loc[ex["scheme"] == scheme, "key"])
    lookup = _code_lookup(scheme) if SCHEMES[scheme] else None

    cache: dict[tuple[str, object], object] = {}
    out: list[object] = []
    unmapped: set[str] = set()
    for v, y in zip(vals, yrs):
        if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NA or str(v).strip() == "":
            out.append(pd.NA)
            continue
        key = _norm(v, scheme)
        ck = (key, y)
        if ck not in cache:
            res: object = None
            for lo, hi, iso in ov_by_key.get(key, []):
                if y is None or pd.isna(y) or lo <= float(y) <= hi:
                    res = iso
                    break
            if res is None and key in excluded:
                res = pd.NA
            if res is None:
                res = lookup.get(key) if lookup is not None else _match_name(str(v).strip())
            cache[ck] = res
        res = cache[ck]
        if res is None:
            unmapped.add(str(v).strip())
            res = pd.NA
        out.append(res)
    if unmapped and strict:
        raise UnmappedCountryError(unmapped, scheme, source)
    return pd.Series(out, index=index, dtype="string")


def iso3_name(iso3: str) -> str:
    """English short name of an ISO3 code (from the crosswalk)."""
    cw = crosswalk()
    hit = cw.loc[cw["iso3c"] == iso3, "country.name.en"]
    if hit.empty:
        raise ParameterError("iso3", iso3, hint="not an ISO3 code known to the countrycode crosswalk")
    return str(hit.iloc[0])


def resolve_country(value: str) -> str:
    """A user's country parameter (ISO3 code or English name) -> ISO3, or an error suggesting close names."""
    v = str(value).strip()
    cw = crosswalk()
    if v.upper() in set(cw["iso3c"]) - {""}:
        return v.upper()
    iso = _match_name(v)
    if iso:
        return iso
    import difflib

    names = sorted(set(cw["country.name.en"]) - {""})
    close = difflib.get_close_matches(v, names, n=5, cutoff=0.5)
    raise ParameterError("country", value, close or None,
                         hint="give an ISO3 code (e.g. PAK) or an English country name")
