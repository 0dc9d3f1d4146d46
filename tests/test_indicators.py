"""Indicator loaders: key uniqueness, ranges, documented counts and quirks on the real files; bad input on fixtures."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from helpers.core import paths
from helpers.core.errors import DataError, ParameterError, UnmappedCountryError
from helpers.data import countries, variables
from helpers.data import sources as ind
from helpers.data.sources import apt, ciri, common, gapminder, maddison, polity, ucdp, vdem, wbl, wdi

REAL_RAW = paths.RAW
YEAR_LOADERS = [
    "load_vdem",
    "load_ciri",
    "load_cirights",
    "load_wbl",
    "load_wdi",
    "load_gapminder",
    "load_polity",
    "load_ucdp",
    "load_maddison",
    "load_income_groups",
    "load_mmr",
    "load_apt_nhri",
]


@pytest.fixture(scope="module")
def frames():
    """Every loader run once on the real files (about 5 s in all)."""
    import time

    countries.clear_caches()
    t0 = time.perf_counter()
    out = {
        name: ind.LOADER_FUNCTIONS[name]()
        for name in [*YEAR_LOADERS, "load_regions", "load_apt_indicators", "load_vdem_codebook"]
    }
    out["_seconds"] = time.perf_counter() - t0
    return out


# --------------------------------------------------------------------------------------------------------------
# every loader


@pytest.mark.realdata
@pytest.mark.parametrize("name", YEAR_LOADERS)
def test_tidy_contract(frames, name):
    df = frames[name]
    assert list(df.columns[:2]) == ["iso3", "year"]
    assert not df.duplicated(["iso3", "year"]).any()
    assert df["year"].dtype == "int64"
    assert df["iso3"].str.fullmatch(r"[A-Z]{3}").all() and df["iso3"].notna().all()
    assert not df["iso3"].isin(["DDR", "YMD", "VDR", "SUN", "YUG", "CSK", "KOS", "KSV"]).any()
    values = df.drop(columns=["iso3", "year"])
    numeric = [c for c in values if c not in ("income_group", "income_group_fy")]
    assert all(values[c].dtype == "float64" for c in numeric), values.dtypes
    assert values.notna().any().all(), "a column with no data at all"
    assert df.equals(df.sort_values(["iso3", "year"]).reset_index(drop=True))


@pytest.mark.realdata
def test_variable_registry_covers_every_output_column(frames):
    """Every loader the registry names returns exactly its registered columns; their sources' files are present."""
    reg = variables.registry()
    named = variables.loaders()
    assert sorted(name.split(".")[1] for name in named) == sorted(YEAR_LOADERS)
    for name in named:
        out = list(frames[name.split(".")[1]].columns[2:])
        assert out == variables.loader_columns(name), name
    assert "region" in frames["load_regions"]  # the frame step's region column (registered as derived)
    data_registry = pd.read_csv(paths.REGISTRY, sep="\t", usecols=["source", "file"])
    used = {p for s in reg.loc[reg["loader"] != "derived", "source"] for p in s.split(" + ")}
    files = data_registry.loc[data_registry["source"].isin(used), "file"]
    assert used <= set(data_registry["source"]) and len(files) >= len(used)
    assert all(paths.raw_path(f).exists() for f in files)


@pytest.mark.realdata
def test_all_loaders_together_are_fast(frames):
    assert frames["_seconds"] < 20  # brief: well under ~20 s in all


# --------------------------------------------------------------------------------------------------------------
# V-Dem


