"""Single-unit case studies: synthetic control, synthetic difference-in-differences, placebo inference.

Works on any tidy panel (unit, time, outcome columns) with one treated unit and an event time (e.g. Pakistan's
CEDAW accession in 1996). Contents:
- :func:`resolve_case` - a case from its parameters: the unit (by code or name, :func:`helpers.data.countries.resolve_unit`), the event
  year (explicit or the first ratification, :func:`event_year_of`) and the donor rule's columns
  (:data:`DONOR_RULES`);
- :func:`donor_pool` - donors and the stated exclusion rule (no change of treatment status in the window);
- :func:`case_matrix` - the balanced outcome matrix (donors first, treated unit last) over the window;
- :func:`sc_weights` / :func:`synthetic_control` - classic convex-weight synthetic control (SLSQP on the
  simplex, hand-written; tested against known weights and Abadie's Proposition 99 result);
- :func:`sdid` - synthetic difference-in-differences via ``synthdid-py`` 0.1.0 (a port of the reference R
  package ``synthdid``; reproduces the paper's -15.604 on Proposition 99);
- :func:`did_2x2` - the plain difference-in-differences (treated vs. the donor average, pre vs. post);
- :func:`placebo_in_space` - every donor in turn as pseudo-treated; p-values by rank;
- :func:`run_case` - everything above in one call, returning tidy tables;
- the plain DiD as a regression on the case sample: :func:`case_long`, :func:`did_wild_bootstrap` (wild cluster
  bootstrap p-value, unreliable with one treated cluster) and :func:`did_wild_placebo_check` (how often that
  bootstrap rejects when each donor in turn is the pseudo-treated unit: its empirical size on these data);
- treaty acts of one country: :func:`treaty_timeline` (one row per act) and :func:`timeline_events` (one row per
  instrument, the input of :func:`helpers.plots.country_timeline`);
- figures: :func:`case_figure`, :func:`placebo_figure`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize

from helpers.core.errors import DataError, EmptySampleError, ParameterError
from helpers.core.params import check_choice
from helpers.data.countries import resolve_unit

METHODS = ("sc", "sc_fw", "sdid", "did")
#: Tidy names of the methods (column ``estimator``).
METHOD_NAMES = {
    "sc": "synthetic_control",
    "sc_fw": "synthetic_control_regularised",
    "sdid": "synthetic_did",
    "did": "did_2x2",
}
#: Methods fitted with synthdid (each fit costs 0.1-0.5 s): their placebos are capped by ``sdid_placebos``.
_SYNTHDID_METHODS = ("sc_fw", "sdid")

#: Donor rules of a case study (notebook 05's ``donor_rule``) -> what they require, in words.
#: ``{status_col}`` defaults to ``{treaty}_ratified``, ``{cohort_col}`` to ``{treaty}_year``.
DONOR_RULES: dict[str, str] = {
    "untreated": "untreated throughout the window: never treated ({cohort_col} missing) or first treated after "
    "the window ends (and {status_col} 0 in every period of the window, when the panel has it)",
    "status": "{status_col} constant over the window and first treatment ({cohort_col}) outside it; admits "
    "units treated long before the window (the rule of earlier versions)",
    "cohort": "first treatment ({cohort_col}) outside the window; admits units treated before the window",
    "none": "every other unit (no treatment information used)",
}
#: The columns each donor rule reads: status column, cohort column; "required", "optional" or None (not read).
_RULE_COLUMNS = {
    "untreated": ("optional", "required"),
    "status": ("required", "optional"),
    "cohort": (None, "required"),
    "none": (None, None),
}
#: Default smallest number of donors before a case study warns that its comparison is thin.
MIN_DONORS = 10


@dataclass(frozen=True)
class CaseSpec:
    """A resolved case: the treated unit, its display name, the event year and the donor rule's columns.

    ``status_col`` / ``cohort_col`` are None when the rule does not use them or the panel lacks them (the donor
    rule text then says so).
    """

    unit: object
    name: str
    event: int
    status_col: str | None
    cohort_col: str | None


def event_year_of(df: pd.DataFrame, unit, cohort_col: str, unit_col: str = "iso3", treaty: str = "") -> int:
    """The first-treatment year of ``unit`` read from ``cohort_col`` (e.g. ``cedaw_year``: its first ratification).

    Raises ParameterError("event_year", 0, ...) when the column is absent or the unit was never treated, asking
    for an explicit year.
    """
    if cohort_col not in df.columns:
        raise ParameterError(
            "event_year", 0, hint=f"the panel has no {cohort_col!r}; give the year explicitly"
        )
    ev = pd.to_numeric(df.loc[df[unit_col] == unit, cohort_col], errors="coerce").dropna()
    if ev.empty:
        raise ParameterError(
            "event_year", 0, hint=f"{unit} never ratified {treaty or cohort_col}; give the year explicitly"
        )
    return int(ev.iloc[0])


def resolve_case(
    df: pd.DataFrame,
    country,
    treaty: str,
    *,
    event_year: int = 0,
    donor_rule: str = "untreated",
    unit_col: str = "iso3",
    name_col: str = "country",
    status_col: str = "",
    cohort_col: str = "",
) -> CaseSpec:
    """Resolve notebook 05's case parameters on a panel.

    The unit: :func:`resolve_unit`. The event year: ``event_year`` when not 0, else the unit's first
    ratification of ``treaty`` (:func:`event_year_of` on ``cohort_col``, default ``{treaty}_year``). ``treaty`` may
    be "" on a panel without treaties: then ``event_year`` must be given, and the donor rule's columns too (or
    ``donor_rule="none"``). The donor rule's columns (:data:`DONOR_RULES`, :data:`_RULE_COLUMNS`): a column the rule
    requires must exist (ParameterError naming ``donor_rule`` or the column parameter, with the rules that can
    apply); an optional one is used when the panel has it; a column given explicitly must exist and must be read
    by the rule (a parameter that cannot apply is an error, not a no-op).
    """
    check_choice("donor_rule", donor_rule, list(DONOR_RULES))
    unit = resolve_unit(df, country, unit_col, name_col)
    cols = sorted(map(str, df.columns))
    for par, col in (("status_col", status_col), ("cohort_col", cohort_col)):
        if col and col not in df.columns:
            raise ParameterError(par, col, cols, hint="not a column of the panel")
    if not treaty and not event_year:
        raise ParameterError(
            "event_year", 0, hint='without a treaty (treaty "") give the event period explicitly'
        )
    scol = status_col or (f"{treaty}_ratified" if treaty else "")
    ccol = cohort_col or (f"{treaty}_year" if treaty else "")
    event = event_year or event_year_of(df, unit, ccol, unit_col, treaty)
    names = df.loc[df[unit_col] == unit, name_col].dropna() if name_col and name_col in df.columns else []
    use = dict(zip(("status_col", "cohort_col"), _RULE_COLUMNS[donor_rule], strict=True))
    chosen = {}
    for par, col, given in (("status_col", scol, bool(status_col)), ("cohort_col", ccol, bool(cohort_col))):
        chosen[par] = _rule_column(df, donor_rule, par, col, given, use[par])
    return CaseSpec(
        unit=unit,
        name=str(names.iloc[0]) if len(names) else str(unit),
        event=int(event),
        status_col=chosen["status_col"],
        cohort_col=chosen["cohort_col"],
    )


def _rule_column(df: pd.DataFrame, rule: str, par: str, col: str, given: bool, use: str | None) -> str | None:
    """The column ``par`` the donor rule ``rule`` reads (None if it reads none), or a ParameterError."""
    if use is None:
        if given:
            readers = [r for r, u in _RULE_COLUMNS.items() if u[0 if par == "status_col" else 1]]
            raise ParameterError(
                par,
                col,
                hint=f'donor_rule {rule!r} does not read it; leave it "" or use a donor_rule that '
                f"does ({', '.join(readers)})",
            )
        return None
    if col and col in df.columns:
        return col
    if use == "required":
        can = [r for r, u in _RULE_COLUMNS.items() if u[0 if par == "status_col" else 1] != "required"]
        can = [r for r in can if not (r != "none" and _RULE_COLUMNS[r][0] == "required")]
        what = "first-treatment period" if par == "cohort_col" else "0/1 treatment status"
        raise ParameterError(
            "donor_rule",
            rule,
            can,
            hint=f"it needs a {what} column and the panel has no {col or '(no treaty)'!r}: give {par} or choose "
            f"a rule that does not need it",
        )
    return None


def window_span(event: int, window: tuple[int, int]) -> tuple[int, int]:
    """First and last period of a case window: ``window = [pre, post]`` is ``pre`` periods before the event period
    and ``post`` periods from the event period on (the event period is the first post period)."""
    pre, post = window
    return event - pre, event + post - 1


def donor_rule_text(
    event: int,
    window: tuple[int, int],
    status_col: str | None,
    cohort_col: str | None,
    rule: str = "untreated",
) -> str:
    """Plain-language statement of the donor rule applied."""
    lo, hi = window_span(event, window)
    parts = []
    if rule == "untreated":
        if cohort_col:
            parts.append(f"never treated or first treated after {hi} ({cohort_col!r})")
        if status_col:
            parts.append(f"{status_col!r} 0 in every period of the window")
        head = "units untreated throughout the window"
    elif rule in ("status", "cohort"):
        if status_col:
            parts.append(f"{status_col!r} constant over every period of the window")
        if cohort_col:
            parts.append(f"first treatment ({cohort_col!r}) not inside the window")
        head = "units whose treatment status does not change in the window (treated before it allowed)"
    else:
        head = "every other unit (no treatment information used)"
    crit = f" ({' and '.join(parts)})" if parts else ""
    return (
        f"Donors [{rule}]: {head} [{lo}, {hi}]{crit}, with the outcome observed in every period of the window; "
        f"the treated unit is excluded."
    )


def _exclusion_reasons(
    g: pd.DataFrame,
    time: str,
    outcome: str,
    years: np.ndarray,
    status_col: str | None,
    cohort_col: str | None,
    rule: str,
) -> str:
    """Why one unit's rows ``g`` within the window disqualify it as a donor ("" if they do not)."""
    lo, hi = years[0], years[-1]
    r = []
    c = pd.to_numeric(g[cohort_col], errors="coerce").dropna() if cohort_col is not None else pd.Series([])
    if rule == "untreated":
        if len(c) and (c < lo).any():
            r.append(f"{cohort_col} before window")
        elif len(c) and (c <= hi).any():
            r.append(f"{cohort_col} inside window")
        if status_col is not None and (pd.to_numeric(g[status_col], errors="coerce").fillna(0) != 0).any():
            r.append(f"{status_col} not 0 in window")
    elif rule in ("status", "cohort"):
        if status_col is not None and g[status_col].nunique(dropna=False) > 1:
            r.append(f"{status_col} changes in window")
        if len(c) and ((c >= lo) & (c <= hi)).any():
            r.append(f"{cohort_col} inside window")
    obs = g.loc[g[outcome].notna(), time]
    if not np.isin(years, obs.to_numpy()).all():
        r.append(f"{outcome} missing in window")
    return "; ".join(r)


