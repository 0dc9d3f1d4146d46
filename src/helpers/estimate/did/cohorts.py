"""Cohorts and sample preparation: first-treatment periods, never-treated codes, always-treated units, balancing."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from helpers.core.errors import DataError, EmptySampleError, ParameterError

NEVER = np.inf  # internal code of "never treated" in the normalised cohort column

COHORT_RULE = (
    "never-treated codes: NaN/NA/None and +inf always mean never treated; 0 means never treated only when 0 "
    "cannot be a time value (all observed times > 0), otherwise it is ambiguous and raises; negative infinity "
    "raises. Units first treated at or before their first observed period (+ anticipation) have no untreated "
    "pre-period (always-treated) and are dropped with a count; units first treated after the last period "
    "(- anticipation) are untreated throughout the window and recoded never-treated; units with gaps are dropped "
    "so the panel is balanced."
)


def cohort_from_treaty(
    panel: pd.DataFrame, treaty: str, unit_col: str = "iso3", out_col: str | None = None
) -> pd.DataFrame:
    """Return ``panel`` with a cohort column (first ratification year of ``treaty``; never = NaN).

    Reads the project panel's ``{treaty}_year`` column (year of the first ratification / accession /
    succession act, NA if never). The cohort must be constant within a unit. ``out_col`` defaults to
    ``{treaty}_cohort``.
    """
    col = f"{treaty}_year"
    if col not in panel.columns:
        avail = sorted(c[:-5] for c in panel.columns if c.endswith("_year") and c != "year")
        raise ParameterError("treaty", treaty, avail or None, hint=f"the panel has no column {col!r}")
    out_col = out_col or f"{treaty}_cohort"
    g = pd.to_numeric(panel[col], errors="coerce").astype("float64")
    nuniq = pd.DataFrame({"u": panel[unit_col], "g": g}).groupby("u")["g"].nunique(dropna=False)
    bad = nuniq[nuniq > 1]
    if len(bad):
        raise DataError(
            f"column {col!r} varies within unit(s) {list(bad.index[:10])}; a first-treatment "
            f"year must be constant per {unit_col!r}"
        )
    return panel.assign(**{out_col: g})


def normalize_cohort(
    cohort: pd.Series, times: pd.Series | np.ndarray, column: str = "cohort"
) -> tuple[np.ndarray, dict[str, int]]:
    """Normalise a first-treatment column to float with ``np.inf`` = never treated.

    Rule (:data:`COHORT_RULE`): NaN/NA/None and +inf mean never treated; 0 means never treated only if every
    observed time is > 0 (else DataError: ambiguous); -inf or non-numeric values raise DataError.
    Returns the array and a count of each never-treated code seen.
    """
    raw = pd.to_numeric(
        pd.Series(cohort).astype("object").where(pd.Series(cohort).notna(), np.nan), errors="coerce"
    )
    orig = pd.Series(cohort)
    nonnum = orig.notna() & raw.isna()
    if nonnum.any():
        ex = orig[nonnum].astype(str).unique()[:5].tolist()
        raise DataError(
            f"cohort column {column!r} has non-numeric values {ex}; expected a first-treatment "
            f"time, or NaN / inf / 0 for never treated"
        )
    g = raw.to_numpy(dtype="float64", na_value=np.nan).copy()
    t = np.asarray(pd.to_numeric(pd.Series(times)), dtype="float64")
    counts = {"nan": int(np.isnan(g).sum()), "inf": int(np.isposinf(g).sum()), "zero": int((g == 0).sum())}
    if np.isneginf(g).any():
        raise DataError(
            f"cohort column {column!r} contains -inf; valid never-treated codes: NaN, inf, 0 "
            f"(0 only when time values are all > 0)"
        )
    if counts["zero"] and np.nanmin(t) <= 0:
        raise DataError(
            f"cohort column {column!r} uses 0, but 0 is a possible time value (times range "
            f"{np.nanmin(t):g}..{np.nanmax(t):g}); code never-treated units as NaN or inf instead"
        )
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


def check_columns(df: pd.DataFrame, cols: dict[str, str | None]) -> None:
    for par, col in cols.items():
        if col is not None and col not in df.columns:
            raise ParameterError(par, col, sorted(map(str, df.columns)), hint="column not in the panel")


def prepare_panel(
    df: pd.DataFrame,
    unit: str,
    time: str,
    outcome: str,
    cohort: str,
    covariates: list[str] | None = None,
    anticipation: int = 0,
    years: tuple[int, int] | None = None,
    balance: bool = True,
) -> StaggeredPanel:
    """Validate and normalise a tidy panel for staggered-adoption estimators.

    Steps (each reported in ``notes``): keep ``years`` (inclusive range) if given; drop rows with a missing
    outcome or covariate; normalise the cohort (:func:`normalize_cohort`); recode units first treated after
    the last period (minus anticipation) as never treated; drop always-treated units (no period before
    ``g - anticipation``); drop units with gaps (``balance=True``). Raises EmptySampleError when nothing is
    left, DataError on duplicate unit-time rows, a cohort varying within a unit, or no variation in timing
    (no treated unit; or one cohort and no never-treated unit).
    """
    covariates = list(covariates or [])
    _check_prepare_args(df, unit, time, outcome, cohort, covariates, anticipation)
    d = _canonical_frame(df, unit, time, outcome, cohort, covariates)
    notes: list[str] = []
    counts: dict[str, int] = {}
    if years is not None:
        lo, hi = years
        d = d[(d["time"] >= lo) & (d["time"] <= hi)]
        notes.append(f"kept {time} in [{lo}, {hi}]")
    d, codes = _unit_cohorts(d, unit, time, cohort)
    d = _drop_missing(d, outcome, covariates, notes, counts)
    d = _recode_late(d, anticipation, notes, counts)
    d = _drop_always_treated(d, anticipation, notes, counts)
    if balance and not d.empty:
        d = _balance(d, notes, counts)
    if d.empty:
        raise EmptySampleError(
            f"no units left after dropping always-treated / unbalanced units ({'; '.join(notes)}); "
            f"widen 'years' or choose a treaty/outcome with untreated pre-periods"
        )
    cohorts, n_never = _timing_variation(d, cohort)
    if d["time"].nunique() < 2:
        raise EmptySampleError("fewer than two time periods in the sample")
    d = d.sort_values(["unit", "time"]).reset_index(drop=True)
    counts.update(
        {
            "n_units": int(d["unit"].nunique()),
            "n_obs": len(d),
            "n_never_treated": n_never,
            "n_cohorts": len(cohorts),
            **{f"never_code_{k}": v for k, v in codes.items()},
        }
    )
    return StaggeredPanel(d, unit, time, outcome, cohort, covariates, int(anticipation), notes, counts)


def _check_prepare_args(
    df: pd.DataFrame, unit: str, time: str, outcome: str, cohort: str, covariates: list[str], anticipation
) -> None:
    check_columns(df, {"unit_col": unit, "time_col": time, "outcome": outcome, "cohort_col": cohort})
    for c in covariates:
        check_columns(df, {"covariates": c})
    if not isinstance(anticipation, (int, np.integer)) or anticipation < 0:
        raise ParameterError("anticipation", anticipation, hint="a non-negative integer number of periods")
    if len(df) == 0:
        raise EmptySampleError("the panel has no rows")


def _canonical_frame(
    df: pd.DataFrame, unit: str, time: str, outcome: str, cohort: str, covariates: list[str]
) -> pd.DataFrame:
    """Columns ``unit, time, y, g_raw`` plus the covariates, with integer time periods."""
    d = df[[unit, time, outcome, cohort, *covariates]].copy()
    d.columns = ["unit", "time", "y", "g_raw", *covariates]
    d["time"] = pd.to_numeric(d["time"], errors="coerce")
    if d["time"].isna().any():
        raise DataError(f"time column {time!r} has missing or non-numeric values")
    if (d["time"] % 1 != 0).any():
        raise DataError(f"time column {time!r} must hold integer periods (e.g. years)")
    d["time"] = d["time"].astype("int64")
    return d


def _unit_cohorts(d: pd.DataFrame, unit: str, time: str, cohort: str) -> tuple[pd.DataFrame, dict[str, int]]:
    """One row per unit and time, and the normalised cohort ``g`` (constant within a unit); returns the frame and
    the count of each never-treated code seen."""
    dup = d.duplicated(["unit", "time"])
    if dup.any():
        ex = d.loc[dup, ["unit", "time"]].head(3).to_dict("records")
        raise DataError(
            f"duplicate ({unit}, {time}) rows, e.g. {ex}; the panel needs one row per unit and time"
        )
    g, codes = normalize_cohort(d["g_raw"], d["time"], column=cohort)
    d["g"] = g
    d = d.drop(columns="g_raw")
    nun = d.groupby("unit")["g"].nunique()
    if (nun > 1).any():
        raise DataError(f"cohort column {cohort!r} varies within unit(s) {list(nun[nun > 1].index[:10])}")
    return d, codes


def _drop_missing(
    d: pd.DataFrame, outcome: str, covariates: list[str], notes: list[str], counts: dict[str, int]
) -> pd.DataFrame:
    """Outcome and covariates as floats; rows missing any of them dropped."""
    d["y"] = pd.to_numeric(d["y"], errors="coerce").astype("float64")
    for c in covariates:
        d[c] = pd.to_numeric(d[c], errors="coerce").astype("float64")
    miss = d[["y", *covariates]].isna().any(axis=1)
    counts["rows_missing_dropped"] = int(miss.sum())
    if miss.any():
        notes.append(
            f"dropped {int(miss.sum())} rows with missing {outcome!r}"
            + (f" or covariates {covariates}" if covariates else "")
        )
    d = d[~miss]
    if d.empty:
        raise EmptySampleError(f"no rows with a non-missing {outcome!r} (and covariates) in the sample")
    return d


def _recode_late(
    d: pd.DataFrame, anticipation: int, notes: list[str], counts: dict[str, int]
) -> pd.DataFrame:
    """Units first treated after the last period (minus anticipation) recoded never-treated."""
    tmax = d["time"].max()
    late = np.isfinite(d["g"]) & (d["g"] - anticipation > tmax)
    n_late = int(d.loc[late, "unit"].nunique())
    counts["late_recoded_never"] = n_late
    if n_late:
        notes.append(f"{n_late} unit(s) first treated after the last period {tmax} recoded never-treated")
        d.loc[late, "g"] = NEVER
    return d


def _drop_always_treated(
    d: pd.DataFrame, anticipation: int, notes: list[str], counts: dict[str, int]
) -> pd.DataFrame:
    """Units first treated at or before their first observed period + anticipation dropped."""
    first_obs = d.groupby("unit")["time"].transform("min")
    always = np.isfinite(d["g"]) & (d["g"] - anticipation <= first_obs)
    n_always = int(d.loc[always, "unit"].nunique())
    counts["always_treated_dropped"] = n_always
    if n_always:
        notes.append(
            f"dropped {n_always} always-treated unit(s) (first treated at or before their first "
            f"observed period + anticipation, no untreated pre-period)"
        )
        d = d[~always]
    return d


def _balance(d: pd.DataFrame, notes: list[str], counts: dict[str, int]) -> pd.DataFrame:
    """Units not observed in every period of the sample dropped."""
    periods = np.sort(d["time"].unique())
    nobs = d.groupby("unit")["time"].transform("size")
    gap = nobs < len(periods)
    n_gap = int(d.loc[gap, "unit"].nunique())
    counts["unbalanced_dropped"] = n_gap
    if n_gap:
        notes.append(
            f"dropped {n_gap} unit(s) not observed in all {len(periods)} periods "
            f"({periods.min()}-{periods.max()}) to balance the panel"
        )
        d = d[~gap]
    return d


def _timing_variation(d: pd.DataFrame, cohort: str) -> tuple[np.ndarray, int]:
    """The treated cohorts and the number of never-treated units; an error when timing does not vary."""
    ug = d.drop_duplicates("unit")["g"].to_numpy()
    cohorts = np.unique(ug[np.isfinite(ug)])
    n_never = int(np.isinf(ug).sum())
    if len(cohorts) == 0:
        raise DataError(
            f"no treated units left in the sample (cohort column {cohort!r}); nothing to estimate"
        )
    if len(cohorts) == 1 and n_never == 0:
        raise DataError(
            f"no variation in treatment timing: every unit is first treated in {cohorts[0]:g} and no "
            f"unit is never treated, so no comparison group exists"
        )
    return cohorts, n_never


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
        index="unit", columns="time", values="s"
    )
    order = p.unit_table()["g"].sort_values(kind="stable").index
    return w.loc[order]


PANEL_VIEW_STATES = {0: "not yet treated", 1: "treated", 2: "never treated"}
