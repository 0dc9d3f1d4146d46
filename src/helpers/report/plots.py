"""The project's chart theme and the chart builders shared by the notebooks.

- :data:`TEMPLATE` names a plotly template registered with ``plotly.io`` on import (white background, light grid,
  Liberation Sans/Arial, 12 px text, the colour-blind-safe Okabe-Ito palette :data:`PALETTE`);
  :func:`apply_theme` makes it the default for plotly and sets matching matplotlib rcParams.
- Builders return ``plotly.graph_objects.Figure`` objects laid out for :func:`helpers.export.save_figure`:
  :func:`line_chart`, :func:`coef_plot` (dot-and-whisker from a tidy results frame), :func:`event_study_plot`
  (several estimators' event-time coefficients with confidence intervals), :func:`country_timeline` (one
  country's signatures/ratifications above an outcome series; instruments never signed are left out),
  :func:`coverage_heatmap` (which variables cover which years, grouped by source), :func:`source_note` (a source
  line under the plot).
- :func:`credits` writes that source line from the columns a figure plots: each column's source in the variable
  registry (``data/reference/variables.csv``) named by :data:`SOURCE_NAMES`, with the licence that
  ``data/registry.tsv`` records (V-Dem: CC BY-SA 4.0, which must be credited wherever it is plotted), plus the
  interval convention (:func:`interval_note`) where a figure shows confidence intervals.
  :func:`helpers.report.export.save_figure` refuses a figure without a source line.

Tidy frames follow the project's results contract: ``term``, ``estimate``, ``std_error``, ``conf_low``,
``conf_high`` ... (docs/methods.md#tidy-results).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from helpers.core.errors import DataError, ParameterError
from helpers.data import variables
from helpers.data.registry import load_registry

__all__ = [
    "DIVERGING",
    "FONT_FAMILY",
    "OKABE_ITO",
    "PALETTE",
    "REFERENCE_NAMES",
    "SEQUENTIAL",
    "SOURCE_NAMES",
    "TEMPLATE",
    "apply_theme",
    "coef_plot",
    "country_timeline",
    "coverage_heatmap",
    "credits",
    "event_study_plot",
    "event_time_from_term",
    "interval_note",
    "line_chart",
    "source_note",
]

TEMPLATE = "treaty_effects"
FONT_FAMILY = "Liberation Sans, Arial, Helvetica, sans-serif"
FONT_SIZE = 12
TEXT_COLOUR = "#222222"

#: Okabe & Ito (2008) colour-blind-safe palette. PALETTE puts yellow last (too light for lines on white).
OKABE_ITO = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "sky": "#56B4E9",
    "purple": "#CC79A7",
    "yellow": "#F0E442",
    "black": "#000000",
}
PALETTE: list[str] = [
    OKABE_ITO[k] for k in ("blue", "orange", "green", "vermillion", "sky", "purple", "black", "yellow")
]
#: Sequential scale for ordered values (viridis is colour-blind safe and prints in greyscale).
SEQUENTIAL = "Viridis"
#: Diverging scale around zero (blue-red, colour-blind safe).
DIVERGING = "RdBu"
GRID = "#E5E5E5"
MISSING = "#D9D9D9"


def _build_template() -> go.layout.Template:
    axis = {
        "showline": True,
        "linecolor": "#444444",
        "linewidth": 1,
        "ticks": "outside",
        "tickcolor": "#444444",
        "ticklen": 4,
        "showgrid": True,
        "gridcolor": GRID,
        "gridwidth": 1,
        "zeroline": False,
        "automargin": True,
        "title": {"standoff": 6},
        "tickfont": {"size": FONT_SIZE - 1},
    }
    layout = go.Layout(
        font={"family": FONT_FAMILY, "size": FONT_SIZE, "color": TEXT_COLOUR},
        title={
            "font": {"size": FONT_SIZE + 2},
            "x": 0,
            "xanchor": "left",
            "xref": "paper",
            "y": 0.98,
            "yanchor": "top",
            "pad": {"b": 4},
        },
        colorway=PALETTE,
        paper_bgcolor="white",
        plot_bgcolor="white",
        margin={"l": 10, "r": 10, "t": 40, "b": 10, "autoexpand": True},
        xaxis=axis,
        yaxis=axis,
        legend={
            "bgcolor": "rgba(255,255,255,0.8)",
            "borderwidth": 0,
            "font": {"size": FONT_SIZE - 1},
            "title": {"font": {"size": FONT_SIZE - 1}},
        },
        hoverlabel={"font": {"family": FONT_FAMILY}},
        colorscale={"sequential": SEQUENTIAL, "diverging": DIVERGING},
        coloraxis={
            "colorbar": {
                "thickness": 12,
                "outlinewidth": 0,
                "ticks": "outside",
                "len": 0.8,
                "tickfont": {"size": FONT_SIZE - 1},
            }
        },
        geo={
            "projection": {"type": "robinson", "rotation": {"lon": 0}},
            "showframe": False,
            "showcoastlines": False,
            "showcountries": True,
            "countrycolor": "white",
            "showland": True,
            "landcolor": MISSING,
            "showocean": False,
            "showlakes": False,
            "lataxis": {"range": [-57, 85]},
            "bgcolor": "white",
        },
    )
    return go.layout.Template(layout=layout)


pio.templates[TEMPLATE] = _build_template()


def apply_theme(matplotlib: bool = True) -> str:
    """Make :data:`TEMPLATE` plotly's default template (and set matching matplotlib rcParams); return its name."""
    pio.templates.default = TEMPLATE
    if matplotlib:
        try:
            import matplotlib as mpl
            from cycler import cycler
        except ImportError:  # pragma: no cover
            return TEMPLATE
        mpl.rcParams.update(
            {
                "font.family": "sans-serif",
                "font.sans-serif": ["Liberation Sans", "Arial", "Helvetica", "DejaVu Sans"],
                "font.size": 8,
                "axes.prop_cycle": cycler(color=PALETTE),
                "axes.spines.top": False,
                "axes.spines.right": False,
                "axes.grid": True,
                "grid.color": GRID,
                "figure.dpi": 100,
                "savefig.dpi": 300,
                "pdf.fonttype": 42,
                "svg.fonttype": "none",
                "svg.hashsalt": "treaty-effects",
            }
        )
    return TEMPLATE


