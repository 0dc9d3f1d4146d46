"""The UN Treaty Collection (UNTC) parser: ratification acts of the 18 core instruments from the status pages.

Source: ``data/raw/untc_hr_treaties_2026/html/<treaty>.html``, the UNTC "Status of Treaties" pages of Chapter IV
as at 3 Feb 2026 (docs/data.md, source ``untc_hr_treaties_2026``). The pages are parsed directly (lxml); the
derived CSV in the same folder has known defects and is used only as a cross-check in the tests.

Each page holds tables found by the suffix of their ``id``:

* ``...tblgrid``: the participant table (participant + footnote numbers, signature, act date with a suffix
  whose legend is in the column header: none = ratification, ``a`` accession, ``d`` succession,
  ``A`` acceptance, ``c`` formal confirmation; dates in square brackets = instrument later denounced);
* ``...dgDec``: declarations and reservations, one row per participant;
* ``...dgNotesAll``: numbered footnotes (predecessor-state acts, denunciations, withdrawals of reservations ...).

Public API
----------
:func:`page_header`, :func:`parse_participants`,
:func:`parse_footnotes`, :func:`parse_declarations`, :func:`participant_iso3`, :func:`predecessor_acts`,
:func:`denunciations`, :func:`ratifications` (the contract table), :func:`participants` (its rows of states
acting in their own name), :func:`entry_into_force`, :func:`yemen_acts` (which Yemen made the act listed under
Yemen).

Limits: the pages show *current* status. Predecessor-state acts (German Democratic Republic, Czechoslovakia,
former Yugoslavia, Democratic Yemen) and denunciations exist only in footnote prose and are extracted with
narrow regular expressions that the tests check case by case. Succession (``d``) dates are deposit dates; the
pages do not give the date from which a succession applies (that is in UNTC's "Historical Information"), so
``effective_date`` is filled only where a footnote states it.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import pandas as pd

from helpers.core import paths
from helpers.core.errors import DataError
from helpers.data.countries import to_iso3
from helpers.data.treaties import TREATIES, check_treaties, check_treaty

HTML_DIR = "untc_hr_treaties_2026/html"
SOURCE_LABEL = "UNTC Chapter IV status pages (untc_hr_treaties_2026)"

ACT_TYPES = ("ratification", "accession", "succession", "acceptance", "formal_confirmation")

#: Predecessor states whose acts UNTC records only in footnotes -> historical code (ISO 3166-3 / countrycode
#: style: DDR, CSK, YUG, YMD are the codes those states had in ISO 3166-1 before they were withdrawn).
PREDECESSORS: dict[str, str] = {
    "German Democratic Republic": "DDR",
    "Czechoslovakia": "CSK",
    "former Yugoslavia": "YUG",
    "Democratic Yemen": "YMD",
}
#: Participant names used for the predecessor rows (``former Yugoslavia`` = Socialist Federal Republic of Yugoslavia).
PREDECESSOR_NAMES: dict[str, str] = {
    "DDR": "German Democratic Republic",
    "CSK": "Czechoslovakia",
    "YUG": "Socialist Federal Republic of Yugoslavia (former Yugoslavia)",
    "YMD": "Democratic Yemen",
}
#: Successor states used when a footnote is not attached to any participant row (never needed on the 2026 pages).
DEFAULT_SUCCESSORS: dict[str, tuple[str, ...]] = {
    "DDR": ("DEU",),
    "CSK": ("CZE", "SVK"),
    "YUG": ("BIH", "HRV", "MKD", "MNE", "SRB", "SVN"),
    "YMD": ("YEM",),
}
#: Participants that are not states (``is_state`` = False) -> the code they map to (a reviewed row of
#: data/reference/country_map.csv).
NON_STATES: dict[str, str] = {"European Union": "EUU"}


_MONTHS = {
    m: i
    for i, m in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], start=1
    )
}
_LONG_MONTHS = {
    m: i
    for i, m in enumerate(
        [
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
        ],
        start=1,
    )
}
#: a date written out in footnote prose, e.g. "9 July 1980"
DATE_RE = (
    r"\d{1,2} (?:January|February|March|April|May|June|July|August|September|October|November|December) \d{4}"
)
_CELL_RE = re.compile(r"^(\[)?\s*(\d{1,2}) ([A-Z][a-z]{2}) (\d{4})\s*([A-Za-z]?)\s*(\])?$")
_LEGEND_WORDS = {
    "ratification": "ratification",
    "accession": "accession",
    "succession": "succession",
    "acceptance": "acceptance",
    "formal confirmation": "formal_confirmation",
    "approval": "approval",
    "signature": "signature",
    "succession to signature": "succession",
}


def html_path(treaty: str) -> Path:
    """Path of the raw UNTC page of a treaty."""
    check_treaty(treaty)
    return paths.raw_path(f"{HTML_DIR}/{treaty}.html")


def parse_prose_date(text: str) -> date:
    """'9 July 1980' -> date(1980, 7, 9)."""
    d, m, y = text.split()
    return date(int(y), _LONG_MONTHS[m], int(d))


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\xa0", " ")).strip()


# --------------------------------------------------------------------------------------------------------------
# page parsing (cached per file version)
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Page:
    path: str
    header: dict
    participants: pd.DataFrame
    footnotes: dict[int, str]
    declarations: pd.DataFrame


def _by_id_suffix(root, tag: str, suffix: str) -> list:
    n = len(suffix)
    return root.xpath(f'//{tag}[substring(@id, string-length(@id) - {n - 1}) = "{suffix}"]')


def _legend(header_text: str, where: str) -> dict[str, str]:
    """'Ratification, Acceptance(A), Accession(a), Succession(d)' -> {'': 'ratification', 'A': ..., ...}."""
    text = _clean(header_text)
    legend: dict[str, str] = {}
    for part in text.split(","):
        part = part.strip()
        m = re.fullmatch(r"([A-Za-z ]+?)\s*(?:\(([A-Za-z])\))?", part)
        if not m or m.group(1).lower() not in _LEGEND_WORDS:
            raise DataError(f"{where}: cannot read the column legend {text!r} (part {part!r})")
        legend[m.group(2) or ""] = _LEGEND_WORDS[m.group(1).lower()]
    return legend


def _name_and_notes(td) -> tuple[str, list[int]]:
    """Cell -> (text without the <sup> footnote numbers, the footnote numbers)."""
    el = copy.deepcopy(td)
    notes: list[int] = []
    for sup in el.xpath(".//sup"):
        notes += [int(x) for x in re.findall(r"\d+", sup.text_content())]
        sup.drop_tree()
    return _clean(el.text_content()), notes


def _parse_cell(text: str, legend: dict[str, str], where: str) -> tuple[object, object, bool]:
    """Date cell -> (Timestamp | NaT, act type | None, bracketed)."""
    t = _clean(text)
    if t == "":
        return pd.NaT, None, False
    m = _CELL_RE.match(t)
    if not m or m.group(3) not in _MONTHS or bool(m.group(1)) != bool(m.group(6)):
        raise DataError(
            f"{where}: cannot parse the date cell {t!r} (expected e.g. '17 Jul 1980', "
            f"'11 May 1994 a' or '[14 Nov 1980 a]')"
        )
    try:
        ts = pd.Timestamp(date(int(m.group(4)), _MONTHS[m.group(3)], int(m.group(2))))
    except ValueError as e:
        raise DataError(f"{where}: invalid date in cell {t!r}: {e}") from None
    suffix = m.group(5)
    if suffix not in legend:
        raise DataError(
            f"{where}: suffix {suffix!r} in cell {t!r} is not in the column legend "
            f"{ {k or '(none)': v for k, v in legend.items()} }"
        )
    return ts, legend[suffix], bool(m.group(1))


def _parse_header(root, where: str) -> dict:
    main = _by_id_suffix(root, "*", "mainTable")
    text = _clean(main[0].text_content()) if main else _clean(root.text_content())
    out: dict = {
        "status_as_at": None,
        "title": None,
        "untc_date": None,
        "entry_into_force": None,
        "eif_text": None,
        "signatories": None,
        "parties": None,
    }
    m = re.search(r"STATUS AS AT : (\d{2})-(\d{2})-(\d{4})", text)
    if m:
        # DD-MM-YYYY (the pages were fetched on 3 Feb 2026: "03-02-2026")
        out["status_as_at"] = date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    m = re.search(r"HUMAN RIGHTS \d+\. (?:[a-z] )?(.+?) (?:New York|Geneva), (" + DATE_RE + r")", text)
    if m:
        out["title"], out["untc_date"] = m.group(1).strip(), parse_prose_date(m.group(2))
    m = re.search(r"Entry into force : (.*?) Registration", text)
    if m:
        out["eif_text"] = m.group(1).strip()
        d = re.match(DATE_RE, out["eif_text"])
        out["entry_into_force"] = parse_prose_date(d.group(0)) if d else None
    m = re.search(r"Signatories : (\d+)", text)
    out["signatories"] = int(m.group(1)) if m else None
    m = re.search(r"Parties : (\d+)", text)
    out["parties"] = int(m.group(1)) if m else None
    return out


def _parse_grid(root, where: str) -> pd.DataFrame:
    grids = _by_id_suffix(root, "table", "tblgrid")
    if not grids:
        raise DataError(
            f"{where}: no participant table (no <table> whose id ends in 'tblgrid'); "
            "the page is truncated or not a UNTC status page"
        )
    rows = grids[0].xpath("./tr")
    if len(rows) < 2:
        raise DataError(f"{where}: the participant table (tblgrid) has no data rows")
    head = [c.text_content() for c in rows[0].xpath("./td")]
    if len(head) != 3 or not _clean(head[0]).startswith("Participant"):
        raise DataError(
            f"{where}: unexpected participant table header {[_clean(h) for h in head]}; "
            "expected [Participant, Signature, <act legend>]"
        )
    sig_legend = _legend(head[1], f"{where}, signature column header")
    act_legend = _legend(head[2], f"{where}, act column header")
    if set(act_legend.values()) - set(ACT_TYPES):
        raise DataError(f"{where}: act column legend {act_legend} has types outside {ACT_TYPES}")
    recs = []
    for i, tr in enumerate(rows[1:], start=1):
        tds = tr.xpath("./td")
        rw = f"{where}, participant table row {i}"
        if len(tds) != 3:
            raise DataError(
                f"{rw}: expected 3 cells, found {len(tds)}: {[_clean(t.text_content()) for t in tds]}"
            )
        name, notes = _name_and_notes(tds[0])
        if not name:
            raise DataError(f"{rw}: empty participant name")
        rw = f"{rw} ({name})"
        sig, sig_type, sig_br = _parse_cell(tds[1].text_content(), sig_legend, rw + ", signature")
        act, act_type, act_br = _parse_cell(tds[2].text_content(), act_legend, rw + ", act")
        recs.append(
            {
                "row": i,
                "participant": name,
                "footnotes": notes,
                "signature_date": sig,
                "signature_type": "succession_to_signature"
                if sig_type == "succession"
                else ("signature" if pd.notna(sig) else None),
                "act_date": act,
                "act_type": act_type,
                "denounced": bool(act_br or sig_br),
            }
        )
    df = pd.DataFrame.from_records(recs)
    for c in ("signature_date", "act_date"):
        df[c] = pd.to_datetime(df[c]).astype("datetime64[ns]")
    df["participant"] = df["participant"].astype("string")
    df["act_type"] = df["act_type"].astype("string")
    df["signature_type"] = df["signature_type"].astype("string")
    dup = df["participant"][df["participant"].duplicated()]
    if len(dup):
        raise DataError(f"{where}: participant(s) listed twice in the participant table: {sorted(set(dup))}")
    return df


def _parse_notes(root, where: str) -> dict[int, str]:
    tables = _by_id_suffix(root, "table", "dgNotesAll")
    if not tables:
        return {}
    out: dict[int, str] = {}
    for i, tr in enumerate(tables[0].xpath("./tr"), start=1):
        divs = tr.xpath('.//div[contains(@class, "divNotesAll")]')
        if not divs:
            continue
        a = divs[0].xpath("./a[@name]")
        if not a or not a[0].get("name", "").isdigit():
            raise DataError(f"{where}: footnote row {i} has no note number")
        num = int(a[0].get("name"))
        text = _clean(divs[0].text_content())
        text = re.sub(rf"^{num}\s*", "", text)
        out[num] = text
    return out


def _block_text(el) -> str:
    """Text of an HTML block with <br>/<p> as line breaks, whitespace normalised inside lines."""
    el = copy.deepcopy(el)
    for inv in el.xpath('.//p[@class="invisible"]'):
        inv.drop_tree()
    for br in el.xpath(".//br"):
        br.tail = "\n" + (br.tail or "")
    for p in el.xpath(".//p|.//div"):
        p.tail = "\n" + (p.tail or "")
    lines = [_clean(x) for x in el.text_content().split("\n")]
    return "\n".join(x for x in lines if x)


def _parse_decl(root, where: str) -> pd.DataFrame:
    tables = _by_id_suffix(root, "table", "dgDec")
    recs = []
    if tables:
        for i, tr in enumerate(tables[0].xpath("./tr"), start=1):
            part = tr.xpath('.//div[substring(@id, string-length(@id) - 13) = "divParticipant"]')
            text = tr.xpath('.//div[substring(@id, string-length(@id) - 6) = "divText"]')
            if not part or not text:
                raise DataError(
                    f"{where}: declarations table (dgDec) row {i} lacks the participant or text block"
                )
            name, notes = _name_and_notes(part[0])
            recs.append({"row": i, "participant": name, "footnotes": notes, "text": _block_text(text[0])})
    df = pd.DataFrame.from_records(recs, columns=["row", "participant", "footnotes", "text"])
    df["participant"] = df["participant"].astype("string")
    df["text"] = df["text"].astype("string")
    return df


@lru_cache(maxsize=64)
def _load_page(path: str, mtime_ns: int, size: int) -> _Page:
    from lxml import etree, html

    where = path
    raw = Path(path).read_bytes()
    if not raw.strip():
        raise DataError(f"{where}: the file is empty")
    if not raw.rstrip().lower().endswith(b"</html>"):
        raise DataError(
            f"{where}: the page is truncated (it does not end with </html>; {size} bytes); "
            "fetch it again with the data step"
        )
    try:
        root = html.fromstring(raw)
    except (etree.ParserError, ValueError) as e:
        raise DataError(f"{where}: not parseable as HTML: {e}") from None
    header = _parse_header(root, where)
    grid = _parse_grid(root, where)
    notes = _parse_notes(root, where)
    missing = sorted({n for ns in grid["footnotes"] for n in ns} - set(notes))
    if missing:
        raise DataError(
            f"{where}: participant rows cite footnote(s) {missing} that the footnote table "
            "(dgNotesAll) does not contain; the page is incomplete"
        )
    decl = _parse_decl(root, where)
    return _Page(path, header, grid, notes, decl)


def _page(treaty: str, path: str | Path | None = None) -> _Page:
    check_treaty(treaty)
    p = Path(path) if path is not None else html_path(treaty)
    if not p.exists():
        raise DataError(f"{p}: UNTC page for treaty {treaty!r} is missing; run the data step (make data)")
    st = p.stat()
    return _load_page(str(p), st.st_mtime_ns, st.st_size)


def page_header(treaty: str, path: str | Path | None = None) -> dict:
    """Facts stated at the top of a page: status date, title, date line, entry into force, signatory/party counts."""
    return dict(_page(treaty, path).header)


def parse_participants(treaty: str, path: str | Path | None = None) -> pd.DataFrame:
    """The participant table (``tblgrid``) of a treaty page, one row per participant.

    Columns: ``row`` (1-based row in the table), ``participant`` (UNTC spelling, footnote numbers removed),
    ``footnotes`` (list of int), ``signature_date``, ``signature_type`` (signature | succession_to_signature),
    ``act_date``, ``act_type`` (one of :data:`ACT_TYPES`, read with the legend in each page's column header),
    ``denounced`` (True when the row's dates are in square brackets). ``path`` overrides the raw file (tests).
    Raises :class:`DataError` naming the file (and row/cell) for a truncated or malformed page.
    """
    return _page(treaty, path).participants.copy()


def parse_footnotes(treaty: str, path: str | Path | None = None) -> dict[int, str]:
    """Footnote number -> text (whitespace normalised) from the ``dgNotesAll`` table."""
    return dict(_page(treaty, path).footnotes)


def parse_declarations(treaty: str, path: str | Path | None = None) -> pd.DataFrame:
    """Declarations and reservations (``dgDec``): ``row``, ``participant``, ``footnotes``, ``text`` (line breaks kept)."""
    return _page(treaty, path).declarations.copy()


# --------------------------------------------------------------------------------------------------------------
# footnote extraction
# --------------------------------------------------------------------------------------------------------------

_PRED_ACT_RE = re.compile(
    r"(?:The )?(?P<state>German Democratic Republic|Czechoslovakia|former Yugoslavia) (?:had )?"
    r"(?P<verb>signed and ratified|signed|acceded to|ratified) the "
    r"(?:Convention|Covenant|Convenant|Optional Protocol|Protocol)\b(?P<mid>[^.]{0,60}?),? on "
    rf"(?P<d1>{DATE_RE})(?: and (?P<d2>{DATE_RE}))?"
)
_YMD_RE = re.compile(r"The formality was effected by Democratic Yemen")


def _note_owners(grid: pd.DataFrame) -> dict[int, list[str]]:
    owners: dict[int, list[str]] = {}
    for name, notes in zip(grid["participant"], grid["footnotes"], strict=True):
        for n in notes:
            owners.setdefault(n, []).append(str(name))
    return owners


def participant_iso3(names, treaty: str) -> pd.Series:
    """UNTC participant names -> ISO3 through the project's one harmonisation route (strict: unmapped = error)."""
    names = pd.Series(list(names), dtype="string")
    if names.empty:
        return names
    uniq = names.drop_duplicates()
    codes = to_iso3(uniq, "name", source=f"{SOURCE_LABEL}, {treaty}")
    lookup = dict(zip(uniq, codes, strict=True))
    return pd.Series([lookup[n] for n in names], dtype="string")


def _prose_act(m: re.Match, where: str) -> tuple[date | None, date | None, str | None]:
    """(signature date, act date, act type) of one predecessor act matched by ``_PRED_ACT_RE``."""
    verb, d1, d2 = m.group("verb"), m.group("d1"), m.group("d2")
    if verb == "signed and ratified":
        if not d2:
            raise DataError(f"{where}: 'signed and ratified' with one date: {m.group(0)!r}")
        return parse_prose_date(d1), parse_prose_date(d2), "ratification"
    if verb == "signed":
        return parse_prose_date(d1), None, None
    if verb == "ratified":
        return None, parse_prose_date(d1), "ratification"
    return None, parse_prose_date(d1), "accession"


def _listed_under_successor(
    grid: pd.DataFrame, treaty: str, num: int, own_iso: list, excerpt: str
) -> list[dict]:
    """Democratic Yemen's act, shown in the row of the participant that cites footnote ``num`` (Yemen)."""
    rows = grid[[num in ns for ns in grid["footnotes"]]]
    return [
        {
            "participant": PREDECESSOR_NAMES["YMD"],
            "iso3": "YMD",
            "treaty": treaty,
            "signature_date": r["signature_date"] if pd.notna(r["signature_date"]) else None,
            "act_date": r["act_date"] if pd.notna(r["act_date"]) else None,
            "act_type": r["act_type"] if pd.notna(r["act_type"]) else None,
            "successors": list(own_iso or DEFAULT_SUCCESSORS["YMD"]),
            "listed_under_successor": True,
            "note": num,
            "excerpt": excerpt,
        }
        for _, r in rows.iterrows()
    ]


def predecessor_acts(treaty: str, path: str | Path | None = None) -> pd.DataFrame:
    """Acts of predecessor states recorded in a page's footnotes.

    Columns: ``participant`` (predecessor name), ``iso3`` (DDR, CSK, YUG, YMD), ``treaty``, ``signature_date``,
    ``act_date``, ``act_type``, ``successors`` (list of the ISO3 of the participant rows that cite the note),
    ``listed_under_successor`` (True when the act is the one shown in the successor's own row, as for Democratic
    Yemen), ``note`` (footnote number), ``excerpt``.
    """
    page = _page(treaty, path)
    grid = page.participants
    owners = _note_owners(grid)
    recs = []
    for num, text in sorted(page.footnotes.items()):
        hits = list(_PRED_ACT_RE.finditer(text))
        ymd = _YMD_RE.search(text)
        if not hits and not ymd:
            continue
        own = owners.get(num, [])
        own_iso = sorted(set(participant_iso3(own, treaty).dropna())) if own else []
        for m in hits:
            iso = PREDECESSORS[m.group("state")]
            sig, act, act_type = _prose_act(m, f"{page.path}: footnote {num}")
            recs.append(
                {
                    "participant": PREDECESSOR_NAMES[iso],
                    "iso3": iso,
                    "treaty": treaty,
                    "signature_date": sig,
                    "act_date": act,
                    "act_type": act_type,
                    "successors": list(own_iso or DEFAULT_SUCCESSORS[iso]),
                    "listed_under_successor": False,
                    "note": num,
                    "excerpt": m.group(0),
                }
            )
        if ymd:
            recs += _listed_under_successor(grid, treaty, num, own_iso, ymd.group(0))
    cols = [
        "participant",
        "iso3",
        "treaty",
        "signature_date",
        "act_date",
        "act_type",
        "successors",
        "listed_under_successor",
        "note",
        "excerpt",
    ]
    df = pd.DataFrame.from_records(recs, columns=cols)
    dup = df.duplicated(["iso3"], keep=False)
    if dup.any():
        raise DataError(
            f"{page.path}: more than one footnote act for predecessor(s) "
            f"{sorted(set(df.loc[dup, 'iso3']))} (notes {sorted(df.loc[dup, 'note'])})"
        )
    for c in ("signature_date", "act_date"):
        df[c] = pd.to_datetime(df[c]).astype("datetime64[ns]")
    for c in ("participant", "iso3", "treaty", "act_type", "excerpt"):
        df[c] = df[c].astype("string")
    df["listed_under_successor"] = df["listed_under_successor"].astype(bool)
    return df


_YAR_FORMALITY_RE = re.compile(r"The formality was effected by the Yemen Arab Republic")
_YAR_ACT_RE = re.compile(
    r"The Yemen Arab Republic had (?P<verb>acceded to|ratified) the "
    rf"(?:Convention|Covenant|Optional Protocol|Protocol) on (?P<d>{DATE_RE})"
)

#: columns of :func:`yemen_acts`
YEMEN_ACT_COLUMNS = ["treaty", "listed_by", "yar_act_date", "note", "excerpt"]


def yemen_acts(treaties=None) -> pd.DataFrame:
    """Which Yemen acted where the pages say so: UNTC lists one act under Yemen, made before unification (22 May
    1990) by Democratic Yemen (South) or by the Yemen Arab Republic (North), or after it by the Republic of Yemen.

    One row per treaty whose Yemen row cites a footnote attributing its act: ``listed_by`` is ``YMD`` when the
    listed act was Democratic Yemen's ("The formality was effected by Democratic Yemen", or a footnote giving the
    Yemen Arab Republic's own, different act, as CERD note 17), ``YAR`` when it was the Yemen Arab Republic's
    ("... effected by the Yemen Arab Republic"); ``yar_act_date`` is the Yemen Arab Republic's own act where a
    footnote states it (else NaT). Treaties without such a footnote have no row.
    """
    recs = []
    for t in check_treaties(treaties):
        page = _page(t)
        grid = page.participants
        rows = grid[participant_iso3(grid["participant"], t).eq("YEM").to_numpy()]
        for num in [n for ns in rows["footnotes"] for n in ns]:
            text = page.footnotes.get(num, "")
            ymd, yar_f, yar = _YMD_RE.search(text), _YAR_FORMALITY_RE.search(text), _YAR_ACT_RE.search(text)
            if not (ymd or yar_f or yar):
                continue
            recs.append(
                {
                    "treaty": t,
                    "listed_by": "YAR" if yar_f else "YMD",
                    "yar_act_date": parse_prose_date(yar.group("d")) if yar else None,
                    "note": num,
                    "excerpt": (ymd or yar_f or yar).group(0),
                }
            )
    df = pd.DataFrame.from_records(recs, columns=YEMEN_ACT_COLUMNS)
    df["yar_act_date"] = pd.to_datetime(df["yar_act_date"]).astype("datetime64[ns]")
    return df.reset_index(drop=True)


_DEN_RE = re.compile(
    rf"On (?P<notified>{DATE_RE}),? the Government of (?P<gov>[A-Z][A-Za-z ]+?) "
    r"(?:informed|notified) the Secretary-General "
    r"(?:of its decision to denounce|that it had decided to denounce|of its denunciation of) the (?:said )?"
    r"(?:Optional Protocol|Protocol|Convention|Covenant)(?: for the second time)?"
    rf"(?: with effect from (?P<effective>{DATE_RE}))?"
)
_WITHDRAW_RE = re.compile(
    r"received from the Government of (?:the )?(?P<gov>[A-Z][A-Za-z' ]+?) a notification of withdrawal from the "
    rf"(?:Covenant|Convention|Protocol), dated (?P<notified>{DATE_RE})"
)
_FIRST_ACT_RE = re.compile(
    r"(?:had )?(?:initially )?acceded to the (?:Optional Protocol|Protocol|Convention|Covenant) on "
    rf"(?P<d>{DATE_RE})"
)


def denunciations(treaties=None) -> pd.DataFrame:
    """Denunciations (and attempted withdrawals) recorded in footnotes, one row per notification.

    Columns: ``iso3``, ``participant``, ``treaty``, ``notified_date``, ``effective_date``, ``basis`` (where the
    effective date comes from: the footnote, computed from the treaty's denunciation article, or "no legal effect"),
    ``note``, ``excerpt``. A notification stated without its effective date (Jamaica, ICCPR-OP1) is dated with
    the treaty's denunciation article (ICCPR-OP1 art. 12(1): three months after receipt).
    """
    recs = []
    for t in check_treaties(treaties):
        page = _page(t)
        info = TREATIES[t]
        owners = _note_owners(page.participants)
        for num, text in sorted(page.footnotes.items()):
            own = owners.get(num, [])
            for m in list(_DEN_RE.finditer(text)) + list(_WITHDRAW_RE.finditer(text)):
                gov = m.group("gov").strip()
                match = [p for p in own if gov.lower() in p.lower() or p.lower() in gov.lower()]
                if len(match) != 1:
                    raise DataError(
                        f"{page.path}: footnote {num} records a denunciation by {gov!r} but it is "
                        f"attached to participant row(s) {own}"
                    )
                notified = parse_prose_date(m.group("notified"))
                if m.re is _WITHDRAW_RE:
                    eff, basis = (
                        None,
                        (
                            "no legal effect: the treaty has no withdrawal clause (Secretary-General's "
                            "aide-memoire in the footnote)"
                        ),
                    )
                elif m.group("effective"):
                    eff, basis = parse_prose_date(m.group("effective")), "footnote"
                elif info.denunciation_lag == "3 months":
                    eff = (pd.Timestamp(notified) + pd.DateOffset(months=3)).date()
                    basis = f"computed: notification + 3 months (art. {info.denunciation_article})"
                else:
                    raise DataError(
                        f"{page.path}: footnote {num}: denunciation by {gov} without an effective date "
                        f"and no denunciation rule for treaty {t!r}"
                    )
                recs.append(
                    {
                        "participant": match[0],
                        "treaty": t,
                        "notified_date": notified,
                        "effective_date": eff,
                        "basis": basis,
                        "note": num,
                        "excerpt": m.group(0),
                    }
                )
    cols = ["iso3", "participant", "treaty", "notified_date", "effective_date", "basis", "note", "excerpt"]
    df = pd.DataFrame.from_records(recs, columns=cols[1:])
    df = df.drop_duplicates(["participant", "treaty", "notified_date", "effective_date"]).reset_index(
        drop=True
    )
    df.insert(0, "iso3", participant_iso3(df["participant"], "footnotes").values)
    for c in ("notified_date", "effective_date"):
        df[c] = pd.to_datetime(df[c]).astype("datetime64[ns]")
    for c in ("participant", "treaty", "basis", "excerpt"):
        df[c] = df[c].astype("string")
    order = {t: i for i, t in enumerate(TREATIES)}
    return df.sort_values(
        ["treaty", "iso3", "notified_date"], key=lambda s: s.map(order) if s.name == "treaty" else s
    ).reset_index(drop=True)


def _first_act(page: _Page, notes: list[int], participant: str) -> date | None:
    """Earliest accession date that a participant's own footnotes state ("had initially acceded ... on ...")."""
    found = []
    for n in notes:
        text = page.footnotes.get(n, "")
        for m in _FIRST_ACT_RE.finditer(text):
            head = text[max(0, m.start() - 80) : m.start()]
            if participant.split()[0] in head:
                found.append(parse_prose_date(m.group("d")))
    return min(found) if found else None


# --------------------------------------------------------------------------------------------------------------
# the contract table
# --------------------------------------------------------------------------------------------------------------

RATIFICATION_COLUMNS = [
    "iso3",
    "participant",
    "treaty",
    "signature_date",
    "ratification_date",
    "act_type",
    "denounced_date",
    "first_act_date",
    "is_state",
    "is_predecessor",
    "successors",
    "effective_date",
    "footnotes",
]


def _denounced_and_first_acts(page, g: pd.DataFrame, den: pd.DataFrame) -> tuple[list, list]:
    """Per participant row of ``g``: the date its denunciation took effect (NaT if its act stands) and the date
    of its first act (earlier than the current one where a denounced earlier act is in a footnote)."""
    den_eff: dict[str, list[pd.Timestamp]] = {}
    for name, eff in zip(den["participant"], den["effective_date"], strict=True):
        if pd.notna(eff):
            den_eff.setdefault(str(name), []).append(eff)
    denounced, first = [], []
    for name, br, act, notes in zip(
        g["participant"], g["denounced"], g["act_date"], g["footnotes"], strict=True
    ):
        ev = den_eff.get(str(name), [])
        if br and not ev:
            raise DataError(
                f"{page.path}: {name}'s dates are bracketed (denounced) but no footnote gives the denunciation"
            )
        # not bracketed: a later act that replaced a denounced one (Guyana, ICCPR-OP1): the current act stands
        denounced.append(max(ev) if br else pd.NaT)
        fa = _first_act(page, notes, str(name)) if ev else None
        first.append(min(pd.Timestamp(fa), act) if fa is not None and pd.notna(act) else act)
    return denounced, first


def _ratifications_one(t: str) -> pd.DataFrame:
    page = _page(t)
    g = page.participants
    df = pd.DataFrame(
        {
            "iso3": participant_iso3(g["participant"], t).values,
            "participant": g["participant"].values,
            "treaty": t,
            "signature_date": g["signature_date"].values,
            "ratification_date": g["act_date"].values,
            "act_type": g["act_type"].values,
        }
    )
    unmapped = df.loc[df["iso3"].isna(), "participant"]
    if len(unmapped):
        raise DataError(
            f"{page.path}: participant(s) {sorted(unmapped)} map to no ISO3 code "
            "(deliberately excluded?); every UNTC participant needs a code"
        )
    denounced, first = _denounced_and_first_acts(page, g, denunciations([t]))
    df["denounced_date"] = pd.to_datetime(pd.Series(denounced, dtype="datetime64[ns]")).values
    df["first_act_date"] = pd.to_datetime(pd.Series(first, dtype="datetime64[ns]")).values
    df["is_state"] = ~df["participant"].isin(list(NON_STATES))
    df["is_predecessor"] = False
    df["successors"] = [[] for _ in range(len(df))]
    df["effective_date"] = pd.NaT
    df["footnotes"] = list(g["footnotes"])

    pred = predecessor_acts(t)
    if len(pred):
        p = pd.DataFrame(
            {
                "iso3": pred["iso3"].values,
                "participant": pred["participant"].values,
                "treaty": t,
                "signature_date": pred["signature_date"].values,
                "ratification_date": pred["act_date"].values,
                "act_type": pred["act_type"].values,
                "denounced_date": pd.NaT,
                "first_act_date": pred["act_date"].values,
                "is_state": True,
                "is_predecessor": True,
                "successors": list(pred["successors"]),
                "effective_date": pd.NaT,
                "footnotes": [[int(n)] for n in pred["note"]],
            }
        )
        df = pd.concat([df, p], ignore_index=True)
    # successions: date the footnote says the succession applies from (the 2026 pages state none)
    eff = []
    for act_type, notes in zip(df["act_type"], df["footnotes"], strict=True):
        d = None
        if pd.notna(act_type) and act_type == "succession":
            for n in notes:
                m = re.search(
                    rf"succe\w+[^.]{{0,120}}?with effect from (?P<d>{DATE_RE})", page.footnotes.get(n, "")
                )
                if m:
                    d = parse_prose_date(m.group("d"))
                    break
        eff.append(d)
    df["effective_date"] = pd.to_datetime(pd.Series(eff, dtype="object")).astype("datetime64[ns]").values
    return df


@lru_cache(maxsize=32)
def _ratifications_cached(treaties: tuple[str, ...]) -> pd.DataFrame:
    parts = [_ratifications_one(t) for t in treaties]
    df = pd.concat(parts, ignore_index=True)
    order = {t: i for i, t in enumerate(TREATIES)}
    df["_o"] = df["treaty"].map(order)
    df = df.sort_values(["_o", "iso3", "participant"]).drop(columns="_o").reset_index(drop=True)
    for c in ("iso3", "participant", "treaty", "act_type"):
        df[c] = df[c].astype("string")
    for c in ("signature_date", "ratification_date", "denounced_date", "first_act_date", "effective_date"):
        df[c] = df[c].astype("datetime64[ns]")
    df["is_state"] = df["is_state"].astype(bool)
    df["is_predecessor"] = df["is_predecessor"].astype(bool)
    dup = df.duplicated(["iso3", "treaty"], keep=False)
    if dup.any():
        raise DataError(
            "ratification table: more than one row per (iso3, treaty): "
            f"{df.loc[dup, ['iso3', 'participant', 'treaty']].values.tolist()}"
        )
    return df[RATIFICATION_COLUMNS]


def ratifications(treaties=None) -> pd.DataFrame:
    """The ratification table of the data contract: one row per (participant, instrument).

    Columns
    -------
    iso3 : ISO 3166 alpha-3; historical codes DDR, CSK, YUG, YMD for predecessor states (ISO 3166-3 /
        countrycode style); EUU for the European Union (CRPD, ``is_state`` False).
    participant : UNTC name (2026 spelling), or the predecessor's name.
    treaty : key of :data:`TREATIES`.
    signature_date, ratification_date : datetime64 (NaT if none); ratification_date is the date of the act
        (ratification, accession, succession, acceptance or formal confirmation = ``act_type``).
    denounced_date : date a denunciation took effect (bracketed rows; footnote date, or computed by the
        treaty's denunciation article when the footnote gives only the notification).
    first_act_date : earliest act; differs from ratification_date only where a denounced earlier act is
        recorded in a footnote (Guyana, ICCPR-OP1: 1993-05-10).
    is_state : False only for the European Union (the Holy See, the State of Palestine, the Cook Islands and Niue
        are treaty-making participants and count as states); is_predecessor : True for the footnote rows of
        DDR, CSK, YUG, YMD; successors : list of the ISO3 of the participant rows that cite the predecessor's
        footnote (so it can differ by treaty, e.g. Montenegro cites its own note); [] for other rows.
    effective_date : for successions, the date a footnote says the succession applies from (else NaT).
    footnotes : list of the UNTC footnote numbers cited by the row.

    Sorted by treaty order (:data:`TREATIES`) then iso3. Parsed results are cached per process.
    """
    ts = tuple(check_treaties(treaties))
    return _ratifications_cached(ts).copy()


def participants(rat: pd.DataFrame, states_only: bool = True) -> pd.DataFrame:
    """The rows of a ratification table for participants acting in their own name.

    Drops the predecessor-state rows (``is_predecessor``: DDR, CSK, YUG, YMD, kept in the table only to date
    their successors' acts) and, if ``states_only``, the participants that are not states (``is_state`` False:
    the European Union). A missing value counts as not a state and as not a predecessor; a table without one of
    the two columns (another source) is not filtered on it. The panel's states, the maps of notebook 01, the
    party counts of notebook 00 (``states_only=False``, the EU counted apart) and the reservation indicators all
    use this one filter.
    """
    keep = pd.Series(True, index=rat.index)
    if "is_predecessor" in rat.columns:
        keep &= ~rat["is_predecessor"].astype("boolean").fillna(False).astype(bool)
    if states_only and "is_state" in rat.columns:
        keep &= rat["is_state"].astype("boolean").fillna(False).astype(bool)
    return rat[keep]


def _add_lag(d: pd.Timestamp, rule: str) -> pd.Timestamp:
    if rule == "30 days":
        return d + pd.Timedelta(days=30)
    if rule == "3 months":
        return d + pd.DateOffset(months=3)
    if rule == "1st of month after 3 months":
        x = d + pd.DateOffset(months=3)
        return (x + pd.offsets.MonthBegin(1)).normalize()
    raise ValueError(rule)


def entry_into_force(treaty: str, include_predecessors: bool = True) -> date:
    """Entry into force computed from the parsed acts: date of deposit of the n-th instrument + the lag.

    Counts every act of a state in the participant table (also later-denounced ones; the EU and other non-state
    participants are not counted) plus, if ``include_predecessors``, the predecessor-state acts recorded only in
    footnotes (e.g. the German Democratic Republic's CEDAW ratification of 9 July 1980). The rule (n, lag) is the
    treaty's article in :data:`TREATIES` (CEDAW art. 27(1): 20th instrument + 30 days). An optional protocol does
    not enter into force before its parent treaty.
    """
    info = check_treaty(treaty)
    df = ratifications([treaty])
    acts = df[df["ratification_date"].notna() & df["is_state"]]
    if include_predecessors:
        pred = predecessor_acts(treaty)
        dup = set(pred.loc[pred["listed_under_successor"], "iso3"])
        acts = acts[~acts["iso3"].isin(dup)]
    else:
        acts = acts[~acts["is_predecessor"]]
    dates = acts["first_act_date"].fillna(acts["ratification_date"]).sort_values().reset_index(drop=True)
    if len(dates) < info.eif_count:
        raise DataError(
            f"{treaty}: only {len(dates)} instruments, fewer than the {info.eif_count} that "
            f"article {info.eif_article} requires"
        )
    eif = _add_lag(dates.iloc[info.eif_count - 1], info.eif_rule)
    if info.parent:
        eif = max(eif, pd.Timestamp(TREATIES[info.parent].entry_into_force))
    return eif.date()


def clear_cache() -> None:
    """Forget parsed pages and tables (after replacing a raw file within the same second, or in tests)."""
    _load_page.cache_clear()
    _ratifications_cached.cache_clear()
