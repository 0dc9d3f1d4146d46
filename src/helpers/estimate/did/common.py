"""Shared plumbing of the staggered-adoption estimators: the tidy result frame and the diff-diff input frame."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from helpers.estimate.did.cohorts import StaggeredPanel

TIDY_COLUMNS = [
    "term",
    "estimate",
    "std_error",
    "statistic",
    "p_value",
    "conf_low",
    "conf_high",
    "n_obs",
    "n_units",
]


def dd_frame(p: StaggeredPanel) -> tuple[pd.DataFrame, int]:
    """Frame for diff-diff: first_treat 0 = never; time shifted to be >= 1 so 0 is never ambiguous."""
    d = p.data
    shift = int(1 - d["time"].min()) if d["time"].min() < 1 else 0
    out = pd.DataFrame(
        {
            "unit": d["unit"].astype(str),
            "time": d["time"] + shift,
            "y": d["y"],
            "first_treat": np.where(np.isinf(d["g"]), 0, d["g"] + shift).astype("int64"),
        }
    )
    for c in p.covariates:
        out[c] = d[c].to_numpy()
    return out, shift


def tidy_from_arrays(terms, est, se, n_obs, n_units, alpha=0.05, df=None) -> pd.DataFrame:
    est, se = np.asarray(est, float), np.asarray(se, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = est / se
    if df is None:
        p = 2 * stats.norm.sf(np.abs(stat))
        crit = stats.norm.ppf(1 - alpha / 2)
    else:
        p = 2 * stats.t.sf(np.abs(stat), df)
        crit = stats.t.ppf(1 - alpha / 2, df)
    return pd.DataFrame(
        {
            "term": list(terms),
            "estimate": est,
            "std_error": se,
            "statistic": stat,
            "p_value": p,
            "conf_low": est - crit * se,
            "conf_high": est + crit * se,
            "n_obs": n_obs,
            "n_units": n_units,
        }
    )


def binned_flags(event_time: pd.Series, rel_treated, lo: int, hi: int, binned: bool) -> np.ndarray:
    """Per row: True for an end point that absorbed treated observations beyond the window (not a single event
    time; Rambachan-Roth drops it), False otherwise (also for an end point with nothing beyond it)."""
    r = np.asarray(rel_treated, float)
    below, above = binned and bool((r < lo).any()), binned and bool((r > hi).any())
    et = np.asarray(event_time)
    return ((et == lo) & below) | ((et == hi) & above)
