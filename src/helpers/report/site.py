"""The browsable report: executed notebooks rendered to HTML and ``reports/index.html`` linking everything.

:func:`build_index` renders every executed notebook in ``reports/notebooks/*.ipynb`` to HTML next to it
(:func:`render_notebook`; plotly outputs stay interactive through a local ``reports/assets/plotly.min.js``,
maps get the local world topojson, Markdown math a local MathJax 3), then writes ``reports/index.html`` with

- one row per notebook: title, status (papermill exception or not), duration, the run's parameters
  (papermill's injected parameters over the notebook defaults);
- the outputs of every run folder ``reports/<notebook>/<run_label>/``: figures (PNG thumbnails linking to the
  interactive HTML, plus SVG/PDF), tables (HTML/LaTeX/Markdown), results CSVs;
- data versions (``data/registry.tsv``: file, sha256, size) and library versions.

Every link is relative and no page loads anything from the network, so the report opens from the file system
(e.g. a copied or zipped ``reports/`` folder).
"""

from __future__ import annotations

import copy
import html
import json
import re
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from helpers.core import paths
from helpers.report.export import atomic_write, mathjax_path, topojson_dir, versions

__all__ = ["REPORTS", "build_index", "collect_outputs", "notebook_info", "render_notebook", "write_assets"]

REPORTS = paths.REPORTS
PLOTLY_MIME = "application/vnd.plotly.v1+json"
_ASSETS = "assets"
_CSS = """
body{font-family:'Liberation Sans',Arial,Helvetica,sans-serif;font-size:15px;line-height:1.45;margin:0 auto;
max-width:76em;padding:1em 2em;color:#222}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;margin-top:1.8em;border-bottom:1px solid #ccc}
h3{font-size:1.05em;margin-top:1.4em}
table{border-collapse:collapse;margin:.5em 0}th,td{padding:.25em .6em;border-bottom:1px solid #e3e3e3;
text-align:left;vertical-align:top}th{border-bottom:1px solid #888}
code,.mono{font-family:'Liberation Mono',Menlo,Consolas,monospace;font-size:.88em}
.fig{display:inline-block;width:250px;margin:0 1em 1.2em 0;vertical-align:top;font-size:.85em}
.fig img{width:250px;height:170px;object-fit:contain;border:1px solid #ddd;background:#fff}
.ok{color:#007a4d}.err{color:#b00020;font-weight:bold}.muted{color:#666}
"""


# --------------------------------------------------------------------------------------------------------------
# assets
# --------------------------------------------------------------------------------------------------------------
def write_assets(reports_dir: Path) -> dict[str, Path]:
    """Copy plotly.js, the world topojson (as a script) and MathJax 3 into ``reports/assets/`` (when stale)."""
    import plotly

    assets = Path(reports_dir) / _ASSETS
    assets.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    src = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    out["plotly"] = _copy_if_stale(src, assets / "plotly.min.js")
    tdir = topojson_dir()
    if tdir is not None:
        target = assets / "plotly-geo-assets.js"
        srcs = [tdir / "world_110m.json", tdir / "world_50m.json"]
        if not target.exists() or any(s.stat().st_mtime > target.stat().st_mtime for s in srcs):
            body = ",".join(f'"{s.stem}":{s.read_text(encoding="utf-8")}' for s in srcs)
            atomic_write(
                target,
                "window.PlotlyGeoAssets = window.PlotlyGeoAssets || {};\n"
                "window.PlotlyGeoAssets.topojson = Object.assign("
                f"window.PlotlyGeoAssets.topojson || {{}}, {{{body}}});\n",
            )
        out["geo"] = target
    mj = mathjax_path()
    if mj is not None:
        out["mathjax"] = _copy_if_stale(mj, assets / "mathjax-tex-svg.js")
    return out


