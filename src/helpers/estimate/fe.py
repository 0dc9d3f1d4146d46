"""The fixed-effects kernel: every estimator of the package sweeps fixed effects out through this module.

- :func:`fe_codes` - integer codes of one or more fixed-effect columns;
- :func:`demean` - project columns off any number of fixed effects: exactly for one or two (the
  :class:`TwoWaySweeper`), by alternating projections for more (as pyfixest's ``demean`` and fixest);
- :class:`TwoWaySweeper` - the exact country + year projection of one estimation sample, with exact
  leave-one-country-out downdates (:meth:`TwoWaySweeper.loo_corrections`) for the CRV3 jackknife;
- :class:`TwoWayWithin` - the normal equations and cluster scores of a sparse design under country + year effects,
  without sweeping the design (Sun-Abraham's saturated regression; equal to the dense sweep, tests/test_fe.py);
- :func:`twfe_crv3` / :func:`jackknife_vcov` - CRV3 without refits; :func:`collinear_keep` - the collinearity check;
- :func:`pyfixest_demeaner` / :data:`FIXEF_TOL` - the tolerance at which pyfixest fits (models, benchmarks)
  equal the exact dummy-variable solution.

Each piece is tested against pyfixest (``tests/test_inference.py``, ``tests/test_specs.py``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import linalg

from helpers.core.errors import DataError

FIXEF_TOL = 1e-12  # pyfixest demeaning tolerance: its default (1e-6) leaves SEs ~1e-9 (relative) from exact


def pyfixest_demeaner():
    from pyfixest.demeaners import MapDemeaner

    return MapDemeaner(fixef_tol=FIXEF_TOL)


def demean(M: np.ndarray, fe_codes: np.ndarray, tol: float = 1e-10, maxiter: int = 10_000) -> np.ndarray:
    """Project the columns of ``M`` off the fixed effects (``fe_codes``: n x k integer codes).

    The one fixed-effects sweep of the package. Two fixed effects (the country + year case of every design here)
    are projected out exactly by :class:`TwoWaySweeper` (no iteration; balanced or not); one fixed effect is a
    single exact sweep of group means; three or more use the method of alternating projections (as pyfixest's
    ``demean`` and fixest) until no entry changes by more than ``tol`` relative to the column scale. Tested against
    ``pyfixest.estimation.demean`` (tests/test_fe.py).
    """
    M = np.array(M, dtype=np.float64, copy=True)
    if M.ndim == 1:
        M = M[:, None]
    codes = np.asarray(fe_codes).reshape(len(M), -1).astype(np.int64)
    if codes.shape[1] == 2 and len(M):
        return _two_way(M, codes)
    return _alternating_projections(M, codes, tol, maxiter)


def _two_way(M: np.ndarray, codes: np.ndarray) -> np.ndarray:
    order = np.argsort(codes[:, 0], kind="stable")
    out = np.empty_like(M)
    out[order] = TwoWaySweeper(codes[order, 0], codes[order, 1]).sweep(M[order])
    return out


def _alternating_projections(M: np.ndarray, codes: np.ndarray, tol: float, maxiter: int) -> np.ndarray:
    n = len(M)
    ops = []
    for j in range(codes.shape[1]):
        c = codes[:, j]
        G = int(c.max()) + 1 if n else 0
        S = group_indicator(c, G)
        ops.append((S, c, 1.0 / np.maximum(np.bincount(c, minlength=G), 1)))
    scale = np.maximum(np.abs(M).max(axis=0), 1e-300) if n else np.ones(M.shape[1])
    for _ in range(maxiter):
        delta = 0.0
        for S, c, inv in ops:
            means = (S @ M) * inv[:, None]
            step = means[c]
            M -= step
            delta = max(delta, float((np.abs(step) / scale).max()) if n else 0.0)
        if delta < tol or len(ops) <= 1:
            return M
    raise DataError(f"fixed-effect demeaning did not converge in {maxiter} sweeps")


def group_indicator(codes: np.ndarray, n_groups: int):
    """Sparse ``n_groups x n`` indicator matrix of integer group ``codes``: ``group_indicator(c, G) @ Z`` sums the
    rows of ``Z`` by group (fixed-effect means, cluster score sums)."""
    from scipy import sparse

    n = len(codes)
    return sparse.csr_matrix((np.ones(n), (codes, np.arange(n))), shape=(n_groups, n))


def fe_codes(df: pd.DataFrame, fe: list[str]) -> np.ndarray:
    return np.column_stack([pd.factorize(df[c])[0] for c in fe]).astype(np.uint64)


COLLIN_TOL = 1e-9


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
        A = np.bincount(self.c_codes * self.T + self.t_codes, minlength=self.C * self.T).reshape(
            self.C, self.T
        )
        A = A.astype(float)  # C x T counts
        self.WtW = np.diag(A.sum(axis=0)) - A.T @ (A / self.nc[:, None])  # D_t' M_c D_t
        self.WtW_pinv = linalg.pinvh(self.WtW) if self.T > 1 else np.zeros((1, 1))

    def country_sums(self, Z: np.ndarray) -> np.ndarray:
        """Per-country column sums (C x p)."""
        return np.add.reduceat(Z, self.starts, axis=0)

    def country_demean(self, Z: np.ndarray) -> np.ndarray:
        means = self.country_sums(Z) / self.nc[:, None]
        return Z - np.repeat(means, self.nc.astype(np.intp), axis=0)  # rows are sorted by country

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
        valid = pos[None, :] < ng[:, None]  # C x nmax
        R = np.where(valid, self.starts[:, None] + pos[None, :], 0)  # row index (padded with row 0)
        tp = self.t_codes[R]  # C x nmax year codes
        A = np.bincount(self.c_codes * T + self.t_codes, minlength=C * T).reshape(C, T).astype(float)
        Q = self.WtW_pinv if T > 1 else np.zeros((1, 1))
        QA = A @ Q  # C x T: (Q a_g)'
        u = np.take_along_axis(QA, tp, axis=1)  # C x nmax: (Q a_g)[t_i]
        sq = np.einsum("ct,ct->c", QA, A)  # a_g' Q a_g
        inv_n = 1.0 / ng
        P = (
            Q[tp[:, :, None], tp[:, None, :]]
            - (u[:, :, None] + u[:, None, :]) * inv_n[:, None, None]
            + (sq * inv_n**2 + inv_n)[:, None, None]
        )
        both = valid[:, :, None] & valid[:, None, :]
        Mgg = np.where(both, -P, 0.0)
        Mgg[:, pos, pos] += 1.0  # I - P; identity on the padding
        Zg = Zd[R] * valid[:, :, None]  # C x nmax x p (padding rows zero)
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
            Y = np.linalg.solve(L[ok], Zg[ok])  # L^-1 Zd_g
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
        yt = np.stack(
            [np.bincount(self.t_codes, weights=Zc[:, j], minlength=self.T) for j in range(Zc.shape[1])],
            axis=1,
        )  # D_t' M_c Z
        b = self.WtW_pinv @ yt  # T x p year coefficients
        return Zc - self.country_demean(b[self.t_codes])


class TwoWayWithin:
    """Normal equations of ``y ~ X | country + year`` for a sparse design ``X``, without sweeping ``X`` itself, from
    integer country and year codes (0..C-1, 0..T-1, rows in any order), the design ``X`` (sparse or dense) and the
    outcome ``y``. With P the projection on the country and year dummies, P = P_c + M_c D_t Q D_t' M_c
    (P_c: country means; Q = (D_t' M_c D_t)^+, as :class:`TwoWaySweeper`), so
    ``X'MX = X'X - C' diag(1/n_c) C - W' Q W`` with C the per-country column sums of X and
    ``W = D_t' X - A' diag(1/n_c) C`` (A: the country x year counts); likewise ``X'My``. Everything but X'X is a
    product of small dense matrices (countries, years x columns)."""

    def __init__(self, country: np.ndarray, year: np.ndarray, X, y: np.ndarray):
        from scipy import sparse

        self.c, self.t = np.asarray(country, np.intp), np.asarray(year, np.intp)
        C_, T_ = int(self.c.max()) + 1, int(self.t.max()) + 1
        order = np.argsort(self.c, kind="stable")
        sw = TwoWaySweeper(self.c[order], self.t[order])
        self.Q = sw.WtW_pinv if T_ > 1 else np.zeros((1, 1))
        self.A = np.bincount(self.c * T_ + self.t, minlength=C_ * T_).reshape(C_, T_).astype(float)
        self.nc = self.A.sum(axis=1)
        self.Gind, self.Tind = group_indicator(self.c, C_), group_indicator(self.t, T_)
        X = sparse.csr_matrix(X)
        Z = sparse.hstack([X, sparse.csr_matrix(np.asarray(y, float)[:, None])], format="csr")
        Cz = np.asarray((self.Gind @ Z).todense())  # countries x (K + 1) column sums
        Wz = np.asarray((self.Tind @ Z).todense()) - self.A.T @ (Cz / self.nc[:, None])  # D_t' M_c Z
        ZtZ = np.asarray((Z.T @ Z).todense())
        ZtMZ = ZtZ - Cz.T @ (Cz / self.nc[:, None]) - Wz.T @ (self.Q @ Wz)
        self.XtMX, self.XtMy = ZtMZ[:-1, :-1], ZtMZ[:-1, -1]
        self.C, self.H = (
            Cz[:, :-1],
            self.Q @ Wz[:, :-1],
        )  # H: year coefficients of X on the dummies (after M_c)

    def cluster_scores(self, Xk, u: np.ndarray, keep: np.ndarray) -> np.ndarray:
        """Per-country sums of ``(M X)_i u_i`` for the kept columns ``Xk`` (= X[:, keep]) and residuals ``u``:
        (P X)_i = H[t(i)] + (C - A H)[c(i)] / n_c, so the sums are ``Gind (X o u) - U H - (sum_c u / n_c)(C - A H)``
        with U the country x year sums of u."""
        from scipy import sparse

        H, C = self.H[:, keep], self.C[:, keep]
        U = self.Gind @ sparse.csr_matrix(Xk).multiply(u[:, None])
        Ucy = np.bincount(self.c * self.A.shape[1] + self.t, weights=u, minlength=self.A.size).reshape(
            self.A.shape
        )
        uc = Ucy.sum(axis=1) / self.nc  # zero up to rounding: u is orthogonal to the country dummies
        return np.asarray(U.todense()) - Ucy @ H - uc[:, None] * (C - self.A @ H)


def jackknife_vcov(
    XtX: np.ndarray, Xty: np.ndarray, beta: np.ndarray, loo: np.ndarray, kept: np.ndarray, iy: int
) -> np.ndarray:
    """CRV3: sum over countries of (b_(-g) - b)(b_(-g) - b)' from the leave-one-country-out downdates ``loo``."""
    H = XtX[None, :, :] - loo[:, kept[:, None], kept[None, :]]
    rhs = Xty[None, :] - loo[:, kept, iy]
    try:
        b_loo = np.linalg.solve(H, rhs[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:  # a regressor varies in one country only
        b_loo = np.einsum("gij,gj->gi", np.linalg.pinv(H), rhs)
    dev = b_loo - beta[None, :]
    return dev.T @ dev


def twfe_crv3(
    country: np.ndarray, year: np.ndarray, y: np.ndarray, X: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
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
    return beta, jackknife_vcov(XtX, Xty, beta, sw.loo_corrections(Zd), kept, 0)


def collinear_keep(G: np.ndarray, tol: float = COLLIN_TOL) -> np.ndarray:
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
