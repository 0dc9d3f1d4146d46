"""Tests of helpers.treaties: the UNTC parser on the real pages, and clear errors on bad input (synthetic pages)."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from helpers.core import paths
from helpers.core.errors import DataError, ParameterError
from helpers.data import treaties as T
from helpers.data import untc

HTML = paths.raw_path(untc.HTML_DIR)
CSV = paths.raw_path("untc_hr_treaties_2026/un_hr_ratifications.csv")
needs_pages = pytest.mark.skipif(
    not (HTML / "cedaw.html").exists(), reason="UNTC pages not fetched (make data)"
)

#: Parties per instrument as published in SOURCES.md (checked there against the HTML participant tables).
SOURCES_MD_PARTIES = {
    "cedaw": 189,
    "cedaw_op": 116,
    "iccpr": 175,
    "iccpr_op1": 116,
    "iccpr_op2": 92,
    "icescr": 173,
    "icescr_op": 31,
    "cat": 175,
    "cat_op": 96,
    "crc": 196,
    "crc_op_ac": 173,
    "crc_op_sc": 178,
    "crc_op_ic": 53,
    "cerd": 182,
    "crpd": 193,
    "cmw": 60,
    "ced": 78,
}


@pytest.fixture(scope="module")
def rat() -> pd.DataFrame:
    return untc.ratifications()


def _parties(rat: pd.DataFrame, treaty: str) -> pd.DataFrame:
    d = rat[(rat["treaty"] == treaty) & ~rat["is_predecessor"]]
    return d[d["ratification_date"].notna() & d["denounced_date"].isna()]


def _row(rat, iso3, treaty) -> pd.Series:
    d = rat[(rat["iso3"] == iso3) & (rat["treaty"] == treaty)]
    assert len(d) == 1, (iso3, treaty, len(d))
    return d.iloc[0]


# ---------------------------------------------------------------------------------------------------------------
# real pages
# ---------------------------------------------------------------------------------------------------------------


def test_treaties_registry_order_and_keys():
    assert next(iter(T.TREATIES)) == "cedaw"
    assert list(T.TREATIES) == [
        "cedaw",
        "cedaw_op",
        "iccpr",
        "iccpr_op1",
        "iccpr_op2",
        "icescr",
        "icescr_op",
        "cat",
        "cat_op",
        "crc",
        "crc_op_ac",
        "crc_op_sc",
        "crc_op_ic",
        "cerd",
        "crpd",
        "crpd_op",
        "cmw",
        "ced",
    ]
    for k, t in T.TREATIES.items():
        assert t.key == k
        if t.parent:
            assert t.parent in T.TREATIES and T.TREATIES[t.parent].parent is None
        assert t.eif_rule in {"30 days", "3 months", "1st of month after 3 months"}


@pytest.mark.realdata
@needs_pages
@pytest.mark.parametrize("treaty", list(T.TREATIES))
def test_registry_facts_match_page(treaty):
    h = untc.page_header(treaty)
    t = T.TREATIES[treaty]
    assert h["title"] == t.name
    assert h["untc_date"] == t.untc_date
    assert h["entry_into_force"] == t.entry_into_force
    assert h["status_as_at"] == date(2026, 2, 3)


@pytest.mark.realdata
@needs_pages
@pytest.mark.parametrize("treaty", list(T.TREATIES))
def test_party_counts(rat, treaty):
    """Parties = participants with an act that was not denounced; equal to the page's own 'Parties' line and SOURCES.md."""
    n = len(_parties(rat, treaty))
    assert n == untc.page_header(treaty)["parties"]
    if treaty in SOURCES_MD_PARTIES:
        assert n == SOURCES_MD_PARTIES[treaty]


@pytest.mark.realdata
@needs_pages
def test_crpd_parties_are_192_states_and_the_eu(rat):
    p = _parties(rat, "crpd")
    assert p["is_state"].sum() == 192
    eu = p[~p["is_state"]]
    assert eu["participant"].tolist() == ["European Union"] and eu["iso3"].tolist() == ["EUU"]
    assert eu["act_type"].tolist() == ["formal_confirmation"]


@pytest.mark.realdata
@needs_pages
def test_iccpr_op1_denounced_rows(rat):
    d = rat[(rat["treaty"] == "iccpr_op1") & rat["denounced_date"].notna()]
    assert sorted(d["iso3"]) == ["BLR", "JAM", "TTO"]
    assert len(_parties(rat, "iccpr_op1")) == 116


