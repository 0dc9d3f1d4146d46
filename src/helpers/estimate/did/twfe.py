"""Two-way fixed effects on a staggered panel: the static coefficient and the dynamic (relative-time dummies) event study."""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.core.errors import ParameterError
from helpers.estimate.did.cohorts import StaggeredPanel
from helpers.estimate.did.common import binned_flags, tidy_from_arrays


def twfe(p: StaggeredPanel, cluster: bool = True) -> pd.DataFrame:
    """Static TWFE: y ~ treated | unit + time (pyfixest), CRV1 by unit (fixest small-sample convention)."""
    import pyfixest as pf

    d = p.data.assign(D=(p.data["time"] >= p.data["g"]).astype(float))
    cov = " + ".join(["D", *p.covariates])
    fit = pf.feols(f"y ~ {cov} | unit + time", data=d, vcov={"CRV1": "unit"} if cluster else "hetero")
    t = fit.tidy().reset_index()
    t = t[t["Coefficient"] == "D"]
    out = pd.DataFrame(
        {
            "term": ["treated"],
            "estimate": t["Estimate"].to_numpy(),
            "std_error": t["Std. Error"].to_numpy(),
            "statistic": t["t value"].to_numpy(),
            "p_value": t["Pr(>|t|)"].to_numpy(),
            "conf_low": t["2.5%"].to_numpy(),
            "conf_high": t["97.5%"].to_numpy(),
            "n_obs": fit._N,
            "n_units": p.n_units,
        }
    )
    out["estimator"] = "twfe"
    out["se_type"] = "CRV1 by unit" if cluster else "HC1"
    return out


def twfe_event_study(
    p: StaggeredPanel, window: tuple[int, int] = (-5, 5), bin_endpoints: bool = True, alpha: float = 0.05
) -> pd.DataFrame:
    """Dynamic TWFE: y ~ sum_k 1[t - g = k] | unit + time, reference k = -1 - anticipation, CRV1 by unit.

    ``window=(lo, hi)``: relative times outside it are binned into the end points (``bin_endpoints=True``) or
    dropped from the sample (False). Never-treated units carry no dummies. The fitted model's coefficient
    covariance is kept in ``attrs['vcov']`` (for :func:`pretrend_test`).
    """
    import pyfixest as pf

    lo, hi = window
    ref = -1 - p.anticipation
    if not lo <= ref < hi:
        raise ParameterError(
            "window", window, hint=f"must contain the reference period {ref} and a later one"
        )
    d = p.data.copy()
    rel = d["time"] - d["g"]
    treated = np.isfinite(d["g"])
    if bin_endpoints:
        relc = rel.clip(lo, hi)
    else:
        keep = ~treated | ((rel >= lo) & (rel <= hi))
        d, rel, treated = d[keep].copy(), rel[keep], treated[keep]
        relc = rel
    ks = [k for k in range(lo, hi + 1) if k != ref]
    names = []
    for k in ks:
        nm = f"rel_m{-k}" if k < 0 else f"rel_p{k}"
        d[nm] = (treated & (relc == k)).astype(float)
        if d[nm].sum() > 0:
            names.append((k, nm))
    rhs = " + ".join([nm for _, nm in names] + p.covariates)
    fit = pf.feols(f"y ~ {rhs} | unit + time", data=d, vcov={"CRV1": "unit"})
    coefs = fit.coef()
    se = fit.se()
    keep = [(k, nm) for k, nm in names if nm in coefs.index and np.isfinite(coefs[nm])]
    G = d["unit"].nunique()
    out = tidy_from_arrays(
        [f"event_time::{k}" for k, _ in keep],
        [coefs[nm] for _, nm in keep],
        [se[nm] for _, nm in keep],
        fit._N,
        d["unit"].nunique(),
        alpha,
        df=G - 1,
    )
    out.insert(1, "event_time", [k for k, _ in keep])
    refrow = pd.DataFrame(
        {
            "term": [f"event_time::{ref}"],
            "event_time": [ref],
            "estimate": [0.0],
            "n_obs": fit._N,
            "n_units": G,
        }
    )
    out = pd.concat([out, refrow], ignore_index=True).sort_values("event_time").reset_index(drop=True)
    out["estimator"] = "twfe_dynamic"
    out["se_type"] = "CRV1 by unit, t(G-1)"
    out["binned_endpoints"] = bool(bin_endpoints)
    out["binned"] = binned_flags(out["event_time"], rel[treated], lo, hi, bin_endpoints)
    V = fit._vcov
    idx = list(fit._coefnames)
    sel = [idx.index(nm) for _, nm in keep]
    out.attrs["vcov"] = pd.DataFrame(
        V[np.ix_(sel, sel)], index=[k for k, _ in keep], columns=[k for k, _ in keep]
    )
    out.attrs["df"] = G - 1
    return out
