"""Tests of helpers.report: notebook rendering and reports/index.html (offline, relative links, metadata)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import nbformat
import pandas as pd
import plotly.graph_objects as go
import pytest

from helpers.core import paths
from helpers.report import export
from helpers.report import site as report

EXTERNAL = re.compile(r"<(script|link|img|iframe)[^>]*\b(src|href)\s*=\s*[\"']?(https?:)?//", re.IGNORECASE)
SHA = "a" * 64


def _executed_notebook(path: Path, failed: bool = False) -> None:
    """A small notebook shaped like papermill output (no kernel needed): parameters, a plotly output."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell('treaty = "cedaw"  # a treaty\nrun_label = "default"\nyear = 2000')
    params.metadata["tags"] = ["parameters"]
    injected = nbformat.v4.new_code_cell('# Parameters\ntreaty = "iccpr"\n')
    injected.metadata["tags"] = ["injected-parameters"]
    fig = go.Figure(go.Scatter(x=[1, 2, 3], y=[2, 1, 3], name="series-xyz")).to_plotly_json()
    plot = nbformat.v4.new_code_cell(
        "fig",
        outputs=[
            nbformat.v4.new_output(
                "display_data", data={"application/vnd.plotly.v1+json": fig, "text/plain": "Figure"}
            )
        ],
    )
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Ratification atlas\nWho ratified when."),
        params,
        injected,
        plot,
    ]
    nb.metadata["papermill"] = {
        "parameters": {"treaty": "iccpr"},
        "default_parameters": {},
        "duration": 3.25,
        "exception": failed,
        "start_time": "2026-01-01T00:00:00",
    }
    nbformat.write(nb, path)


@pytest.fixture()
def reports(tmp_path, monkeypatch) -> Path:
    rep = tmp_path / "reports"
    monkeypatch.setattr(paths, "REPORTS", rep)
    monkeypatch.setenv("TREATY_EFFECTS_STATIC", "0")
    (rep / "notebooks").mkdir(parents=True)
    _executed_notebook(rep / "notebooks" / "01_atlas--default.ipynb")
    _executed_notebook(rep / "notebooks" / ".01_atlas--other.running.ipynb")  # a run in progress: ignored
    out = export.run_dir("01_atlas", "default")
    with pytest.warns(UserWarning):
        export.save_figure(go.Figure(go.Bar(x=["a"], y=[1])), "bars", out)
    export.save_table(pd.DataFrame({"a": [1.0]}), "tab1", out, caption="A table")
    export.save_results(pd.DataFrame({"term": ["x"], "estimate": [0.5]}), "tidy", out)
    reg = tmp_path / "registry.tsv"
    reg.write_text(f"source\tfile\tsha256\tbytes\nnaturalearth\tnaturalearth/ne.json\t{SHA}\t12\n")
    return rep


def _links(html: str) -> list[str]:
    return re.findall(r'(?:href|src)="([^"#]+)"', html)


def test_build_index_links_everything_offline(reports, tmp_path):
    index = report.build_index(reports, registry=tmp_path / "registry.tsv")
    assert index == reports / "index.html"
    html = index.read_text()
    assert not EXTERNAL.search(html)
    links = _links(html)
    for rel in [
        "notebooks/01_atlas--default.html",
        "notebooks/01_atlas--default.ipynb",
        "01_atlas/default/figures/bars.html",
        "01_atlas/default/tables/tab1.tex",
        "01_atlas/default/tables/tab1.md",
        "01_atlas/default/results/tidy.csv",
    ]:
        assert rel in links, rel
    assert "#run-01_atlas/default" in html and 'id="run-01_atlas/default"' in html
    assert ".running" not in html
    for link in links:  # every link is relative and resolves
        assert not link.startswith(("/", "http")), link
        assert (reports / unquote(link)).exists(), link
    # run metadata: title, status, duration, parameters (injected bold), data and library versions
    assert "Ratification atlas" in html and ">ok<" in html and "3.2 s" in html
    assert "<b><code>treaty = &quot;iccpr&quot;</code></b>" in html
    assert "<code>year = 2000</code>" in html  # a default from the parameters cell
    assert SHA in html and "naturalearth/ne.json" in html
    assert f'<td>pandas</td><td class="mono">{pd.__version__}</td>' in html


def test_rendered_notebook_is_offline_and_interactive(reports, tmp_path):
    report.build_index(reports, registry=tmp_path / "registry.tsv")
    page = (reports / "notebooks" / "01_atlas--default.html").read_text()
    assert not EXTERNAL.search(page), EXTERNAL.search(page).group(0)
    assert "Plotly.newPlot" in page and "series-xyz" in page
    for link in re.findall(r'<script[^>]*src="([^"]+)"', page):
        assert (reports / "notebooks" / link).resolve().is_file(), link
    assert (reports / "assets" / "plotly.min.js").stat().st_size > 3_000_000


def test_failed_notebook_flagged_and_rerender_when_stale(reports, tmp_path):
    report.build_index(reports, registry=tmp_path / "registry.tsv")
    html_path = reports / "notebooks" / "01_atlas--default.html"
    first_mtime = html_path.stat().st_mtime_ns
    report.build_index(reports, registry=tmp_path / "registry.tsv")
    assert html_path.stat().st_mtime_ns == first_mtime  # not re-rendered: up to date
    _executed_notebook(reports / "notebooks" / "02_failed.ipynb", failed=True)
    html = report.build_index(reports, registry=tmp_path / "registry.tsv").read_text()
    assert 'class="err">failed<' in html and (reports / "notebooks" / "02_failed.html").is_file()


def test_missing_registry_is_reported_not_fatal(reports, tmp_path):
    html = report.build_index(reports, registry=tmp_path / "nope.tsv").read_text()
    assert "No data registry found" in html
