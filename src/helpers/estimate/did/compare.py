"""Why the overall staggered-DiD estimates differ: the weight each estimator puts on each event horizon, the
comparison units it uses and the horizons it averages (issue 9 item 7), computed from the fitted estimators.

- TWFE (static): the coefficient is ``sum_it w_it tau_it`` over treated observations with ``w_it`` = the
  two-way-demeaned treatment dummy over its sum (de Chaisemartin and D'Haultfoeuille 2020, Theorem 1); weights can
  be negative, and already-treated units serve as controls.
- Callaway-Sant'Anna "simple": post-treatment ATT(g,t) cells weighted by cohort size.
- Sun-Abraham overall: cohort x event-time cells (event times binned at the window's end) weighted by their number
  of treated observations; controls are the never-treated units (or the last cohort).
- Imputation (BJS) overall: every treated observation weighs the same; controls are all untreated observations.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.estimate.did.callaway import CSResult
from helpers.estimate.did.cohorts import StaggeredPanel
from helpers.estimate.fe import demean, fe_codes

ESTIMATOR_LABELS = {
    "twfe": "TWFE (static)",
    "callaway_santanna": "Callaway-Sant'Anna (simple)",
    "sun_abraham": "Sun-Abraham",
    "imputation": "Imputation (BJS)",
}


def twfe_weights(p: StaggeredPanel) -> pd.DataFrame:
    """Implicit weights of the static TWFE coefficient on each treated observation (group, time, event_time,
    weight; they sum to 1, some may be negative)."""
    d = p.data
    D = (d["time"] >= d["g"] - p.anticipation).to_numpy(float)
    Dd = demean(D[:, None], fe_codes(d, ["unit", "time"]))[:, 0]
    tr = D == 1
    w = Dd[tr] / Dd[tr].sum()
    return pd.DataFrame(
        {"group": d.loc[tr, "g"].to_numpy(), "time": d.loc[tr, "time"].to_numpy(), "weight": w}
    ).assign(event_time=lambda x: (x["time"] - x["group"]).astype(int))


def cs_simple_weights(cs: CSResult) -> pd.DataFrame:
    """Weights of the Callaway-Sant'Anna "simple" aggregation on its post-treatment cells (cohort-size shares)."""
    a = cs.att_gt
    post = (a["group"] <= a["time"]) & ~a["is_reference"]
    cells = a[post]
    sizes = {g: float(np.mean(cs.unit_g == g)) for g in np.unique(cells["group"])}
    w = cells["group"].map(sizes).to_numpy()
    return pd.DataFrame(
        {
            "group": cells["group"].to_numpy(),
            "time": cells["time"].to_numpy(),
            "event_time": (cells["time"] - cells["group"]).to_numpy().astype(int),
            "weight": w / w.sum(),
        }
    )


def imputation_weights(p: StaggeredPanel) -> pd.DataFrame:
    """Weights of the imputation estimator's overall effect: each treated observation equally."""
    d = p.data
    tr = (d["time"] >= d["g"] - p.anticipation).to_numpy()
    out = pd.DataFrame({"group": d.loc[tr, "g"].to_numpy(), "time": d.loc[tr, "time"].to_numpy()})
    out["event_time"] = (out["time"] - out["group"]).astype(int)
    out["weight"] = 1.0 / len(out)
    return out


def horizon_weights(
    p: StaggeredPanel,
    cs: CSResult | None = None,
    sa: pd.DataFrame | None = None,
    include_twfe: bool = True,
    include_imputation: bool = True,
) -> pd.DataFrame:
    """Tidy weights by event horizon: ``estimator, event_time, weight`` (Sun-Abraham's binned end point is its own
    horizon, flagged ``binned``). ``sa`` must come from :func:`sun_abraham` (its ``attrs['overall_weights']``)."""
    parts = []
    if include_twfe:
        parts.append(twfe_weights(p).assign(estimator="twfe"))
    if cs is not None:
        parts.append(cs_simple_weights(cs).assign(estimator="callaway_santanna"))
    if sa is not None:
        parts.append(sa.attrs["overall_weights"].assign(estimator="sun_abraham"))
    if include_imputation:
        parts.append(imputation_weights(p).assign(estimator="imputation"))
    cells = pd.concat(parts, ignore_index=True)
    cells["binned"] = cells["binned"].fillna(False).astype(bool) if "binned" in cells else False
    out = cells.groupby(["estimator", "event_time"], as_index=False).agg(
        weight=("weight", "sum"), binned=("binned", "any")
    )
    out["label"] = out["estimator"].map(ESTIMATOR_LABELS)
    return out


