"""Tests of helpers.report.site: the results site (findings first, a section per notebook, details), the findings
file, notebook rendering; offline and relative links. The same sites in a real browser: test_site_browser.py."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import unquote

import nbformat
import pandas as pd
import plotly.graph_objects as go
import pytest

from helpers.core import paths
from helpers.report import export, plots
from helpers.report import site as report

EXTERNAL = re.compile(r"<(script|link|img|iframe)[^>]*\b(src|href)\s*=\s*[\"']?(https?:)?//", re.IGNORECASE)
SHA = "a" * 64
CREDIT = plots.credits(["v2x_gender"])


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
        nbformat.v4.new_markdown_cell(
            "# Ratification atlas\n\nWho ratified **when**, and with `which` reservations?"
        ),
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


def _bars() -> go.Figure:
    return plots.source_note(go.Figure(go.Bar(x=["a"], y=[1])).update_layout(title="Bars by group"), CREDIT)


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
        export.save_figure(_bars(), "bars", out)
    export.save_table(pd.DataFrame({"a": [1.0]}), "tab1", out, caption="A table")
    export.save_results(pd.DataFrame({"term": ["x"], "estimate": [0.5]}), "tidy", out)
    reg = tmp_path / "registry.tsv"
    reg.write_text(
        "source\tfile\tsha256\tbytes\tlicence\tcitation\n"
        f"vdemlite\tvdemlite/vdemlite.rda\t{SHA}\t12\tCC BY-SA 4.0\tCoppedge et al. 2024. V-Dem v14\n"
    )
    return rep


def _links(html: str) -> list[str]:
    return re.findall(r'(?:href|src)="([^"#]+)"', html)


def _findings(reports: Path, **change) -> Path:
    doc = {
        "version": 1,
        "generated": "2026-03-01T12:00",
        "headline": {
            "sentences": ["First finding.", "Second finding.", "Third finding."],
            "figure": "01_atlas/default/figures/bars.html",
            "caption": "The headline",
        },
        "claims": [
            {
                "claim": "Ratification alone changes practice",
                "verdict": "inconclusive",
                "estimate": 0.0123,
                "conf_low": -0.01,
                "conf_high": 0.03,
                "pretrend_p": 0.41,
                "extra_key": "kept",
            },
            {"claim": "Law before practice", "verdict": "supported", "estimate": 0.05},
        ],
        "notebooks": {"01_atlas": {"sentences": ["The atlas finding."]}},
    }
    doc.update(change)
    path = reports / report.FINDINGS
    path.write_text(json.dumps(doc))
    return path


def test_index_links_everything_offline(reports, tmp_path):
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
    assert 'href="#run-01_atlas/default"' in html and 'id="run-01_atlas/default"' in html
    assert ".running" not in html
    for link in links:  # every link is relative and resolves
        assert not link.startswith(("/", "http")), link
        assert (reports / unquote(link)).exists(), link
    for anchor in re.findall(r'href="#([^"]+)"', html):  # every in-page link has its target
        assert f'id="{anchor}"' in html, anchor


def test_index_opens_on_findings_then_one_section_per_notebook(reports, tmp_path):
    html = report.build_index(reports, registry=tmp_path / "registry.tsv").read_text()
    # no findings.json yet: a note, then the notebook section
    assert html.index('id="findings"') < html.index('id="nb-01_atlas"') < html.index('id="data"')
    assert "not available yet" in html and report.FINDINGS in html
    section = html[html.index('id="nb-01_atlas"') : html.index('id="data"')]
    assert "<h2>Ratification atlas</h2>" in section
    assert "Who ratified <b>when</b>, and with <code>which</code> reservations?" in section  # the question
    assert "Open the interactive figure: Bars by group" in section  # key figure (no PNG: HTML only)
    assert "executed notebook" in section and ">ok<" in section and "3 s" in section
    # parameters, all outputs, checksums and versions are collapsed
    params = re.search(
        r"<details><summary>Parameters of the default run</summary>(.*?)</details>", section, re.S
    )
    assert (
        params
        and "<code>treaty</code></td><td><code>&quot;iccpr&quot;</code> <b>(set for this run)</b>"
        in (params.group(1))
    )
    assert "<code>year</code></td><td><code>2000</code></td>" in params.group(1)  # a default of the cell
    assert re.search(r'<details id="data-versions">.*' + SHA, html, re.S)
    assert re.search(
        r'<details id="software">.*<td>pandas</td><td class="mono">' + re.escape(pd.__version__), html, re.S
    )
    # the sources table credits V-Dem with its licence (visible, not collapsed)
    data = html[html.index('id="data"') : html.index('id="data-versions"')]
    assert plots.SOURCE_NAMES["vdemlite"] in data and "CC BY-SA 4.0" in data


def test_findings_json_drives_the_landing_page(reports, tmp_path):
    _findings(reports)
    html = report.build_index(reports, registry=tmp_path / "registry.tsv").read_text()
    top = html[html.index('id="findings"') : html.index('id="nb-01_atlas"')]
    for s in ("First finding.", "Second finding.", "Third finding."):
        assert f"<li>{s}</li>" in top
    assert top.index("First finding.") < top.index("Second finding.") < top.index("Third finding.")
    assert 'href="01_atlas/default/figures/bars.html"' in top and "The headline" in top
    # claims table: known columns in order, CI merged, numbers to 3 decimals, verdict classes, extra keys kept
    head = re.findall(r"<th>(.*?)</th>", top)
    assert head[:4] == ["Claim", "Estimate", "95% CI", "Pre-trend p"] and head[-2:] == [
        "Verdict",
        "extra key",
    ]
    assert '<td class="num">0.012</td>' in top and "[-0.010, 0.030]" in top
    assert '<td class="verdict-supported">supported</td>' in top
    assert '<td class="verdict-inconclusive">inconclusive</td>' in top
    section = html[html.index('id="nb-01_atlas"') :]
    assert "What we find" in section and "<li>The atlas finding.</li>" in section


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"version": 2}, '"version": 1'),
        ({"headline": {"sentences": "one string"}}, "headline.sentences must be a list"),
        ({"headline": {"sentences": ["s"] * 7}}, "at most 6"),
        (
            {"claims": [{"claim": "x", "verdict": "maybe"}]},
            "claims[0].verdict is 'maybe'; valid values: supported",
        ),
        ({"claims": [{"verdict": "supported"}]}, "claims[0] must be an object with a string 'claim'"),
        ({"notebooks": {"01_atlas": {"sentences": [1]}}}, "notebooks.01_atlas.sentences"),
    ],
)
def test_malformed_findings_name_file_and_key(reports, tmp_path, change, message):
    path = _findings(reports, **change)
    with pytest.raises(report.FindingsError) as info:
        report.build_index(reports, registry=tmp_path / "registry.tsv")
    assert str(path) in str(info.value) and message in str(info.value)


def test_not_json_findings(reports, tmp_path):
    (reports / report.FINDINGS).write_text("{not json")
    with pytest.raises(report.FindingsError, match="not valid JSON"):
        report.load_findings(reports / report.FINDINGS)
    assert report.load_findings(tmp_path / "absent.json") is None


def test_figure_pages_share_one_plotly_js(reports, tmp_path):
    report.build_index(reports, registry=tmp_path / "registry.tsv")
    page = reports / "01_atlas" / "default" / "figures" / "bars.html"
    html = page.read_text()
    assert '<script src="../../../assets/plotly.min.js"' in html and "Bars by group" in html
    assert page.stat().st_size < 50_000  # the figure's data only, not 4.8 MB of plotly.js
    assert (page.parent / "../../../assets/plotly.min.js").resolve().stat().st_size > 3_000_000


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
    assert "1 of 2 notebook runs failed" in html


def test_missing_registry_is_reported_not_fatal(reports, tmp_path):
    html = report.build_index(reports, registry=tmp_path / "nope.tsv").read_text()
    assert "No data registry found" in html


def test_staging_folders_of_a_running_or_killed_run_are_not_collected(tmp_path):
    """A run writes into a hidden staging folder (helpers.pipeline.runner); the site lists only finished runs."""
    for rel in ("03_treaty_effects/default", "03_treaty_effects/.default.staging-123"):
        (tmp_path / rel / "results").mkdir(parents=True)
        (tmp_path / rel / "results" / "r.csv").write_text("a\n1\n")
    rels = [r["rel"] for r in report.collect_outputs(tmp_path)]
    assert rels == ["03_treaty_effects/default"]
