"""The results site: ``reports/index.html`` opens on what the collection finds, then one section per notebook.

:func:`build_index` renders every executed notebook in ``reports/notebooks/*.ipynb`` to HTML next to it
(:func:`render_notebook`; plotly outputs stay interactive through the shared ``reports/assets/plotly.min.js``, maps
get the shared world topojson, Markdown math the shared MathJax 3: :func:`helpers.report.export.write_assets`), then
writes ``reports/index.html``:

1. **Findings** (``#findings``): the headline figure, the headline sentences and the claims table, read from
   ``reports/findings.json`` (:func:`load_findings`, schema below) when that file exists; until then a short note
   says that the findings have not been generated, and the page goes on with the notebooks.
2. **One section per notebook** (``#nb-<notebook>``): its title and the question it asks (the first paragraph of
   the notebook), its key figure (:data:`KEY_FIGURES`, or the one ``findings.json`` names) linking to the
   interactive page, its generated findings when present, links to the executed notebook (HTML and ipynb) of every
   run (default parameters first, then the ``params/*.yml`` sets), the run status and duration; the run's
   parameters and all its figures, tables and results CSVs sit in collapsible ``<details>``.
3. **Data and software** (``#data``): the data sources with their licences and citations (from
   ``data/registry.tsv``; V-Dem is CC BY-SA 4.0 and is credited here), and in collapsible ``<details>`` the sha256
   of every raw file (``#data-versions``) and the library versions (``#software``).

Every link is relative and no page loads anything from the network, so the site opens from the file system
(``file://``; a copied or zipped ``reports/`` folder too). ``tests/test_site_browser.py`` drives headless Chromium
over a built site with the network blocked.

``reports/findings.json`` (written by the findings step; all paths relative to ``reports/``)::

    {
      "version": 1,
      "generated": "2026-03-01T12:00:00",                  # optional, shown on the page
      "headline": {
        "sentences": ["...", "...", "..."],                # 1-6 generated sentences, shown in order
        "figure": "07_implementation_gap/default/figures/claims_forest.png",   # optional: PNG/SVG, or an HTML page
        "link": "07_implementation_gap/default/figures/claims_forest.html",    # optional: the interactive page
        "caption": "..."                                   # optional
      },
      "claims": [                                          # optional: the claims table, one object per claim
        {"claim": "...", "verdict": "supported",           # required; verdict: supported | contradicted |
                                                           #   inconclusive
         "measure": "...", "test": "...", "expected_sign": "+", "design": "...",
         "estimate": 0.05, "conf_low": 0.01, "conf_high": 0.09, "p_value": 0.01, "pretrend_p": 0.4,
         "notebook": "07_implementation_gap"}              # optional keys; others are shown as extra columns
      ],
      "notebooks": {                                       # optional: per notebook stem
        "03_treaty_effects": {"sentences": ["...", "..."], "key_figure": "03_treaty_effects/default/figures/x.png"}
      }
    }

A malformed file raises :class:`FindingsError` naming the file and the key.
"""

from __future__ import annotations

import copy
import html
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from os.path import relpath
from pathlib import Path
from typing import Any

import pandas as pd

from helpers.core import paths
from helpers.core.errors import HelpersError
from helpers.report.export import ASSETS, GEO_JS, MATHJAX_JS, PLOTLY_JS, atomic_write, versions, write_assets
from helpers.report.plots import SOURCE_NAMES

__all__ = [
    "FINDINGS",
    "KEY_FIGURES",
    "REPORTS",
    "VERDICTS",
    "Findings",
    "FindingsError",
    "build_index",
    "collect_outputs",
    "load_findings",
    "notebook_info",
    "render_notebook",
    "write_assets",
]

