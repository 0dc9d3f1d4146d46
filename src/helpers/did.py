"""Staggered-adoption difference-in-differences on any tidy panel.

Everything here takes a long (unit x time) DataFrame and column names, so it runs on the project panel
(``iso3``, ``year``, a treaty's ``{treaty}_year`` as the cohort) and on any other panel (e.g. ``mpdta``).

Contents
- cohort handling: :func:`cohort_from_treaty`, :func:`normalize_cohort`, :func:`prepare_panel`
  (documented rules for never-treated codes, always-treated units, late adopters, balancing);
- diagnostics: :func:`timing_overview`, :func:`panel_view`, :func:`bacon_decomposition`;
- estimators: :func:`twfe` (static), :func:`twfe_event_study` (relative-time dummies),
  :func:`sun_abraham`, :func:`callaway_santanna` (+ :meth:`CSResult.aggregate`), :func:`imputation`
  (Borusyak-Jaravel-Spiess) and its library-free check :func:`imputation_points`;
- tests and plumbing: :func:`wald_test`, :func:`pretrend_test`, :func:`stack_event_studies`,
  :func:`bacon_figure`, :func:`panel_view_figure` (event-study overlays: :func:`helpers.plots.event_study_plot`);
- sensitivity to parallel-trends violations (Rambachan-Roth relative magnitudes, via diff-diff's ``HonestDiD``):
  :func:`honest_did`, :func:`honest_figure`, :func:`cs_event_vcov`.

Libraries: pyfixest (TWFE, event-study regressions), diff-diff 3.13.0 (Goodman-Bacon, Sun-Abraham,
Borusyak-Jaravel-Spiess imputation with standard errors). Callaway-Sant'Anna is implemented here (diff-diff does
not offer the calendar aggregation nor expose influence functions); it follows the R package ``did`` 2.x
(``att_gt`` with ``est_method="reg"`` and ``aggte``) and reproduces its published ``mpdta`` numbers.

Every estimator returns a tidy DataFrame with the broom-style columns ``term, estimate, std_error, statistic,
p_value, conf_low, conf_high, n_obs, n_units`` plus ``estimator`` and, where relevant, ``event_time``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from helpers.errors import DataError, EmptySampleError, ParameterError, check_choice

CONTROL_GROUPS = ("notyettreated", "nevertreated")
BASE_PERIODS = ("varying", "universal")
AGGREGATIONS = ("simple", "group", "dynamic", "calendar")
BOOT_WEIGHTS = ("rademacher", "mammen")
NEVER = np.inf  # internal code of "never treated" in the normalised cohort column

TIDY_COLUMNS = ["term", "estimate", "std_error", "statistic", "p_value", "conf_low", "conf_high",
                "n_obs", "n_units"]

COHORT_RULE = (
    "never-treated codes: NaN/NA/None and +inf always mean never treated; 0 means never treated only when 0 "
    "cannot be a time value (all observed times > 0), otherwise it is ambiguous and raises; negative infinity "
    "raises. Units first treated at or before their first observed period (+ anticipation) have no untreated "
    "pre-period (always-treated) and are dropped with a count; units first treated after the last period "
    "(- anticipation) are untreated throughout the window and recoded never-treated; units with gaps are dropped "
    "so the panel is balanced."
)


# --------------------------------------------------------------------------------------------------
# cohorts and sample preparation
# --------------------------------------------------------------------------------------------------

def cohort_from_treaty(panel: pd.DataFrame, treaty: str, unit_col: str = "iso3",
                       out_col: str | None = None) -> pd.DataFrame:
    """Return ``panel`` with a cohort column (first ratification year of ``treaty``; never = NaN).

    Reads the project panel's ``{treaty}_year`` column (year of the first ratification / accession /
    succession act, NA if never). The cohort must be constant within a unit. ``out_col`` defaults to
    ``{treaty}_cohort``.
    """
    col = f"{treaty}_year"
    if col not in panel.columns:
        avail = sorted(c[:-5] for c in panel.columns if c.endswith("_year") and c != "year")
        raise ParameterError("treaty", treaty, avail or None,
                             hint=f"the panel has no column {col!r}")
    out_col = out_col or f"{treaty}_cohort"
    g = pd.to_numeric(panel[col], errors="coerce").astype("float64")
    nuniq = pd.DataFrame({"u": panel[unit_col], "g": g}).groupby("u")["g"].nunique(dropna=False)
    bad = nuniq[nuniq > 1]
    if len(bad):
        raise DataError(f"column {col!r} varies within unit(s) {list(bad.index[:10])}; a first-treatment "
                        f"year must be constant per {unit_col!r}")
    return panel.assign(**{out_col: g})


def normalize_cohort(cohort: pd.Series, times: pd.Series | np.ndarray,
                     column: str = "cohort") -> tuple[np.ndarray, dict[str, int]]:
    """Normalise a first-treatment column to float with ``np.inf`` = never treated.

    Rule (:data:`COHORT_RULE`): NaN/NA/None and +inf mean never treated; 0 means never treated only if every
    observed time is > 0 (else DataError: ambiguous); -inf or non-numeric values raise DataError.
    Returns the array and a count of each never-treated code seen.
    """
    raw = pd.to_numeric(pd.Series(cohort).astype("object").where(pd.Series(cohort).notna(), np.nan),
                        errors="coerce")
    orig = pd.Series(cohort)
    nonnum = orig.notna() & raw.isna()
    if nonnum.any():
        ex = orig[nonnum].astype(str).unique()[:5].tolist()
        raise DataError(f"cohort column {column!r} has non-numeric values {ex}; expected a first-treatment "
                        f"time, or NaN / inf / 0 for never treated")
    g = raw.to_numpy(dtype="float64", na_value=np.nan).copy()
    t = np.asarray(pd.to_numeric(pd.Series(times)), dtype="float64")
    counts = {"nan": int(np.isnan(g).sum()), "inf": int(np.isposinf(g).sum()), "zero": int((g == 0).sum())}
    if np.isneginf(g).any():
        raise DataError(f"cohort column {column!r} contains -inf; valid never-treated codes: NaN, inf, 0 "
                        f"(0 only when time values are all > 0)")
    if counts["zero"] and np.nanmin(t) <= 0:
        raise DataError(f"cohort column {column!r} uses 0, but 0 is a possible time value (times range "
                        f"{np.nanmin(t):g}..{np.nanmax(t):g}); code never-treated units as NaN or inf instead")
    g[np.isnan(g) | np.isposinf(g) | (g == 0)] = NEVER
    return g, counts


@dataclass
class StaggeredPanel:
    """A cleaned, balanced staggered panel in canonical form.

    ``data`` has columns ``unit, time, y, g`` (g = first-treatment time, inf = never) plus the covariates,
    sorted by unit and time. ``notes`` lists what the preparation did (drops, recodes) in plain words.
    """

    data: pd.DataFrame
    unit: str
    time: str
    outcome: str
    cohort: str
    covariates: list[str]
    anticipation: int
    notes: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def periods(self) -> np.ndarray:
        return np.sort(self.data["time"].unique())

    @property
    def cohorts(self) -> np.ndarray:
        g = self.data.drop_duplicates("unit")["g"].to_numpy()
        return np.sort(np.unique(g[np.isfinite(g)]))

    @property
    def n_units(self) -> int:
        return int(self.data["unit"].nunique())

    @property
    def n_never(self) -> int:
        return int(np.isinf(self.data.drop_duplicates("unit")["g"]).sum())

    def wide(self, col: str = "y") -> pd.DataFrame:
        return self.data.pivot(index="unit", columns="time", values=col)

    def unit_table(self) -> pd.DataFrame:
        return self.data.drop_duplicates("unit")[["unit", "g"]].set_index("unit")


def _check_columns(df: pd.DataFrame, cols: dict[str, str | None]) -> None:
    for par, col in cols.items():
        if col is not None and col not in df.columns:
            raise ParameterError(par, col, sorted(map(str, df.columns)), hint="column not in the panel")


def prepare_panel(df: pd.DataFrame, unit: str, time: str, outcome: str, cohort: str,
                  covariates: list[str] | None = None, anticipation: int = 0,
                  years: tuple[int, int] | None = None, balance: bool = True) -> StaggeredPanel:
    """Validate and normalise a tidy panel for staggered-adoption estimators.

    Steps (each reported in ``notes``): keep ``years`` (inclusive range) if given; drop rows with a missing
    outcome or covariate; normalise the cohort (:func:`normalize_cohort`); recode units first treated after
    the last period (minus anticipation) as never treated; drop always-treated units (no period before
    ``g - anticipation``); drop units with gaps (``balance=True``). Raises EmptySampleError when nothing is
    left, DataError on duplicate unit-time rows, a cohort varying within a unit, or no variation in timing
    (no treated unit; or one cohort and no never-treated unit).
    """
    covariates = list(covariates or [])
    _check_columns(df, {"unit_col": unit, "time_col": time, "outcome": outcome, "cohort_col": cohort})
    for c in covariates:
        _check_columns(df, {"covariates": c})
    if not isinstance(anticipation, (int, np.integer)) or anticipation < 0:
        raise ParameterError("anticipation", anticipation, hint="a non-negative integer number of periods")
    if len(df) == 0:
        raise EmptySampleError("the panel has no rows")
    d = df[[unit, time, outcome, cohort, *covariates]].copy()
    d.columns = ["unit", "time", "y", "g_raw", *covariates]
    d["time"] = pd.to_numeric(d["time"], errors="coerce")
    if d["time"].isna().any():
        raise DataError(f"time column {time!r} has missing or non-numeric values")
    if (d["time"] % 1 != 0).any():
        raise DataError(f"time column {time!r} must hold integer periods (e.g. years)")
    d["time"] = d["time"].astype("int64")
    notes: list[str] = []
    counts: dict[str, int] = {}
    if years is not None:
        lo, hi = years
        d = d[(d["time"] >= lo) & (d["time"] <= hi)]
        notes.append(f"kept {time} in [{lo}, {hi}]")
    dup = d.duplicated(["unit", "time"])
    if dup.any():
        ex = d.loc[dup, ["unit", "time"]].head(3).to_dict("records")
        raise DataError(f"duplicate ({unit}, {time}) rows, e.g. {ex}; the panel needs one row per unit and time")
    g, codes = normalize_cohort(d["g_raw"], d["time"], column=cohort)
    d["g"] = g
    d = d.drop(columns="g_raw")
    nun = d.groupby("unit")["g"].nunique()
    if (nun > 1).any():
        raise DataError(f"cohort column {cohort!r} varies within unit(s) {list(nun[nun > 1].index[:10])}")
    d["y"] = pd.to_numeric(d["y"], errors="coerce").astype("float64")
    for c in covariates:
        d[c] = pd.to_numeric(d[c], errors="coerce").astype("float64")
    miss = d[["y", *covariates]].isna().any(axis=1)
    counts["rows_missing_dropped"] = int(miss.sum())
    if miss.any():
        notes.append(f"dropped {int(miss.sum())} rows with missing {outcome!r}"
                     + (f" or covariates {covariates}" if covariates else ""))
    d = d[~miss]
    if d.empty:
        raise EmptySampleError(f"no rows with a non-missing {outcome!r} (and covariates) in the sample")
    tmax = d["time"].max()
    late = np.isfinite(d["g"]) & (d["g"] - anticipation > tmax)
    n_late = int(d.loc[late, "unit"].nunique())
    counts["late_recoded_never"] = n_late
    if n_late:
        notes.append(f"{n_late} unit(s) first treated after the last period {tmax} recoded never-treated")
        d.loc[late, "g"] = NEVER
    first_obs = d.groupby("unit")["time"].transform("min")
    always = np.isfinite(d["g"]) & (d["g"] - anticipation <= first_obs)
    n_always = int(d.loc[always, "unit"].nunique())
    counts["always_treated_dropped"] = n_always
    if n_always:
        notes.append(f"dropped {n_always} always-treated unit(s) (first treated at or before their first "
                     f"observed period + anticipation, no untreated pre-period)")
        d = d[~always]
    if balance and not d.empty:
        periods = np.sort(d["time"].unique())
        nobs = d.groupby("unit")["time"].transform("size")
        gap = nobs < len(periods)
        n_gap = int(d.loc[gap, "unit"].nunique())
        counts["unbalanced_dropped"] = n_gap
        if n_gap:
            notes.append(f"dropped {n_gap} unit(s) not observed in all {len(periods)} periods "
                         f"({periods.min()}-{periods.max()}) to balance the panel")
            d = d[~gap]
    if d.empty:
        raise EmptySampleError(
            f"no units left after dropping always-treated / unbalanced units ({'; '.join(notes)}); "
            f"widen 'years' or choose a treaty/outcome with untreated pre-periods")
    ug = d.drop_duplicates("unit")["g"].to_numpy()
    cohorts = np.unique(ug[np.isfinite(ug)])
    n_never = int(np.isinf(ug).sum())
    if len(cohorts) == 0:
        raise DataError(f"no treated units left in the sample (cohort column {cohort!r}); nothing to estimate")
    if len(cohorts) == 1 and n_never == 0:
        raise DataError(f"no variation in treatment timing: every unit is first treated in {cohorts[0]:g} and no "
                        f"unit is never treated, so no comparison group exists")
    if d["time"].nunique() < 2:
        raise EmptySampleError("fewer than two time periods in the sample")
    d = d.sort_values(["unit", "time"]).reset_index(drop=True)
    counts.update({"n_units": int(d["unit"].nunique()), "n_obs": len(d), "n_never_treated": n_never,
                   "n_cohorts": len(cohorts), **{f"never_code_{k}": v for k, v in codes.items()}})
    return StaggeredPanel(d, unit, time, outcome, cohort, covariates, int(anticipation), notes, counts)


# --------------------------------------------------------------------------------------------------
# diagnostics
# --------------------------------------------------------------------------------------------------

def timing_overview(p: StaggeredPanel) -> pd.DataFrame:
    """Cohort sizes: one row per first-treatment time (plus 'never'), with unit counts and shares."""
    u = p.unit_table()["g"]
    lab = u.map(lambda v: "never" if np.isinf(v) else str(int(v)))
    out = lab.value_counts().rename_axis("cohort").reset_index(name="n_units")
    out["share"] = out["n_units"] / out["n_units"].sum()
    out["_k"] = out["cohort"].map(lambda s: np.inf if s == "never" else float(s))
    out = out.sort_values("_k").drop(columns="_k").reset_index(drop=True)
    out["periods_observed"] = f"{p.periods.min()}-{p.periods.max()}"
    return out


def panel_view(p: StaggeredPanel) -> pd.DataFrame:
    """Unit x time status frame for a heat map: 0 = not (yet) treated, 1 = treated, 2 = never treated.

    Rows are units ordered by cohort (earliest first, never-treated last), columns are periods.
    """
    d = p.data
    status = np.where(np.isinf(d["g"]), 2, (d["time"] >= d["g"]).astype(int))
    w = pd.DataFrame({"unit": d["unit"], "time": d["time"], "s": status}).pivot(
        index="unit", columns="time", values="s")
    order = p.unit_table()["g"].sort_values(kind="stable").index
    return w.loc[order]


PANEL_VIEW_STATES = {0: "not yet treated", 1: "treated", 2: "never treated"}


def panel_view_figure(pv: pd.DataFrame, title: str = "Treatment timing", max_labels: int = 60,
                      xlabel: str = "period"):
    """Plotly heat map of :func:`panel_view`: one row per unit (earliest cohort on top), three discrete states.

    Colours: light grey = not yet treated, blue = treated, orange = never treated, explained by a legend
    (not a continuous colour bar). Unit labels are shown when there are at most ``max_labels`` units;
    otherwise the y axis says how many units are stacked.
    """
    import plotly.graph_objects as go

    from helpers.plots import MISSING, OKABE_ITO, TEMPLATE
    colours = {0: MISSING, 1: OKABE_ITO["blue"], 2: OKABE_ITO["orange"]}
    scale = [[0, colours[0]], [1 / 3, colours[0]], [1 / 3, colours[1]], [2 / 3, colours[1]],
             [2 / 3, colours[2]], [1, colours[2]]]
    n = len(pv)
    labels = n <= max_labels
    fig = go.Figure(go.Heatmap(z=pv.to_numpy(), x=np.asarray(pv.columns), y=pv.index.astype(str),
                               colorscale=scale, zmin=-0.5, zmax=2.5, showscale=False, xgap=0, ygap=0,
                               customdata=np.vectorize(PANEL_VIEW_STATES.get, otypes=[object])(pv.to_numpy()),
                               hovertemplate="%{y}, %{x}: %{customdata}<extra></extra>"))
    present = set(np.unique(pv.to_numpy()[~np.isnan(pv.to_numpy().astype(float))]).astype(int))
    for k, lab in PANEL_VIEW_STATES.items():  # legend entries (the heat map itself has none)
        if k in present:
            fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=lab, showlegend=True,
                                     marker={"symbol": "square", "size": 12, "color": colours[k]}))
    fig.update_layout(template=TEMPLATE, title=title, xaxis_title=xlabel,
                      yaxis={"autorange": "reversed", "showticklabels": labels, "showgrid": False,
                             "ticks": "outside" if labels else "",
                             "title": "unit" if labels else f"{n} units, ordered by first treatment"},
                      xaxis={"showgrid": False},
                      legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "left", "x": 0},
                      height=max(360, min(900, 12 * n + 140)) if labels else 520,
                      margin={"t": 70 if title else 40})
    return fig


def _dd_frame(p: StaggeredPanel) -> tuple[pd.DataFrame, int]:
    """Frame for diff-diff: first_treat 0 = never; time shifted to be >= 1 so 0 is never ambiguous."""
    d = p.data
    shift = int(1 - d["time"].min()) if d["time"].min() < 1 else 0
    out = pd.DataFrame({"unit": d["unit"].astype(str), "time": d["time"] + shift, "y": d["y"],
                        "first_treat": np.where(np.isinf(d["g"]), 0, d["g"] + shift).astype("int64")})
    for c in p.covariates:
        out[c] = d[c].to_numpy()
    return out, shift


def twfe(p: StaggeredPanel, cluster: bool = True) -> pd.DataFrame:
    """Static TWFE: y ~ treated | unit + time (pyfixest), CRV1 by unit (fixest small-sample convention)."""
    import pyfixest as pf
    d = p.data.assign(D=(p.data["time"] >= p.data["g"]).astype(float))
    cov = " + ".join(["D", *p.covariates])
    fit = pf.feols(f"y ~ {cov} | unit + time", data=d, vcov={"CRV1": "unit"} if cluster else "hetero")
    t = fit.tidy().reset_index()
    t = t[t["Coefficient"] == "D"]
    out = pd.DataFrame({"term": ["treated"], "estimate": t["Estimate"].to_numpy(),
                        "std_error": t["Std. Error"].to_numpy(), "statistic": t["t value"].to_numpy(),
                        "p_value": t["Pr(>|t|)"].to_numpy(), "conf_low": t["2.5%"].to_numpy(),
                        "conf_high": t["97.5%"].to_numpy(), "n_obs": fit._N, "n_units": p.n_units})
    out["estimator"] = "twfe"
    out["se_type"] = "CRV1 by unit" if cluster else "HC1"
    return out


def bacon_decomposition(p: StaggeredPanel) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Goodman-Bacon decomposition of the static TWFE coefficient (diff-diff ``BaconDecomposition``).

    Returns ``(comparisons, by_type)``: one row per 2x2 comparison (treated, control, type, estimate, weight)
    and a summary by comparison type (total weight, weighted average). Weights sum to 1 and
    ``sum(weight * estimate)`` equals the TWFE coefficient (checked; ``attrs['twfe']`` and
    ``attrs['decomposition_error']``). Needs a balanced panel without covariates.
    """
    import diff_diff as dd
    if p.covariates:
        warnings.warn("bacon_decomposition ignores covariates (the decomposition is of the no-covariate TWFE)",
                      stacklevel=2)
    df, shift = _dd_frame(p)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = dd.BaconDecomposition().fit(df, outcome="y", unit="unit", time="time", first_treat="first_treat")
    comp = res.to_dataframe()
    for c in ("treated_group", "control_group"):
        comp[c] = comp[c].map(lambda v: v if isinstance(v, str) else str(int(v) - shift))
    comp["weighted"] = comp["weight"] * comp["estimate"]
    by = comp.groupby("comparison_type", as_index=False).agg(weight=("weight", "sum"),
                                                             weighted=("weighted", "sum"),
                                                             n_comparisons=("estimate", "size"))
    by["avg_estimate"] = by["weighted"] / by["weight"]
    twfe_b = float(res.twfe_estimate)
    for x in (comp, by):
        x.attrs.update(twfe=twfe_b, decomposition_error=float(res.decomposition_error))
    return comp, by


