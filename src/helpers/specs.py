"""Specification-curve engine: thousands of two-way fixed-effects regressions with clustered SEs in seconds.

A multiverse (:func:`specification_grid`: outcomes x treatment codings x control sets x lags x windows x
estimators) is estimated by :func:`run_specs`:

1. Every candidate column (outcomes, lagged treatment codings, lagged controls, lagged outcomes for the
   lagged-dependent-variable estimator) is built once per lag from the panel, with the same names and codings as
   :func:`helpers.models.fit` (it reuses :func:`helpers.models.treatment_block` / ``control_block``).
2. Specifications are grouped by their estimation sample (the rows where all their variables are non-missing
   inside their year window). For each distinct sample the country and year fixed effects are swept out of all
   the group's columns at once, **exactly**: country demeaning followed by the projection on the
   country-demeaned year dummies, solved through the small T x T system
   ``D_t' M_c D_t b = D_t' M_c z`` (T = years; minimum-norm solution, so disconnected samples are fine). This is
   the limit that alternating projections converge to, reached without iterating.
3. Each specification is then a small least-squares problem on the demeaned columns (Gram matrix computed once
   per sample), with country-clustered sandwich SEs from demeaned residuals and per-country score sums.

Standard errors: ``CRV1`` (pyfixest/fixest default: G/(G-1) x (N-1)/(N-K), K = regressors + years, i.e. the
country FE nested in the cluster are not counted), ``CR1`` (Stata/statsmodels: K counts every FE dummy:
regressors + countries + years - 1) or ``CRV3`` (cluster jackknife: sum over countries of
(b_(-g) - b)(b_(-g) - b)', no small-sample factor, as pyfixest's ``{"CRV3": "iso3"}`` with
``ssc(k_adj=False, G_adj=False)`` in :func:`helpers.models.fit`). CRV3 is exact, not an approximation that
keeps the full-sample year effects: dropping a country and re-estimating every fixed effect equals adding one
dummy per row of that country, so each leave-one-country-out fit is a rank-n_g downdate of the swept Gram
matrix (:meth:`TwoWaySweeper.loo_corrections`; n_g = the country's years), computed once per sample. It costs
about two to three times a CRV1 run; pyfixest refits the model G times instead. :func:`twfe_crv3` exposes it for one
model (used by :func:`helpers.models.fit`). No singleton removal (as ``fixef_rm="none"`` in pyfixest and statsmodels).
Inference on t(G-1). Regressors that are collinear once the fixed effects are swept out are dropped (relative
tolerance 1e-9, as pyfixest's ``collin_tol``); a specification whose focal treatment is dropped, whose sample is
empty, or whose treatment has no within-country variation is returned with a ``skipped`` reason.

Only linear estimators are in the engine (``twfe``, ``twfe_ldv``); ordered logit and 2SLS go through
:func:`helpers.models.fit`.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import linalg, stats

from helpers import models as M
from helpers.errors import ParameterError, check_choice, check_choices

SPEC_ESTIMATORS = ["twfe", "twfe_ldv"]
SPEC_SE_TYPES = ["CRV1", "CR1", "CRV3"]
COLLIN_TOL = 1e-9

DEFAULT_MULTIVERSE: dict[str, list] = {
    "outcomes": ["v2x_gender", "v2x_gencl", "v2x_gencs", "v2x_genpp", "v2lgfemleg", "v2cldiscw"],
    "codings": ["ratified", "years_since", "years_since_binned", "optional_protocol", "res_any"],
    "controls": ["none", "cole", "cole_plus"],
    "lags": [0, 1, 2],
    "windows": [(1981, 2022), (1990, 2022), (1981, 2011)],
    "estimators": ["twfe", "twfe_ldv"],
}

RESULT_COLUMNS = ["spec_id", "treaty", "outcome", "coding", "controls", "lag", "window", "estimator", "term",
                  "estimate", "std_error", "statistic", "p_value", "conf_low", "conf_high", "n_obs", "n_units",
                  "r2_within", "outcome_sd", "skipped"]


def _window_label(w: Sequence[int]) -> str:
    return f"{int(w[0])}-{int(w[1])}"


def specification_grid(treaty: str = "cedaw", outcomes: Sequence[str] | None = None,
                       codings: Sequence[str] | None = None, controls: Sequence[str] | None = None,
                       lags: Sequence[int] | None = None, windows: Sequence[Sequence[int]] | None = None,
                       estimators: Sequence[str] | None = None, panel: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every combination of the choices (None = :data:`DEFAULT_MULTIVERSE`), one row per specification.

    Choices are validated (unknown values raise ParameterError listing valid ones). With ``panel`` given,
    default outcomes absent from it are left out (explicitly requested ones must exist). Codings that do not
    exist for ``treaty`` (reservations other than CEDAW's, optional protocols of treaties without one) are left
    out of a default grid and rejected when requested explicitly.
    """
    d = DEFAULT_MULTIVERSE
    check_choice("treaty", treaty, M.TREATIES)
    if outcomes is None:
        outcomes = [o for o in d["outcomes"] if panel is None or o in panel.columns]
    else:
        outcomes = check_choices("outcomes", list(outcomes), M.valid_outcomes(panel))
    if codings is None:
        codings = []
        for c in d["codings"]:
            try:
                M.treatment_columns(treaty, c)
                codings.append(c)
            except ParameterError:
                pass
    else:
        codings = check_choices("codings", list(codings), M.CODINGS)
        for c in codings:
            M.treatment_columns(treaty, c)
    controls = d["controls"] if controls is None else check_choices("controls", list(controls),
                                                                      list(M.CONTROL_SETS))
    lags = d["lags"] if lags is None else list(lags)
    for lg in lags:
        if not isinstance(lg, (int, np.integer)) or not 0 <= lg <= 10:
            raise ParameterError("lags", lg, list(range(11)))
    windows = d["windows"] if windows is None else [tuple(w) for w in windows]
    for w in windows:
        if len(w) != 2 or int(w[0]) > int(w[1]):
            raise ParameterError("windows", w, hint="each window a (first_year, last_year) pair")
    estimators = d["estimators"] if estimators is None else check_choices("estimators", list(estimators),
                                                                          SPEC_ESTIMATORS)
    rows = [{"treaty": treaty, "outcome": o, "coding": c, "controls": ct, "lag": int(lg), "window": _window_label(w),
                 "year_start": int(w[0]), "year_end": int(w[1]), "estimator": e}
            for o, c, ct, lg, w, e in itertools.product(outcomes, codings, controls, lags, windows, estimators)]
    out = pd.DataFrame(rows)
    out.insert(0, "spec_id", np.arange(len(out)))
    return out