REPORTS = paths.REPORTS
PLOTLY_MIME = "application/vnd.plotly.v1+json"
FINDINGS = "findings.json"
VERDICTS = ("supported", "contradicted", "inconclusive")
#: the key figure of each notebook's section: a file-name pattern (``fnmatch``) in its default run's figures/,
#: used when findings.json names none; a notebook not listed shows its first figure
KEY_FIGURES: dict[str, str] = {
    "00_build_panel": "coverage_heatmap",
    "01_ratification_atlas": "*_map_ratification_year",
    "02_ratification_timing": "kaplan_meier",
    "03_treaty_effects": "coef_outcomes",
    "04_staggered_did": "event_study_overlay",
    "05_country_case": "case_paths",
    "06_specification_curve": "specification_curve",
    "07_implementation_gap": "*forest*",
}
#: columns of the claims table, in order (other keys of a claim follow them)
CLAIM_COLUMNS = (
    "claim",
    "measure",
    "test",
    "design",
    "expected_sign",
    "estimate",
    "ci",
    "p_value",
    "pretrend_p",
    "verdict",
)
CLAIM_HEADERS = {
    "claim": "Claim",
    "measure": "Measure",
    "test": "Test",
    "design": "Design",
    "expected_sign": "Expected sign",
    "estimate": "Estimate",
    "ci": "95% CI",
    "p_value": "p",
    "pretrend_p": "Pre-trend p",
    "verdict": "Verdict",
    "notebook": "Notebook",
}
_CSS = """
body{font-family:'Liberation Sans',Arial,Helvetica,sans-serif;font-size:15px;line-height:1.5;margin:0 auto;
max-width:64em;padding:1em 2em 3em;color:#222}
h1{font-size:1.7em;margin:.4em 0 .1em}h2{font-size:1.3em;margin-top:2em;border-bottom:1px solid #ccc;
padding-bottom:.15em}h3{font-size:1.05em;margin:1.2em 0 .4em}
a{color:#0b5ea8}nav{margin:.6em 0 1.2em;font-size:.92em}nav a{margin-right:.9em;white-space:nowrap}
table{border-collapse:collapse;margin:.5em 0}th,td{padding:.25em .6em;border-bottom:1px solid #e3e3e3;
text-align:left;vertical-align:top}th{border-bottom:1px solid #888}td.num{text-align:right;
font-variant-numeric:tabular-nums}
code,.mono{font-family:'Liberation Mono',Menlo,Consolas,monospace;font-size:.88em}
.lead{font-size:1.08em}.question{font-size:1.02em;color:#333}
.sentences{font-size:1.05em;padding-left:1.2em}.sentences li{margin:.3em 0}
figure{margin:.8em 0}figure img{max-width:100%;height:auto;border:1px solid #e0e0e0;background:#fff}
.keyfig img{width:auto;height:auto;max-width:100%;max-height:640px}figcaption{font-size:.88em;color:#555}
.fig{display:inline-block;width:220px;margin:0 1em 1.2em 0;vertical-align:top;font-size:.85em}
.fig img{width:220px;height:150px;object-fit:contain;border:1px solid #ddd;background:#fff}
details{margin:.5em 0}summary{cursor:pointer;color:#0b5ea8}
.ok{color:#007a4d}.err{color:#b00020;font-weight:bold}.muted{color:#666}
.verdict-supported{color:#007a4d;font-weight:bold}.verdict-contradicted{color:#b00020;font-weight:bold}
.verdict-inconclusive{color:#8a6d00;font-weight:bold}
.note{background:#f6f6f6;border-left:3px solid #bbb;padding:.5em .8em}
.runs{font-size:.92em}
"""


class FindingsError(HelpersError):
    """``reports/findings.json`` is not shaped as the schema of :mod:`helpers.report.site` says."""


# --------------------------------------------------------------------------------------------------------------
# findings.json
# --------------------------------------------------------------------------------------------------------------
@dataclass
class Findings:
    """The content of ``reports/findings.json`` (see the module doc), validated."""

    sentences: list[str] = field(default_factory=list)
    figure: str = ""
    link: str = ""
    caption: str = ""
    claims: list[dict[str, Any]] = field(default_factory=list)
    notebooks: dict[str, dict[str, Any]] = field(default_factory=dict)
    generated: str = ""


def _strings(value: Any, path: Path, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(s, str) and s.strip() for s in value):
        raise FindingsError(f"{path}: {key} must be a list of non-empty strings, got {value!r}")
    return list(value)


def _optional_text(obj: Mapping[str, Any], name: str, path: Path, key: str) -> str:
    value = obj.get(name, "")
    if not isinstance(value, str):
        raise FindingsError(f"{path}: {key}.{name} must be a string, got {value!r}")
    return value


def _claims(value: Any, path: Path) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise FindingsError(f"{path}: claims must be a list of objects, got {type(value).__name__}")
    for i, c in enumerate(value):
        if not isinstance(c, dict) or not isinstance(c.get("claim"), str):
            raise FindingsError(f"{path}: claims[{i}] must be an object with a string 'claim'")
        if c.get("verdict") not in VERDICTS:
            raise FindingsError(
                f"{path}: claims[{i}].verdict is {c.get('verdict')!r}; valid values: {', '.join(VERDICTS)}"
            )
    return list(value)


