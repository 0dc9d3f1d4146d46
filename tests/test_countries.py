"""Country harmonisation: crosswalk, reviewed map, exclusions, year-bounded codes and bad reference files."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from helpers.core import paths
from helpers.core.errors import DataError, ParameterError, UnmappedCountryError
from helpers.data import countries


@pytest.fixture(autouse=True)
def _fresh_caches():
    countries.clear_caches()
    yield
    countries.clear_caches()


def iso(values, scheme, years=None, **kw):
    return countries.to_iso3(values, scheme, years=years, **kw).tolist()


# --------------------------------------------------------------------------------------------------------------
# crosswalk and reviewed map (real reference files)


@pytest.mark.realdata
def test_crosswalk_codes_and_names():
    assert iso(["PAK", "DEU"], "iso3c") == ["PAK", "DEU"]
    assert iso([770, "770", 770.0], "cown") == ["PAK"] * 3  # numeric codes normalised
    assert iso(["586"], "iso3n") == ["PAK"]
    assert iso(["pak", "AFG"], "gapminder") == ["PAK", "AFG"]  # Gapminder geo is lower-case ISO3
    assert iso(["Pakistan", "Syria ", "Cote d'Ivoire", "Swaziland", "Turkey"], "name") == [
        "PAK",
        "SYR",
        "CIV",
        "SWZ",
        "TUR",
    ]
    s = countries.to_iso3(pd.Series(["PAK", "IND"], index=[10, 20]), "iso3c")
    assert list(s.index) == [10, 20]  # a Series keeps its index


@pytest.mark.realdata
def test_kosovo_has_one_code_in_every_scheme():
    cases = {
        "iso3c": ["XKX", "KOS"],
        "wb": ["XKX", "KSV"],
        "cown": ["347"],
        "gwn": ["347"],
        "p5n": ["341"],
        "gapminder": ["kos"],
        "name": ["Kosovo"],
    }
    for scheme, codes in cases.items():
        assert iso(codes, scheme, years=[2010] * len(codes)) == ["XKX"] * len(codes), scheme
    assert countries.iso3_name("XKX") == "Kosovo"
    assert countries.resolve_country("Kosovo") == "XKX"
    assert countries.resolve_country("xkx") == "XKX"


@pytest.mark.realdata
def test_old_world_bank_codes():
    assert iso(["KSV", "ROM", "ZAR", "TMP", "WBG"], "wb") == ["XKX", "ROU", "COD", "TLS", "PSE"]


@pytest.mark.realdata
def test_year_bounded_codes_change_meaning():
    # COW 260 = West Germany until 1990; after that the code is not valid (unified Germany is 255)
    assert iso(["260", "255"], "cown", years=[1985, 1995]) == ["DEU", "DEU"]
    with pytest.raises(UnmappedCountryError, match="260"):
        countries.to_iso3(["260"], "cown", years=[1995])
    # Polity 347 (FR Yugoslavia / Serbia and Montenegro) only 1991-2006
    assert iso(["345", "347", "342"], "p5n", years=[1985, 1995, 2010]) == ["SRB"] * 3
    with pytest.raises(UnmappedCountryError):
        countries.to_iso3(["347"], "p5n", years=[1980])
    # GW 345 to 2006, GW 678 is Yemen (Arab Republic, then unified)
    assert iso(["345", "678", "678"], "gwn", years=[1999, 1980, 2015]) == ["SRB", "YEM", "YEM"]
    with pytest.raises(UnmappedCountryError):
        countries.to_iso3(["345"], "gwn", years=[2010])
    # without years the first matching row applies
    assert iso(["260"], "cown") == ["DEU"]


@pytest.mark.realdata
def test_exclusions_map_to_na_on_purpose():
    out = countries.to_iso3(["265", "680", "2"], "cown", years=[1980, 1980, 1980])
    assert out.isna().tolist() == [True, True, False]
    assert countries.to_iso3(["1", "419", "586"], "iso3n").isna().tolist() == [True, True, False]
    # Natural Earth ISO_A3/ADM0_A3 fallback values: FRA/NOR fine, KOS -> XKX, de facto units left out
    out = countries.to_iso3(["FRA", "NOR", "KOS", "CYN", "SOL"], "iso3c")
    assert out.tolist()[:3] == ["FRA", "NOR", "XKX"] and out.iloc[3:].isna().all()


@pytest.mark.realdata
def test_unmapped_values_are_all_listed_with_the_source():
    with pytest.raises(UnmappedCountryError) as err:
        countries.to_iso3(
            ["Atlantis", "Pakistan", "Narnia", "Atlantis"], "name", source="demo.csv column CTRY"
        )
    assert err.value.values == ["Atlantis", "Narnia"]
    msg = str(err.value)
    assert (
        "Atlantis" in msg and "Narnia" in msg and "demo.csv column CTRY" in msg and "country_map.csv" in msg
    )
    lenient = countries.to_iso3(["Atlantis", "Pakistan"], "name", strict=False)
    assert lenient.isna().tolist() == [True, False]


def test_unknown_scheme_is_a_parameter_error():
    with pytest.raises(ParameterError, match="valid values: .*cown"):
        countries.to_iso3(["PAK"], "isoo3")


@pytest.mark.realdata
def test_real_reference_files_are_valid_and_target_known_codes():
    ov = countries.overrides()
    ex = countries.exclusions()
    assert len(ov) > 0 and len(ex) > 0
    known = set(countries.crosswalk()["iso3c"]) - {""}
    assert set(ov["iso3"]) - known <= {"XKX", "EUU"}, (
        "map targets must be ISO3 codes (or the project's XKX/EUU)"
    )
    assert (ov["note"].str.len() > 10).all() and (ex["reason"].str.len() > 10).all()
    # no code is both mapped without year bounds and excluded (that exclusion would be dead)
    unbounded = ov[(ov["year_from"] == "") & (ov["year_to"] == "")]
    both = set(zip(unbounded["scheme"], unbounded["key"], strict=True)) & set(
        zip(ex["scheme"], ex["key"], strict=True)
    )
    assert not both


@pytest.fixture(scope="module")
def cc_panel():
    import pyreadr

    full = pyreadr.read_r(str(paths.raw_path(countries.PANEL_FILE)))["codelist_panel"]
    return full[(full["year"] >= 1946) & (full["year"] <= 2020) & full["iso3c"].notna()]


@pytest.mark.realdata
@pytest.mark.parametrize("scheme", ["cown", "gwn", "p5n"])
def test_year_specific_codes_agree_with_countrycode_panel(scheme, cc_panel):
    """Second implementation: countrycode's own year-specific panel (where it gives an iso3c), 1946-2020."""
    full = cc_panel[cc_panel[scheme].notna()]
    assert len(full) > 5000
    ours = countries.to_iso3(
        full[scheme].astype(int).astype(str), scheme, years=full["year"].astype(int), strict=False
    )
    agree = ours.to_numpy() == full["iso3c"].to_numpy()
    assert agree.all(), full.loc[~agree, ["country.name.en", "year", scheme, "iso3c"]].head()


