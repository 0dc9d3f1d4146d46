"""Rambachan-Roth sensitivity of event-study conclusions to parallel-trends violations (relative magnitudes)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from helpers.core.errors import DataError, EmptySampleError, ParameterError
from helpers.core.params import check_choice
from helpers.estimate.did.callaway import CSResult

HONEST_METHODS = ("relative_magnitudes",)


HONEST_CI_METHOD = (
    "identified set widened by the critical value times the target's SE on each side "
    "(diff-diff 3.13 HonestDiD, relative_magnitude: its 'naive FLCI'); not Rambachan-Roth's "
    "conditional/hybrid confidence set"
)


def cs_event_vcov(cs: CSResult, event_times: list[int]) -> pd.DataFrame:
    """Covariance of Callaway-Sant'Anna dynamic effects at ``event_times`` from the influence functions.

    Same construction as :meth:`CSResult.aggregate` (weight-estimation term included, ``V = IF'IF / n^2``), so its
    diagonal equals the squared analytic SEs (``se_analytic``) of the dynamic aggregation.
    """
    a = cs.att_gt
    e = (a["time"] - a["group"]).to_numpy()
    group = a["group"].to_numpy()
    glist = np.sort(np.unique(group))
    pgg = np.array([np.mean(cs.unit_g == g) for g in glist])
    pg = pgg[np.searchsorted(glist, group)]
    cols = []
    for k in event_times:
        sel = np.flatnonzero((e == k) & ~a["is_reference"].to_numpy())
        if len(sel) == 0:
            raise ParameterError("event_times", k, hint="no estimable ATT(g,t) cell at this event time")
        cols.append(cs.weighted_att(sel, pg, group)[1])
    IF = np.column_stack(cols)
    return pd.DataFrame(IF.T @ IF / cs.n**2, index=list(event_times), columns=list(event_times))


def honest_did(
    event_study_tidy: pd.DataFrame,
    vcov: pd.DataFrame | CSResult | None = None,
    *,
    method: str = "relative_magnitudes",
    mbar_grid=(0, 0.5, 1, 1.5, 2),
    target: str | int = "average_post",
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Rambachan-Roth sensitivity of an event-study effect to bounded violations of parallel trends.

    Relative magnitudes (Delta^RM): each post-period change of the trend violation is at most ``Mbar`` times the
    largest pre-period change, ``|d_{t+1} - d_t| <= Mbar * max_{s<ref} |d_{s+1} - d_s|`` with ``d_ref = 0``.
    ``Mbar = 0`` is exact parallel trends after adoption; ``Mbar = 1`` allows post-period changes as large as the
    worst pre-period change. Computed with diff-diff's ``HonestDiD(method="relative_magnitude")``: the identified
    set is its linear programme with the pre-period violations pinned to the pre-period coefficients (R-R Lemma 2.2);
    the interval is that set widened by ``crit * se`` on each side (``HONEST_CI_METHOD``).

    - ``event_study_tidy``: an event study of this module with a reference row (estimate 0, no SE): TWFE
      (:func:`twfe_event_study`), :func:`sun_abraham`, or the Callaway-Sant'Anna dynamic aggregation with
      ``base_period="universal"`` (with the varying base period its pre-period rows are period-to-period changes,
      not violations relative to one reference, and are refused). Binned end points (``binned_endpoints``) are
      not single periods and are dropped. Pre periods: event time < reference; post: > reference (anticipation
      periods count as post but get no weight in the target).
    - ``vcov``: covariance indexed by event time; ``None`` uses ``attrs['vcov']`` (TWFE, Sun-Abraham); a
      :class:`CSResult` builds it from the influence functions (:func:`cs_event_vcov`).
    - ``target``: "average_post" (equal-weight mean of event times 0, 1, ...) or an event time (int, 0 or more).
    - critical values: t with ``attrs['df']`` degrees of freedom when present (TWFE, Sun-Abraham), else normal.

    Returns one row per Mbar: ``mbar, conf_low, conf_high, id_low, id_high, estimate, std_error,
    orig_conf_low, orig_conf_high, breakdown_mbar, method, target, ci_method, alpha, n_pre, n_post``.
    ``breakdown_mbar``: smallest Mbar at which the interval contains 0 (bisection to 1e-4; NaN when the interval
    still excludes 0 at Mbar 10; 0 when it contains 0 under parallel trends).
    """
    from diff_diff.honest_did import HonestDiD

    grid = _check_honest_options(method, mbar_grid, alpha)
    es, est, ref, pre, post = _event_rows(event_study_tidy)
    ks = pre + post
    V = _event_vcov(vcov, event_study_tidy, ks)
    Vm = np.asarray(V.loc[ks, ks].to_numpy(), float)
    b = est.set_index("event_time").loc[ks, "estimate"].to_numpy(float)
    l_vec, tlabel = _target_weights(target, post)
    dfd = event_study_tidy.attrs.get("df")
    crit = float(stats.t.ppf(1 - alpha / 2, dfd) if dfd is not None else stats.norm.ppf(1 - alpha / 2))
    res, theta, th_se = _as_diff_diff_results(
        ks, b, Vm, l_vec, crit, int(es["n_obs"].iloc[0]), ref, len(pre), alpha, dfd
    )
    hd = HonestDiD(method="relative_magnitude", alpha=alpha, l_vec=l_vec)
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for m in grid:
            r = hd.fit(res, M=float(m))
            rows.append((float(m), r.ci_lb, r.ci_ub, r.lb, r.ub, r.original_estimate, r.original_se))
        bd = _breakdown_mbar(hd, res)
    out = pd.DataFrame(
        rows, columns=["mbar", "conf_low", "conf_high", "id_low", "id_high", "estimate", "std_error"]
    )
    out["orig_conf_low"] = theta - crit * th_se
    out["orig_conf_high"] = theta + crit * th_se
    out["breakdown_mbar"] = bd
    out["method"] = method
    out["target"] = tlabel
    out["ci_method"] = HONEST_CI_METHOD
    out["alpha"] = alpha
    out["n_pre"], out["n_post"] = len(pre), len(post)
    if "estimator" in es:
        out["estimator"] = es["estimator"].iloc[0]
    return out.sort_values("mbar").reset_index(drop=True)


def _check_honest_options(method: str, mbar_grid, alpha: float) -> np.ndarray:
    check_choice("method", method, HONEST_METHODS)
    grid = np.asarray(list(mbar_grid), float)
    if grid.size == 0 or not np.all(np.isfinite(grid)) or np.any(grid < 0):
        raise ParameterError(
            "mbar_grid", list(mbar_grid), hint="a non-empty list of finite numbers, 0 or more"
        )
    if not 0 < alpha < 1:
        raise ParameterError("alpha", alpha, hint="a number strictly between 0 and 1")
    return grid


def _event_rows(
    event_study_tidy: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame, int, list[int], list[int]]:
    """The event-study rows (``es``), those with a standard error (``est``), the reference event time and the
    consecutive pre and post event times around it (binned end points dropped)."""
    es = event_study_tidy[event_study_tidy["event_time"].notna()].copy()
    es["event_time"] = es["event_time"].astype(int)
    if "base_period" in es and (es["base_period"] == "varying").any():
        raise ParameterError(
            "event_study_tidy",
            "Callaway-Sant'Anna with base_period='varying'",
            ["universal"],
            hint="pre-period rows must be relative to one reference period; re-run "
            "callaway_santanna(..., base_period='universal')",
        )
    has_se = es["std_error"].notna() & (es["std_error"] > 0)
    refs = es.loc[~has_se & (es["estimate"] == 0), "event_time"].tolist()
    if len(refs) != 1:
        raise ParameterError(
            "event_study_tidy",
            f"reference rows at {refs}",
            hint="exactly one reference row (estimate 0, no SE) is needed",
        )
    ref = int(refs[0])
    if "binned_endpoints" in es and bool(es["binned_endpoints"].iloc[0]):
        es = es[
            (es["event_time"] > es["event_time"].min()) & (es["event_time"] < es["event_time"].max())
            | (es["event_time"] == ref)
        ]
    est = es[es["std_error"].notna() & (es["std_error"] > 0)].sort_values("event_time")
    pre = [k for k in est["event_time"] if k < ref]
    post = [k for k in est["event_time"] if k > ref]
    if not pre or not post:
        raise EmptySampleError(
            f"honest_did needs pre and post coefficients around the reference {ref}; "
            f"got pre {pre}, post {post}"
        )
    if pre != list(range(ref - len(pre), ref)) or post != list(range(ref + 1, ref + 1 + len(post))):
        raise DataError(
            f"honest_did needs consecutive event times around the reference {ref}; got pre {pre}, post {post}"
        )
    return es, est, ref, pre, post


def _event_vcov(vcov, event_study_tidy: pd.DataFrame, ks: list[int]) -> pd.DataFrame:
    """The covariance of the event-time coefficients ``ks`` (see :func:`honest_did`'s ``vcov``)."""
    if isinstance(vcov, CSResult):
        return cs_event_vcov(vcov, ks)
    V = vcov if vcov is not None else event_study_tidy.attrs.get("vcov")
    if V is None:
        raise ParameterError(
            "vcov",
            None,
            hint="no covariance: pass a DataFrame indexed by event time, a "
            "CSResult, or a frame with attrs['vcov']",
        )
    missing = [k for k in ks if k not in V.index]
    if missing:
        raise ParameterError("vcov", f"missing event times {missing}", hint=f"needs rows for {ks}")
    return V


def _target_weights(target: str | int, post: list[int]) -> tuple[np.ndarray, str]:
    """Weights over the post event times (summing to 1) and the target's label."""
    if target == "average_post":
        l_vec = np.array([1.0 if k >= 0 else 0.0 for k in post])
        tlabel = "average_post"
    else:
        if (
            isinstance(target, bool)
            or not isinstance(target, (int, np.integer))
            or int(target) not in post
            or int(target) < 0
        ):
            raise ParameterError("target", target, ["average_post"] + [k for k in post if k >= 0])
        l_vec = np.array([1.0 if k == int(target) else 0.0 for k in post])
        tlabel = f"event_time::{int(target)}"
    if l_vec.sum() == 0:
        raise EmptySampleError("no post-period coefficient at event time 0 or later")
    return l_vec / l_vec.sum(), tlabel


def _as_diff_diff_results(
    ks: list[int],
    b: np.ndarray,
    Vm: np.ndarray,
    l_vec: np.ndarray,
    crit: float,
    n_obs: int,
    ref: int,
    n_pre: int,
    alpha: float,
    dfd,
):
    """The event study as diff-diff's ``MultiPeriodDiDResults`` (what its ``HonestDiD`` reads), with the target
    estimate and its standard error."""
    from diff_diff.results import MultiPeriodDiDResults, PeriodEffect

    se = np.sqrt(np.diag(Vm))
    pe = {
        k: PeriodEffect(
            period=k,
            effect=float(bk),
            se=float(sk),
            t_stat=float(bk / sk),
            p_value=float("nan"),
            conf_int=(float(bk - crit * sk), float(bk + crit * sk)),
        )
        for k, bk, sk in zip(ks, b, se, strict=True)
    }
    theta = float(l_vec @ b[n_pre:])
    th_se = float(np.sqrt(l_vec @ Vm[n_pre:, n_pre:] @ l_vec))
    res = MultiPeriodDiDResults(
        period_effects=pe,
        avg_att=theta,
        avg_se=th_se,
        avg_t_stat=theta / th_se,
        avg_p_value=float("nan"),
        avg_conf_int=(theta - crit * th_se, theta + crit * th_se),
        n_obs=n_obs,
        n_treated=0,
        n_control=0,
        pre_periods=ks[:n_pre] + [ref],
        post_periods=ks[n_pre:],
        alpha=alpha,
        vcov=Vm,
        reference_period=ref,
        interaction_indices={k: i for i, k in enumerate(ks)},
    )
    res.df_inference = dfd  # t critical values with the event study's df (diff-diff reads this attribute)
    return res, theta, th_se


def _breakdown_mbar(hd, res) -> float:
    """Smallest Mbar whose interval contains 0 (bisection to 1e-4 on [0, 10]; NaN when even Mbar 10 excludes 0)."""

    def covers0(m: float) -> bool:
        r = hd.fit(res, M=m)
        return not (np.isfinite(r.ci_lb) and np.isfinite(r.ci_ub)) or r.ci_lb <= 0 <= r.ci_ub

    if covers0(0.0):
        return 0.0
    if not covers0(10.0):
        return np.nan
    lo, hi = 0.0, 10.0
    while hi - lo > 1e-4:
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if covers0(mid) else (mid, hi)
    return hi