def _notebooks(value: Any, path: Path) -> dict[str, dict[str, Any]]:
    if not isinstance(value, dict):
        raise FindingsError(f"{path}: notebooks must be an object keyed by notebook name")
    out = {}
    for stem, entry in value.items():
        if not isinstance(entry, dict):
            raise FindingsError(f"{path}: notebooks.{stem} must be an object")
        out[stem] = {
            "sentences": _strings(entry.get("sentences", []), path, f"notebooks.{stem}.sentences"),
            "key_figure": _optional_text(entry, "key_figure", path, f"notebooks.{stem}"),
        }
    return out


def load_findings(path: Path | None = None) -> Findings | None:
    """Read and validate ``reports/findings.json`` (or ``path``); None when the file does not exist."""
    path = Path(path) if path else Path(REPORTS) / FINDINGS
    if not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FindingsError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(raw, dict) or raw.get("version") != 1:
        raise FindingsError(
            f'{path}: expected an object with "version": 1 (the schema of helpers.report.site)'
        )
    head = raw.get("headline", {})
    if not isinstance(head, dict):
        raise FindingsError(f"{path}: headline must be an object")
    sentences = _strings(head.get("sentences", []), path, "headline.sentences")
    if len(sentences) > 6:
        raise FindingsError(f"{path}: headline.sentences has {len(sentences)} sentences; at most 6")
    return Findings(
        sentences=sentences,
        figure=_optional_text(head, "figure", path, "headline"),
        link=_optional_text(head, "link", path, "headline"),
        caption=_optional_text(head, "caption", path, "headline"),
        claims=_claims(raw.get("claims", []), path),
        notebooks=_notebooks(raw.get("notebooks", {}), path),
        generated=_optional_text(raw, "generated", path, "findings"),
    )


# --------------------------------------------------------------------------------------------------------------
# notebooks
# --------------------------------------------------------------------------------------------------------------
def _plotly_html(fig_json: Mapping[str, Any], div_id: str) -> str:
    payload = json.dumps(
        {
            "data": fig_json.get("data", []),
            "layout": fig_json.get("layout", {}),
            "frames": fig_json.get("frames", []),
        },
        separators=(",", ":"),
    )
    payload = payload.replace("</", "<\\/")
    config = json.dumps({"responsive": True, "displaylogo": False})
    return (
        f'<div id="{div_id}" class="plotly-graph-div" style="width:100%;min-height:450px"></div>\n'
        f'<script type="text/javascript">(function(){{var f={payload};'
        f'if(window.Plotly){{Plotly.newPlot("{div_id}",f.data,f.layout,{config})'
        f".then(function(gd){{if(f.frames&&f.frames.length){{Plotly.addFrames(gd,f.frames);}}}});}}"
        f'else{{document.getElementById("{div_id}").textContent="plotly.js missing (reports/assets)";}}}})();'
        "</script>"
    )


def _with_plotly_html(nb) -> tuple[Any, bool]:
    """A copy of ``nb`` whose plotly outputs also carry a text/html rendering (plotly JSON removed)."""
    nb = copy.deepcopy(nb)
    found = False
    n = 0
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data") or {}
            if PLOTLY_MIME in data:
                found = True
                n += 1
                fig = data[PLOTLY_MIME]
                if isinstance(fig, str):
                    fig = json.loads(fig)
                data["text/html"] = _plotly_html(fig, f"plotly-fig-{n}")
                del data[PLOTLY_MIME]
                data.pop("text/plain", None)
    return nb, found


_EXTERNAL_SCRIPT = re.compile(r'<script[^>]*\bsrc="https?://[^"]*"[^>]*>\s*</script>', re.IGNORECASE)
_EXTERNAL_CSS = re.compile(r'<link[^>]*\bhref="https?://[^"]*"[^>]*>', re.IGNORECASE)