BACON_LABELS = {
    "treated_vs_never": "treated vs never treated",
    "earlier_vs_later": "earlier vs later treated (not yet treated as controls)",
    "later_vs_earlier": "later vs earlier treated (already treated as controls)",
}


def bacon_figure(comp: pd.DataFrame, title: str = "Goodman-Bacon decomposition"):
    """Scatter of 2x2 estimates against their weights, coloured by comparison type, TWFE estimate as a line.

    The problematic *later vs earlier* comparisons (already-treated units as controls) are drawn in vermillion;
    the legend sits above the plot, spells the comparison types out and names the TWFE estimate (dashed line).
    """
    import plotly.graph_objects as go

    from helpers.plots import OKABE_ITO, TEMPLATE
    colours = {"treated_vs_never": OKABE_ITO["blue"], "earlier_vs_later": OKABE_ITO["green"],
               "later_vs_earlier": OKABE_ITO["vermillion"]}
    symbols = {"treated_vs_never": "circle", "earlier_vs_later": "diamond", "later_vs_earlier": "x"}
    fig = go.Figure()
    for k in [*BACON_LABELS, *sorted(set(comp["comparison_type"]) - set(BACON_LABELS))]:
        g = comp[comp["comparison_type"] == k]
        if g.empty:
            continue
        fig.add_trace(go.Scatter(
            x=g["weight"], y=g["estimate"], mode="markers", name=BACON_LABELS.get(k, k),
            marker={"color": colours.get(k, OKABE_ITO["black"]), "symbol": symbols.get(k, "circle"), "size": 6,
                    "opacity": 0.75},
            customdata=g[["treated_group", "control_group"]].astype(str).to_numpy(),
            hovertemplate="treated %{customdata[0]} vs control %{customdata[1]}<br>"
                          "estimate %{y:.3f}, weight %{x:.4f}<extra></extra>"))
    if "twfe" in comp.attrs:  # a legend entry rather than a label, which would sit on the points
        b = comp.attrs["twfe"]
        fig.add_trace(go.Scatter(x=[0, float(comp["weight"].max()) * 1.03], y=[b, b], mode="lines",
                                 name=f"TWFE estimate {b:.4f} (weighted mean of all)",
                                 line={"dash": "dash", "color": "#000000", "width": 1.5}, hoverinfo="skip"))
    fig.update_layout(template=TEMPLATE, title=title, xaxis_title="weight in the TWFE estimate",
                      yaxis_title="2x2 DiD estimate",
                      legend={"orientation": "v", "yanchor": "bottom", "y": 1.0, "xanchor": "left", "x": 0},
                      margin={"t": 130 if title else 100})
    return fig