@pytest.mark.realdata
def test_vdem(frames):
    v = frames["load_vdem"]
    for c in [
        "v2x_gender",
        "v2x_gencl",
        "v2x_gencs",
        "v2x_genpp",
        "v2x_polyarchy",
        "v2x_libdem",
        "v2xcs_ccsi",
        "v2x_civlib",
        "v2x_cspart",
        "v2xpe_exlgender",
    ]:
        assert v[c].dropna().between(0, 1).all(), c
    assert set(v["v2x_regime"].dropna().unique()) <= {0, 1, 2, 3}
    assert v["v2lgfemleg"].dropna().between(0, 100).all()
    assert v["year"].min() == 1970 and v["year"].max() == 2023
    # docs/data.md#vdemlite: 9,170 country-years of 182 units; the loader drops exactly the excluded units
    raw = common.read_r(vdem.VDEM_FILE, "vdemlite")
    assert len(raw) == 9170 and raw["country_text_id"].nunique() == 182
    ex = countries.exclusions()
    dropped = raw["country_text_id"].isin(ex.loc[ex["scheme"] == "iso3c", "key"])
    assert len(v) == len(raw) - dropped.sum()
    assert v["iso3"].nunique() == 182 - raw.loc[dropped, "country_text_id"].nunique()
    assert v.loc[v["iso3"] == "XKX", "year"].min() == 1999
    assert "PSE" in set(v["iso3"])


@pytest.mark.realdata
def test_vdem_codebook(frames):
    cb = frames["load_vdem_codebook"]
    assert len(cb) == 781  # docs/data.md#vdem_codebook
    tags = set(cb["column"])
    assert {"v2x_gender", "v2lgfemleg", "v2x_polyarchy", "v2xcs_ccsi"} <= tags


# --------------------------------------------------------------------------------------------------------------
# CIRI / CIRIGHTS


@pytest.mark.realdata
def test_ciri(frames):
    c = frames["load_ciri"]
    assert len(c) == 5043  # docs/data.md#ciri: 6,262 rows - 1,219 placeholders
    for col in ["wecon", "wopol", "wosoc"]:
        assert set(c[col].dropna().unique()) <= {0, 1, 2, 3}
    assert c["physint"].dropna().between(0, 8).all()
    assert c["year"].min() == 1981 and c["year"].max() == 2011
    assert c.loc[c["wosoc"].notna(), "year"].max() <= 2007  # WOSOC stops after 2005 (a few to 2007)
    deu = c[c["iso3"] == "DEU"]
    assert deu["year"].tolist() == list(range(1981, 2012))  # 260 to 1989, then 255: no gap, no overlap
    srb = c[c["iso3"] == "SRB"]
    assert srb["year"].tolist() == list(range(1981, 2012))  # 345 under three names, then "Serbia"
    assert set(c.loc[c["iso3"] == "XKX", "year"]) == {2009, 2010, 2011}
    assert c.loc[c["iso3"] == "YEM", "year"].min() == 1981  # North Yemen 678 -> YEM to 1990


@pytest.mark.realdata
def test_ciri_special_codes_become_nan():
    raw = pd.read_csv(paths.raw_path(ciri.CIRI_FILE))
    raw = raw[raw["KILL"].notna()]
    assert len(raw) == 5043
    special = raw["WECON"].isin([-999, -66, -77])
    assert special.sum() > 0
    assert ciri.load_ciri()["wecon"].isna().sum() == special.sum() + raw["WECON"].isna().sum()


@pytest.mark.realdata
def test_cirights(frames):
    r = frames["load_cirights"]
    for col in ["wecon_cirights", "wopol_cirights"]:
        assert set(r[col].dropna().unique()) <= {0, 1, 2, 3}
    assert r["physint_cirights"].dropna().between(0, 8).all()
    assert r["year"].max() == 2015
    # the Albania 2013-2015 rows coded with Burkina Faso's COW code are fixed, so both countries are there
    for iso3 in ("ALB", "BFA"):
        assert {2013, 2014, 2015} <= set(r.loc[r["iso3"] == iso3, "year"])


@pytest.mark.realdata
def test_ciri_and_cirights_agree_as_documented(frames):
    """Agreement 1981-2011: WECON 99.8 %, WOPOL 99.9 %, ~5,042 rows (docs/data.md#cirights_2016_hackathon)."""
    m = frames["load_ciri"].merge(frames["load_cirights"], on=["iso3", "year"])
    m = m[m["year"] <= 2011]
    assert len(m) >= 5042
    for col, share in [("wecon", 0.998), ("wopol", 0.999)]:
        a, b = m[col], m[f"{col}_cirights"]
        same = (a == b) | (a.isna() & b.isna())
        assert same.mean() >= share, (col, same.mean())