def render_notebook(ipynb: Path, out_html: Path | None = None, *, assets_rel: str = f"../{ASSETS}") -> Path:
    """Render an executed notebook to offline HTML (lab template, interactive plotly outputs).

    ``assets_rel`` is the relative path from the HTML file to ``reports/assets``.
    """
    import nbformat
    from nbconvert import HTMLExporter

    ipynb = Path(ipynb)
    out_html = Path(out_html) if out_html else ipynb.with_suffix(".html")
    nb = nbformat.read(ipynb, as_version=4)
    nb, _ = _with_plotly_html(nb)
    exporter = HTMLExporter(template_name="lab")
    exporter.mathjax_url = f"{assets_rel}/{MATHJAX_JS}"
    body, _res = exporter.from_notebook_node(nb, resources={"metadata": {"name": ipynb.stem}})
    # no network: drop CDN scripts/styles (require.js, widget manager), then add the local assets
    body = _EXTERNAL_SCRIPT.sub("", body)
    body = _EXTERNAL_CSS.sub("", body)
    head = (
        "<script>window.MathJax={tex:{inlineMath:[['$','$'],['\\\\(','\\\\)']],processEscapes:true},"
        "svg:{fontCache:'global'}};</script>\n"
        f'<script src="{assets_rel}/{PLOTLY_JS}" charset="utf-8"></script>\n'
        f'<script src="{assets_rel}/{GEO_JS}" charset="utf-8"></script>\n'
    )
    body = body.replace("<head>", "<head>\n" + head, 1)
    # the MathJax tag written by the template must come after our config: it does (config is first in head)
    return atomic_write(out_html, body)


def notebook_info(ipynb: Path) -> dict[str, Any]:
    """Title, question (first paragraph), papermill status, duration and parameters of an executed notebook."""
    import nbformat

    nb = nbformat.read(Path(ipynb), as_version=4)
    pm = dict(nb.metadata.get("papermill", {}) or {})
    params = _parameters_cell_defaults(nb)
    params.update(pm.get("default_parameters") or {})
    params.update(pm.get("parameters") or {})
    title, question = Path(ipynb).stem, ""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            m = re.search(r"^#\s+(.+)$", cell.source, flags=re.MULTILINE)
            if m:
                title = m.group(1).strip()
                rest = cell.source[m.end() :].strip()
                question = re.split(r"\n\s*\n", rest)[0].strip() if rest else ""
                break
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    return {
        "name": Path(ipynb).stem,
        "title": title,
        "question": question,
        "parameters": params,
        "injected": dict(pm.get("parameters") or {}),
        "duration": pm.get("duration"),
        "start_time": pm.get("start_time"),
        "failed": bool(pm.get("exception")) or bool(errors),
        "papermill": bool(pm),
    }


def _parameters_cell_defaults(nb) -> dict[str, Any]:
    """Literal values of the cell tagged ``parameters`` (the notebook's defaults), parsed as the runner does."""
    from helpers.core.params import parameters_cell

    try:
        return {k: v["value"] for k, v in parameters_cell(nb).items()}
    except HelpersError:
        return {}


# --------------------------------------------------------------------------------------------------------------
# outputs
# --------------------------------------------------------------------------------------------------------------
def collect_outputs(reports_dir: Path) -> list[dict[str, Any]]:
    """Every run folder under ``reports_dir`` holding figures/, tables/ or results/, with its files by kind."""
    reports_dir = Path(reports_dir)
    runs = []
    folders = sorted(
        {
            p.parent
            for kind in ("figures", "tables", "results")
            for p in reports_dir.rglob(kind)
            if p.is_dir()
            and ASSETS not in p.relative_to(reports_dir).parts
            and not any(part.startswith(".") for part in p.relative_to(reports_dir).parts)  # staging folders
        }
    )
    for folder in folders:
        rec: dict[str, Any] = {"folder": folder, "rel": folder.relative_to(reports_dir).as_posix() or "."}
        figs = _files_by_stem(folder / "figures")
        tabs = _files_by_stem(folder / "tables")
        res = sorted(f for f in (folder / "results").glob("*.csv")) if (folder / "results").is_dir() else []
        rec.update(figures=figs, tables=tabs, results=res)
        if figs or tabs or res:
            runs.append(rec)
    return runs


def _files_by_stem(folder: Path) -> dict[str, dict[str, Path]]:
    out: dict[str, dict[str, Path]] = {}
    for f in sorted(folder.glob("*")) if folder.is_dir() else []:
        if f.is_file() and not f.name.startswith("."):
            out.setdefault(f.stem, {})[f.suffix.lstrip(".")] = f
    return out


def _rel(path: Path, base: Path) -> str:
    return Path(relpath(path, base)).as_posix()


def _href(path: Path, base: Path) -> str:
    """A relative URL (percent-escaped where a file name needs it) from ``base`` to ``path``."""
    from urllib.parse import quote

    return html.escape(quote(_rel(path, base)))


