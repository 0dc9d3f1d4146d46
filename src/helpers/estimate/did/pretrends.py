"""Joint Wald tests of pre-treatment event-study coefficients, and stacking of event studies for comparison."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from helpers.core.errors import EmptySampleError, ParameterError
from helpers.estimate.did.callaway import CSResult


def wald_test(b: np.ndarray, V: np.ndarray, df_denom: int | None = None) -> dict[str, float]:
    """Joint Wald test that all of ``b`` are 0: W = b'V^-1 b ~ chi2(k); with ``df_denom`` also F = W/k."""
    b = np.asarray(b, float)
    V = np.asarray(V, float)
    k = len(b)
    W = float(b @ np.linalg.pinv(V) @ b)
    out = {"statistic": W, "df": k, "p_value": float(stats.chi2.sf(W, k))}
    if df_denom is not None:
        out["f_stat"] = W / k
        out["p_value_f"] = float(stats.f.sf(W / k, k, df_denom))
    return out


def pretrend_test(
    es: pd.DataFrame, V: pd.DataFrame | None = None, cs: CSResult | None = None, anticipation: int = 0
) -> pd.DataFrame:
    """Joint Wald test of the pre-period event-study coefficients (event_time < reference) being zero.

    ``es``: an event-study frame from this module. The covariance comes from ``V`` (indexed by event time),
    ``es.attrs['vcov']`` (TWFE, Sun-Abraham), or for a Callaway-Sant'Anna dynamic aggregation pass ``cs``
    (covariance from the influence functions). Event times in [-anticipation, -1] are anticipation effects and
    are not part of the test. Returns a one-row tidy frame (term "pretrend_wald").
    """
    # reference rows (estimate 0, no SE) are excluded; with a varying base period every pre-period is tested
    pre = es[(es["event_time"].notna()) & (es["event_time"] < -anticipation) & es["std_error"].notna()]
    if pre.empty:
        raise EmptySampleError("no pre-period coefficients to test (widen the window or the years)")
    ks = [int(k) for k in pre["event_time"]]
    b = pre["estimate"].to_numpy(float)
    if cs is not None:
        a = cs.att_gt
        e = (a["time"] - a["group"]).to_numpy()
        group = a["group"].to_numpy()
        glist = np.sort(np.unique(group))
        pgg = np.array([np.mean(cs.unit_g == g) for g in glist])
        pg = pgg[np.searchsorted(glist, group)]
        IF = np.column_stack(
            [
                cs.weighted_att(np.flatnonzero((e == k) & ~a["is_reference"].to_numpy()), pg, group)[1]
                for k in ks
            ]
        )
        Vm = IF.T @ IF / cs.n**2
        src = "influence functions"
        dfd = None
    else:
        V = V if V is not None else es.attrs.get("vcov")
        if V is None:
            raise ParameterError("V", None, hint="no covariance: pass V or a frame with attrs['vcov']")
        Vm = V.loc[ks, ks].to_numpy()
        src = "model covariance"
        dfd = es.attrs.get("df")
    w = wald_test(b, Vm, dfd)
    est = es["estimator"].iloc[0] if "estimator" in es else ""
    out = pd.DataFrame(
        {
            "term": ["pretrend_wald"],
            "estimate": [np.nan],
            "std_error": [np.nan],
            "statistic": [w["statistic"]],
            "p_value": [w["p_value"]],
            "conf_low": [np.nan],
            "conf_high": [np.nan],
            "n_obs": es["n_obs"].iloc[0],
            "n_units": es["n_units"].iloc[0],
            "df": [w["df"]],
            "event_times": [",".join(map(str, ks))],
            "estimator": [est],
            "test": [f"joint Wald chi2({w['df']}) on pre-period coefficients ({src})"],
        }
    )
    if "p_value_f" in w:
        out["p_value_f"] = w["p_value_f"]
    return out


def stack_event_studies(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Concatenate event-study frames (name -> frame) into one long frame for overlay plots and tables."""
    keep = ["estimator_label", "event_time", "estimate", "std_error", "conf_low", "conf_high"]
    parts = []
    for name, f in frames.items():
        x = f[f["event_time"].notna()].copy()
        x["estimator_label"] = name
        parts.append(x[[c for c in keep if c in x.columns]])
    out = pd.concat(parts, ignore_index=True)
    out["event_time"] = out["event_time"].astype(int)
    return out.sort_values(["estimator_label", "event_time"]).reset_index(drop=True)
