"""Inference extras for panel treatment effects: wild cluster bootstrap and randomization inference.

- :func:`wild_cluster_bootstrap` - restricted (null-imposed, WCR) wild cluster bootstrap-t p-value for one
  coefficient of a fixed-effects OLS (Rademacher or Webb weights). Hand-written (pyfixest's ``wildboottest``
  needs the ``wildboottest`` package, which pulls numba); every bootstrap sample is re-projected on the fixed
  effects (alternating projections, tested against pyfixest's ``demean``), so each bootstrap t equals a
  pyfixest CRV1 refit on that sample (tested).
- :func:`randomization_inference` - permutes first-treatment dates (ratification years) across units, recomputes
  the TWFE coefficient of the implied staggered treatment dummy, and returns the permutation distribution and the
  two-sided p-value.
Both tests use fixed seeds and return tidy one-row frames (``attrs['distribution']`` / ``attrs['t_boot']`` hold
the draws).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.core.errors import DataError, EmptySampleError, ParameterError
from helpers.core.params import check_choice, check_draws
from helpers.estimate.fe import demean, fe_codes

BOOT_WEIGHTS = ("rademacher", "webb")


def _boot_weights(G: int, B: int, rng: np.random.Generator, kind: str) -> np.ndarray:
    if kind == "rademacher":
        return rng.choice(np.array([-1.0, 1.0]), size=(B, G))
    vals = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])
    return rng.choice(vals, size=(B, G))


def _crv_t(
    X: np.ndarray, Y: np.ndarray, cl: np.ndarray, G: int, j: int, h0: float, XtX_inv: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients j and CR1 t-statistics (G/(G-1)) for every column of Y (n x m) with design X (n x k)."""
    beta = XtX_inv @ (X.T @ Y)  # k x m
    U = Y - X @ beta  # n x m
    a = X @ XtX_inv[:, j]  # n: row j of (X'X)^-1 X'
    S = np.zeros((G, Y.shape[1]))
    np.add.at(S, cl, a[:, None] * U)  # cluster sums of a_i u_i
    var = (S**2).sum(axis=0) * G / (G - 1)
    return beta[j], (beta[j] - h0) / np.sqrt(var)


def _check_wcb_columns(
    df: pd.DataFrame, outcome: str, param: str, cluster: str | None, covariates: list[str], fe: list[str]
) -> None:
    for par, c in (
        [("outcome", outcome), ("param", param), ("cluster", cluster)]
        + [("covariates", c) for c in covariates]
        + [("fe", c) for c in fe]
    ):
        if c is not None and c not in df.columns:
            raise ParameterError(par, c, sorted(map(str, df.columns)), hint="column not in the data")
    if cluster is None:
        raise ParameterError("cluster", None, hint="name the cluster column (e.g. the country id)")