def _check_case_columns(
    df: pd.DataFrame, cols: dict[str, str | None], outcome: str, unit: str, time: str
) -> None:
    for par, col in cols.items():
        if col is not None and col not in df.columns:
            raise ParameterError(par, col, sorted(map(str, df.columns)), hint="column not in the panel")
    numeric = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c]) and c not in (unit, time)]
    if outcome in (unit, time) or not pd.api.types.is_numeric_dtype(df[outcome]):
        raise ParameterError(
            "outcome",
            outcome,
            sorted(map(str, numeric)),
            hint="the outcome must be a numeric column other than the unit and time columns",
        )


def donor_pool(
    df: pd.DataFrame,
    unit: str,
    time: str,
    outcome: str,
    treated_unit,
    event: int,
    window: tuple[int, int],
    status_col: str | None = None,
    cohort_col: str | None = None,
    donor_rule: str = "untreated",
) -> tuple[list, pd.DataFrame, str]:
    """Donor units for a case study and the reasons other units were excluded.

    ``window = [pre, post]``: :func:`window_span`. Rules (:data:`DONOR_RULES`): "untreated" (default) excludes
    units first treated (``cohort_col``) before or inside the window, or with ``status_col`` not 0 in it;
    "status"/"cohort" (earlier rule) exclude units whose ``status_col`` changes in the window or whose first
    treatment falls inside it (units treated before the window stay); "none" uses no treatment information. Every
    rule excludes units whose outcome is missing in any period of the window. Returns ``(donors, excluded,
    rule_text)``; ``excluded`` has columns unit, reason (generic labels joined by "; ", so they can be counted).
    Raises EmptySampleError when no donor is left, ParameterError for a rule whose columns are not given.
    """
    check_choice("donor_rule", donor_rule, list(DONOR_RULES))
    _check_case_columns(
        df,
        {
            "unit_col": unit,
            "time_col": time,
            "outcome": outcome,
            "status_col": status_col,
            "cohort_col": cohort_col,
        },
        outcome,
        unit,
        time,
    )
    if donor_rule == "untreated" and cohort_col is None and status_col is None:
        raise ParameterError(
            "donor_rule", donor_rule, ["none"], hint="'untreated' needs cohort_col or status_col"
        )
    if treated_unit not in set(df[unit]):
        raise ParameterError("country", treated_unit, hint=f"not a value of {unit!r}")
    lo, hi = window_span(event, window)
    w = df[(df[time] >= lo) & (df[time] <= hi)]
    years = np.arange(lo, hi + 1)
    reasons = {
        u: _exclusion_reasons(g, time, outcome, years, status_col, cohort_col, donor_rule)
        for u, g in w.groupby(unit, sort=True)
        if u != treated_unit
    }
    for u in set(df[unit]) - set(w[unit]) - {treated_unit}:
        reasons[u] = "not observed in window"
    donors = sorted(u for u, r in reasons.items() if not r)
    excluded = pd.DataFrame(
        [(u, r) for u, r in sorted(reasons.items(), key=lambda x: str(x[0])) if r], columns=["unit", "reason"]
    )
    rule = donor_rule_text(event, window, status_col, cohort_col, donor_rule)
    if not donors:
        top = excluded["reason"].value_counts().head(3).to_dict() if len(excluded) else {}
        raise EmptySampleError(
            f"no usable donors for {treated_unit!r} around {event}: {rule} "
            f"({len(excluded)} units excluded; most common reasons: {top}; "
            f"try a shorter window, another outcome or another donor_rule)"
        )
    return donors, excluded, rule