def _check_columns(df: pd.DataFrame, cols: Sequence[str], what: str) -> None:
    missing = [c for c in cols if c is not None and c not in df.columns]
    if missing:
        raise DataError(f"{what}: column(s) {missing} not in the frame; available: {list(df.columns)}")


# --------------------------------------------------------------------------------------------------------------
# source lines
# --------------------------------------------------------------------------------------------------------------
#: How a figure's source line names each source of ``data/registry.tsv`` (one entry per source id; a test checks
#: that every source of the registry has one). Licences come from the registry itself.
SOURCE_NAMES: dict[str, str] = {
    "apt_torture_prevention_2025": "APT torture-prevention indicators (2025)",
    "ciri": "CIRI Human Rights Data (2014)",
    "cirights_2016_hackathon": "CIRIGHTS (2016 release)",
    "countrycode": "countrycode (Arel-Bundock et al. 2018)",
    "did_mpdta": "mpdta (Callaway and Sant'Anna 2021)",
    "gapminder_sg": "Gapminder Systema Globalis",
    "maddison": "Maddison Project Database 2020",
    "naturalearth": "Natural Earth boundaries (de facto borders)",
    "polity5": "Polity5 (Center for Systemic Peace)",
    "ucdp_prio_acd": "UCDP/PRIO Armed Conflict Dataset v23.1",
    "unsdg_open_numbers": "UN SDG Indicators Database",
    "untc_hr_treaties_2026": "UN Treaty Collection, status at 3 Feb 2026",
    "vdem_codebook": "V-Dem codebook",
    "vdemlite": "V-Dem v14 (Coppedge et al. 2024)",
    "wb_income_class": "World Bank income classification",
    "wbl": "World Bank, Women, Business and the Law 2020",
    "wdi_plsc504": "World Bank WDI",
}
#: Tracked hand-coded tables the variable registry names as sources; an empty name is not credited (a crosswalk).
REFERENCE_NAMES: dict[str, str] = {
    "data/reference/cedaw_reservations.csv": "project coding of the CEDAW reservation texts",
    "data/reference/country_map.csv": "",
}
_LAG_SUFFIX = re.compile(r"_l\d+$")
SE_NAMES = {
    "CRV1": "SEs clustered by country (CRV1)",
    "CR1": "SEs clustered by country (CR1)",
    "CRV3": "cluster-jackknife SEs by country (CRV3)",
}


