"""Claims about the implementation gap, each tested on the panel with a stated design and judged by one rule.

The claims live in a reviewed, tracked table, ``data/reference/claims.csv`` (:func:`load_claims`; one row per claim:
``id``, a short ``label``, the ``claim`` in one sentence, the ``measure`` (panel columns; ``practice`` stands for the notebook's
practice outcome), the ``factor`` (a moderator column or the column of a later event), the ``design``
(:data:`DESIGNS`), the subgroup ``split`` (:data:`SPLITS`), the ``sample`` (:data:`SAMPLES`), the
``expected_sign``, the ``test`` in words, the ``source`` in the literature, a ``confidence`` flag and a ``note``).

Every design is heterogeneity-robust: Callaway-Sant'Anna (:func:`helpers.estimate.did.callaway_santanna`,
not-yet-treated controls by default, varying base period, analytic influence-function standard errors clustered by
country, cells with fewer than ``min_controls`` comparison units skipped), on sovereign country-years, with the
outcome in standard deviations (its SD over the sovereign country-years of the window) so that claims about
different measures share one axis. The estimate is the average of the post-adoption cells up to the window's end
(R ``did``'s "simple" aggregation with ``max_e``); the pre-trend diagnostic is the joint Wald test of the
pre-period event-study coefficients inside the window (:func:`helpers.estimate.did.pretrend_test`).

- ``cs_att``: the treaty's first ratification on the measure.
- ``cs_gap``: early effect (event times 0 to ``EARLY_YEARS - 1``) on the first measure minus that on the second,
  on the same countries and years; its variance from the two estimates' influence functions. Pre-trend p: the
  smaller of the two tests' p-values, Bonferroni-adjusted (times 2, at most 1).
- ``cs_subgroup``: the ATT in the countries "high" on the factor minus the ATT in the others (disjoint groups, so
  the variance is the sum). High: baseline above the median of the countries' baselines (``median``; baseline =
  the country's mean of the factor in the window's years before its ratification, or over all its years when none
  precedes it), or ever 1 in the window (``ever``). Pre-trend p: Bonferroni over the two groups, as above.
- ``cs_event``: a later event (the factor column holds its year) on the measure, in the ``sample``.

:func:`verdict` applies :data:`VERDICT_RULE` (printed by the notebook) to the numbers; :func:`verdict_sentence`
writes the sentence. :func:`positions` places one country (Pakistan in notebook 07) on every factor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from helpers.core import paths
from helpers.core.errors import DataError, EmptySampleError, HelpersError, ParameterError
from helpers.estimate import did

CLAIMS_CSV = paths.REFERENCE / "claims.csv"
COLUMNS = (
    "id",
    "label",
    "claim",
    "measure",
    "factor",
    "design",
    "split",
    "sample",
    "expected_sign",
    "test",
    "source",
    "confidence",
    "note",
)
DESIGNS = {
    "cs_att": "Callaway-Sant'Anna ATT of ratification",
    "cs_gap": "difference of Callaway-Sant'Anna early effects (influence-function covariance)",
    "cs_subgroup": "difference of Callaway-Sant'Anna ATTs between disjoint subgroups",
    "cs_event": "Callaway-Sant'Anna ATT of a later event",
}
SPLITS = ("median", "ever")
SAMPLES = ("all", "parties", "reserving")
SIGNS = ("+", "-")
CONFIDENCE = ("high", "medium", "low")
VERDICTS = ("supported", "contradicted", "inconclusive")
#: the token of ``measure`` that stands for the notebook's practice outcome
PRACTICE = "practice"
#: event times averaged by the early effects of ``cs_gap`` (0 .. EARLY_YEARS - 1)
EARLY_YEARS = 5
#: the pre-trend test must not reject at this level for a supported or contradicted verdict
PRETREND_ALPHA = 0.10
#: derived columns (:func:`prepare`): a core reservation held, and the year the last one was withdrawn
CORE_RESERVATION = "cedaw_res_core"
WITHDRAWAL_YEAR = "cedaw_res_withdrawal_year"
CORE_COLUMNS = ("cedaw_res_general", "cedaw_res_art2", "cedaw_res_art16")
INCOME_ORDER = {"L": 1, "LM": 2, "UM": 3, "H": 4}

VERDICT_RULE = (
    "Verdict rule: SUPPORTED when the 95% confidence interval excludes 0 on the side of the expected sign and the "
    f"pre-trend test does not reject at the {PRETREND_ALPHA:.0%} level (p >= {PRETREND_ALPHA:.2f}); CONTRADICTED "
    "when the interval excludes 0 on the opposite side and the pre-trend test does not reject; INCONCLUSIVE "
    "otherwise (the interval includes 0, the pre-trend test rejects, or the claim could not be estimated)."
)


class ClaimsError(HelpersError):
    """The claims table is malformed (the message names the file, the row and the column)."""


# --------------------------------------------------------------------------------------------------------------
# the table
# --------------------------------------------------------------------------------------------------------------
def _check_value(path: Path, line: int, rec: pd.Series, col: str, valid: Sequence[str], blank: bool) -> None:
    value = rec[col]
    if blank and value == "":
        return
    if value not in valid:
        raise ClaimsError(
            f"{path}, row {line} ({rec['id'] or 'no id'}), column {col!r}: {value!r} is not valid; valid values: "
            f"{', '.join(valid)}{' or empty' if blank else ''}"
        )


def load_claims(path: Path | str | None = None) -> pd.DataFrame:
    """Read and validate the claims table (default ``data/reference/claims.csv``)."""
    path = Path(path) if path else CLAIMS_CSV
    if not path.is_file():
        raise ClaimsError(f"{path}: claims table not found")
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise ClaimsError(f"{path}: missing column(s) {missing}; the table needs {', '.join(COLUMNS)}")
    for i, rec in df.iterrows():
        line = int(i) + 2
        for col in ("id", "label", "claim", "measure", "design", "test", "source"):
            if not rec[col].strip():
                raise ClaimsError(f"{path}, row {line} ({rec['id'] or 'no id'}): column {col!r} is empty")
        _check_value(path, line, rec, "design", list(DESIGNS), blank=False)
        _check_value(path, line, rec, "expected_sign", SIGNS, blank=False)
        _check_value(path, line, rec, "confidence", CONFIDENCE, blank=False)
        _check_value(path, line, rec, "sample", SAMPLES, blank=False)
        _check_value(path, line, rec, "split", SPLITS, blank=rec["design"] != "cs_subgroup")
        if rec["design"] in ("cs_subgroup", "cs_event") and not rec["factor"]:
            raise ClaimsError(
                f"{path}, row {line} ({rec['id']}): design {rec['design']} needs a 'factor' column"
            )
        if rec["design"] == "cs_gap" and len(rec["measure"].split(";")) != 2:
            raise ClaimsError(f"{path}, row {line} ({rec['id']}): design cs_gap needs two measures 'a;b'")
    dup = df["id"][df["id"].duplicated()].tolist()
    if dup:
        raise ClaimsError(f"{path}: duplicated claim id(s) {dup}")
    return df


# --------------------------------------------------------------------------------------------------------------
# the verdict rule
# --------------------------------------------------------------------------------------------------------------
def verdict(
    conf_low: float, conf_high: float, expected_sign: str, pretrend_p: float, alpha: float = PRETREND_ALPHA
) -> str:
    """:data:`VERDICT_RULE` applied to one claim's interval and pre-trend p-value."""
    if expected_sign not in SIGNS:
        raise ParameterError("expected_sign", expected_sign, list(SIGNS))
    if not all(np.isfinite([conf_low, conf_high, pretrend_p])) or pretrend_p < alpha:
        return "inconclusive"
    if conf_low > 0:
        side = "+"
    elif conf_high < 0:
        side = "-"
    else:
        return "inconclusive"
    return "supported" if side == expected_sign else "contradicted"


