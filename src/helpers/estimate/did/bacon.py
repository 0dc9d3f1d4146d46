"""Goodman-Bacon decomposition of the static TWFE coefficient into its 2x2 comparisons (diff-diff)."""

from __future__ import annotations

import warnings

import pandas as pd

from helpers.estimate.did.cohorts import StaggeredPanel
from helpers.estimate.did.common import dd_frame


def bacon_decomposition(p: StaggeredPanel) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Goodman-Bacon decomposition of the static TWFE coefficient (diff-diff ``BaconDecomposition``).

    Returns ``(comparisons, by_type)``: one row per 2x2 comparison (treated, control, type, estimate, weight)
    and a summary by comparison type (total weight, weighted average). Weights sum to 1 and
    ``sum(weight * estimate)`` equals the TWFE coefficient (checked; ``attrs['twfe']`` and
    ``attrs['decomposition_error']``). Needs a balanced panel without covariates.
    """
    import diff_diff as dd

    if p.covariates:
        warnings.warn(
            "bacon_decomposition ignores covariates (the decomposition is of the no-covariate TWFE)",
            stacklevel=2,
        )
    df, shift = dd_frame(p)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = dd.BaconDecomposition().fit(
            df, outcome="y", unit="unit", time="time", first_treat="first_treat"
        )
    comp = res.to_dataframe()
    for c in ("treated_group", "control_group"):
        comp[c] = comp[c].map(lambda v: v if isinstance(v, str) else str(int(v) - shift))
    comp["weighted"] = comp["weight"] * comp["estimate"]
    by = comp.groupby("comparison_type", as_index=False).agg(
        weight=("weight", "sum"), weighted=("weighted", "sum"), n_comparisons=("estimate", "size")
    )
    by["avg_estimate"] = by["weighted"] / by["weight"]
    twfe_b = float(res.twfe_estimate)
    for x in (comp, by):
        x.attrs.update(twfe=twfe_b, decomposition_error=float(res.decomposition_error))
    return comp, by


BACON_LABELS = {
    "treated_vs_never": "treated vs never treated",
    "earlier_vs_later": "earlier vs later treated (not yet treated as controls)",
    "later_vs_earlier": "later vs earlier treated (already treated as controls)",
}
