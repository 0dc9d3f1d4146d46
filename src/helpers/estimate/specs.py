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
from scipy import stats

from helpers.core.errors import ParameterError
from helpers.core.params import check_choice, check_choices
from helpers.estimate import fe
from helpers.estimate import models as M

SPEC_ESTIMATORS = ["twfe", "twfe_ldv"]
SPEC_SE_TYPES = ["CRV1", "CR1", "CRV3"]

DEFAULT_MULTIVERSE: dict[str, list] = {
    "outcomes": ["v2x_gender", "v2x_gencl", "v2x_gencs", "v2x_genpp", "v2lgfemleg", "v2cldiscw"],
    "codings": ["ratified", "years_since", "years_since_binned", "optional_protocol", "res_any"],
    "controls": ["none", "cole", "cole_plus"],
    "lags": [0, 1, 2],
    "windows": [(1981, 2022), (1990, 2022), (1981, 2011)],
    "estimators": ["twfe", "twfe_ldv"],
}

RESULT_COLUMNS = [
    "spec_id",
    "treaty",
    "outcome",
    "coding",
    "controls",
    "lag",
    "window",
    "estimator",
    "term",
    "estimate",
    "std_error",
    "statistic",
    "p_value",
    "conf_low",
    "conf_high",
    "n_obs",
    "n_units",
    "r2_within",
    "outcome_sd",
    "skipped",
]


def _window_label(w: Sequence[int]) -> str:
    return f"{int(w[0])}-{int(w[1])}"


def specification_grid(
    treaty: str = "cedaw",
    outcomes: Sequence[str] | None = None,
    codings: Sequence[str] | None = None,
    controls: Sequence[str] | None = None,
    lags: Sequence[int] | None = None,
    windows: Sequence[Sequence[int]] | None = None,
    estimators: Sequence[str] | None = None,
    panel: pd.DataFrame | None = None,
) -> pd.DataFrame:
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
    controls = (
        d["controls"] if controls is None else check_choices("controls", list(controls), list(M.CONTROL_SETS))
    )
    lags = d["lags"] if lags is None else list(lags)
    for lg in lags:
        if not isinstance(lg, (int, np.integer)) or not 0 <= lg <= 10:
            raise ParameterError("lags", lg, list(range(11)))
    windows = d["windows"] if windows is None else [tuple(w) for w in windows]
    for w in windows:
        if len(w) != 2 or int(w[0]) > int(w[1]):
            raise ParameterError("windows", w, hint="each window a (first_year, last_year) pair")
    estimators = (
        d["estimators"]
        if estimators is None
        else check_choices("estimators", list(estimators), SPEC_ESTIMATORS)
    )
    rows = [
        {
            "treaty": treaty,
            "outcome": o,
            "coding": c,
            "controls": ct,
            "lag": int(lg),
            "window": _window_label(w),
            "year_start": int(w[0]),
            "year_end": int(w[1]),
            "estimator": e,
        }
        for o, c, ct, lg, w, e in itertools.product(outcomes, codings, controls, lags, windows, estimators)
    ]
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


def _raw_columns(panel: pd.DataFrame, treaty: str, g: pd.DataFrame) -> tuple[set[str], dict[str, list[str]]]:
    """The panel columns to lag for one treaty's specifications ``g`` (treatment codings and controls), and the
    control columns of each control set; an error naming any column the panel lacks."""
    raw = set()
    for c in g["coding"].unique():
        raw |= set(M.treatment_columns(treaty, c)[0])
    ctl_sets = {ct: M.control_columns(treaty, M.CONTROL_SETS[ct], "twfe")[0] for ct in g["controls"].unique()}
    for cols in ctl_sets.values():
        raw |= {c for c in cols if c != "income_group"}
    missing = sorted(
        c
        for c in raw | ({"income_group"} if any("income_group" in v for v in ctl_sets.values()) else set())
        if c not in panel.columns
    )
    if missing:
        raise ParameterError(
            "controls", sorted(g["controls"].unique()), hint=f"panel lacks column(s) {missing}"
        )
    return raw, ctl_sets


def _build_store(panel: pd.DataFrame, grid: pd.DataFrame) -> tuple[dict[str, np.ndarray], list[_Spec]]:
    """All candidate columns (float arrays over panel rows) and the per-spec variable lists."""
    store: dict[str, np.ndarray] = {}
    for o in grid["outcome"].unique():
        store[o] = M.as_float(panel[o])
    for o in grid.loc[grid["estimator"].eq("twfe_ldv"), "outcome"].unique():
        store[f"{o}_l1"] = M.lag_within(panel, [o], 1)[o].to_numpy()
    blocks: dict[tuple, tuple[list[str], str]] = {}
    cblocks: dict[tuple, list[str]] = {}
    for (treaty, lag), g in grid.groupby(["treaty", "lag"], sort=True):
        raw, ctl_sets = _raw_columns(panel, treaty, g)
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
        specs.append(
            _Spec(int(r.spec_id), r.outcome, x, focal, [r.outcome, *x], int(r.year_start), int(r.year_end))
        )
    return store, specs