def _column_sources(column: str) -> list[str]:
    """The registry source ids of a panel column or model term (lags ``_l1`` and interactions ``_x_`` resolved);
    nothing for a column the variable registry does not know or a ``derived`` one."""
    parts = column.split("_x_") if "_x_" in column else [column]
    out: list[str] = []
    for part in parts:
        for name in (part, _LAG_SUFFIX.sub("", part)):
            try:
                src = variables.source_of(name)
            except ParameterError:
                continue
            out += [s.strip() for s in src.split(" + ") if s.strip() != variables.DERIVED]
            break
    return out


def _licence(source: str) -> str:
    """Short licence of a registry source for a credit line: a Creative Commons licence or public domain."""
    reg = load_registry()
    lic = reg.loc[reg["source"] == source, "licence"]
    text = str(lic.iloc[0]) if len(lic) else ""
    m = re.match(r"(CC[ -]BY[\w. -]*?\d\.\d|CC0[ \d.]*|public domain)", text, flags=re.IGNORECASE)
    return m.group(1).strip() if m else ""


def _credit(source: str) -> str:
    if source.startswith("data/reference/"):
        if source not in REFERENCE_NAMES:
            raise ParameterError("sources", source, sorted(REFERENCE_NAMES))
        return REFERENCE_NAMES[source]
    if source not in SOURCE_NAMES:
        raise ParameterError("sources", source, sorted(SOURCE_NAMES) + sorted(REFERENCE_NAMES))
    lic = _licence(source)
    return f"{SOURCE_NAMES[source]}, {lic}" if lic else SOURCE_NAMES[source]


def interval_note(se: str | Mapping[str, str], level: float = 0.95) -> str:
    """The interval convention of a figure: ``"95% CIs; SEs clustered by country (CRV1)."``.

    ``se`` is a standard-error type (``CRV1``, ``CR1``, ``CRV3``: named as in :data:`SE_NAMES`) or any text; a
    mapping ``{estimator: se}`` names each estimator's convention.
    """
    if isinstance(se, Mapping):
        body = "; ".join(f"{k}: {SE_NAMES.get(v, v)}" for k, v in se.items())
    else:
        body = SE_NAMES.get(se, se)
    return f"{level:.0%} CIs; {body}."


def credits(
    columns: Sequence[str] = (),
    sources: Sequence[str] = (),
    *,
    intervals: str | None = None,
    note: str | None = None,
    default: str | None = None,
) -> str:
    """The source line of a figure: every dataset behind ``columns`` (panel columns or model terms, through the
    variable registry) and ``sources`` (extra ids of data/registry.tsv or data/reference/ tables, e.g.
    ``"naturalearth"`` for a map), each once, with its licence; then ``note`` and ``intervals`` (see
    :func:`interval_note`). ``credits(["v2x_gender", "cedaw_ratified"])`` is ``"Sources: V-Dem v14 (Coppedge et
    al. 2024), CC BY-SA 4.0; UN Treaty Collection, status at 3 Feb 2026."``. An unknown source raises
    :class:`ParameterError` with the valid ids; columns the registry does not know are skipped, and when none is
    known (a panel of the user's own) ``default`` (e.g. ``"Source: my_panel.csv"``) stands in for the sources.
    """
    if isinstance(columns, str) or isinstance(sources, str):
        raise ParameterError("columns", columns, hint="a list of column names (and a list of source ids)")
    ids = [s for c in columns for s in _column_sources(c)] + list(sources)
    names = [n for n in dict.fromkeys(_credit(s) for s in dict.fromkeys(ids)) if n]
    text = f"Source{'s' if len(names) > 1 else ''}: {'; '.join(names)}." if names else (default or "")
    for extra in (note, intervals):
        if extra:
            extra = extra.strip()
            text = f"{text} {extra}{'' if extra.endswith('.') else '.'}".strip()
    if not text:
        raise ParameterError("columns", list(columns), hint="no registered column or source to credit")
    return text