def donor_status(
    df: pd.DataFrame,
    unit: str,
    time: str,
    treated_unit,
    event: int,
    window: tuple[int, int],
    donors: list,
    excluded: pd.DataFrame,
    cohort_col: str | None = None,
) -> pd.DataFrame:
    """One row per unit other than the treated one: ``unit, first_treated`` (from ``cohort_col``; NA = never or
    unknown), ``status_in_window`` (never treated / treated before the window / first treated inside it / first
    treated after it / unknown), ``donor`` (bool) and ``reason`` (why excluded, "" for donors)."""
    lo, hi = window_span(event, window)
    units = sorted((u for u in pd.unique(df[unit]) if u != treated_unit), key=str)
    first = (
        pd.to_numeric(df[cohort_col], errors="coerce").groupby(df[unit]).min()
        if cohort_col is not None
        else pd.Series(dtype=float)
    )
    why = excluded.set_index("unit")["reason"] if len(excluded) else pd.Series(dtype=str)
    rows = []
    for u in units:
        g = first.get(u, np.nan)
        if cohort_col is None:
            st = "unknown (no first-treatment column)"
        elif pd.isna(g):
            st = "never treated"
        elif g < lo:
            st = f"treated before the window ({int(g)})"
        elif g <= hi:
            st = f"first treated inside the window ({int(g)})"
        else:
            st = f"first treated after the window ({int(g)})"
        rows.append((u, g, st, u in set(donors), str(why.get(u, ""))))
    out = pd.DataFrame(rows, columns=["unit", "first_treated", "status_in_window", "donor", "reason"])
    out["first_treated"] = pd.to_numeric(out["first_treated"], errors="coerce").round().astype("Int64")
    return out


