"""Tests of helpers.reservations: the reviewed CEDAW reservation table stays tied to the UNTC text."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from helpers.core import paths
from helpers.core.errors import DataError, ParameterError
from helpers.data import reservations as R
from helpers.data import untc

needs_pages = pytest.mark.skipif(
    not (paths.raw_path(untc.HTML_DIR) / "cedaw.html").exists(), reason="UNTC pages not fetched (make data)"
)
_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


@pytest.fixture(scope="module")
def res() -> pd.DataFrame:
    return R.cedaw_reservations().set_index("participant")


@pytest.fixture(scope="module")
def status() -> pd.DataFrame:
    return R.reservation_status((1970, 2023))


# ---------------------------------------------------------------------------------------------------------------
# draft rules (synthetic text)
# ---------------------------------------------------------------------------------------------------------------


def test_draft_rules_on_small_texts():
    d = R.draft_codes(
        "Reservation:\nThe Government does not consider itself bound by article 29, paragraph 1."
    )
    assert (d["res_any"], d["res_art29_1"], d["res_art2"], d["res_general"]) == (1, 1, 0, 0)
    d = R.draft_codes("Declaration:\nThe Government understands the Convention as a step towards equality.")
    assert d["res_any"] == 0
    d = R.draft_codes(
        'Declaration:\n"The accession to the Convention is subject to the provisions of the Constitution."'
    )
    assert d["res_any"] == 1 and d["res_general"] == 1
    d = R.draft_codes(
        "Reservations:\nArticle 16:\nThe provisions of article 16 should not contradict the Family Code."
    )
    assert d["res_art16"] == 1 and d["res_art2"] == 0
    # an article of another instrument is not an article of CEDAW
    d = R.draft_codes(
        "Declaration:\narticle 5 will be applied subject to respect for article 17 of the International "
        "Covenant on Civil and Political Rights; it reserves the right to apply article 3 of the "
        "Liechtenstein Constitution."
    )
    assert "17" not in d["other_articles"].split(";") and "3" not in d["other_articles"].split(";")
    # lists: "articles 2 (f), 5, and 16"
    d = R.draft_codes("reserves the right not to apply the provisions of Articles 2 (f), 5, and 16 to titles")
    assert (d["res_art2"], d["res_art16"], d["other_articles"]) == (1, 1, "5")


def test_normalised_hash_ignores_whitespace_only():
    assert R.text_sha1("a  b\n c ") == R.text_sha1("a b c")
    assert R.text_sha1("a b c") != R.text_sha1("a b d")


# ---------------------------------------------------------------------------------------------------------------
# the reviewed table against the real page
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.realdata
@needs_pages
def test_table_covers_every_state_in_dgdec(res):
    page = set(untc.parse_declarations("cedaw")["participant"])
    assert set(res.index) == page
    assert len(page) == 79  # docs/data.md#untc_hr_treaties_2026: CEDAW declarations table has 79 states
    assert res["iso3"].is_unique


@pytest.mark.realdata
@needs_pages
def test_hand_verified_codes(res):
    pak = res.loc["Pakistan"]
    assert (pak["res_general"], pak["res_art29_1"], pak["res_art2"], pak["res_art16"]) == (1, 1, 0, 0)
    egy = res.loc["Egypt"]
    assert (egy["res_art2"], egy["res_art16"], egy["res_art29_1"]) == (1, 1, 1)
    # titled "Declaration" but an art. 29(2) opt-out
    assert res.loc["China", "res_art29_1"] == 1
    # declarations only: not reservations
    for p in ("Chile", "Mexico", "Netherlands (Kingdom of the)"):
        assert res.loc[p, "res_any"] == 0, p
    # full withdrawals, dates as the footnotes give them
    assert res.loc["Austria", "withdrawn_date"] == pd.Timestamp("2015-06-10")
    assert res.loc["Luxembourg", "withdrawn_date"] == pd.Timestamp("2008-01-09")
    assert res.loc["Mongolia", "withdrawn_date"] == pd.Timestamp("1990-07-19")
    assert res.loc["Mongolia", "res_art29_1_withdrawn"] == pd.Timestamp("1990-07-19")
    # partial withdrawal of an article-16 reservation
    assert res.loc["Bahamas (The)", "res_art16_withdrawn"] == pd.Timestamp("2011-02-25")
    assert pd.isna(res.loc["Bahamas (The)", "withdrawn_date"])


@pytest.mark.realdata
@needs_pages
def test_every_withdrawal_date_is_in_the_states_own_text(res):
    """Each coded date (and each date in withdrawal_notes) is written in the state's footnotes or current text."""
    for p, row in res.iterrows():
        text = R.footnote_text(p) + "\n" + row["text"]
        dates = [row[c] for c in ["withdrawn_date", *R.WITHDRAWN.values()] if pd.notna(row[c])]
        dates += [pd.Timestamp(d) for d in re.findall(r"\d{4}-\d{2}-\d{2}", row["withdrawal_notes"] or "")]
        for d in dates:
            month = _MONTHS[d.month - 1]
            full = f"{d.day} {month} {d.year}"
            # "8 March 1989, 19 and 20 April 1989" lists several dates under one month
            assert full in text or (re.search(rf"\b{d.day}\b[^.]{{0,40}}{month} {d.year}", text)), (p, d)


