"""The treaty-effects matrix figure: outcomes (rows) x instruments (columns), colour = one estimator's overall
effect in standard deviations of the outcome, marks for adjusted significance and failed diagnostics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from helpers.data import variables
from helpers.estimate.did import ESTIMATOR_LABELS
from helpers.report import plots

MARKS = {
    "rw": "●",  # Romano-Wolf family-wise p < alpha
    "bh": "*",  # Benjamini-Hochberg q < alpha
    "flag": "!",  # a failed diagnostic (pre-trend, few controls, few treated)
    "failed": "×",  # the cell could not be estimated
}
#: colour scale limit, in SD units (effects beyond it get the end colour)
SD_LIMIT = 1.0


def _mark(r: pd.Series, alpha: float) -> str:
    if r["status"] != "ok":
        return MARKS["failed"]
    m = ""
    if np.isfinite(r["p_rw"]) and r["p_rw"] < alpha:
        m += MARKS["rw"]
    elif np.isfinite(r["q_bh"]) and r["q_bh"] < alpha:
        m += MARKS["bh"]
    if isinstance(r["flag"], str) and r["flag"]:
        m += MARKS["flag"]
    return m


def matrix_figure(
    table: pd.DataFrame, estimator: str = "callaway_santanna", alpha: float = 0.05, title: str | None = None
) -> go.Figure:
    """Heatmap of ``estimate_sd`` for ``estimator`` from the matrix table (helpers.estimate.matrix.run_matrix)."""
    t = table[table["estimator"] == estimator].copy()
    inst = list(dict.fromkeys(t["instrument"]))
    outs = list(dict.fromkeys(t["outcome"]))
    t["mark"] = [_mark(r, alpha) for _, r in t.iterrows()]
    z = t.pivot(index="outcome", columns="instrument", values="estimate_sd").reindex(index=outs, columns=inst)
    text = t.pivot(index="outcome", columns="instrument", values="mark").reindex(index=outs, columns=inst)
    hover = t.assign(
        h=lambda d: [
            f"{r.estimate:.3g} ({r.estimate_sd:+.2f} SD), p = {r.p_value:.3g}, q(BH) = {r.q_bh:.3g}, "
            f"p(RW) = {r.p_rw:.3g}; {r.n_treated:.0f} treated, {r.n_never:.0f} never treated; pre-trend p = "
            f"{r.pretrend_p:.2g}{'; ' + r.flag if isinstance(r.flag, str) and r.flag else ''}"
            if r.status == "ok"
            else f"not estimated: {r.reason}"
            for r in d.itertuples()
        ]
    ).pivot(index="outcome", columns="instrument", values="h")
    hover = hover.reindex(index=outs, columns=inst).fillna("not mapped")
    ylab = [variables.label(o) for o in outs]
    xlab = [variables.treaty_short(k) for k in inst]
    fig = go.Figure(
        go.Heatmap(
            z=z.to_numpy(float),
            x=xlab,
            y=ylab,
            text=text.fillna("").to_numpy(),
            texttemplate="%{text}",
            textfont={"size": 13},
            customdata=hover.to_numpy(),
            hovertemplate="%{x} on %{y}<br>%{customdata}<extra></extra>",
            colorscale=plots.DIVERGING,
            reversescale=False,
            zmid=0,
            zmin=-SD_LIMIT,
            zmax=SD_LIMIT,
            xgap=2,
            ygap=2,
            colorbar={"title": {"text": "effect (SD)"}, "thickness": 12},
        )
    )
    fig.update_yaxes(autorange="reversed", automargin=True, showgrid=False)
    fig.update_xaxes(side="top", showgrid=False)
    fig.update_layout(
        title={
            "text": title
            or f"Treaty effects, every instrument and mapped outcome: {ESTIMATOR_LABELS[estimator]}",
            "subtitle": {
                "text": f"{MARKS['rw']} Romano-Wolf p < {alpha}   {MARKS['bh']} BH q < {alpha} only   "
                f"{MARKS['flag']} failed diagnostic   {MARKS['failed']} not estimated   blank: not mapped"
            },
        },
        height=max(420, 26 * len(outs) + 200),
        margin={"t": 120, "l": 280},
    )
    cols = [*outs, *(f"{k}_ratified" for k in inst)]
    note = (
        f"Colour: overall effect / the outcome's SD in the estimation sample, clipped at ±{SD_LIMIT:g}. "
        "Sovereign country-years, balanced panel."
    )
    plots.source_note(fig, plots.credits(cols, note=note))
    return fig