@dataclass
class Case:
    """Outcome matrix of a case: ``Y`` rows = donors then the treated unit, columns = periods in the window."""

    Y: pd.DataFrame
    treated: object
    event: int
    T0: int
    rule: str = ""
    excluded: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def donors(self) -> list:
        return list(self.Y.index[:-1])

    @property
    def N0(self) -> int:
        return len(self.Y) - 1


def case_matrix(
    df: pd.DataFrame,
    unit: str,
    time: str,
    outcome: str,
    treated_unit,
    event: int,
    window: tuple[int, int],
    donors: list,
) -> Case:
    """Balanced matrix over :func:`window_span`: ``pre`` periods before the event period and ``post`` periods from
    the event period on."""
    pre, post = window
    if pre < 2 or post < 1:
        raise ParameterError(
            "window", list(window), hint="[pre, post]: at least 2 periods before the event and 1 from it on"
        )
    lo, hi = window_span(event, window)
    w = df[(df[time] >= lo) & (df[time] <= hi) & df[unit].isin([*donors, treated_unit])]
    Y = w.pivot_table(index=unit, columns=time, values=outcome, aggfunc="first")
    years = list(range(lo, hi + 1))
    Y = Y.reindex(index=[*donors, treated_unit], columns=years)
    if Y.loc[treated_unit].isna().any():
        miss = [c for c in years if pd.isna(Y.loc[treated_unit, c])]
        raise DataError(f"treated unit {treated_unit!r}: {outcome!r} missing in {miss}")
    Y = Y.dropna()
    if len(Y) < 2:
        raise EmptySampleError(f"no donor with complete {outcome!r} in {lo}-{hi}")
    return Case(Y.astype(float), treated_unit, event, T0=pre)


def sc_weights(Y0_pre: np.ndarray, y1_pre: np.ndarray) -> np.ndarray:
    """Convex weights minimising the pre-period squared gap ||y1 - Y0 w||^2, w >= 0, sum w = 1.

    ``Y0_pre``: T0 x J donor outcomes; ``y1_pre``: T0 treated outcomes. Method: Lawson-Hanson NNLS on the
    system augmented with a heavily weighted adding-up row (``scipy.optimize.nnls``), then an exact
    equality-constrained least-squares polish on the selected support (KKT system), kept when it stays
    non-negative and lowers the loss. Fast for hundreds of donors; tested against known weights, SLSQP and
    synthdid's Frank-Wolfe solver.
    """
    X = np.asarray(Y0_pre, float)
    y = np.asarray(y1_pre, float)
    J = X.shape[1]
    if J == 1:
        return np.ones(1)
    scale = max(np.abs(X).max(), np.abs(y).max(), 1e-12)
    X, y = X / scale, y / scale

    def loss(w):
        r = X @ w - y
        return float(r @ r)

    M = 1e3 * max(1.0, np.sqrt((X**2).sum(axis=0)).max())
    A = np.vstack([X, M * np.ones((1, J))])
    b = np.concatenate([y, [M]])
    w, _ = optimize.nnls(A, b, maxiter=50 * J)
    w = np.clip(w, 0, None)
    w = w / w.sum()
    S = np.flatnonzero(w > 1e-12)
    if len(S) >= 1:
        XS = X[:, S]
        K = np.block([[2 * XS.T @ XS, np.ones((len(S), 1))], [np.ones((1, len(S))), np.zeros((1, 1))]])
        rhs = np.concatenate([2 * XS.T @ y, [1.0]])
        try:
            sol = np.linalg.lstsq(K, rhs, rcond=None)[0][: len(S)]
            if (sol >= -1e-12).all():
                w2 = np.zeros(J)
                w2[S] = np.clip(sol, 0, None)
                w2 /= w2.sum()
                if loss(w2) <= loss(w) + 1e-15:
                    w = w2
        except np.linalg.LinAlgError:
            pass
    w[w < 1e-10] = 0
    return w / w.sum()


