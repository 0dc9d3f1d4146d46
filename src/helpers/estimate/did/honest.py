"""Rambachan-Roth sensitivity of event-study conclusions to parallel-trends violations: relative magnitudes
(C-LF confidence sets, :mod:`.arp`) and smoothness (optimal FLCI), with breakdown values."""

from __future__ import annotations

import contextlib
import warnings
from importlib import metadata

import numpy as np
import pandas as pd
from scipy import special, stats

from helpers.core.errors import DataError, EmptySampleError, ParameterError
from helpers.core.params import check_choice
from helpers.estimate.did import arp
from helpers.estimate.did.callaway import CSResult

HONEST_METHODS = ("relative_magnitudes", "smoothness")

#: Confidence-interval construction per restriction: R HonestDiD's defaults (createSensitivityResults*).
HONEST_CI_METHOD = {
    "relative_magnitudes": (
        "C-LF: conditional-least-favourable hybrid test of Andrews, Roth and Pakes, inverted over a grid of "
        "1,000 values (R HonestDiD default for Delta^RM; least-favourable size alpha/10, 1,000 simulation draws, "
        "post-period moments only); normal critical values"
    ),
    "smoothness": (
        "FLCI: optimal fixed-length confidence interval of Rambachan and Roth (2023, section 4.1; R HonestDiD "
        "default for Delta^SD), via diff-diff's HonestDiD(method='smoothness'); normal critical values"
    ),
}

