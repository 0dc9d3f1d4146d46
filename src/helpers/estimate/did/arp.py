"""Andrews-Roth-Pakes (ARP) conditional-least-favourable hybrid test of moment inequalities with nuisance
parameters, and the Rambachan-Roth relative-magnitudes confidence set built on it.

This is the method R's ``HonestDiD`` uses by default for Delta^RM (``createSensitivityResults_relativeMagnitudes``,
``method = "C-LF"``): for each location ``s`` of the largest pre-period change and each sign, the restriction is a
polyhedron ``A delta <= d``; theta is in the confidence set when the hybrid test does not reject for at least one
of them (Rambachan and Roth 2023, Lemma 2.2 and section 3.2). The test follows ARP (2023): the least-favourable
first stage at size ``kappa = alpha / 10`` (critical value simulated with 1,000 normal draws, fixed seed), then the
conditional test at size ``(alpha - kappa) / (1 - kappa)`` given the binding moments. Only the moments that involve
post-period coefficients enter the test (R's ``postPeriodMomentsOnly = TRUE``).

The test's linear programmes are solved with HiGHS's dual simplex through ``highspy``, with warm starts: each
model is built once per polyhedron and re-solved with new right-hand sides (the eta LP of each theta and
least-favourable draw, 16 at a time as one block-diagonal model) or new costs (the dual-method bisection's
``max f'x s.t. W' x = e1, x >= 0``), so HiGHS starts from the previous basis. An LP that does not end optimal is
solved again from scratch before it counts as failed. Least-favourable critical values are kept per (X, sigma,
kappa, seed) for reuse within the process; the identified set's few LPs use scipy's ``linprog``.

Written here because no Python library offers it: diff-diff 3.13 reports only a "naive FLCI" for Delta^RM and the
PyPI ``honestdid`` package needs PyTorch. It is checked against the R package's published README results in the
tests (tests/test_honest.py), and its LP kernels against scipy's ``linprog`` (tests/test_arp_speed_equivalence.py).
"""

from __future__ import annotations

import highspy
import numpy as np
from scipy import sparse, stats
from scipy.optimize import linprog

LF_SIMS = 1000  # draws of the least-favourable critical value (R HonestDiD default)
_TOL_LAMBDA = 1e-6
# eta LPs solved together as one block-diagonal HiGHS model (amortises HiGHS's fixed cost per solve)
_ETA_BLOCK = 16
# least-favourable draws solved per round of the pruned search (the quantile is the same for any size)
_CHUNK = 16
_INF = highspy.kHighsInf
_OPTIMAL = highspy.HighsModelStatus.kOptimal
_OK = highspy.HighsStatus.kOk
_THREADS: list[int] = []  # HiGHS's scheduler's thread count, once known
# least-favourable critical values already simulated, by (X, sigma, kappa, seed): a pure function of its key
_LF_CACHE: dict[tuple, float] = {}
_LF_CACHE_SIZE = 512


def create_A_RM(n_pre: int, n_post: int, mbar: float, s: int, max_positive: bool) -> np.ndarray:
    """Moment matrix of Delta^RM for a given location ``s`` (-(n_pre-1)..0) and sign of the largest pre-period
    change (R ``.create_A_RM``, with the reference-period column dropped); the moments are ``A delta <= 0``."""
    n = n_pre + n_post
    Atilde = np.zeros((n, n + 1))
    for r in range(n):
        Atilde[r, r : r + 2] = [-1.0, 1.0]
    v = np.zeros(n + 1)
    v[n_pre + s - 1 : n_pre + s + 1] = [-1.0, 1.0]
    if not max_positive:
        v = -v
    A_ub = np.vstack([np.tile(v, (n_pre, 1)), np.tile(mbar * v, (n_post, 1))])
    A = np.vstack([Atilde - A_ub, -Atilde - A_ub])
    A = A[(A**2).sum(axis=1) > 1e-10]
    return np.delete(A, n_pre, axis=1)