def sc_weights_slsqp(Y0_pre: np.ndarray, y1_pre: np.ndarray) -> np.ndarray:
    """Reference solver for :func:`sc_weights` (SLSQP from the uniform start); slow for many donors."""
    X = np.asarray(Y0_pre, float)
    y = np.asarray(y1_pre, float)
    J = X.shape[1]
    scale = max(np.abs(X).max(), np.abs(y).max(), 1e-12)
    X, y = X / scale, y / scale
    XtX, Xty = X.T @ X, X.T @ y
    r = optimize.minimize(
        lambda w: (X @ w - y) @ (X @ w - y),
        np.full(J, 1 / J),
        jac=lambda w: 2 * (XtX @ w - Xty),
        bounds=[(0, 1)] * J,
        constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1, "jac": lambda w: np.ones(J)}],
        method="SLSQP",
        options={"ftol": 1e-14, "maxiter": 1000},
    )
    w = np.clip(r.x, 0, None)
    return w / w.sum()


def _rmspe(gap: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.asarray(gap) ** 2)))


def synthetic_control(case: Case) -> dict:
    """Classic synthetic control on a :class:`Case`: weights, synthetic path, ATT (mean post gap), RMSPEs."""
    Y = case.Y.to_numpy()
    T0 = case.T0
    w = sc_weights(Y[:-1, :T0].T, Y[-1, :T0])
    synth = w @ Y[:-1]
    gap = Y[-1] - synth
    pre, post = _rmspe(gap[:T0]), _rmspe(gap[T0:])
    return {
        "estimate": float(gap[T0:].mean()),
        "weights": pd.Series(w, index=case.donors),
        "path": synth,
        "gap": gap,
        "pre_rmspe": pre,
        "post_rmspe": post,
        "ratio": post / pre if pre > 0 else np.inf,
    }


def sdid(case: Case, estimator: str = "sdid") -> dict:
    """Synthetic DiD (``synthdid.synthdid_estimate``), or its SC / DiD special cases, on a :class:`Case`.

    Returns estimate, unit weights (omega), time weights (lambda), the synthetic path (omega-weighted donors
    shifted by the SDID intercept over the lambda-weighted pre-period) and the pre-period RMSPE of that path.
    """
    import synthdid as sd

    fn = {"sdid": sd.synthdid_estimate, "sc_synthdid": sd.sc_estimate, "did": sd.did_estimate}[estimator]
    Y = case.Y.to_numpy()
    est = fn(Y, case.N0, case.T0)
    om = np.asarray(est.weights.omega, float)
    lam = np.asarray(est.weights.lambda_, float)
    synth = om @ Y[:-1]
    T0 = case.T0
    shift = (
        Y[-1, :T0] - synth[:T0]
    ) @ lam  # SDID intercept: treated-minus-synthetic, lambda-weighted pre mean
    path = synth + shift
    gap = Y[-1] - path
    pre = _rmspe(gap[:T0])
    return {
        "estimate": float(est),
        "weights": pd.Series(om, index=case.donors),
        "time_weights": pd.Series(lam, index=case.Y.columns[:T0]),
        "path": path,
        "gap": gap,
        "pre_rmspe": pre,
        "post_rmspe": _rmspe(gap[T0:]),
        "ratio": _rmspe(gap[T0:]) / pre if pre > 0 else np.inf,
        "object": est,
    }


def did_2x2(case: Case) -> dict:
    """Plain DiD: (treated post mean - treated pre mean) - (donor-average post mean - donor-average pre mean)."""
    Y = case.Y.to_numpy()
    T0 = case.T0
    c = Y[:-1].mean(axis=0)
    est = (Y[-1, T0:].mean() - Y[-1, :T0].mean()) - (c[T0:].mean() - c[:T0].mean())
    path = c + (Y[-1, :T0].mean() - c[:T0].mean())
    gap = Y[-1] - path
    pre = _rmspe(gap[:T0])
    return {
        "estimate": float(est),
        "path": path,
        "gap": gap,
        "pre_rmspe": pre,
        "post_rmspe": _rmspe(gap[T0:]),
        "ratio": _rmspe(gap[T0:]) / pre if pre > 0 else np.inf,
    }


def synthetic_control_fw(case: Case) -> dict:
    """Regularised synthetic control of synthdid (``sc_estimate``: Frank-Wolfe on the simplex with a small ridge
    penalty, no intercept, uniform time weights), next to the exact convex SC of :func:`synthetic_control`."""
    return sdid(case, "sc_synthdid")


_FITTERS = {"sc": synthetic_control, "sc_fw": synthetic_control_fw, "sdid": sdid, "did": did_2x2}


