"""Figures of the analyses: one builder per kind of result, all in the project theme (:mod:`helpers.report.plots`).

Estimators (:mod:`helpers.estimate`) return numbers; the figures that show them live here, so that no estimator
module depends on plotting. Builders return plotly figures for :func:`helpers.report.export.save_figure`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from helpers.core.errors import ParameterError
from helpers.core.params import check_choice
from helpers.data.variables import term_label, variable_label, with_lag
from helpers.estimate import models as M
from helpers.estimate import synth
from helpers.estimate.did import BACON_LABELS, PANEL_VIEW_STATES
from helpers.estimate.models import FitResult
from helpers.estimate.specs import CHOICE_COLUMNS
from helpers.report import plots
from helpers.report.plots import MISSING, OKABE_ITO, TEMPLATE, rgba

# --------------------------------------------------------------------------------------------------------------
# Staggered adoption (helpers.estimate.did)
# --------------------------------------------------------------------------------------------------------------


def panel_view_figure(
    pv: pd.DataFrame, title: str = "Treatment timing", max_labels: int = 60, xlabel: str = "period"
):
    """Plotly heat map of :func:`panel_view`: one row per unit (earliest cohort on top), three discrete states.

    Colours: light grey = not yet treated, blue = treated, orange = never treated, explained by a legend
    (not a continuous colour bar). Unit labels are shown when there are at most ``max_labels`` units;
    otherwise the y axis says how many units are stacked.
    """

    colours = {0: MISSING, 1: OKABE_ITO["blue"], 2: OKABE_ITO["orange"]}
    scale = [
        [0, colours[0]],
        [1 / 3, colours[0]],
        [1 / 3, colours[1]],
        [2 / 3, colours[1]],
        [2 / 3, colours[2]],
        [1, colours[2]],
    ]
    n = len(pv)
    labels = n <= max_labels
    fig = go.Figure(
        go.Heatmap(
            z=pv.to_numpy(),
            x=np.asarray(pv.columns),
            y=pv.index.astype(str),
            colorscale=scale,
            zmin=-0.5,
            zmax=2.5,
            showscale=False,
            xgap=0,
            ygap=0,
            customdata=np.vectorize(PANEL_VIEW_STATES.get, otypes=[object])(pv.to_numpy()),
            hovertemplate="%{y}, %{x}: %{customdata}<extra></extra>",
        )
    )
    present = set(np.unique(pv.to_numpy()[~np.isnan(pv.to_numpy().astype(float))]).astype(int))
    for k, lab in PANEL_VIEW_STATES.items():  # legend entries (the heat map itself has none)
        if k in present:
            fig.add_trace(
                go.Scatter(
                    x=[None],
                    y=[None],
                    mode="markers",
                    name=lab,
                    showlegend=True,
                    marker={"symbol": "square", "size": 12, "color": colours[k]},
                )
            )
    fig.update_layout(
        template=TEMPLATE,
        title=title,
        xaxis_title=xlabel,
        yaxis={
            "autorange": "reversed",
            "showticklabels": labels,
            "showgrid": False,
            "ticks": "outside" if labels else "",
            "title": "unit" if labels else f"{n} units, ordered by first treatment",
        },
        xaxis={"showgrid": False},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "left", "x": 0},
        height=max(360, min(900, 12 * n + 140)) if labels else 520,
        margin={"t": 70 if title else 40},
    )
    return fig


#: short legend labels of the Goodman-Bacon comparison types (a one-column figure has no room for the long ones)
BACON_SHORT = {
    "treated_vs_never": "treated vs never treated",
    "earlier_vs_later": "earlier vs later (not-yet-treated controls)",
    "later_vs_earlier": "later vs earlier (already-treated controls)",
}


def _top_margin(title) -> int:
    """Top margin for a title (string, or dict with a subtitle), in layout pixels."""
    if not title:
        return 14
    sub = isinstance(title, dict) and (title.get("subtitle") or {}).get("text")
    return 62 if sub else 40


def bacon_figure(comp: pd.DataFrame, title: str = "Goodman-Bacon decomposition"):
    """Scatter of 2x2 estimates against their weights, coloured by comparison type, TWFE estimate as a line.

    The problematic *later vs earlier* comparisons (already-treated units as controls) are drawn in vermillion,
    first (underneath), so the few treated-vs-never points stay visible; small translucent markers keep the
    crowd near zero weight readable. The legend (short labels, :data:`BACON_SHORT`, and the TWFE estimate, dashed)
    sits inside the plot at the lower right, in a band added below the lowest estimate, so it covers no point.
    ``title`` may be a dict with a ``subtitle`` (``{"text": ..., "subtitle": {"text": ...}}``).
    """

    colours = {
        "treated_vs_never": OKABE_ITO["blue"],
        "earlier_vs_later": OKABE_ITO["green"],
        "later_vs_earlier": OKABE_ITO["vermillion"],
    }
    symbols = {"treated_vs_never": "circle", "earlier_vs_later": "diamond", "later_vs_earlier": "x-thin-open"}
    fig = go.Figure()
    kinds = [*BACON_LABELS, *sorted(set(comp["comparison_type"]) - set(BACON_LABELS))]
    for k in reversed(kinds):  # the many forbidden comparisons first, under the others
        g = comp[comp["comparison_type"] == k]
        if g.empty:
            continue
        fig.add_trace(
            go.Scatter(
                x=g["weight"],
                y=g["estimate"],
                mode="markers",
                name=BACON_SHORT.get(k, BACON_LABELS.get(k, k)),
                legendrank=kinds.index(k),
                marker={
                    "color": colours.get(k, OKABE_ITO["black"]),
                    "symbol": symbols.get(k, "circle"),
                    "size": 4 if k == "later_vs_earlier" else 5,
                    "opacity": 0.5 if k != "treated_vs_never" else 0.85,
                    "line": {"width": 1 if k == "later_vs_earlier" else 0},
                },
                customdata=g[["treated_group", "control_group"]].astype(str).to_numpy(),
                hovertemplate="treated %{customdata[0]} vs control %{customdata[1]}<br>"
                "estimate %{y:.3f}, weight %{x:.4f}<extra></extra>",
            )
        )
    if "twfe" in comp.attrs:  # a legend entry rather than a label, which would sit on the points
        b = comp.attrs["twfe"]
        fig.add_trace(
            go.Scatter(
                x=[0, float(comp["weight"].max()) * 1.03],
                y=[b, b],
                mode="lines",
                name=f"TWFE estimate {b:.4f} (weighted mean)",
                legendrank=len(kinds),
                line={"dash": "dash", "color": "#000000", "width": 1.5},
                hoverinfo="skip",
            )
        )
    lo, hi = float(comp["estimate"].min()), float(comp["estimate"].max())
    span = (hi - lo) or 1.0
    fig.update_layout(
        template=TEMPLATE,
        title=title,
        xaxis_title="weight in the TWFE estimate",
        yaxis={"title": {"text": "2x2 DiD estimate"}, "range": [lo - 0.62 * span, hi + 0.06 * span]},
        legend={
            "orientation": "v",
            "yanchor": "bottom",
            "y": 0.0,
            "xanchor": "right",
            "x": 1.0,
            "bgcolor": "rgba(255,255,255,0.85)",
            "font": {"size": plots.FONT_SIZE - 2},
            "tracegroupgap": 0,
        },
        margin={"t": _top_margin(title)},
    )
    return fig


def honest_figure(
    h: pd.DataFrame, title: str = "Sensitivity to parallel-trends violations", ylab: str = "effect"
):
    """Robust intervals of :func:`honest_did` against the bound (Mbar for relative magnitudes, M for smoothness),
    the original interval (parallel trends) at the left; the breakdown value as a dotted line.

    The legend sits above the plot (the space under it is the source line's); ``title`` may be a dict with a
    ``subtitle``."""
    bound = str(h["bound"].iloc[0]) if "bound" in h else "Mbar"
    ci = str(h["ci_method"].iloc[0]).split(":")[0] if "ci_method" in h else "robust"
    what = {"Mbar": "relative magnitudes", "M": "smoothness"}.get(bound, bound)
    fig = go.Figure()
    x0 = float(h["mbar"].min()) - 0.25 * max(float(np.ptp(h["mbar"])), 1e-12 if bound == "M" else 1.0)
    fig.add_trace(
        go.Scatter(
            x=[x0],
            y=h["estimate"].iloc[:1],
            mode="markers",
            name="original CI (PT: parallel trends)",
            marker={"symbol": "diamond", "size": 9},
            error_y={
                "type": "data",
                "symmetric": False,
                "array": (h["orig_conf_high"] - h["estimate"]).iloc[:1].to_numpy(),
                "arrayminus": (h["estimate"] - h["orig_conf_low"]).iloc[:1].to_numpy(),
            },
        )
    )
    mid = (h["conf_low"] + h["conf_high"]) / 2
    fig.add_trace(
        go.Scatter(
            x=h["mbar"],
            y=mid,
            mode="markers",
            name=f"robust CI ({ci}, {what}, {bound})",
            marker={"size": 4},
            error_y={
                "type": "data",
                "symmetric": False,
                "array": (h["conf_high"] - mid).to_numpy(),
                "arrayminus": (mid - h["conf_low"]).to_numpy(),
            },
        )
    )
    fig.add_hline(y=0, line_color="grey")
    bd = h["breakdown_mbar"].iloc[0]
    if np.isfinite(bd) and bd <= float(h["mbar"].max()):
        fig.add_vline(
            x=bd,
            line_dash="dot",
            line_color="firebrick",
            annotation_text=f"breakdown {bound} {bd:.3g}",
            annotation_position="bottom right",
            annotation_font={"size": plots.FONT_SIZE - 2, "color": "firebrick"},
        )
    ticks = [x0] + [float(m) for m in h["mbar"]]
    fig.update_layout(
        title=title,
        xaxis_title=(
            "Mbar (post / largest pre-adoption trend change)"
            if bound == "Mbar"
            else "M (largest change in the slope of the trend violation per period)"
        ),
        yaxis_title=ylab,
        legend={
            "orientation": "h",
            "yanchor": "bottom",
            "y": 1.0,
            "xanchor": "left",
            "x": 0,
            "font": {"size": plots.FONT_SIZE - 2},
        },
        margin={"t": _top_margin(title) + 36},
        xaxis={"tickvals": ticks, "ticktext": ["PT"] + [f"{m:.3g}" for m in h["mbar"]]},
    )
    return fig


def control_counts_figure(
    period: pd.DataFrame,
    min_controls: int = 0,
    title: str = "Comparison units per period",
    xlabel: str = "year",
):
    """Untreated units per period (never treated, and not yet treated), with the ``min_controls`` threshold; the
    input is the per-period table of :func:`helpers.estimate.did.control_counts`."""
    fig = go.Figure()
    series = [
        ("n_untreated", "untreated (not yet + never treated)", OKABE_ITO["blue"], "solid"),
        ("n_never", "never treated", OKABE_ITO["vermillion"], "dash"),
    ]
    for col, name, colour, dash in series:
        fig.add_trace(
            go.Scatter(
                x=period["time"], y=period[col], mode="lines+markers", name=name,
                line={"color": colour, "dash": dash}, marker={"size": 4},
            )
        )  # fmt: skip
    if min_controls:
        fig.add_hline(
            y=min_controls,
            line_dash="dot",
            line_color="grey",
            annotation_text=f"min_controls = {min_controls}",  # the notebook text says what the line means
            annotation_position="top right",  # the untreated count falls over time: the right end is clear
        )
    fig.update_layout(
        template=TEMPLATE,
        title=title,
        xaxis_title=xlabel,
        yaxis_title="units",
        yaxis={"rangemode": "tozero"},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "left", "x": 0},
    )
    return fig


def horizon_weights_figure(
    w: pd.DataFrame, beyond: int | None = None, title: str = "Weight by event horizon"
):
    """Weight each estimator's overall effect puts on each event horizon (:func:`helpers.estimate.did.
    horizon_weights`); a binned end point is drawn as an open marker; ``beyond`` marks the event window's end."""
    fig = go.Figure()
    colours = [OKABE_ITO[k] for k in ("black", "blue", "vermillion", "green")]
    dashes = [
        "solid",
        "dash",
        "solid",
        "dot",
    ]  # coinciding lines (CS simple = imputation on a balanced panel) stay visible
    for k, (lab, g) in enumerate(w.groupby("label", sort=False)):
        g = g.sort_values("event_time")
        fig.add_trace(
            go.Scatter(
                x=g["event_time"], y=g["weight"], mode="lines+markers", name=lab,
                line={"color": colours[k % 4], "width": 3.5 - 0.6 * k, "dash": dashes[k % 4]},
                marker={"size": np.where(g["binned"], 10, 4), "symbol": np.where(g["binned"], "circle-open", "circle")},
            )
        )  # fmt: skip
    if beyond is not None:
        fig.add_vline(
            x=beyond + 0.5, line_dash="dot", line_color="grey", annotation_text=f"beyond {beyond}",
            annotation_position="top right",
        )  # fmt: skip
    fig.add_hline(y=0, line_color="grey", line_width=1)
    fig.update_layout(
        template=TEMPLATE,
        title=title,
        xaxis_title="years since adoption (event time)",
        yaxis_title="share of the overall estimate's weight",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "left", "x": 0},
    )
    return fig


# --------------------------------------------------------------------------------------------------------------
# Randomization inference and bootstrap (helpers.estimate.inference)
# --------------------------------------------------------------------------------------------------------------


def permutation_figure(
    draws: np.ndarray,
    observed: float,
    *,
    title: str | None = None,
    xlabel: str = "estimate",
    observed_label: str = "observed",
    p_value: float | None = None,
    nbins: int = 40,
):
    """Histogram of permutation (or placebo / bootstrap) draws with the observed value as a vertical line.

    ``p_value`` (if given) is printed next to the observed line. Uses the project's theme colours: draws in
    light blue, the observed value in vermillion; the observed line is annotated at the top of the plot, on
    the side of the line with more room, so the label does not sit on the bars.
    """

    draws = np.asarray(draws, float)
    draws = draws[np.isfinite(draws)]
    fig = go.Figure(
        go.Histogram(
            x=draws,
            nbinsx=nbins,
            name="permutation draws",
            marker={"color": OKABE_ITO["sky"], "line": {"color": "#FFFFFF", "width": 0.5}},
            hovertemplate="%{x}: %{y}<extra></extra>",
        )
    )
    lo, hi = (float(draws.min()), float(draws.max())) if len(draws) else (observed, observed)
    right = observed < (min(lo, observed) + max(hi, observed)) / 2
    text = observed_label + (f"<br>p = {p_value:.3f}" if p_value is not None else "")
    fig.add_vline(x=observed, line={"color": OKABE_ITO["vermillion"], "width": 2.5})
    fig.add_annotation(
        x=observed,
        y=1,
        yref="paper",
        yanchor="top",
        xanchor="left" if right else "right",
        xshift=4 if right else -4,
        text=text,
        showarrow=False,
        align="left" if right else "right",
        font={"color": OKABE_ITO["vermillion"]},
        bgcolor="rgba(255,255,255,0.85)",
    )
    pad = 0.04 * ((max(hi, observed) - min(lo, observed)) or 1.0)
    fig.update_xaxes(range=[min(lo, observed) - pad, max(hi, observed) + pad])
    fig.update_layout(
        template=TEMPLATE,
        title=title,
        xaxis_title=xlabel,
        yaxis_title="number of draws",
        showlegend=False,
        bargap=0.02,
        margin={"t": 56 if title else 30},
    )
    return fig


# --------------------------------------------------------------------------------------------------------------
# Cole-style models (helpers.estimate.models)
# --------------------------------------------------------------------------------------------------------------


def marginal_effects_figure(
    results: Sequence[FitResult], title: str | None = None, ylabel: str | None = None
):
    """Marginal effect of the treatment over each moderator's range (line + 95% CI band), one panel per model, with
    the effect at the moderator's 10th, 50th and 90th percentiles marked (points with CI bars).

    Panels are titled with the moderator's readable label (:func:`term_label`); the y axis names the treatment.
    """
    from plotly.subplots import make_subplots

    res = [r for r in results if r.marginal_effects is not None and r.skipped is None]
    if not res:
        raise ParameterError(
            "results",
            [r.model for r in results],
            hint="no result has marginal effects (fit with a moderator)",
        )
    one_outcome = len({r.outcome for r in res}) == 1
    names = [
        f"× {variable_label(r.moderator)}"
        if one_outcome
        else f"{variable_label(r.outcome)} × {variable_label(r.moderator)}"
        for r in res
    ]
    fig = make_subplots(
        rows=1, cols=len(res), shared_yaxes=True, horizontal_spacing=0.06, subplot_titles=names
    )
    for i, r in enumerate(res, start=1):
        me = r.marginal_effects
        col = plots.PALETTE[(i - 1) % len(plots.PALETTE)]
        fig.add_trace(
            go.Scatter(
                x=np.r_[me["moderator_value"], me["moderator_value"][::-1]],
                y=np.r_[me["conf_high"], me["conf_low"][::-1]],
                fill="toself",
                fillcolor=col,
                opacity=0.2,
                line={"width": 0},
                hoverinfo="skip",
                showlegend=False,
            ),
            row=1,
            col=i,
        )
        fig.add_trace(
            go.Scatter(
                x=me["moderator_value"],
                y=me["estimate"],
                mode="lines",
                line={"color": col},
                name=names[i - 1],
                showlegend=False,
                hovertemplate=f"{variable_label(r.moderator)} = %{{x:.2f}}<br>effect %{{y:.4f}}"
                "<extra></extra>",
            ),
            row=1,
            col=i,
        )
        _quantile_marks(fig, r, col, i)
        fig.add_hline(y=0, line={"color": "#000000", "width": 1, "dash": "dot"}, row=1, col=i)
        fig.update_xaxes(
            title_text=f"{with_lag(variable_label(r.moderator), r.lag)}<br>5th–95th percentile", row=1, col=i
        )
    fig.update_yaxes(
        title_text=ylabel
        or f"Marginal effect of {term_label(res[0].focal_term)}<br>(95% CI; marks at p10, p50, p90)",
        row=1,
        col=1,
    )
    fig.update_annotations(font={"size": plots.FONT_SIZE})  # subplot titles no larger than the axis titles
    fig.update_layout(template=plots.TEMPLATE, title=title, margin={"t": 70 if title else 40})
    return fig


def _quantile_marks(fig, r: FitResult, colour: str, col: int) -> None:
    """The effect at the moderator's 10th, 50th and 90th percentiles (points with 95% CI bars) on panel ``col``."""
    q = r.moderator_effects
    if q is None:
        return
    fig.add_trace(
        go.Scatter(
            x=q["moderator_value"],
            y=q["estimate"],
            mode="markers+text",
            marker={"color": colour, "size": 8, "symbol": "diamond"},
            error_y={
                "type": "data",
                "symmetric": False,
                "array": q["conf_high"] - q["estimate"],
                "arrayminus": q["estimate"] - q["conf_low"],
                "color": colour,
                "thickness": 1.2,
                "width": 4,
            },
            text=[f"p{int(v)}" for v in q["quantile"]],
            textposition="top center",
            showlegend=False,
            hovertemplate="%{text}: moderator %{x:.3g}<br>effect %{y:.4f}<extra></extra>",
        ),
        row=1,
        col=col,
    )


# --------------------------------------------------------------------------------------------------------------
# Specification curve (helpers.estimate.specs)
# --------------------------------------------------------------------------------------------------------------

CHOICE_TITLES = {
    "outcome": "Outcome",
    "coding": "Treatment coding",
    "controls": "Controls",
    "lag": "Lag",
    "window": "Window asked",
    "estimator": "Estimator",
    "sample_years": "Sample years",
}


SPEC_ESTIMATOR_LABELS = {"twfe": "TWFE", "twfe_ldv": "TWFE + lagged DV"}


def choice_label(choice: str, value: object) -> str:
    """Readable label of one value of a multiverse choice (e.g. ``("lag", 1)`` -> ``"1 year"``)."""
    v = str(value)
    if choice == "outcome":
        return variable_label(v)
    if choice == "coding":
        return M.CODING_LABELS.get(v, v)
    if choice == "controls":
        return M.CONTROL_SET_LABELS.get(v, v)
    if choice == "lag":
        return f"{v} year" + ("" if v == "1" else "s")
    if choice in ("window", "sample_years"):
        return v.replace("-", "–")
    if choice == "estimator":
        return SPEC_ESTIMATOR_LABELS.get(v, v)
    return v


def spec_curve_figure(
    results: pd.DataFrame,
    choices: Sequence[str] = CHOICE_COLUMNS,
    alpha: float = 0.05,
    title: str | None = None,
    height: int | None = None,
    standardize: bool | None = None,
    joint: pd.DataFrame | None = None,
):
    """Specification curve: estimates sorted, with CIs (top), above an indicator panel of the choices (bottom).

    ``joint`` (:func:`helpers.estimate.specs.joint_test`) adds the joint test under the null to the top panel: the
    observed median and shares of significant specifications with their p-values.

    Points are coloured by sign and significance at ``alpha`` (positive significant, negative significant, not
    significant). The indicator panel has one row per value of each choice (readable labels,
    :func:`choice_label`), grouped under a bold header per choice; a cell is filled, in the colour of the
    specification's point, where that specification made that choice. Skipped specifications are left out
    (their count is in the x-axis title). ``standardize`` (default: when there is more than one outcome)
    divides estimates and CIs by the outcome's standard deviation in each specification's sample, so that
    outcomes on different scales share one axis (significance unchanged).
    """
    from plotly.subplots import make_subplots

    choices = [c for c in choices if c in results.columns and results[c].nunique() > 0]
    ok = results[results["skipped"].eq("") & results["estimate"].notna()].copy()
    if standardize is None:
        standardize = ok["outcome"].nunique() > 1
    if standardize:
        for c in ("estimate", "conf_low", "conf_high"):
            ok[c] = ok[c] / ok["outcome_sd"]
    ok = ok.sort_values("estimate", kind="mergesort").reset_index(drop=True)
    n = len(ok)
    x = np.arange(n)
    sig = (ok["p_value"] < alpha).to_numpy()
    pos = (ok["estimate"] > 0).to_numpy()
    code = np.where(sig & pos, 1, np.where(sig & ~pos, 2, 0))  # 0 n.s., 1 positive, 2 negative
    names = {1: f"positive, p < {alpha:.2g}", 2: f"negative, p < {alpha:.2g}", 0: "not significant"}
    colours = {1: plots.OKABE_ITO["blue"], 2: plots.OKABE_ITO["vermillion"], 0: "#8C8C8C"}

    # indicator rows: a header row per choice, then one row per value (in the grid's order)
    row_text: list[str] = []
    z_rows: list[np.ndarray] = []
    for c in choices:
        row_text.append(f"<b>{CHOICE_TITLES.get(c, c)}</b>")
        z_rows.append(np.full(n, np.nan))
        vals = ok[c].astype(str).to_numpy()
        order = (
            [str(v) for v in dict.fromkeys(results.sort_values("spec_id")[c].astype(str))]
            if "spec_id" in results.columns
            else sorted(set(vals))
        )
        for v in order:
            if v not in set(vals):
                continue
            row_text.append(choice_label(c, v))
            z_rows.append(np.where(vals == v, code, np.nan).astype(float))
    n_rows = len(row_text)
    row_px, top_px = 13, 300
    total = height or (top_px + row_px * n_rows + 130)
    frac_top = top_px / (top_px + row_px * n_rows)
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.025, row_heights=[frac_top, 1 - frac_top]
    )
    hover = list(dict.fromkeys([*choices, *[c for c in ("sample_years", "n_obs") if c in ok.columns]]))
    thin = n > 300
    ci_alpha = 0.3 if n > 1000 else (0.5 if thin else 0.6)
    ci_width = 0.5 if n > 1000 else (0.9 if thin else 1.2)
    for k in (1, 2, 0):
        m = code == k
        if not m.any():
            continue
        d = ok[m]
        fig.add_trace(
            go.Scatter(
                x=x[m],
                y=d["estimate"],
                mode="markers",
                name=names[k],
                marker={"color": colours[k], "size": 3 if thin else 5},
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": d["conf_high"] - d["estimate"],
                    "arrayminus": d["estimate"] - d["conf_low"],
                    "thickness": ci_width,
                    "width": 0,
                    "color": rgba(colours[k], ci_alpha),
                },
                customdata=d[hover].astype(str).to_numpy(),
                hovertemplate="estimate %{y:.4f}<br>"
                + "<br>".join(f"{c}: %{{customdata[{i}]}}" for i, c in enumerate(hover))
                + "<extra></extra>",
            ),
            row=1,
            col=1,
        )
    fig.add_hline(y=0, line={"color": "#000000", "width": 1, "dash": "dot"}, row=1, col=1)
    scale = [
        [0.0, colours[0]],
        [1 / 3, colours[0]],
        [1 / 3, colours[1]],
        [2 / 3, colours[1]],
        [2 / 3, colours[2]],
        [1.0, colours[2]],
    ]
    fig.add_trace(
        go.Heatmap(
            z=np.vstack(z_rows) if z_rows else np.zeros((0, n)),
            x=x,
            y=np.arange(n_rows),
            zmin=-0.5,
            zmax=2.5,
            colorscale=scale,
            showscale=False,
            hoverinfo="skip",
            ygap=1,
        ),
        row=2,
        col=1,
    )
    fig.update_yaxes(
        title_text="Estimate / SD of outcome (95% CI)" if standardize else "Estimate (95% CI)", row=1, col=1
    )
    fig.update_yaxes(
        tickmode="array",
        tickvals=list(range(n_rows)),
        ticktext=row_text,
        showgrid=False,
        autorange=False,
        range=[n_rows - 0.5, -0.5],
        ticks="",
        showline=False,
        tickfont={"size": plots.FONT_SIZE - 2},
        row=2,
        col=1,
    )
    if joint is not None:
        fig.add_annotation(
            text=joint_text(joint),
            xref="x domain",
            yref="y domain",
            x=0.01,
            y=0.98,
            xanchor="left",
            yanchor="top",
            align="left",
            showarrow=False,
            bgcolor="rgba(255,255,255,0.85)",
            font={"size": plots.FONT_SIZE - 2},
            row=1,
            col=1,
        )
    n_skip = len(results) - n
    fig.update_xaxes(range=[-0.5, n - 0.5], row=1, col=1)
    fig.update_xaxes(
        range=[-0.5, n - 0.5],
        showgrid=False,
        row=2,
        col=1,
        title_text=f"Specifications sorted by estimate ({n:,} estimated"
        f"{f', {n_skip:,} skipped' if n_skip else ''})",
    )
    fig.update_layout(
        template=plots.TEMPLATE,
        title=title,
        height=total,
        legend={
            "orientation": "h",
            "yanchor": "bottom",
            "y": 1.0,
            "xanchor": "right",
            "x": 1,
            "itemsizing": "constant",
        },
        margin={"t": 70 if title else 40},
    )
    return fig


JOINT_LABELS = {
    "median_estimate": "median estimate",
    "median_std_estimate": "median estimate / SD",
    "share_significant": "significant",
    "share_positive_significant": "positive and significant",
    "share_negative_significant": "negative and significant",
}


def joint_text(joint: pd.DataFrame) -> str:
    """The joint test of a specification curve in a few lines (observed value and p-value per statistic)."""
    j = joint.set_index("statistic")
    lines = [f"<b>Joint test under the null</b> ({int(j['n_draws'].iloc[0]):,} draws)"]
    for s, lab in JOINT_LABELS.items():
        if s not in j.index:
            continue
        o = j.loc[s, "observed"]
        val = f"{o:+.3g}" if s.startswith("median") else f"{o:.1%}"
        lines.append(f"{lab}: {val} (p = {j.loc[s, 'p_value']:.3f})")
    return "<br>".join(lines)


# --------------------------------------------------------------------------------------------------------------
# Country cases (helpers.estimate.synth)
# --------------------------------------------------------------------------------------------------------------


def _colours() -> tuple[str, dict]:
    return TEMPLATE, OKABE_ITO


def case_figure(
    paths: pd.DataFrame,
    event: int,
    treated_label: str = "treated",
    ylab: str = "outcome",
    title: str = "Treated unit and synthetic comparisons",
):
    """Line chart of the treated path and the SC / SDID / DiD counterfactual paths with the event marked.

    The treated unit is a thick black line, the comparisons coloured dashed/dotted lines (Okabe-Ito); the
    legend sits in one row above the plot; a dotted vertical line separates pre- from post-event years.
    """
    template, oi = _colours()
    fig = go.Figure()
    labels = {
        "synthetic_sc": ("synthetic control (exact)", oi["orange"], "dash"),
        "synthetic_sc_fw": ("synthetic control (regularised)", oi["green"], "longdash"),
        "synthetic_sdid": ("synthetic DiD", oi["blue"], "dashdot"),
        "synthetic_did": ("donor average (DiD)", oi["vermillion"], "dot"),
    }
    for c, (lab, col, dash) in labels.items():
        if c in paths:
            fig.add_trace(
                go.Scatter(
                    x=paths["time"],
                    y=paths[c],
                    name=lab,
                    mode="lines",
                    line={"dash": dash, "color": col, "width": 2},
                )
            )
    fig.add_trace(
        go.Scatter(
            x=paths["time"],
            y=paths["treated"],
            name=treated_label,
            mode="lines",
            line={"width": 3, "color": oi["black"]},
        )
    )
    fig.add_vline(x=event - 0.5, line={"dash": "dot", "color": "#777777", "width": 1})
    fig.update_layout(
        template=template,
        title=title,
        xaxis_title="year",
        yaxis_title=ylab,
        legend={
            "orientation": "h",
            "yanchor": "bottom",
            "y": 1.0,
            "xanchor": "left",
            "x": 0,
            "traceorder": "reversed",
        },
        margin={"t": 80 if title else 40},
    )
    return fig


def placebo_figure(
    pl: pd.DataFrame, method: str = "sc", title: str | None = None, treated_label: str = "treated unit"
):
    """Histogram of placebo post/pre RMSPE ratios (SC, log10 axis) or estimates (others), treated unit marked.

    RMSPE ratios span many orders of magnitude (a donor that the others reproduce almost exactly before the
    event has a pre-period RMSPE near 0 and a huge ratio), so they are shown as log10.
    """
    check_choice("method", method, synth.METHODS)
    g = pl[pl["method"] == method]
    if method == "sc":
        vals = np.log10(g["ratio"].astype(float).clip(lower=1e-12))
        xlabel = "post/pre RMSPE ratio (log10)"
    else:
        vals = g["estimate"].astype(float)
        xlabel = "estimate (mean post-event gap)"
    tr = float(vals[g["is_treated"].to_numpy()].iloc[0])
    fig = permutation_figure(
        vals[~g["is_treated"].to_numpy()].to_numpy(),
        tr,
        title=title,
        xlabel=xlabel,
        observed_label=treated_label,
        nbins=30,
    )
    fig.update_layout(yaxis_title="number of donor placebos")
    return fig


# --------------------------------------------------------------------------------------------------------------
# Ratification timing (helpers.estimate.timing)
# --------------------------------------------------------------------------------------------------------------


def _group_name(g: object) -> str:
    return "No regime data" if str(g) == "unknown" else str(g)


def km_figure(km: pd.DataFrame, title: str | None = None, show_ci: bool | None = None):
    """Step plot of the Kaplan-Meier share ratified (1 - survival) by years since entry, one line per group.

    ``show_ci`` (default: with at most three groups) adds pointwise 95% log-log confidence bands.
    """

    fig = go.Figure()
    if show_ci is None:
        show_ci = km["group"].nunique() <= 3
    for i, (g, d) in enumerate(km.groupby("group", sort=True)):
        col = plots.PALETTE[i % len(plots.PALETTE)]
        if show_ci:
            fig.add_trace(
                go.Scatter(
                    x=np.r_[d["time"], d["time"][::-1]],
                    y=np.r_[1 - d["conf_high"], (1 - d["conf_low"])[::-1]],
                    fill="toself",
                    line={"width": 0, "shape": "hv"},
                    fillcolor=col,
                    opacity=0.15,
                    hoverinfo="skip",
                    showlegend=False,
                    legendgroup=str(g),
                )
            )
        n = km.attrs.get("n_countries", {}).get(str(g))
        fig.add_trace(
            go.Scatter(
                x=d["time"],
                y=d["share_ratified"],
                mode="lines",
                line={"shape": "hv", "color": col},
                name=f"{_group_name(g)} (n={n})" if n else _group_name(g),
                legendgroup=str(g),
                hovertemplate="%{x} years: %{y:.0%}<extra>%{fullData.name}</extra>",
            )
        )
    # the curves rise towards the top right, so the legend sits inside the empty lower right corner
    fig.update_layout(
        template=plots.TEMPLATE,
        title=title,
        xaxis_title="Years since entry into the risk set",
        yaxis_title="Share ratified (Kaplan-Meier)",
        yaxis_tickformat=".0%",
        yaxis_range=[0, 1.02],
        legend={
            "orientation": "v",
            "yanchor": "bottom",
            "y": 0.02,
            "xanchor": "right",
            "x": 0.99,
            "bgcolor": "rgba(255,255,255,0.85)",
            "font": {"size": plots.FONT_SIZE - 2},
            "title_text": "",
            "tracegroupgap": 0,
        },
    )
    return fig


def ratio_figure(ratios: pd.DataFrame, title: str | None = None, labels: dict[str, str] | None = None):
    """Odds-ratio / hazard-ratio dot-and-whisker plot on a log axis (several links dodged by ``link``).

    Terms are shown with their readable labels (:func:`helpers.models.term_label`, overridden by ``labels``);
    the log axis is ticked at 1-2-5 steps.
    """

    d = ratios.copy()
    names = {t: term_label(t) for t in d["term"].unique()}
    names.update(labels or {})
    fig = plots.coef_plot(
        d,
        estimate="ratio",
        group="link" if d["link"].nunique() > 1 else None,
        labels=names,
        title=title,
        xlabel="exp(coefficient), 95% CI (log scale)",
        reference=1.0,
    )
    lo = float(np.nanmin(np.r_[d["conf_low"].to_numpy(float), d["ratio"].to_numpy(float), 1.0]))
    hi = float(np.nanmax(np.r_[d["conf_high"].to_numpy(float), d["ratio"].to_numpy(float), 1.0]))
    lo, hi = max(lo, 1e-6), max(hi, 1e-6)
    ticks = [
        m * 10.0**e
        for e in range(int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi))) + 1)
        for m in (1, 2, 5)
    ]
    ticks = [t for t in ticks if lo / 1.3 <= t <= hi * 1.3]
    # on a log axis the range and shapes are given in log10 units: reference line at log10(1) = 0
    fig.update_xaxes(
        type="log",
        range=[np.log10(lo) - 0.1, np.log10(hi) + 0.1],
        tickmode="array",
        tickvals=ticks,
        ticktext=[f"{t:g}" for t in ticks],
    )
    fig.update_shapes(x0=0, x1=0, selector={"x0": 1.0})
    return fig


# --------------------------------------------------------------------------------------------------------------
# Claims about the implementation gap (helpers.estimate.claims)
# --------------------------------------------------------------------------------------------------------------
#: verdict -> marker colour of the claims forest
VERDICT_COLOURS = {
    "supported": OKABE_ITO["green"],
    "contradicted": OKABE_ITO["vermillion"],
    "inconclusive": "#7f7f7f",
}


def claims_forest_figure(table: pd.DataFrame, title: str | dict = "Claims about the implementation gap"):
    """Forest plot of :func:`helpers.estimate.claims.estimate_claims`: one row per claim (first claim on top), its
    estimate and 95% interval in standard deviations of the outcome, coloured by verdict (legend above the plot),
    the expected sign in the row label; claims that could not be estimated are listed with "n/a"."""
    t = table.reset_index(drop=True)
    labels = [
        f"{row['label']} ({row['expected_sign']})" + ("" if np.isfinite(row["estimate"]) else " n/a")
        for _, row in t.iterrows()
    ]
    fig = go.Figure()
    for v, colour in VERDICT_COLOURS.items():
        sub = t[t["verdict"] == v]
        if sub.empty:
            continue
        fig.add_trace(
            go.Scatter(
                x=sub["estimate"],
                y=[labels[i] for i in sub.index],
                mode="markers",
                name=v,
                marker={"color": colour, "size": 9, "symbol": "square"},
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": (sub["conf_high"] - sub["estimate"]).to_numpy(),
                    "arrayminus": (sub["estimate"] - sub["conf_low"]).to_numpy(),
                    "color": colour,
                },
                customdata=np.column_stack([sub["conf_low"], sub["conf_high"], sub["pretrend_p"]]),
                hovertemplate="%{y}<br>%{x:.3f} SD [%{customdata[0]:.3f}, %{customdata[1]:.3f}]"
                "<br>pre-trend p %{customdata[2]:.3f}<extra>%{fullData.name}</extra>",
            )
        )
    fig.add_vline(x=0, line_color="grey")
    fig.update_layout(
        title=title,
        xaxis_title="effect (standard deviations of the outcome), 95% CI",
        yaxis={"categoryorder": "array", "categoryarray": labels[::-1], "type": "category"},
        legend={
            "orientation": "h",
            "yanchor": "bottom",
            "y": 1.0,
            "xanchor": "left",
            "x": 0,
            "title": {"text": "verdict"},
            "font": {"size": plots.FONT_SIZE - 2},
        },
        height=max(380, 60 + 34 * len(t)),
        margin={"t": _top_margin(title) + 36},
    )
    return fig
