"""Specification-curve engine: thousands of two-way fixed-effects regressions with clustered SEs in seconds, and
their joint inference under the null.

A multiverse (:func:`specification_grid`: outcomes x treatment codings x control sets x lags x windows x
estimators) is estimated by :func:`run_specs`:

1. Every candidate column (outcomes, lagged treatment codings, lagged controls, lagged outcomes for the
   lagged-dependent-variable estimator) is built once per lag from the panel, with the same names and codings as
   :func:`helpers.models.fit` (it reuses :func:`helpers.models.treatment_block` / ``control_block``).
2. **Estimation samples** (``sample_mode``). ``"common"`` (the default): within each outcome x window x lag, every
   specification is estimated on the rows complete for *all* variables of the grid's control sets, codings and
   estimators, so a control set (the income group starts in 1987) or the lagged outcome cannot silently move the
   window or change N. ``"own"``: each specification uses its own complete rows (the first and last year and N
   then differ between specifications and are reported as dimensions). Either way each result row carries the
   sample's actual ``first_year``, ``last_year``, ``n_obs``, ``n_units`` and ``n_switchers`` (countries whose
   treatment status changes inside the sample).
3. Specifications are grouped by their estimation sample. For each distinct sample the country and year fixed
   effects are swept out of all the group's columns at once, **exactly**: country demeaning followed by the
   projection on the country-demeaned year dummies, solved through the small T x T system
   ``D_t' M_c D_t b = D_t' M_c z`` (T = years; minimum-norm solution, so disconnected samples are fine).
4. Each specification is then a small least-squares problem on the demeaned columns (Gram matrix computed once
   per sample), with cluster-robust sandwich SEs from demeaned residuals and per-cluster score sums.

Standard errors (the names of :data:`helpers.models.SE_TYPES`): ``CRV1`` (pyfixest/fixest default: G/(G-1) x
(N-1)/(N-K), K = regressors + years, i.e. the country FE nested in the cluster are not counted), ``CR1``
(Stata/statsmodels: K counts every FE dummy: regressors + countries + years - 1), ``CRV3`` (cluster jackknife: sum
over countries of (b_(-g) - b)(b_(-g) - b)', no small-sample factor, as pyfixest's ``{"CRV3": "iso3"}`` with
``ssc(k_adj=False, G_adj=False)``), ``twoway`` (country and year clusters, V_c + V_y - V_cy, each with
min(G)/(min(G)-1) (N-1)/(N-K), K = regressors + 1 as pyfixest with both FE nested; t(min G - 1)) and ``DK``
(Driscoll-Kraay: year sums of the scores with Bartlett weights up to :func:`helpers.models.dk_lag` years,
T/(T-1) (N-1)/(N-K) with every FE in K; t(T-1)). CRV3 is exact, not an approximation that keeps the
full-sample year effects: dropping a country and re-estimating every fixed effect equals adding one dummy per row
of that country, so each leave-one-country-out fit is a rank-n_g downdate of the swept Gram matrix
(:meth:`TwoWaySweeper.loo_corrections`), computed once per sample. No singleton removal (as ``fixef_rm="none"``
in pyfixest and statsmodels). Regressors that are collinear once the fixed effects are swept out are dropped
(relative tolerance 1e-9, as pyfixest's ``collin_tol``); a specification whose focal treatment is dropped, whose
sample is empty, or whose treatment has no within-country variation is returned with a ``skipped`` reason. A grid
in which no specification can be estimated is an :class:`EmptySampleError` naming the windows and the reasons.

**Joint inference** (Simonsohn, Simmons and Nelson 2020, "Specification curve analysis"): :func:`null_draws`
computes the curve's summary statistics (median estimate, share significant, share positive / negative and
significant) in draws from the null of no effect, and :func:`joint_test` compares the observed curve with them.
Each draw imposes the null in every specification (its restricted fit without the focal term; y* = restricted
fitted value + restricted residual x a Rademacher weight per country, a null-imposed wild cluster bootstrap),
with the same country weights in every specification of a draw, so that the dependence between specifications
is kept. The regressors stay fixed, so each sample's swept columns are reused: the draw's coefficients and
cluster score sums are linear in the weights and computed for all draws at once (no refit). Weights are a pure
function of ``(seed, draw index)`` (:func:`draw_weights`), so draws can be computed in pieces
(``null_draws(..., start, stop)``) and concatenated. Tested against a plain refit per draw.

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

from helpers.core import engine
from helpers.core.errors import EmptySampleError, ParameterError
from helpers.core.params import check_choice, check_choices, check_draws
from helpers.estimate import fe
from helpers.estimate import models as M

SPEC_ESTIMATORS = ["twfe", "twfe_ldv"]
SPEC_SE_TYPES = list(M.SE_TYPES)
SAMPLE_MODES = ["common", "own"]
#: standard errors available for the null draws of the joint test (CRV3 would need a jackknife per draw)
NULL_SE_TYPES = ["CRV1", "CR1", "twoway", "DK"]

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
    "df_t",
    "n_obs",
    "n_units",
    "n_switchers",
    "first_year",
    "last_year",
    "sample_years",
    "sample_mode",
    "r2_within",
    "outcome_sd",
    "skipped",
]

CHOICE_COLUMNS = ["outcome", "coding", "controls", "lag", "window", "estimator"]
#: dimensions added to the choices when each specification uses its own sample (``sample_mode="own"``)
SAMPLE_COLUMNS = ["sample_years"]

#: the curve's summary statistics tested jointly (:func:`curve_statistics`)
JOINT_STATISTICS = [
    "median_estimate",
    "median_std_estimate",
    "share_significant",
    "share_positive_significant",
    "share_negative_significant",
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
    codings = _grid_codings(treaty, codings)
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


def _grid_codings(treaty: str, codings: Sequence[str] | None) -> list[str]:
    if codings is None:
        out = []
        for c in DEFAULT_MULTIVERSE["codings"]:
            try:
                M.treatment_columns(treaty, c)
                out.append(c)
            except ParameterError:
                pass
        return out
    out = check_choices("codings", list(codings), M.CODINGS)
    for c in out:
        M.treatment_columns(treaty, c)
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
    status: str  # store key of the 0/1 treatment status (switching countries)
    common: tuple  # (treaty, outcome, window, lag): the group sharing one sample in "common" mode


def _raw_columns(panel: pd.DataFrame, treaty: str, g: pd.DataFrame) -> tuple[set[str], dict[str, list[str]]]:
    """The panel columns to lag for one treaty's specifications ``g`` (treatment codings, their status columns and
    controls), and the control columns of each control set; an error naming any column the panel lacks."""
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
    raw |= {M.status_column(treaty, c) for c in g["coding"].unique()} & set(panel.columns)
    return raw, ctl_sets


def _build_store(panel: pd.DataFrame, grid: pd.DataFrame) -> tuple[dict[str, np.ndarray], list[_Spec]]:
    """All candidate columns (float arrays over panel rows) and the per-spec variable lists."""
    store: dict[str, np.ndarray] = {}
    for o in grid["outcome"].unique():
        store[o] = M.as_float(panel[o])
    for o in grid.loc[grid["estimator"].eq("twfe_ldv"), "outcome"].unique():
        store[f"{o}_l1"] = M.lag_within(panel, [o], 1)[o].to_numpy()
    blocks: dict[tuple, tuple[list[str], str, str]] = {}
    cblocks: dict[tuple, list[str]] = {}
    for (treaty, lag), g in grid.groupby(["treaty", "lag"], sort=True):
        raw, ctl_sets = _raw_columns(panel, treaty, g)
        lagged = M.lag_within(panel, sorted(raw), int(lag))
        for c in g["coding"].unique():
            cols, terms, focal, _ = M.treatment_block(lagged, treaty, c, int(lag))
            store.update(cols)
            st = M.status_column(treaty, c)
            key = f"status:{st}:{lag}"
            store[key] = lagged[st].to_numpy(float) if st in lagged else store[focal]
            blocks[(treaty, c, lag)] = (terms, focal, key)
        for ct, cols_ in ctl_sets.items():
            cols, names = M.control_block(panel, cols_, int(lag), lagged)
            store.update(cols)
            cblocks[(treaty, ct, lag)] = names
    specs = []
    for r in grid.itertuples(index=False):
        terms, focal, skey = blocks[(r.treaty, r.coding, r.lag)]
        x = list(terms) + cblocks[(r.treaty, r.controls, r.lag)]
        if r.estimator == "twfe_ldv":
            x.append(f"{r.outcome}_l1")
        specs.append(
            _Spec(
                int(r.spec_id),
                r.outcome,
                x,
                focal,
                [r.outcome, *x],
                int(r.year_start),
                int(r.year_end),
                skey,
                (r.treaty, r.outcome, r.window, int(r.lag)),
            )
        )
    return store, specs


class _Engine:
    """A grid on a panel: the columns, the specifications and their samples (grouped), ready to estimate."""

    def __init__(self, panel: pd.DataFrame, grid: pd.DataFrame | None, sample_mode: str):
        check_choice("sample_mode", sample_mode, SAMPLE_MODES)
        if grid is None:
            grid = specification_grid(panel=panel)
        _check_grid(panel, grid)
        self.grid, self.sample_mode = grid, sample_mode
        self.order = np.lexsort((panel["year"].to_numpy(), panel["iso3"].astype(str).to_numpy()))
        self.panel = panel.iloc[self.order].reset_index(drop=True)
        self.store, self.specs = _build_store(self.panel, grid)
        self.year = self.panel["year"].to_numpy(dtype=int)
        self.iso = self.panel["iso3"].astype(str).to_numpy()
        self.countries = np.unique(self.iso)
        self.groups, self.masks = _sample_groups(self.specs, self.store, self.year, sample_mode)

    def sample(self, key: bytes) -> _Sample | None:
        """The swept sample of group ``key`` (None if it has fewer than two countries)."""
        members, m = self.groups[key], self.masks[key]
        if m.sum() == 0:
            return None
        sw = fe.TwoWaySweeper(self.iso[m], self.year[m])
        if sw.C < 2:
            return None
        cols = list(dict.fromkeys(c for s in members for c in [s.y, *s.x]))
        Z = np.column_stack([self.store[c][m] for c in cols])
        return _Sample(sw, cols, Z, m, self.year[m])


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
    specs: list[_Spec], store: dict[str, np.ndarray], year: np.ndarray, sample_mode: str = "own"
) -> tuple[dict[bytes, list[_Spec]], dict[bytes, np.ndarray]]:
    """Specifications grouped by their estimation sample, keyed by the packed row mask; and the mask of each group.

    ``own``: the rows in the spec's window with every one of its variables present. ``common``: the rows in the
    window with every variable of every spec of the same treaty x outcome x window x lag present.
    """
    notna = {k: ~np.isnan(v) for k, v in store.items()}
    need: dict[tuple, list[str]] = {}
    if sample_mode == "common":
        for s in specs:
            need.setdefault(s.common, []).extend(s.mask_cols)
    groups: dict[bytes, list[_Spec]] = {}
    masks: dict[bytes, np.ndarray] = {}
    win_cache: dict[tuple[int, int], np.ndarray] = {}
    mask_cache: dict[tuple, np.ndarray] = {}
    for s in specs:
        w = (s.year_start, s.year_end)
        if w not in win_cache:
            win_cache[w] = (year >= w[0]) & (year <= w[1])
        cols = tuple(dict.fromkeys(need[s.common] if sample_mode == "common" else s.mask_cols))
        if (w, cols) not in mask_cache:
            m = win_cache[w].copy()
            for c in cols:
                m &= notna[c]
            mask_cache[(w, cols)] = m
        m = mask_cache[(w, cols)]
        key = np.packbits(m).tobytes()
        groups.setdefault(key, []).append(s)
        masks.setdefault(key, m)
    return groups, masks


@dataclass
class _Sample:
    """One estimation sample, swept: what every specification on it needs."""

    sw: fe.TwoWaySweeper
    cols: list[str]
    Z: np.ndarray
    mask: np.ndarray
    year: np.ndarray

    def __post_init__(self):
        self.pos = {c: i for i, c in enumerate(self.cols)}
        self.Zd = self.sw.sweep(self.Z)
        self.Gram = self.Zd.T @ self.Zd
        self.n = len(self.Z)
        self.raw_ss = ((self.Z - self.Z.mean(axis=0)) ** 2).sum(axis=0)
        self.raw_sd = np.sqrt(self.raw_ss / max(self.n - 1, 1))
        self.loo: np.ndarray | None = None

    def year_sums(self, A: np.ndarray) -> np.ndarray:
        """Per-year column sums (T x p), years in increasing order."""
        out = np.zeros((self.sw.T, A.shape[1]))
        np.add.at(out, self.sw.t_codes, A)
        return out

    def switchers(self, status: np.ndarray) -> int:
        """Countries whose 0/1 status takes both values in the sample (rows sorted by country)."""
        st = np.where(np.isnan(status), np.nan, status)
        lo = np.fmin.reduceat(st, self.sw.starts)
        hi = np.fmax.reduceat(st, self.sw.starts)
        return int(np.sum(hi > lo))


def run_specs(
    panel: pd.DataFrame,
    grid: pd.DataFrame | None = None,
    se: str = "CRV1",
    level: float = 0.95,
    progress: bool | None = None,
    sample_mode: str = "common",
) -> pd.DataFrame:
    """Estimate every specification of ``grid`` (default: :func:`specification_grid` on ``panel``).

    Returns one row per specification (:data:`RESULT_COLUMNS`, plus the grid's other columns), sorted by
    ``spec_id``. ``sample_mode``: ``"common"`` (default) or ``"own"`` (module docstring). ``progress`` shows a tqdm
    bar (default: on for more than 2,000 specifications). Raises EmptySampleError when no specification can be
    estimated.
    """
    check_choice("se", se, SPEC_SE_TYPES)
    eng = _Engine(panel, grid, sample_mode)
    rows: dict[int, dict] = {}
    show = len(eng.specs) > 2000 if progress is None else progress
    it = eng.groups.items()
    if show:
        from tqdm import tqdm

        it = tqdm(it, total=len(eng.groups), desc="samples", unit="sample", mininterval=0.5)
    for key, members in it:
        rows.update(_estimate_sample(eng, key, members, se, level))
    res = pd.DataFrame([rows[i] for i in sorted(rows)])
    res["sample_mode"] = sample_mode
    out = eng.grid.merge(res, on="spec_id", how="left", validate="one_to_one")
    front = [c for c in RESULT_COLUMNS if c in out.columns]
    out = (
        out[front + [c for c in out.columns if c not in front]].sort_values("spec_id").reset_index(drop=True)
    )
    require_estimated(out)
    return out


def require_estimated(results: pd.DataFrame) -> None:
    """EmptySampleError when no specification of ``results`` was estimated: names the windows, outcomes and lags
    asked for and the reasons; nothing when at least one was estimated."""
    if len(results) and results["skipped"].eq("").any():
        return
    reasons = results["skipped"].value_counts()
    raise EmptySampleError(
        f"none of the {len(results)} specification(s) could be estimated: windows "
        f"{sorted(results['window'].unique())}, outcomes {sorted(results['outcome'].unique())}, lags "
        f"{sorted(int(x) for x in results['lag'].unique())}; "
        + "; ".join(f"{n} x {r}" for r, n in reasons.items())
    )


def _estimate_sample(
    eng: _Engine, key: bytes, members: list[_Spec], se: str, level: float
) -> dict[int, dict]:
    """Result rows of every specification sharing one estimation sample: one two-way sweep of all their columns,
    then each specification from the swept Gram matrix."""
    m = eng.masks[key]
    n = int(m.sum())
    smp = eng.sample(key)
    if smp is None:
        n_c = len(np.unique(eng.iso[m])) if n else 0
        reason = "empty sample" if n == 0 else "fewer than 2 countries (clusters) in sample"
        if n == 0:
            reason += (
                f" (no country-year in {members[0].year_start}-{members[0].year_end} with every variable)"
            )
        return {s.idx: _skipped(s, reason, n, n_c) for s in members}
    if se == "CRV3":
        smp.loo = smp.sw.loo_corrections(smp.Zd)  # C x p x p, exact leave-one-country-out
    info = {"first_year": int(smp.year.min()), "last_year": int(smp.year.max())}
    out = {}
    for s in members:
        row = _estimate_spec(s, smp, se, level)
        row.update(info, sample_years=f"{info['first_year']}-{info['last_year']}")
        row["n_switchers"] = smp.switchers(eng.store[s.status][m])
        out[s.idx] = row
    return out


@dataclass
class _Fit:
    """The least-squares fit of one specification on a swept sample."""

    kept: np.ndarray  # positions (in the sample's columns) of the regressors kept
    j: int  # position of the focal term among kept
    XtX: np.ndarray
    Xty: np.ndarray
    XtX_inv: np.ndarray
    beta: np.ndarray
    e: np.ndarray
    iy: int


def _fit_spec(s: _Spec, smp: _Sample) -> _Fit | str:
    """The fit of one specification, or the reason it cannot be estimated."""
    Gram = smp.Gram
    iy, fi = smp.pos[s.y], smp.pos[s.focal]
    ix = np.array([smp.pos[c] for c in s.x])
    # treatment with no within variation (relative to its raw variation) -> skipped
    if smp.raw_ss[fi] == 0 or Gram[fi, fi] <= fe.COLLIN_TOL * smp.raw_ss[fi]:
        return f"no within-country variation in treatment ({s.focal})"
    if Gram[iy, iy] == 0:
        return f"outcome {s.y} has no variation after fixed effects"
    kept = ix[fe.collinear_keep(Gram[np.ix_(ix, ix)])]
    if fi not in kept:
        return f"treatment {s.focal} collinear with fixed effects/controls"
    XtX = Gram[np.ix_(kept, kept)]
    Xty = Gram[kept, iy]
    XtX_inv = np.linalg.inv(XtX)
    XtX_inv = (XtX_inv + XtX_inv.T) / 2
    beta = XtX_inv @ Xty
    e = smp.Zd[:, iy] - smp.Zd[:, kept] @ beta
    return _Fit(kept, int(np.where(kept == fi)[0][0]), XtX, Xty, XtX_inv, beta, e, iy)


def _estimate_spec(s: _Spec, smp: _Sample, se: str, level: float) -> dict:
    """Result row of one specification (or a skipped row saying why it cannot be estimated)."""
    n, G = smp.n, smp.sw.C
    f = _fit_spec(s, smp)
    if isinstance(f, str):
        return _skipped(s, f, n, G)
    V = _spec_vcov(smp, f, se)
    df_t = M.inference_df(se, G, smp.sw.T)
    q = stats.t.ppf(0.5 + level / 2, df_t)
    b, sej = float(f.beta[f.j]), float(np.sqrt(V[f.j, f.j]))
    t = b / sej
    r2w = 1 - float(f.e @ f.e) / float(smp.Gram[f.iy, f.iy])
    return {
        "spec_id": s.idx,
        "term": s.focal,
        "estimate": b,
        "std_error": sej,
        "statistic": t,
        "p_value": float(2 * stats.t.sf(abs(t), df_t)),
        "conf_low": b - q * sej,
        "conf_high": b + q * sej,
        "df_t": df_t,
        "n_obs": n,
        "n_units": G,
        "r2_within": r2w,
        "outcome_sd": float(smp.raw_sd[f.iy]),
        "skipped": "",
    }


def se_factor(se: str, n: int, k: int, n_countries: int, n_years: int) -> float:
    """Small-sample factor of a sandwich SE convention (module docstring) with k slope regressors."""
    C, T = n_countries, n_years
    if se == "twoway":
        G, K = min(C, T), k + 1
    elif se == "DK":
        G, K = T, k + C + T - 1
    else:
        G, K = C, (k + T if se == "CRV1" else k + C + T - 1)
    return G / (G - 1) * (n - 1) / (n - K)


def dk_meat(S: np.ndarray, lag: int) -> np.ndarray:
    """Driscoll-Kraay meat from per-year score sums ``S`` (T x p, years in order): Bartlett-weighted
    autocovariances up to ``lag``."""
    meat = S.T @ S
    for lg in range(1, min(lag, len(S) - 1) + 1):
        G = S[lg:].T @ S[:-lg]
        meat = meat + (1 - lg / (lag + 1)) * (G + G.T)
    return meat


def _spec_vcov(smp: _Sample, f: _Fit, se: str) -> np.ndarray:
    """Covariance of one specification: CRV3 (exact leave-one-country-out jackknife), or a sandwich (CRV1, CR1,
    two-way, Driscoll-Kraay) with its small-sample factor."""
    if se == "CRV3":
        return fe.jackknife_vcov(f.XtX, f.Xty, f.beta, smp.loo, f.kept, f.iy)
    sw, n, k = smp.sw, smp.n, len(f.kept)
    sc = smp.Zd[:, f.kept] * f.e[:, None]
    adj = se_factor(se, n, k, sw.C, sw.T)
    if se == "DK":
        meat = dk_meat(smp.year_sums(sc), M.dk_lag(sw.T))
    else:
        scores = sw.country_sums(sc)  # G x k
        meat = scores.T @ scores
        if se == "twoway":
            St = smp.year_sums(sc)
            meat = meat + St.T @ St - sc.T @ sc
    return adj * f.XtX_inv @ meat @ f.XtX_inv


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
        "df_t": np.nan,
        "n_obs": n,
        "n_units": g,
        "n_switchers": np.nan,
        "first_year": np.nan,
        "last_year": np.nan,
        "sample_years": "",
        "r2_within": np.nan,
        "outcome_sd": np.nan,
        "skipped": reason,
    }


def sample_masks(
    panel: pd.DataFrame, grid: pd.DataFrame, spec_ids: Sequence[int], sample_mode: str = "common"
) -> dict[int, np.ndarray]:
    """The estimation samples of some specifications as boolean masks over ``panel``'s rows (in its order), e.g. to
    refit them with :func:`helpers.models.fit` (``rows=``); an error for a spec_id not in the grid."""
    eng = _Engine(panel, grid, sample_mode)
    where = {s.idx: key for key, members in eng.groups.items() for s in members}
    out = {}
    for sid in spec_ids:
        if int(sid) not in where:
            raise ParameterError("spec_id", sid, hint="not a spec_id of the grid")
        m = np.zeros(len(panel), dtype=bool)
        m[eng.order] = eng.masks[where[int(sid)]]
        out[int(sid)] = m
    return out


# ----------------------------------------------------------------------------------------------------------------
# summaries and joint inference


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


def curve_statistics(
    estimate: np.ndarray, statistic: np.ndarray, df_t: np.ndarray, outcome_sd: np.ndarray, alpha: float = 0.05
) -> pd.DataFrame:
    """The joint statistics (:data:`JOINT_STATISTICS`) of curves: ``estimate`` and ``statistic`` are S x B (S
    specifications, B curves), ``df_t`` and ``outcome_sd`` per specification. A specification is significant when
    its two-sided t-test rejects at ``alpha`` (as its p-value in :func:`run_specs`)."""
    est = np.asarray(estimate, float).reshape(len(df_t), -1)
    t = np.asarray(statistic, float).reshape(est.shape)
    crit = stats.t.ppf(1 - alpha / 2, np.asarray(df_t, float))[:, None]
    sig = np.abs(t) > crit
    return pd.DataFrame(
        {
            "median_estimate": np.median(est, axis=0),
            "median_std_estimate": np.median(est / np.asarray(outcome_sd, float)[:, None], axis=0),
            "share_significant": sig.mean(axis=0),
            "share_positive_significant": (sig & (est > 0)).mean(axis=0),
            "share_negative_significant": (sig & (est < 0)).mean(axis=0),
        }
    )


def draw_weights(countries: Sequence[str], seed: int, start: int, stop: int) -> np.ndarray:
    """Rademacher weights (len(countries) x (stop - start)) of null draws ``start..stop-1``: column i comes from a
    generator seeded with ``(seed, start + i)`` only, one weight per country in the order of ``countries``."""
    n = len(countries)
    return np.column_stack(
        [np.random.default_rng([int(seed), int(i)]).integers(0, 2, n) * 2.0 - 1.0 for i in range(start, stop)]
    ).reshape(n, max(stop - start, 0))


@dataclass
class NullDraws:
    """Null draws of every estimated specification: ``estimate``/``statistic`` are S x B (rows in ``spec_id``
    order, columns draws ``start..stop-1``); ``df_t`` and ``outcome_sd`` per specification."""

    spec_id: np.ndarray
    estimate: np.ndarray
    statistic: np.ndarray
    df_t: np.ndarray
    outcome_sd: np.ndarray
    start: int
    stop: int
    seed: int
    se: str
    sample_mode: str

    def statistics(self, alpha: float = 0.05) -> pd.DataFrame:
        """:func:`curve_statistics` of each draw, with its index (``draw``); ``attrs`` hold seed, se, sample mode,
        alpha."""
        out = curve_statistics(self.estimate, self.statistic, self.df_t, self.outcome_sd, alpha)
        out.insert(0, "draw", np.arange(self.start, self.stop))
        out.attrs.update(seed=self.seed, se=self.se, sample_mode=self.sample_mode, alpha=alpha)
        return out

    def subset(self, spec_ids: Sequence[int]) -> NullDraws:
        """The draws of some specifications only (e.g. one coding), for a joint test of a sub-curve."""
        keep = np.isin(self.spec_id, np.asarray(spec_ids, dtype=int))
        return NullDraws(
            self.spec_id[keep],
            self.estimate[keep],
            self.statistic[keep],
            self.df_t[keep],
            self.outcome_sd[keep],
            self.start,
            self.stop,
            self.seed,
            self.se,
            self.sample_mode,
        )

    @classmethod
    def concat(cls, parts: Sequence[NullDraws]) -> NullDraws:
        """Consecutive pieces of draws (``start..stop`` contiguous, same specifications and settings) as one."""
        if not parts:
            raise ParameterError("parts", parts, hint="at least one NullDraws")
        first = parts[0]
        for a, b in itertools.pairwise(parts):
            if (
                b.start != a.stop
                or not np.array_equal(a.spec_id, b.spec_id)
                or (a.seed, a.se) != (b.seed, b.se)
            ):
                raise ParameterError(
                    "parts", (a.start, a.stop, b.start, b.stop), hint="contiguous pieces of one run"
                )
        return cls(
            first.spec_id,
            np.hstack([p.estimate for p in parts]),
            np.hstack([p.statistic for p in parts]),
            first.df_t,
            first.outcome_sd,
            first.start,
            parts[-1].stop,
            first.seed,
            first.se,
            first.sample_mode,
        )


#: null draws per engine task: fixed, so the draws never depend on how many workers run them. A task first
#: rebuilds every sample and fit (about 4 s for the default 1,620 specifications), after which a draw costs about
#: 3 ms: tasks of 50 draws spent 90 % of their time rebuilding; with 500 the default joint test is one task.
NULL_CHUNK = 500


def _null_chunk(shared: tuple, bounds: tuple[int, int]) -> NullDraws:
    panel, grid, seed, se, sample_mode = shared
    return null_estimates(panel, grid, seed, bounds[0], bounds[1], se, sample_mode)


def null_estimates_engine(
    panel: pd.DataFrame,
    grid: pd.DataFrame | None = None,
    seed: int = 0,
    stop: int = 500,
    se: str = "CRV1",
    sample_mode: str = "common",
    workers: int | None = None,
    scheduler: str | None = None,
) -> NullDraws:
    """:func:`null_estimates` of draws ``0..stop-1`` as independent tasks of :data:`NULL_CHUNK` draws each, run
    by the project's Dask engine (:func:`helpers.core.engine.map_tasks`: a LocalCluster by default, a running
    scheduler, or Dask's synchronous scheduler with ``workers=1``). Each draw is a function of ``seed`` and its
    index, and the pieces are fixed by ``stop`` alone, so the result is the same whatever runs it."""
    stop = check_draws("n_null", stop, minimum=1)
    check_choice("se", se, NULL_SE_TYPES, hint="CRV3 would need a jackknife per draw")
    bounds = [(a, min(a + NULL_CHUNK, stop)) for a in range(0, stop, NULL_CHUNK)]
    parts = engine.map_tasks(
        _null_chunk,
        bounds,
        shared=(panel, grid, int(seed), se, sample_mode),
        workers=workers,
        scheduler=scheduler,
        label="null draws",
    )
    return NullDraws.concat(parts)


def null_estimates(
    panel: pd.DataFrame,
    grid: pd.DataFrame | None = None,
    seed: int = 0,
    start: int = 0,
    stop: int = 500,
    se: str = "CRV1",
    sample_mode: str = "common",
    progress: bool | None = None,
) -> NullDraws:
    """Focal estimates and t-statistics of every estimated specification in null draws ``start..stop-1``
    (module docstring: the null is imposed per specification, one Rademacher weight per country shared by all
    specifications of a draw; weights from :func:`draw_weights`)."""
    check_choice("se", se, NULL_SE_TYPES, hint="CRV3 would need a jackknife per draw")
    if not (
        isinstance(start, (int, np.integer)) and isinstance(stop, (int, np.integer)) and 0 <= start <= stop
    ):
        raise ParameterError("start/stop", (start, stop), hint="integers with 0 <= start <= stop")
    eng = _Engine(panel, grid, sample_mode)
    W = draw_weights(eng.countries, seed, int(start), int(stop))
    cidx = {c: i for i, c in enumerate(eng.countries)}
    parts: dict[int, tuple[np.ndarray, np.ndarray, float, float]] = {}
    it = eng.groups.items()
    if progress:
        from tqdm import tqdm

        it = tqdm(it, total=len(eng.groups), desc="null draws", unit="sample", mininterval=0.5)
    for key, members in it:
        smp = eng.sample(key)
        if smp is None:
            continue
        Ws = W[[cidx[c] for c in smp.sw.c_uni]]
        for s in members:
            f = _fit_spec(s, smp)
            if isinstance(f, str):
                continue
            b, t = _null_spec(smp, f, Ws, se)
            parts[s.idx] = (b, t, M.inference_df(se, smp.sw.C, smp.sw.T), float(smp.raw_sd[f.iy]))
    ids = np.array(sorted(parts), dtype=int)
    B = int(stop) - int(start)
    return NullDraws(
        spec_id=ids,
        estimate=np.array([parts[i][0] for i in ids]).reshape(len(ids), B),
        statistic=np.array([parts[i][1] for i in ids]).reshape(len(ids), B),
        df_t=np.array([parts[i][2] for i in ids], float),
        outcome_sd=np.array([parts[i][3] for i in ids], float),
        start=int(start),
        stop=int(stop),
        seed=int(seed),
        se=se,
        sample_mode=sample_mode,
    )


def _null_spec(smp: _Sample, f: _Fit, W: np.ndarray, se: str) -> tuple[np.ndarray, np.ndarray]:
    """Focal coefficient and t-statistic of one specification in the draws ``W`` (countries x B).

    With e0 the residual of the restricted fit (without the focal term) and w the country weights, the draw's
    swept outcome is X_r b_r + S(e0 w) (S the two-way sweep), so its coefficients are b_r (padded) +
    (X'X)^-1 C w with C the per-country sums of x_i e0_i, and its residual is S(e0 w) - X (X'X)^-1 C w. With
    h = X (X'X)^-1 e_focal (country and year sums zero, as X is swept), the country score sums of the focal
    coefficient are [diag(c) - H Q M - L (X'X)^-1 C] w and the year sums [(H o E)' + H' N^-1 O Q M -
    L_t (X'X)^-1 C] w, where H and E hold h and e0 by (country, year), M = E', Q the pseudo-inverse of the
    year system of the sweep, N the countries' row counts and O the country-year indicator; no refit.
    """
    sw, Zd = smp.sw, smp.Zd
    X = Zd[:, f.kept]
    rest = np.delete(np.arange(len(f.kept)), f.j)
    yd = Zd[:, f.iy]
    if len(rest):
        br = np.linalg.solve(f.XtX[np.ix_(rest, rest)], f.Xty[rest])
        e0 = yd - X[:, rest] @ br
    else:
        e0 = yd.copy()
    a = f.XtX_inv[:, f.j]
    h = X @ a
    C = sw.country_sums(X * e0[:, None]).T  # k x G
    XiC = f.XtX_inv @ C  # k x G
    b = (a @ C) @ W  # B
    Hm = np.zeros((sw.C, sw.T))
    Hm[sw.c_codes, sw.t_codes] = h
    Em = np.zeros((sw.C, sw.T))
    Em[sw.c_codes, sw.t_codes] = e0
    Q = sw.WtW_pinv if sw.T > 1 else np.zeros((1, 1))
    yb = Q @ (Em.T @ W)  # T x B: year coefficients of the sweep of e0 w
    L = sw.country_sums(h[:, None] * X)  # G x k
    XiCW = XiC @ W  # k x B
    Sc = sw.country_sums((h * e0)[:, None])[:, 0][:, None] * W - Hm @ yb - L @ XiCW  # G x B
    adj = se_factor(se, smp.n, len(f.kept), sw.C, sw.T)
    if se in ("CRV1", "CR1"):
        var = adj * (Sc**2).sum(axis=0)
    else:
        Obs = np.zeros((sw.C, sw.T))
        Obs[sw.c_codes, sw.t_codes] = 1.0
        Lt = smp.year_sums(h[:, None] * X)  # T x k
        St = (Hm * Em).T @ W + Hm.T @ ((Obs / sw.nc[:, None]) @ yb) - Lt @ XiCW  # T x B
        if se == "DK":
            var = adj * _dk_diag(St, M.dk_lag(sw.T))
        else:
            ctry_mean_b = (Obs / sw.nc[:, None]) @ yb  # G x B
            E = e0[:, None] * W[sw.c_codes] - (yb[sw.t_codes] - ctry_mean_b[sw.c_codes]) - X @ XiCW
            var = adj * ((Sc**2).sum(axis=0) + (St**2).sum(axis=0) - ((h[:, None] * E) ** 2).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        t = b / np.sqrt(np.where(var > 0, var, np.nan))
    return b, t


def _dk_diag(S: np.ndarray, lag: int) -> np.ndarray:
    """Driscoll-Kraay meat of one coefficient for each column of year score sums ``S`` (T x B)."""
    out = (S**2).sum(axis=0)
    for lg in range(1, min(lag, len(S) - 1) + 1):
        out = out + 2 * (1 - lg / (lag + 1)) * (S[lg:] * S[:-lg]).sum(axis=0)
    return out


def null_draws(
    panel: pd.DataFrame,
    grid: pd.DataFrame | None = None,
    seed: int = 0,
    start: int = 0,
    stop: int = 500,
    se: str = "CRV1",
    sample_mode: str = "common",
    alpha: float = 0.05,
    progress: bool | None = None,
) -> pd.DataFrame:
    """The curve's joint statistics (:data:`JOINT_STATISTICS`) in null draws ``start..stop-1``, one row per draw
    (``draw`` = its index). A pure function of (panel, grid, seed, draw index): pieces computed apart and
    concatenated equal one run over all draws."""
    check_draws("stop", int(stop) - int(start))
    return null_estimates(panel, grid, seed, start, stop, se, sample_mode, progress).statistics(alpha)


JOINT_METHOD = (
    "Specification-curve joint test (Simonsohn, Simmons and Nelson 2020): under the null of no effect in any "
    "specification; each draw imposes the null in every specification (restricted fit without the focal term; "
    "y* = restricted fitted value + restricted residual x a Rademacher weight per country, the same weights in "
    "every specification of a draw), {B} draws from seed {seed}, SE {se}, {mode} samples. p-values: share of "
    "draws with a median at least as far from zero (two-sided) or a share of significant specifications at least "
    "as large as observed."
)


def joint_test(results: pd.DataFrame, draws: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Observed joint statistics of the curve ``results`` against their null ``draws`` (:func:`null_draws`).

    One row per statistic: ``statistic``, ``observed``, ``null_median``, ``null_q95`` (95th percentile of the null
    draws, of the absolute value for the medians), ``p_value`` (share of draws at least as extreme: two-sided for
    the medians, upper tail for the shares), ``n_draws``, ``n_specs`` and ``method``.
    """
    ok = results[results["skipped"].eq("")].sort_values("spec_id")
    obs = curve_statistics(
        ok["estimate"].to_numpy()[:, None],
        ok["statistic"].to_numpy()[:, None],
        ok["df_t"].to_numpy(),
        ok["outcome_sd"].to_numpy(),
        alpha,
    ).iloc[0]
    B = len(draws)
    method = JOINT_METHOD.format(
        B=B,
        seed=draws.attrs.get("seed", "?"),
        se=draws.attrs.get("se", "?"),
        mode=draws.attrs.get("sample_mode", "?"),
    )
    rows = []
    for s in JOINT_STATISTICS:
        x = draws[s].to_numpy(float)
        two_sided = s.startswith("median")
        ref, o = (np.abs(x), abs(obs[s])) if two_sided else (x, obs[s])
        rows.append(
            {
                "statistic": s,
                "observed": float(obs[s]),
                "null_median": float(np.median(x)),
                "null_q95": float(np.quantile(ref, 0.95)),
                "p_value": float(np.mean(ref >= o - 1e-12)),
                "n_draws": B,
                "n_specs": len(ok),
                "alpha": alpha,
                "method": method,
            }
        )
    return pd.DataFrame(rows)
