"""CEDAW reservations: the reviewed coding table, its link to the UNTC text, and a country-year status series.

The coding lives in ``data/reference/cedaw_reservations.csv`` (tracked, reviewed by hand), one row per state in
the UNTC CEDAW declarations table (``dgDec``). Codes (0/1) record whether the state made such a reservation at
any time, as far as the UNTC page shows (today's text, plus the withdrawn reservations quoted in its footnotes):

* ``res_any``: any reservation. Judged by substance (Vienna Convention art. 2(1)(d): a statement "however
  phrased or named" that purports to exclude or modify the legal effect of a provision): a "declaration" that
  excludes a provision (China, Israel and others on art. 29(1); Pakistan's "subject to the Constitution") is a
  reservation; a purely interpretive or political declaration (Chile, Mexico, Netherlands, Germany) is not.
* ``res_art2``, ``res_art16``: a reservation to article 2 / article 16 (any paragraph).
* ``res_art29_1``: the opt-out from dispute settlement (art. 29(1), allowed by art. 29(2)).
* ``res_general``: a reservation that subordinates the Convention as a whole (not named articles) to the
  constitution, Sharia / religious law or customary law. Narrow exclusions (succession to the throne) are not general.

Per code, ``<code>_withdrawn`` is the date the footnotes give for its (last) withdrawal; ``withdrawn_date`` is
the date all reservations were withdrawn. A later modification that only narrowed a reservation continues it; a
general reservation later narrowed to named articles (Libya 1995, Maldives 1999, Mauritania 2014) ends
``res_general`` at that date, and the named articles are coded from the act (the general reservation covered them).
Reservations made for dependent territories only are not coded for the metropolitan state (United Kingdom, New
Zealand).

The table also keeps ``text_sha1`` (sha1 of the normalised current text it was read from), a short ``excerpt``
and a ``coder_note``; where the reviewed code differs from the transparent regex rules of :func:`draft_codes`,
the note starts with "override". :func:`withdrawal_events` re-reads the footnotes for dated withdrawals and
modifications, so the tests can check that the coder missed none.

Limits: the page shows *today's* text ("[...]" marks withdrawn parts). Reservation history (what was made
and when it was withdrawn) comes only from the footnotes; modifications that narrowed a reservation count as
continuing it. Status runs from the year of the state's CEDAW act (reservations are made at signature or
ratification/accession) until the year before the withdrawal year. Predecessor states' reservations (German
Democratic Republic, Czechoslovakia) are not coded: their texts are not on the page.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from helpers.core import paths
from helpers.core.errors import DataError, ParameterError
from helpers.data.untc import parse_declarations, parse_footnotes, participant_iso3, ratifications

CODING_FILE = "cedaw_reservations.csv"
CODES = ["res_any", "res_art2", "res_art16", "res_art29_1", "res_general"]
WITHDRAWN = {c: f"{c}_withdrawn" for c in CODES[1:]}
COLUMNS = (
    ["participant", "iso3"]
    + CODES
    + ["other_articles", "withdrawn_date"]
    + list(WITHDRAWN.values())
    + ["withdrawal_notes", "text_sha1", "excerpt", "coder_note"]
)
#: panel column -> coding column
PANEL_COLUMNS = {
    "cedaw_res_any": "res_any",
    "cedaw_res_art2": "res_art2",
    "cedaw_res_art16": "res_art16",
    "cedaw_res_art29": "res_art29_1",
    "cedaw_res_general": "res_general",
}


def coding_path() -> Path:
    """Path of the reviewed coding table."""
    return paths.REFERENCE / CODING_FILE


def normalise_text(text: str) -> str:
    """The form of a declarations text that ``text_sha1`` hashes: all whitespace runs -> one space, stripped."""
    return re.sub(r"\s+", " ", str(text).replace("\xa0", " ")).strip()


def text_sha1(text: str) -> str:
    """sha1 (hex) of :func:`normalise_text`."""
    return hashlib.sha1(normalise_text(text).encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------------------------------------------
# transparent draft rules
# --------------------------------------------------------------------------------------------------------------

#: language that excludes or conditions a provision (counts anywhere, also under a "Declaration" heading)
STRONG = re.compile(
    r"not (?:consider (?:itself|themselves) |be |see itself )?bound|not consider as binding|will not be bound|"
    r"not under obligation|formal reservation|"
    r"reserves? (?:the|its) right|reserves the rights?|makes? (?:a )?reservations?|enters? (?:a )?(?:specific )?reservations?|"
    r"expresses? (?:its )?reservations?|with reservation|maintains the reservation|reservation to the text|"
    r"\bis subject to\b|subject to the provisions of|subject to reservations|provided that|on condition that|"
    r"without prejudice to|in so far as|insofar as|inasmuch as|to the extent that|only to the extent|"
    r"shall not (?:take|affect)|shall have no effect|cannot be applied|without breaching|do not conflict|"
    r"should not contradict|not be bound|except those which|which are not contrary|not in accordance with",
    re.IGNORECASE,
)
_HEADING = re.compile(
    r"^(?:Upon (?:signature|ratification)\s*:?\s*)?(?:\(?[A-Za-z0-9]{1,3}[.)]\s*)?"
    r"(Reservations?|Declarations?|General declaration|General reservation)\b[^.]{0,120}?:?\s*$",
    re.IGNORECASE,
)
_ITEM = re.compile(r"^(?:\d+\.|-|\(?[a-z0-9]{1,3}\))\s")
_ART = re.compile(
    r"\b(?:articles?|art\.)\s+(\d+)((?:\s*\([^)]*\))*(?:\s*(?:,\s*and|,|and|&)\s*\d+\b"
    r"(?!\s+of\b)(?:\s*\([^)]*\))*)*)",
    re.IGNORECASE,
)
_FOREIGN = re.compile(
    r"^\s*(?:\([^)]*\)\s*|[a-z]\s+(?=\())*(?:\s*(?:,|and)\s*\d+)*,?\s*(?:paragraph \d+\s*,?\s*)?of (?:the |its |our )?([\w-]+)"
)
_OWN = {
    "Convention",
    "said",
    "present",
    "above",
    "above-mentioned",
    "aforesaid",
    "this",
    "these",
    "Article",
    "article",
}
_GENERAL = re.compile(
    r"(?:provisions of the (?:said )?Convention|(?:the|this|said) Convention\b|accession|ratification|any term of "
    r"the Convention|all provisions|each and every one of its parts|all the obligations)"
    r"[^.;]{0,140}?(?:constitution|shari|islam|religio|customs? |customary|personal laws|personal status)",
    re.IGNORECASE,
)


def _articles(line: str) -> set[int]:
    out: set[int] = set()
    for m in _ART.finditer(line):
        if re.search(r"(?:Code|Act|Law|Constitution)\s*,?\s*$", line[max(0, m.start() - 25) : m.start()]):
            continue  # "(Civil Code, articles 9 (e) and 10, ...)"
        f = _FOREIGN.match(line[m.end() :])
        if f and f.group(1) not in _OWN and (f.group(1)[0].isupper() or f.group(1).lower() == "code"):
            continue  # "article 17 of the International Covenant", "article 3 of the ... Constitution"
        out.add(int(m.group(1)))
        for n in re.findall(r"(?:,\s*and|,|and|&)\s*(\d+)\b", m.group(2) or ""):
            out.add(int(n))
    return out


def draft_codes(text: str) -> dict:
    """Codes from transparent rules on a declarations text (the starting point that a coder then reviews).

    Line by line: a line counts as a reservation if it has excluding/conditioning language (:data:`STRONG`),
    or if it sits under a "Reservation(s)" heading; short heading lines ("Article 16:") pass their articles to
    the lines below. res_art2 / res_art16 / res_art29_1: a counted line that names the article (article numbers
    followed by "of the <other instrument>" are ignored). res_general: a counted sentence linking the
    Convention as a whole (or accession/ratification) to a constitution, Sharia/Islam, religion, customs or personal
    laws, with no article named before it. res_any: any counted line. Returns the 5 codes plus ``other_articles``.
    """
    zone = None
    context: set[int] = set()
    counted_arts: set[int] = set()
    res_any = general = 0
    listing = False
    for raw in str(text).split("\n"):
        line = re.sub(r"\[\s*\.*\s*(?:and)?\s*\.*\s*\]", " ", raw).strip()
        if not line:
            continue
        h = _HEADING.match(line)
        if h:
            zone = "reservation" if "reserv" in h.group(1).lower() else "declaration"
            context = _articles(line)
            listing = False
            continue
        arts = _articles(line)
        strong = bool(STRONG.search(line))
        item = listing and bool(_ITEM.match(line))
        if arts and not strong and not item and len(line) < 90:
            context = arts  # a heading such as "Article 16:" or "In respect of article 29"
            if zone != "reservation":
                continue
        counted = strong or item or zone == "reservation"
        if not counted:
            listing = False
            continue
        listing = line.endswith(":") or item
        res_any = 1
        counted_arts |= arts or context
        for sent in re.split(r"(?<=[.;])\s", line):
            m = _GENERAL.search(sent)
            if m and STRONG.search(sent) and not _articles(sent[: m.start()]):
                general = 1
    return {
        "res_any": res_any,
        "res_art2": int(2 in counted_arts),
        "res_art16": int(16 in counted_arts),
        "res_art29_1": int(29 in counted_arts),
        "res_general": general,
        "other_articles": ";".join(str(a) for a in sorted(counted_arts - {2, 16, 29})),
    }


def declarations() -> pd.DataFrame:
    """The CEDAW declarations table with ISO3, text hash and the draft codes (one row per state)."""
    d = parse_declarations("cedaw")
    d["iso3"] = participant_iso3(d["participant"], "cedaw declarations").values
    d["text_sha1"] = [text_sha1(t) for t in d["text"]]
    drafts = pd.DataFrame([draft_codes(t) for t in d["text"]])
    drafts.columns = [f"draft_{c}" for c in drafts.columns]
    return pd.concat([d.reset_index(drop=True), drafts], axis=1)


# --------------------------------------------------------------------------------------------------------------
# the reviewed table
# --------------------------------------------------------------------------------------------------------------


def _coding_codes(df: pd.DataFrame, p: Path) -> None:
    """The 0/1 code columns, as integers (in place); an error names the column, the rows and the bad values."""
    for c in CODES:
        bad = df.index[~df[c].isin(["0", "1"])]
        if len(bad):
            raise DataError(
                f"{p}: column {c!r} must be 0 or 1; rows {[int(i) + 2 for i in bad]} "
                f"hold {sorted(set(df.loc[bad, c]))}"
            )
        df[c] = df[c].astype(int)


def _coding_dates(df: pd.DataFrame, p: Path) -> None:
    """The withdrawal-date columns, parsed as ISO dates (in place); empty means none."""
    for c in ["withdrawn_date", *WITHDRAWN.values()]:
        s = df[c].replace("", None)
        parsed = pd.to_datetime(s, format="%Y-%m-%d", errors="coerce")
        bad = df.index[s.notna() & parsed.isna()]
        if len(bad):
            raise DataError(
                f"{p}: column {c!r} must be an ISO date (YYYY-MM-DD) or empty; rows "
                f"{[int(i) + 2 for i in bad]} hold {sorted(set(df.loc[bad, c]))}"
            )
        df[c] = parsed.astype("datetime64[ns]")


def _coding_consistency(df: pd.DataFrame, p: Path) -> None:
    """A withdrawal date only for a code that is 1; res_any 1 whenever another code or a withdrawal is set; one row
    per participant."""
    for c, w in WITHDRAWN.items():
        bad = df.index[(df[c] == 0) & df[w].notna()]
        if len(bad):
            raise DataError(f"{p}: {w} is set although {c} = 0 (rows {[int(i) + 2 for i in bad]})")
    sub = df[CODES[1:]].max(axis=1)
    bad = df.index[(sub > df["res_any"]) | (df["withdrawn_date"].notna() & (df["res_any"] == 0))]
    if len(bad):
        raise DataError(
            f"{p}: res_any must be 1 when any other code is 1 or withdrawn_date is set "
            f"(rows {[int(i) + 2 for i in bad]})"
        )
    dup = df["participant"][df["participant"].duplicated()]
    if len(dup):
        raise DataError(f"{p}: participant(s) coded twice: {sorted(set(dup))}")


def load_coding(path: str | Path | None = None) -> pd.DataFrame:
    """Read and validate the reviewed coding table (columns, 0/1 codes, ISO dates, consistency)."""
    p = Path(path) if path is not None else coding_path()
    if not p.exists():
        raise DataError(f"{p}: the CEDAW reservation coding table is missing")
    df = pd.read_csv(p, dtype=str, keep_default_na=False)
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise DataError(f"{p}: missing column(s) {missing}; expected {COLUMNS}")
    _coding_codes(df, p)
    _coding_dates(df, p)
    _coding_consistency(df, p)
    for c in (
        "participant",
        "iso3",
        "other_articles",
        "withdrawal_notes",
        "text_sha1",
        "excerpt",
        "coder_note",
    ):
        df[c] = df[c].astype("string")
    return df[COLUMNS]


def cedaw_reservations(path: str | Path | None = None) -> pd.DataFrame:
    """The reviewed coding joined with the current UNTC text (``text``, ``footnotes``) and the draft codes.

    Raises :class:`DataError` if a state in the page's declarations table is missing from the coding table (or
    the table has a state the page lacks), or if a state's current text no longer hashes to ``text_sha1``: the
    table can never silently drift from its source.
    """
    p = Path(path) if path is not None else coding_path()
    coding = load_coding(p)
    dec = declarations()
    page_states, coded = set(dec["participant"]), set(coding["participant"])
    if page_states - coded or coded - page_states:
        raise DataError(
            f"{p}: the coding table and the UNTC CEDAW declarations table disagree. Not coded: "
            f"{sorted(page_states - coded)}; coded but not on the page: {sorted(coded - page_states)}"
        )
    m = coding.merge(
        dec.drop(columns=["iso3"]).rename(columns={"text_sha1": "page_sha1"}),
        on="participant",
        how="left",
        validate="one_to_one",
    )
    changed = m.loc[m["text_sha1"] != m["page_sha1"], "participant"].tolist()
    if changed:
        raise DataError(
            f"{p}: the UNTC text of {changed} has changed since it was coded (text_sha1 differs); "
            "re-read the text, review the codes and update text_sha1"
        )
    bad_iso = m.loc[
        m["iso3"].astype(str) != participant_iso3(m["participant"], "cedaw").astype(str).values, "participant"
    ].tolist()
    if bad_iso:
        raise DataError(f"{p}: iso3 disagrees with the country map for {bad_iso}")
    return m.drop(columns=["page_sha1", "row"]).sort_values("iso3").reset_index(drop=True)


def _year_range(year_range) -> range:
    try:
        lo, hi = (int(x) for x in year_range)
    except (TypeError, ValueError):
        raise ParameterError(
            "year_range", year_range, hint="give (first_year, last_year), e.g. (1970, 2023)"
        ) from None
    if lo > hi:
        raise ParameterError("year_range", year_range, hint="first year must not exceed last year")
    return range(lo, hi + 1)


def reservation_status(
    year_range: Iterable[int] = (1970, 2023), path: str | Path | None = None
) -> pd.DataFrame:
    """Country-year CEDAW reservation indicators (the panel's ``cedaw_res_*`` columns).

    One row per (iso3, year) for every state with a CEDAW act (parties, incl. later ones; the 2026 snapshot) and
    every year in ``year_range``. A code is 1 from the year of the state's CEDAW act until the year before its
    withdrawal (0 from the withdrawal year on); ``cedaw_res_any`` ends with the full withdrawal (``withdrawn_date``).
    States without an entry in the declarations table are 0 throughout. Columns: iso3, year, cedaw_res_any,
    cedaw_res_art2, cedaw_res_art16, cedaw_res_art29, cedaw_res_general (int8).
    """
    years = _year_range(year_range)
    rat = ratifications(["cedaw"])
    rat = rat[rat["ratification_date"].notna() & ~rat["is_predecessor"] & rat["is_state"]]
    coding = cedaw_reservations(path).set_index("iso3")
    recs = []
    for iso, act in zip(rat["iso3"], rat["ratification_date"], strict=True):
        start = act.year
        row = coding.loc[iso] if iso in coding.index else None
        ends = {}
        if row is not None:
            ends["res_any"] = row["withdrawn_date"]
            for c, w in WITHDRAWN.items():
                ends[c] = row[w]
        for y in years:
            rec = {"iso3": iso, "year": y}
            for out_col, c in PANEL_COLUMNS.items():
                v = 0
                if row is not None and row[c] == 1 and y >= start:
                    end = ends[c]
                    v = int(pd.isna(end) or y < end.year)
                rec[out_col] = v
            recs.append(rec)
    df = pd.DataFrame.from_records(recs, columns=["iso3", "year", *PANEL_COLUMNS])
    df["iso3"] = df["iso3"].astype("string")
    df["year"] = df["year"].astype("int64")
    for c in PANEL_COLUMNS:
        df[c] = df[c].astype("int8")
    return df.sort_values(["iso3", "year"]).reset_index(drop=True)


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
_DAYS = r"((?:\d{1,2}(?:,\s*|\s+and\s+))*\d{1,2}) (" + "|".join(_MONTHS) + r") (\d{4})"
#: an event: a sentence opening with its date ("On 8 April 2011, ...", "In communications received on ...")
_EVENT = re.compile(
    r"(?:^|(?<=[.:\"”\]\d\n])\s*)(?:(?:Further(?:more)?|Subsequently|Moreover),?\s+)?"
    r"(?:[Oo]n|[Ii]n (?:a )?(?:communications?|notification) received on)\s+"
    + _DAYS
    + r"|by a notification rec\w+ on "
    + _DAYS
)
_EVENT_WORD = re.compile(r"withdr|wihdr|\blift\b|modif|new formulation", re.IGNORECASE)
_ACTOR = re.compile(r"Governments? of (?:the )?([A-Z][\w'’ -]+)")
_ALIASES = {"United Kingdom of Great Britain and Northern Ireland": "United Kingdom", "Türkiye": "Turkey"}


def _short(name: str) -> str:
    return _ALIASES.get(name, name.split(" (")[0]).replace("’", "'")


def withdrawal_events() -> pd.DataFrame:
    """Dated withdrawals and modifications in the CEDAW footnotes (and current texts): a check on the reviewed table.

    For each state of the declarations table, its own footnotes and current text are cut into events, each
    opening with its date ("On 8 April 2011, the Government of ... decided to withdraw ..."); an event counts if
    it speaks of a withdrawal or modification and its first government named is not another participant's (notes
    shared by several states). One row per (participant, date): ``participant``, ``iso3``, ``date``, ``note``
    (footnote number, 0 = current text), ``event`` (its first 300 characters). A broad net: it also catches
    withdrawals of declarations; the reviewed table decides what each event means.
    """
    d = parse_declarations("cedaw")
    notes = parse_footnotes("cedaw")
    names = list(d["participant"])
    recs = []
    for p, fns, text in zip(d["participant"], d["footnotes"], d["text"], strict=True):
        own = _short(p)
        others = [_short(o) for o in names if o != p and _short(o) not in own and own not in _short(o)]
        for n, body in [(n, notes[n]) for n in fns] + [(0, str(text))]:
            starts = list(_EVENT.finditer(body))
            for i, m in enumerate(starts):
                end = starts[i + 1].start() if i + 1 < len(starts) else len(body)
                chunk = body[max(0, m.start() - 120) : end]
                if not _EVENT_WORD.search(body[m.start() : end]):
                    continue
                actor = _ACTOR.search(chunk)
                name = actor.group(1).replace("’", "'") if actor else ""
                if actor and own not in name and any(o in name for o in others):
                    continue
                # the lead up to the first ", <word>" or " the": "On 8 March 1989, 19 and 20 April 1989, respectively"
                lead = re.sub(
                    r"^\s*(?:Further(?:more)?|Subsequently|Moreover),?\s+", "", body[m.start() : end]
                )
                lead = re.split(r",\s+(?!\d)|\s+the\b", lead, maxsplit=1)[0]
                for days, month, year in re.findall(_DAYS, lead):
                    for day in re.findall(r"\d{1,2}", days):
                        dt = pd.Timestamp(int(year), _MONTHS.index(month) + 1, int(day))
                        recs.append(
                            {
                                "participant": p,
                                "date": dt,
                                "note": n,
                                "event": normalise_text(body[m.start() : end])[:300],
                            }
                        )
    df = pd.DataFrame.from_records(recs, columns=["participant", "date", "note", "event"])
    df = df.drop_duplicates(["participant", "date"]).reset_index(drop=True)
    df.insert(1, "iso3", participant_iso3(df["participant"], "cedaw footnotes").values)
    df["participant"] = df["participant"].astype("string")
    df["date"] = df["date"].astype("datetime64[ns]")
    return df.sort_values(["iso3", "date"]).reset_index(drop=True)


def footnote_text(participant: str) -> str:
    """All footnotes the declarations table cites for a state (for reviewing withdrawal dates)."""
    d = parse_declarations("cedaw")
    notes = parse_footnotes("cedaw")
    row = d[d["participant"] == participant]
    if row.empty:
        raise ParameterError("participant", participant, sorted(d["participant"]))
    return "\n".join(f"[{n}] {notes[n]}" for n in row["footnotes"].iloc[0])
