"""Every treaty, every outcome: the treaty-effects matrix (issue 12).

One *cell* is an instrument x outcome pair of the variable registry (``instruments`` column of
data/reference/variables.csv, :func:`helpers.data.variables.outcomes_for`). Each cell is estimated under one
parameter set (:class:`MatrixSettings`) with the four staggered-adoption estimators of :mod:`helpers.estimate.did`
and their defaults: static TWFE (pyfixest, CRV1 by country), Callaway-Sant'Anna "simple" ATT (not-yet-treated
controls, analytic influence-function SEs), Sun-Abraham overall ATT (fixest SEs) and the imputation estimator
(Borusyak-Jaravel-Spiess, diff-diff). Sample: sovereign country-years (``sovereign_only``), the years window,
a balanced panel, cohort-time cells with fewer than ``min_controls`` comparison units trimmed.

Per-cell diagnostics (columns of the tidy table): ``n_obs``, ``n_units``, ``n_treated`` and ``n_never`` units,
``pretrend_p`` (joint Wald test of the Callaway-Sant'Anna pre-period event-study coefficients, influence-function
covariance; one value per cell), ``min_controls_used`` (fewest untreated comparison units in any period with
treated observations left after trimming), ``breakdown`` (left empty in the matrix: the Rambachan-Roth C-LF breakdown value costs 1-4
minutes per cell and is computed for the headline cell in notebook 04), ``sd_outcome`` (the outcome's standard
deviation over the cell's estimation sample; ``estimate_sd`` = estimate / sd_outcome) and ``flag`` (diagnostics
that failed: pre-trend p < 0.05, too few controls, too few treated units). A cell that cannot be estimated (empty
sample, too few treated units) is a row with ``status = "failed"`` and its ``reason``; it never stops the matrix.

Multiplicity (across the cells of one estimator, the family):
- Benjamini-Hochberg q-values (:func:`bh_qvalues`, checked against statsmodels' ``multipletests``);
- Romano-Wolf step-down family-wise adjusted p-values (:func:`romano_wolf`, Romano and Wolf 2005, Algorithm 4.1
  with the max-|t| statistic) from multiplier-bootstrap draws of the t-statistics that share one Rademacher
  weight per country across all cells (so the joint dependence of cells estimated on the same countries is
  kept). The draws need each estimate's influence function per country: available for TWFE (computed here from
  the two-way-demeaned regression, CR0 scale) and Callaway-Sant'Anna (its own influence function); Sun-Abraham and
  imputation rows get BH q-values only (``p_rw`` empty, said in ``rw_note``).
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from helpers.core.errors import HelpersError
from helpers.data import treaties, variables
from helpers.estimate import did
from helpers.estimate.fe import demean, fe_codes

ESTIMATORS = ("twfe", "callaway_santanna", "sun_abraham", "imputation")
#: estimators whose influence functions feed the Romano-Wolf draws
RW_ESTIMATORS = ("twfe", "callaway_santanna")
#: a cell with fewer treated units than this (or fewer units than twice this) is reported, not estimated
MIN_TREATED = 5
PRETREND_ALPHA = 0.05
CELL_KEYS = ["instrument", "outcome", "estimator"]
#: numbers of the tidy CSV: 12 significant digits. The CSV is byte-identical whatever ran the cells; in memory, a
#: library's floating-point sum (pyfixest's TWFE) can differ in the 17th digit between processes (memory alignment
#: of vectorised sums), which the 12 digits do not show.
CSV_FLOAT_FORMAT = "%.12g"
DIAGNOSTICS = [
    "n_treated",
    "n_never",
    "min_controls_used",
    "pretrend_p",
    "breakdown",
    "sd_outcome",
    "estimate_sd",
    "se_if",
    "flag",
    "status",
    "reason",
]
ADJUSTED = ["q_bh", "p_rw", "rw_note"]
BREAKDOWN_NOTE = (
    "breakdown values are not computed per cell (the Rambachan-Roth C-LF takes 1-4 minutes per cell); notebook 04 "
    "computes them for one instrument and outcome"
)
RW_NOTE = (
    "Romano-Wolf step-down (max |t|) within each estimator's cells, from multiplier-bootstrap draws with one "
    "Rademacher weight per country shared by every cell"
)


@dataclass(frozen=True)
class MatrixSettings:
    """The one parameter set of a matrix run (names as in helpers.core.params.RULES)."""

    years: tuple[int, int] = (1970, 2023)
    sovereign_only: bool | None = None
    min_controls: int = 10
    covariates: tuple[str, ...] = ()
    event_window: tuple[int, int] = (-10, 15)
    n_boot: int = 999
    seed: int = 20240607
    alpha: float = 0.05

    def as_dict(self) -> dict:
        return asdict(self)


def task_seed(seed: int, *key: object) -> int:
    """A 32-bit seed from the run's seed and a task key (stable across processes and machines; never from
    worker state)."""
    h = hashlib.sha256(repr((int(seed), *map(str, key))).encode()).digest()
    return int.from_bytes(h[:4], "little")


@dataclass
class CellResult:
    """One cell's rows (one per estimator) and its bootstrap t-draws (estimator -> array of n_boot)."""

    rows: pd.DataFrame
    draws: dict[str, np.ndarray] = field(default_factory=dict)


