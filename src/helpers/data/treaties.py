"""The 18 core UN human-rights instruments: one record each (UNTC number, names, dates, entry-into-force rule).

This module holds facts only; :mod:`helpers.data.untc` parses the UN Treaty Collection pages into the
ratification table. Every other module takes its list of instruments from :data:`TREATIES` (CEDAW first).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from helpers.core.errors import ParameterError


@dataclass(frozen=True)
class Treaty:
    """One instrument: UNTC facts plus the entry-into-force rule of its final clauses."""

    key: str
    mtdsg: str  #: UNTC number, e.g. "IV-8"
    short: str  #: common abbreviation, e.g. "CEDAW"
    name: str  #: full title as on the UNTC page
    adopted: date  #: adoption by the UN General Assembly
    untc_date: date  #: the place/date line of the UNTC page (opening for signature for CERD)
    entry_into_force: date  #: as stated on the UNTC page
    parent: str | None  #: parent treaty of an optional protocol
    eif_article: str  #: article of the treaty that sets entry into force
    eif_count: int  #: entry into force after the deposit of the n-th instrument ...
    eif_rule: str  #: ... plus "30 days" | "3 months" | "1st of month after 3 months"
    denunciation_article: str | None = None  #: article on denunciation (used to date a notified denunciation)
    denunciation_lag: str | None = None  #: e.g. "3 months": denunciation takes effect after this lag

    @property
    def url(self) -> str:
        return (
            "https://treaties.un.org/Pages/ViewDetails.aspx?src=TREATY&mtdsg_no="
            f"{self.mtdsg}&chapter=4&clang=_en"
        )


def _d(s: str) -> date:
    return date.fromisoformat(s)


_T = Treaty
#: The 18 core instruments in the project's order (CEDAW first). Facts checked against each page in the tests.
TREATIES: dict[str, Treaty] = {
    t.key: t
    for t in [
        _T(
            "cedaw",
            "IV-8",
            "CEDAW",
            "Convention on the Elimination of All Forms of Discrimination against Women",
            _d("1979-12-18"),
            _d("1979-12-18"),
            _d("1981-09-03"),
            None,
            "27(1)",
            20,
            "30 days",
        ),
        _T(
            "cedaw_op",
            "IV-8-b",
            "OP-CEDAW",
            "Optional Protocol to the Convention on the Elimination of All Forms of Discrimination against Women",
            _d("1999-10-06"),
            _d("1999-10-06"),
            _d("2000-12-22"),
            "cedaw",
            "16(1)",
            10,
            "3 months",
        ),
        _T(
            "iccpr",
            "IV-4",
            "ICCPR",
            "International Covenant on Civil and Political Rights",
            _d("1966-12-16"),
            _d("1966-12-16"),
            _d("1976-03-23"),
            None,
            "49(1)",
            35,
            "3 months",
        ),
        _T(
            "iccpr_op1",
            "IV-5",
            "ICCPR-OP1",
            "Optional Protocol to the International Covenant on Civil and Political Rights",
            _d("1966-12-16"),
            _d("1966-12-16"),
            _d("1976-03-23"),
            "iccpr",
            "9(1)",
            10,
            "3 months",
            "12(1)",
            "3 months",
        ),
        _T(
            "iccpr_op2",
            "IV-12",
            "ICCPR-OP2",
            "Second Optional Protocol to the International Covenant on Civil and Political Rights, aiming at the "
            "abolition of the death penalty",
            _d("1989-12-15"),
            _d("1989-12-15"),
            _d("1991-07-11"),
            "iccpr",
            "8(1)",
            10,
            "3 months",
        ),
        _T(
            "icescr",
            "IV-3",
            "ICESCR",
            "International Covenant on Economic, Social and Cultural Rights",
            _d("1966-12-16"),
            _d("1966-12-16"),
            _d("1976-01-03"),
            None,
            "27(1)",
            35,
            "3 months",
        ),
        _T(
            "icescr_op",
            "IV-3-a",
            "OP-ICESCR",
            "Optional Protocol to the International Covenant on Economic, Social and Cultural Rights",
            _d("2008-12-10"),
            _d("2008-12-10"),
            _d("2013-05-05"),
            "icescr",
            "18(1)",
            10,
            "3 months",
        ),
        _T(
            "cat",
            "IV-9",
            "CAT",
            "Convention against Torture and Other Cruel, Inhuman or Degrading Treatment or Punishment",
            _d("1984-12-10"),
            _d("1984-12-10"),
            _d("1987-06-26"),
            None,
            "27(1)",
            20,
            "30 days",
        ),
        _T(
            "cat_op",
            "IV-9-b",
            "OPCAT",
            "Optional Protocol to the Convention against Torture and Other Cruel, Inhuman or Degrading Treatment "
            "or Punishment",
            _d("2002-12-18"),
            _d("2002-12-18"),
            _d("2006-06-22"),
            "cat",
            "28(1)",
            20,
            "30 days",
        ),
        _T(
            "crc",
            "IV-11",
            "CRC",
            "Convention on the Rights of the Child",
            _d("1989-11-20"),
            _d("1989-11-20"),
            _d("1990-09-02"),
            None,
            "49(1)",
            20,
            "30 days",
        ),
        _T(
            "crc_op_ac",
            "IV-11-b",
            "OPAC",
            "Optional Protocol to the Convention on the Rights of the Child on the involvement of children in "
            "armed conflict",
            _d("2000-05-25"),
            _d("2000-05-25"),
            _d("2002-02-12"),
            "crc",
            "10(1)",
            10,
            "3 months",
        ),
        _T(
            "crc_op_sc",
            "IV-11-c",
            "OPSC",
            "Optional Protocol to the Convention on the Rights of the Child on the sale of children, child "
            "prostitution and child pornography",
            _d("2000-05-25"),
            _d("2000-05-25"),
            _d("2002-01-18"),
            "crc",
            "14(1)",
            10,
            "3 months",
        ),
        _T(
            "crc_op_ic",
            "IV-11-d",
            "OPIC",
            "Optional Protocol to the Convention on the Rights of the Child on a communications procedure",
            _d("2011-12-19"),
            _d("2011-12-19"),
            _d("2014-04-14"),
            "crc",
            "19(1)",
            10,
            "3 months",
        ),
        _T(
            "cerd",
            "IV-2",
            "CERD",
            "International Convention on the Elimination of All Forms of Racial Discrimination",
            _d("1965-12-21"),
            _d("1966-03-07"),
            _d("1969-01-04"),
            None,
            "19(1)",
            27,
            "30 days",
        ),
        _T(
            "crpd",
            "IV-15",
            "CRPD",
            "Convention on the Rights of Persons with Disabilities",
            _d("2006-12-13"),
            _d("2006-12-13"),
            _d("2008-05-03"),
            None,
            "45(1)",
            20,
            "30 days",
        ),
        _T(
            "crpd_op",
            "IV-15-a",
            "OP-CRPD",
            "Optional Protocol to the Convention on the Rights of Persons with Disabilities",
            _d("2006-12-13"),
            _d("2006-12-13"),
            _d("2008-05-03"),
            "crpd",
            "13(1)",
            10,
            "30 days",
        ),
        _T(
            "cmw",
            "IV-13",
            "CMW",
            "International Convention on the Protection of the Rights of All Migrant Workers and Members of their "
            "Families",
            _d("1990-12-18"),
            _d("1990-12-18"),
            _d("2003-07-01"),
            None,
            "87(1)",
            20,
            "1st of month after 3 months",
        ),
        _T(
            "ced",
            "IV-16",
            "CPED",
            "International Convention for the Protection of All Persons from Enforced Disappearance",
            _d("2006-12-20"),
            _d("2006-12-20"),
            _d("2010-12-23"),
            None,
            "39(1)",
            20,
            "30 days",
        ),
    ]
}
del _T


def check_treaty(treaty: str) -> Treaty:
    """The :class:`Treaty` for a key; a :class:`ParameterError` listing the 18 valid keys otherwise."""
    if treaty not in TREATIES:
        raise ParameterError("treaty", treaty, list(TREATIES))
    return TREATIES[treaty]


def check_treaties(treaties) -> list[str]:
    if treaties is None:
        return list(TREATIES)
    if isinstance(treaties, str):
        treaties = [treaties]
    out = list(treaties)
    for t in out:
        check_treaty(t)
    return out