# --------------------------------------------------------------------------------------------------------------
# World Bank


@pytest.mark.realdata
def test_wbl(frames):
    w = frames["load_wbl"]
    assert len(w) == 9500 and w["iso3"].nunique() == 190  # 190 economies x 50 years, no gaps
    assert w["year"].min() == 1970 and w["year"].max() == 2019  # reports 1971-2020 shifted by one year
    sub = [c for c in w if c.startswith("wbl_")]
    assert len(sub) == 9
    assert w[sub].stack().between(0, 100).all()
    # WBL 2020 report: Saudi Arabia scores 70.6 (its 2019 reforms); the 2020 report's data are for 2019
    assert w.set_index(["iso3", "year"]).loc[("SAU", 2019), "wbl_index"] == pytest.approx(70.6)
    # the index is the mean of the 8 sub-indices (WBL methodology)
    assert np.allclose(w[sub[1:]].mean(axis=1), w["wbl_index"], atol=0.051)
    assert {"XKX", "ROU", "COD", "TLS", "PSE"} <= set(w["iso3"])


@pytest.mark.realdata
def test_wbl_report_year_shift_against_raw_sheet():
    raw = common.read_excel(wbl.WBL_FILE, wbl.WBL_SHEET, header=1, usecols="C,F,G")
    row = raw[(raw["Code"] == "PAK") & (raw["WBL Report Year"] == 2020)]
    w = wbl.load_wbl().set_index(["iso3", "year"])
    assert w.loc[("PAK", 2019), "wbl_index"] == row["WBL INDEX"].item()
    assert ("PAK", 2020) not in w.index


@pytest.mark.realdata
def test_wdi(frames):
    d = frames["load_wdi"]
    assert len(d) == 13760 and d["iso3"].nunique() == 215  # docs/data.md#wdi_plsc504
    assert d["year"].min() == 1960 and d["year"].max() == 2023
    assert {
        "sg_gen_parl_zs",
        "ny_gdp_pcap_kd",
        "sp_dyn_tfrt_in",
        "sh_par_leve_al",
        "sp_urb_totl_in_zs",
    } <= set(d)
    parl = d.dropna(subset=["sg_gen_parl_zs"])
    assert parl["year"].min() == 1997 and parl["sg_gen_parl_zs"].between(0, 100).all()
    assert set(d["sh_par_leve_al"].dropna().unique()) <= {0, 1}


@pytest.mark.realdata
def test_income_groups(frames):
    g = frames["load_income_groups"]
    assert g["year"].min() == 1987 and g["year"].max() == 2023  # FY89-FY25 = GNI years 1987-2023
    assert set(g["income_group"].dropna().unique()) == {"L", "LM", "UM", "H"}
    s = g.set_index(["iso3", "year"])
    assert s.loc[("AFG", 1987), "income_group"] == "L" and s.loc[("AFG", 1987), "income_group_fy"] == "FY89"
    assert pd.isna(s.loc[("ALB", 1987), "income_group"])  # ".." = not classified
    assert s.loc[("ALB", 1990), "income_group_fy"] == "FY92"
    assert s.loc[("YEM", 1987), "income_group"] == "LM"  # "LM*" footnote mark dropped
    # docs/data.md#wb_income_class: 224 economies; 6 historical units / Channel Islands are excluded
    assert g["iso3"].nunique() == 224 - 6 and "XKX" in set(g["iso3"])
    assert len(g) == g["iso3"].nunique() * 37


@pytest.mark.realdata
def test_regions(frames):
    r = frames["load_regions"]
    assert not r["iso3"].duplicated().any()
    assert r["region"].nunique() == 7
    assert set(r["income_group_fy23"].dropna()) == {"L", "LM", "UM", "H"}
    assert r.set_index("iso3").loc["PAK", "region"] == "South Asia"
    assert "XKX" in set(r["iso3"]) and "CHI" not in set(r["iso3"])


