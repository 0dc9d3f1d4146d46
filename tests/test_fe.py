"""The fixed-effects kernel (helpers.estimate.fe): one sweep for every estimator, equal to pyfixest."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers.core import paths
from helpers.estimate import fe


def _unbalanced(seed: int, n: int = 500):
    rng = np.random.default_rng(seed)
    # codes with gaps (unused levels) and very unequal group sizes
    codes = np.column_stack([rng.integers(0, 40, n) * 2, rng.integers(0, 15, n), rng.integers(0, 6, n)])
    M = rng.normal(size=(n, 4)) + codes[:, :1] * 0.05 + codes[:, 1:2] * 0.1
    return codes, M


@pytest.mark.parametrize("k", [1, 2, 3])
def test_demean_equals_pyfixest(k):
    from pyfixest.estimation import demean as pf_demean

    codes, M = _unbalanced(7)
    ours = fe.demean(M, codes[:, :k])
    ref, ok = pf_demean(M.copy(), codes[:, :k].astype(np.uint64), np.ones(len(M)), tol=1e-14, maxiter=200_000)
    assert ok
    np.testing.assert_allclose(ours, ref, atol=1e-9)


def test_two_way_is_exact_projection_on_dummies():
    """Two fixed effects: the residual of OLS on the full set of dummies, to rounding (no iteration tolerance)."""
    codes, M = _unbalanced(11, n=300)
    D = pd.get_dummies(pd.DataFrame({"a": codes[:, 0], "b": codes[:, 1]}).astype(str), drop_first=False)
    X = D.to_numpy(float)
    resid = M - X @ np.linalg.lstsq(X, M, rcond=None)[0]
    np.testing.assert_allclose(fe.demean(M, codes[:, :2]), resid, atol=1e-11)
    # row order does not matter
    perm = np.random.default_rng(1).permutation(len(M))
    np.testing.assert_allclose(fe.demean(M[perm], codes[perm, :2]), resid[perm], atol=1e-11)


def test_two_way_disconnected_design():
    """Two groups of units observed in disjoint years: the projection is still exact (pseudo-inverse)."""
    unit = np.repeat(np.arange(6), 4)
    year = np.where(unit < 3, 0, 4) + np.tile(np.arange(4), 6)
    M = np.random.default_rng(2).normal(size=(len(unit), 2))
    X = pd.get_dummies(pd.DataFrame({"u": unit.astype(str), "t": year.astype(str)})).to_numpy(float)
    resid = M - X @ np.linalg.lstsq(X, M, rcond=None)[0]
    np.testing.assert_allclose(fe.demean(M, np.column_stack([unit, year])), resid, atol=1e-11)


@pytest.mark.parametrize("seed", [3, 4])
def test_the_sparse_within_equals_the_dense_sweep(seed):
    """The sparse normal equations (Sun-Abraham's kernel) equal those of the swept dense design: X'MX, X'My and the
    per-country score sums of (M X)_i u_i, on an unbalanced panel with indicator columns and a dense covariate."""
    from scipy import sparse

    rng = np.random.default_rng(seed)
    n = 600
    c, t = rng.integers(0, 30, n), rng.integers(0, 12, n)
    c, t = pd.factorize(c, sort=True)[0], pd.factorize(t, sort=True)[0]
    cells = rng.integers(0, 25, n)
    on = rng.random(n) < 0.4
    X = sparse.csr_matrix((np.ones(on.sum()), (np.flatnonzero(on), cells[on])), shape=(n, 25))
    X = sparse.hstack([X, sparse.csr_matrix(rng.normal(size=(n, 1)))], format="csr")
    y = rng.normal(size=n) + 0.1 * c
    w = fe.TwoWayWithin(c, t, X, y)
    codes = np.column_stack([c, t])
    Z = fe.demean(np.column_stack([y, X.toarray()]), codes)
    yd, Xd = Z[:, 0], Z[:, 1:]
    np.testing.assert_allclose(w.XtMX, Xd.T @ Xd, atol=1e-10)
    np.testing.assert_allclose(w.XtMy, Xd.T @ yd, atol=1e-10)
    keep = np.diag(Xd.T @ Xd) > 1e-10
    u = rng.normal(size=n)
    u = fe.demean(u[:, None], codes)[:, 0]  # residuals are orthogonal to the dummies
    S_dense = fe.group_indicator(c, 30) @ (Xd[:, keep] * u[:, None])
    np.testing.assert_allclose(w.cluster_scores(X[:, np.flatnonzero(keep)], u, keep), S_dense, atol=1e-10)


def test_pyfixest_demeaner_reaches_the_exact_solution():
    """models.fit runs pyfixest with the kernel's demeaner: its coefficients equal the exact two-way sweep."""
    import pyfixest as pf

    rng = np.random.default_rng(5)
    rows = [(u, t) for u in range(60) for t in range(2000, 2020) if rng.random() > 0.2]
    df = pd.DataFrame(rows, columns=["u", "t"])
    df["x"] = rng.normal(size=len(df)) + 0.1 * df["u"]
    df["w"] = rng.normal(size=len(df))
    df["y"] = (
        0.5 * df["x"] - 0.2 * df["w"] + 0.05 * df["u"] + 0.03 * (df["t"] - 2000) + rng.normal(size=len(df))
    )
    m = pf.feols("y ~ x + w | u + t", data=df, demeaner=fe.pyfixest_demeaner())
    Z = fe.demean(df[["y", "x", "w"]].to_numpy(), fe.fe_codes(df, ["u", "t"]))
    beta = np.linalg.lstsq(Z[:, 1:], Z[:, 0], rcond=None)[0]
    np.testing.assert_allclose(np.asarray(m.coef()), beta, rtol=1e-10)


def test_no_other_fixed_effect_sweep_in_the_package():
    """One kernel: no module outside estimate/fe.py defines a demeaning routine or configures pyfixest's own."""
    offenders = []
    for path in sorted((paths.ROOT / "src" / "helpers").rglob("*.py")):
        if path.name == "fe.py" and path.parent.name == "estimate":
            continue
        tree = ast.parse(Path(path).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.ClassDef) and any(
                w in node.name.lower() for w in ("demean", "sweep")
            ):
                offenders.append(f"{path.name}: defines {node.name}")
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pyfixest.demeaners"):
                offenders.append(f"{path.name}: imports {node.module}")
    assert not offenders, offenders