@dataclass
class _Spec:
    idx: int
    y: str
    x: list[str]
    focal: str
    mask_cols: list[str]
    year_start: int
    year_end: int


class TwoWaySweeper:
    """Exact country + year fixed-effects projection for one estimation sample (rows sorted by country)."""

    def __init__(self, country: np.ndarray, year: np.ndarray):
        self.c_codes, self.c_uni = pd.factorize(country, sort=True)
        self.t_codes, self.t_uni = pd.factorize(year, sort=True)
        self.c_codes, self.t_codes = self.c_codes.astype(np.intp), self.t_codes.astype(np.intp)
        n = len(country)
        self.n, self.C, self.T = n, len(self.c_uni), len(self.t_uni)
        if n and np.any(np.diff(self.c_codes) < 0):
            raise ValueError("TwoWaySweeper needs rows sorted by country")
        self.starts = np.r_[0, np.flatnonzero(np.diff(self.c_codes)) + 1] if n else np.zeros(0, int)
        self.nc = np.diff(np.r_[self.starts, n]).astype(float)
        A = np.bincount(self.c_codes * self.T + self.t_codes, minlength=self.C * self.T).reshape(self.C, self.T)
        A = A.astype(float)                                      # C x T counts
        self.WtW = np.diag(A.sum(axis=0)) - A.T @ (A / self.nc[:, None])   # D_t' M_c D_t
        self.WtW_pinv = linalg.pinvh(self.WtW) if self.T > 1 else np.zeros((1, 1))

    def country_sums(self, Z: np.ndarray) -> np.ndarray:
        """Per-country column sums (C x p)."""
        return np.add.reduceat(Z, self.starts, axis=0)

    def country_demean(self, Z: np.ndarray) -> np.ndarray:
        means = self.country_sums(Z) / self.nc[:, None]
        return Z - means[self.c_codes]

    def loo_corrections(self, Zd: np.ndarray, tol: float = 1e-9) -> np.ndarray:
        """Per-country matrices ``A_g = Zd_g' (M_gg)^+ Zd_g`` (C x p x p) for exact leave-one-country-out fits.

        ``Zd`` are columns already swept of both fixed effects on the full sample; ``M_gg`` is the block of the
        two-way annihilator ``I - P`` on country g's rows (P projects on the country and year dummies of the
        full sample). Dropping country g and re-estimating *every* fixed effect (the year effects included) on
        the remaining rows gives the same slope coefficients as adding one dummy per row of g to the full
        model; by Frisch-Waugh-Lovell those dummies, swept, are ``M E_g`` with Gram matrix ``M_gg`` and
        cross-products ``Zd_g``. Hence ``X'X_(-g) = Zd_x'Zd_x - A_g[x, x]`` and ``X'y_(-g) = Zd_x'Zd_y - A_g[x, y]``
        exactly, with no refit. ``P_gg = 11'/n_g + W_g Q W_g'`` with ``W_g`` the country-demeaned year dummies
        of g's rows and ``Q = (D_t' M_c D_t)^+``. Pseudo-inverse eigenvalue cut-off ``tol`` (``M_gg`` has
        eigenvalues in [0, 1] and an exact zero along g's constant).
        """
        C, T = self.C, self.T
        ng = self.nc.astype(int)
        nmax = int(ng.max())
        pos = np.arange(nmax)
        valid = pos[None, :] < ng[:, None]                                   # C x nmax
        R = np.where(valid, self.starts[:, None] + pos[None, :], 0)          # row index (padded with row 0)
        tp = self.t_codes[R]                                                 # C x nmax year codes
        A = np.bincount(self.c_codes * T + self.t_codes, minlength=C * T).reshape(C, T).astype(float)
        Q = self.WtW_pinv if T > 1 else np.zeros((1, 1))
        QA = A @ Q                                                           # C x T: (Q a_g)'
        u = np.take_along_axis(QA, tp, axis=1)                               # C x nmax: (Q a_g)[t_i]
        sq = np.einsum("ct,ct->c", QA, A)                                    # a_g' Q a_g
        inv_n = 1.0 / ng
        P = (Q[tp[:, :, None], tp[:, None, :]] - (u[:, :, None] + u[:, None, :]) * inv_n[:, None, None]
             + (sq * inv_n ** 2 + inv_n)[:, None, None])
        both = valid[:, :, None] & valid[:, None, :]
        Mgg = np.where(both, -P, 0.0)
        Mgg[:, pos, pos] += 1.0                                              # I - P; identity on the padding
        Zg = Zd[R] * valid[:, :, None]                                       # C x nmax x p (padding rows zero)
        # Zd_g sums to zero within g (country-demeaned), so (M_gg)^+ Zd_g = (M_gg + 11'/n_g)^-1 Zd_g when g's
        # constant is the only null direction of M_gg (Cholesky fast path). Otherwise (a year observed only in
        # g, or g's removal disconnecting the sample) the eigendecomposition handles that country.
        S = Mgg + np.where(both, inv_n[:, None, None], 0.0)
        out = np.empty((C, Zd.shape[1], Zd.shape[1]))
        slow = np.ones(C, dtype=bool)
        try:
            L = np.linalg.cholesky(S)
            slow = np.diagonal(L, axis1=1, axis2=2).min(axis=1) ** 2 <= tol
            ok = ~slow
            Y = np.linalg.solve(L[ok], Zg[ok])                               # L^-1 Zd_g
            out[ok] = np.einsum("cip,ciq->cpq", Y, Y)
        except np.linalg.LinAlgError:
            pass
        if slow.any():
            w, V = np.linalg.eigh(Mgg[slow])
            winv = np.where(w > tol, 1.0 / np.where(w > tol, w, 1.0), 0.0)
            VtZ = np.einsum("cij,cip->cjp", V, Zg[slow])
            out[slow] = np.einsum("cjp,cj,cjq->cpq", VtZ, winv, VtZ)
        return out

    def sweep(self, Z: np.ndarray) -> np.ndarray:
        """Residuals of ``Z`` (n x p) on country and year dummies."""
        Zc = self.country_demean(Z)
        if self.T == 1:
            return Zc
        yt = np.stack([np.bincount(self.t_codes, weights=Zc[:, j], minlength=self.T) for j in range(Zc.shape[1])],
                      axis=1)                                    # D_t' M_c Z
        b = self.WtW_pinv @ yt                                   # T x p year coefficients
        return Zc - self.country_demean(b[self.t_codes])