def cells(
    panel: pd.DataFrame, instruments: list[str] | None = None
) -> tuple[list[tuple[str, str]], pd.DataFrame]:
    """The (instrument, outcome) cells of the registry present in ``panel``, and a table of the instruments that
    have none (instrument, reason)."""
    keys = list(instruments) if instruments else list(treaties.TREATIES)
    out, none = [], []
    for k in keys:
        mapped = variables.outcomes_for(k)
        present = [o for o in mapped if o in panel.columns and f"{k}_year" in panel.columns]
        out += [(k, o) for o in present]
        if not present:
            why = (
                "no outcome of the registry names it (variables.csv, column instruments)"
                if not mapped
                else f"its outcomes {mapped} are not in the panel"
            )
            none.append({"instrument": k, "reason": why})
    return out, pd.DataFrame(none, columns=["instrument", "reason"])


def country_weights(countries: list[str], n_boot: int, seed: int) -> np.ndarray:
    """Rademacher multiplier weights, n_boot x len(countries), one column per country (sorted): the same draws
    in every cell and every task (seeded by the run's seed only)."""
    rng = np.random.default_rng(task_seed(seed, "country_weights"))
    return rng.choice(np.array([-1.0, 1.0]), size=(n_boot, len(countries)))


def twfe_influence(p: did.StaggeredPanel) -> tuple[float, np.ndarray, np.ndarray]:
    """Static TWFE coefficient, its influence function per unit (sum over a unit's years of the demeaned
    treatment times the residual over the sum of squares; CR0: se = sqrt(sum IF^2)) and the units (sorted)."""
    d = p.data.sort_values(["unit", "time"])
    D = (d["time"] >= d["g"]).to_numpy(float)
    M = demean(np.column_stack([D, d["y"].to_numpy(float)]), fe_codes(d, ["unit", "time"]))
    Dd, yd = M[:, 0], M[:, 1]
    ss = float(Dd @ Dd)
    beta = float(Dd @ yd) / ss
    score = pd.Series(Dd * (yd - beta * Dd) / ss).groupby(d["unit"].to_numpy()).sum()
    return beta, score.to_numpy(), score.index.to_numpy()


def cs_influence(cs: did.CSResult) -> tuple[float, np.ndarray]:
    """Callaway-Sant'Anna "simple" ATT and its influence function scaled so that se = sqrt(sum IF^2) (R did's IF
    divided by n), units in sorted order."""
    a = cs.att_gt
    group, tt = a["group"].to_numpy(), a["time"].to_numpy()
    glist = np.sort(np.unique(group))
    pgg = np.array([np.mean(cs.unit_g == g) for g in glist])
    pg = pgg[np.searchsorted(glist, group)]
    est, IF = cs.weighted_att(np.flatnonzero(group <= tt), pg, group)
    return est, IF / cs.n


def _sample(panel: pd.DataFrame, instrument: str, outcome: str, s: MatrixSettings) -> did.StaggeredPanel:
    raw, _ = did.keep_sovereign(panel, s.sovereign_only)
    raw = did.cohort_from_treaty(raw, instrument, unit_col="iso3")
    return did.prepare_panel(
        raw,
        "iso3",
        "year",
        outcome,
        f"{instrument}_cohort",
        covariates=list(s.covariates),
        years=tuple(s.years) if s.years else None,
        balance=True,
    )


