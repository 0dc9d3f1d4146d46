"""Figures a journal accepts: source lines from the registries (credits), the check in save_figure (a source line,
no raw variable codes), shared or standalone HTML, no autoplay, and the figure defects fixed in issue 10."""

from __future__ import annotations

import json
import re

import nbformat
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from helpers.core import paths
from helpers.core.errors import ParameterError
from helpers.data import variables
from helpers.data.registry import load_registry
from helpers.report import export, figures, plots
from helpers.report.tables import RegressionTable

VDEM_LICENCE = "CC BY-SA 4.0"


@pytest.fixture()
def out(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "REPORTS", tmp_path / "reports")
    monkeypatch.setenv("TREATY_EFFECTS_STATIC", "0")
    return export.run_dir("99_test", "unit")


def _fig(**layout) -> go.Figure:
    return go.Figure(go.Scatter(x=[1, 2], y=[1, 2], name="a"), layout=layout)


# ----------------------------------------------------------------------------------------------------------
# credits
# ----------------------------------------------------------------------------------------------------------
def test_every_data_source_has_a_credit_name():
    reg = load_registry()
    assert sorted(set(reg["source"])) == sorted(plots.SOURCE_NAMES)
    refs = {
        part.strip()
        for src in variables.registry()["source"]
        for part in src.split(" + ")
        if part.strip().startswith("data/reference/")
    }
    assert refs <= set(plots.REFERENCE_NAMES), refs - set(plots.REFERENCE_NAMES)


def test_credits_name_each_dataset_once_with_its_licence():
    reg = load_registry()
    vdem_licence = reg.loc[reg["source"] == "vdemlite", "licence"].iloc[0]
    assert vdem_licence == VDEM_LICENCE  # the registry says so, the credit must repeat it
    text = plots.credits(["v2x_gender", "v2x_gencl", "cedaw_ratified_l1", "v2x_polyarchy"])
    assert text == (
        f"Sources: {plots.SOURCE_NAMES['vdemlite']}, {VDEM_LICENCE}; {plots.SOURCE_NAMES['untc_hr_treaties_2026']}."
    )
    # interaction terms, reservation coding (a tracked table), extra sources, notes and intervals
    text = plots.credits(
        ["cedaw_res_any_x_v2x_polyarchy"],
        sources=["naturalearth"],
        note="Parties only",
        intervals=plots.interval_note("CRV1"),
    )
    assert text.startswith(f"Sources: {plots.SOURCE_NAMES['untc_hr_treaties_2026']}; ")
    assert plots.REFERENCE_NAMES["data/reference/cedaw_reservations.csv"] in text
    assert f"{plots.SOURCE_NAMES['vdemlite']}, {VDEM_LICENCE}" in text and "public domain" in text
    assert text.endswith("Parties only. 95% CIs; SEs clustered by country (CRV1).")
    # WDI is CC BY 4.0 in the registry: its credit carries that licence
    assert plots.credits(["ln_gdppc"]) == f"Source: {plots.SOURCE_NAMES['wdi_plsc504']}, CC BY 4.0."


def test_credits_bad_input():
    with pytest.raises(ParameterError, match="valid values: .*naturalearth"):
        plots.credits([], sources=["no_such_source"])
    with pytest.raises(ParameterError, match="no registered column or source"):
        plots.credits(["my_own_column"])
    assert plots.credits(["my_own_column"], default="Source: my.csv.") == "Source: my.csv."
    with pytest.raises(ParameterError, match="list of column names"):
        plots.credits("v2x_gender")


def test_interval_note():
    assert plots.interval_note("CR1") == "95% CIs; SEs clustered by country (CR1)."
    assert plots.interval_note({"TWFE": "CRV1", "BJS": "conservative"}, level=0.9) == (
        "90% CIs; TWFE: SEs clustered by country (CRV1); BJS: conservative."
    )


