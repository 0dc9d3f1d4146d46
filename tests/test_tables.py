"""Tests of helpers.tables: numbers, stars, SE convention, FE rows and the three renderings."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import models as M
from helpers import tables as T
from helpers.bench import synthetic_panel
from helpers.errors import ParameterError


@pytest.fixture(scope="module")
def fits():
    p = synthetic_panel(n_countries=40, n_years=30, first_year=1980, seed=3)
    return [M.fit(p, outcome="v2x_gender"), M.fit(p, outcome="v2x_gencl", estimator="twfe_ldv", se="CR1"),
            M.fit(p, outcome="v2x_gender", years=(1950, 1960))]


def test_stars():
    assert [T.stars(p) for p in [0.001, 0.01, 0.03, 0.07, 0.2, np.nan]] == ["***", "**", "**", "*", "", ""]


def test_table_content(fits):
    tab = T.regression_table(fits, labels=["A", "B", "C"])
    df = tab.df
    assert list(df.columns) == ["", "A", "B", "C"]
    focal = fits[0].focal()
    row = df.index[df[""] == "cedaw_ratified_l1"][0]
    assert df.loc[row, "A"] == f"{focal['estimate']:.3f}" + T.stars(focal["p_value"])
    assert df.loc[row + 1, "A"] == f"({focal['std_error']:.3f})"
    assert df.loc[row, "C"] == "—"
    stats = df.set_index("")
    assert stats.loc["Country FE", "A"] == "Yes" and stats.loc["Year FE", "B"] == "Yes"
    assert stats.loc["N", "A"] == f"{fits[0].n_obs:,}" and stats.loc["Countries", "B"] == "40"
    assert stats.loc["SE", "A"].startswith("CRV1") and stats.loc["SE", "B"].startswith("CR1")
    assert stats.loc["R² within", "A"] == f"{fits[0].r2_within:.3f}"
    text = tab.notes_text
    assert "* p < 0.1, ** p < 0.05, *** p < 0.01" in text and "Nickell" in text and "empty sample" in text
    assert "every FE dummy" in text  # CR1 named


def test_renderings(fits):
    tab = T.regression_table(fits[:2], term_labels={"cedaw_ratified_l1": "CEDAW ratified (t-1)"})
    md, h, tex = tab.to_markdown(), tab.to_html(), tab.to_latex()
    assert md.count("\n|") >= len(tab.df) and "CEDAW ratified (t-1)" in md
    assert h.startswith("<table") and h.count("<tr") == len(tab.df) + 2 and "<tfoot>" in h
    assert "\\toprule" in tex and "\\bottomrule" in tex and "v2x\\_gender" in tex and "R$^2$ within" in tex
    # every coefficient cell appears in each rendering
    for v in tab.df.iloc[: tab.n_coef_rows, 1:].to_numpy().ravel():
        if v:
            assert v in md and v in h


def test_terms_selection_and_bad_terms(fits):
    tab = T.regression_table(fits[:2], terms=["cedaw_ratified_l1"])
    assert tab.n_coef_rows == 2
    with pytest.raises(ParameterError, match="cedaw_ratified_l1"):
        T.regression_table(fits[:2], terms=["nope"])
    with pytest.raises(ParameterError):
        T.regression_table(fits[:2], labels=["only one"])