def _copy_if_stale(src: Path, dst: Path) -> Path:
    if (
        not dst.exists()
        or dst.stat().st_size != src.stat().st_size
        or src.stat().st_mtime > dst.stat().st_mtime
    ):
        tmp = dst.with_name(f".{dst.name}.{uuid.uuid4().hex}.tmp")
        shutil.copyfile(src, tmp)
        tmp.replace(dst)
    return dst


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


def render_notebook(ipynb: Path, out_html: Path | None = None, *, assets_rel: str = f"../{_ASSETS}") -> Path:
    """Render an executed notebook to standalone offline HTML (lab template, interactive plotly outputs).

    ``assets_rel`` is the relative path from the HTML file to ``reports/assets``.
    """
    import nbformat
    from nbconvert import HTMLExporter

    ipynb = Path(ipynb)
    out_html = Path(out_html) if out_html else ipynb.with_suffix(".html")
    nb = nbformat.read(ipynb, as_version=4)
    nb, _ = _with_plotly_html(nb)
    exporter = HTMLExporter(template_name="lab")
    exporter.mathjax_url = f"{assets_rel}/mathjax-tex-svg.js"
    body, _res = exporter.from_notebook_node(nb, resources={"metadata": {"name": ipynb.stem}})
    # no network: drop CDN scripts/styles (require.js, widget manager), then add the local assets
    body = _EXTERNAL_SCRIPT.sub("", body)
    body = _EXTERNAL_CSS.sub("", body)
    head = (
        "<script>window.MathJax={tex:{inlineMath:[['$','$'],['\\\\(','\\\\)']],processEscapes:true},"
        "svg:{fontCache:'global'}};</script>\n"
        f'<script src="{assets_rel}/plotly.min.js" charset="utf-8"></script>\n'
        f'<script src="{assets_rel}/plotly-geo-assets.js" charset="utf-8"></script>\n'
    )
    body = body.replace("<head>", "<head>\n" + head, 1)
    # the MathJax tag written by the template must come after our config: it does (config is first in head)
    return atomic_write(out_html, body)


def notebook_info(ipynb: Path) -> dict[str, Any]:
    """Title, papermill status, duration and parameters of an executed notebook."""
    import nbformat

    nb = nbformat.read(Path(ipynb), as_version=4)
    pm = dict(nb.metadata.get("papermill", {}) or {})
    params = _parameters_cell_defaults(nb)
    params.update(pm.get("default_parameters") or {})
    params.update(pm.get("parameters") or {})
    title = Path(ipynb).stem
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            m = re.search(r"^#\s+(.+)$", cell.source, flags=re.MULTILINE)
            if m:
                title = m.group(1).strip()
                break
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    return {
        "name": Path(ipynb).stem,
        "title": title,
        "parameters": params,
        "injected": dict(pm.get("parameters") or {}),
        "duration": pm.get("duration"),
        "start_time": pm.get("start_time"),
        "failed": bool(pm.get("exception")) or bool(errors),
        "papermill": bool(pm),
    }


def _parameters_cell_defaults(nb) -> dict[str, Any]:
    """Literal values of the cell tagged ``parameters`` (the notebook's defaults), parsed as the runner does."""
    from helpers.core.errors import HelpersError
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
            if p.is_dir() and _ASSETS not in p.relative_to(reports_dir).parts
        }
    )
    for folder in folders:
        rec: dict[str, Any] = {"folder": folder, "rel": folder.relative_to(reports_dir).as_posix() or "."}
        figs: dict[str, dict[str, Path]] = {}
        for f in sorted((folder / "figures").glob("*")) if (folder / "figures").is_dir() else []:
            if f.is_file() and not f.name.startswith("."):
                figs.setdefault(f.stem, {})[f.suffix.lstrip(".")] = f
        tabs: dict[str, dict[str, Path]] = {}
        for f in sorted((folder / "tables").glob("*")) if (folder / "tables").is_dir() else []:
            if f.is_file() and not f.name.startswith("."):
                tabs.setdefault(f.stem, {})[f.suffix.lstrip(".")] = f
        res = sorted(f for f in (folder / "results").glob("*.csv")) if (folder / "results").is_dir() else []
        rec.update(figures=figs, tables=tabs, results=res)
        if figs or tabs or res:
            runs.append(rec)
    return runs