@pytest.mark.realdata
@needs_pages
def test_pakistan(rat):
    cedaw = _row(rat, "PAK", "cedaw")
    assert cedaw["ratification_date"] == pd.Timestamp("1996-03-12") and cedaw["act_type"] == "accession"
    assert _row(rat, "PAK", "iccpr")["ratification_date"] == pd.Timestamp("2010-06-23")
    assert _row(rat, "PAK", "cat")["ratification_date"] == pd.Timestamp("2010-06-23")
    assert _row(rat, "PAK", "icescr")["ratification_date"] == pd.Timestamp("2008-04-17")
    assert _row(rat, "PAK", "crc")["ratification_date"] == pd.Timestamp("1990-11-12")


@pytest.mark.realdata
@needs_pages
def test_cedaw_signed_never_ratified_and_non_parties(rat):
    for iso in ("USA", "PLW"):
        r = _row(rat, iso, "cedaw")
        assert pd.notna(r["signature_date"]) and pd.isna(r["ratification_date"])
    cedaw = rat[rat["treaty"] == "cedaw"]
    assert sorted(cedaw.loc[cedaw["ratification_date"].isna() & ~cedaw["is_predecessor"], "iso3"]) == [
        "PLW",
        "USA",
    ]
    parties = set(_parties(rat, "cedaw")["iso3"])
    for iso in ("IRN", "SOM", "SDN", "TON"):
        assert iso not in parties


@pytest.mark.realdata
@needs_pages
def test_cedaw_entry_into_force_needs_the_gdr(rat):
    gdr = _row(rat, "DDR", "cedaw")
    assert gdr["ratification_date"] == pd.Timestamp("1980-07-09") and gdr["is_predecessor"]
    assert gdr["successors"] == ["DEU"]
    assert untc.entry_into_force("cedaw") == date(1981, 9, 3)
    # without the GDR the 20th instrument is a day later: the footnote act is needed to reproduce the page
    assert untc.entry_into_force("cedaw", include_predecessors=False) == date(1981, 9, 4)


@pytest.mark.realdata
@needs_pages
@pytest.mark.parametrize("treaty", list(T.TREATIES))
def test_entry_into_force_matches_page(treaty):
    """n-th instrument + lag (the treaty's EIF article, encoded in TREATIES) reproduces the date the page states."""
    assert untc.entry_into_force(treaty) == untc.page_header(treaty)["entry_into_force"]


@pytest.mark.realdata
@needs_pages
def test_predecessor_rows_cedaw(rat):
    """Dates as quoted in SOURCES.md caveat 5 (footnotes 23, 16, 6 and 70 of the CEDAW page)."""
    p = rat[(rat["treaty"] == "cedaw") & rat["is_predecessor"]].set_index("iso3")
    assert sorted(p.index) == ["CSK", "DDR", "YMD", "YUG"]
    assert p.loc["CSK", "ratification_date"] == pd.Timestamp("1982-02-16")
    assert p.loc["YUG", "ratification_date"] == pd.Timestamp("1982-02-26")
    assert p.loc["YMD", "ratification_date"] == pd.Timestamp("1984-05-30")
    assert p.loc["CSK", "successors"] == ["CZE", "SVK"] and p.loc["YMD", "successors"] == ["YEM"]
    assert set(p.loc["YUG", "successors"]) >= {"BIH", "HRV", "MKD", "SRB", "SVN"}
    assert (rat.loc[~rat["is_predecessor"], "successors"].map(len) == 0).all()
    # the objection dates of footnote 2 (the derived CSV's wrong rows) are not signatures
    assert not (
        rat["signature_date"].isin([pd.Timestamp("1980-12-11"), pd.Timestamp("1981-03-10")])
        & rat["is_predecessor"]
    ).any()
    pred = untc.predecessor_acts("cedaw").set_index("iso3")
    assert bool(pred.loc["YMD", "listed_under_successor"]) and not pred.loc["DDR", "listed_under_successor"]