def construct_gamma(l_vec: np.ndarray) -> np.ndarray:
    """Invertible matrix whose first row is ``l_vec'`` (R ``.construct_Gamma``: pivot columns of [l, I])."""
    T = len(l_vec)
    B = np.column_stack([l_vec, np.eye(T)])
    piv: list[int] = []
    for j in range(B.shape[1]):
        if np.linalg.matrix_rank(B[:, piv + [j]], tol=1e-10) > len(piv):
            piv.append(j)
        if len(piv) == T:
            break
    return B[:, piv].T


def _scheduler_threads() -> int:
    """The thread count of HiGHS's (process-wide) task scheduler, probed once. Passed as the ``threads`` option it
    spares every solve HiGHS's look-up of the machine's cores (files read on each run) and cannot clash with the
    scheduler (a ``threads`` other than the scheduler's makes HiGHS refuse to run)."""
    if not _THREADS:
        h = _highs_model(
            np.ones((1, 1)), np.ones(1), np.zeros(1), np.ones(1), np.zeros(1), np.ones(1), threads=0
        )
        h.run()  # with the default threads: starts the scheduler if none runs yet
        found = [n for n in range(1, 257) if h.setOptionValue("threads", n) == _OK and h.run() == _OK][:1]
        _THREADS.append(found[0] if found else 0)
    return _THREADS[0]


def _highs_model(
    A, cost, col_lower, col_upper, row_lower, row_upper, threads: int | None = None
) -> highspy._Highs:
    """HiGHS model of ``min cost'x s.t. row_lower <= A x <= row_upper, col_lower <= x <= col_upper``, silent, with the
    options of scipy's ``linprog(method="highs-ds")`` (dual simplex, presolve on a cold start). The core ``_Highs``
    class (which ``highspy.Highs`` extends with Python callbacks) prints no banner on stdout."""
    A = sparse.csc_matrix(A)
    lp = highspy.HighsLp()
    lp.num_row_, lp.num_col_ = A.shape
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = cost, col_lower, col_upper
    lp.row_lower_, lp.row_upper_ = row_lower, row_upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_row_, lp.a_matrix_.num_col_ = A.shape
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = A.indptr, A.indices, A.data
    h = highspy._Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("solver", "simplex")
    h.setOptionValue("simplex_strategy", 1)  # dual simplex, as scipy's "highs-ds"
    h.setOptionValue("threads", _scheduler_threads() if threads is None else threads)
    h.passModel(lp)
    return h


def _run(h: highspy._Highs) -> bool:
    """Solve (warm-started from the model's last basis); on any status but optimal solve again from scratch."""
    h.run()
    if h.getModelStatus() == _OPTIMAL:
        return True
    h.clearSolver()
    h.run()
    return h.getModelStatus() == _OPTIMAL