def _x_title_lines(fig: go.Figure) -> int:
    """Lines of the tallest x-axis title of the figure (0 without one; the bottom axes of stacked subplots)."""
    lines = 0
    for key, ax in fig.layout.to_plotly_json().items():
        if re.fullmatch(r"xaxis\d*", key) and isinstance(ax, Mapping):
            title = ax.get("title")
            text = title.get("text") if isinstance(title, Mapping) else title
            if isinstance(text, str) and text.strip():
                lines = max(lines, text.count("<br>") + 1)
    return lines


def source_note(fig: go.Figure, text: str, *, size: int | None = None) -> go.Figure:
    """Add a left-aligned source line under the plot area and its x-axis labels; return ``fig``.

    The bottom margin grows to make room (estimated from the theme's font sizes, so it stays correct in
    every export size; :func:`helpers.report.export.save_figure` wraps a long line to the export width). Calling it
    again replaces the previous source line. Write the text with :func:`credits`.
    """
    size = size or FONT_SIZE - 2
    anns = [a for a in (fig.layout.annotations or []) if getattr(a, "name", None) != "source_note"]
    fig.layout.annotations = anns
    cartesian = not fig.data or any(t.type not in {"choropleth", "scattergeo", "pie"} for t in fig.data)
    shift = 2
    if cartesian:
        shift += FONT_SIZE + 10  # tick labels
        title_lines = _x_title_lines(fig)
        if title_lines:
            shift += (FONT_SIZE + 3) * title_lines + 7  # axis title
    lines = text.count("<br>") + 1
    fig.add_annotation(
        name="source_note",
        text=text,
        showarrow=False,
        xref="paper",
        yref="paper",
        x=0,
        y=0,
        xanchor="left",
        yanchor="top",
        align="left",
        font={"size": size, "color": "#555555"},
        yshift=-shift,
    )
    need = shift + lines * (size + 4) + 4
    fig.update_layout(margin={"b": max(fig.layout.margin.b or 0, need)})
    return fig


def line_chart(
    df: pd.DataFrame,
    x: str,
    y: str,
    color: str | None = None,
    *,
    title: str | None = None,
    labels: Mapping[str, str] | None = None,
    highlight: Sequence[str] | None = None,
    markers: bool = False,
    source: str | None = None,
    hover: Sequence[str] | None = None,
) -> go.Figure:
    """A line per ``color`` group of ``y`` against ``x``; ``highlight`` groups are drawn thicker, others grey.

    With many groups (more than the palette) and ``highlight`` given, non-highlighted lines are light grey.
    """
    _check_columns(df, [x, y, color, *(hover or [])], "line_chart")
    labels = dict(labels or {})
    fig = go.Figure()
    groups = [(None, df)] if color is None else list(df.groupby(color, sort=True, observed=True))
    hl = set(highlight or [])
    ci = 0
    for key, g in groups:
        g = g.sort_values(x)
        is_hl = key in hl
        if hl and not is_hl:
            line = {"color": "#BBBBBB", "width": 1}
        else:
            line = {"color": PALETTE[ci % len(PALETTE)], "width": 2.5 if is_hl else 2}
            ci += 1
        custom = g[list(hover)].to_numpy() if hover else None
        htmpl = None
        if hover:
            extra = "<br>".join(f"{labels.get(h, h)}: %{{customdata[{i}]}}" for i, h in enumerate(hover))
            htmpl = f"{labels.get(x, x)}: %{{x}}<br>{labels.get(y, y)}: %{{y}}<br>{extra}<extra>%{{fullData.name}}</extra>"
        fig.add_trace(
            go.Scatter(
                x=g[x],
                y=g[y],
                name=str(key) if key is not None else labels.get(y, y),
                mode="lines+markers" if markers else "lines",
                line=line,
                customdata=custom,
                hovertemplate=htmpl,
                showlegend=color is not None and (not hl or is_hl),
            )
        )
    # highlighted traces on top
    if hl:
        fig.data = tuple(sorted(fig.data, key=lambda t: t.name in hl))
    fig.update_layout(
        template=TEMPLATE,
        title=title,
        xaxis_title=labels.get(x, x),
        yaxis_title=labels.get(y, y),
        legend_title_text=labels.get(color, color) if color else None,
    )
    if source:
        source_note(fig, source)
    return fig