def _min_controls_used(p: did.StaggeredPanel) -> int:
    period, _ = did.control_counts(p)
    used = period[period["n_treated"] > 0]
    return int(used["n_untreated"].min()) if len(used) else 0


def _draws(IF: np.ndarray, units: np.ndarray, W: np.ndarray, index: dict[str, int]) -> np.ndarray:
    """Bootstrap t-statistics under the null: (sum_i w_bi IF_i) / se with se = sqrt(sum IF_i^2)."""
    se = float(np.sqrt((IF**2).sum()))
    cols = np.array([index[str(u)] for u in units])
    return (W[:, cols] @ IF) / se


def _estimate(p: did.StaggeredPanel, p_trim: did.StaggeredPanel, s: MatrixSettings) -> tuple[dict, dict]:
    """Tidy overall rows per estimator, and the influence functions of the RW estimators."""
    win = tuple(s.event_window)
    rows, infl = {}, {}
    rows["twfe"] = did.twfe(p_trim)
    b, IF, units = twfe_influence(p_trim)
    infl["twfe"] = (IF, units)
    cs = did.callaway_santanna(
        p, control_group="notyettreated", n_boot=0, seed=s.seed, min_controls=s.min_controls
    )
    rows["callaway_santanna"] = cs.aggregate("simple").tail(1)
    _, IFc = cs_influence(cs)
    infl["callaway_santanna"] = (IFc, np.sort(p.data["unit"].unique()))
    rows["sun_abraham"] = did.sun_abraham(p_trim, control_group="auto", window=win).attrs["overall"]
    rows["imputation"] = did.imputation(p_trim, event_study=False).attrs["overall"]
    dyn = cs.aggregate("dynamic", min_e=win[0], max_e=win[1]).dropna(subset=["event_time"])
    try:
        pre = float(did.pretrend_test(dyn, cs=cs)["p_value"].iloc[0])
    except HelpersError:
        pre = np.nan
    return {"rows": rows, "pretrend_p": pre}, infl


def _failed(instrument: str, outcome: str, reason: str, n: dict | None = None) -> pd.DataFrame:
    base = {"instrument": instrument, "outcome": outcome, "status": "failed", "reason": reason, **(n or {})}
    return pd.DataFrame([{**base, "estimator": e} for e in ESTIMATORS])


def estimate_cell(
    panel: pd.DataFrame,
    instrument: str,
    outcome: str,
    settings: MatrixSettings,
    countries: list[str],
) -> CellResult:
    """Estimate one instrument x outcome cell with the four estimators and its diagnostics. Failures (empty
    sample, too few treated units, an estimator's error) become rows with a reason."""
    s = settings
    try:
        p = _sample(panel, instrument, outcome, s)
    except HelpersError as exc:
        return CellResult(_failed(instrument, outcome, f"sample: {exc}"))
    units = p.data.drop_duplicates("unit")
    n_treated = int(np.isfinite(units["g"]).sum())
    info = {"n_treated": n_treated, "n_never": p.n_never, "n_units": p.n_units, "n_obs": len(p.data)}
    if n_treated < MIN_TREATED or p.n_units < 2 * MIN_TREATED:
        why = (
            f"too few treated units ({n_treated} < {MIN_TREATED})"
            if n_treated < MIN_TREATED
            else f"too few units ({p.n_units} < {2 * MIN_TREATED}: {n_treated} treated, {p.n_never} never treated)"
        )
        return CellResult(_failed(instrument, outcome, why, info))
    try:
        p_trim, _ = did.trim_thin_cells(p, s.min_controls)
        est, infl = _estimate(p, p_trim, s)
    except (HelpersError, np.linalg.LinAlgError, KeyError, IndexError, ZeroDivisionError) as exc:
        return CellResult(_failed(instrument, outcome, f"{type(exc).__name__}: {exc}", info))
    sd = float(p.data["y"].std())
    diag = {
        **info,
        "min_controls_used": _min_controls_used(p_trim),
        "pretrend_p": est["pretrend_p"],
        "breakdown": np.nan,
        "sd_outcome": sd,
    }
    frames = []
    for e in ESTIMATORS:
        r = (
            est["rows"][e][did.TIDY_COLUMNS]
            .head(1)
            .assign(instrument=instrument, outcome=outcome, estimator=e)
        )
        frames.append(r.assign(**{k: v for k, v in diag.items() if k not in ("n_obs", "n_units")}))
    rows = pd.concat(frames, ignore_index=True)
    rows["estimate_sd"] = rows["estimate"] / sd if sd > 0 else np.nan
    rows["flag"] = [_flag(diag, s) for _ in range(len(rows))]
    rows["status"], rows["reason"] = "ok", ""
    rows["se_if"] = [float(np.sqrt((infl[e][0] ** 2).sum())) if e in infl else np.nan for e in ESTIMATORS]
    index = {c: i for i, c in enumerate(countries)}
    W = country_weights(countries, s.n_boot, s.seed) if s.n_boot else None
    draws = {e: _draws(*infl[e], W, index) for e in RW_ESTIMATORS} if W is not None else {}
    return CellResult(rows, draws)