#: The bound's name per restriction (column ``bound`` of :func:`honest_did`).
HONEST_BOUND = {"relative_magnitudes": "Mbar", "smoothness": "M"}


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
    grid_points: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Rambachan-Roth sensitivity of an event-study effect to bounded violations of parallel trends, with R
    HonestDiD's default confidence sets (:data:`HONEST_CI_METHOD`).

    - ``method="relative_magnitudes"`` (Delta^RM): each post-period change of the trend violation is at most
      ``Mbar`` times the largest pre-period change, ``|d_{t+1} - d_t| <= Mbar * max_{s<ref} |d_{s+1} - d_s|``
      (``d_ref = 0``). Confidence set: the conditional-least-favourable hybrid (C-LF; :mod:`.arp`). ``Mbar = 0``
      is exact parallel trends after adoption.
    - ``method="smoothness"`` (Delta^SD): the slope of the violation changes by at most ``M`` (outcome units per
      period) between consecutive periods; ``M = 0`` allows only a linear trend continuing the pre-trend.
      Confidence set: the optimal FLCI (diff-diff, which reproduces R's). ``mbar_grid=None`` (or []) uses R's
      default grid: 5 values from 0 to the upper 95% bound of the largest pre-period second difference
      (:func:`sd_upper_bound_mpre`).
    - ``event_study_tidy``: an event study of this module with a reference row (estimate 0, no SE): TWFE
      (:func:`twfe_event_study`), :func:`sun_abraham`, or the Callaway-Sant'Anna dynamic aggregation with
      ``base_period="universal"``. End points that absorbed binned event times (column ``binned`` True) are not
      single periods and are dropped; end points with nothing binned are kept. Pre periods: event time < reference;
      post: > reference (anticipation periods count as post but get no weight in the target).
    - ``vcov``: covariance indexed by event time; ``None`` uses ``attrs['vcov']`` (TWFE, Sun-Abraham); a
      :class:`CSResult` builds it from the influence functions (:func:`cs_event_vcov`).
    - ``target``: "average_post" (equal-weight mean of event times 0, 1, ...) or an event time (int, 0 or more).
    - ``grid_points``: values of theta tested over +-20 standard errors (C-LF only; R's default 1,000); ``seed``:
      seed of the least-favourable critical value's simulation.

    Returns one row per bound value: ``mbar`` (the bound, named in ``bound``), ``conf_low, conf_high`` (robust
    interval), ``id_low, id_high`` (identified set with the pre-period violations pinned to the pre-period
    coefficients), ``estimate, std_error, orig_conf_low, orig_conf_high`` (the target under parallel trends,
    normal interval), ``open_at_grid_end`` (C-LF set reaching the +-20 SE grid end: the interval is wider than
    shown), ``breakdown_mbar`` (smallest bound at which the robust confidence set contains 0, found by
    bisection: 0 when it contains 0 under the smallest restriction; NaN when it still excludes 0 at 16 times the
    largest grid value), ``method, ci_method, target, alpha, n_pre, n_post, pre_event_times, post_event_times``.
    """
    check_choice("method", method, HONEST_METHODS)
    es, est, ref, pre, post = _event_rows(event_study_tidy)
    ks = pre + post
    V = _event_vcov(vcov, event_study_tidy, ks)
    Vm = np.asarray(V.loc[ks, ks].to_numpy(), float)
    b = est.set_index("event_time").loc[ks, "estimate"].to_numpy(float)
    l_vec, tlabel = _target_weights(target, post)
    if method == "smoothness" and (mbar_grid is None or len(list(mbar_grid)) == 0):
        mbar_grid = list(
            np.linspace(0, sd_upper_bound_mpre(b[: len(pre)], Vm[: len(pre), : len(pre)], alpha), 5)
        )
    grid = _check_honest_options(method, mbar_grid, alpha)
    z = float(stats.norm.ppf(1 - alpha / 2))
    theta = float(l_vec @ b[len(pre) :])
    th_se = float(np.sqrt(l_vec @ Vm[len(pre) :, len(pre) :] @ l_vec))
    if method == "smoothness":
        engine = _SDEngine(ks, b, Vm, len(pre), l_vec, alpha, int(es["n_obs"].iloc[0]), ref)
    else:
        engine = _RMEngine(b, Vm, len(pre), len(post), l_vec, alpha, grid_points, seed)
    rows = [(float(m), *engine.interval(float(m)), *engine.identified(float(m))) for m in grid]
    out = pd.DataFrame(rows, columns=["mbar", "conf_low", "conf_high", "id_low", "id_high"])
    out["estimate"], out["std_error"] = theta, th_se
    out["orig_conf_low"], out["orig_conf_high"] = theta - z * th_se, theta + z * th_se
    out = out.sort_values("mbar").reset_index(drop=True)
    out["breakdown_mbar"] = _breakdown(engine, out)
    if (
        method == "relative_magnitudes"
    ):  # R warns "CI is open at one of the endpoints": the set reaches the grid end
        edge = 20 * th_se * (1 - 1e-9)
        out["open_at_grid_end"] = (out["conf_low"] <= -edge) | (out["conf_high"] >= edge)
    else:
        out["open_at_grid_end"] = False
    out["bound"] = HONEST_BOUND[method]
    out["method"] = method
    out["target"] = tlabel
    out["ci_method"] = HONEST_CI_METHOD[method]
    out["alpha"] = alpha
    out["n_pre"], out["n_post"] = len(pre), len(post)
    out["pre_event_times"] = ",".join(map(str, pre))
    out["post_event_times"] = ",".join(map(str, post))
    if "estimator" in es:
        out["estimator"] = es["estimator"].iloc[0]
    return out


def sd_upper_bound_mpre(b_pre: np.ndarray, V_pre: np.ndarray, alpha: float = 0.05) -> float:
    """Upper one-sided (1 - alpha) bound on the largest absolute second difference of the pre-period violations
    (with the reference period's 0 appended), as R ``DeltaSD_upperBound_Mpre``: max over the second differences
    of |estimate| + z_{1-alpha} * SE. With one pre-period: its SE."""
    n = len(b_pre)
    if n < 2:
        return float(np.sqrt(V_pre[0, 0]))
    x = np.r_[b_pre, 0.0]
    Vx = np.zeros((n + 1, n + 1))
    Vx[:n, :n] = V_pre
    D = np.zeros((n - 1, n + 1))
    for i in range(n - 1):
        D[i, i : i + 3] = [1.0, -2.0, 1.0]
    sd = np.sqrt(np.diag(D @ Vx @ D.T))
    return float(np.max(np.abs(D @ x) + stats.norm.ppf(1 - alpha) * sd))


class _RMEngine:
    """Delta^RM: C-LF interval, identified set and the test of theta = 0 at a given Mbar."""

    def __init__(self, b, V, n_pre, n_post, l_vec, alpha, grid_points, seed):
        self.args = (b, V, n_pre, n_post, l_vec)
        self.alpha, self.grid_points, self.seed = alpha, int(grid_points), seed
        if n_post < 2:
            raise EmptySampleError(
                "the C-LF confidence set for relative magnitudes needs at least two post-period coefficients "
                f"(got {n_post}); widen the event window"
            )

    def interval(self, m: float) -> tuple[float, float]:
        return arp.rm_clf_interval(*self.args, m, self.alpha, self.grid_points, seed=self.seed)

    def identified(self, m: float) -> tuple[float, float]:
        b, _, n_pre, n_post, l_vec = self.args
        return arp.rm_identified_set(b, n_pre, n_post, l_vec, m)

    def covers0(self, m: float) -> bool:
        return arp.rm_accepts(*self.args, m, 0.0, self.alpha, self.seed)

    tol = 0.005


class _SDEngine:
    """Delta^SD: optimal FLCI and identified set from diff-diff's HonestDiD (public API)."""

    def __init__(self, ks, b, V, n_pre, l_vec, alpha, n_obs, ref):
        from diff_diff.honest_did import HonestDiD

        self.res = _as_diff_diff_results(ks, b, V, n_obs, ref, n_pre, alpha)
        self.hd = HonestDiD(method="smoothness", alpha=alpha, l_vec=l_vec)
        self._cache: dict[float, object] = {}
        self.tol = max(1e-4 * float(np.sqrt(np.diag(V)).mean()), 1e-10)

    def _fit(self, m: float):
        if m not in self._cache:
            with warnings.catch_warnings(), fast_folded_normal_cv():
                warnings.simplefilter("ignore")
                self._cache[m] = self.hd.fit(self.res, M=m)
        return self._cache[m]

    def interval(self, m: float) -> tuple[float, float]:
        r = self._fit(m)
        return float(r.ci_lb), float(r.ci_ub)

    def identified(self, m: float) -> tuple[float, float]:
        r = self._fit(m)
        return float(r.lb), float(r.ub)

    def covers0(self, m: float) -> bool:
        lo, hi = self.interval(m)
        return not (np.isfinite(lo) and np.isfinite(hi)) or lo <= 0 <= hi


#: the diff-diff release whose ``_cv_alpha`` :func:`folded_normal_cv` reproduces (pinned in pyproject.toml)
DIFF_DIFF_CV_ALPHA_VERSION = "3.13.0"
_SQRT_2PI = np.sqrt(2 * np.pi)  # scipy.stats.norm's pdf constant


def folded_normal_cv(t: float, alpha: float, df: float | None = None) -> float:
    """The (1 - alpha) quantile of ``|N(t, 1)|``: diff-diff 3.13.0's ``_cv_alpha`` (Rambachan and Roth 2023, eq. 18)
    with the same Newton iteration, start, stopping rule and floating-point operations, but on ``scipy.special``
    instead of ``scipy.stats.norm``, whose per-call argument handling was two thirds of the FLCI's time (the
    optimal-FLCI grid search evaluates it about 280 times per bound). Bit-identical to diff-diff's (tested);
    ``df`` (diff-diff's folded non-central t) is not reimplemented and is refused."""
    if df is not None:
        raise ParameterError("df", df, hint="folded_normal_cv is the normal-theory critical value (df=None)")
    target = 1 - alpha
    t = abs(t)
    x = special.ndtri(1 - alpha / 2) + t
    for _ in range(20):
        f = special.ndtr(x - t) - special.ndtr(-x - t) - target
        fprime = np.exp(-((x - t) ** 2) / 2.0) / _SQRT_2PI + np.exp(-((-x - t) ** 2) / 2.0) / _SQRT_2PI
        if fprime < 1e-15:
            break
        x_new = x - f / fprime
        x_new = max(x_new, 0.0)
        if abs(x_new - x) < 1e-12:
            break
        x = x_new
    return x


@contextlib.contextmanager
def fast_folded_normal_cv():
    """Within the block, diff-diff's FLCI uses :func:`folded_normal_cv` for normal-theory critical values (its own
    ``_cv_alpha`` for a survey ``df``). Only for the diff-diff release it reproduces; any other runs unpatched."""
    from diff_diff import honest_did as dd

    original = dd._cv_alpha
    if metadata.version("diff-diff") != DIFF_DIFF_CV_ALPHA_VERSION or getattr(original, "_fast", False):
        yield
        return

    def cv(t, alpha, df=None):
        return original(t, alpha, df=df) if df is not None else folded_normal_cv(t, alpha)

    cv._fast = True
    dd._cv_alpha = cv
    try:
        yield
    finally:
        dd._cv_alpha = original


def _breakdown(engine, out: pd.DataFrame) -> float:
    """Smallest bound at which the robust confidence set contains 0 (bisection, bracketed by the grid)."""
    ms = out["mbar"].to_numpy()
    inside = (out["conf_low"] <= 0) & (out["conf_high"] >= 0)
    inside = inside.to_numpy() | ~np.isfinite(out["conf_low"].to_numpy())
    if inside[0] and ms[0] == 0:
        return 0.0
    lo = 0.0
    if inside.any():
        j = int(np.argmax(inside))
        hi = float(ms[j])
        lo = float(ms[j - 1]) if j > 0 else 0.0
    else:
        hi = float(max(ms.max(), 1e-12))
        lo = hi
        for _ in range(4):
            hi *= 2
            if engine.covers0(hi):
                break
            lo = hi
        else:
            return np.nan
    if engine.covers0(lo):
        return lo
    while hi - lo > engine.tol:
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if engine.covers0(mid) else (mid, hi)
    return hi


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
    if "binned" in es:  # end points that absorbed event times beyond the window are not single periods
        es = es[~es["binned"].fillna(False).astype(bool)]
    elif "binned_endpoints" in es and bool(es["binned_endpoints"].iloc[0]):  # frames without per-row flags
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
    ks: list[int], b: np.ndarray, Vm: np.ndarray, n_obs: int, ref: int, n_pre: int, alpha: float
):
    """The event study as diff-diff's ``MultiPeriodDiDResults`` (what its ``HonestDiD`` reads); normal critical
    values (no ``df_inference``), as R HonestDiD."""
    from diff_diff.results import MultiPeriodDiDResults, PeriodEffect

    z = float(stats.norm.ppf(1 - alpha / 2))
    se = np.sqrt(np.diag(Vm))
    pe = {
        k: PeriodEffect(
            period=k,
            effect=float(bk),
            se=float(sk),
            t_stat=float(bk / sk),
            p_value=float("nan"),
            conf_int=(float(bk - z * sk), float(bk + z * sk)),
        )
        for k, bk, sk in zip(ks, b, se, strict=True)
    }
    return MultiPeriodDiDResults(
        period_effects=pe,
        avg_att=float("nan"),
        avg_se=float("nan"),
        avg_t_stat=float("nan"),
        avg_p_value=float("nan"),
        avg_conf_int=(float("nan"), float("nan")),
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