def placebo_in_space(
    case: Case,
    methods: tuple[str, ...] = ("sc", "sdid", "did"),
    max_placebos: int | None = None,
    sdid_placebos: int | None = 30,
    seed: int = 20240607,
) -> pd.DataFrame:
    """Re-estimate with each donor as the treated unit (the real treated unit left out of the pool).

    Returns one row per (method, unit) with estimate, pre/post RMSPE and their ratio; ``is_treated`` marks the
    real unit. ``max_placebos`` caps the donors used by every method (first ones in sorted order);
    ``sdid_placebos`` caps the synthdid methods only (regularised SC and SDID; a seeded random subset, since each
    fit costs ~0.1-0.5 s; None = all).
    """
    for m in methods:
        check_choice("methods", m, METHODS)
    if len(case.donors) < 2:
        raise EmptySampleError("placebo inference needs at least 2 donors")
    rows = []
    for m in methods:
        r = _FITTERS[m](case)
        rows.append(
            {
                "method": m,
                "unit": case.treated,
                "is_treated": True,
                "estimate": r["estimate"],
                "pre_rmspe": r["pre_rmspe"],
                "post_rmspe": r["post_rmspe"],
                "ratio": r["ratio"],
            }
        )
    donors = case.donors[:max_placebos] if max_placebos else case.donors
    sd_set = set(donors)
    if sdid_placebos is not None and len(donors) > sdid_placebos:
        rng = np.random.default_rng(seed)
        sd_set = set(
            np.asarray(donors, dtype=object)[np.sort(rng.choice(len(donors), sdid_placebos, replace=False))]
        )
    Yd = case.Y.iloc[:-1]
    for d in donors:
        sub = pd.concat([Yd.drop(index=d), Yd.loc[[d]]])
        pc = Case(sub, d, case.event, case.T0)
        for m in methods:
            if m in _SYNTHDID_METHODS and d not in sd_set:
                continue
            r = _FITTERS[m](pc)
            rows.append(
                {
                    "method": m,
                    "unit": d,
                    "is_treated": False,
                    "estimate": r["estimate"],
                    "pre_rmspe": r["pre_rmspe"],
                    "post_rmspe": r["post_rmspe"],
                    "ratio": r["ratio"],
                }
            )
    return pd.DataFrame(rows)


def placebo_p_values(pl: pd.DataFrame) -> pd.DataFrame:
    """Per method: rank p-value of the treated unit's post/pre RMSPE ratio (share of all units, treated
    included, with a ratio at least as large) and of |estimate|; placebo SD of the estimates."""
    out = []
    for m, g in pl.groupby("method", sort=False):
        tr = g[g["is_treated"]].iloc[0]
        pla = g[~g["is_treated"]]
        n = len(g)
        out.append(
            {
                "method": m,
                "n_placebos": len(pla),
                "p_ratio": float((g["ratio"] >= tr["ratio"] - 1e-12).sum() / n),
                "p_abs_estimate": float((g["estimate"].abs() >= abs(tr["estimate"]) - 1e-12).sum() / n),
                "placebo_sd": float(pla["estimate"].std(ddof=1)) if len(pla) > 1 else np.nan,
                "rank_ratio": int((g["ratio"] > tr["ratio"]).sum() + 1),
            }
        )
    return pd.DataFrame(out)


def run_case(
    df: pd.DataFrame,
    unit: str,
    time: str,
    outcome: str,
    treated_unit,
    event: int,
    window: tuple[int, int] = (10, 11),
    status_col: str | None = None,
    cohort_col: str | None = None,
    placebos: bool = True,
    max_placebos: int | None = None,
    sdid_placebos: int | None = 30,
    seed: int = 20240607,
    donor_rule: str = "untreated",
    min_donors: int = MIN_DONORS,
) -> dict:
    """Full case study: donors, exact and regularised SC, SDID, plain DiD, placebo-in-space inference; tidy outputs.

    ``window = [pre, post]`` (:func:`window_span`); ``donor_rule`` (:data:`DONOR_RULES`). Returns a dict with
    ``tidy`` (one row per method; std_error = SD of placebo estimates, p_value = rank p-value of the post/pre RMSPE
    ratio for the two SCs and of |estimate| for SDID and DiD), ``weights`` (donor weights of SC, regularised SC and
    SDID), ``paths`` (time, treated, synthetic paths), ``placebos``, ``p_values``, ``fit`` (pre- and post-period
    RMSPE per method), ``rule``, ``excluded``, ``donor_status`` (:func:`donor_status`) and ``thin`` (a sentence
    when fewer than ``min_donors`` donors remain, else "").
    """
    donors, excluded, rule = donor_pool(
        df, unit, time, outcome, treated_unit, event, window, status_col, cohort_col, donor_rule
    )
    case = case_matrix(df, unit, time, outcome, treated_unit, event, window, donors)
    case.rule, case.excluded = rule, excluded
    status = donor_status(df, unit, time, treated_unit, event, window, case.donors, excluded, cohort_col)
    if len(case.donors) < len(donors):  # case_matrix drops donors with gaps
        status.loc[status["unit"].isin(set(donors) - set(case.donors)), ["donor", "reason"]] = [False, "gap"]
    thin = (
        f"only {case.N0} donors remain (fewer than min_donors = {min_donors}): the synthetic comparisons rest on "
        f"very few units and the placebo p-values cannot be below 1/{case.N0 + 1:d}"
        if min_donors > case.N0
        else ""
    )
    fits = {m: _FITTERS[m](case) for m in METHODS}
    lo, hi = window_span(event, window)
    paths = pd.DataFrame(
        {
            "time": list(case.Y.columns),
            "treated": case.Y.iloc[-1].to_numpy(),
            **{f"synthetic_{m}": fits[m]["path"] for m in METHODS},
        }
    )
    wt = pd.DataFrame(
        {
            "unit": case.donors,
            "weight_sc": fits["sc"]["weights"].to_numpy(),
            "weight_sc_fw": fits["sc_fw"]["weights"].to_numpy(),
            "weight_sdid": fits["sdid"]["weights"].to_numpy(),
        }
    )
    wt = wt.sort_values(["weight_sc", "weight_sdid"], ascending=False).reset_index(drop=True)
    fit = pd.DataFrame(
        [
            {
                "method": m,
                "estimator": METHOD_NAMES[m],
                "pre_rmspe": fits[m]["pre_rmspe"],
                "post_rmspe": fits[m]["post_rmspe"],
                "ratio": fits[m]["ratio"],
            }
            for m in METHODS
        ]
    )
    pl = placebo_in_space(case, METHODS, max_placebos, sdid_placebos, seed) if placebos else None
    pv = placebo_p_values(pl) if pl is not None else None
    info = {
        "treated_unit": treated_unit,
        "event": event,
        "window_pre": window[0],
        "window_post": window[1],
        "first_period": lo,
        "last_period": hi,
        "n_donors": case.N0,
        "donor_rule": donor_rule,
        "donor_rule_text": rule,
    }
    rows = [_tidy_row(m, fits[m], pv, case, info) for m in METHODS]
    return {
        "tidy": pd.DataFrame(rows),
        "weights": wt,
        "paths": paths,
        "placebos": pl,
        "p_values": pv,
        "fit": fit,
        "rule": rule,
        "excluded": excluded,
        "donor_status": status,
        "thin": thin,
        "case": case,
        "fits": fits,
    }