def _registry_table(registry: Path) -> str:
    if not registry.is_file():
        return f'<p class="muted">No data registry found ({html.escape(registry.name)}).</p>'
    try:
        reg = pd.read_csv(registry, sep="\t", dtype=str, keep_default_na=False, comment=None)
    except Exception as exc:  # noqa: BLE001 - show, do not fail the report
        return f'<p class="err">Could not read {html.escape(str(registry))}: {html.escape(str(exc))}</p>'
    cols = [
        c
        for c in reg.columns
        if c.lower()
        in {
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
    ]
    cols = cols or list(reg.columns)[:6]
    rows = "".join(
        "<tr>" + "".join(f'<td class="mono">{html.escape(str(v))}</td>' for v in r) + "</tr>"
        for r in reg[cols].itertuples(index=False, name=None)
    )
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    return f'<div style="overflow-x:auto"><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>'


def _rel(path: Path, base: Path) -> str:
    from os.path import relpath

    return Path(relpath(path, base)).as_posix()


def _params_html(params: Mapping[str, Any], injected: Mapping[str, Any]) -> str:
    if not params:
        return '<span class="muted">–</span>'
    items = []
    for k, v in params.items():
        s = f"<code>{html.escape(k)} = {html.escape(json.dumps(v, default=str))}</code>"
        items.append(f"<b>{s}</b>" if k in injected else s)
    return "<br>".join(items)


def _executed_notebooks(nb_dir: Path) -> list[Path]:
    """Executed notebooks in ``nb_dir``: by notebook, the default parameter set first, then the others by label."""

    def _order(p: Path) -> tuple[str, bool, str]:
        stem, _, label = p.stem.partition("--")
        return stem, label != "default", label

    if not nb_dir.is_dir():
        return []
    return sorted((p for p in nb_dir.glob("*.ipynb") if not p.name.startswith(".")), key=_order)


def _notebook_row(ipynb: Path, reports_dir: Path, force: bool) -> str:
    """The index table row of one executed notebook (rendered to HTML first when stale or ``force``)."""
    out_html = ipynb.with_suffix(".html")
    if force or not out_html.exists() or out_html.stat().st_mtime < ipynb.stat().st_mtime:
        render_notebook(ipynb, out_html, assets_rel=_rel(reports_dir / _ASSETS, ipynb.parent))
    info = notebook_info(ipynb)
    status = '<span class="err">failed</span>' if info["failed"] else '<span class="ok">ok</span>'
    dur = f"{info['duration']:.1f} s" if isinstance(info["duration"], (int, float)) else "–"
    # the runner names executed notebooks <notebook>--<label>.ipynb; outputs live in <notebook>/<run_label>/
    base = ipynb.name.removesuffix(".ipynb").removesuffix(".failed").split("--")[0]
    label = str(info["parameters"].get("run_label") or "default")
    run_folder = reports_dir / base / label
    outputs = (
        f' · <a href="#run-{html.escape(base)}/{html.escape(label)}">outputs</a>'
        if run_folder.is_dir()
        else ""
    )
    return (
        f'<tr><td><a href="{_rel(out_html, reports_dir)}">{html.escape(info["title"])}</a><br>'
        f'<span class="muted mono">{html.escape(ipynb.name)}</span> '
        f'(<a href="{_rel(ipynb, reports_dir)}">ipynb</a>{outputs})</td><td>{status}</td><td>{dur}</td>'
        f"<td>{_params_html(info['parameters'], info['injected'])}</td></tr>"
    )


def _run_outputs_html(run: dict[str, Any], reports_dir: Path) -> str:
    """The index section of one run folder: figure thumbnails, table and result links."""
    parts = [f'<h3 id="run-{html.escape(run["rel"])}">{html.escape(run["rel"])}</h3>\n']
    if run["figures"]:
        parts.append("<div>")
        for name, files in run["figures"].items():
            main = files.get("html") or files.get("png") or next(iter(files.values()))
            thumb = files.get("png")
            img = (
                f'<img src="{_rel(thumb, reports_dir)}" alt="{html.escape(name)}" loading="lazy">'
                if thumb
                else '<div class="muted">(no PNG)</div>'
            )
            links = " · ".join(
                f'<a href="{_rel(p, reports_dir)}">{ext}</a>' for ext, p in sorted(files.items())
            )
            parts.append(
                f'<div class="fig"><a href="{_rel(main, reports_dir)}">{img}</a><br>'
                f"<b>{html.escape(name)}</b><br>{links}</div>"
            )
        parts.append("</div>\n")
    if run["tables"]:
        parts.append(
            "<p><b>Tables:</b> "
            + "; ".join(
                f"{html.escape(name)} ("
                + ", ".join(f'<a href="{_rel(p, reports_dir)}">{ext}</a>' for ext, p in sorted(files.items()))
                + ")"
                for name, files in run["tables"].items()
            )
            + "</p>\n"
        )
    if run["results"]:
        parts.append(
            "<p><b>Results (CSV):</b> "
            + ", ".join(f'<a href="{_rel(p, reports_dir)}">{html.escape(p.name)}</a>' for p in run["results"])
            + "</p>\n"
        )
    return "".join(parts)


def build_index(reports_dir: Path = REPORTS, *, force: bool = False, registry: Path | None = None) -> Path:
    """Render executed notebooks (when stale or ``force``) and write ``reports_dir/index.html``; return its path."""
    reports_dir = Path(reports_dir)
    reports_dir.mkdir(parents=True, exist_ok=True)
    write_assets(reports_dir)
    registry = Path(registry) if registry else Path(paths.REGISTRY)

    nb_dir = reports_dir / "notebooks"
    nb_rows = [_notebook_row(ipynb, reports_dir, force) for ipynb in _executed_notebooks(nb_dir)]

    parts = [
        (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>Treaty effects: report</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        ),
        (
            "<h1>Treaty effects: report of the latest run</h1>\n"
            '<p class="muted">Generated by <code>helpers.report.build_index</code>. Every link is local; '
            "this page and the pages it links open offline.</p>\n"
        ),
        "<h2>Notebooks</h2>\n",
    ]
    if nb_rows:
        parts.append(
            "<table><thead><tr><th>Notebook</th><th>Status</th><th>Duration</th>"
            "<th>Parameters (bold = set for this run)</th></tr></thead><tbody>"
            + "".join(nb_rows)
            + "</tbody></table>\n"
        )
    else:
        parts.append(
            f'<p class="muted">No executed notebooks in {html.escape(_rel(nb_dir, reports_dir))}/.</p>\n'
        )

    parts.append("<h2>Figures, tables and results</h2>\n")
    runs = collect_outputs(reports_dir)
    if not runs:
        parts.append('<p class="muted">No outputs yet.</p>\n')
    parts += [_run_outputs_html(run, reports_dir) for run in runs]

    parts.append("<h2>Data versions</h2>\n")
    parts.append(
        f'<p class="muted">From <code>{html.escape(registry.name)}</code> (sha256 of every raw file).</p>\n'
    )
    parts.append(_registry_table(registry))
    parts.append("\n<h2>Library versions</h2>\n<table><tbody>")
    parts.append(
        "".join(
            f'<tr><td>{html.escape(k)}</td><td class="mono">{html.escape(v)}</td></tr>'
            for k, v in versions(as_dict=True).items()
        )
    )
    parts.append("</tbody></table>\n</body>\n</html>\n")
    return atomic_write(reports_dir / "index.html", "".join(parts))