# --------------------------------------------------------------------------------------------------
# regression event studies
# --------------------------------------------------------------------------------------------------

def _tidy_from_arrays(terms, est, se, n_obs, n_units, alpha=0.05, df=None) -> pd.DataFrame:
    est, se = np.asarray(est, float), np.asarray(se, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = est / se
    if df is None:
        p = 2 * stats.norm.sf(np.abs(stat))
        crit = stats.norm.ppf(1 - alpha / 2)
    else:
        p = 2 * stats.t.sf(np.abs(stat), df)
        crit = stats.t.ppf(1 - alpha / 2, df)
    return pd.DataFrame({"term": list(terms), "estimate": est, "std_error": se, "statistic": stat,
                         "p_value": p, "conf_low": est - crit * se, "conf_high": est + crit * se,
                         "n_obs": n_obs, "n_units": n_units})


def twfe_event_study(p: StaggeredPanel, window: tuple[int, int] = (-5, 5), bin_endpoints: bool = True,
                     alpha: float = 0.05) -> pd.DataFrame:
    """Dynamic TWFE: y ~ sum_k 1[t - g = k] | unit + time, reference k = -1 - anticipation, CRV1 by unit.

    ``window=(lo, hi)``: relative times outside it are binned into the end points (``bin_endpoints=True``) or
    dropped from the sample (False). Never-treated units carry no dummies. The fitted model's coefficient
    covariance is kept in ``attrs['vcov']`` (for :func:`pretrend_test`).
    """
    import pyfixest as pf
    lo, hi = window
    ref = -1 - p.anticipation
    if not lo <= ref < hi:
        raise ParameterError("window", window, hint=f"must contain the reference period {ref} and a later one")
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
    out = _tidy_from_arrays([f"event_time::{k}" for k, _ in keep], [coefs[nm] for _, nm in keep],
                            [se[nm] for _, nm in keep], fit._N, d["unit"].nunique(), alpha, df=G - 1)
    out.insert(1, "event_time", [k for k, _ in keep])
    refrow = pd.DataFrame({"term": [f"event_time::{ref}"], "event_time": [ref], "estimate": [0.0],
                           "n_obs": fit._N, "n_units": G})
    out = pd.concat([out, refrow], ignore_index=True).sort_values("event_time").reset_index(drop=True)
    out["estimator"] = "twfe_dynamic"
    out["se_type"] = "CRV1 by unit, t(G-1)"
    out["binned_endpoints"] = bool(bin_endpoints)
    V = fit._vcov
    idx = list(fit._coefnames)
    sel = [idx.index(nm) for _, nm in keep]
    out.attrs["vcov"] = pd.DataFrame(V[np.ix_(sel, sel)], index=[k for k, _ in keep], columns=[k for k, _ in keep])
    out.attrs["df"] = G - 1
    return out


def sun_abraham(p: StaggeredPanel, control_group: str = "auto", window: tuple[int, int] | None = None,
                alpha: float = 0.05) -> pd.DataFrame:
    """Sun-Abraham interaction-weighted event study, clustered by unit (CRV1, G/(G-1)).

    A saturated regression ``y ~ sum_{g,e} 1[G=g, t-g=e] + covariates | unit + time`` (reference e = -1 -
    anticipation; fixed effects swept out with pyfixest's ``demean``), then cohort-specific effects are averaged
    per event time with cohort-share weights (delta-method SEs, weights treated as fixed, as fixest ``sunab``).
    ``control_group``: "nevertreated" (needs never-treated units), "lastcohort" (the last-treated cohort is the
    control; periods from its adoption on are dropped) or "auto" (never-treated if any, else last cohort).
    ``window=(lo, hi)`` bins relative times beyond the end points per cohort (None = all event times).
    Checked against diff-diff's ``SunAbraham`` and a pyfixest saturated regression in the tests.
    """
    check_choice("control_group", control_group, ("auto", "nevertreated", "lastcohort"))
    if control_group == "auto":
        control_group = "nevertreated" if p.n_never > 0 else "lastcohort"
    if control_group == "nevertreated" and p.n_never == 0:
        raise ParameterError("control_group", control_group, ("auto", "lastcohort"),
                             hint="the sample has no never-treated units")
    d = p.data.copy()
    if control_group == "lastcohort":
        glast = p.cohorts.max()
        if len(p.cohorts) < 2:
            raise DataError("Sun-Abraham with the last cohort as control needs at least two cohorts")
        d = d[d["time"] < glast - p.anticipation].copy()
        d.loc[d["g"] == glast, "g"] = NEVER
    ref = -1 - p.anticipation
    treated = np.isfinite(d["g"]).to_numpy()
    rel = (d["time"] - d["g"]).to_numpy()
    if window is not None:
        rel = np.clip(rel, window[0], window[1])
    gv = d["g"].to_numpy()
    cells = sorted({(g, int(e)) for g, e in zip(gv[treated], rel[treated]) if int(e) != ref})
    col = {c: i for i, c in enumerate(cells)}
    X = np.zeros((len(d), len(cells) + len(p.covariates)))
    for r in np.flatnonzero(treated):
        e = int(rel[r])
        if e != ref:
            X[r, col[(gv[r], e)]] = 1.0
    for j, c in enumerate(p.covariates):
        X[:, len(cells) + j] = d[c].to_numpy()
    from helpers.inference import _demean, _fe_codes
    codes = _fe_codes(d, ["unit", "time"])
    Z = _demean(np.column_stack([d["y"].to_numpy(), X]), codes)
    yd, Xd = Z[:, 0], Z[:, 1:]
    keep = (Xd ** 2).sum(axis=0) > 1e-10
    Xk = Xd[:, keep]
    XtX_inv = np.linalg.pinv(Xk.T @ Xk)
    beta = XtX_inv @ (Xk.T @ yd)
    u = yd - Xk @ beta
    cl, _ = pd.factorize(d["unit"])
    G = int(cl.max()) + 1
    S = np.zeros((G, Xk.shape[1]))
    np.add.at(S, cl, Xk * u[:, None])
    V = XtX_inv @ (S.T @ S) @ XtX_inv * G / (G - 1)
    kept = [c for c, k in zip(cells + [None] * len(p.covariates), keep) if k and c is not None]
    idx = {c: i for i, c in enumerate(kept)}
    sizes = d.drop_duplicates("unit").groupby("g").size()
    es = sorted({e for _, e in kept})
    W = np.zeros((len(es), len(beta)))
    for i, e in enumerate(es):
        gs = [g for g, ee in kept if ee == e]
        w = np.array([sizes[g] for g in gs], float)
        W[i, [idx[(g, e)] for g in gs]] = w / w.sum()
    est = W @ beta
    cov = W @ V @ W.T
    out = _tidy_from_arrays([f"event_time::{e}" for e in es], est, np.sqrt(np.diag(cov)), len(d),
                            d["unit"].nunique(), alpha, df=G - 1)
    out.insert(1, "event_time", es)
    out = pd.concat([out, pd.DataFrame({"term": [f"event_time::{ref}"], "event_time": [ref], "estimate": [0.0],
                                        "n_obs": len(d), "n_units": G})], ignore_index=True)
    out = out.sort_values("event_time").reset_index(drop=True)
    out["estimator"] = "sun_abraham"
    out["se_type"] = "CRV1 by unit (G/(G-1)), delta method with fixed cohort-share weights, t(G-1)"
    out["control_group"] = control_group
    out["binned_endpoints"] = window is not None
    out.attrs["vcov"] = pd.DataFrame(cov, index=es, columns=es)
    out.attrs["df"] = G - 1
    # overall: average over treated observations with e >= 0 (cell weights = number of treated obs in the cell)
    cnt = pd.Series(list(zip(gv[treated], rel[treated].astype(int)))).value_counts()
    wv = np.zeros(len(beta))
    for c, i in idx.items():
        if c[1] >= 0:
            wv[i] = cnt.get(c, 0)
    wv /= wv.sum()
    ov_est, ov_se = float(wv @ beta), float(np.sqrt(wv @ V @ wv))
    overall = _tidy_from_arrays(["att"], [ov_est], [ov_se], len(d), G, alpha, df=G - 1)
    out.attrs["overall"] = overall.assign(estimator="sun_abraham", se_type=out["se_type"].iloc[0])
    return out


def sun_abraham_dd(p: StaggeredPanel, control_group: str = "nevertreated", alpha: float = 0.05) -> pd.DataFrame:
    """Sun-Abraham via diff-diff's ``SunAbraham`` (reference implementation used to check :func:`sun_abraham`;
    slow on long panels with many cohorts). ``control_group``: "nevertreated" or "notyettreated"."""
    import diff_diff as dd
    check_choice("control_group", control_group, CONTROL_GROUPS)
    df, _ = _dd_frame(p)
    cg = {"nevertreated": "never_treated", "notyettreated": "not_yet_treated"}[control_group]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = dd.SunAbraham(control_group=cg, anticipation=p.anticipation, cluster="unit", alpha=alpha).fit(
            df, outcome="y", unit="unit", time="time", first_treat="first_treat",
            covariates=p.covariates or None)
    r = res.to_dataframe()
    out = _tidy_from_arrays([f"event_time::{int(k)}" for k in r["relative_period"]], r["effect"], r["se"],
                            p.data.shape[0], p.n_units, alpha)
    out.insert(1, "event_time", r["relative_period"].astype(int).to_numpy())
    out["estimator"] = "sun_abraham_diffdiff"
    out.attrs["overall"] = _tidy_from_arrays(["att"], [res.overall_att], [res.overall_se], p.data.shape[0],
                                             p.n_units, alpha)
    return out


# --------------------------------------------------------------------------------------------------
# Callaway-Sant'Anna
# --------------------------------------------------------------------------------------------------

@dataclass
class CSResult:
    """Group-time ATTs with their influence functions; aggregate with :meth:`aggregate`.

    ``att_gt``: one row per (group, time) with base period, counts and analytic/bootstrap inference.
    ``inf``: n_units x n_gt influence-function matrix (R ``did`` scaling: column mean zero, ``V = IF'IF/n``).
    """

    att_gt: pd.DataFrame
    inf: np.ndarray
    unit_g: np.ndarray
    settings: dict
    boot_v: np.ndarray | None = None

    @property
    def n(self) -> int:
        return self.inf.shape[0]

    def _infer(self, est: np.ndarray, IF: np.ndarray) -> dict[str, np.ndarray]:
        """Analytic and multiplier-bootstrap SEs plus the sup-t critical value for a set of parameters."""
        n = self.n
        se_an = np.sqrt((IF ** 2).sum(axis=0) / n ** 2)
        out = {"se_analytic": se_an}
        if self.boot_v is not None:
            bres = np.sqrt(n) * (self.boot_v @ IF) / n          # B x k, as R did::mboot
            q75 = np.quantile(bres, 0.75, axis=0, method="inverted_cdf")
            q25 = np.quantile(bres, 0.25, axis=0, method="inverted_cdf")
            bsig = (q75 - q25) / (stats.norm.ppf(0.75) - stats.norm.ppf(0.25))
            tiny = bsig <= np.sqrt(np.finfo(float).eps) * 10
            bsig = np.where(tiny, np.nan, bsig)
            with np.errstate(invalid="ignore", divide="ignore"):
                bT = np.nanmax(np.abs(bres / bsig), axis=1) if np.isfinite(bsig).any() else np.full(len(bres), np.nan)
            crit = float(np.quantile(bT, 1 - self.settings["alpha"], method="inverted_cdf"))
            out["se_boot"] = bsig / np.sqrt(n)
            out["crit_uniform"] = crit
        return out

    def _tidy(self, terms, est, IF, extra: dict | None = None) -> pd.DataFrame:
        alpha = self.settings["alpha"]
        inf = self._infer(np.asarray(est), IF)
        use_boot = self.boot_v is not None
        se = inf["se_boot"] if use_boot else inf["se_analytic"]
        out = _tidy_from_arrays(terms, est, se, self.settings["n_obs"], self.n, alpha)
        out["se_analytic"] = inf["se_analytic"]
        if use_boot:
            crit = inf["crit_uniform"]
            out["conf_low_uniform"] = out["estimate"] - crit * out["std_error"]
            out["conf_high_uniform"] = out["estimate"] + crit * out["std_error"]
            out["crit_uniform"] = crit
            out["se_type"] = (f"multiplier bootstrap ({self.settings['boot_weights']}, B={self.settings['n_boot']}, "
                              f"seed={self.settings['seed']}); conf_*: pointwise; conf_*_uniform: simultaneous "
                              f"(sup-t) band over the rows of this table")
        else:
            out["se_type"] = "analytic (influence function); pointwise intervals only"
        for k, v in (extra or {}).items():
            out.insert(1, k, v)
        out["estimator"] = "callaway_santanna"
        for k in ("control_group", "base_period", "anticipation"):
            out[k] = self.settings[k]
        return out

    def group_time(self) -> pd.DataFrame:
        """Tidy ATT(g,t) table (with uniform band over all group-time cells)."""
        a = self.att_gt
        est = a["att"].to_numpy()
        t = self._tidy([f"ATT({int(g)},{int(tt)})" for g, tt in zip(a["group"], a["time"])], est, self.inf,
                       {"event_time": (a["time"] - a["group"]).to_numpy().astype(int),
                        "time": a["time"].to_numpy(), "group": a["group"].to_numpy()})
        t.loc[a["is_reference"].to_numpy(), ["std_error", "statistic", "p_value", "conf_low", "conf_high"]] = np.nan
        return t

    def _wif(self, keepers: np.ndarray, pg: np.ndarray, group: np.ndarray) -> np.ndarray:
        """R did's ``wif``: influence of estimating the group-share weights (n x len(keepers))."""
        G = self.unit_g
        ind = np.column_stack([(G == group[k]).astype(float) - pg[k] for k in keepers])
        s = pg[keepers].sum()
        if1 = ind / s
        if2 = ind.sum(axis=1, keepdims=True) @ (pg[keepers] / s ** 2)[None, :]
        return if1 - if2

    def _agg(self, keepers: np.ndarray, pg: np.ndarray, group: np.ndarray, with_wif: bool = True):
        att = self.att_gt["att"].to_numpy()
        w = pg[keepers] / pg[keepers].sum()
        est = float((att[keepers] * w).sum())
        IF = self.inf[:, keepers] @ w
        if with_wif:
            IF = IF + self._wif(keepers, pg, group) @ att[keepers]
        return est, IF

    def aggregate(self, type: Literal["simple", "group", "dynamic", "calendar"] = "dynamic",
                  min_e: float = -np.inf, max_e: float = np.inf) -> pd.DataFrame:
        """Aggregate ATT(g,t) as R ``did::aggte`` (simple, group, dynamic, calendar).

        Returns the per-level rows plus an ``overall`` row (R's overall summary: group-size weighted average
        for simple; average of group ATTs weighted by group size for group; mean of e >= 0 for dynamic; mean
        over periods for calendar). Standard errors include the weight-estimation term (R's ``wif``).
        Uniform bands cover the per-level rows jointly (not the overall row).
        """
        check_choice("type", type, AGGREGATIONS)
        a = self.att_gt
        group, tt = a["group"].to_numpy(), a["time"].to_numpy()
        glist = np.sort(np.unique(group))
        pgg = np.array([np.mean(self.unit_g == g) for g in glist])
        pg = pgg[np.searchsorted(glist, group)]
        e = (tt - group).astype(int)
        post = (group <= tt) & (e <= max_e)
        rows, IFs, labels, extra = [], [], [], []
        if type == "simple":
            k = np.flatnonzero(post)
            est, IF = self._agg(k, pg, group)
            return self._tidy(["simple"], [est], IF[:, None], {"level": ["overall"]})
        if type == "group":
            for g in glist:
                k = np.flatnonzero(post & (group == g))
                if len(k) == 0:
                    continue
                est, IF = self._agg(k, pg, group, with_wif=False)
                rows.append(est); IFs.append(IF); labels.append(f"group::{int(g)}"); extra.append(g)
            att_g, IF_g = np.array(rows), np.column_stack(IFs)
            gl = np.array(extra)
            pg_sel = pgg[np.searchsorted(glist, gl)]
            w = pg_sel / pg_sel.sum()
            overall = float((att_g * w).sum())
            G = self.unit_g
            ind = np.column_stack([(G == g).astype(float) - p for g, p in zip(gl, pg_sel)])
            s = pg_sel.sum()
            wif = ind / s - ind.sum(axis=1, keepdims=True) @ (pg_sel / s ** 2)[None, :]
            IF_o = IF_g @ w + wif @ att_g
            key = gl
        elif type == "dynamic":
            es = np.sort(np.unique(e[(e <= max_e) & (e >= min_e)]))
            for ev in es:
                k = np.flatnonzero(e == ev)
                if len(k) == 0:
                    continue
                est, IF = self._agg(k, pg, group)
                rows.append(est); IFs.append(IF); labels.append(f"event_time::{int(ev)}"); extra.append(ev)
            att_g, IF_g = np.array(rows), np.column_stack(IFs)
            key = np.array(extra)
            pos = key >= 0
            overall = float(att_g[pos].mean())
            IF_o = IF_g[:, pos].mean(axis=1)
        else:  # calendar
            for t1 in np.sort(np.unique(tt[tt >= glist.min()])):
                k = np.flatnonzero((tt == t1) & (group <= tt) & (e <= max_e))
                if len(k) == 0:
                    continue
                est, IF = self._agg(k, pg, group)
                rows.append(est); IFs.append(IF); labels.append(f"time::{int(t1)}"); extra.append(t1)
            att_g, IF_g = np.array(rows), np.column_stack(IFs)
            key = np.array(extra)
            overall = float(att_g.mean())
            IF_o = IF_g.mean(axis=1)
        lvl = {"group": "group", "dynamic": "event_time", "calendar": "time"}[type]
        body = self._tidy(labels, att_g, IF_g, {lvl: key.astype(int)})
        if type == "dynamic":
            refmask = body["std_error"].isna() | (body["se_analytic"] < 1e-12)
            body.loc[refmask, ["std_error", "statistic", "p_value", "conf_low", "conf_high"]] = np.nan
            if "conf_low_uniform" in body:
                body.loc[refmask, ["conf_low_uniform", "conf_high_uniform"]] = np.nan
        ov = self._tidy([f"{type}_average"], [overall], IF_o[:, None], {lvl: [pd.NA]})
        for c in ("conf_low_uniform", "conf_high_uniform", "crit_uniform"):
            if c in ov:
                ov[c] = np.nan
        out = pd.concat([body, ov], ignore_index=True)
        out.insert(1, "aggregation", type)
        out[lvl] = out[lvl].astype("Int64")
        return out


def _mboot_weights(n: int, B: int, seed: int, kind: str) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "rademacher":
        return rng.choice(np.array([-1.0, 1.0]), size=(B, n))
    s5 = np.sqrt(5.0)
    p = (s5 + 1) / (2 * s5)
    return np.where(rng.random((B, n)) < p, (1 - s5) / 2, (1 + s5) / 2)


def callaway_santanna(p: StaggeredPanel, control_group: str = "notyettreated", base_period: str = "varying",
                      n_boot: int = 499, seed: int = 20240607, alpha: float = 0.05,
                      boot_weights: str = "rademacher") -> CSResult:
    """Callaway-Sant'Anna group-time ATTs (outcome-regression DiD, R ``did`` ``est_method="reg"``).

    - ``control_group``: "notyettreated" (default; units with g > max(t, base) + anticipation, plus never
      treated) or "nevertreated".
    - ``base_period``: "varying" (pre-periods compare t with t-1; post-periods with g-1-anticipation) or
      "universal" (always g-1-anticipation; that cell is reported as a 0 reference).
    - anticipation is taken from the prepared panel; covariates (if any) enter as base-period values in the
      outcome regression of the control units' changes.
    - inference: influence functions; ``n_boot > 0`` adds a multiplier bootstrap (``boot_weights``:
      "rademacher" or "mammen"), fixed ``seed``, with pointwise and simultaneous (sup-t) bands. ``n_boot=0``:
      analytic SEs only.
    Group-time cells without any control unit are skipped (listed in ``att_gt.attrs['skipped']``).
    """
    check_choice("control_group", control_group, CONTROL_GROUPS)
    check_choice("base_period", base_period, BASE_PERIODS)
    check_choice("boot_weights", boot_weights, BOOT_WEIGHTS)
    if not isinstance(n_boot, (int, np.integer)) or n_boot < 0:
        raise ParameterError("n_boot", n_boot, hint="a non-negative integer (0 = analytic SEs only)")
    if control_group == "nevertreated" and p.n_never == 0:
        raise ParameterError("control_group", control_group, CONTROL_GROUPS,
                             hint="the sample has no never-treated units; use 'notyettreated'")
    Yw = p.wide("y")
    units = Yw.index
    Y = Yw.to_numpy()
    tlist = Yw.columns.to_numpy()
    G = p.unit_table().loc[units, "g"].to_numpy()
    Xw = {c: p.wide(c).loc[units].to_numpy() for c in p.covariates}
    n = len(units)
    delta = p.anticipation
    rows, IFs, skipped = [], [], []
    for g in p.cohorts:
        pre_ok = np.flatnonzero(tlist + delta < g)
        if len(pre_ok) == 0:
            skipped.append((g, None, "no pre-period"))
            continue
        gbase = pre_ok[-1]  # index of g-1-anticipation (last period strictly before g - anticipation)
        for ti, t in enumerate(tlist):
            if base_period == "varying":
                if t + delta < g:
                    if ti == 0:
                        continue
                    bi = ti - 1
                else:
                    bi = gbase
            else:
                bi = gbase
            tb = tlist[bi]
            treat = G == g
            if control_group == "nevertreated":
                ctrl = np.isinf(G)
            else:
                ctrl = np.isinf(G) | ((G > max(t, tb) + delta) & (G != g))
            if bi == ti:
                rows.append({"group": g, "time": t, "base": tb, "att": 0.0, "n_treated": int(treat.sum()),
                                 "n_control": int(ctrl.sum()), "is_reference": True})
                IFs.append(np.zeros(n))
                continue
            if ctrl.sum() == 0:
                skipped.append((g, t, "no control units"))
                continue
            sub = treat | ctrl
            dy = (Y[:, ti] - Y[:, bi])[sub]
            D = treat[sub].astype(float)
            X = np.column_stack([np.ones(sub.sum())] + [Xw[c][sub, bi] for c in p.covariates])
            n1 = int(sub.sum())
            Xc, yc = X[D == 0], dy[D == 0]
            beta, *_ = np.linalg.lstsq(Xc, yc, rcond=None)
            out_delta = X @ beta
            mD = D.mean()
            eta_t = np.mean(D * dy) / mD
            eta_c = np.mean(D * out_delta) / mD
            att = eta_t - eta_c
            wols_x = (1 - D)[:, None] * X
            wols_ex = ((1 - D) * (dy - out_delta))[:, None] * X
            XpX_inv = np.linalg.pinv(wols_x.T @ X / n1)
            alr = wols_ex @ XpX_inv
            inf_t = (D * dy - D * eta_t) / mD
            inf_c1 = D * out_delta - D * eta_c
            M1 = (D[:, None] * X).mean(axis=0)
            inf_c = (inf_c1 + alr @ M1) / mD
            IF = np.zeros(n)
            IF[sub] = (n / n1) * (inf_t - inf_c)
            rows.append({"group": g, "time": t, "base": tb, "att": att, "n_treated": int(treat.sum()),
                             "n_control": int(ctrl.sum()), "is_reference": False})
            IFs.append(IF)
    if not rows:
        raise EmptySampleError(f"no estimable group-time cells ({len(skipped)} skipped: {skipped[:5]})")
    a = pd.DataFrame(rows)
    a["group"], a["time"], a["base"] = a["group"].astype(int), a["time"].astype(int), a["base"].astype(int)
    a.attrs["skipped"] = skipped
    settings = {"control_group": control_group, "base_period": base_period, "anticipation": delta, "alpha": alpha,
                    "n_boot": int(n_boot), "seed": seed, "boot_weights": boot_weights, "n_obs": len(p.data)}
    v = _mboot_weights(n, n_boot, seed, boot_weights) if n_boot > 0 else None
    res = CSResult(a, np.column_stack(IFs), G, settings, v)
    gt = res.group_time()
    for c in ("std_error", "p_value", "conf_low", "conf_high"):
        a[c] = gt[c].to_numpy()
    a["se_analytic"] = gt["se_analytic"].to_numpy()
    return res


# --------------------------------------------------------------------------------------------------
# imputation (Borusyak, Jaravel and Spiess 2024)
# --------------------------------------------------------------------------------------------------

def imputation_points(p: StaggeredPanel) -> pd.DataFrame:
    """Library-free imputation point estimates: unit + time FE fitted on untreated observations only
    (least squares, exact), Y(0) imputed for treated observations, tau_it = Y - Y(0).

    Returns one row per treated observation: unit, time, g, event_time, tau. Used to check
    :func:`imputation` and as the fallback where pyfixest ``did2s`` drops singleton units (TOOLCHAIN pitfall 10):
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
    out = pd.DataFrame({"unit": tr["unit"].to_numpy(), "time": tr["time"].to_numpy(), "g": tr["g"].to_numpy(),
                        "event_time": (tr["time"] - tr["g"]).astype(int).to_numpy(),
                        "tau": tr["y"].to_numpy() - y0})
    return out


def imputation(p: StaggeredPanel, alpha: float = 0.05, horizon_max: int | None = None) -> pd.DataFrame:
    """Borusyak-Jaravel-Spiess imputation estimator (diff-diff ``ImputationDiD``), clustered by unit.

    Returns the event-time ATTs (e >= 0; plus the -1 reference row) and ``attrs['overall']`` (average over all
    treated observations). Point estimates are checked against :func:`imputation_points` in the tests.
    """
    import diff_diff as dd
    df, _ = _dd_frame(p)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = dd.ImputationDiD(anticipation=p.anticipation, cluster="unit", alpha=alpha,
                               horizon_max=horizon_max).fit(
            df, outcome="y", unit="unit", time="time", first_treat="first_treat",
            covariates=p.covariates or None)
        es = res.aggregate("event_study").to_dataframe()
    out = _tidy_from_arrays([f"event_time::{int(k)}" for k in es["event_time"]], es["att"], es["se"],
                            res.n_obs, p.n_units, alpha)
    out.insert(1, "event_time", es["event_time"].astype(int).to_numpy())
    out["estimator"] = "imputation_bjs"
    out["se_type"] = "BJS conservative, clustered by unit (diff-diff)"
    overall = _tidy_from_arrays(["att"], [res.overall_att], [res.overall_se], res.n_obs, p.n_units, alpha)
    out.attrs["overall"] = overall.assign(estimator="imputation_bjs", se_type=out["se_type"].iloc[0])
    return out


# --------------------------------------------------------------------------------------------------
# tests and plumbing
# --------------------------------------------------------------------------------------------------

def wald_test(b: np.ndarray, V: np.ndarray, df_denom: int | None = None) -> dict[str, float]:
    """Joint Wald test that all of ``b`` are 0: W = b'V^-1 b ~ chi2(k); with ``df_denom`` also F = W/k."""
    b = np.asarray(b, float)
    V = np.asarray(V, float)
    k = len(b)
    W = float(b @ np.linalg.pinv(V) @ b)
    out = {"statistic": W, "df": k, "p_value": float(stats.chi2.sf(W, k))}
    if df_denom is not None:
        out["f_stat"] = W / k
        out["p_value_f"] = float(stats.f.sf(W / k, k, df_denom))
    return out


def pretrend_test(es: pd.DataFrame, V: pd.DataFrame | None = None, cs: CSResult | None = None,
                  anticipation: int = 0) -> pd.DataFrame:
    """Joint Wald test of the pre-period event-study coefficients (event_time < reference) being zero.

    ``es``: an event-study frame from this module. The covariance comes from ``V`` (indexed by event time),
    ``es.attrs['vcov']`` (TWFE, Sun-Abraham), or for a Callaway-Sant'Anna dynamic aggregation pass ``cs``
    (covariance from the influence functions). Event times in [-anticipation, -1] are anticipation effects and
    are not part of the test. Returns a one-row tidy frame (term "pretrend_wald").
    """
    # reference rows (estimate 0, no SE) are excluded; with a varying base period every pre-period is tested
    pre = es[(es["event_time"].notna()) & (es["event_time"] < -anticipation) & es["std_error"].notna()]
    if pre.empty:
        raise EmptySampleError("no pre-period coefficients to test (widen the window or the years)")
    ks = [int(k) for k in pre["event_time"]]
    b = pre["estimate"].to_numpy(float)
    if cs is not None:
        a = cs.att_gt
        e = (a["time"] - a["group"]).to_numpy()
        group = a["group"].to_numpy()
        glist = np.sort(np.unique(group))
        pgg = np.array([np.mean(cs.unit_g == g) for g in glist])
        pg = pgg[np.searchsorted(glist, group)]
        IF = np.column_stack([cs._agg(np.flatnonzero((e == k) & ~a["is_reference"].to_numpy()), pg, group)[1]
                              for k in ks])
        Vm = IF.T @ IF / cs.n ** 2
        src = "influence functions"
        dfd = None
    else:
        V = V if V is not None else es.attrs.get("vcov")
        if V is None:
            raise ParameterError("V", None, hint="no covariance: pass V or a frame with attrs['vcov']")
        Vm = V.loc[ks, ks].to_numpy()
        src = "model covariance"
        dfd = es.attrs.get("df")
    w = wald_test(b, Vm, dfd)
    est = es["estimator"].iloc[0] if "estimator" in es else ""
    out = pd.DataFrame({"term": ["pretrend_wald"], "estimate": [np.nan], "std_error": [np.nan],
                        "statistic": [w["statistic"]], "p_value": [w["p_value"]], "conf_low": [np.nan],
                        "conf_high": [np.nan], "n_obs": es["n_obs"].iloc[0], "n_units": es["n_units"].iloc[0],
                        "df": [w["df"]], "event_times": [",".join(map(str, ks))], "estimator": [est],
                        "test": [f"joint Wald chi2({w['df']}) on pre-period coefficients ({src})"]})
    if "p_value_f" in w:
        out["p_value_f"] = w["p_value_f"]
    return out


def stack_event_studies(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Concatenate event-study frames (name -> frame) into one long frame for overlay plots and tables."""
    keep = ["estimator_label", "event_time", "estimate", "std_error", "conf_low", "conf_high"]
    parts = []
    for name, f in frames.items():
        x = f[f["event_time"].notna()].copy()
        x["estimator_label"] = name
        parts.append(x[[c for c in keep if c in x.columns]])
    out = pd.concat(parts, ignore_index=True)
    out["event_time"] = out["event_time"].astype(int)
    return out.sort_values(["estimator_label", "event_time"]).reset_index(drop=True)


# --------------------------------------------------------------------------------------------------
# sensitivity to parallel-trends violations (Rambachan and Roth 2023)
# --------------------------------------------------------------------------------------------------

HONEST_METHODS = ("relative_magnitudes",)
HONEST_CI_METHOD = ("identified set widened by the critical value times the target's SE on each side "
                    "(diff-diff 3.13 HonestDiD, relative_magnitude: its 'naive FLCI'); not Rambachan-Roth's "
                    "conditional/hybrid confidence set")


def cs_event_vcov(cs: CSResult, event_times: list[int]) -> pd.DataFrame:
    """Covariance of Callaway-Sant'Anna dynamic effects at ``event_times`` from the influence functions.

    Same construction as :meth:`CSResult.aggregate` (weight-estimation term included, ``V = IF'IF / n^2``), so its
    diagonal equals the squared analytic SEs (``se_analytic``) of the dynamic aggregation.
    """
    a = cs.att_gt
    e = (a["time"] - a["group"]).to_numpy()
    group = a["group"].to_numpy()
    glist = np.sort(np.unique(group))
    pgg = np.array([np.mean(cs.unit_g == g) for g in glist])
    pg = pgg[np.searchsorted(glist, group)]
    cols = []
    for k in event_times:
        sel = np.flatnonzero((e == k) & ~a["is_reference"].to_numpy())
        if len(sel) == 0:
            raise ParameterError("event_times", k, hint="no estimable ATT(g,t) cell at this event time")
        cols.append(cs._agg(sel, pg, group)[1])
    IF = np.column_stack(cols)
    return pd.DataFrame(IF.T @ IF / cs.n ** 2, index=list(event_times), columns=list(event_times))


def honest_did(event_study_tidy: pd.DataFrame, vcov: pd.DataFrame | CSResult | None = None, *,
               method: str = "relative_magnitudes", mbar_grid=(0, 0.5, 1, 1.5, 2),
               target: str | int = "average_post", alpha: float = 0.05) -> pd.DataFrame:
    """Rambachan-Roth sensitivity of an event-study effect to bounded violations of parallel trends.

    Relative magnitudes (Delta^RM): each post-period change of the trend violation is at most ``Mbar`` times the
    largest pre-period change, ``|d_{t+1} - d_t| <= Mbar * max_{s<ref} |d_{s+1} - d_s|`` with ``d_ref = 0``.
    ``Mbar = 0`` is exact parallel trends after adoption; ``Mbar = 1`` allows post-period changes as large as the
    worst pre-period change. Computed with diff-diff's ``HonestDiD(method="relative_magnitude")``: the identified
    set is its linear programme with the pre-period violations pinned to the pre-period coefficients (R-R Lemma 2.2);
    the interval is that set widened by ``crit * se`` on each side (``HONEST_CI_METHOD``).

    - ``event_study_tidy``: an event study of this module with a reference row (estimate 0, no SE): TWFE
      (:func:`twfe_event_study`), :func:`sun_abraham`, or the Callaway-Sant'Anna dynamic aggregation with
      ``base_period="universal"`` (with the varying base period its pre-period rows are period-to-period changes,
      not violations relative to one reference, and are refused). Binned end points (``binned_endpoints``) are
      not single periods and are dropped. Pre periods: event time < reference; post: > reference (anticipation
      periods count as post but get no weight in the target).
    - ``vcov``: covariance indexed by event time; ``None`` uses ``attrs['vcov']`` (TWFE, Sun-Abraham); a
      :class:`CSResult` builds it from the influence functions (:func:`cs_event_vcov`).
    - ``target``: "average_post" (equal-weight mean of event times 0, 1, ...) or an event time (int, 0 or more).
    - critical values: t with ``attrs['df']`` degrees of freedom when present (TWFE, Sun-Abraham), else normal.

    Returns one row per Mbar: ``mbar, conf_low, conf_high, id_low, id_high, estimate, std_error,
    orig_conf_low, orig_conf_high, breakdown_mbar, method, target, ci_method, alpha, n_pre, n_post``.
    ``breakdown_mbar``: smallest Mbar at which the interval contains 0 (bisection to 1e-4; NaN when the interval
    still excludes 0 at Mbar 10; 0 when it contains 0 under parallel trends).
    """
    from diff_diff.honest_did import HonestDiD
    from diff_diff.results import MultiPeriodDiDResults, PeriodEffect

    check_choice("method", method, HONEST_METHODS)
    grid = np.asarray(list(mbar_grid), float)
    if grid.size == 0 or not np.all(np.isfinite(grid)) or np.any(grid < 0):
        raise ParameterError("mbar_grid", list(mbar_grid), hint="a non-empty list of finite numbers, 0 or more")
    if not 0 < alpha < 1:
        raise ParameterError("alpha", alpha, hint="a number strictly between 0 and 1")
    es = event_study_tidy[event_study_tidy["event_time"].notna()].copy()
    es["event_time"] = es["event_time"].astype(int)
    if "base_period" in es and (es["base_period"] == "varying").any():
        raise ParameterError("event_study_tidy", "Callaway-Sant'Anna with base_period='varying'", ["universal"],
                             hint="pre-period rows must be relative to one reference period; re-run "
                                  "callaway_santanna(..., base_period='universal')")
    has_se = es["std_error"].notna() & (es["std_error"] > 0)
    refs = es.loc[~has_se & (es["estimate"] == 0), "event_time"].tolist()
    if len(refs) != 1:
        raise ParameterError("event_study_tidy", f"reference rows at {refs}",
                             hint="exactly one reference row (estimate 0, no SE) is needed")
    ref = int(refs[0])
    if "binned_endpoints" in es and bool(es["binned_endpoints"].iloc[0]):
        es = es[(es["event_time"] > es["event_time"].min()) & (es["event_time"] < es["event_time"].max())
                | (es["event_time"] == ref)]
    est = es[es["std_error"].notna() & (es["std_error"] > 0)].sort_values("event_time")
    pre = [k for k in est["event_time"] if k < ref]
    post = [k for k in est["event_time"] if k > ref]
    if not pre or not post:
        raise EmptySampleError(f"honest_did needs pre and post coefficients around the reference {ref}; "
                               f"got pre {pre}, post {post}")
    if pre != list(range(ref - len(pre), ref)) or post != list(range(ref + 1, ref + 1 + len(post))):
        raise DataError(f"honest_did needs consecutive event times around the reference {ref}; "
                        f"got pre {pre}, post {post}")
    ks = pre + post
    if isinstance(vcov, CSResult):
        V = cs_event_vcov(vcov, ks)
    else:
        V = vcov if vcov is not None else event_study_tidy.attrs.get("vcov")
        if V is None:
            raise ParameterError("vcov", None, hint="no covariance: pass a DataFrame indexed by event time, a "
                                                    "CSResult, or a frame with attrs['vcov']")
        missing = [k for k in ks if k not in V.index]
        if missing:
            raise ParameterError("vcov", f"missing event times {missing}", hint=f"needs rows for {ks}")
    Vm = np.asarray(V.loc[ks, ks].to_numpy(), float)
    b = est.set_index("event_time").loc[ks, "estimate"].to_numpy(float)
    se = np.sqrt(np.diag(Vm))
    if target == "average_post":
        l_vec = np.array([1.0 if k >= 0 else 0.0 for k in post])
        tlabel = "average_post"
    else:
        if isinstance(target, bool) or not isinstance(target, (int, np.integer)) or int(target) not in post \
                or int(target) < 0:
            raise ParameterError("target", target, ["average_post"] + [k for k in post if k >= 0])
        l_vec = np.array([1.0 if k == int(target) else 0.0 for k in post])
        tlabel = f"event_time::{int(target)}"
    if l_vec.sum() == 0:
        raise EmptySampleError("no post-period coefficient at event time 0 or later")
    l_vec = l_vec / l_vec.sum()
    dfd = event_study_tidy.attrs.get("df")
    crit = float(stats.t.ppf(1 - alpha / 2, dfd) if dfd is not None else stats.norm.ppf(1 - alpha / 2))
    pe = {k: PeriodEffect(period=k, effect=float(bk), se=float(sk), t_stat=float(bk / sk),
                          p_value=float("nan"), conf_int=(float(bk - crit * sk), float(bk + crit * sk)))
          for k, bk, sk in zip(ks, b, se)}
    theta = float(l_vec @ b[len(pre):])
    th_se = float(np.sqrt(l_vec @ Vm[len(pre):, len(pre):] @ l_vec))
    res = MultiPeriodDiDResults(
        period_effects=pe, avg_att=theta, avg_se=th_se, avg_t_stat=theta / th_se, avg_p_value=float("nan"),
        avg_conf_int=(theta - crit * th_se, theta + crit * th_se), n_obs=int(es["n_obs"].iloc[0]),
        n_treated=0, n_control=0, pre_periods=pre + [ref], post_periods=post, alpha=alpha, vcov=Vm,
        reference_period=ref, interaction_indices={k: i for i, k in enumerate(ks)})
    res.df_inference = dfd  # t critical values with the event study's df (diff-diff reads this attribute)
    hd = HonestDiD(method="relative_magnitude", alpha=alpha, l_vec=l_vec)
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for m in grid:
            r = hd.fit(res, M=float(m))
            rows.append((float(m), r.ci_lb, r.ci_ub, r.lb, r.ub, r.original_estimate, r.original_se))

        def covers0(m: float) -> bool:
            r = hd.fit(res, M=m)
            return not (np.isfinite(r.ci_lb) and np.isfinite(r.ci_ub)) or r.ci_lb <= 0 <= r.ci_ub

        if covers0(0.0):
            bd = 0.0
        elif not covers0(10.0):
            bd = np.nan
        else:
            lo, hi = 0.0, 10.0
            while hi - lo > 1e-4:
                mid = (lo + hi) / 2
                lo, hi = (lo, mid) if covers0(mid) else (mid, hi)
            bd = hi
    out = pd.DataFrame(rows, columns=["mbar", "conf_low", "conf_high", "id_low", "id_high", "estimate",
                                      "std_error"])
    out["orig_conf_low"] = theta - crit * th_se
    out["orig_conf_high"] = theta + crit * th_se
    out["breakdown_mbar"] = bd
    out["method"] = method
    out["target"] = tlabel
    out["ci_method"] = HONEST_CI_METHOD
    out["alpha"] = alpha
    out["n_pre"], out["n_post"] = len(pre), len(post)
    if "estimator" in es:
        out["estimator"] = es["estimator"].iloc[0]
    return out.sort_values("mbar").reset_index(drop=True)


def honest_figure(h: pd.DataFrame, title: str = "Sensitivity to parallel-trends violations",
                  ylab: str = "effect"):
    """Robust intervals of :func:`honest_did` against Mbar, the original interval (parallel trends) at the left."""
    import plotly.graph_objects as go
    fig = go.Figure()
    x0 = float(h["mbar"].min()) - 0.25 * max(float(np.ptp(h["mbar"])), 1.0)
    fig.add_trace(go.Scatter(x=[x0], y=h["estimate"].iloc[:1], mode="markers", name="original CI (PT: parallel trends)",
                             marker={"symbol": "diamond", "size": 9},
                             error_y={"type": "data", "symmetric": False,
                                      "array": (h["orig_conf_high"] - h["estimate"]).iloc[:1].to_numpy(),
                                      "arrayminus": (h["estimate"] - h["orig_conf_low"]).iloc[:1].to_numpy()}))
    mid = (h["conf_low"] + h["conf_high"]) / 2
    fig.add_trace(go.Scatter(x=h["mbar"], y=mid, mode="markers", name="robust CI (relative magnitudes, Mbar)",
                             marker={"size": 4},
                             error_y={"type": "data", "symmetric": False, "array": (h["conf_high"] - mid).to_numpy(),
                                      "arrayminus": (mid - h["conf_low"]).to_numpy()}))
    fig.add_hline(y=0, line_color="grey")
    bd = h["breakdown_mbar"].iloc[0]
    if np.isfinite(bd) and bd <= float(h["mbar"].max()):
        fig.add_vline(x=bd, line_dash="dot", line_color="firebrick",
                      annotation_text=f"breakdown Mbar {bd:.2f}", annotation_position="top")
    ticks = [x0] + [float(m) for m in h["mbar"]]
    fig.update_layout(title=title, xaxis_title="Mbar (post / largest pre-adoption trend change)",
                      yaxis_title=ylab, legend={"orientation": "h", "yanchor": "top", "y": -0.25, "x": 0},
                      margin={"t": 56},
                      xaxis={"tickvals": ticks, "ticktext": ["PT"] + [f"{m:g}" for m in h["mbar"]]})
    return fig