def _flag(diag: dict, s: MatrixSettings) -> str:
    out = []
    if np.isfinite(diag["pretrend_p"]) and diag["pretrend_p"] < PRETREND_ALPHA:
        out.append("pre-trend")
    if diag["min_controls_used"] < max(s.min_controls, 1):
        out.append("few controls")
    if diag["n_treated"] < 2 * MIN_TREATED:
        out.append("few treated")
    return "; ".join(out)


# --------------------------------------------------------------------------------------------- multiplicity


def bh_qvalues(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg (1995) q-values (step-up adjusted p-values); NaN p-values stay NaN."""
    p = np.asarray(p, float)
    q = np.full_like(p, np.nan)
    ok = np.isfinite(p)
    m = int(ok.sum())
    if m == 0:
        return q
    po = p[ok]
    order = np.argsort(po, kind="stable")
    ranked = po[order] * m / np.arange(1, m + 1)
    adj = np.minimum.accumulate(ranked[::-1])[::-1].clip(max=1.0)
    out = np.empty(m)
    out[order] = adj
    q[ok] = out
    return q


def romano_wolf(t_obs: np.ndarray, t_boot: np.ndarray) -> np.ndarray:
    """Romano-Wolf step-down adjusted p-values for two-sided tests (max |t|, Romano and Wolf 2005, Algorithm 4.1;
    the p-value form of Clarke, Romano and Wolf 2020). ``t_obs``: (K,) observed t-statistics; ``t_boot``: (B, K)
    draws of the t-statistics under the null (centred). Hypotheses are ordered by |t| (largest first); the j-th
    p-value is ``(1 + #{b: max |t*_b| >= |t_j|}) / (B + 1)`` with the max over the hypotheses not yet rejected
    (those with |t| <= |t_j|), made monotone (never below the previous one)."""
    t = np.abs(np.asarray(t_obs, float))
    tb = np.abs(np.asarray(t_boot, float))
    order = np.argsort(-t, kind="stable")
    B = tb.shape[0]
    p = np.empty(len(t))
    prev = 0.0
    for j, k in enumerate(order):
        rest = order[j:]
        mx = tb[:, rest].max(axis=1)
        pj = max(prev, (1.0 + float((mx >= t[k]).sum())) / (B + 1))
        p[k] = prev = pj
    return p


def adjust(table: pd.DataFrame, draws: dict[tuple[str, str, str], np.ndarray]) -> pd.DataFrame:
    """Add ``q_bh`` (BH within each estimator's ok cells) and ``p_rw`` (Romano-Wolf within each RW estimator's ok
    cells that have draws) to the tidy table."""
    out = table.copy()
    out["q_bh"], out["p_rw"], out["rw_note"] = np.nan, np.nan, ""
    for est, g in out.groupby("estimator", sort=False):
        ok = g[g["status"] == "ok"]
        out.loc[ok.index, "q_bh"] = bh_qvalues(ok["p_value"].to_numpy())
        keys = [(r.instrument, r.outcome, est) for r in ok.itertuples()]
        has = [k in draws for k in keys]
        if est in RW_ESTIMATORS and any(has):
            idx = ok.index[np.array(has)]
            sub = out.loc[idx]
            t_obs = sub["estimate"].to_numpy() / sub["se_if"].to_numpy()
            tb = np.column_stack([draws[k] for k, h in zip(keys, has, strict=True) if h])
            out.loc[idx, "p_rw"] = romano_wolf(t_obs, tb)
            out.loc[idx, "rw_note"] = RW_NOTE
        else:
            out.loc[ok.index, "rw_note"] = "no influence function: BH only"
    return out


# --------------------------------------------------------------------------------------------- the whole matrix


def _panel_columns(panel: pd.DataFrame, pairs: list[tuple[str, str]], s: MatrixSettings) -> pd.DataFrame:
    """Only the columns the cells read (sent once to every worker)."""
    cols = ["iso3", "year", "sovereign", *[f"{k}_year" for k in dict.fromkeys(k for k, _ in pairs)]]
    cols += list(dict.fromkeys(o for _, o in pairs)) + list(s.covariates)
    return panel[[c for c in dict.fromkeys(cols) if c in panel.columns]]


def _cell_task(shared: tuple, item: tuple[str, str]) -> CellResult:
    """One engine task: a pure function of the shared (panel, settings, countries) and the cell key."""
    import warnings

    panel, settings, countries = shared
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return estimate_cell(panel, item[0], item[1], settings, countries)


def run_matrix(
    panel: pd.DataFrame,
    settings: MatrixSettings | None = None,
    instruments: list[str] | None = None,
    *,
    pairs: list[tuple[str, str]] | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    client=None,
    progress: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Estimate every cell through :func:`helpers.core.engine.map_tasks` and adjust for multiplicity.

    Returns the tidy table (:func:`tidy_columns` order; one row per cell and estimator, sorted by instrument order,
    outcome order and estimator) and the instruments without a mapped outcome in the panel. ``pairs`` replaces the
    registry's cells (e.g. for a panel of one's own)."""
    from helpers.core import engine

    s = settings or MatrixSettings()
    if pairs is None:
        pairs, unmapped = cells(panel, instruments)
    else:
        unmapped = pd.DataFrame(columns=["instrument", "reason"])
    if not pairs:
        raise HelpersError("no instrument x outcome cell to estimate (see the unmapped instruments)")
    countries = sorted(panel["iso3"].astype(str).unique())
    shared = (_panel_columns(panel, pairs, s), s, countries)
    results = engine.map_tasks(
        _cell_task,
        pairs,
        shared=shared,
        workers=workers,
        scheduler=scheduler,
        client=client,
        label="matrix cells",
        progress=progress,
    )
    draws = {(k, o, e): d for (k, o), r in zip(pairs, results, strict=True) for e, d in r.draws.items()}
    table = pd.concat([r.rows for r in results], ignore_index=True)
    table = adjust(table, draws)
    table = table.reindex(columns=tidy_columns())
    table.attrs["settings"] = s.as_dict()
    return table, unmapped


def tidy_columns() -> list[str]:
    """Column order of the matrix table: cell keys, broom columns, diagnostics, adjusted p-values."""
    return CELL_KEYS + did.TIDY_COLUMNS + DIAGNOSTICS + ADJUSTED


# --------------------------------------------------------------------------------------------- sentences


def _name(instrument: str, outcome: str) -> str:
    lab = variables.label(outcome)
    lab = (
        lab[0].lower() + lab[1:] if lab[1:2].islower() else lab
    )  # "WBL index", "CIRI ..." keep their capitals
    return f"{variables.treaty_short(instrument)} on {lab}"


def _n(k: int, one: str, many: str | None = None) -> str:
    """``k`` and the noun in the right number: 1 cell, 2 cells."""
    return f"{k} {one if k == 1 else (many or one + 's')}"


def _consistent(table: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """Per ok cell: the sign agreement of the four estimators, and whether every estimator is BH-significant."""
    ok = table[table["status"] == "ok"]
    g = ok.groupby(["instrument", "outcome"], sort=False)
    out = g.agg(
        n_pos=("estimate", lambda x: int((x > 0).sum())),
        n_neg=("estimate", lambda x: int((x < 0).sum())),
        n_sig=("q_bh", lambda x: int((x < alpha).sum())),
        n_est=("estimate", "size"),
        flag=("flag", "first"),
    ).reset_index()
    cs = ok[ok["estimator"] == "callaway_santanna"].set_index(["instrument", "outcome"])
    key = list(zip(out["instrument"], out["outcome"], strict=True))
    out["cs_sd"] = [cs["estimate_sd"].get(k, np.nan) for k in key]
    out["cs_rw"] = [cs["p_rw"].get(k, np.nan) for k in key]
    out["same_sign"] = (out["n_pos"] == out["n_est"]) | (out["n_neg"] == out["n_est"])
    return out


def sentences(table: pd.DataFrame, unmapped: pd.DataFrame | None = None, alpha: float = 0.05) -> list[str]:
    """Plain-language findings generated from the matrix table (what holds across treaties and estimators)."""
    n_cells = table[["instrument", "outcome"]].drop_duplicates()
    failed = table[table["status"] != "ok"][["instrument", "outcome", "reason"]].drop_duplicates(
        ["instrument", "outcome"]
    )
    c = _consistent(table, alpha)
    out = [
        f"The matrix has {_n(len(n_cells), 'instrument-outcome cell')} over "
        f"{_n(n_cells['instrument'].nunique(), 'instrument')}, each estimated with {len(ESTIMATORS)} estimators; "
        f"{len(c)} could be estimated"
        + (f" and {len(failed)} could not ({_reasons(failed)})." if len(failed) else ".")
    ]
    if unmapped is not None and len(unmapped):
        names = ", ".join(variables.treaty_short(k) for k in unmapped["instrument"])
        out.append(f"No outcome in the panel is mapped to {_n(len(unmapped), 'instrument')}: {names}.")
    robust = c[c["same_sign"] & (c["n_sig"] == c["n_est"]) & (c["flag"].fillna("") == "")]
    if len(robust):
        items = "; ".join(
            f"{_name(r.instrument, r.outcome)} ({'+' if r.cs_sd > 0 else ''}{r.cs_sd:.2f} SD)"
            for r in robust.sort_values("cs_sd", key=np.abs, ascending=False).itertuples()
        )
        out.append(
            f"{_n(len(robust), 'cell holds', 'cells hold')} across all four estimators (same sign, "
            f"Benjamini-Hochberg q < {alpha} for each, no failed diagnostic): {items}."
        )
    else:
        out.append(
            f"No cell holds across all four estimators (same sign, Benjamini-Hochberg q < {alpha} for each, "
            "no failed diagnostic)."
        )
    out += _rw_sentences(table, alpha)
    disagree = int((~c["same_sign"]).sum())
    out.append(f"The estimators disagree on the sign of the effect in {disagree} of {len(c)} cells.")
    pre = int(c["flag"].fillna("").str.contains("pre-trend").sum())
    if pre:
        out.append(
            f"{_n(pre, 'cell fails', 'cells fail')} the pre-trend test (Callaway-Sant'Anna, p < {PRETREND_ALPHA}): "
            "read their estimates as associations, not effects."
        )
    out += _by_instrument(c, alpha)
    return out


def _reasons(failed: pd.DataFrame) -> str:
    kinds = failed["reason"].str.split(r" \(|:", regex=True).str[0].replace({"sample": "empty sample"})
    return ", ".join(f"{n} {k}" for k, n in kinds.value_counts().items())


def _rw_sentences(table: pd.DataFrame, alpha: float) -> list[str]:
    out = []
    for e in RW_ESTIMATORS:
        g = table[(table["estimator"] == e) & table["p_rw"].notna()]
        if len(g):
            n = int((g["p_rw"] < alpha).sum())
            out.append(
                f"{did.ESTIMATOR_LABELS[e]}: {n} of {_n(len(g), 'cell')} {'stays' if n == 1 else 'stay'} "
                f"significant at {alpha} after the Romano-Wolf family-wise adjustment across the matrix."
            )
    return out


def _by_instrument(c: pd.DataFrame, alpha: float) -> list[str]:
    out = []
    for k, g in c.groupby("instrument", sort=False):
        up = int((g["same_sign"] & (g["n_pos"] == g["n_est"])).sum())
        down = int((g["same_sign"] & (g["n_neg"] == g["n_est"])).sum())
        sig = int((g["n_sig"] == g["n_est"]).sum())
        out.append(
            f"{variables.treaty_short(k)}: of {_n(len(g), 'outcome')}, {up} {'rises' if up == 1 else 'rise'} and "
            f"{down} {'falls' if down == 1 else 'fall'} under every estimator; {sig} {'is' if sig == 1 else 'are'} "
            f"significant (q < {alpha}) under every estimator."
        )
    return out