# --------------------------------------------------------------------------------------------------------------
# Gapminder, Polity, UCDP, Maddison, SDG, APT


@pytest.mark.realdata
def test_gapminder(frames):
    g = frames["load_gapminder"]
    assert set(gapminder.GAPMINDER_CONCEPTS) <= set(g)
    lfpr = g.dropna(subset=[gapminder.GAPMINDER_LFPR])
    assert lfpr["year"].max() == 2023  # ILO projections (to 2026) dropped
    assert g["ratio_of_girls_to_boys_in_primary_and_secondary_education_perc"].max() < 2  # a ratio, not %
    assert "XKX" in set(g["iso3"])


@pytest.mark.realdata
def test_polity(frames):
    p = frames["load_polity"]
    assert p["polity2"].dropna().between(-10, 10).all()
    assert p["polity"].dropna().between(-10, 10).all()
    assert p[["democ", "autoc"]].stack().dropna().between(0, 10).all()
    raw = pd.read_csv(paths.raw_path(polity.POLITY_FILE), encoding="utf-8-sig")
    assert len(raw) == 17574  # docs/data.md#polity5
    s = p.set_index(["iso3", "year"])
    # transition years keep the unit in force at year end (the one that continues)
    for iso3, year, ccode in [
        ("DEU", 1990, 255),
        ("SRB", 1991, 347),
        ("SRB", 2006, 342),
        ("ETH", 1993, 529),
        ("SDN", 2011, 626),
        ("VNM", 1976, 818),
        ("YEM", 1990, 679),
    ]:
        r = raw[(raw["ccode"] == ccode) & (raw["year"] == year)].iloc[0]
        assert s.loc[(iso3, year), "durable"] == r["durable"] or (
            pd.isna(r["durable"]) and pd.isna(s.loc[(iso3, year), "durable"])
        )
        assert s.loc[(iso3, year), "polity2"] == r["polity2"], (iso3, year)
    # special codes: polity NaN, polity2 as given
    sp = raw[raw["polity"].isin([-66, -77, -88]) & (raw["ccode"] == 770)]
    assert len(sp) > 0
    for _, r in sp.iterrows():
        assert (
            pd.isna(s.loc[("PAK", r["year"]), "polity"])
            and s.loc[("PAK", r["year"]), "polity2"] == r["polity2"]
        )


@pytest.mark.realdata
def test_polity2_agrees_with_gapminders_polity_import(frames):
    """Second copy of the same series, through another code scheme (Gapminder geo): docs/data.md#polity5."""
    m = frames["load_polity"].merge(frames["load_gapminder"], on=["iso3", "year"])
    both = m.dropna(subset=["polity2", "democracy_score_use_as_color"])
    assert len(both) > 15000
    assert (both["polity2"] == both["democracy_score_use_as_color"]).all()


@pytest.mark.realdata
def test_ucdp(frames):
    u = frames["load_ucdp"]
    cols = ["ucdp_conflict", "ucdp_war", "ucdp_conflict_intrastate"]
    assert u["year"].min() == 1946 and u["year"].max() == 2022
    assert u[cols].notna().all().all()  # zero-filled
    assert set(np.unique(u[cols])) == {0.0, 1.0}
    assert (u["ucdp_war"] <= u["ucdp_conflict"]).all() and (
        u["ucdp_conflict_intrastate"] <= u["ucdp_conflict"]
    ).all()
    # independent recount from the raw file: every (GW location, year) of a conflict-year row
    raw = pd.read_csv(paths.raw_path(ucdp.UCDP_FILE), dtype=str, keep_default_na=False)
    assert len(raw) == 2626  # docs/data.md#ucdp_prio_acd
    s = u.set_index(["iso3", "year"])
    assert s.loc[("SRB", 1999), "ucdp_war"] == 1  # Kosovo war, GW 345
    assert s.loc[("CHE", 2000), "ucdp_conflict"] == 0
    multi = raw[raw["gwno_loc"].str.contains(",")]
    assert len(multi) > 0
    row = multi.iloc[0]
    for code in row["gwno_loc"].split(","):
        iso3 = countries.to_iso3([code.strip()], "gwn", years=[int(row["year"])]).iloc[0]
        if not pd.isna(iso3):
            assert s.loc[(iso3, int(row["year"])), "ucdp_conflict"] == 1
    n_conflict_years = u["ucdp_conflict"].sum()
    assert 0.05 < n_conflict_years / len(u) < 0.3