# ----------------------------------------------------------------------------------------------------------
# the check in save_figure
# ----------------------------------------------------------------------------------------------------------
def test_figure_problems_finds_missing_source_and_raw_codes():
    bad = _fig(title="Effect on v2x_gender", xaxis_title="cedaw_ratified_l1", legend_title_text="v2clacjstw")
    bad.add_trace(go.Heatmap(z=[[1, 2]], x=[1, 2], y=["wbl_index"]))
    bad.add_trace(go.Scatter(x=[1], y=[1], name="v2x_polyarchy", showlegend=True))
    problems = export.figure_problems(bad)
    assert problems[0].startswith("no source line")
    text = "\n".join(problems)
    for code, where in [
        ("v2x_gender", "title"),
        ("cedaw_ratified", "xaxis title"),
        ("v2clacjstw", "legend title"),
        ("wbl_index", "y axis category"),
        ("v2x_polyarchy", "legend entry"),
    ]:
        assert f"raw variable code '{code}' in the {where}" in text, (code, text)
        assert repr(variables.label(code)) in text  # the message gives the readable label
    good = _fig(title=f"Effect on {variables.label('v2x_gender')}", xaxis_title="year")
    plots.source_note(good, plots.credits(["v2x_gender"]))
    assert export.figure_problems(good) == []
    # codes in hover texts and in the source line itself are not reader-facing labels
    good.update_traces(hovertemplate="v2x_gender %{y}")
    plots.source_note(good, "Source: V-Dem (v2x_gender). " + plots.credits(["v2x_gender"]))
    assert export.figure_problems(good) == []
    # ordinary words are not codes, a code inside a longer identifier is not one either
    assert (
        export.figure_problems(plots.source_note(_fig(title="region and polity; x_v2x_genderly"), "S")) == []
    )


def test_save_figure_refuses_and_writes_nothing(out):
    with pytest.raises(export.ExportError, match="no source line"):
        export.save_figure(_fig(), "nosource", out)
    fig = plots.source_note(_fig(yaxis_title="v2x_gencl"), plots.credits(["v2x_gencl"]))
    with pytest.raises(export.ExportError, match="raw variable code 'v2x_gencl' in the yaxis title"):
        export.save_figure(fig, "rawcode", out)
    assert list((out / "figures").iterdir()) == []


def test_matplotlib_figures_are_checked_too(out):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3.5, 2.5))
    ax.set_ylabel("v2x_gender")
    with pytest.raises(export.ExportError, match="no source line.*raw variable code 'v2x_gender'"):
        export.save_figure(fig, "mpl", out, formats=("png",))
    ax.set_ylabel(variables.label("v2x_gender"))
    fig.text(0, 0, plots.credits(["v2x_gender"]), gid=export.SOURCE_NOTE)
    assert set(export.save_figure(fig, "mpl", out, formats=("png",))) == {"png"}
    plt.close(fig)


# ----------------------------------------------------------------------------------------------------------
# HTML: one shared plotly.js, or standalone; no autoplay
# ----------------------------------------------------------------------------------------------------------
def _ok(fig: go.Figure) -> go.Figure:
    return plots.source_note(fig, plots.credits(["v2x_gender"]))


def test_pages_under_reports_share_assets_standalone_inlines(out):
    shared = export.save_figure(_ok(_fig(title="t")), "shared", out, formats=("html",))["html"]
    alone = export.save_figure(_ok(_fig(title="t")), "alone", out, formats=("html",), standalone=True)["html"]
    html = shared.read_text()
    src = re.search(r'<script src="([^"]+plotly\.min\.js)"', html).group(1)
    assert src == "../../../assets/plotly.min.js" and (shared.parent / src).resolve().is_file()
    assert shared.stat().st_size < 30_000 < 3_000_000 < alone.stat().st_size
    assert "<script src=" not in alone.read_text()  # nothing to load: plotly.js inside
    # the page title is the figure's own title
    assert "<title>t</title>" in html


def test_shared_map_page_loads_the_shared_topojson(out):
    if export.topojson_dir() is None:
        pytest.skip("no local topojson")
    fig = _ok(go.Figure(go.Choropleth(locations=["BRA"], z=[1], locationmode="ISO-3")))
    page = export.save_figure(fig, "map", out, formats=("html",))["html"]
    html = page.read_text()
    assert '<script src="../../../assets/plotly-geo-assets.js"' in html
    assert (page.parent / "../../../assets/plotly-geo-assets.js").resolve().stat().st_size > 100_000
    assert html.index("plotly-geo-assets.js") < html.index("Plotly.newPlot")
    assert "world_110m" not in html  # the topojson is not inlined