def _executed_notebooks(nb_dir: Path) -> list[Path]:
    """Executed notebooks in ``nb_dir``: by notebook, the default parameter set first, then the others by label."""

    def _order(p: Path) -> tuple[str, bool, str]:
        stem, _, label = p.stem.partition("--")
        return stem, label != "default", label

    if not nb_dir.is_dir():
        return []
    return sorted((p for p in nb_dir.glob("*.ipynb") if not p.name.startswith(".")), key=_order)


def _figure_title(files: Mapping[str, Path], name: str) -> str:
    """The figure's title, read from its HTML page's ``<title>`` (the figure's own title), else its file name."""
    page = files.get("html")
    if page is not None:
        m = re.search(
            r"<title>(.*?)</title>", page.read_text(encoding="utf-8", errors="replace")[:4000], re.S
        )
        if m and m.group(1).strip() and m.group(1).strip() != name:
            return html.unescape(m.group(1).strip())
    return name.replace("_", " ")


# --------------------------------------------------------------------------------------------------------------
# page parts
# --------------------------------------------------------------------------------------------------------------
def _inline_markdown(text: str) -> str:
    """Escaped text with Markdown's inline ``code``, **bold** and *italic* (what the notebooks' intros use)."""
    s = html.escape(text.replace("\n", " "))
    s = re.sub(r"`([^`]+)`", r"<code>\1</code>", s)
    s = re.sub(r"\$([^$]+)\$", r"<i>\1</i>", s)  # inline LaTeX: the landing page loads no MathJax
    s = re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", s)
    return re.sub(r"(?<![*\w])\*([^*]+)\*(?![*\w])", r"<i>\1</i>", s)


def _figure_embed(path: Path, reports_dir: Path, *, link: Path | None = None, caption: str = "") -> str:
    """A figure on the landing page: an image (PNG/SVG) linking to its interactive page, or a link to a page."""
    cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    if path.suffix.lower() in {".png", ".svg", ".jpg", ".jpeg"}:
        img = f'<img src="{_href(path, reports_dir)}" alt="{html.escape(caption or path.stem)}">'
        target = link if link is not None else path.with_suffix(".html")
        if target.is_file():
            img = f'<a href="{_href(target, reports_dir)}">{img}</a>'
        return f'<figure class="keyfig">{img}{cap}</figure>\n'
    return (
        f'<figure class="keyfig"><p><a href="{_href(path, reports_dir)}">Open the interactive figure: '
        f"{html.escape(caption or path.stem)}</a></p>{cap}</figure>\n"
    )


def _sentences_html(sentences: Sequence[str], cls: str = "sentences") -> str:
    if not sentences:
        return ""
    return f'<ul class="{cls}">' + "".join(f"<li>{html.escape(s)}</li>" for s in sentences) + "</ul>\n"