@pytest.mark.realdata
def test_ucdp_with_a_caller_frame():
    frame = pd.DataFrame({"iso3": ["PAK", "PAK", "CHE", "CHE"], "year": [2010, 2023, 2010, 1940]})
    u = ucdp.load_ucdp(frame).set_index(["iso3", "year"])
    assert len(u) == 4
    assert u.loc[("PAK", 2010), "ucdp_conflict"] == 1 and u.loc[("CHE", 2010), "ucdp_conflict"] == 0
    assert np.isnan(u.loc[("PAK", 2023), "ucdp_conflict"])  # after the data's coverage: NaN, not 0
    assert np.isnan(u.loc[("CHE", 1940), "ucdp_war"])
    with pytest.raises(ParameterError):
        ucdp.load_ucdp(pd.DataFrame({"country": ["PAK"], "year": [2010]}))


@pytest.mark.realdata
def test_maddison(frames):
    m = frames["load_maddison"]
    assert (m["mpd_gdppc"].dropna() > 0).all()  # UAE 1991-92 zeros are gaps
    assert m["iso3"].nunique() == 169 - 3  # docs/data.md#maddison: 169 countries minus CSK/SUN/YUG
    assert m["year"].max() == 2018


@pytest.mark.realdata
def test_mmr(frames):
    d = frames["load_mmr"]
    assert d["iso3"].nunique() == 185  # docs/data.md#unsdg_open_numbers, once aggregates are removed
    assert d["year"].min() == 2000 and d["year"].max() == 2017
    assert len(d) == 185 * 18
    assert (d["sh_sta_mmr"] > 0).all()


@pytest.mark.realdata
def test_apt(frames):
    a = frames["load_apt_nhri"]
    assert set(a["nhri_a_status"].dropna().unique()) == {0.0, 1.0}
    assert a["iso3"].nunique() == 196  # docs/data.md#apt_torture_prevention_2025: 196 states
    assert a.loc[a["iso3"] == "PRK", "nhri_a_status"].isna().all()  # documented DPRK error
    ever = a.groupby("iso3")["nhri_a_status"].max()
    assert (ever == 1).sum() == 86 - 1  # 86 "Yes" minus DPRK
    first = a[a["nhri_a_status"] == 1].groupby("iso3")["year"].min()
    assert first.min() == 1999 and first.max() == 2024  # docs/data.md#apt_torture_prevention_2025
    # monotone: once 1, stays 1 (current-status data cannot show lapses)
    assert (a.dropna().groupby("iso3")["nhri_a_status"].diff().dropna() >= 0).all()
    long = frames["load_apt_indicators"]
    assert len(long) == 1568 and long["indicator"].nunique() == 8


# --------------------------------------------------------------------------------------------------------------
# bad input (synthetic fixtures in tmp_path)


@pytest.fixture
def raw_dir(tmp_path, monkeypatch):
    """A data/raw with only the countrycode crosswalk (symlinked); loaders are pointed at it."""
    (tmp_path / "countrycode").mkdir()
    (tmp_path / "countrycode" / "codelist_without_cldr.csv").symlink_to(
        REAL_RAW / "countrycode" / "codelist_without_cldr.csv"
    )
    monkeypatch.setattr(paths, "RAW", tmp_path)
    countries.clear_caches()
    yield tmp_path
    countries.clear_caches()


CIRI_HEADER = ",".join(["CTRY", "YEAR", "CIRI", "COW", *[c.upper() for c in ciri.CIRI_COLUMNS]])


