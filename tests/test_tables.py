"""Tests of helpers.tables: numbers, stars, SE convention, FE rows and the three renderings."""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pytest

from helpers.core.errors import ParameterError
from helpers.data import variables
from helpers.estimate import models as M
from helpers.pipeline.bench import synthetic_panel
from helpers.report import tables as T


@pytest.fixture(scope="module")
def fits():
    p = synthetic_panel(n_countries=40, n_years=30, first_year=1980, seed=3)
    return [
        M.fit(p, outcome="v2x_gender"),
        M.fit(p, outcome="v2x_gencl", estimator="twfe_ldv", se="CR1"),
        M.fit(p, outcome="v2x_gender", years=(1950, 1960)),
    ]


def test_stars():
    assert [T.stars(p) for p in [0.001, 0.01, 0.03, 0.07, 0.2, np.nan]] == ["***", "**", "**", "*", "", ""]


def test_table_content(fits):
    tab = T.regression_table(fits, labels=["A", "B", "C"])
    df = tab.df
    assert list(df.columns) == ["", "A", "B", "C"]
    focal = fits[0].focal()
    row = 2 * tab.terms.index("cedaw_ratified_l1")
    assert df.loc[row, ""] == "CEDAW ratified (t\u22121)"
    assert df.loc[row, "A"] == f"{focal['estimate']:.3f}" + T.stars(focal["p_value"])
    assert df.loc[row + 1, "A"] == f"({focal['std_error']:.3f})"
    assert df.loc[row, "C"] == "—"
    stats = df.set_index("")
    assert stats.loc["Country FE", "A"] == "Yes" and stats.loc["Year FE", "B"] == "Yes"
    assert stats.loc["N", "A"] == f"{fits[0].n_obs:,}" and stats.loc["Countries", "B"] == "40"
    assert stats.loc["SE", "A"].startswith("CRV1") and stats.loc["SE", "B"].startswith("CR1")
    assert stats.loc["R² within", "A"] == f"{fits[0].r2_within:.3f}"
    assert stats.loc["Dependent variable", "A"] == "Women's political empowerment"
    assert stats.loc["Controls", "A"] == "Cole" and stats.loc["Estimator", "B"] == "OLS, lagged DV"
    text = tab.notes_text
    assert "* p < 0.1, ** p < 0.05, *** p < 0.01" in text and "Nickell" in text and "empty sample" in text
    assert "every FE dummy" in text  # CR1 named
    assert "Controls Cole: ln GDP per capita, Democracy (polyarchy), ln population, Armed conflict" in text


def test_renderings(fits):
    tab = T.regression_table(fits[:2], term_labels={"cedaw_ratified_l1": "CEDAW ratified (t-1)"})
    md, h, tex = tab.to_markdown(), tab.to_html(), tab.to_latex()
    assert md.count("\n|") >= len(tab.df) and "CEDAW ratified (t-1)" in md
    assert h.startswith("<table") and h.count("<tr") == len(tab.df) + 2 and "<tfoot>" in h
    assert (
        "\\toprule" in tex
        and "\\bottomrule" in tex
        and "Women's" in tex
        and "empowerment" in tex
        and "R$^{2}$ within" in tex
    )
    # every coefficient cell appears in each rendering (stars escaped in Markdown, superscript in LaTeX)
    for v in tab.df.iloc[: tab.n_coef_rows, 1:].to_numpy().ravel():
        if v:
            assert v.replace("*", "\\*") in md and v in h
            assert T._tex_number(v) in tex
    # the rule between coefficients and statistics in every rendering
    assert tex.count("\\midrule") == 2
    assert md.splitlines()[2 + tab.n_coef_rows].startswith("| \u2014 |")
    assert h.count("border-top:1px solid") == 1


