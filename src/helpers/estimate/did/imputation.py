"""Borusyak-Jaravel-Spiess imputation estimator (diff-diff) and a library-free check of its point estimates."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from helpers.core.errors import DataError
from helpers.estimate.did.cohorts import StaggeredPanel
from helpers.estimate.did.common import dd_frame, tidy_from_arrays


def imputation_points(p: StaggeredPanel) -> pd.DataFrame:
    """Library-free imputation point estimates: unit + time FE fitted on untreated observations only
    (least squares, exact), Y(0) imputed for treated observations, tau_it = Y - Y(0).

    Returns one row per treated observation: unit, time, g, event_time, tau. Used to check
    :func:`imputation` and as the fallback where pyfixest ``did2s`` drops singleton units (docs/methods.md):
    here a unit with a single untreated period keeps its fixed effect (it is exactly identified).
    """
    from scipy.sparse import csr_matrix, hstack
    from scipy.sparse.linalg import lsqr

    d = p.data
    D = (d["time"] >= d["g"] - p.anticipation).to_numpy()
    ucode, uniq_u = pd.factorize(d["unit"])
    tcode, uniq_t = pd.factorize(d["time"])
    m = len(d)
    U = csr_matrix((np.ones(m), (np.arange(m), ucode)), shape=(m, len(uniq_u)))
    T = csr_matrix((np.ones(m), (np.arange(m), tcode)), shape=(m, len(uniq_t)))
    Xc = [d[c].to_numpy()[:, None] for c in p.covariates]
    Xall = hstack([U, T[:, 1:]] + [csr_matrix(x) for x in Xc]).tocsr()
    untreated_t = np.unique(tcode[~D])
    if not np.isin(tcode[D], untreated_t).all():
        raise DataError("some treated periods have no untreated observation; time effects cannot be imputed")
    sol = lsqr(Xall[~D], d["y"].to_numpy()[~D], atol=1e-14, btol=1e-14, iter_lim=100000)[0]
    y0 = Xall[D] @ sol
    tr = d[D]
    out = pd.DataFrame(
        {
            "unit": tr["unit"].to_numpy(),
            "time": tr["time"].to_numpy(),
            "g": tr["g"].to_numpy(),
            "event_time": (tr["time"] - tr["g"]).astype(int).to_numpy(),
            "tau": tr["y"].to_numpy() - y0,
        }
    )
    return out


def imputation(
    p: StaggeredPanel, alpha: float = 0.05, horizon_max: int | None = None, event_study: bool = True
) -> pd.DataFrame:
    """Borusyak-Jaravel-Spiess imputation estimator (diff-diff ``ImputationDiD``), clustered by unit.

    Returns the event-time ATTs (e >= 0; plus the -1 reference row) and ``attrs['overall']`` (average over all
    treated observations). Point estimates are checked against :func:`imputation_points` in the tests.
    ``event_study=False`` skips the event-time aggregation (most of the cost) and returns the overall row only
    (also in ``attrs['overall']``).
    """
    import diff_diff as dd

    df, _ = dd_frame(p)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = dd.ImputationDiD(
            anticipation=p.anticipation, cluster="unit", alpha=alpha, horizon_max=horizon_max
        ).fit(
            df,
            outcome="y",
            unit="unit",
            time="time",
            first_treat="first_treat",
            covariates=p.covariates or None,
        )
        es = res.aggregate("event_study").to_dataframe() if event_study else None
    se_type = "BJS conservative, clustered by unit (diff-diff)"
    overall = tidy_from_arrays(["att"], [res.overall_att], [res.overall_se], res.n_obs, p.n_units, alpha)
    overall = overall.assign(estimator="imputation_bjs", se_type=se_type)
    if es is None:
        only = overall.copy()
        only.attrs["overall"] = overall
        return only
    out = tidy_from_arrays(
        [f"event_time::{int(k)}" for k in es["event_time"]], es["att"], es["se"], res.n_obs, p.n_units, alpha
    )
    out.insert(1, "event_time", es["event_time"].astype(int).to_numpy())
    out["estimator"] = "imputation_bjs"
    out["se_type"] = se_type
    out.attrs["overall"] = overall
    return out