def _ciri_row(name: str, year: int, cow: str, value: int = 1) -> str:
    return ",".join([name, str(year), "1", cow, *[str(value)] * len(ciri.CIRI_COLUMNS)])


def _write(raw_dir, rel: str, text: str):
    p = raw_dir / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    return p


def test_missing_raw_file_names_it(raw_dir):
    with pytest.raises(DataError, match=r"ciri/CIRI.csv: raw file missing"):
        ciri.load_ciri()


@pytest.mark.realdata
def test_synthetic_ciri_loads(raw_dir):
    _write(
        raw_dir,
        ciri.CIRI_FILE,
        "\n".join(
            [
                CIRI_HEADER,
                _ciri_row("Pakistan", 1990, "770", 2),
                _ciri_row("Pakistan", 1991, "770", -999),
                "Czech Republic,1990,1,316" + "," * len(ciri.CIRI_COLUMNS),
            ]
        )
        + "\n",
    )
    df = ciri.load_ciri()
    assert df["iso3"].tolist() == ["PAK", "PAK"]  # placeholder row dropped
    assert df["wecon"].tolist()[0] == 2 and np.isnan(df["wecon"].tolist()[1])


def test_truncated_csv_names_the_file(raw_dir):
    text = "\n".join([CIRI_HEADER, _ciri_row("Pakistan", 1990, "770"), _ciri_row("Pakistan", 1991, "770")])
    p = _write(raw_dir, ciri.CIRI_FILE, text[:-25])  # cut mid-line
    with pytest.raises(DataError, match="truncated") as err:
        ciri.load_ciri()
    assert str(p) in str(err.value)


def test_empty_csv(raw_dir):
    _write(raw_dir, polity.POLITY_FILE, "")
    with pytest.raises(DataError, match="p5v2018.csv: file is empty"):
        polity.load_polity()


def test_missing_column_names_file_and_column(raw_dir):
    _write(
        raw_dir,
        ciri.CIRI_FILE,
        CIRI_HEADER.replace(",WECON", ",WECONX") + "\n" + _ciri_row("Pakistan", 1990, "770") + "\n",
    )
    with pytest.raises(DataError, match=r"CIRI.csv: missing required column\(s\) \['WECON'\]"):
        ciri.load_ciri()


@pytest.mark.realdata
def test_duplicate_country_year_names_the_keys(raw_dir):
    _write(
        raw_dir,
        ciri.CIRI_FILE,
        "\n".join(
            [
                CIRI_HEADER,
                _ciri_row("Pakistan", 1990, "770"),
                _ciri_row("Pakistan again", 1990, "770"),
                _ciri_row("India", 1990, "750"),
            ]
        )
        + "\n",
    )
    with pytest.raises(DataError, match=r"CIRI.csv: 1 duplicated iso3-year key\(s\).*PAK/1990"):
        ciri.load_ciri()


@pytest.mark.realdata
def test_unknown_country_code_is_listed(raw_dir):
    _write(
        raw_dir,
        ciri.CIRI_FILE,
        "\n".join(
            [
                CIRI_HEADER,
                _ciri_row("Atlantis", 1990, "9999"),
                _ciri_row("Narnia", 1990, "9998"),
                _ciri_row("Pakistan", 1990, "770"),
            ]
        )
        + "\n",
    )
    with pytest.raises(UnmappedCountryError) as err:
        ciri.load_ciri()
    assert err.value.values == ["9998", "9999"] and "CIRI.csv column COW" in str(err.value)