def coef_plot(
    tidy_df: pd.DataFrame,
    *,
    term: str = "term",
    estimate: str = "estimate",
    conf_low: str = "conf_low",
    conf_high: str = "conf_high",
    group: str | None = None,
    terms: Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
    title: str | None = None,
    xlabel: str = "Estimate (95% CI)",
    reference: float | None = 0.0,
    source: str | None = None,
) -> go.Figure:
    """Dot-and-whisker plot of coefficients (rows = terms, dodged by ``group``, e.g. model or outcome).

    ``terms`` selects and orders terms (top to bottom); ``labels`` renames them for display.
    """
    _check_columns(tidy_df, [term, estimate, conf_low, conf_high, group], "coef_plot")
    d = tidy_df.copy()
    if terms is not None:
        unknown = [t for t in terms if t not in set(d[term])]
        if unknown:
            raise ParameterError("terms", unknown, sorted(d[term].astype(str).unique()))
        d = d[d[term].isin(terms)]
        order = list(terms)
    else:
        order = list(dict.fromkeys(d[term]))
    labels = dict(labels or {})
    ypos = {t: len(order) - 1 - i for i, t in enumerate(order)}
    groups = [(None, d)] if group is None else list(d.groupby(group, sort=False, observed=True))
    n = len(groups)
    width = min(0.36, 0.12 * (n - 1)) if n > 1 else 0.0
    fig = go.Figure()
    for gi, (key, g) in enumerate(groups):
        off = (gi - (n - 1) / 2) * (width / max(n - 1, 1)) if n > 1 else 0.0
        y = [ypos[t] - off for t in g[term]]
        fig.add_trace(
            go.Scatter(
                x=g[estimate],
                y=y,
                mode="markers",
                name=str(key) if key is not None else estimate,
                marker={
                    "color": PALETTE[gi % len(PALETTE)],
                    "size": 7,
                    "symbol": ["circle", "square", "diamond", "triangle-up", "x"][gi % 5],
                },
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": g[conf_high] - g[estimate],
                    "arrayminus": g[estimate] - g[conf_low],
                    "thickness": 1.5,
                    "width": 0,
                },
                customdata=g[[term]].to_numpy(),
                hovertemplate="%{customdata[0]}: %{x:.3f}<extra>%{fullData.name}</extra>",
                showlegend=group is not None,
            )
        )
    if reference is not None:
        fig.add_vline(x=reference, line={"color": "#000000", "width": 1, "dash": "dot"})
    fig.update_layout(
        template=TEMPLATE,
        title=title,
        xaxis_title=xlabel,
        yaxis={
            "tickmode": "array",
            "tickvals": list(ypos.values()),
            "ticktext": [labels.get(t, t) for t in ypos],
            "showgrid": False,
            "range": [-0.6, len(order) - 0.4],
        },
        legend={
            "orientation": "h",
            "yanchor": "bottom",
            "y": 1.0,
            "xanchor": "left",
            "x": 0,
            "title_text": "",
        },
        margin={"t": (56 if title else 30) if group else (40 if title else 14)},
    )
    if source:
        source_note(fig, source)
    return fig


_EVENT_RE = re.compile(r"(-?\d+)\s*\]?\s*$")


def event_time_from_term(terms: pd.Series) -> pd.Series:
    """Integer event time parsed from terms such as ``rel_-3``, ``event_time::2``, ``e=-1``, ``lead3``/``lag2``."""

    def parse(t: object) -> float:
        s = str(t)
        m = re.search(r"lead_?(\d+)$", s)
        if m:
            return -int(m.group(1))
        m = re.search(r"lag_?(\d+)$", s)
        if m:
            return int(m.group(1))
        m = _EVENT_RE.search(s)
        return int(m.group(1)) if m else float("nan")

    return terms.map(parse).astype("Float64")