@pytest.mark.realdata
@needs_pages
def test_trinidad_and_tobago_and_other_denunciations(rat):
    den = untc.denunciations()
    tto = den[(den["iso3"] == "TTO") & (den["treaty"] == "iccpr_op1")]
    assert tto["notified_date"].tolist() == [pd.Timestamp("1998-05-26"), pd.Timestamp("2000-03-27")]
    assert tto["effective_date"].tolist() == [pd.Timestamp("1998-08-26"), pd.Timestamp("2000-06-27")]
    row = _row(rat, "TTO", "iccpr_op1")
    assert row["ratification_date"] == pd.Timestamp("1980-11-14")
    assert row["denounced_date"] == pd.Timestamp("2000-06-27")
    # Jamaica: notified 23 Oct 1997, effect three months later (art. 12(1))
    jam = den[den["iso3"] == "JAM"].iloc[0]
    assert jam["notified_date"] == pd.Timestamp("1997-10-23") and jam["effective_date"] == pd.Timestamp(
        "1998-01-23"
    )
    assert "12(1)" in jam["basis"]
    assert _row(rat, "BLR", "iccpr_op1")["denounced_date"] == pd.Timestamp("2023-02-08")
    # Guyana: first accession denounced with effect from 5 Apr 1999, re-accession of 5 Jan 1999 stands
    guy_ev = den[den["iso3"] == "GUY"].iloc[0]
    assert guy_ev["effective_date"] == pd.Timestamp("1999-04-05")
    guy = _row(rat, "GUY", "iccpr_op1")
    assert guy["ratification_date"] == pd.Timestamp("1999-01-05") and pd.isna(guy["denounced_date"])
    assert guy["first_act_date"] == pd.Timestamp("1993-05-10")
    # the DPRK's ICCPR "withdrawal" has no legal effect
    prk = den[den["iso3"] == "PRK"].iloc[0]
    assert prk["treaty"] == "iccpr" and pd.isna(prk["effective_date"])
    assert pd.isna(_row(rat, "PRK", "iccpr")["denounced_date"])
    # nothing else: every denunciation the footnotes record is one of these
    assert sorted(zip(den["iso3"], den["treaty"], strict=True)) == sorted(
        [
            ("BLR", "iccpr_op1"),
            ("GUY", "iccpr_op1"),
            ("JAM", "iccpr_op1"),
            ("PRK", "iccpr"),
            ("TTO", "iccpr_op1"),
            ("TTO", "iccpr_op1"),
        ]
    )


@pytest.mark.realdata
@needs_pages
def test_every_participant_maps_to_iso3(rat):
    assert rat["iso3"].notna().all()
    assert rat["iso3"].str.fullmatch(r"[A-Z]{3}").all()
    assert set(rat.loc[~rat["is_state"], "iso3"]) == {"EUU"}
    assert set(rat.loc[rat["is_predecessor"], "iso3"]) == {"DDR", "CSK", "YUG", "YMD"}
    # one code per UNTC name and one name per code (no two participants collapse onto one ISO3)
    names = rat[~rat["is_predecessor"]].drop_duplicates(["participant", "iso3"])
    assert not names["participant"].duplicated().any() and not names["iso3"].duplicated().any()
    assert len(names) == 198  # SOURCES.md: 198 distinct participant names


@pytest.mark.realdata
@needs_pages
def test_contract_columns_types_and_order(rat):
    assert list(rat.columns) == untc.RATIFICATION_COLUMNS
    for c in ("signature_date", "ratification_date", "denounced_date", "first_act_date", "effective_date"):
        assert str(rat[c].dtype) == "datetime64[ns]"
    assert set(rat["act_type"].dropna()) <= set(untc.ACT_TYPES)
    assert not rat.duplicated(["iso3", "treaty"]).any()
    order = rat["treaty"].map({t: i for i, t in enumerate(T.TREATIES)})
    assert order.is_monotonic_increasing
    for _, g in rat.groupby(order, sort=False):
        assert g["iso3"].is_monotonic_increasing
    # no act before signature opened, none after the snapshot
    assert rat["ratification_date"].max() <= pd.Timestamp("2026-02-03")
    assert rat["ratification_date"].min() >= pd.Timestamp("1966-03-07")
    assert (rat.loc[rat["treaty"] == "crc", "act_type"] == "acceptance").sum() == 1


@pytest.mark.realdata
@needs_pages
def test_table_round_trips_through_parquet(rat, tmp_path):
    """List columns (footnotes, successors) and dates survive the parquet file the panel build writes."""
    p = tmp_path / "rat.parquet"
    rat.to_parquet(p, index=False)
    back = pd.read_parquet(p)
    assert len(back) == len(rat)
    assert list(back.loc[back["iso3"] == "CSK", "successors"].iloc[0]) == ["CZE", "SVK"]
    assert (
        back["ratification_date"].fillna(pd.Timestamp(0)) == rat["ratification_date"].fillna(pd.Timestamp(0))
    ).all()