def _jackknife_vcov(XtX: np.ndarray, Xty: np.ndarray, beta: np.ndarray, loo: np.ndarray, kept: np.ndarray,
                    iy: int) -> np.ndarray:
    """CRV3: sum over countries of (b_(-g) - b)(b_(-g) - b)' from the leave-one-country-out downdates ``loo``."""
    H = XtX[None, :, :] - loo[:, kept[:, None], kept[None, :]]
    rhs = Xty[None, :] - loo[:, kept, iy]
    try:
        b_loo = np.linalg.solve(H, rhs[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:                                        # a regressor varies in one country only
        b_loo = np.einsum("gij,gj->gi", np.linalg.pinv(H), rhs)
    dev = b_loo - beta[None, :]
    return dev.T @ dev


def twfe_crv3(country: np.ndarray, year: np.ndarray, y: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients and CRV3 (country jackknife) covariance of ``y ~ X | country + year``, without refits.

    Rows in any order, no missing values, X of full rank after the fixed effects. Equals pyfixest's
    ``feols(..., vcov={"CRV3": country}, ssc=ssc(k_adj=False, G_adj=False))`` (which refits the model once per
    country) to rounding; see :meth:`TwoWaySweeper.loo_corrections` for why it is exact.
    """
    country = np.asarray(country)
    order = np.argsort(country, kind="stable")
    sw = TwoWaySweeper(country[order], np.asarray(year)[order])
    Z = np.column_stack([np.asarray(y, float), np.asarray(X, float)])[order]
    Zd = sw.sweep(Z)
    Gram = Zd.T @ Zd
    kept = np.arange(1, Z.shape[1])
    XtX, Xty = Gram[1:, 1:], Gram[1:, 0]
    beta = np.linalg.solve(XtX, Xty)
    return beta, _jackknife_vcov(XtX, Xty, beta, sw.loo_corrections(Zd), kept, 0)


def _build_store(panel: pd.DataFrame, grid: pd.DataFrame) -> tuple[dict[str, np.ndarray], list[_Spec]]:
    """All candidate columns (float arrays over panel rows) and the per-spec variable lists."""
    store: dict[str, np.ndarray] = {}
    for o in grid["outcome"].unique():
        store[o] = M._as_float(panel[o])
    for o in grid.loc[grid["estimator"].eq("twfe_ldv"), "outcome"].unique():
        store[f"{o}_l1"] = M.lag_within(panel, [o], 1)[o].to_numpy()
    blocks: dict[tuple, tuple[list[str], str]] = {}
    cblocks: dict[tuple, list[str]] = {}
    for (treaty, lag), g in grid.groupby(["treaty", "lag"], sort=True):
        raw = set()
        for c in g["coding"].unique():
            raw |= set(M.treatment_columns(treaty, c)[0])
        ctl_sets = {ct: M.control_columns(treaty, M.CONTROL_SETS[ct], "twfe")[0] for ct in g["controls"].unique()}
        for cols in ctl_sets.values():
            raw |= {c for c in cols if c != "income_group"}
        missing = sorted(c for c in raw | ({"income_group"} if any("income_group" in v for v in ctl_sets.values())
                                           else set()) if c not in panel.columns)
        if missing:
            raise ParameterError("controls", sorted(g["controls"].unique()), hint=f"panel lacks column(s) {missing}")
        lagged = M.lag_within(panel, sorted(raw), int(lag))
        for c in g["coding"].unique():
            cols, terms, focal, _ = M.treatment_block(lagged, treaty, c, int(lag))
            store.update(cols)
            blocks[(treaty, c, lag)] = (terms, focal)
        for ct, cols_ in ctl_sets.items():
            cols, names = M.control_block(panel, cols_, int(lag), lagged)
            store.update(cols)
            cblocks[(treaty, ct, lag)] = names
    specs = []
    for r in grid.itertuples(index=False):
        terms, focal = blocks[(r.treaty, r.coding, r.lag)]
        x = list(terms) + cblocks[(r.treaty, r.controls, r.lag)]
        if r.estimator == "twfe_ldv":
            x.append(f"{r.outcome}_l1")
        specs.append(_Spec(int(r.spec_id), r.outcome, x, focal, [r.outcome, *x], int(r.year_start), int(r.year_end)))
    return store, specs


def _collinear_keep(G: np.ndarray, tol: float = COLLIN_TOL) -> np.ndarray:
    """Indices of columns kept by a sequential Cholesky collinearity check on a Gram matrix.

    Column j is dropped when its squared residual on the kept earlier columns is below ``tol`` times its own sum
    of squares (scale-free). Fast path: one Cholesky factorisation when nothing is collinear.
    """
    d = np.diag(G).copy()
    if np.all(d > 0):
        try:
            L = np.linalg.cholesky(G)
            if np.all(np.diag(L) ** 2 > tol * d):
                return np.arange(G.shape[0])
        except np.linalg.LinAlgError:
            pass
    keep: list[int] = []
    for j in range(G.shape[0]):
        if d[j] <= 0:
            continue
        if keep:
            gk = G[keep, j]
            resid = d[j] - gk @ np.linalg.solve(G[np.ix_(keep, keep)], gk)
        else:
            resid = d[j]
        if resid > tol * d[j]:
            keep.append(j)
    return np.array(keep, dtype=int)


def run_specs(panel: pd.DataFrame, grid: pd.DataFrame | None = None, se: str = "CRV1", level: float = 0.95,
              progress: bool | None = None) -> pd.DataFrame:
    """Estimate every specification of ``grid`` (default: :func:`specification_grid` on ``panel``).

    Returns one row per specification (:data:`RESULT_COLUMNS`, plus the grid's other columns), sorted by
    ``spec_id``. ``progress`` shows a tqdm bar (default: on for more than 2,000 specifications).
    """
    check_choice("se", se, SPEC_SE_TYPES)
    if grid is None:
        grid = specification_grid(panel=panel)
    bad = sorted(set(grid["estimator"]) - set(SPEC_ESTIMATORS))
    if bad:
        raise ParameterError("estimator", bad[0], SPEC_ESTIMATORS,
                             hint="ologit and iv run through helpers.models.fit, not the fast engine")
    for o in grid["outcome"].unique():
        check_choice("outcome", o, M.valid_outcomes(panel))
    panel = panel.sort_values(["iso3", "year"]).reset_index(drop=True)
    store, specs = _build_store(panel, grid)
    year = panel["year"].to_numpy(dtype=int)
    iso = panel["iso3"].astype(str).to_numpy()
    notna = {k: ~np.isnan(v) for k, v in store.items()}

    # group specifications by their estimation sample
    groups: dict[bytes, list[_Spec]] = {}
    masks: dict[bytes, np.ndarray] = {}
    win_cache: dict[tuple[int, int], np.ndarray] = {}
    for s in specs:
        w = (s.year_start, s.year_end)
        if w not in win_cache:
            win_cache[w] = (year >= w[0]) & (year <= w[1])
        m = win_cache[w].copy()
        for c in s.mask_cols:
            m &= notna[c]
        key = np.packbits(m).tobytes()
        groups.setdefault(key, []).append(s)
        masks.setdefault(key, m)

    rows: dict[int, dict] = {}
    show = len(specs) > 2000 if progress is None else progress
    it = groups.items()
    if show:
        from tqdm import tqdm
        it = tqdm(it, total=len(groups), desc="samples", unit="sample", mininterval=0.5)
    for key, members in it:
        m = masks[key]
        n = int(m.sum())
        if n == 0:
            for s in members:
                rows[s.idx] = _skipped(s, "empty sample", 0, 0)
            continue
        sw = TwoWaySweeper(iso[m], year[m])
        if sw.C < 2:
            for s in members:
                rows[s.idx] = _skipped(s, "fewer than 2 countries (clusters) in sample", n, sw.C)
            continue
        cols = list(dict.fromkeys(c for s in members for c in [s.y, *s.x]))
        pos = {c: i for i, c in enumerate(cols)}
        Z = np.column_stack([store[c][m] for c in cols])
        Zd = sw.sweep(Z)
        Gram = Zd.T @ Zd
        loo = sw.loo_corrections(Zd) if se == "CRV3" else None        # C x p x p, exact leave-one-country-out
        raw_ss = ((Z - Z.mean(axis=0)) ** 2).sum(axis=0)
        raw_sd = np.sqrt(raw_ss / max(n - 1, 1))
        G = sw.C
        q = stats.t.ppf(0.5 + level / 2, G - 1)
        for s in members:
            iy = pos[s.y]
            ix = np.array([pos[c] for c in s.x])
            fi = pos[s.focal]
            # treatment with no within variation (relative to its raw variation) -> skipped
            if raw_ss[fi] == 0 or Gram[fi, fi] <= COLLIN_TOL * raw_ss[fi]:
                rows[s.idx] = _skipped(s, f"no within-country variation in treatment ({s.focal})", n, G)
                continue
            if Gram[iy, iy] == 0:
                rows[s.idx] = _skipped(s, f"outcome {s.y} has no variation after fixed effects", n, G)
                continue
            kept = ix[_collinear_keep(Gram[np.ix_(ix, ix)])]
            if fi not in kept:
                rows[s.idx] = _skipped(s, f"treatment {s.focal} collinear with fixed effects/controls", n, G)
                continue
            XtX = Gram[np.ix_(kept, kept)]
            Xty = Gram[kept, iy]
            XtX_inv = np.linalg.inv(XtX)
            XtX_inv = (XtX_inv + XtX_inv.T) / 2
            beta = XtX_inv @ Xty
            X = Zd[:, kept]
            e = Zd[:, iy] - X @ beta
            if loo is not None:
                V = _jackknife_vcov(XtX, Xty, beta, loo, kept, iy)
            else:
                scores = sw.country_sums(X * e[:, None])                # G x k
                meat = scores.T @ scores
                k = len(kept)
                K = k + sw.T if se == "CRV1" else k + sw.C + sw.T - 1
                adj = G / (G - 1) * (n - 1) / (n - K)
                V = adj * XtX_inv @ meat @ XtX_inv
            j = int(np.where(kept == fi)[0][0])
            b, sej = float(beta[j]), float(np.sqrt(V[j, j]))
            t = b / sej
            r2w = 1 - float(e @ e) / float(Gram[iy, iy])
            rows[s.idx] = {"spec_id": s.idx, "term": s.focal, "estimate": b, "std_error": sej, "statistic": t,
                               "p_value": np.nan, "conf_low": b - q * sej, "conf_high": b + q * sej, "n_obs": n, "n_units": G,
                               "r2_within": r2w, "outcome_sd": float(raw_sd[iy]), "skipped": ""}
    res = pd.DataFrame([rows[i] for i in sorted(rows)])
    ok = res["skipped"].eq("").to_numpy()
    res.loc[ok, "p_value"] = 2 * stats.t.sf(np.abs(res.loc[ok, "statistic"].to_numpy(float)),
                                            res.loc[ok, "n_units"].to_numpy(float) - 1)
    out = grid.merge(res, on="spec_id", how="left", validate="one_to_one")
    front = [c for c in RESULT_COLUMNS if c in out.columns]
    return out[front + [c for c in out.columns if c not in front]].sort_values("spec_id").reset_index(drop=True)


def _skipped(s: _Spec, reason: str, n: int, g: int) -> dict:
    return {"spec_id": s.idx, "term": s.focal, "estimate": np.nan, "std_error": np.nan, "statistic": np.nan, "p_value": np.nan,
                "conf_low": np.nan, "conf_high": np.nan, "n_obs": n, "n_units": g, "r2_within": np.nan, "outcome_sd": np.nan,
                "skipped": reason}


def summarize(results: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Specification-curve summary of the estimated (non-skipped) specs: counts, median, shares positive/significant."""
    ok = results[results["skipped"].eq("") & results["estimate"].notna()]
    est, p = ok["estimate"], ok["p_value"]
    return pd.DataFrame([{
        "n_specs": len(results), "n_estimated": len(ok), "n_skipped": int(len(results) - len(ok)),
        "median_estimate": float(est.median()) if len(ok) else np.nan,
        "share_positive": float((est > 0).mean()) if len(ok) else np.nan,
        "share_significant": float((p < alpha).mean()) if len(ok) else np.nan,
        "share_positive_significant": float(((est > 0) & (p < alpha)).mean()) if len(ok) else np.nan,
        "share_negative_significant": float(((est < 0) & (p < alpha)).mean()) if len(ok) else np.nan,
        "alpha": alpha}])


CHOICE_COLUMNS = ["outcome", "coding", "controls", "lag", "window", "estimator"]
CHOICE_TITLES = {"outcome": "Outcome", "coding": "Treatment coding", "controls": "Controls", "lag": "Lag",
                 "window": "Years", "estimator": "Estimator"}
SPEC_ESTIMATOR_LABELS = {"twfe": "TWFE", "twfe_ldv": "TWFE + lagged DV"}


def choice_label(choice: str, value: object) -> str:
    """Readable label of one value of a multiverse choice (e.g. ``("lag", 1)`` -> ``"1 year"``)."""
    v = str(value)
    if choice == "outcome":
        return M.variable_label(v)
    if choice == "coding":
        return M.CODING_LABELS.get(v, v)
    if choice == "controls":
        return M.CONTROL_SET_LABELS.get(v, v)
    if choice == "lag":
        return f"{v} year" + ("" if v == "1" else "s")
    if choice == "window":
        return v.replace("-", "–")
    if choice == "estimator":
        return SPEC_ESTIMATOR_LABELS.get(v, v)
    return v


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    return f"rgba({int(h[0:2], 16)},{int(h[2:4], 16)},{int(h[4:6], 16)},{alpha})"


def spec_curve_figure(results: pd.DataFrame, choices: Sequence[str] = CHOICE_COLUMNS, alpha: float = 0.05,
                      title: str | None = None, height: int | None = None, standardize: bool | None = None):
    """Specification curve: estimates sorted, with CIs (top), above an indicator panel of the choices (bottom).

    Points are coloured by sign and significance at ``alpha`` (positive significant, negative significant, not
    significant). The indicator panel has one row per value of each choice (readable labels,
    :func:`choice_label`), grouped under a bold header per choice; a cell is filled, in the colour of the
    specification's point, where that specification made that choice. Skipped specifications are left out
    (their count is in the x-axis title). ``standardize`` (default: when there is more than one outcome)
    divides estimates and CIs by the outcome's standard deviation in each specification's sample, so that
    outcomes on different scales share one axis (significance unchanged).
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from helpers import plots

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
    code = np.where(sig & pos, 1, np.where(sig & ~pos, 2, 0))              # 0 n.s., 1 positive, 2 negative
    names = {1: f"positive, p < {alpha:.2g}", 2: f"negative, p < {alpha:.2g}", 0: "not significant"}
    colours = {1: plots.OKABE_ITO["blue"], 2: plots.OKABE_ITO["vermillion"], 0: "#8C8C8C"}

    # indicator rows: a header row per choice, then one row per value (in the grid's order)
    row_text: list[str] = []
    z_rows: list[np.ndarray] = []
    for c in choices:
        row_text.append(f"<b>{CHOICE_TITLES.get(c, c)}</b>")
        z_rows.append(np.full(n, np.nan))
        vals = ok[c].astype(str).to_numpy()
        order = [str(v) for v in dict.fromkeys(results.sort_values("spec_id")[c].astype(str))] \
            if "spec_id" in results.columns else sorted(set(vals))
        for v in order:
            if v not in set(vals):
                continue
            row_text.append(choice_label(c, v))
            z_rows.append(np.where(vals == v, code, np.nan).astype(float))
    n_rows = len(row_text)
    row_px, top_px = 13, 300
    total = height or (top_px + row_px * n_rows + 130)
    frac_top = top_px / (top_px + row_px * n_rows)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.025,
                        row_heights=[frac_top, 1 - frac_top])
    thin = n > 300
    ci_alpha = 0.3 if n > 1000 else (0.5 if thin else 0.6)
    ci_width = 0.5 if n > 1000 else (0.9 if thin else 1.2)
    for k in (1, 2, 0):
        m = code == k
        if not m.any():
            continue
        d = ok[m]
        fig.add_trace(go.Scatter(
            x=x[m], y=d["estimate"], mode="markers", name=names[k],
            marker={"color": colours[k], "size": 3 if thin else 5},
            error_y={"type": "data", "symmetric": False, "array": d["conf_high"] - d["estimate"],
                     "arrayminus": d["estimate"] - d["conf_low"], "thickness": ci_width, "width": 0,
                     "color": _rgba(colours[k], ci_alpha)},
            customdata=d[choices].astype(str).to_numpy(),
            hovertemplate="estimate %{y:.4f}<br>" + "<br>".join(f"{c}: %{{customdata[{i}]}}"
                                                                 for i, c in enumerate(choices)) + "<extra></extra>",
        ), row=1, col=1)
    fig.add_hline(y=0, line={"color": "#000000", "width": 1, "dash": "dot"}, row=1, col=1)
    scale = [[0.0, colours[0]], [1 / 3, colours[0]], [1 / 3, colours[1]], [2 / 3, colours[1]],
             [2 / 3, colours[2]], [1.0, colours[2]]]
    fig.add_trace(go.Heatmap(z=np.vstack(z_rows) if z_rows else np.zeros((0, n)), x=x, y=np.arange(n_rows),
                             zmin=-0.5, zmax=2.5, colorscale=scale, showscale=False, hoverinfo="skip", ygap=1),
                  row=2, col=1)
    fig.update_yaxes(title_text="Estimate / SD of outcome (95% CI)" if standardize else "Estimate (95% CI)",
                     row=1, col=1)
    fig.update_yaxes(tickmode="array", tickvals=list(range(n_rows)), ticktext=row_text, showgrid=False,
                     autorange=False, range=[n_rows - 0.5, -0.5], ticks="", showline=False,
                     tickfont={"size": plots.FONT_SIZE - 2}, row=2, col=1)
    n_skip = len(results) - n
    fig.update_xaxes(range=[-0.5, n - 0.5], row=1, col=1)
    fig.update_xaxes(range=[-0.5, n - 0.5], showgrid=False, row=2, col=1,
                     title_text=f"Specifications sorted by estimate ({n:,} estimated"
                                f"{f', {n_skip:,} skipped' if n_skip else ''})")
    fig.update_layout(template=plots.TEMPLATE, title=title, height=total,
                      legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1,
                              "itemsizing": "constant"},
                      margin={"t": 70 if title else 40})
    return fig