def event_study_plot(
    tidy_frames: Mapping[str, pd.DataFrame],
    *,
    time_col: str = "event_time",
    estimate: str = "estimate",
    conf_low: str = "conf_low",
    conf_high: str = "conf_high",
    reference_period: float | None = -1,
    ci_style: str = "bars",
    title: str | None = None,
    xlabel: str = "Years relative to ratification",
    ylabel: str = "Estimate (95% CI)",
    source: str | None = None,
) -> go.Figure:
    """Overlay of several estimators' event-study coefficients with confidence intervals by event time.

    ``tidy_frames`` maps an estimator label to a tidy frame with ``time_col`` (or a ``term`` column from
    which the event time is parsed, see :func:`event_time_from_term`), ``estimate``, ``conf_low`` and
    ``conf_high``. Estimators are dodged horizontally. ``ci_style`` is ``"bars"`` or ``"band"``. A dashed
    vertical line marks the last pre-treatment period (``reference_period + 0.5``).
    """
    if ci_style not in {"bars", "band"}:
        raise ParameterError("ci_style", ci_style, ["bars", "band"])
    if not tidy_frames:
        raise ParameterError("tidy_frames", "{}", hint="pass at least one {label: tidy DataFrame}")
    n = len(tidy_frames)
    dodge = 0.12 if (n > 1 and ci_style == "bars") else 0.0
    fig = go.Figure()
    for i, (label, df) in enumerate(tidy_frames.items()):
        d = df.copy()
        if time_col not in d.columns:
            if "term" not in d.columns:
                raise DataError(
                    f"event_study_plot[{label!r}]: needs a {time_col!r} or 'term' column; "
                    f"available: {list(d.columns)}"
                )
            d[time_col] = event_time_from_term(d["term"])
        _check_columns(d, [time_col, estimate, conf_low, conf_high], f"event_study_plot[{label!r}]")
        d = d.dropna(subset=[time_col]).sort_values(time_col)
        x = d[time_col].astype(float) + (i - (n - 1) / 2) * dodge
        colour = PALETTE[i % len(PALETTE)]
        if ci_style == "band":
            fig.add_trace(
                go.Scatter(
                    x=list(x) + list(x[::-1]),
                    y=list(d[conf_high]) + list(d[conf_low][::-1]),
                    fill="toself",
                    fillcolor=rgba(colour, 0.18),
                    line={"width": 0},
                    hoverinfo="skip",
                    showlegend=False,
                    legendgroup=label,
                )
            )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=d[estimate],
                name=label,
                legendgroup=label,
                mode="markers+lines" if ci_style == "band" else "markers",
                marker={
                    "color": colour,
                    "size": 6,
                    "symbol": ["circle", "square", "diamond", "triangle-up", "x"][i % 5],
                },
                line={"color": colour, "width": 1.5},
                error_y=None
                if ci_style == "band"
                else {
                    "type": "data",
                    "symmetric": False,
                    "array": d[conf_high] - d[estimate],
                    "arrayminus": d[estimate] - d[conf_low],
                    "thickness": 1.3,
                    "width": 0,
                    "color": colour,
                },
                customdata=d[[time_col, conf_low, conf_high]].to_numpy(dtype=float),
                hovertemplate=(
                    "event time %{customdata[0]}: %{y:.3f} "
                    "[%{customdata[1]:.3f}, %{customdata[2]:.3f}]<extra>%{fullData.name}</extra>"
                ),
            )
        )
    fig.add_hline(y=0, line={"color": "#000000", "width": 1})
    if reference_period is not None:
        fig.add_vline(x=reference_period + 0.5, line={"color": "#777777", "width": 1, "dash": "dash"})
    fig.update_layout(
        template=TEMPLATE,
        title=title,
        xaxis_title=xlabel,
        yaxis_title=ylabel,
        xaxis={"dtick": 1 if _span(fig) <= 12 else None},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "left", "x": 0},
        margin={"t": 56 if title else 30},
    )
    if source:
        source_note(fig, source)
    return fig


def _span(fig: go.Figure) -> float:
    xs = [float(v) for t in fig.data if t.x is not None for v in t.x if v is not None]
    return (max(xs) - min(xs)) if xs else 0.0


def rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _drop_unsigned(
    ev: pd.DataFrame, label: str, dates: Sequence[str | None]
) -> tuple[pd.DataFrame, list[str]]:
    """Rows with at least one act (the first row always kept), and the labels of the rows left out."""
    if not len(ev):
        return ev, []
    acted = ev[[c for c in dates if c]].notna().any(axis=1)
    acted.iloc[0] = True
    return ev[acted].reset_index(drop=True), [str(v) for v in ev.loc[~acted, label]]


def _timeline_spans(fig: go.Figure, ys: Sequence[float], sig_x: pd.Series, rat_x: pd.Series) -> None:
    """A grey line from signature to ratification on each row that has both (top panel)."""
    for yv, a, b in zip(ys, sig_x, rat_x, strict=True):
        if pd.notna(a) and pd.notna(b):
            fig.add_trace(
                go.Scatter(
                    x=[a, b],
                    y=[yv, yv],
                    mode="lines",
                    line={"color": "#999999", "width": 1},
                    hoverinfo="skip",
                    showlegend=False,
                ),
                row=1,
                col=1,
            )