@pytest.mark.realdata
def test_state_system_frame():
    gw = countries.state_system_frame("gwn", 1946, 2022)
    assert not gw.duplicated(["iso3", "year"]).any()
    assert gw["year"].between(1946, 2022).all() and gw["year"].dtype == "int64"
    xkx = gw.loc[gw["iso3"] == "XKX", "year"]
    assert xkx.min() == 2008 and xkx.max() == 2022  # carried forward past the panel's 2020
    assert {1970, 1989}.issubset(set(gw.loc[gw["iso3"] == "DEU", "year"]))  # GW 260 West Germany
    assert 1980 in set(gw.loc[gw["iso3"] == "YEM", "year"])  # GW 678 North Yemen
    assert not gw["iso3"].isin(["DDR", "YMD"]).any()
    # the two systems have the same states in 2022 apart from micro-states (GW) and Vietnam (missing gwn)
    cow = countries.state_system_frame("cown", 2022, 2022)
    assert set(gw.loc[gw["year"] == 2022, "iso3"]) <= set(cow["iso3"])
    with pytest.raises(ParameterError):
        countries.state_system_frame("vdem")


@pytest.mark.realdata
def test_resolve_country_errors_suggest_names():
    assert countries.resolve_country("pak") == "PAK"
    assert countries.resolve_country("Pakistan") == "PAK"
    with pytest.raises(ParameterError, match="Pakistan"):
        countries.resolve_country("Pakisthan")