def _fmt_number(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return "" if v is None else str(v)
    if isinstance(v, int | float):
        return f"{v:.3f}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)


def _claims_table(claims: Sequence[Mapping[str, Any]]) -> str:
    rows = [dict(c) for c in claims]
    for r in rows:
        if "conf_low" in r or "conf_high" in r:
            r["ci"] = f"[{_fmt_number(r.pop('conf_low', None))}, {_fmt_number(r.pop('conf_high', None))}]"
    extra = [k for r in rows for k in r if k not in CLAIM_COLUMNS]
    cols = [c for c in CLAIM_COLUMNS if any(c in r for r in rows)] + list(dict.fromkeys(extra))
    head = "".join(f"<th>{html.escape(CLAIM_HEADERS.get(c, c.replace('_', ' ')))}</th>" for c in cols)
    body = []
    for r in rows:
        cells = []
        for c in cols:
            v = r.get(c, "")
            if c == "verdict":
                cells.append(f'<td class="verdict-{html.escape(str(v))}">{html.escape(str(v))}</td>')
            elif isinstance(v, int | float) and not isinstance(v, bool):
                cells.append(f'<td class="num">{html.escape(_fmt_number(v))}</td>')
            else:
                cells.append(f"<td>{html.escape(str(v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f'<div style="overflow-x:auto"><table class="claims"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>\n"
    )


def _findings_section(findings: Findings | None, reports_dir: Path) -> str:
    parts = ['<section id="findings">\n<h2>Findings</h2>\n']
    if findings is None:
        parts.append(
            '<p class="note">The generated findings (headline sentences, headline figure and the claims table) '
            f"are not available yet: the findings step writes <code>{FINDINGS}</code>. Each notebook's section "
            "below shows its question, its key figure and its executed notebook.</p>\n"
        )
        return "".join(parts) + "</section>\n"
    if findings.figure:
        fig = reports_dir / findings.figure
        link = reports_dir / findings.link if findings.link else None
        parts.append(_figure_embed(fig, reports_dir, link=link, caption=findings.caption))
    parts.append(_sentences_html(findings.sentences, "sentences lead"))
    if findings.claims:
        parts.append("<h3>Claims about the implementation gap, tested</h3>\n")
        parts.append(_claims_table(findings.claims))
    if findings.generated:
        parts.append(f'<p class="muted">Generated {html.escape(findings.generated)}.</p>\n')
    return "".join(parts) + "</section>\n"


def _params_table(params: Mapping[str, Any], injected: Mapping[str, Any]) -> str:
    if not params:
        return '<p class="muted">No parameters.</p>'
    rows = []
    for k, v in params.items():
        val = html.escape(json.dumps(v, default=str))
        mark = " <b>(set for this run)</b>" if k in injected else ""
        rows.append(f"<tr><td><code>{html.escape(k)}</code></td><td><code>{val}</code>{mark}</td></tr>")
    return f"<table><tbody>{''.join(rows)}</tbody></table>"


def _run_outputs_html(run: dict[str, Any], reports_dir: Path) -> str:
    """Every output of one run folder: figure thumbnails (with every format), table and result links."""
    parts = []
    if run["figures"]:
        parts.append("<div>")
        for name, files in run["figures"].items():
            main = files.get("html") or files.get("png") or next(iter(files.values()))
            thumb = files.get("png") or files.get("svg")
            img = (
                f'<img src="{_href(thumb, reports_dir)}" alt="{html.escape(name)}" loading="lazy">'
                if thumb
                else '<div class="muted">(interactive only)</div>'
            )
            links = " · ".join(
                f'<a href="{_href(p, reports_dir)}">{ext}</a>' for ext, p in sorted(files.items())
            )
            parts.append(
                f'<div class="fig"><a href="{_href(main, reports_dir)}">{img}</a><br>'
                f"<b>{html.escape(name)}</b><br>{links}</div>"
            )
        parts.append("</div>\n")
    if run["tables"]:
        parts.append(
            "<p><b>Tables:</b> "
            + "; ".join(
                f"{html.escape(name)} ("
                + ", ".join(
                    f'<a href="{_href(p, reports_dir)}">{ext}</a>' for ext, p in sorted(files.items())
                )
                + ")"
                for name, files in run["tables"].items()
            )
            + "</p>\n"
        )
    if run["results"]:
        parts.append(
            "<p><b>Results (CSV):</b> "
            + ", ".join(
                f'<a href="{_href(p, reports_dir)}">{html.escape(p.name)}</a>' for p in run["results"]
            )
            + "</p>\n"
        )
    return "".join(parts)


@dataclass
class _Run:
    """One executed notebook run: its files, its metadata and its output folder (if any)."""

    ipynb: Path
    html: Path
    info: dict[str, Any]
    label: str
    outputs: dict[str, Any] | None


def _key_figure(stem: str, runs: Sequence[_Run], findings: Findings | None, reports_dir: Path) -> str:
    named = (findings.notebooks.get(stem, {}).get("key_figure") if findings else "") or ""
    if named:
        return _figure_embed(reports_dir / named, reports_dir, caption="")
    out = next((r.outputs for r in runs if r.outputs and r.outputs["figures"]), None)
    if out is None:
        return ""
    from fnmatch import fnmatch

    pattern = KEY_FIGURES.get(stem, "*")
    name = next((n for n in out["figures"] if fnmatch(n, pattern)), next(iter(out["figures"])))
    files = out["figures"][name]
    still = files.get("png") or files.get("svg") or files.get("html") or next(iter(files.values()))
    return _figure_embed(still, reports_dir, link=files.get("html"), caption=_figure_title(files, name))


def _run_line(run: _Run, reports_dir: Path) -> str:
    info = run.info
    status = '<span class="err">failed</span>' if info["failed"] else '<span class="ok">ok</span>'
    dur = f", {info['duration']:.0f} s" if isinstance(info["duration"], int | float) else ""
    outputs = ""
    if run.outputs is not None:
        outputs = f' · <a href="#{html.escape(_run_anchor(run.outputs["rel"]))}">all outputs</a>'
    return (
        f"<li><b>{html.escape(run.label)}</b> run ({status}{dur}): "
        f'<a href="{_href(run.html, reports_dir)}">executed notebook</a> '
        f'(<a href="{_href(run.ipynb, reports_dir)}">ipynb</a>){outputs}</li>'
    )


def _run_anchor(rel: str) -> str:
    return "run-" + rel


def _notebook_section(
    stem: str, runs: Sequence[_Run], findings: Findings | None, reports_dir: Path
) -> tuple[str, set[str]]:
    """One notebook's section and the output folders it shows."""
    first = runs[0].info
    parts = [f'<section id="nb-{html.escape(stem)}">\n<h2>{html.escape(first["title"])}</h2>\n']
    if first["question"]:
        parts.append(f'<p class="question">{_inline_markdown(first["question"])}</p>\n')
    parts.append(_key_figure(stem, runs, findings, reports_dir))
    sentences = findings.notebooks.get(stem, {}).get("sentences", []) if findings else []
    if sentences:
        parts.append("<h3>What we find</h3>\n" + _sentences_html(sentences))
    parts.append('<ul class="runs">' + "".join(_run_line(r, reports_dir) for r in runs) + "</ul>\n")
    shown: set[str] = set()
    for r in runs:
        parts.append(
            f"<details><summary>Parameters of the {html.escape(r.label)} run</summary>"
            f"{_params_table(r.info['parameters'], r.info['injected'])}</details>\n"
        )
        if r.outputs is not None:
            shown.add(r.outputs["rel"])
            parts.append(
                f'<details id="{html.escape(_run_anchor(r.outputs["rel"]))}"><summary>All figures, tables and '
                f"results of the {html.escape(r.label)} run</summary>{_run_outputs_html(r.outputs, reports_dir)}"
                "</details>\n"
            )
    return "".join(parts) + "</section>\n", shown


# --------------------------------------------------------------------------------------------------------------
# data and software
# --------------------------------------------------------------------------------------------------------------
def _read_registry(registry: Path) -> pd.DataFrame | str:
    if not registry.is_file():
        return f'<p class="muted">No data registry found ({html.escape(registry.name)}).</p>'
    try:
        return pd.read_csv(registry, sep="\t", dtype=str, keep_default_na=False, comment=None)
    except Exception as exc:  # noqa: BLE001 - show, do not fail the report
        return f'<p class="err">Could not read {html.escape(str(registry))}: {html.escape(str(exc))}</p>'


def _sources_table(reg: pd.DataFrame) -> str:
    """One row per data source: the name figures credit, its licence and its citation."""
    if not {"source", "licence", "citation"} <= set(reg.columns):
        return ""
    first = reg.drop_duplicates("source")
    rows = "".join(
        f"<tr><td>{html.escape(SOURCE_NAMES.get(s, s))}</td><td>{html.escape(lic)}</td>"
        f"<td>{html.escape(cit)}</td></tr>"
        for s, lic, cit in first[["source", "licence", "citation"]].itertuples(index=False, name=None)
    )
    return (
        "<table><thead><tr><th>Source</th><th>Licence</th><th>Citation</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>\n"
    )


def _checksum_table(reg: pd.DataFrame) -> str:
    keep = {
        "path",
        "file",
        "relpath",
        "source",
        "sha256",
        "size",
        "bytes",
        "version",
        "accessed",
        "access_date",
    }
    cols = [c for c in reg.columns if c.lower() in keep] or list(reg.columns)[:6]
    rows = "".join(
        "<tr>" + "".join(f'<td class="mono">{html.escape(str(v))}</td>' for v in r) + "</tr>"
        for r in reg[cols].itertuples(index=False, name=None)
    )
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    return f'<div style="overflow-x:auto"><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>'


def _data_section(registry: Path) -> str:
    reg = _read_registry(registry)
    parts = ['<section id="data">\n<h2>Data and software</h2>\n']
    if isinstance(reg, str):
        parts.append(reg)
    else:
        parts.append(
            "<p>Every figure's source line credits the datasets it plots. V-Dem data are licensed CC BY-SA 4.0; "
            "the licence and citation of each source:</p>\n"
        )
        parts.append(_sources_table(reg))
        parts.append(
            f'<details id="data-versions"><summary>Data versions: sha256 of every raw file '
            f"({html.escape(registry.name)})</summary>{_checksum_table(reg)}</details>\n"
        )
    parts.append('<details id="software"><summary>Library versions</summary><table><tbody>')
    parts.append(
        "".join(
            f'<tr><td>{html.escape(k)}</td><td class="mono">{html.escape(v)}</td></tr>'
            for k, v in versions(as_dict=True).items()
        )
    )
    parts.append("</tbody></table></details>\n</section>\n")
    return "".join(parts)


# --------------------------------------------------------------------------------------------------------------
# the index
# --------------------------------------------------------------------------------------------------------------
def _runs(reports_dir: Path, force: bool) -> dict[str, list[_Run]]:
    """Executed notebooks (rendered to HTML when stale or ``force``), grouped by notebook, default run first."""
    outputs = {o["rel"]: o for o in collect_outputs(reports_dir)}
    by_stem: dict[str, list[_Run]] = {}
    nb_dir = reports_dir / "notebooks"
    for ipynb in _executed_notebooks(nb_dir):
        out_html = ipynb.with_suffix(".html")
        if force or not out_html.exists() or out_html.stat().st_mtime < ipynb.stat().st_mtime:
            render_notebook(ipynb, out_html, assets_rel=_rel(reports_dir / ASSETS, ipynb.parent))
        info = notebook_info(ipynb)
        # the runner names executed notebooks <notebook>--<label>.ipynb; outputs live in <notebook>/<run_label>/
        stem = ipynb.name.removesuffix(".ipynb").removesuffix(".failed").split("--")[0]
        label = str(info["parameters"].get("run_label") or "default")
        run = _Run(ipynb, out_html, info, label, outputs.get(f"{stem}/{label}"))
        by_stem.setdefault(stem, []).append(run)
    return by_stem


def _header(by_stem: Mapping[str, Sequence[_Run]]) -> str:
    runs = [r for rs in by_stem.values() for r in rs]
    failed = [r for r in runs if r.info["failed"]]
    status = (
        f'<span class="err">{len(failed)} of {len(runs)} notebook runs failed</span>'
        if failed
        else f'<span class="ok">all {len(runs)} notebook runs succeeded</span>'
        if runs
        else '<span class="muted">no executed notebooks yet</span>'
    )
    nav = ['<a href="#findings">Findings</a>']
    nav += [f'<a href="#nb-{html.escape(s)}">{html.escape(s.split("_", 1)[0])}</a>' for s in by_stem]
    nav.append('<a href="#data">Data and software</a>')
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>Treaty effects: results</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        "<h1>Do UN human-rights treaties change what governments do for women?</h1>\n"
        f'<p class="muted">Results of the latest run of the treaty-effects notebooks: {status}. '
        "Every page opens offline; figures are interactive.</p>\n"
        f"<nav>{' '.join(nav)}</nav>\n"
    )


