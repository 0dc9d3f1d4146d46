"""The panel: treaty-status coding on synthetic ratification tables, schema checks, and invariants of the real panel."""

import numpy as np
import pandas as pd
import pytest

from helpers.core.errors import DataError, ParameterError
from helpers.data import panel as pnl
from helpers.data.schemas import validate_panel


def _rat(rows):
    cols = [
        "iso3",
        "participant",
        "treaty",
        "signature_date",
        "ratification_date",
        "act_type",
        "denounced_date",
        "is_state",
        "is_predecessor",
        "successors",
    ]
    df = pd.DataFrame(rows, columns=cols)
    for c in ["signature_date", "ratification_date", "denounced_date"]:
        df[c] = pd.to_datetime(df[c])
    return df


SYN = _rat(
    [
        ["AAA", "A", "cedaw", "1980-07-17", "1985-03-01", "ratification", None, True, False, None],
        ["BBB", "B", "cedaw", "1980-07-17", None, None, None, True, False, None],  # signed only
        ["CCC", "C", "cedaw", None, "1993-02-22", "succession", None, True, False, None],  # successor
        ["XXX", "Pred", "cedaw", "1980-07-17", "1982-02-16", "ratification", None, False, True, ["CCC"]],
        ["DDD", "D", "cedaw", None, "1990-01-01", "accession", "1995-06-01", True, False, None],  # denounced
    ]
)
FRAME = pd.MultiIndex.from_product(
    [["AAA", "BBB", "CCC", "DDD"], range(1978, 2001)], names=["iso3", "year"]
).to_frame(index=False)
FRAME["region"] = ["R1"] * 23 * 2 + ["R2"] * 23 * 2


def test_ratified_years_since_and_signed():
    p = pnl.treaty_columns(FRAME, SYN, ["cedaw"]).set_index(["iso3", "year"])
    a = p.loc["AAA"]
    assert a.loc[1984, "cedaw_ratified"] == 0 and a.loc[1985, "cedaw_ratified"] == 1
    assert a.loc[1990, "cedaw_years_since"] == 5 and a.loc[1984, "cedaw_years_since"] == 0
    assert a.loc[1979, "cedaw_signed"] == 0 and a.loc[1980, "cedaw_signed"] == 1
    assert (a["cedaw_year"] == 1985).all()
    b = p.loc["BBB"]
    assert (
        b["cedaw_ratified"].sum() == 0 and b.loc[2000, "cedaw_signed"] == 1 and b["cedaw_year"].isna().all()
    )


def test_denunciation_ends_status():
    d = pnl.treaty_columns(FRAME, SYN, ["cedaw"]).set_index(["iso3", "year"]).loc["DDD"]
    assert d.loc[1994, "cedaw_ratified"] == 1 and d.loc[1995, "cedaw_ratified"] == 0
    assert d.loc[1999, "cedaw_years_since"] == 0


def test_rejoining_after_denunciation_restores_status():
    rat = pd.concat(
        [SYN, _rat([["DDD", "D", "cedaw", None, "1998-01-01", "accession", None, True, False, None]])]
    )
    d = pnl.treaty_columns(FRAME, rat, ["cedaw"]).set_index(["iso3", "year"]).loc["DDD"]
    assert d.loc[1994, "cedaw_ratified"] == 1 and d.loc[2000, "cedaw_ratified"] == 1


def test_successor_rule():
    inherit = pnl.treaty_columns(FRAME, SYN, ["cedaw"], "inherit").set_index(["iso3", "year"]).loc["CCC"]
    own = pnl.treaty_columns(FRAME, SYN, ["cedaw"], "own_act").set_index(["iso3", "year"]).loc["CCC"]
    assert inherit.loc[1982, "cedaw_ratified"] == 1 and inherit.loc[1981, "cedaw_ratified"] == 0
    assert own.loc[1992, "cedaw_ratified"] == 0 and own.loc[1993, "cedaw_ratified"] == 1
    with pytest.raises(ParameterError, match="inherit"):
        pnl.treaty_columns(FRAME, SYN, ["cedaw"], "sometimes")


def test_region_density_counts_other_states_only():
    p = pnl.treaty_columns(FRAME, SYN, ["cedaw"], "own_act").set_index(["iso3", "year"])
    # region R1 = AAA, BBB: in 1990 AAA is bound, BBB is not
    assert p.loc[("AAA", 1990), "cedaw_region_density"] == 0.0
    assert p.loc[("BBB", 1990), "cedaw_region_density"] == 1.0