# --------------------------------------------------------------------------------------------------------------
# malformed reference files (synthetic, in tmp_path)

MAP_HEADER = "scheme,code,iso3,year_from,year_to,note\n"


@pytest.fixture
def ref_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "REFERENCE", tmp_path)
    (tmp_path / "country_exclusions.csv").write_text("scheme,code,reason\n")
    return tmp_path


def _write_map(ref_dir, body: str):
    (ref_dir / "country_map.csv").write_text(MAP_HEADER + body)
    countries.clear_caches()


@pytest.mark.parametrize(
    "body, pattern",
    [
        (
            "cown,260,DEU,,1990,West Germany\nisoo3,XXX,PAK,,,typo in scheme\n",
            r"unknown scheme.*isoo3.*line\(s\) \[3\]",
        ),
        (
            "cown,260,DEU,,1990,West Germany\ncown,999,pak,,,lower case\n",
            r"three capital letters.*line\(s\) \[3\]",
        ),
        ("cown,260,DEU,,1990,\n", r"needs a note.*line\(s\) \[2\]"),
        ("cown,260,DEU,19x0,,bad year\n", r"year_from.*line\(s\) \[2\]"),
        ("cown,260,DEU,,1990,a\ncown,260,DEU,1985,,b\n", r"overlapping year ranges.*\[2, 3\]"),
        ("cown,260,DEU,1995,1990,inverted\n", r"year_from after year_to.*\[2\]"),
    ],
)
def test_malformed_map_names_file_and_line(ref_dir, body, pattern):
    _write_map(ref_dir, body)
    with pytest.raises(DataError, match=pattern) as err:
        countries.to_iso3(["260"], "cown", years=[1980])
    assert str(ref_dir / "country_map.csv") in str(err.value)


def test_malformed_exclusions_name_file_and_line(ref_dir):
    _write_map(ref_dir, "")
    (ref_dir / "country_exclusions.csv").write_text("scheme,code,reason\ncown,265,GDR\ncown,680,\n")
    countries.clear_caches()
    with pytest.raises(DataError, match=r"needs a reason.*line\(s\) \[3\]") as err:
        countries.to_iso3(["265"], "cown")
    assert "country_exclusions.csv" in str(err.value)
    (ref_dir / "country_exclusions.csv").write_text("scheme,code,reason\ncowm,265,GDR\n")
    countries.clear_caches()
    with pytest.raises(DataError, match=re.escape("unknown scheme(s) ['cowm']")):
        countries.to_iso3(["265"], "cown")


def test_missing_column_in_map(ref_dir):
    (ref_dir / "country_map.csv").write_text("scheme,code,iso3\ncown,260,DEU\n")
    countries.clear_caches()
    with pytest.raises(DataError, match="missing column"):
        countries.to_iso3(["260"], "cown")


@pytest.mark.realdata
def test_synthetic_map_rows_take_precedence_with_years(ref_dir):
    _write_map(ref_dir, "cown,999,AAA,,1990,old meaning\ncown,999,BBB,1991,,new meaning\n")
    assert iso(["999", "999"], "cown", years=[1990, 1991]) == ["AAA", "BBB"]
    (ref_dir / "country_exclusions.csv").write_text("scheme,code,reason\ncown,770,pretend aggregate\n")
    countries.clear_caches()
    assert countries.to_iso3(["770"], "cown").isna().all()  # exclusions beat the crosswalk