def test_animated_figure_does_not_play_by_itself():
    fig = _ok(
        go.Figure(
            go.Scatter(x=[1], y=[1]),
            frames=[go.Frame(data=[go.Scatter(x=[k], y=[k])], name=str(k)) for k in range(3)],
        )
    )
    html = export.figure_to_html(fig, assets="../assets")
    assert "Plotly.addFrames" in html and "Plotly.animate(" not in html
    plotly_default = pio.to_html(fig, include_plotlyjs=False)
    assert "Plotly.animate(" in plotly_default  # plotly's own default would autoplay: the option matters


def test_static_source_line_wraps_to_the_export_width():
    long = "Sources: " + "; ".join(f"dataset number {i}, CC BY 4.0" for i in range(12)) + "."
    fig = plots.source_note(_fig(title="t"), long)
    base_b = fig.layout.margin.b
    d = export._sized_dict(fig, export.SIZES["column"], None, None)  # noqa: SLF001 - the static layout itself
    note = next(a for a in d["layout"]["annotations"] if a["name"] == export.SOURCE_NOTE)
    lines = note["text"].split("<br>")
    assert len(lines) >= 4 and max(len(x) for x in lines) <= 420 / (0.55 * 10)
    assert note["text"].replace("<br>", " ") == long
    assert d["layout"]["margin"]["b"] >= base_b + (len(lines) - 1) * 14
    assert fig.layout.annotations[-1].text == long  # the figure itself (notebook, HTML) is unchanged


# ----------------------------------------------------------------------------------------------------------
# the defects of issue 10
# ----------------------------------------------------------------------------------------------------------
def test_coverage_heatmap_groups_by_source_with_labels():
    years = [2000, 2001]
    panel = pd.DataFrame(
        {
            "iso3": ["A", "B", "A", "B"],
            "year": [2000, 2000, 2001, 2001],
            "v2x_gender": [0.1, np.nan, 0.2, 0.3],
            "wbl_index": [50.0, 60.0, np.nan, np.nan],
            "v2x_polyarchy": [0.5, 0.5, 0.5, np.nan],
        }
    )
    fig = plots.coverage_heatmap(panel, ["v2x_gender", "wbl_index", "v2x_polyarchy"])
    ticks = list(fig.layout.yaxis.ticktext)
    vdem, wbl = f"<b>{plots.SOURCE_NAMES['vdemlite']}</b>", f"<b>{plots.SOURCE_NAMES['wbl']}</b>"
    assert ticks == [
        vdem,
        variables.label("v2x_gender"),
        variables.label("v2x_polyarchy"),
        wbl,
        variables.label("wbl_index"),
    ]
    z = np.asarray(fig.data[0].z, dtype=float)
    assert np.isnan(z[0]).all() and np.isnan(z[3]).all()  # header rows are empty
    np.testing.assert_allclose(z[1], [0.5, 1.0])  # v2x_gender: 1 of 2 countries in 2000, 2 of 2 in 2001
    np.testing.assert_allclose(z[2], [1.0, 0.5])
    np.testing.assert_allclose(z[4], [1.0, 0.0])
    assert list(fig.data[0].x) == years
    assert export.figure_problems(fig) == []  # readable labels, a source line crediting V-Dem and WBL
    note = next(a.text for a in fig.layout.annotations if a.name == export.SOURCE_NOTE)
    assert VDEM_LICENCE in note and plots.SOURCE_NAMES["wbl"] in note


def test_country_timeline_drops_instruments_never_signed():
    d = pd.Timestamp
    events = pd.DataFrame(
        {
            "instrument": ["CEDAW", "CAT", "CMW", "CRC"],
            "signature_date": [pd.NaT, d("2008-04-17"), pd.NaT, d("1990-09-20")],
            "ratification_date": [d("1996-03-12"), d("2010-06-23"), pd.NaT, d("1990-11-12")],
            "act_type": ["accession", "ratification", None, "ratification"],
            "denounced_date": [pd.NaT] * 4,
        }
    )
    series = pd.DataFrame({"year": [1990, 2000], "value": [0.3, 0.4]})
    fig = plots.country_timeline(events, series, series_label="Women", source="Source: x.")
    assert list(fig.layout.yaxis.ticktext) == ["CEDAW", "CAT", "CRC"]
    note = next(a.text for a in fig.layout.annotations if a.name == export.SOURCE_NOTE)
    assert note == "Not signed or joined: CMW. Source: x."
    # the case's own instrument keeps its row even when never signed
    first_unsigned = events.iloc[[2, 0]].reset_index(drop=True)
    fig = plots.country_timeline(first_unsigned, series, source="Source: x.")
    assert list(fig.layout.yaxis.ticktext) == ["CMW", "CEDAW"]
    kept = plots.country_timeline(events, series, drop_unsigned=False)
    assert len(kept.layout.yaxis.ticktext) == 4