def _why(row: pd.Series | dict, alpha: float) -> str:
    lo, hi, pre = row["conf_low"], row["conf_high"], row["pretrend_p"]
    if not np.isfinite(lo):
        return f"it could not be estimated ({row.get('skipped') or 'no estimate'})"
    excl = lo > 0 or hi < 0
    parts = [f"the 95% interval {'excludes' if excl else 'includes'} 0"]
    if not np.isfinite(pre):
        parts.append("there is no pre-trend test")
    elif pre < alpha:
        parts.append(f"the pre-trend test rejects at {alpha:.0%} (p = {pre:.3f})")
    else:
        parts.append(f"the pre-trend test does not reject (p = {pre:.3f})")
    return " and ".join(parts)


def verdict_sentence(row: pd.Series | dict, alpha: float = PRETREND_ALPHA) -> str:
    """One generated sentence: the claim's verdict, its estimate and interval, and why (from the numbers)."""
    v = row["verdict"]
    head = f"{row.get('label') or row['id']}: {v}"
    if not np.isfinite(row["estimate"]):
        return f"{head}, because {_why(row, alpha)}."
    sign = "expected sign " + row["expected_sign"]
    return (
        f"{head} ({sign}): {row['estimate']:+.3f} SD, 95% CI [{row['conf_low']:+.3f}, {row['conf_high']:+.3f}]; "
        f"{_why(row, alpha)}."
    )