def build_index(
    reports_dir: Path | None = None, *, force: bool = False, registry: Path | None = None
) -> Path:
    """Render executed notebooks (when stale or ``force``) and write ``reports_dir/index.html``; return its path."""
    reports_dir = Path(reports_dir or REPORTS)
    reports_dir.mkdir(parents=True, exist_ok=True)
    write_assets(reports_dir)
    registry = Path(registry) if registry else Path(paths.REGISTRY)
    findings = load_findings(reports_dir / FINDINGS)
    by_stem = _runs(reports_dir, force)
    parts = [_header(by_stem), _findings_section(findings, reports_dir)]
    shown: set[str] = set()
    for stem, runs in by_stem.items():
        section, seen = _notebook_section(stem, runs, findings, reports_dir)
        parts.append(section)
        shown |= seen
    orphans = [o for o in collect_outputs(reports_dir) if o["rel"] not in shown]
    if orphans:  # output folders without an executed notebook (e.g. written from an interactive session)
        parts.append('<section id="other-outputs">\n<h2>Other outputs</h2>\n')
        for o in orphans:
            parts.append(
                f'<details id="{html.escape(_run_anchor(o["rel"]))}"><summary>{html.escape(o["rel"])}</summary>'
                f"{_run_outputs_html(o, reports_dir)}</details>\n"
            )
        parts.append("</section>\n")
    if not by_stem:
        parts.append(
            '<p class="muted">No executed notebooks in notebooks/ yet (run the notebooks first).</p>\n'
        )
    parts.append(_data_section(registry))
    parts.append("</body>\n</html>\n")
    return atomic_write(reports_dir / "index.html", "".join(parts))