def _bacon_comp() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    kinds = ["treated_vs_never"] * 10 + ["earlier_vs_later"] * 200 + ["later_vs_earlier"] * 200
    comp = pd.DataFrame(
        {
            "comparison_type": kinds,
            "weight": rng.uniform(0, 0.02, len(kinds)),
            "estimate": rng.normal(0.04, 0.08, len(kinds)),
            "treated_group": 1990,
            "control_group": 2000,
        }
    )
    comp.attrs["twfe"] = 0.037
    return comp


def test_bacon_legend_inside_a_band_no_point_reaches():
    comp = _bacon_comp()
    fig = figures.bacon_figure(comp, title={"text": "Goodman-Bacon", "subtitle": {"text": "CEDAW"}})
    leg = fig.layout.legend
    assert (leg.x, leg.xanchor, leg.y, leg.yanchor) == (1.0, "right", 0.0, "bottom")
    lo, hi = fig.layout.yaxis.range
    # the legend's band (the lowest 30% of the axis) lies below every estimate
    assert comp["estimate"].min() > lo + 0.3 * (hi - lo)
    pts = [t for t in fig.data if t.mode == "markers"]
    assert all(t.marker.size <= 5 and t.marker.opacity < 1 for t in pts)
    assert [t.name for t in sorted(fig.data, key=lambda t: t.legendrank)][0] == "treated vs never treated"
    assert pts[0].name.startswith("later vs earlier")  # drawn first: under the others


def test_honest_legend_above_the_plot():
    h = pd.DataFrame(
        {
            "mbar": [0, 0.5, 1],
            "estimate": 0.04,
            "conf_low": [0.01, -0.02, -0.08],
            "conf_high": [0.07, 0.1, 0.16],
            "orig_conf_low": 0.01,
            "orig_conf_high": 0.07,
            "breakdown_mbar": 0.3,
        }
    )
    fig = figures.honest_figure(h, title="t")
    assert fig.layout.legend.y == 1.0 and fig.layout.legend.yanchor == "bottom"


def test_regression_table_displays_as_a_table():
    df = pd.DataFrame(
        [["CEDAW ratified (t\u22121)", "0.011**"], ["", "(0.009)"], ["N", "6,593"]], columns=["", "(1)"]
    )
    tab = RegressionTable(df=df, notes=["Standard errors in parentheses."], n_coef_rows=2, title="T")
    html = tab._repr_html_()  # noqa: SLF001 - what Jupyter calls
    assert html == tab.to_html() and html.startswith('<table class="regtable"')
    assert "<tfoot>" in html and ">0<" not in html  # notes, no 0-based index column
    assert str(tab) == tab.to_markdown()


# ----------------------------------------------------------------------------------------------------------
# the notebooks' executed figures
# ----------------------------------------------------------------------------------------------------------
@pytest.mark.realdata
def test_every_executed_figure_has_a_source_line_and_readable_labels():
    executed = sorted((paths.REPORTS / "notebooks").glob("*.ipynb"))
    executed = [p for p in executed if not p.name.startswith(".") and ".failed" not in p.name]
    if not executed:
        pytest.skip("no executed notebooks in reports/notebooks (python -m helpers run)")
    checked, problems = 0, []
    for path in executed:
        nb = nbformat.read(path, as_version=4)
        for i, cell in enumerate(nb.cells):
            for o in cell.get("outputs", []):
                fig = (o.get("data") or {}).get("application/vnd.plotly.v1+json")
                if fig is None:
                    continue
                fig = json.loads(fig) if isinstance(fig, str) else fig
                checked += 1
                problems += [f"{path.name} cell {i}: {p}" for p in export.figure_problems(fig)]
    assert checked > 0
    assert problems == [], "\n".join(problems)