# --------------------------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------------------------
@dataclass
class Settings:
    """The sample and estimator choices shared by every claim (notebook 07's parameters)."""

    outcome: str = "v2x_gender"
    treaty: str = "cedaw"
    years: tuple[int, int] | None = (1970, 2023)
    event_window: tuple[int, int] = (-10, 15)
    min_controls: int = 10
    control_group: str = "notyettreated"
    sovereign_only: bool | None = None
    alpha: float = 0.05
    unit: str = "iso3"
    time: str = "year"

    def measures(self, claim: pd.Series | dict) -> list[str]:
        return [self.outcome if m.strip() == PRACTICE else m.strip() for m in claim["measure"].split(";")]


def prepare(panel: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """Sovereign country-years in the window, the treaty cohort, and the derived reservation columns
    (:data:`CORE_RESERVATION`: a general, Art. 2 or Art. 16 reservation held that year; :data:`WITHDRAWAL_YEAR`:
    the first year without one after holding one, NaN if never withdrawn)."""
    s = settings
    data, _ = did.keep_sovereign(panel, s.sovereign_only)
    if s.years is not None:
        data = data[data[s.time].between(*s.years)]
    data = did.cohort_from_treaty(data, s.treaty, unit_col=s.unit, out_col="cohort").copy()
    have = [c for c in CORE_COLUMNS if c in data.columns]
    if have:
        data[CORE_RESERVATION] = data[have].max(axis=1)
        data = data.sort_values([s.unit, s.time])
        prev = data.groupby(s.unit)[CORE_RESERVATION].shift()
        ends = data[(prev == 1) & (data[CORE_RESERVATION] == 0)].groupby(s.unit)[s.time].min()
        data[WITHDRAWAL_YEAR] = data[s.unit].map(ends).astype(float)
    if "income_group" in data.columns:
        data["income_group"] = data["income_group"].map(INCOME_ORDER).astype(float)
    return data.reset_index(drop=True)


def _standardised(data: pd.DataFrame, col: str) -> pd.Series:
    if col not in data.columns:
        raise ParameterError("measure", col, hint="a column of the panel (see data/reference/claims.csv)")
    y = pd.to_numeric(data[col], errors="coerce")
    sd = float(y.std())
    if not np.isfinite(sd) or sd == 0:
        raise DataError(f"measure {col!r} has no variation in the sample: it cannot be standardised")
    return y / sd


@dataclass
class _CS:
    """One Callaway-Sant'Anna fit: the aggregate, its influence function, the pre-trend p and the sample."""

    estimate: float
    inf: np.ndarray
    se: float
    pretrend_p: float
    n_units: int
    n_obs: int
    n_treated: int
    cs: did.CSResult


def _event_mean(cs: did.CSResult, events: Sequence[int]) -> tuple[float, np.ndarray]:
    """Mean of the dynamic effects at ``events`` and its influence function (public CSResult API)."""
    a = cs.att_gt
    group, e = a["group"].to_numpy(), (a["time"] - a["group"]).to_numpy()
    glist = np.sort(np.unique(group))
    pgg = np.array([np.mean(cs.unit_g == g) for g in glist])
    pg = pgg[np.searchsorted(glist, group)]
    ests, ifs = [], []
    for k in events:
        keep = np.flatnonzero((e == k) & ~a["is_reference"].to_numpy())
        if len(keep):
            est, IF = cs.weighted_att(keep, pg, group)
            ests.append(est)
            ifs.append(IF)
    if not ests:
        raise EmptySampleError(f"no group-time cell at event times {list(events)}")
    return float(np.mean(ests)), np.mean(ifs, axis=0)


def _fit_cs(data: pd.DataFrame, y: str, cohort: str, s: Settings, early: bool = False) -> _CS:
    p = did.prepare_panel(data, s.unit, s.time, y, cohort)
    cs = did.callaway_santanna(
        p, control_group=s.control_group, n_boot=0, alpha=s.alpha, min_controls=s.min_controls
    )
    lo, hi = s.event_window
    if early:
        est, IF = _event_mean(cs, range(EARLY_YEARS))
    else:
        a = cs.att_gt
        group, tt = a["group"].to_numpy(), a["time"].to_numpy()
        keep = np.flatnonzero((group <= tt) & (tt - group <= hi))
        glist = np.sort(np.unique(group))
        pg = np.array([np.mean(cs.unit_g == g) for g in glist])[np.searchsorted(glist, group)]
        est, IF = cs.weighted_att(keep, pg, group)
    dyn = cs.aggregate("dynamic", min_e=lo, max_e=hi)
    es = dyn[dyn["event_time"].notna()].astype({"event_time": int})
    try:
        pre = float(did.pretrend_test(es, cs=cs)["p_value"].iloc[0])
    except EmptySampleError:
        pre = np.nan
    n = cs.n
    treated = int(np.isfinite(cs.unit_g).sum())
    return _CS(est, IF, float(np.sqrt((IF**2).sum()) / n), pre, n, len(p.data), treated, cs)


def _bonferroni(*ps: float) -> float:
    ps = [p for p in ps if np.isfinite(p)]
    return float(min(1.0, len(ps) * min(ps))) if ps else np.nan


def baseline(data: pd.DataFrame, col: str, s: Settings, rule: str = "median") -> pd.Series:
    """Each country's value of ``col`` before it ratified (mean over the window's years before its cohort; over
    all its years when none precedes it) for ``median`` splits, or its maximum in the window for ``ever``."""
    if col not in data.columns:
        raise ParameterError("factor", col, hint="a column of the panel (see data/reference/claims.csv)")
    d = data[[s.unit, s.time, "cohort", col]].copy()
    d[col] = pd.to_numeric(d[col], errors="coerce").astype("float64")
    d = d.dropna(subset=[col])
    if rule == "ever":
        return d.groupby(s.unit)[col].max()
    before = d[~(d[s.time] >= d["cohort"])]
    pre = before.groupby(s.unit)[col].mean()
    return pre.combine_first(d.groupby(s.unit)[col].mean())


def _high(data: pd.DataFrame, col: str, rule: str, s: Settings) -> pd.Series:
    b = baseline(data, col, s, rule)
    return (b >= 1) if rule == "ever" else (b > b.median())


def _sample(data: pd.DataFrame, sample: str, s: Settings) -> pd.DataFrame:
    if sample == "parties":
        return data[data["cohort"].notna()]
    if sample == "reserving":
        if CORE_RESERVATION not in data.columns:
            raise DataError("the panel has no CEDAW reservation columns: the 'reserving' sample is undefined")
        ever = data.groupby(s.unit)[CORE_RESERVATION].transform("max")
        return data[ever == 1]
    return data


def _result(est: float, se: float, pre: float, s: Settings, **extra: Any) -> dict[str, Any]:
    from scipy import stats

    z = stats.norm.ppf(1 - s.alpha / 2)
    p = float(2 * stats.norm.sf(abs(est / se))) if se > 0 else np.nan
    return {
        "estimate": est,
        "std_error": se,
        "conf_low": est - z * se,
        "conf_high": est + z * se,
        "p_value": p,
        "pretrend_p": pre,
        **extra,
    }


def _estimate_gap(data: pd.DataFrame, measures: list[str], s: Settings) -> dict[str, Any]:
    a, b = measures
    d = data.assign(_ya=_standardised(data, a), _yb=_standardised(data, b)).dropna(subset=["_ya", "_yb"])
    fa, fb = _fit_cs(d, "_ya", "cohort", s, early=True), _fit_cs(d, "_yb", "cohort", s, early=True)
    if not np.array_equal(fa.cs.unit_g, fb.cs.unit_g) or fa.inf.shape != fb.inf.shape:
        raise DataError(f"{a} and {b}: the two fits use different countries; the gap needs the same sample")
    diff = fa.inf - fb.inf
    se = float(np.sqrt((diff**2).sum()) / fa.cs.n)
    return _result(
        fa.estimate - fb.estimate,
        se,
        _bonferroni(fa.pretrend_p, fb.pretrend_p),
        s,
        n_units=fa.n_units,
        n_obs=fa.n_obs,
        n_treated=fa.n_treated,
        detail=f"early effect {a} {fa.estimate:+.3f} SD, {b} {fb.estimate:+.3f} SD",
    )


def _estimate_subgroup(data: pd.DataFrame, y: str, claim: pd.Series | dict, s: Settings) -> dict[str, Any]:
    high = _high(data, claim["factor"], claim["split"], s)
    d = data[data[s.unit].isin(high.index)]
    in_high = d[s.unit].map(high).astype(bool)
    fh, fl = _fit_cs(d[in_high], y, "cohort", s), _fit_cs(d[~in_high], y, "cohort", s)
    return _result(
        fh.estimate - fl.estimate,
        float(np.hypot(fh.se, fl.se)),
        _bonferroni(fh.pretrend_p, fl.pretrend_p),
        s,
        n_units=fh.n_units + fl.n_units,
        n_obs=fh.n_obs + fl.n_obs,
        n_treated=fh.n_treated + fl.n_treated,
        detail=f"high {fh.estimate:+.3f} SD ({fh.n_units} countries), low {fl.estimate:+.3f} SD "
        f"({fl.n_units} countries)",
    )


def estimate_claim(data: pd.DataFrame, claim: pd.Series | dict, settings: Settings) -> dict[str, Any]:
    """Estimate one claim on :func:`prepare`'s data; a claim that cannot be estimated gets NaNs and ``skipped``."""
    s = settings
    measures = s.measures(claim)
    d = _sample(data, claim["sample"], s)
    try:
        if claim["design"] == "cs_gap":
            res = _estimate_gap(d, measures, s)
        else:
            d = d.assign(_y=_standardised(d, measures[0])).dropna(subset=["_y"])
            if claim["design"] == "cs_subgroup":
                res = _estimate_subgroup(d, "_y", claim, s)
            else:
                cohort = "cohort" if claim["design"] == "cs_att" else claim["factor"]
                if cohort not in d.columns:
                    raise ParameterError("factor", cohort, hint="a column of the panel holding an event year")
                f = _fit_cs(d, "_y", cohort, s)
                res = _result(
                    f.estimate, f.se, f.pretrend_p, s, n_units=f.n_units, n_obs=f.n_obs, n_treated=f.n_treated
                )
    except (EmptySampleError, DataError) as exc:
        res = dict.fromkeys(
            ("estimate", "std_error", "conf_low", "conf_high", "p_value", "pretrend_p"), np.nan
        )
        res["skipped"] = str(exc).split("\n")[0][:200]
    res.setdefault("skipped", "")
    res.setdefault("detail", "")
    return res


def estimate_claims(
    panel: pd.DataFrame, claims: pd.DataFrame, settings: Settings | None = None
) -> pd.DataFrame:
    """Every claim's estimate, interval, pre-trend p, verdict and verdict sentence (one row per claim)."""
    s = settings or Settings()
    data = prepare(panel, s)
    rows = []
    for _, claim in claims.iterrows():
        res = estimate_claim(data, claim, s)
        row = {
            "id": claim["id"],
            "label": claim["label"],
            "claim": claim["claim"],
            "measure": ", ".join(s.measures(claim)),
            "factor": claim["factor"],
            "design": DESIGNS[claim["design"]],
            "expected_sign": claim["expected_sign"],
            "confidence": claim["confidence"],
            **res,
        }
        row["verdict"] = verdict(row["conf_low"], row["conf_high"], row["expected_sign"], row["pretrend_p"])
        row["sentence"] = verdict_sentence(row)
        rows.append(row)
    out = pd.DataFrame(rows)
    out.attrs["rule"] = VERDICT_RULE
    return out


# --------------------------------------------------------------------------------------------------------------
# one country on every factor
# --------------------------------------------------------------------------------------------------------------
def _position_row(claim: pd.Series | dict, data: pd.DataFrame, unit: str, s: Settings) -> dict[str, Any]:
    design = claim["design"]
    col = claim["factor"] if design in ("cs_subgroup", "cs_event") else s.measures(claim)[0]
    row: dict[str, Any] = {"id": claim["id"], "label": claim["label"], "column": col}
    if design == "cs_event":
        years = pd.to_numeric(data.drop_duplicates(s.unit).set_index(s.unit)[col], errors="coerce").astype(
            "float64"
        )
        v = float(years.get(unit, np.nan))
        row.update(
            value=v,
            percentile=np.nan,
            group="event in the window" if np.isfinite(v) else "no event in the window",
            n_countries=int(years.notna().sum()),
        )
        return row
    rule = claim["split"] or "median"
    if design == "cs_subgroup":  # the countries the split of the estimate sees: those with the measure
        data = data[pd.to_numeric(data[s.measures(claim)[0]], errors="coerce").notna()]
    b = baseline(data, col, s, rule)
    v = float(b.get(unit, np.nan))
    row.update(value=v, n_countries=len(b))
    if not np.isfinite(v):
        row.update(percentile=np.nan, group="no data")
        return row
    row["percentile"] = float(100 * (b < v).mean() + 50 * (b == v).mean())
    if design == "cs_subgroup":
        high = (v >= 1) if rule == "ever" else (v > b.median())
        row["group"] = "high" if high else "low"
    else:
        row["group"] = "pre-ratification mean"
    return row


def positions(
    panel: pd.DataFrame, claims: pd.DataFrame, unit: str, settings: Settings | None = None
) -> pd.DataFrame:
    """Where ``unit`` sits on each claim's factor: its baseline value (as the subgroup split reads it), its
    percentile among the countries of the sample (mid-rank), its subgroup; for events, its event year."""
    s = settings or Settings()
    data = prepare(panel, s)
    if unit not in set(data[s.unit]):
        raise ParameterError(
            "country", unit, hint="not in the sample (sovereign country-years of the window)"
        )
    return pd.DataFrame([_position_row(c, data, unit, s) for _, c in claims.iterrows()])