def test_raw_names_and_label_overrides(fits):
    raw = T.regression_table(fits[:2], term_labels=None)
    assert raw.df.loc[0, ""] == "cedaw_ratified_l1" and raw.terms[0] == "cedaw_ratified_l1"
    auto = T.regression_table(fits[:2])
    assert auto.terms == raw.terms  # raw names kept beside the labels
    assert list(auto.df.loc[: auto.n_coef_rows - 1 : 2, ""]) == [variables.term_label(t) for t in auto.terms]
    over = T.regression_table(fits[:2], term_labels={"ln_gdppc_l1": "GDP"})
    assert "GDP" in set(over.df[""]) and over.df.loc[0, ""] == "CEDAW ratified (t\u22121)"
    with pytest.raises(ParameterError, match="term_labels"):
        T.regression_table(fits[:2], term_labels="fancy")


NASTY = "50% & $x_1$ #{a}~^\\ <b> | \u201cq\u201d \u2014 \u00d7 \u00b2 \u2212 caf\u00e9 \u2192"


def _check_tex(tex: str, n_cols: int) -> None:
    """Compile-safety checks that need no TeX installation."""
    for ch in tex:  # ASCII, or accented Latin letters (pdflatex's utf8 inputenc handles them)
        assert ch.isascii() or ("\u00c0" <= ch <= "\u017f" and ch.isalpha()), repr(ch)
    body = re.sub(r"\\[a-zA-Z]+(\[[a-z]*\])?|\\[&%$#_{}\\ ]", "", tex)  # drop commands and escapes
    body = re.sub(r"\$[^$]*\$", "", body)  # drop math
    assert not re.search(r"[%#_^~<>|]", body), body
    depth = 0
    for ch in re.sub(r"\\[{}]", "", tex):  # braces balanced, escaped ones aside
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0
    assert depth == 0
    assert len(re.findall(r"(?<!\\)\$", tex)) % 2 == 0  # math shifts paired
    for r in tex.splitlines():  # n_cols - 1 cell separators per row
        if r.rstrip().endswith("\\\\"):
            line = re.sub(r"\\begin\{tabular\}.*?\\end\{tabular\}", "", r)
            assert len(re.findall(r"(?<!\\)&", line)) == n_cols - 1, r


def test_latex_escaping_is_compile_safe(fits):
    tab = T.regression_table(
        fits[:2], labels=["A_1 & B", "100%"], term_labels={"cedaw_ratified_l1": NASTY}, title=NASTY
    )
    tex = tab.to_latex()
    _check_tex(tex, 3)
    assert r"50\% \& \$x\_1\$ \#\{a\}\textasciitilde{}\textasciicircum{}\textbackslash{}" in tex
    assert "$\\times$ $^{2}$ $-$ caf\u00e9" in tex
    assert r"A\_1 \& B & 100\%" in tex
    assert "$^{***}$" in tex or "$^{**}$" in tex or "$^{*}$" in tex  # stars as superscripts
    assert "\u2212" not in tex and "(t$-$1)" in tex


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
def test_latex_compiles_with_pdflatex(fits, tmp_path):
    from helpers.report import export

    tab = T.regression_table(
        fits, term_labels={"cedaw_ratified_l1": NASTY}, title="CEDAW & outcomes (t\u22121)"
    )
    files = export.save_table(tab, "reg", tmp_path)
    doc = tmp_path / "doc.tex"
    doc.write_text(
        "\\documentclass{article}\n\\usepackage[T1]{fontenc}\n\\usepackage{booktabs}\n"
        "\\begin{document}\n\\input{" + files["tex"].as_posix() + "}\n\\end{document}\n"
    )
    r = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", doc.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert r.returncode == 0, r.stdout[-2000:]
    assert (tmp_path / "doc.pdf").stat().st_size > 1000


def test_terms_selection_and_bad_terms(fits):
    tab = T.regression_table(fits[:2], terms=["cedaw_ratified_l1"])
    assert tab.n_coef_rows == 2
    with pytest.raises(ParameterError, match="cedaw_ratified_l1"):
        T.regression_table(fits[:2], terms=["nope"])
    with pytest.raises(ParameterError):
        T.regression_table(fits[:2], labels=["only one"])