@pytest.mark.realdata
@needs_pages
def test_no_withdrawal_in_the_footnotes_is_missed(res):
    """Every dated withdrawal/modification event the footnotes record for a state is in its reviewed row, and the
    table's dates are those events (the one exception: the Maldives modification, accepted for deposit 90 days after
    its notification)."""
    ev = R.withdrawal_events()
    assert len(ev) >= 70
    extra = set()
    for p, row in res.iterrows():
        coded = {row[c] for c in ["withdrawn_date", *R.WITHDRAWN.values()] if pd.notna(row[c])}
        coded |= {pd.Timestamp(d) for d in re.findall(r"\d{4}-\d{2}-\d{2}", row["withdrawal_notes"] or "")}
        found = set(ev.loc[ev["participant"] == p, "date"])
        assert found <= coded, (p, sorted(found - coded))
        extra |= {(p, d) for d in coded - found}
    assert extra == {("Maldives", pd.Timestamp("1999-06-23"))}
    # a note shared by several states (Denmark's objections in note 31) does not give Lesotho Kuwait's withdrawal
    assert pd.Timestamp("2005-12-09") not in set(ev.loc[ev["participant"] == "Lesotho", "date"])


@pytest.mark.realdata
@needs_pages
def test_overrides_are_annotated(res):
    """Where the reviewed codes differ from the transparent draft rules the coder note says 'override', and only there."""
    for p, row in res.iterrows():
        differs = any(int(row[c]) != int(row[f"draft_{c}"]) for c in R.CODES)
        assert differs == str(row["coder_note"]).startswith("override"), p


@pytest.mark.realdata
@needs_pages
def test_withdrawal_columns_are_consistent(res):
    for c, w in R.WITHDRAWN.items():
        assert (res.loc[res[w].notna(), c] == 1).all()
    full = res[res["withdrawn_date"].notna()]
    for c, w in R.WITHDRAWN.items():
        # once everything is withdrawn, every coded reservation has ended by then
        assert (full.loc[full[c] == 1, w].notna()).all(), c
    # after a full withdrawal the current text holds no reservation by the draft rules (New Zealand's remaining
    # text is the Cook Islands' reservation, made on its behalf)
    assert set(full.index[full["draft_res_any"] == 1]) == {"New Zealand"}


