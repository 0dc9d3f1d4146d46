"""The LP kernels of helpers.estimate.did.arp (HiGHS through highspy, models kept and warm-started) against a
second implementation: scipy's ``linprog(method="highs-ds")``, one fresh LP at a time, as arp.py solved them before.

- eta LP (R ``.test_delta_lp_fn``): min eta s.t. y_i - X_i delta <= sd_i eta; its value and its dual weights
  lambda (>= 0, scipy's ``-ineqlin.marginals``), over many right-hand sides solved in blocks with warm starts;
- the dual method's programme (R ``.max_program``): max f'x s.t. W' x = e1, x >= 0, over a sequence of objectives
  as in the bisection, including instances where it is infeasible (both must fail);
- the pruned least-favourable critical value against the quantile of every draw's eta solved by scipy.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog

from helpers.estimate.did import arp


def _instance(seed: int, m: int = 12, k: int = 5):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, k))
    sd = rng.uniform(0.5, 2.0, m)
    return rng, X, sd


def _scipy_eta(y, X, sd):
    k = X.shape[1]
    r = linprog(
        np.r_[1.0, np.zeros(k)],
        A_ub=-np.column_stack([sd, X]),
        b_ub=-y,
        bounds=[(None, None)] * (k + 1),
        method="highs-ds",
    )
    return (r.x[0], -r.ineqlin.marginals) if r.status == 0 else None


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_eta_lp_value_and_duals_match_scipy(seed):
    rng, X, sd = _instance(seed)
    lp = arp._EtaLP(X, sd)
    # several calls on one kept model (warm starts), block sizes that are and are not multiples of the block
    for n in (arp._ETA_BLOCK, 3, 2 * arp._ETA_BLOCK + 5, 1):
        Y = rng.normal(size=(n, len(sd))) * rng.uniform(0.1, 3.0)
        eta, lam, ok = lp.solve(Y)
        for i, y in enumerate(Y):
            ref = _scipy_eta(y, X, sd)
            if ref is None:  # unbounded (seed 2): both fail
                assert not ok[i] and np.isnan(eta[i]) and np.isnan(lam[i]).all()
                continue
            e_ref, lam_ref = ref
            assert ok[i]
            assert eta[i] == pytest.approx(e_ref, rel=1e-9, abs=1e-10)
            np.testing.assert_allclose(lam[i], lam_ref, rtol=1e-7, atol=1e-9)
            assert lam[i] @ sd == pytest.approx(1.0, rel=1e-9)  # the dual's normalisation


def test_eta_lps_function_matches_kept_model():
    rng, X, sd = _instance(0)
    Y = rng.normal(size=(40, len(sd)))
    e1, l1, ok1 = arp._eta_lps(Y, X, sd)
    e2, l2, ok2 = arp._EtaLP(X, sd).solve(Y)
    assert ok1.all() and ok2.all()
    np.testing.assert_allclose(e1, e2, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(l1, l2, rtol=1e-7, atol=1e-9)


def _scipy_max(f, W):
    beq = np.r_[1.0, np.zeros(W.shape[1] - 1)]
    r = linprog(-f, A_eq=W.T, b_eq=beq, bounds=[(0, None)] * len(f), method="highs-ds")
    return -r.fun if r.status == 0 else np.nan


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5])
def test_max_program_value_matches_scipy(seed):
    rng, X, sd = _instance(seed, m=14, k=4)
    W = np.column_stack([sd, X])
    prog = arp._MaxProgram(W)
    s_T, b = rng.normal(size=len(sd)), rng.normal(size=len(sd))
    n_ok = 0
    for c in np.r_[np.linspace(-5, 5, 25), 100.0, -100.0, rng.normal(size=10)]:
        f = s_T + b * c
        val, x = prog.solve(f)
        ref = _scipy_max(f, W)
        if np.isnan(ref):
            assert np.isnan(val) and x is None
            continue
        n_ok += 1
        assert val == pytest.approx(ref, rel=1e-9, abs=1e-10)
        assert x is not None and (x >= -1e-9).all()
        np.testing.assert_allclose(W.T @ x, np.r_[1.0, np.zeros(W.shape[1] - 1)], atol=1e-8)
        assert f @ x == pytest.approx(val, rel=1e-9, abs=1e-10)
    assert n_ok > 0 or seed == 5  # seed 5's programme is infeasible for every objective


def test_max_program_infeasible_fails_like_scipy():
    # W' x = e1 with x >= 0 and a row of W' that is positive: x'w = 0 forces x = 0, contradicting sd'x = 1
    W = np.column_stack([np.ones(5), np.arange(1.0, 6.0)])
    prog = arp._MaxProgram(W)
    f = np.arange(5.0)
    assert np.isnan(_scipy_max(f, W))
    val, x = prog.solve(f)
    assert np.isnan(val) and x is None


def test_least_favorable_cv_matches_unpruned_scipy(monkeypatch):
    monkeypatch.setattr(arp, "LF_SIMS", 300)
    rng, X, _ = _instance(0, m=10, k=3)
    A = rng.normal(size=(10, 10))
    sigma = A @ A.T / 10 + np.eye(10) * 0.1
    kappa, seed = 0.005, 3
    got = arp.least_favorable_cv(X, sigma, kappa, seed)
    xi = np.random.default_rng(seed).multivariate_normal(np.zeros(10), sigma, size=300, method="eigh")
    sd = np.sqrt(np.diag(sigma))
    ref = np.quantile([_scipy_eta(-x, X, sd)[0] for x in xi], 1 - kappa)  # (bounded: an error if not)
    assert got == pytest.approx(ref, rel=1e-9)
    assert arp.least_favorable_cv(X, sigma, kappa, seed) == got  # cached value


def test_solvers_print_nothing(capfd):
    _, X, sd = _instance(0)
    arp._EtaLP(X, sd).solve(np.zeros((2, len(sd))))
    arp._MaxProgram(np.column_stack([sd, X])).solve(np.ones(len(sd)))
    out, err = capfd.readouterr()
    assert out == "" and err == ""