@pytest.mark.realdata
@needs_pages
def test_ratifications_are_cached():
    untc.ratifications()
    before = untc._ratifications_cached.cache_info().hits
    a = untc.ratifications()
    assert untc._ratifications_cached.cache_info().hits == before + 1
    a.loc[0, "participant"] = "changed"  # callers get a copy
    assert untc.ratifications().loc[0, "participant"] != "changed"


@pytest.mark.realdata
@needs_pages
@pytest.mark.skipif(not CSV.exists(), reason="derived CSV not fetched")
def test_agrees_with_derived_csv_except_documented_defects(rat):
    csv = pd.read_csv(CSV, dtype=str, keep_default_na=False)
    mine = rat[~rat["is_predecessor"]]
    m = csv.merge(
        mine,
        left_on=["country_name", "treaty_id"],
        right_on=["participant", "treaty"],
        how="outer",
        indicator=True,
    )
    csv_only = m[m["_merge"] == "left_only"]
    # defect 1: six rows that are objection dates (footnote 2), not signatures
    assert sorted(zip(csv_only["country_name"], csv_only["treaty_id"], strict=True)) == sorted(
        (s, t) for s in ("Czechoslovakia", "German Democratic Republic") for t in ("cedaw", "iccpr", "icescr")
    )
    assert set(csv_only["signature_date_x"]) == {"1980-12-11", "1981-03-10"}
    # defect 2: the three denounced ICCPR-OP1 rows are missing
    parse_only = m[m["_merge"] == "right_only"]
    assert sorted(zip(parse_only["participant"], parse_only["treaty"], strict=True)) == [
        ("Belarus", "iccpr_op1"),
        ("Jamaica", "iccpr_op1"),
        ("Trinidad and Tobago", "iccpr_op1"),
    ]
    both = m[m["_merge"] == "both"]
    assert len(both) == 2561
    act = pd.to_datetime(both["action_date"].replace("", None))
    sig = pd.to_datetime(both["signature_date_x"].replace("", None))
    assert ((act == both["ratification_date"]) | (act.isna() & both["ratification_date"].isna())).all()
    assert ((sig == both["signature_date_y"]) | (sig.isna() & both["signature_date_y"].isna())).all()
    # defect 3: the CSV's action_type has only three values; acceptance (A) and formal confirmation (c) are merged
    expected = (
        both["act_type"]
        .map({"ratification": "Ratification", "accession": "Accession", "succession": "Succession"})
        .fillna("")
    )
    differ = both[expected != both["action_type"]]
    assert sorted(zip(differ["participant"], differ["act_type"], strict=True)) == [
        ("European Union", "formal_confirmation"),
        ("Netherlands (Kingdom of the)", "acceptance"),
    ]


# ---------------------------------------------------------------------------------------------------------------
# synthetic pages: parsing rules and bad input
# ---------------------------------------------------------------------------------------------------------------

_P = "ctl00_ctl00_ContentPlaceHolder1_ContentPlaceHolderInnerPage_"


def _page(
    rows: list[tuple[str, str, str]],
    notes: dict[int, str] | None = None,
    *,
    legend: str = "Ratification, Acceptance(A), Accession(a), Succession(d)",
    grid: bool = True,
) -> str:
    trs = "".join(f"<tr><td>{a}<br></td><td>{b}<br></td><td>{c}<br></td></tr>" for a, b, c in rows)
    table = (
        (
            f'<table id="{_P}tblgrid"><tr class="thead-one"><td>Participant<br></td><td>Signature<br></td>'
            f"<td>{legend}<br></td></tr>{trs}</table>"
        )
        if grid
        else ""
    )
    nts = "".join(
        f'<tr><td><div id="{_P}dgNotesAll_ctl{n:02d}_divNotesAll" class="divNotesAll"><a name="{n}">{n}</a>'
        f"<index></index>{t}</div></td></tr>"
        for n, t in (notes or {}).items()
    )
    return (
        f'<html><body><div id="{_P}mainTable">STATUS AS AT : 03-02-2026 10:16:18 EDT CHAPTER IV HUMAN RIGHTS '
        "8. Test Convention New York, 18 December 1979 Entry into force : 3 September 1981, in accordance with "
        f"article 27(1). Registration : x Status : Signatories : 2. Parties : 2</div>{table}"
        f'<table id="{_P}dgNotesAll">{nts}</table></body></html>\r\n'
    )