def _tidy_row(m: str, fit: dict, pv: pd.DataFrame | None, case: Case, info: dict) -> dict:
    """The tidy row of one method: estimate, placebo SD and rank p-value, pre-period RMSPE, the case's settings."""
    se = p = np.nan
    ratio_p = m in ("sc", "sc_fw")
    if pv is not None:
        r = pv.set_index("method").loc[m]
        se = r["placebo_sd"]
        p = r["p_ratio"] if ratio_p else r["p_abs_estimate"]
    est = fit["estimate"]
    return {
        "term": "att_post",
        "estimate": est,
        "std_error": se,
        "statistic": est / se if se and np.isfinite(se) else np.nan,
        "p_value": p,
        "conf_low": est - 1.96 * se,
        "conf_high": est + 1.96 * se,
        "n_obs": int(case.Y.size),
        "n_units": len(case.Y),
        "estimator": METHOD_NAMES[m],
        "se_type": "SD of placebo-in-space estimates; p: placebo rank "
        + ("(post/pre RMSPE ratio)" if ratio_p else "(|estimate|)"),
        "pre_rmspe": fit["pre_rmspe"],
        **info,
    }


def case_long(case: Case) -> pd.DataFrame:
    """The case matrix as a long frame ``unit, time, y, treated_post`` (1 for the treated unit from the event on).

    With unit and time fixed effects, the coefficient of ``treated_post`` in ``y ~ treated_post | unit + time``
    on this balanced sample equals :func:`did_2x2`'s estimate.
    """
    Y = case.Y
    units = np.repeat(np.asarray(Y.index, dtype=object), Y.shape[1])
    times = np.tile(np.asarray(Y.columns), Y.shape[0])
    out = pd.DataFrame({"unit": units, "time": times, "y": Y.to_numpy().ravel()})
    out["treated_post"] = ((out["unit"] == case.treated) & (out["time"] >= case.event)).astype(float)
    return out


WILD_ONE_TREATED_NOTE = (
    "one treated cluster: the wild cluster bootstrap is known to be unreliable here "
    "(MacKinnon and Webb 2017, 2018); read the donor-permutation p-value instead"
)


def did_wild_bootstrap(
    case: Case, B: int = 999, weights: str = "rademacher", seed: int = 20240607
) -> pd.DataFrame:
    """Plain DiD as ``y ~ treated_post | unit + time`` on the case sample, with a wild cluster bootstrap
    (null imposed, clusters = units) p-value (:func:`helpers.inference.wild_cluster_bootstrap`).

    Returns one tidy row (term ``treated_post``, estimator ``did_2x2``, ``inference`` describing the method,
    ``p_value_crv1`` = the CR1 t-test p-value with G-1 degrees of freedom, ``n_treated_clusters`` = 1 and
    ``caveat``). With a single treated cluster the restricted wild bootstrap
    cannot mimic the treated cluster's score, and its p-value is close to 0.5 whatever the data (MacKinnon and
    Webb 2017, "Wild bootstrap inference for wildly different cluster sizes", J. Applied Econometrics
    32(2); 2018, "The wild bootstrap for few (treated) clusters", Econometrics Journal 21(2)). See
    :func:`did_wild_placebo_check` for an empirical demonstration on the same data.
    """
    from helpers.estimate.inference import wild_cluster_bootstrap

    r = wild_cluster_bootstrap(
        case_long(case),
        "y",
        "treated_post",
        fe=["unit", "time"],
        cluster="unit",
        B=B,
        weights=weights,
        seed=seed,
    )
    from scipy import stats

    G = int(r["n_units"].iloc[0])
    r = r.assign(
        estimator="did_2x2",
        n_treated_clusters=1,
        p_value_crv1=2 * stats.t.sf(np.abs(r["statistic"].to_numpy(float)), df=G - 1),
        caveat=WILD_ONE_TREATED_NOTE,
    )
    return r


