"""helpers.data.status: party status by country-year and the implementation-gap ranking of notebook 01.

Two kinds of reference: a synthetic panel whose statuses and ranking are worked out by hand, and, on the real panel,
the notebook's own code as it stood before it moved into helpers (kept here verbatim as a second implementation),
so that the numbers are shown unchanged."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.core.errors import DataError, ParameterError
from helpers.data import status as st


def _toy() -> pd.DataFrame:
    """Three states, 2000-2003. A ratifies in 2000, B signs in 2001 and ratifies in 2002, C never acts."""
    rows = []
    for iso, name, region, signed, ratified, values in [
        ("AAA", "Avalon", "R1", 2000, 2000, [0.2, 0.4, 0.6, 0.8]),
        ("BBB", "Borduria", "R1", 2001, 2002, [0.5, 0.5, 0.9, 0.1]),
        ("CCC", "Carpania", "R2", None, None, [0.3, 0.3, 0.3, 0.3]),
    ]:
        for k, year in enumerate(range(2000, 2004)):
            rat = ratified is not None and year >= ratified
            rows.append(
                {
                    "iso3": iso,
                    "year": year,
                    "country": name,
                    "region": region,
                    "cedaw_signed": int(signed is not None and year >= signed),
                    "cedaw_ratified": int(rat),
                    "cedaw_year": ratified if ratified is not None else np.nan,
                    "cedaw_years_since": (year - ratified) if rat else 0,
                    "v2x_gender": values[k],
                }
            )
    return pd.DataFrame(rows)


def test_party_status_by_year():
    s = st.party_status(_toy(), "cedaw")
    got = s.pivot(index="iso3", columns="year", values="status")
    assert list(got.loc["AAA"]) == ["party"] * 4
    assert list(got.loc["BBB"]) == ["not party", "signed, not ratified", "party", "party"]
    assert list(got.loc["CCC"]) == ["not party"] * 4
    one = st.party_status(_toy(), "cedaw", 2001)
    assert list(one.columns) == ["iso3", "country", "status"] and len(one) == 3
    assert set(one["status"]) <= set(st.STATUS_CATEGORIES)


def test_gap_ranking_by_hand():
    rank = st.gap_ranking(_toy(), "cedaw", "v2x_gender", min_years=0)
    # A: mean of 0.2, 0.4, 0.6, 0.8 = 0.5, 3 years since in 2003; B: mean of 0.9, 0.1 = 0.5, 1 year
    # ties on the mean are broken by the country name
    assert list(rank["iso3"]) == ["AAA", "BBB"]
    np.testing.assert_allclose(rank["mean_since"], [0.5, 0.5])
    assert list(rank["years_since"]) == [3, 1] and list(rank["ratified_in"]) == [2000, 2002]
    np.testing.assert_allclose(rank["v2x_gender_2003"], [0.8, 0.1])
    np.testing.assert_allclose(rank["at_ratification"], [0.2, 0.9])
    assert list(st.gap_ranking(_toy(), "cedaw", "v2x_gender", min_years=2)["iso3"]) == ["AAA"]
    assert list(st.gap_ranking(_toy(), "cedaw", "v2x_gender", region="R2", min_years=0)["iso3"]) == []


def test_gap_snapshot_bands():
    cur, band = st.gap_snapshot(_toy(), "cedaw", "v2x_gender")
    assert list(cur["iso3"]) == ["AAA", "BBB"] and list(cur["band"]) == [2.5, 2.5]  # 3 and 1 years: band 0-5
    np.testing.assert_allclose(band.set_index("band")["v2x_gender"], [(0.8 + 0.1) / 2])


def test_bad_input_names_parameter_and_valid_values():
    with pytest.raises(ParameterError, match="treaty.*valid values: cedaw"):
        st.party_status(_toy(), "cedawx")
    with pytest.raises(ParameterError, match="outcome.*valid values:.*v2x_gender"):
        st.gap_ranking(_toy(), "cedaw", "country")
    with pytest.raises(ParameterError, match="region.*valid values: R1, R2"):
        st.gap_ranking(_toy(), "cedaw", "v2x_gender", region="R9")
    with pytest.raises(ParameterError, match="year.*valid values: 2000, 2001"):
        st.party_status(_toy(), "cedaw", 1999)
    with pytest.raises(ParameterError, match="min_years"):
        st.gap_ranking(_toy(), "cedaw", "v2x_gender", min_years=-1)
    with pytest.raises(DataError, match=r"lacks column\(s\) \['cedaw_signed'\]"):
        st.party_status(_toy().drop(columns="cedaw_signed"), "cedaw")


# ----------------------------------------------------------------------------------------------------------
# the real panel: numbers unchanged against the notebook's former code
# ----------------------------------------------------------------------------------------------------------
def _notebook_status(panel, treaty):
    names = panel.drop_duplicates("iso3").set_index("iso3")["country"]
    status = panel[["iso3", "year"]].assign(country=panel["iso3"].map(names), status="not party")
    status["status"] = (
        status["status"]
        .mask(panel[f"{treaty}_signed"].eq(1), "signed, not ratified")
        .mask(panel[f"{treaty}_ratified"].eq(1), "party")
    )
    return status


def _notebook_ranking(panel, treaty, outcome, region, gap_min_years):
    year_last = int(panel["year"].max())
    cols = [
        "iso3",
        "year",
        "country",
        "region",
        f"{treaty}_ratified",
        f"{treaty}_year",
        f"{treaty}_years_since",
    ]
    g = panel[[*cols, outcome]].rename(
        columns={f"{treaty}_year": "ratified_in", f"{treaty}_years_since": "years_since"}
    )
    if region:
        g = g[g["region"] == region]
    since = g[g[f"{treaty}_ratified"].eq(1) & g[outcome].notna()]
    rank = (
        since.groupby("iso3")
        .agg(
            country=("country", "first"),
            region=("region", "first"),
            ratified_in=("ratified_in", "first"),
            years_since=("years_since", "max"),
            mean_since=(outcome, "mean"),
        )
        .join(g[g["year"] == year_last].set_index("iso3")[outcome].rename(f"{outcome}_{year_last}"))
        .join(
            g.dropna(subset=["ratified_in"])
            .query("year == ratified_in")
            .set_index("iso3")[outcome]
            .rename("at_ratification")
        )
    )
    rank = rank[rank["years_since"] >= gap_min_years].sort_values(["mean_since", "country"]).reset_index()
    rank["ratified_in"] = rank["ratified_in"].astype("Int64")
    return rank


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("treaty", "outcome", "region", "min_years"),
    [
        ("cedaw", "v2x_gender", "", 10),
        ("cedaw", "v2lgfemleg", "Middle East & North Africa", 20),
        ("cat", "v2x_gencl", "", 0),
    ],
)
def test_real_panel_numbers_unchanged(panel, treaty, outcome, region, min_years):
    pd.testing.assert_frame_equal(st.party_status(panel, treaty), _notebook_status(panel, treaty))
    got = st.gap_ranking(panel, treaty, outcome, region or None, min_years=min_years)
    pd.testing.assert_frame_equal(got, _notebook_ranking(panel, treaty, outcome, region, min_years))
    assert len(got) > 5