@pytest.mark.realdata
@needs_pages
def test_hash_check_catches_an_edited_text(monkeypatch):
    real = R.parse_declarations

    def edited(treaty, path=None):
        d = real(treaty, path)
        i = d.index[d["participant"] == "Pakistan"][0]
        d.loc[i, "text"] = d.loc[i, "text"].replace("Constitution", "laws")
        return d

    monkeypatch.setattr(R, "parse_declarations", edited)
    with pytest.raises(DataError, match=r"Pakistan.*changed since it was coded"):
        R.cedaw_reservations()


@pytest.mark.realdata
@needs_pages
def test_missing_or_extra_state_is_an_error(tmp_path):
    df = pd.read_csv(R.coding_path(), dtype=str, keep_default_na=False)
    p = tmp_path / "coding.csv"
    df[df["participant"] != "Oman"].to_csv(p, index=False)
    with pytest.raises(DataError, match=r"Not coded: \['Oman'\]"):
        R.cedaw_reservations(p)
    extra = pd.concat([df, df[df["participant"] == "Oman"].assign(participant="Atlantis")])
    extra.to_csv(p, index=False)
    with pytest.raises(DataError, match=r"coded but not on the page: \['Atlantis'\]"):
        R.cedaw_reservations(p)


def test_bad_code_values_are_errors(tmp_path):
    row = dict.fromkeys(R.COLUMNS, "") | {"participant": "X", "iso3": "XXX", **dict.fromkeys(R.CODES, "0")}
    p = tmp_path / "coding.csv"
    pd.DataFrame([row | {"res_art2": "2"}]).to_csv(p, index=False)
    with pytest.raises(DataError, match=r"column 'res_art2' must be 0 or 1; rows \[2\]"):
        R.load_coding(p)
    pd.DataFrame([row | {"withdrawn_date": "8 Dec 1989", "res_any": "1"}]).to_csv(p, index=False)
    with pytest.raises(DataError, match=r"'withdrawn_date' must be an ISO date"):
        R.load_coding(p)
    pd.DataFrame([row | {"res_art16": "1"}]).to_csv(p, index=False)
    with pytest.raises(DataError, match=r"res_any must be 1"):
        R.load_coding(p)
    pd.DataFrame([row]).drop(columns=["text_sha1"]).to_csv(p, index=False)
    with pytest.raises(DataError, match=r"missing column\(s\) \['text_sha1'\]"):
        R.load_coding(p)


# ---------------------------------------------------------------------------------------------------------------
# country-year status
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.realdata
@needs_pages
def test_status_shape_and_types(status):
    assert list(status.columns) == ["iso3", "year", *R.PANEL_COLUMNS]
    assert not status.duplicated(["iso3", "year"]).any()
    assert status["year"].min() == 1970 and status["year"].max() == 2023
    assert status["iso3"].nunique() == 189  # CEDAW parties
    for c in R.PANEL_COLUMNS:
        assert set(status[c].unique()) <= {0, 1}
    assert "USA" not in set(status["iso3"])
    # a sub-code never exceeds res_any
    for c in ("cedaw_res_art2", "cedaw_res_art16", "cedaw_res_art29", "cedaw_res_general"):
        assert (status[c] <= status["cedaw_res_any"]).all(), c


@pytest.mark.realdata
@needs_pages
def test_status_follows_act_and_withdrawal_years(status):
    s = status.set_index(["iso3", "year"])
    assert s.loc[("PAK", 1995)].sum() == 0  # acceded 12 Mar 1996
    assert tuple(
        s.loc[("PAK", 1996), ["cedaw_res_any", "cedaw_res_general", "cedaw_res_art29", "cedaw_res_art2"]]
    ) == (1, 1, 1, 0)
    assert s.loc[("PAK", 2023), "cedaw_res_general"] == 1
    assert s.loc[("AUT", 1981), "cedaw_res_any"] == 0  # ratified 1982
    assert s.loc[("AUT", 2014), "cedaw_res_any"] == 1 and s.loc[("AUT", 2015), "cedaw_res_any"] == 0
    assert s.loc[("HUN", 1988), "cedaw_res_art29"] == 1 and s.loc[("HUN", 1989), "cedaw_res_art29"] == 0
    assert s.loc[("BHS", 2010), "cedaw_res_art16"] == 1 and s.loc[("BHS", 2011), "cedaw_res_art16"] == 0
    assert s.loc[("BHS", 2023), "cedaw_res_art2"] == 1
    assert s.loc[("DNK", slice(None)), :].to_numpy().sum() == 0  # no reservation at all
    assert s.loc[("EGY", 1981), "cedaw_res_art2"] == 1