class _EtaLP:
    """eta(y) = min over (eta, delta) of eta s.t. y_i - X_i delta <= sd_i eta (R ``.test_delta_lp_fn``) for a fixed
    ``(X, sd)``: block-diagonal HiGHS models of ``nb`` copies, kept and re-solved with new right-hand sides ``-y``."""

    def __init__(self, X: np.ndarray, sd: np.ndarray):
        self.m, self.k = X.shape
        self.C = sparse.csr_matrix(-np.column_stack([sd, X]))
        self.models: dict[int, highspy._Highs] = {}

    def _model(self, nb: int) -> highspy._Highs:
        if nb not in self.models:
            A = sparse.kron(sparse.identity(nb, format="csr"), self.C, format="csc")
            n, r = nb * (self.k + 1), nb * self.m
            cost = np.tile(np.r_[1.0, np.zeros(self.k)], nb)
            self.models[nb] = _highs_model(
                A, cost, np.full(n, -_INF), np.full(n, _INF), np.full(r, -_INF), np.zeros(r)
            )
        return self.models[nb]

    def _solve_block(self, b: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """(x, lambda) of the rows of ``b`` solved as one block-diagonal LP; None when it fails."""
        nb = len(b)
        h = self._model(nb)
        r = nb * self.m
        h.changeRowsBounds(r, np.arange(r, dtype=np.int32), np.full(r, -_INF), -b.ravel())
        if not _run(h):
            return None
        sol = h.getSolution()
        x = np.asarray(sol.col_value).reshape(nb, self.k + 1)
        return x, -np.asarray(sol.row_dual).reshape(nb, self.m)  # lambda >= 0: minus HiGHS's row duals

    def solve(self, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """eta, lambda (>= 0, sum lambda_i sd_i = 1) and success of each row of ``Y``; NaN where the LP fails."""
        B = len(Y)
        eta, lam = np.full(B, np.nan), np.full((B, self.m), np.nan)
        ok = np.zeros(B, bool)
        for s in range(0, B, _ETA_BLOCK):
            b = Y[s : s + _ETA_BLOCK]
            nb = len(b)
            # a short block is padded with copies of its last row: one kept (warm) model of _ETA_BLOCK copies
            res = self._solve_block(np.vstack([b, np.repeat(b[-1:], _ETA_BLOCK - nb, axis=0)]))
            if res is not None:
                eta[s : s + nb], lam[s : s + nb], ok[s : s + nb] = res[0][:nb, 0], res[1][:nb], True
                continue
            for i in range(len(b)):  # the block failed: solve its LPs one by one
                ri = self._solve_block(b[i : i + 1])
                if ri is not None:
                    eta[s + i], lam[s + i], ok[s + i] = ri[0][0, 0], ri[1][0], True
        return eta, lam, ok


def _eta_lps(Y: np.ndarray, X: np.ndarray, sd: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each row y of ``Y``: eta = min over delta of max_i (y_i - X_i delta) / sd_i (R ``.test_delta_lp_fn``),
    with the dual weights lambda (>= 0, sum lambda_i sd_i = 1). Rows whose LP fails get eta = NaN."""
    return _EtaLP(X, sd).solve(Y)


class _MaxProgram:
    """R ``.max_program``'s LP ``max f'x s.t. W' x = e1, x >= 0`` for a fixed ``W``: one HiGHS model re-solved with
    new costs (warm start)."""

    def __init__(self, W: np.ndarray):
        m, p = W.shape
        e1 = np.r_[1.0, np.zeros(p - 1)]
        self.m = m
        self.h = _highs_model(W.T, np.zeros(m), np.zeros(m), np.full(m, _INF), e1, e1)

    def solve(self, f: np.ndarray) -> tuple[float, np.ndarray | None]:
        """(max value, x), or (nan, None) when the LP fails (e.g. unbounded)."""
        self.h.changeColsCost(self.m, np.arange(self.m, dtype=np.int32), -f)
        if not _run(self.h):
            return np.nan, None
        return -self.h.getInfo().objective_function_value, np.asarray(self.h.getSolution().col_value)


def least_favorable_cv(X: np.ndarray, sigma: np.ndarray, kappa: float, seed: int = 0) -> float:
    """The (1 - kappa) quantile of eta under theta's null with all moments binding (R
    ``.compute_least_favorable_cv``, nuisance case): eta of ``LF_SIMS`` draws xi ~ N(0, sigma).

    Exact but pruned: eta(xi) is bounded above by its value at the least-squares nuisance fit, so only the draws
    whose bound can reach the top of the distribution are solved (in decreasing order of the bound) until every
    unsolved draw's bound is below the quantile's order statistics. Values are kept per (X, sigma, kappa, seed)."""
    return _least_favorable_cv(X, sigma, kappa, seed, None)


def _least_favorable_cv(X, sigma, kappa, seed, lp: _EtaLP | None) -> float:
    key = (X.shape, X.tobytes(), sigma.tobytes(), float(kappa), int(seed), LF_SIMS)
    if key not in _LF_CACHE:
        if len(_LF_CACHE) >= _LF_CACHE_SIZE:
            _LF_CACHE.clear()
        _LF_CACHE[key] = _simulate_lf_cv(X, sigma, kappa, seed, lp)
    return _LF_CACHE[key]


def _simulate_lf_cv(X, sigma, kappa, seed, lp: _EtaLP | None) -> float:
    rng = np.random.default_rng(seed)
    xi = rng.multivariate_normal(np.zeros(len(sigma)), sigma, size=LF_SIMS, method="eigh")
    sd = np.sqrt(np.diag(sigma))
    Z = -xi / sd  # the LP reads y = -xi (R: apply(-xi.draws, 1, .compute_eta, ...))
    Xs = X / sd[:, None]
    lp = _EtaLP(X, sd) if lp is None else lp
    ub = (Z - (Z @ np.linalg.pinv(Xs).T) @ Xs.T).max(axis=1)
    n = len(Z)
    top = n - int(np.floor((n - 1) * (1 - kappa)))  # order statistics the linear-interpolated quantile reads
    eta = ub.copy()
    solved = np.zeros(n, bool)
    order = np.argsort(-ub)
    threshold = -np.inf
    while True:
        cand = order[~solved[order] & (ub[order] >= threshold)]
        if not len(cand):
            break
        batch = cand[:_CHUNK]
        e, _, ok = lp.solve(-xi[batch])
        eta[batch] = np.where(ok, e, np.nan)
        solved[batch] = True
        exact = np.sort(eta[solved & np.isfinite(eta)])
        if len(exact) >= top:
            threshold = exact[-top]
    return float(np.nanquantile(eta, 1 - kappa))


def _trunc_norm_quantile(p: float, lo, hi) -> np.ndarray:
    """Quantiles of the standard normal truncated to [lo, hi] (R ``TruncatedNormal::norminvp``), elementwise over
    ``lo, hi`` (scipy computes each element alike whether called once per element or vectorised)."""
    return np.asarray(stats.truncnorm.ppf(p, lo, hi), float)


def _max_program(s_T, gamma, sigma, prog: _MaxProgram, c):
    """R ``.max_program``: max f'x s.t. W_T' x = e1, x >= 0 with f = s_T + Sigma gamma c / (gamma' Sigma gamma)
    (``prog`` holds W_T). Returns (value, x) or (nan, None) when the LP fails."""
    sg = sigma @ gamma
    f = s_T + sg * c / float(gamma @ sg)
    return prog.solve(f)


def _is_solution(c, s_T, gamma, sigma, prog: _MaxProgram, tol=1e-6) -> tuple[bool, np.ndarray | None]:
    val, x = _max_program(s_T, gamma, sigma, prog, c)
    return (np.isfinite(val) and abs(c - val) <= tol), x


def _roundeps(x: float) -> float:
    return 0.0 if abs(x) < np.finfo(float).eps ** 0.75 else x


def _vbound(eta, start, s_T, gamma, sigma, prog: _MaxProgram, upper: bool) -> float:
    """One end of the truncation interval by the dual method (R ``.vlo_vup_dual_fn``): infinite when ``start``
    still solves the programme, else a fixed-point step followed by bisection towards ``eta``."""
    sol, x = _is_solution(start, s_T, gamma, sigma, prog)
    if sol:
        return np.inf if upper else -np.inf
    sg = sigma @ gamma
    b = sg / float(gamma @ sg)
    dif, iters = 0.0, 1
    mid = _roundeps(float(x @ s_T)) / (1 - float(x @ b)) if x is not None else start
    while True:
        sol, x = _is_solution(mid, s_T, gamma, sigma, prog)
        if sol:
            break
        iters += 1
        if iters >= 10 or x is None:
            dif = 1e-6 + 1
            break
        mid = _roundeps(float(x @ s_T)) / (1 - float(x @ b))
    lo, hi = (eta, mid) if upper else (mid, eta)
    while dif > 1e-6 and iters < 10000:
        iters += 1
        mid = (lo + hi) / 2
        inside = _is_solution(mid, s_T, gamma, sigma, prog)[0]
        if upper:
            lo, hi = (mid, hi) if inside else (lo, mid)
        else:
            lo, hi = (lo, mid) if inside else (mid, hi)
        dif = hi - lo
    return mid


def _dual_bounds(y, X, eta, gamma, sigma, prog: _MaxProgram) -> tuple[float, float]:
    """Truncation bounds (vlo, vup) of the conditional test in the degenerate case (R ``.lp_dual_fn``); ``prog``: the
    max programme of ``W_T = [sd, X]``."""
    sg = sigma @ gamma
    s_T = y - sg * float(gamma @ y) / float(gamma @ sg)
    if not _is_solution(eta, s_T, gamma, sigma, prog)[0]:
        return eta, np.inf
    sB = float(np.sqrt(gamma @ sg))
    vup = _vbound(eta, max(100.0, eta + 20 * sB), s_T, gamma, sigma, prog, upper=True)
    vlo = _vbound(eta, min(-100.0, eta - 20 * sB), s_T, gamma, sigma, prog, upper=False)
    return vlo, vup


def _nondegenerate_bounds(y, X, sigma, Bidx) -> tuple[float, float, float]:
    """(vlo, vup, s2) of the conditional test when the binding moments ``Bidx`` identify the LP's vertex."""
    sd = np.sqrt(np.diag(sigma))
    M = len(y)
    W_B_inv = np.linalg.inv(np.column_stack([sd[Bidx], X[Bidx]]))
    S_B, S_Bc = np.eye(M)[Bidx], np.eye(M)[~Bidx]
    Gamma_B = np.column_stack([sd[~Bidx], X[~Bidx]]) @ W_B_inv @ S_B - S_Bc
    v_B = W_B_inv[0] @ S_B
    s2 = float(v_B @ sigma @ v_B)
    rho = Gamma_B @ sigma @ v_B / s2
    with np.errstate(divide="ignore", invalid="ignore"):
        mm = (-Gamma_B @ y) / rho + float(v_B @ y)
    vlo = float(mm[rho > 0].max()) if (rho > 0).any() else -np.inf
    vup = float(mm[rho < 0].min()) if (rho < 0).any() else np.inf
    return vlo, vup, s2


def _conditional_stats(y, X, sigma, eta, lam, lf_cv, prog: _MaxProgram):
    """Second stage of the hybrid test given the LP solution (R ``.lp_conditional_test_fn``, hybrid "LF") up to its
    critical value: the decision (True: reject) when it needs no truncated-normal quantile, else ``(maxstat, zlo,
    zup)``, rejected when ``maxstat > max(0, quantile 1 - mod_size of N(0, 1) truncated to [zlo, zup])``."""
    k = X.shape[1]
    Bidx = lam > _TOL_LAMBDA
    degenerate = int(Bidx.sum()) != k + 1
    XB = X[Bidx]
    full_rank = min(XB.shape) > 0 and np.linalg.matrix_rank(XB) == min(XB.shape)
    if k == 0:
        full_rank = True
    if degenerate or not full_rank:
        gamma = lam
        s2 = float(gamma @ sigma @ gamma)
        if abs(s2) < np.finfo(float).eps:
            return bool(eta > 0)
        vlo, vup = _dual_bounds(y, X, eta, gamma, sigma, prog)
    else:
        vlo, vup, s2 = _nondegenerate_bounds(y, X, sigma, Bidx)
    sB = np.sqrt(s2)
    maxstat, zlo, zup = eta / sB, vlo / sB, min(vup, lf_cv) / sB
    if not (zlo <= maxstat <= zup):
        return False
    return maxstat, zlo, zup


def _reject_given(mod_size: float, pending: list[tuple[float, float, float]]) -> np.ndarray:
    """The conditional tests' decisions (True: reject) from their ``(maxstat, zlo, zup)``, quantiles vectorised."""
    maxstat, zlo, zup = np.array(pending, float).T
    q = _trunc_norm_quantile(1 - mod_size, zlo, zup)
    cval = np.where(q > 0.0, q, 0.0)  # Python's max(0.0, q): 0 also where q is NaN
    return maxstat > cval


class RMPolyhedron:
    """One polyhedron of Delta^RM (location ``s`` and sign of the largest pre-period change) with everything the
    hybrid test needs that does not depend on theta (R ``.ARP_computeCI`` with ``rowsForARP``)."""

    def __init__(self, betahat, sigma, n_pre, n_post, l_vec, mbar, s, max_positive, alpha, seed):
        A = create_A_RM(n_pre, n_post, mbar, s, max_positive)
        post = A[:, n_pre:]
        rows = np.flatnonzero((post != 0).any(axis=1))
        AGi = post @ np.linalg.inv(construct_gamma(l_vec))
        self.a1 = AGi[rows, 0]
        self.X = AGi[rows, 1:]
        self.Y = (A @ betahat)[rows]
        self.sigma = (A @ sigma @ A.T)[np.ix_(rows, rows)]
        self.kappa = alpha / 10
        self.mod_size = (alpha - self.kappa) / (1 - self.kappa)
        self.sd = np.sqrt(np.diag(self.sigma))
        self._eta_lp = _EtaLP(self.X, self.sd)  # HiGHS models kept for warm starts
        self._max_prog: _MaxProgram | None = None
        self.lf_cv = _least_favorable_cv(self.X, self.sigma, self.kappa, seed, self._eta_lp)

    def _max_program(self) -> _MaxProgram:
        if self._max_prog is None:
            self._max_prog = _MaxProgram(np.column_stack([self.sd, self.X]))
        return self._max_prog

    def accept(self, thetas: np.ndarray) -> np.ndarray:
        """1 where the C-LF hybrid test does not reject theta (vectorised over ``thetas``)."""
        thetas = np.atleast_1d(np.asarray(thetas, float))
        Ys = self.Y[None, :] - self.a1[None, :] * thetas[:, None]
        eta, lam, ok = self._eta_lp.solve(Ys)
        out = np.zeros(len(thetas), bool)
        # thetas whose test needs a truncated-normal quantile: (maxstat, zlo, zup), decided together below
        pending: dict[int, tuple[float, float, float]] = {}
        for i in range(len(thetas)):
            if not ok[i]:
                out[i] = True  # R: "LP for eta did not converge properly. Not rejecting"
            elif eta[i] > self.lf_cv:
                out[i] = False
            else:
                r = _conditional_stats(
                    Ys[i], self.X, self.sigma, eta[i], lam[i], self.lf_cv, self._max_program()
                )
                if isinstance(r, tuple):
                    pending[i] = r
                else:
                    out[i] = not r
        if pending:
            out[list(pending)] = ~_reject_given(self.mod_size, list(pending.values()))
        return out


def _grid_accept(poly: RMPolyhedron, grid: np.ndarray, step: int = 10) -> np.ndarray:
    """Acceptance on the grid: every ``step``-th point, then every point between the outermost accepted coarse
    points and their rejected neighbours (exact when each polyhedron's accepted set is an interval)."""
    n = len(grid)
    acc = np.full(n, False)
    idx = np.unique(np.r_[np.arange(0, n, step), n - 1])
    acc[idx] = poly.accept(grid[idx])
    hit = idx[acc[idx]]
    if len(hit) == 0:
        return acc
    lo_c, hi_c = hit.min(), hit.max()
    fill = []
    prev = idx[idx < lo_c]
    if len(prev):
        fill.extend(range(prev.max() + 1, lo_c))
    nxt = idx[idx > hi_c]
    if len(nxt):
        fill.extend(range(hi_c + 1, nxt.min()))
    if fill:
        f = np.array(fill)
        acc[f] = poly.accept(grid[f])
    return acc  # inside [lo_c, hi_c] only the outermost accepted points matter for the hull


def rm_polyhedra(betahat, sigma, n_pre, n_post, l_vec, mbar, alpha=0.05, seed=0) -> list[RMPolyhedron]:
    return [
        RMPolyhedron(betahat, sigma, n_pre, n_post, l_vec, mbar, s, sign, alpha, seed)
        for s in range(-(n_pre - 1), 1)
        for sign in (True, False)
    ]


def rm_clf_interval(
    betahat: np.ndarray,
    sigma: np.ndarray,
    n_pre: int,
    n_post: int,
    l_vec: np.ndarray,
    mbar: float,
    alpha: float = 0.05,
    grid_points: int = 1000,
    grid_lb: float | None = None,
    grid_ub: float | None = None,
    seed: int = 0,
) -> tuple[float, float]:
    """C-LF confidence interval for ``theta = l_vec' tau_post`` under Delta^RM(mbar) (R
    ``computeConditionalCS_DeltaRM``): the hull of the grid points accepted by at least one polyhedron. The grid
    is ``grid_points`` values over +-20 SEs of theta's estimate (R's default). NaN bounds when nothing is accepted."""
    sd_theta = float(np.sqrt(l_vec @ sigma[n_pre:, n_pre:] @ l_vec))
    lb = -20 * sd_theta if grid_lb is None else grid_lb
    ub = 20 * sd_theta if grid_ub is None else grid_ub
    grid = np.linspace(lb, ub, grid_points)
    acc = np.zeros(grid_points, bool)
    for poly in rm_polyhedra(betahat, sigma, n_pre, n_post, l_vec, mbar, alpha, seed):
        acc |= _grid_accept(poly, grid)
    if not acc.any():
        return np.nan, np.nan
    return float(grid[acc].min()), float(grid[acc].max())


def rm_accepts(betahat, sigma, n_pre, n_post, l_vec, mbar, theta, alpha=0.05, seed=0) -> bool:
    """Whether ``theta`` is in the C-LF confidence set under Delta^RM(mbar) (accepted by some polyhedron; the
    polyhedra are built one at a time and the search stops at the first that accepts)."""
    polyhedra = (
        RMPolyhedron(betahat, sigma, n_pre, n_post, l_vec, mbar, s, sign, alpha, seed)
        for s in range(-(n_pre - 1), 1)
        for sign in (True, False)
    )
    return any(bool(p.accept(np.array([theta]))[0]) for p in polyhedra)


def rm_identified_set(betahat, n_pre, n_post, l_vec, mbar) -> tuple[float, float]:
    """Identified set of theta under Delta^RM(mbar) with the pre-period violations pinned to the pre-period
    coefficients (R ``.compute_IDset_DeltaRM``): union over the polyhedra of the LP bounds."""
    theta = float(l_vec @ betahat[n_pre:])
    f = np.r_[np.zeros(n_pre), l_vec]
    Aeq = np.column_stack([np.eye(n_pre), np.zeros((n_pre, n_post))])
    lows, highs = [], []
    for s in range(-(n_pre - 1), 1):
        for sign in (True, False):
            A = create_A_RM(n_pre, n_post, mbar, s, sign)
            kw = {"A_ub": A, "b_ub": np.zeros(len(A)), "A_eq": Aeq, "b_eq": betahat[:n_pre]}
            bnd = [(None, None)] * (n_pre + n_post)
            rmax = linprog(-f, bounds=bnd, method="highs", **kw)
            rmin = linprog(f, bounds=bnd, method="highs", **kw)
            if rmax.status == 0 and rmin.status == 0:
                lows.append(theta + rmax.fun)  # theta - max(l'delta_post)
                highs.append(theta - rmin.fun)
    if not lows:
        return np.nan, np.nan
    return float(min(lows)), float(max(highs))