def did_wild_placebo_check(
    case: Case,
    B: int = 199,
    weights: str = "rademacher",
    seed: int = 20240607,
    max_placebos: int | None = None,
) -> pd.DataFrame:
    """Empirical size of two DiD tests with one treated cluster: each donor in turn is the pseudo-treated unit
    (the real treated unit left out), and the plain DiD is tested with the wild cluster bootstrap and with the
    CR1 t-test (t distribution with G-1 degrees of freedom).

    None of the donors changed treatment status in the window, so a valid 5% test should reject for about 5%
    of them. Returns one row per donor: ``unit, estimate, statistic, p_wild, p_crv1``. ``max_placebos`` caps
    the donors used (first ones in sorted order).
    """
    from scipy import stats

    from helpers.estimate.inference import wild_cluster_bootstrap

    if len(case.donors) < 3:
        raise EmptySampleError("the placebo check needs at least 3 donors")
    donors = case.donors[:max_placebos] if max_placebos else case.donors
    Yd = case.Y.iloc[:-1]
    rows = []
    for k, d in enumerate(donors):
        pc = Case(pd.concat([Yd.drop(index=d), Yd.loc[[d]]]), d, case.event, case.T0)
        r = wild_cluster_bootstrap(
            case_long(pc),
            "y",
            "treated_post",
            fe=["unit", "time"],
            cluster="unit",
            B=B,
            weights=weights,
            seed=seed + k,
        ).iloc[0]
        G = int(r["n_units"])
        rows.append(
            {
                "unit": d,
                "estimate": float(r["estimate"]),
                "statistic": float(r["statistic"]),
                "p_wild": float(r["p_value"]),
                "p_crv1": float(2 * stats.t.sf(abs(r["statistic"]), df=G - 1)),
            }
        )
    return pd.DataFrame(rows)


def treaty_timeline(rat: pd.DataFrame, unit_value: str, unit_col: str = "iso3") -> pd.DataFrame:
    """One country's treaty acts across instruments from the ratification table, one row per act.

    ``rat`` has columns iso3, treaty, signature_date, ratification_date, act_type, denounced_date (the project's
    ``ratifications.parquet``). Returns rows (treaty, event, date, year, act_type) with event in
    {"signature", act type (ratification/accession/succession/...), "denunciation"}, sorted by date.
    ``act_type`` is filled only on the ratification/accession/succession row (NA on signature and denunciation
    rows, which are not acts of that type).
    """
    need = [unit_col, "treaty", "signature_date", "ratification_date", "act_type", "denounced_date"]
    miss = [c for c in need if c not in rat.columns]
    if miss:
        raise DataError(f"ratification table lacks columns {miss}; expected {need}")
    r = rat[rat[unit_col] == unit_value]
    rows = []
    for _, x in r.iterrows():
        act = str(x["act_type"]) if pd.notna(x["act_type"]) else "ratification"
        for col, ev in (
            ("signature_date", "signature"),
            ("ratification_date", None),
            ("denounced_date", "denunciation"),
        ):
            v = x[col]
            if pd.notna(v):
                d = pd.Timestamp(v)
                rows.append(
                    {
                        "treaty": x["treaty"],
                        "event": ev or act,
                        "date": d,
                        "year": d.year,
                        "act_type": act if ev is None else pd.NA,
                    }
                )
    out = pd.DataFrame(rows, columns=["treaty", "event", "date", "year", "act_type"])
    out["act_type"] = out["act_type"].astype("string")
    return out.sort_values(["date", "treaty", "event"]).reset_index(drop=True)


def timeline_events(
    rat: pd.DataFrame,
    unit_value: str,
    first: str | None = None,
    unit_col: str = "iso3",
    instruments: list[str] | None = None,
) -> pd.DataFrame:
    """One row per instrument for :func:`helpers.plots.country_timeline`: ``treaty, instrument`` (short name,
    e.g. "CEDAW"), ``signature_date, ratification_date, act_type, denounced_date``.

    Order: ``first`` (the case's treaty, whose act the timeline marks with a dashed line) on top, then the
    instruments with an act in date order of their first act, then those without any act (in the order of
    ``instruments``, default every key of :data:`helpers.treaties.TREATIES`, listed so that non-participation
    shows too).
    """
    from helpers.data.treaties import TREATIES

    need = [unit_col, "treaty", "signature_date", "ratification_date", "act_type", "denounced_date"]
    miss = [c for c in need if c not in rat.columns]
    if miss:
        raise DataError(f"ratification table lacks columns {miss}; expected {need}")
    keys = list(instruments or TREATIES)
    if first is not None:
        check_choice("treaty", first, keys)
    r = rat.loc[rat[unit_col] == unit_value, need[1:]].drop_duplicates("treaty")
    ev = pd.DataFrame({"treaty": keys}).merge(r, on="treaty", how="left")
    ev["instrument"] = ev["treaty"].map(lambda t: TREATIES[t].short if t in TREATIES else str(t))
    ev["_first"] = ev[["signature_date", "ratification_date"]].min(axis=1)
    ev["_top"] = (ev["treaty"] != first).astype(int)
    ev["_pos"] = np.arange(len(ev))
    ev = ev.sort_values(["_top", "_first", "_pos"], na_position="last", kind="stable")
    cols = ["treaty", "instrument", "signature_date", "ratification_date", "act_type", "denounced_date"]
    return ev[cols].reset_index(drop=True)