def run_specs(
    panel: pd.DataFrame,
    grid: pd.DataFrame | None = None,
    se: str = "CRV1",
    level: float = 0.95,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Estimate every specification of ``grid`` (default: :func:`specification_grid` on ``panel``).

    Returns one row per specification (:data:`RESULT_COLUMNS`, plus the grid's other columns), sorted by
    ``spec_id``. ``progress`` shows a tqdm bar (default: on for more than 2,000 specifications).
    """
    check_choice("se", se, SPEC_SE_TYPES)
    if grid is None:
        grid = specification_grid(panel=panel)
    _check_grid(panel, grid)
    panel = panel.sort_values(["iso3", "year"]).reset_index(drop=True)
    store, specs = _build_store(panel, grid)
    year = panel["year"].to_numpy(dtype=int)
    iso = panel["iso3"].astype(str).to_numpy()
    groups, masks = _sample_groups(specs, store, year)

    rows: dict[int, dict] = {}
    show = len(specs) > 2000 if progress is None else progress
    it = groups.items()
    if show:
        from tqdm import tqdm

        it = tqdm(it, total=len(groups), desc="samples", unit="sample", mininterval=0.5)
    for key, members in it:
        rows.update(_estimate_sample(members, masks[key], store, iso, year, se, level))
    res = pd.DataFrame([rows[i] for i in sorted(rows)])
    ok = res["skipped"].eq("").to_numpy()
    res.loc[ok, "p_value"] = 2 * stats.t.sf(
        np.abs(res.loc[ok, "statistic"].to_numpy(float)), res.loc[ok, "n_units"].to_numpy(float) - 1
    )
    out = grid.merge(res, on="spec_id", how="left", validate="one_to_one")
    front = [c for c in RESULT_COLUMNS if c in out.columns]
    return (
        out[front + [c for c in out.columns if c not in front]].sort_values("spec_id").reset_index(drop=True)
    )


def _check_grid(panel: pd.DataFrame, grid: pd.DataFrame) -> None:
    bad = sorted(set(grid["estimator"]) - set(SPEC_ESTIMATORS))
    if bad:
        raise ParameterError(
            "estimator",
            bad[0],
            SPEC_ESTIMATORS,
            hint="ologit and iv run through helpers.models.fit, not the fast engine",
        )
    for o in grid["outcome"].unique():
        check_choice("outcome", o, M.valid_outcomes(panel))


def _sample_groups(
    specs: list[_Spec], store: dict[str, np.ndarray], year: np.ndarray
) -> tuple[dict[bytes, list[_Spec]], dict[bytes, np.ndarray]]:
    """Specifications grouped by their estimation sample (panel rows in the window with every variable present),
    keyed by the packed row mask; and the mask of each group."""
    notna = {k: ~np.isnan(v) for k, v in store.items()}
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
    return groups, masks


@dataclass
class _Sample:
    """One estimation sample, swept: what every specification on it needs."""

    sw: fe.TwoWaySweeper
    Zd: np.ndarray
    Gram: np.ndarray
    loo: np.ndarray | None
    raw_ss: np.ndarray
    raw_sd: np.ndarray
    n: int
    q: float
    se: str


def _estimate_sample(
    members: list[_Spec],
    m: np.ndarray,
    store: dict[str, np.ndarray],
    iso: np.ndarray,
    year: np.ndarray,
    se: str,
    level: float,
) -> dict[int, dict]:
    """Result rows of every specification sharing the estimation sample ``m``: one two-way sweep of all their
    columns, then each specification from the swept Gram matrix."""
    n = int(m.sum())
    if n == 0:
        return {s.idx: _skipped(s, "empty sample", 0, 0) for s in members}
    sw = fe.TwoWaySweeper(iso[m], year[m])
    if sw.C < 2:
        return {s.idx: _skipped(s, "fewer than 2 countries (clusters) in sample", n, sw.C) for s in members}
    cols = list(dict.fromkeys(c for s in members for c in [s.y, *s.x]))
    pos = {c: i for i, c in enumerate(cols)}
    Z = np.column_stack([store[c][m] for c in cols])
    Zd = sw.sweep(Z)
    Gram = Zd.T @ Zd
    loo = sw.loo_corrections(Zd) if se == "CRV3" else None  # C x p x p, exact leave-one-country-out
    raw_ss = ((Z - Z.mean(axis=0)) ** 2).sum(axis=0)
    raw_sd = np.sqrt(raw_ss / max(n - 1, 1))
    q = stats.t.ppf(0.5 + level / 2, sw.C - 1)
    sample = _Sample(sw, Zd, Gram, loo, raw_ss, raw_sd, n, q, se)
    return {s.idx: _estimate_spec(s, pos, sample) for s in members}


def _estimate_spec(s: _Spec, pos: dict[str, int], smp: _Sample) -> dict:
    """Result row of one specification (or a skipped row saying why it cannot be estimated)."""
    n, G, Gram = smp.n, smp.sw.C, smp.Gram
    iy = pos[s.y]
    ix = np.array([pos[c] for c in s.x])
    fi = pos[s.focal]
    # treatment with no within variation (relative to its raw variation) -> skipped
    if smp.raw_ss[fi] == 0 or Gram[fi, fi] <= fe.COLLIN_TOL * smp.raw_ss[fi]:
        return _skipped(s, f"no within-country variation in treatment ({s.focal})", n, G)
    if Gram[iy, iy] == 0:
        return _skipped(s, f"outcome {s.y} has no variation after fixed effects", n, G)
    kept = ix[fe.collinear_keep(Gram[np.ix_(ix, ix)])]
    if fi not in kept:
        return _skipped(s, f"treatment {s.focal} collinear with fixed effects/controls", n, G)
    XtX = Gram[np.ix_(kept, kept)]
    Xty = Gram[kept, iy]
    XtX_inv = np.linalg.inv(XtX)
    XtX_inv = (XtX_inv + XtX_inv.T) / 2
    beta = XtX_inv @ Xty
    e = smp.Zd[:, iy] - smp.Zd[:, kept] @ beta
    V = _spec_vcov(smp, kept, iy, XtX, Xty, XtX_inv, beta, e)
    j = int(np.where(kept == fi)[0][0])
    b, sej = float(beta[j]), float(np.sqrt(V[j, j]))
    t = b / sej
    r2w = 1 - float(e @ e) / float(Gram[iy, iy])
    return {
        "spec_id": s.idx,
        "term": s.focal,
        "estimate": b,
        "std_error": sej,
        "statistic": t,
        "p_value": np.nan,
        "conf_low": b - smp.q * sej,
        "conf_high": b + smp.q * sej,
        "n_obs": n,
        "n_units": G,
        "r2_within": r2w,
        "outcome_sd": float(smp.raw_sd[iy]),
        "skipped": "",
    }


def _spec_vcov(
    smp: _Sample,
    kept: np.ndarray,
    iy: int,
    XtX: np.ndarray,
    Xty: np.ndarray,
    XtX_inv: np.ndarray,
    beta: np.ndarray,
    e: np.ndarray,
) -> np.ndarray:
    """Cluster-robust covariance by country: CRV3 (exact leave-one-country-out jackknife), or CRV1 / CR1 with
    their small-sample factors (CRV1 counts the swept year effects in K, CR1 both sets of effects)."""
    if smp.loo is not None:
        return fe.jackknife_vcov(XtX, Xty, beta, smp.loo, kept, iy)
    sw, n = smp.sw, smp.n
    G = sw.C
    scores = sw.country_sums(smp.Zd[:, kept] * e[:, None])  # G x k
    meat = scores.T @ scores
    k = len(kept)
    K = k + sw.T if smp.se == "CRV1" else k + sw.C + sw.T - 1
    adj = G / (G - 1) * (n - 1) / (n - K)
    return adj * XtX_inv @ meat @ XtX_inv


def _skipped(s: _Spec, reason: str, n: int, g: int) -> dict:
    return {
        "spec_id": s.idx,
        "term": s.focal,
        "estimate": np.nan,
        "std_error": np.nan,
        "statistic": np.nan,
        "p_value": np.nan,
        "conf_low": np.nan,
        "conf_high": np.nan,
        "n_obs": n,
        "n_units": g,
        "r2_within": np.nan,
        "outcome_sd": np.nan,
        "skipped": reason,
    }


def summarize(results: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Specification-curve summary of the estimated (non-skipped) specs: counts, median, shares positive/significant."""
    ok = results[results["skipped"].eq("") & results["estimate"].notna()]
    est, p = ok["estimate"], ok["p_value"]
    return pd.DataFrame(
        [
            {
                "n_specs": len(results),
                "n_estimated": len(ok),
                "n_skipped": int(len(results) - len(ok)),
                "median_estimate": float(est.median()) if len(ok) else np.nan,
                "share_positive": float((est > 0).mean()) if len(ok) else np.nan,
                "share_significant": float((p < alpha).mean()) if len(ok) else np.nan,
                "share_positive_significant": float(((est > 0) & (p < alpha)).mean()) if len(ok) else np.nan,
                "share_negative_significant": float(((est < 0) & (p < alpha)).mean()) if len(ok) else np.nan,
                "alpha": alpha,
            }
        ]
    )


CHOICE_COLUMNS = ["outcome", "coding", "controls", "lag", "window", "estimator"]