def test_non_numeric_value_names_the_column(raw_dir):
    _write(
        raw_dir,
        ciri.CIRI_FILE,
        CIRI_HEADER + "\n" + _ciri_row("Pakistan", 1990, "770").replace(",1,1,1", ",1,x,1", 1) + "\n",
    )
    with pytest.raises(DataError, match=r"CIRI.csv: column '\w+' has non-numeric"):
        ciri.load_ciri()


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 this is not really a zip archive", "half"])
def test_corrupt_xlsx_names_the_file(raw_dir, content):
    p = raw_dir / wbl.WBL_FILE
    p.parent.mkdir(parents=True)
    if content == "half":  # a real workbook cut in half
        full = REAL_RAW / wbl.WBL_FILE
        if not full.exists():
            pytest.skip("real WBL workbook not fetched")
        data = full.read_bytes()
        content = data[: len(data) // 2]
    p.write_bytes(content)
    with pytest.raises(DataError) as err:
        wbl.load_wbl()
    assert str(p) in str(err.value)


def test_missing_sheet_names_the_sheet(raw_dir):
    p = raw_dir / maddison.MADDISON_FILE
    p.parent.mkdir(parents=True)
    pd.DataFrame({"a": [1]}).to_excel(p, sheet_name="Other", index=False, engine="openpyxl")
    with pytest.raises(DataError, match="Full data"):
        maddison.load_maddison()


@pytest.mark.realdata
def test_synthetic_apt_dates_and_dprk_fix(raw_dir):
    p = raw_dir / apt.APT_FILE
    p.parent.mkdir(parents=True)
    rows = [
        ("Asia-Pacific", "Pakistan", apt.APT_NHRI, "Yes", dt.datetime(2002, 1, 1)),
        ("Asia-Pacific", "India ", apt.APT_NHRI, "Yes", 1999),
        ("Europe", "Turkey", apt.APT_NHRI, "No", None),
        (
            "Asia-Pacific",
            "Democratic People's Republic of Korea",
            apt.APT_NHRI,
            "Yes",
            dt.datetime(2004, 1, 1),
        ),
        ("Asia-Pacific", "Pakistan", "Ratification of the UN Convention against Torture", "Yes", 2010),
    ]
    pd.DataFrame(rows, columns=["Region", "Country", "Indicator", "Input", "Date"]).to_excel(
        p, sheet_name=apt.APT_SHEET, index=False, engine="openpyxl"
    )
    a = apt.load_apt_nhri(years=(1998, 2005)).set_index(["iso3", "year"])["nhri_a_status"]
    assert a.loc["PAK"].tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    assert a.loc["IND"].tolist() == [0] + [1] * 7
    assert a.loc["TUR"].eq(0).all() and a.loc["PRK"].isna().all()
    long = apt.load_apt_indicators()
    assert long.set_index(["iso3", "indicator"]).loc[("PAK", "cat_ratified"), "year"] == 2010
    with pytest.raises(ParameterError):
        apt.load_apt_nhri(years=(2005, 1998))


# --------------------------------------------------------------------------------------------------------------
# transition-year rule (synthetic)


def test_keep_continuing_unit():
    df = pd.DataFrame(
        {
            "unit": [260, 260, 255, 255, 265],
            "iso3": ["DEU", "DEU", "DEU", "DEU", pd.NA],
            "year": [1989, 1990, 1990, 1991, 1990],
            "v": [1.0, 2.0, 3.0, 4.0, 5.0],
        }
    )
    out = common.keep_continuing_unit(df, "unit", "demo.csv")
    assert out.loc[out["iso3"] == "DEU", "v"].tolist() == [1.0, 3.0, 4.0]
    assert "_last" not in out
    tie = pd.DataFrame({"unit": [1, 2], "iso3": ["AAA", "AAA"], "year": [2000, 2000], "v": [1.0, 2.0]})
    with pytest.raises(DataError, match="demo.csv: 1 duplicated iso3-year key.*AAA/2000"):
        common.keep_continuing_unit(tie, "unit", "demo.csv")


def test_wdi_column_names():
    assert wdi.wdi_column("SG.GEN.PARL.ZS") == "sg_gen_parl_zs"
    assert wdi.wdi_column("SP.URB.TOTL.IN.ZS") == "sp_urb_totl_in_zs"


def test_unknown_gapminder_concept():
    with pytest.raises(ParameterError, match="valid values"):
        gapminder.load_gapminder(["no_such_concept"])