def comparison_table(
    weights: pd.DataFrame,
    estimates: dict[str, float],
    controls: dict[str, str],
    beyond: int,
) -> pd.DataFrame:
    """One row per estimator: estimate, comparison units, horizons averaged (range, binned end point), mean horizon,
    share of the weight on horizons beyond ``beyond`` and the share of negative weight."""
    rows = []
    order = [k for k in ESTIMATOR_LABELS if k in set(weights["estimator"])]
    for est in order:
        g = weights[weights["estimator"] == est]
        e, w = g["event_time"].to_numpy(), g["weight"].to_numpy()
        binned = g.loc[g["binned"], "event_time"]
        hz = f"{e.min()}-{e.max()}" + (
            f" ({int(binned.iloc[0])} = {int(binned.iloc[0])} or later)" if len(binned) else ""
        )
        rows.append(
            {
                "estimator": ESTIMATOR_LABELS[est],
                "estimate": estimates.get(est, np.nan),
                "comparison_units": controls.get(est, ""),
                "horizons_averaged": hz,
                "mean_horizon": float((e * w).sum() / w.sum()),
                f"weight_beyond_{beyond}": float(
                    w[e > beyond].sum() + (w[(e == beyond) & g["binned"].to_numpy()].sum())
                ),
                "negative_weight": float(max(0.0, -w[w < 0].sum())),
                "key": est,
            }
        )
    return pd.DataFrame(rows)


def _same_weights(weights: pd.DataFrame, table: pd.DataFrame, tol: float = 0.02) -> list[str]:
    """Sentences for pairs of estimators that weight the horizons alike (L1 distance below ``tol``) but differ in
    their estimates: their gap comes from the comparison units and baselines, not from the horizons."""
    t = table.set_index("key")
    w = weights.pivot_table(index="event_time", columns="estimator", values="weight", aggfunc="sum").fillna(0)
    keys = [k for k in t.index if k in w.columns]
    out = []
    for i, a in enumerate(keys):
        for b in keys[i + 1 :]:
            if (w[a] - w[b]).abs().sum() < tol and abs(t.loc[a, "estimate"] - t.loc[b, "estimate"]) > 0.005:
                out.append(
                    f"{t.loc[a, 'estimator']} ({t.loc[a, 'estimate']:.3f}) and {t.loc[b, 'estimator']} "
                    f"({t.loc[b, 'estimate']:.3f}) weight the horizons alike, so their gap comes from what they compare "
                    f"with and from which untreated periods serve as baseline ({t.loc[a, 'comparison_units']}, against "
                    f"{t.loc[b, 'comparison_units']})."
                )
    return out


def explain(table: pd.DataFrame, beyond: int, weights: pd.DataFrame | None = None) -> str:
    """Plain-language reasons the overall estimates differ, generated from :func:`comparison_table` (and, when
    ``weights`` from :func:`horizon_weights` is given, from the weights by horizon themselves)."""
    t = table.set_index("key")
    col = f"weight_beyond_{beyond}"
    lines = []
    for _, r in t.iterrows():
        s = (
            f"- {r['estimator']} = {r['estimate']:.3f}: compares with {r['comparison_units']}; averages horizons "
            f"{r['horizons_averaged']} (mean horizon {r['mean_horizon']:.1f} years), {100 * r[col]:.0f}% of its "
            f"weight beyond {beyond} years"
        )
        if r["negative_weight"] > 0.005:
            s += f"; {100 * r['negative_weight']:.0f}% of its weight is negative (treated years used as controls)"
        lines.append(s + ".")
    if len(t) > 1:
        hi, lo = t[col].idxmax(), t[col].idxmin()
        lines.append(
            f"The estimates differ not only through forbidden comparisons: {t.loc[hi, 'estimator']} puts "
            f"{100 * t.loc[hi, col]:.0f}% of its weight on horizons beyond {beyond} years, "
            f"{t.loc[lo, 'estimator']} {100 * t.loc[lo, col]:.0f}%; when effects grow with time since adoption, "
            f"the estimator weighting long horizons more reports a larger average."
        )
    if weights is not None:
        lines += _same_weights(weights, table)
    return "\n".join(lines)