def _within(
    d: pd.DataFrame, outcome: str, regressors: list[str], fe: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Outcome and regressors with the fixed effects swept out (or with an intercept column appended when there
    are none), and the fixed-effect codes (None without fixed effects)."""
    y = d[outcome].to_numpy(float)
    X = d[regressors].to_numpy(float)
    if not fe:
        return y, np.column_stack([X, np.ones(len(X))]), None
    codes = fe_codes(d, fe)
    Z = demean(np.column_stack([y, X]), codes)
    return Z[:, 0], Z[:, 1:], codes


def _restricted_fit(yd: np.ndarray, Xd: np.ndarray, h0: float) -> tuple[np.ndarray, np.ndarray]:
    """Fitted values and residuals of the restricted model: y - h0 * x (column 0) on the other regressors."""
    yr = yd - h0 * Xd[:, 0]
    Xo = Xd[:, 1:]
    if Xo.shape[1]:
        go = np.linalg.lstsq(Xo, yr, rcond=None)[0]
        fit_r = Xo @ go
    else:
        fit_r = np.zeros_like(yr)
    return fit_r, yr - fit_r


def wild_cluster_bootstrap(
    df: pd.DataFrame,
    outcome: str,
    param: str,
    covariates: list[str] | None = None,
    fe: list[str] | None = None,
    cluster: str | None = None,
    h0: float = 0.0,
    B: int = 999,
    weights: str = "rademacher",
    seed: int = 20240607,
    boot_weights: np.ndarray | None = None,
) -> pd.DataFrame:
    """Restricted wild cluster bootstrap-t test of ``param == h0`` in ``outcome ~ param + covariates | fe``.

    The null is imposed (WCR): residuals and fitted values come from the model with ``param`` fixed at ``h0``;
    bootstrap outcomes are fitted + residual x cluster weight, re-projected on the fixed effects, and
    re-estimated with CR1 (G/(G-1)) standard errors. p-value = share of |t*| >= |t| (two-sided, symmetric).
    Only ratios of t-statistics matter, so the small-sample factor does not change the p-value.
    ``boot_weights`` (B x G) overrides the drawn weights (for tests). Returns a one-row tidy frame;
    ``attrs['t_boot']`` holds the bootstrap t-statistics.
    """
    covariates = list(covariates or [])
    fe = list(fe or [])
    check_choice("weights", weights, BOOT_WEIGHTS)
    if boot_weights is None:
        check_draws("B", B, minimum=1)
    _check_wcb_columns(df, outcome, param, cluster, covariates, fe)
    d = df[list(dict.fromkeys([outcome, param, *covariates, *fe, cluster]))].dropna()
    if d.empty:
        raise EmptySampleError("no complete rows for the wild cluster bootstrap")
    yd, Xd, codes = _within(d, outcome, [param, *covariates], fe)
    cl, _ = pd.factorize(d[cluster])
    G = int(cl.max()) + 1
    if G < 2:
        raise DataError(f"wild cluster bootstrap needs at least 2 clusters in {cluster!r}")
    XtX_inv = np.linalg.pinv(Xd.T @ Xd)
    b, t = _crv_t(Xd, yd[:, None], cl, G, 0, h0, XtX_inv)
    fit_r, u_r = _restricted_fit(yd, Xd, h0)
    if boot_weights is None:
        rng = np.random.default_rng(seed)
        V = _boot_weights(G, B, rng, weights)
    else:
        V = np.asarray(boot_weights, float)
        B = V.shape[0]
    tb = np.empty(B)
    for s in range(0, B, 250):
        Vc = V[s : s + 250]
        Ystar = (fit_r + h0 * Xd[:, 0])[:, None] + u_r[:, None] * Vc[:, cl].T
        if codes is not None:
            Ystar = demean(Ystar, codes)
        tb[s : s + len(Vc)] = _crv_t(Xd, Ystar, cl, G, 0, h0, XtX_inv)[1]
    p = float(np.mean(np.abs(tb) >= abs(t[0]) - 1e-12))
    out = pd.DataFrame(
        {
            "term": [param],
            "estimate": b,
            "std_error": (b - h0) / t,
            "statistic": t,
            "p_value": [p],
            "conf_low": [np.nan],
            "conf_high": [np.nan],
            "n_obs": [len(d)],
            "n_units": [G],
            "inference": [
                (
                    f"wild cluster bootstrap-t, null imposed (WCR), {weights} "
                    f"weights, B={B}, seed={seed}, clusters={cluster} (G={G})"
                )
            ],
            "h0": [h0],
        }
    )
    out.attrs["t_boot"] = tb
    return out


def _twfe_coef_many(yd: np.ndarray, Dd: np.ndarray, Wd: np.ndarray | None) -> np.ndarray:
    """TWFE coefficient of each column of Dd (already demeaned), partialling out demeaned covariates Wd."""
    if Wd is not None and Wd.shape[1]:
        P = Wd @ np.linalg.pinv(Wd.T @ Wd) @ Wd.T
        yd = yd - P @ yd
        Dd = Dd - P @ Dd
    return (Dd * yd[:, None]).sum(axis=0) / (Dd**2).sum(axis=0)


def randomization_inference(
    df: pd.DataFrame,
    unit: str,
    time: str,
    outcome: str,
    cohort: str,
    covariates: list[str] | None = None,
    n_perm: int = 499,
    seed: int = 20240607,
    anticipation: int = 0,
) -> pd.DataFrame:
    """Randomization inference for the TWFE effect of a staggered treatment, permuting adoption dates.

    Each unit's first-treatment time (cohort; never-treated codes normalised as in
    :func:`helpers.did.normalize_cohort`) is shuffled across units (never-treated included), the dummy
    ``D = 1[time >= cohort]`` rebuilt, and ``outcome ~ D + covariates | unit + time`` re-estimated. Two-sided
    p-value ``(1 + #{|b*| >= |b|}) / (1 + n_perm)``. Rows with missing values are dropped first; the panel may be
    unbalanced. Returns a one-row tidy frame; ``attrs['distribution']`` holds the permuted coefficients.
    """
    from helpers.estimate.did import normalize_cohort

    covariates = list(covariates or [])
    check_draws("n_perm", n_perm, minimum=1)
    for par, c in [("unit_col", unit), ("time_col", time), ("outcome", outcome), ("cohort_col", cohort)] + [
        ("covariates", c) for c in covariates
    ]:
        if c not in df.columns:
            raise ParameterError(par, c, sorted(map(str, df.columns)), hint="column not in the data")
    d = df[[unit, time, outcome, cohort, *covariates]].copy()
    d = d[d[[outcome, *covariates]].notna().all(axis=1)]
    if d.empty:
        raise EmptySampleError("no complete rows for randomization inference")
    g, _ = normalize_cohort(d[cohort], d[time], column=cohort)
    d["_g"] = g
    ug = d.groupby(unit, sort=True)["_g"].first()
    if np.isfinite(ug).sum() == 0:
        raise DataError("no treated units: nothing to permute")
    if len(np.unique(ug)) < 2:
        raise DataError("no variation in treatment timing: permuting identical dates changes nothing")
    codes = fe_codes(d, [unit, time])
    uidx = pd.Categorical(d[unit], categories=ug.index).codes
    tt = d[time].to_numpy(float)
    Z = demean(
        np.column_stack([d[outcome].to_numpy(float)] + [d[c].to_numpy(float) for c in covariates]), codes
    )
    yd, Wd = Z[:, 0], (Z[:, 1:] if covariates else None)
    D0 = (tt >= ug.to_numpy()[uidx] - anticipation).astype(float)
    if D0.std() == 0:
        raise DataError("the treatment dummy does not vary in the sample")
    b_obs = float(_twfe_coef_many(yd, demean(D0, codes), Wd)[0])
    rng = np.random.default_rng(seed)
    gv = ug.to_numpy()
    draws = np.empty(n_perm)
    for s in range(0, n_perm, 100):
        m = min(100, n_perm - s)
        Dm = np.empty((len(d), m))
        for k in range(m):
            perm = rng.permutation(gv)
            Dm[:, k] = tt >= perm[uidx] - anticipation
        Dd = demean(Dm, codes)
        ok = (Dd**2).sum(axis=0) > 1e-12
        bk = np.full(m, np.nan)
        bk[ok] = _twfe_coef_many(yd, Dd[:, ok], Wd)
        draws[s : s + m] = bk
    valid = draws[np.isfinite(draws)]
    p = float((1 + np.sum(np.abs(valid) >= abs(b_obs) - 1e-12)) / (1 + len(valid)))
    out = pd.DataFrame(
        {
            "term": ["treated"],
            "estimate": [b_obs],
            "std_error": [float(np.std(valid, ddof=1))],
            "statistic": [np.nan],
            "p_value": [p],
            "conf_low": [np.nan],
            "conf_high": [np.nan],
            "n_obs": [len(d)],
            "n_units": [len(ug)],
            "inference": [
                (
                    f"randomization inference: adoption dates permuted across units, "
                    f"{len(valid)} permutations, seed={seed}; std_error = SD of permuted "
                    f"coefficients"
                )
            ],
        }
    )
    out.attrs["distribution"] = valid
    return out
