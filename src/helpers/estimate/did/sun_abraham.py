"""Sun-Abraham interaction-weighted event study (own regression on the fixed-effects kernel; diff-diff as a check)."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import linalg

from helpers.core.errors import DataError, ParameterError
from helpers.core.params import check_choice
from helpers.estimate.did.callaway import CONTROL_GROUPS
from helpers.estimate.did.cohorts import NEVER, StaggeredPanel
from helpers.estimate.did.common import binned_flags, dd_frame, tidy_from_arrays
from helpers.estimate.fe import TwoWayWithin, demean


def sun_abraham(
    p: StaggeredPanel, control_group: str = "auto", window: tuple[int, int] | None = None, alpha: float = 0.05
) -> pd.DataFrame:
    """Sun-Abraham interaction-weighted event study, clustered by unit (CRV1 with fixest's small-sample factor,
    :data:`SA_SSC`).

    A saturated regression ``y ~ sum_{g,e} 1[G=g, t-g=e] + covariates | unit + time`` (reference e = -1 -
    anticipation; fixed effects swept out of the sparse design's cross-products, :func:`_clustered_within_ols`), then cohort-specific effects are averaged
    per event time with cohort-share weights (delta-method SEs, weights treated as fixed, as fixest ``sunab``).
    ``control_group``: "nevertreated" (needs never-treated units), "lastcohort" (the last-treated cohort is the
    control; periods from its adoption on are dropped) or "auto" (never-treated if any, else last cohort).
    ``window=(lo, hi)`` bins relative times beyond the end points per cohort (None = all event times).
    Checked against diff-diff's ``SunAbraham`` and a pyfixest saturated regression in the tests.
    """
    control_group, d = _sa_sample(p, control_group)
    ref = -1 - p.anticipation
    treated = np.isfinite(d["g"]).to_numpy()
    rel = (d["time"] - d["g"]).to_numpy()
    rel_raw = rel[treated]
    if window is not None:
        rel = np.clip(rel, window[0], window[1])
    gv = d["g"].to_numpy()
    cells = sorted({(g, int(e)) for g, e in zip(gv[treated], rel[treated], strict=True) if int(e) != ref})
    X = _sa_design(d, p.covariates, cells, gv, rel, treated, ref)
    beta, vcov_of, keep, G = _clustered_within_ols(d, X)
    kept = [c for c, k in zip(cells + [None] * len(p.covariates), keep, strict=True) if k and c is not None]
    idx = {c: i for i, c in enumerate(kept)}
    sizes = d.drop_duplicates("unit").groupby("g").size()
    es = sorted({e for _, e in kept})
    W = np.zeros((len(es), len(beta)))
    for i, e in enumerate(es):
        gs = [g for g, ee in kept if ee == e]
        w = np.array([sizes[g] for g in gs], float)
        W[i, [idx[(g, e)] for g in gs]] = w / w.sum()
    est = W @ beta
    cov = vcov_of(W)
    out = tidy_from_arrays(
        [f"event_time::{e}" for e in es],
        est,
        np.sqrt(np.diag(cov)),
        len(d),
        d["unit"].nunique(),
        alpha,
        df=G - 1,
    )
    out.insert(1, "event_time", es)
    out = pd.concat(
        [
            out,
            pd.DataFrame(
                {
                    "term": [f"event_time::{ref}"],
                    "event_time": [ref],
                    "estimate": [0.0],
                    "n_obs": len(d),
                    "n_units": G,
                }
            ),
        ],
        ignore_index=True,
    )
    out = out.sort_values("event_time").reset_index(drop=True)
    out["estimator"] = "sun_abraham"
    out["se_type"] = (
        "CRV1 by unit, fixest small-sample factor G/(G-1) x (N-1)/(N-K), delta method with fixed cohort-share "
        "weights, t(G-1)"
    )
    out["control_group"] = control_group
    out["binned_endpoints"] = window is not None
    out["binned"] = (
        binned_flags(out["event_time"], rel_raw, window[0], window[1], True) if window is not None else False
    )
    out.attrs["vcov"] = pd.DataFrame(cov, index=es, columns=es)
    out.attrs["df"] = G - 1
    # overall: average over treated observations with e >= 0 (cell weights = number of treated obs in the cell)
    cnt = pd.Series(list(zip(gv[treated], rel[treated].astype(int), strict=True))).value_counts()
    wv = np.zeros(len(beta))
    for c, i in idx.items():
        if c[1] >= 0:
            wv[i] = cnt.get(c, 0)
    wv /= wv.sum()
    hi_binned = window is not None and bool((rel_raw > window[1]).any())
    out.attrs["overall_weights"] = pd.DataFrame(
        [(c[0], c[1], wv[i]) for c, i in idx.items() if c[1] >= 0], columns=["group", "event_time", "weight"]
    ).assign(binned=lambda x: hi_binned & (x["event_time"] == (window[1] if window is not None else np.nan)))
    ov_est, ov_se = float(wv @ beta), float(np.sqrt(vcov_of(wv[None, :])[0, 0]))
    overall = tidy_from_arrays(["att"], [ov_est], [ov_se], len(d), G, alpha, df=G - 1)
    out.attrs["overall"] = overall.assign(estimator="sun_abraham", se_type=out["se_type"].iloc[0])
    return out


def _sa_sample(p: StaggeredPanel, control_group: str) -> tuple[str, pd.DataFrame]:
    """The control group in use ("auto" resolved) and the sample: with the last cohort as control, the periods
    before its adoption (minus anticipation), that cohort recoded never-treated."""
    check_choice("control_group", control_group, ("auto", "nevertreated", "lastcohort"))
    if control_group == "auto":
        control_group = "nevertreated" if p.n_never > 0 else "lastcohort"
    if control_group == "nevertreated" and p.n_never == 0:
        raise ParameterError(
            "control_group",
            control_group,
            ("auto", "lastcohort"),
            hint="the sample has no never-treated units",
        )
    d = p.data.copy()
    if control_group == "lastcohort":
        glast = p.cohorts.max()
        if len(p.cohorts) < 2:
            raise DataError("Sun-Abraham with the last cohort as control needs at least two cohorts")
        d = d[d["time"] < glast - p.anticipation].copy()
        d.loc[d["g"] == glast, "g"] = NEVER
    return control_group, d


def _sa_design(
    d: pd.DataFrame,
    covariates: list[str],
    cells: list[tuple],
    gv: np.ndarray,
    rel: np.ndarray,
    treated: np.ndarray,
    ref: int,
):
    """Saturated design, sparse (CSR): one indicator per (cohort, event time) cell except the reference, then the
    covariates (dense columns)."""
    from scipy import sparse

    col = {c: i for i, c in enumerate(cells)}
    rows = [r for r in np.flatnonzero(treated) if int(rel[r]) != ref]
    cols = [col[(gv[r], int(rel[r]))] for r in rows]
    X = sparse.csr_matrix(
        (np.ones(len(rows)), (np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64))),
        shape=(len(d), len(cells)),
    )
    if covariates:
        X = sparse.hstack([X, sparse.csr_matrix(d[covariates].to_numpy(float))], format="csr")
    return X


#: Small-sample convention of :func:`sun_abraham`'s cluster-robust covariance (fixest ``sunab`` / pyfixest default).
SA_SSC = (
    "CRV1 by unit with fixest's default small-sample factor G/(G-1) x (N-1)/(N-K), K = slope coefficients + "
    "time effects (unit effects are nested in the clusters and not counted), as fixest sunab and pyfixest"
)


def _clustered_within_ols(d: pd.DataFrame, X) -> tuple[np.ndarray, Callable, np.ndarray, int]:
    """OLS of y on ``X`` (sparse) within unit and time, with the CRV1 covariance by unit and fixest's small-sample
    factor (:data:`SA_SSC`: G/(G-1) x (N-1)/(N-K)). Returns the coefficients, ``vcov_of`` (``vcov_of(L)`` is
    ``L V L'`` for rows ``L`` of weights on the coefficients, V their covariance), the mask of the columns kept (not
    swept out by the fixed effects) and G.

    The saturated design is a sparse indicator matrix, so the fixed effects are swept out of its cross-products
    (:class:`helpers.estimate.fe.TwoWayWithin`, exact) instead of out of the dense n x K design, and ``X'MX`` is
    factorised once (Cholesky; the pseudo-inverse when it is singular or nearly so), never inverted; the results
    are the within regression's to rounding (tests/test_did.py: against pyfixest, and against the dense sweep)."""
    cl, _ = pd.factorize(d["unit"], sort=True)
    tc, _ = pd.factorize(d["time"], sort=True)
    G, n = int(cl.max()) + 1, len(d)
    y = d["y"].to_numpy(float)
    w = TwoWayWithin(cl, tc, X, y)
    keep = np.diag(w.XtMX) > 1e-10
    solve = _psd_solver(w.XtMX[np.ix_(keep, keep)])
    beta = solve(w.XtMy[keep])
    Xk = X[:, np.flatnonzero(keep)]
    u = demean((y - Xk @ beta)[:, None], np.column_stack([cl, tc]))[:, 0]  # within residuals
    S = w.cluster_scores(Xk, u, keep)  # per-unit sums of (M X)_i u_i
    k = int(keep.sum()) + int(d["time"].nunique())
    factor = G / (G - 1) * (n - 1) / (n - k)

    def vcov_of(L: np.ndarray) -> np.ndarray:
        SAL = S @ solve(np.asarray(L, float).T)  # S (X'MX)^-1 L'
        return SAL.T @ SAL * factor

    return beta, vcov_of, keep, G


def _psd_solver(A: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """``B -> A^-1 B`` for a symmetric positive semi-definite ``A``: by Cholesky when ``A`` is well conditioned
    (every pivot above 1e-12 of the largest diagonal entry), else by the pseudo-inverse (numpy's cut-off), as the
    dense path did."""
    d = np.diag(A)
    if len(d) and d.min() > 0:
        try:
            c, low = linalg.cho_factor(A, lower=True, check_finite=False)
            if np.diag(c).min() ** 2 > 1e-12 * d.max():
                return lambda B: linalg.cho_solve((c, low), B, check_finite=False)
        except linalg.LinAlgError:
            pass
    P = np.linalg.pinv(A)
    return lambda B: P @ B


def sun_abraham_dd(
    p: StaggeredPanel, control_group: str = "nevertreated", alpha: float = 0.05
) -> pd.DataFrame:
    """Sun-Abraham via diff-diff's ``SunAbraham`` (reference implementation used to check :func:`sun_abraham`;
    slow on long panels with many cohorts). ``control_group``: "nevertreated" or "notyettreated"."""
    import diff_diff as dd

    check_choice("control_group", control_group, CONTROL_GROUPS)
    df, _ = dd_frame(p)
    cg = {"nevertreated": "never_treated", "notyettreated": "not_yet_treated"}[control_group]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = dd.SunAbraham(control_group=cg, anticipation=p.anticipation, cluster="unit", alpha=alpha).fit(
            df,
            outcome="y",
            unit="unit",
            time="time",
            first_treat="first_treat",
            covariates=p.covariates or None,
        )
    r = res.to_dataframe()
    out = tidy_from_arrays(
        [f"event_time::{int(k)}" for k in r["relative_period"]],
        r["effect"],
        r["se"],
        p.data.shape[0],
        p.n_units,
        alpha,
    )
    out.insert(1, "event_time", r["relative_period"].astype(int).to_numpy())
    out["estimator"] = "sun_abraham_diffdiff"
    out.attrs["overall"] = tidy_from_arrays(
        ["att"], [res.overall_att], [res.overall_se], p.data.shape[0], p.n_units, alpha
    )
    return out