GOOD_ROWS = [
    ("Alpha <sup><a>1</a> </sup>", "17 Jul\t 1980 ", "  5 Mar\t 2003 "),
    ("Beta <sup><a>1, 2</a></sup>", "&nbsp;", "11 May\t 1994 a"),
    ("Gamma", "[19 Dec 1966 ]", "[ 3 Oct 1975 ]"),
    ("Delta", "", "6 Feb 1995 A"),
]


def _write(tmp_path, text, name="page.html"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_synthetic_page_parses(tmp_path):
    p = _write(tmp_path, _page(GOOD_ROWS, {1: "A note.", 2: "Another note."}))
    df = untc.parse_participants("cedaw", path=p)
    assert df["participant"].tolist() == ["Alpha", "Beta", "Gamma", "Delta"]
    assert df["footnotes"].tolist() == [[1], [1, 2], [], []]
    assert df["act_type"].tolist() == ["ratification", "accession", "ratification", "acceptance"]
    assert df["act_date"].tolist() == [
        pd.Timestamp(x) for x in ("2003-03-05", "1994-05-11", "1975-10-03", "1995-02-06")
    ]
    assert df["denounced"].tolist() == [False, False, True, False]
    assert pd.isna(df.loc[1, "signature_date"])
    assert untc.parse_footnotes("cedaw", path=p) == {1: "A note.", 2: "Another note."}
    assert untc.page_header("cedaw", path=p)["entry_into_force"] == date(1981, 9, 3)


def test_truncated_page_is_an_error_naming_the_file(tmp_path):
    full = _page(GOOD_ROWS, {1: "n", 2: "m"})
    p = _write(tmp_path, full[: len(full) // 2], "truncated.html")
    with pytest.raises(DataError, match=r"truncated\.html.*truncated"):
        untc.parse_participants("cedaw", path=p)


def test_page_without_participant_table(tmp_path):
    p = _write(tmp_path, _page([], grid=False), "nogrid.html")
    with pytest.raises(DataError, match=r"nogrid\.html: no participant table"):
        untc.parse_participants("cedaw", path=p)


def test_unparseable_date_names_row_and_cell(tmp_path):
    rows = GOOD_ROWS[:1] + [("Beta", "", "31 Foo 1994 a")]
    p = _write(tmp_path, _page(rows, {1: "n"}), "baddate.html")
    with pytest.raises(
        DataError,
        match=r"baddate\.html, participant table row 2 \(Beta\), act: cannot parse "
        r"the date cell '31 Foo 1994 a'",
    ):
        untc.parse_participants("cedaw", path=p)


def test_impossible_date_is_an_error(tmp_path):
    p = _write(tmp_path, _page([("Beta", "", "31 Feb 1994")]), "feb31.html")
    with pytest.raises(DataError, match=r"row 1 \(Beta\).*invalid date"):
        untc.parse_participants("cedaw", path=p)


def test_suffix_outside_the_legend(tmp_path):
    p = _write(tmp_path, _page([("Beta", "", "6 Feb 1995 c")]), "suffix.html")
    with pytest.raises(DataError, match=r"suffix 'c' in cell '6 Feb 1995 c' is not in the column legend"):
        untc.parse_participants("cedaw", path=p)


def test_cited_footnote_missing(tmp_path):
    p = _write(tmp_path, _page(GOOD_ROWS, {1: "only one"}), "notes.html")
    with pytest.raises(DataError, match=r"footnote\(s\) \[2\].*dgNotesAll"):
        untc.parse_participants("cedaw", path=p)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"nothere\.html.*missing"):
        untc.parse_participants("cedaw", path=tmp_path / "nothere.html")


def test_unknown_treaty_lists_the_18():
    with pytest.raises(ParameterError) as e:
        untc.ratifications(["cedaw", "cedwa"])
    msg = str(e.value)
    assert "'treaty'" in msg and "'cedwa'" in msg
    for k in T.TREATIES:
        assert k in msg
    with pytest.raises(ParameterError):
        untc.parse_participants("icc")
    with pytest.raises(ParameterError):
        untc.entry_into_force("CEDAW")