def test_duplicate_country_year_in_a_source_is_an_error():
    dup = pd.DataFrame({"iso3": ["AAA", "AAA"], "year": [1990, 1990], "x": [1.0, 2.0]})
    with pytest.raises(DataError, match=r"toy source: duplicate country-years \[\('AAA', 1990\)\]"):
        pnl._merge_source(FRAME, dup, "toy source")


def test_schema_names_column_and_rows():
    p = pnl.treaty_columns(FRAME, SYN, ["cedaw"])
    p["v2x_gender"] = np.where(p.index == 5, 1.7, 0.5)
    with pytest.raises(DataError, match=r"'v2x_gender' failed .*in_range.*rows \[5\]"):
        validate_panel(p, ["cedaw"])
    q = pd.concat([p.assign(v2x_gender=0.5), p.head(1).assign(v2x_gender=0.5)], ignore_index=True)
    with pytest.raises(DataError, match="iso3"):
        validate_panel(q, ["cedaw"])


# ------------------------------------------------------------------------------------------------ real panel
@pytest.mark.realdata
def test_real_panel_keys_and_range(panel):
    assert not panel.duplicated(["iso3", "year"]).any()
    assert panel["year"].min() == 1970 and panel["year"].max() >= 2022
    assert panel["iso3"].str.fullmatch(r"[A-Z]{3}").all()
    assert panel["iso3"].nunique() >= 190


@pytest.mark.realdata
def test_real_panel_known_facts(panel):
    p = panel.set_index(["iso3", "year"])
    # Pakistan acceded to CEDAW on 12 March 1996 (UNTC)
    assert p.loc[("PAK", 1995), "cedaw_ratified"] == 0 and p.loc[("PAK", 1996), "cedaw_ratified"] == 1
    assert p.loc[("PAK", 2006), "cedaw_years_since"] == 10
    # ICCPR and CAT 23 June 2010, ICESCR 17 April 2008, CRC 12 Nov 1990
    assert p.loc[("PAK", 2009), "iccpr_ratified"] == 0 and p.loc[("PAK", 2010), "iccpr_ratified"] == 1
    assert p.loc[("PAK", 2010), "cat_ratified"] == 1 and p.loc[("PAK", 2008), "icescr_ratified"] == 1
    assert p.loc[("PAK", 1990), "crc_ratified"] == 1 and p.loc[("PAK", 1989), "crc_ratified"] == 0
    # the United States signed CEDAW (17 July 1980) and never ratified
    usa = p.loc["USA"]
    assert (
        usa["cedaw_ratified"].sum() == 0
        and usa.loc[1980, "cedaw_signed"] == 1
        and usa.loc[1979, "cedaw_signed"] == 0
    )
    for iso in ["IRN", "SOM", "SDN", "TON"]:
        assert p.loc[iso, "cedaw_ratified"].sum() == 0, iso
    # Trinidad and Tobago: ICCPR-OP1 acceded 1980, last denunciation effective 27 June 2000
    tto = p.loc["TTO"]
    assert tto.loc[1990, "iccpr_op1_ratified"] == 1 and tto.loc[2001, "iccpr_op1_ratified"] == 0
    # Guyana: first accession 1993-05-10, re-accession 1999-01-05 before that denunciation took effect
    assert p.loc[("GUY", 1993), "iccpr_op1_ratified"] == 1 and p.loc[("GUY", 2005), "iccpr_op1_ratified"] == 1
    # Czechia inherits Czechoslovakia's 1982 CEDAW ratification under the default successor rule
    assert p.loc[("CZE", 1982), "cedaw_ratified"] == 1 and p.loc[("CZE", 1981), "cedaw_ratified"] == 0


@pytest.mark.realdata
def test_real_panel_density_and_reservations(panel):
    for t in ["cedaw", "iccpr", "crc"]:
        d = panel[f"{t}_region_density"].dropna()
        assert d.between(0, 1).all()
    res = panel.groupby("iso3")["cedaw_res_any"].max()
    # a reservation can only be in force while the state is bound by CEDAW
    assert not ((panel["cedaw_res_any"] == 1) & (panel["cedaw_ratified"] == 0)).any()
    assert res.sum() >= 20