def test_status_year_range_parameter():
    with pytest.raises(ParameterError, match="year_range"):
        R.reservation_status((2000, 1990))
    with pytest.raises(ParameterError, match="year_range"):
        R.reservation_status("1970-2023")


# ---------------------------------------------------------------------------------------------------------------
# reservations in force in a year (notebook 01's map and hover text)
# ---------------------------------------------------------------------------------------------------------------
def _year_panel() -> pd.DataFrame:
    """One state per category in 2000 (and a 1999 row that must be ignored)."""
    cols = ["cedaw_ratified", "cedaw_res_any", "cedaw_res_art2", "cedaw_res_art16", "cedaw_res_art29"]
    flags = {  # iso3 -> ratified, any, art2, art16, art29, general
        "GEN": (1, 1, 1, 1, 0, 1),
        "BTH": (1, 1, 1, 1, 0, 0),
        "TWO": (1, 1, 1, 0, 1, 0),
        "SIX": (1, 1, 0, 1, 0, 0),
        "OTH": (1, 1, 0, 0, 0, 0),
        "A29": (1, 1, 0, 0, 1, 0),
        "NON": (1, 0, 0, 0, 0, 0),
        "OUT": (0, 0, 0, 0, 0, 0),
    }
    rows = [
        dict(iso3=k, year=2000, **dict(zip([*cols, "cedaw_res_general"], v, strict=True)))
        for k, v in flags.items()
    ]
    rows.append(dict(iso3="GEN", year=1999, **dict.fromkeys([*cols, "cedaw_res_general"], 0)))
    return pd.DataFrame(rows)


def test_reservation_categories_in_a_year():
    cat = R.reservation_categories(_year_panel(), 2000).set_index("iso3")["reservations"]
    assert cat.to_dict() == {
        "GEN": "general reservation",  # whatever the articles named
        "BTH": "Art. 2 and Art. 16",
        "TWO": "Art. 2 only",  # art. 29 does not count as another category
        "SIX": "Art. 16 only",
        "OTH": "other articles only",
        "A29": "other articles only",
        "NON": "party, no reservation",
        "OUT": "not party",
    }
    assert set(cat) <= set(R.RESERVATION_CATEGORIES) and len(R.RESERVATION_CATEGORIES) == 7
    text = R.reservations_in_force(_year_panel(), 2000)
    assert text.to_dict() == {
        "GEN": "general, Art. 2, Art. 16",
        "BTH": "Art. 2, Art. 16",
        "TWO": "Art. 2, Art. 29",
        "SIX": "Art. 16",
        "OTH": "other articles",
        "A29": "Art. 29",
        "NON": "none",
        "OUT": "none",
    }
    with pytest.raises(DataError, match=r"cedaw_res_art16"):
        R.reservation_categories(_year_panel().drop(columns="cedaw_res_art16"), 2000)


@pytest.mark.realdata
def test_reservation_categories_on_the_panel(panel):
    cat = R.reservation_categories(panel, 2000).set_index("iso3")["reservations"]
    assert len(cat) == (panel["year"] == 2000).sum()
    # Pakistan's accession (1996) is subject to its Constitution; Denmark made none; the USA never ratified
    assert cat["PAK"] == "general reservation"
    assert cat["DNK"] == "party, no reservation"
    assert cat["USA"] == "not party"
    assert R.reservations_in_force(panel, 2000)["PAK"].startswith("general")