def country_timeline(
    events: pd.DataFrame,
    series: pd.DataFrame,
    *,
    label: str = "instrument",
    signature: str = "signature_date",
    ratification: str = "ratification_date",
    act_type: str | None = "act_type",
    denounced: str | None = "denounced_date",
    x: str = "year",
    y: str = "value",
    series_label: str = "outcome",
    title: str | None = None,
    source: str | None = None,
    x_range: tuple[int, int] | None = None,
    drop_unsigned: bool = True,
) -> go.Figure:
    """One country's treaty history above an outcome series, on one shared time axis.

    Top panel: one row per instrument (``events[label]``, drawn top to bottom in the given order) with an
    open circle at signature, a filled circle at ratification/accession (hover: date and ``act_type``), a
    line between them, and a cross at a denunciation. Bottom panel: ``series[y]`` against ``series[x]``
    (years) with dashed verticals at the ratification years of the first instrument. With ``drop_unsigned``
    (default) instruments the country never signed nor joined get no empty row (the first, the case's own
    instrument, always keeps its row); the source line names them instead.
    """
    from plotly.subplots import make_subplots

    _check_columns(events, [label, signature, ratification, act_type, denounced], "country_timeline(events)")
    _check_columns(series, [x, y], "country_timeline(series)")
    ev = events.reset_index(drop=True)
    ev, unsigned = (
        _drop_unsigned(ev, label, [signature, ratification, denounced]) if drop_unsigned else (ev, [])
    )
    n = len(ev)
    ypos = {lab: n - 1 - i for i, lab in enumerate(ev[label])}
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.62, 0.38], vertical_spacing=0.04)

    def dec_year(d: pd.Series) -> pd.Series:
        d = pd.to_datetime(d)
        return d.dt.year + (d.dt.day_of_year - 1) / 365.25

    sig_x, rat_x = dec_year(ev[signature]), dec_year(ev[ratification])
    _timeline_spans(fig, [ypos[v] for v in ev[label]], sig_x, rat_x)

    def fmt(s):
        return pd.to_datetime(s).dt.strftime("%d %b %Y")

    has_sig = ev[signature].notna()
    fig.add_trace(
        go.Scatter(
            x=sig_x[has_sig],
            y=ev.loc[has_sig, label].map(ypos),
            mode="markers",
            name="signature",
            marker={"symbol": "circle-open", "size": 8, "color": OKABE_ITO["blue"], "line": {"width": 1.5}},
            customdata=np.column_stack([ev.loc[has_sig, label], fmt(ev.loc[has_sig, signature])]),
            hovertemplate="%{customdata[0]}<br>signed %{customdata[1]}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    has_rat = ev[ratification].notna()
    acts = (
        ev.loc[has_rat, act_type].fillna("").astype(str)
        if act_type
        else pd.Series("", index=ev.index[has_rat])
    )
    fig.add_trace(
        go.Scatter(
            x=rat_x[has_rat],
            y=ev.loc[has_rat, label].map(ypos),
            mode="markers",
            name="ratification / accession",
            marker={"symbol": "circle", "size": 8, "color": OKABE_ITO["blue"]},
            customdata=np.column_stack([ev.loc[has_rat, label], fmt(ev.loc[has_rat, ratification]), acts]),
            hovertemplate="%{customdata[0]}<br>%{customdata[2]} %{customdata[1]}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    if denounced and ev[denounced].notna().any():
        has_den = ev[denounced].notna()
        fig.add_trace(
            go.Scatter(
                x=dec_year(ev.loc[has_den, denounced]),
                y=ev.loc[has_den, label].map(ypos),
                mode="markers",
                name="denunciation",
                marker={"symbol": "x", "size": 9, "color": OKABE_ITO["vermillion"]},
                customdata=np.column_stack([ev.loc[has_den, label], fmt(ev.loc[has_den, denounced])]),
                hovertemplate="%{customdata[0]}<br>denounced %{customdata[1]}<extra></extra>",
            ),
            row=1,
            col=1,
        )
    s = series.dropna(subset=[y]).sort_values(x)
    fig.add_trace(
        go.Scatter(
            x=s[x],
            y=s[y],
            mode="lines",
            name=series_label,
            line={"color": OKABE_ITO["orange"], "width": 2},
            hovertemplate="%{x}: %{y:.3f}<extra>" + series_label + "</extra>",
            showlegend=False,
        ),
        row=2,
        col=1,
    )
    first = rat_x.iloc[0] if n and pd.notna(rat_x.iloc[0]) else None
    if first is not None:
        fig.add_vline(x=first, line={"color": "#777777", "width": 1, "dash": "dash"}, row=2, col=1)
        fig.add_vline(x=first, line={"color": "#777777", "width": 1, "dash": "dash"}, row=1, col=1)
    fig.update_yaxes(
        tickmode="array",
        tickvals=list(ypos.values()),
        ticktext=list(ypos),
        showgrid=True,
        range=[-0.7, n - 0.3],
        tickfont={"size": FONT_SIZE - 2},
        row=1,
        col=1,
    )
    fig.update_yaxes(title_text=series_label, row=2, col=1)
    fig.update_xaxes(showgrid=True, row=1, col=1)
    if x_range:
        fig.update_xaxes(range=list(x_range))
    fig.update_layout(
        template=TEMPLATE,
        title=title,
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "left", "x": 0},
        margin={"t": 56 if title else 30},
    )
    if unsigned:  # the rows left out, named where a reader looks for the data's sources
        source = " ".join(t for t in (f"Not signed or joined: {', '.join(unsigned)}.", source) if t)
    if source:
        source_note(fig, source)
    return fig


# --------------------------------------------------------------------------------------------------------------
# data coverage
# --------------------------------------------------------------------------------------------------------------
def coverage_heatmap(
    panel: pd.DataFrame,
    columns: Sequence[str],
    *,
    year: str = "year",
    title: str | None = "Which variables cover which years",
    source: str | None = None,
) -> go.Figure:
    """Share of the panel's countries with a value, by year (colour), one row per column of ``columns``.

    Rows carry the variable registry's readable labels (:func:`helpers.data.variables.label`) and are grouped under
    a bold header per data source (:data:`SOURCE_NAMES`; sources in order of first appearance in ``columns``,
    columns in their given order within a source). ``source`` (default: :func:`credits` of the columns) is the
    source line.
    """
    _check_columns(panel, [year, *columns], "coverage_heatmap")
    share = panel.groupby(year)[list(columns)].agg(lambda s: s.notna().mean()).T
    groups: dict[str, list[str]] = {}
    for c in columns:
        src = (_column_sources(c) or ["derived"])[0]
        groups.setdefault(SOURCE_NAMES.get(src, REFERENCE_NAMES.get(src) or "Derived"), []).append(c)
    row_text: list[str] = []
    z_rows: list[np.ndarray] = []
    for name, cols in groups.items():
        row_text.append(f"<b>{name}</b>")
        z_rows.append(np.full(share.shape[1], np.nan))
        for c in cols:
            row_text.append(variables.label(c))
            z_rows.append(share.loc[c].to_numpy(dtype=float))
    n = len(row_text)
    fig = go.Figure(
        go.Heatmap(
            z=np.vstack(z_rows),
            x=np.asarray(share.columns),
            y=np.arange(n),
            colorscale=SEQUENTIAL,
            zmin=0,
            zmax=1,
            colorbar={"title": {"text": "share of<br>countries"}, "len": min(0.8, 400 / (16 * n + 140))},
            customdata=np.array([[t] * share.shape[1] for t in row_text], dtype=object),
            hovertemplate="%{customdata}, %{x}: %{z:.0%} of countries<extra></extra>",
            ygap=1,
        )
    )
    fig.update_layout(
        template=TEMPLATE,
        title=title,
        height=16 * n + 150,
        yaxis={
            "tickmode": "array",
            "tickvals": list(range(n)),
            "ticktext": row_text,
            "range": [n - 0.5, -0.5],
            "autorange": False,
            "showgrid": False,
            "ticks": "",
            "tickfont": {"size": FONT_SIZE - 2},
        },
        xaxis={"showgrid": False},
        margin={"t": 40 if title else 14},
    )
    source_note(
        fig, source or credits(list(columns), note="Share of panel countries with a non-missing value")
    )
    return fig
