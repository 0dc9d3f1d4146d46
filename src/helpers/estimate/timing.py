"""Ratification timing (the Cole 2005 strand): risk sets, Kaplan-Meier curves and discrete-time hazard models.

* :func:`at_risk_set` turns the country-year panel into country-years *at risk* of ratifying a treaty: from the
  year the treaty was adopted (or the country's first panel year, or ``start_year``, whichever is latest) up to
  and including the year of its first ratification/accession/succession (``event = 1`` in that year), after
  which the country leaves the risk set; countries that never act are right-censored at the last year. Countries
  that were already parties when their observation starts are left out (counted in ``attrs["already_parties"]``).
  Covariates are lagged one calendar year within country: ``ln_gdppc``, ``v2x_polyarchy``, ``v2xcs_ccsi``,
  ``region_density`` (share of the region's other states already parties), ``n_other_ratified`` (how many of the
  other 17 instruments the state had ratified), and more (:data:`HAZARD_COVARIATES`). The baseline hazard is
  ``ln_duration`` (log years at risk), a cubic in duration (Carter & Signorino 2010) or none.
* :func:`kaplan_meier` gives Kaplan-Meier estimates (statsmodels ``SurvfuncRight``) of the share still not party
  by years since entry, overall or by region / regime type at entry; :func:`km_figure` draws them.
* :func:`hazard_model` fits a discrete-time hazard (statsmodels GLM, binomial with logit or complementary
  log-log link, country-clustered CR1 sandwich) and returns a :class:`helpers.models.FitResult`;
  :func:`odds_ratios` turns it into an odds-ratio (logit) or hazard-ratio (cloglog) table; :func:`ratio_figure`
  draws it.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from helpers.core.errors import ParameterError
from helpers.core.params import check_choice, check_choices
from helpers.data.variables import add_term_labels
from helpers.estimate import models as M

HAZARD_COVARIATES = [
    "ln_gdppc",
    "v2x_polyarchy",
    "v2xcs_ccsi",
    "region_density",
    "n_other_ratified",
    "ln_pop",
    "polity2",
    "ucdp_conflict",
    "signed",
]
DEFAULT_COVARIATES = ["ln_gdppc", "v2x_polyarchy", "v2xcs_ccsi", "region_density", "n_other_ratified"]
BASELINES = ["ln_duration", "cubic", "none"]
#: labels of the hazard-model terms made here that are not panel columns (panel columns: the variable registry)
TERM_LABELS: dict[str, str] = {
    "n_other_ratified": "Other instruments ratified (count)",
    "signed": "Signed",
    "ln_duration": "ln years at risk",
    "duration_1": "Years at risk / 10",
    "duration_2": "(Years at risk / 10)²",
    "duration_3": "(Years at risk / 10)³",
    "const": "Constant",
}
add_term_labels(TERM_LABELS)
LINKS = ["logit", "cloglog"]
KM_GROUPS = ["none", "region", "regime"]
REGIME_LABELS = {
    0: "Closed autocracy",
    1: "Electoral autocracy",
    2: "Electoral democracy",
    3: "Liberal democracy",
}


def adoption_year(treaty: str, panel: pd.DataFrame | None = None) -> int:
    """Year the treaty was adopted by the UN General Assembly (helpers.treaties). ``panel`` is accepted for
    backwards compatibility and not used."""
    check_choice("treaty", treaty, M.TREATIES)
    from helpers.data.treaties import TREATIES as INFO

    return int(INFO[treaty].adopted.year)


def at_risk_set(
    panel: pd.DataFrame,
    treaty: str = "cedaw",
    covariates: Sequence[str] | None = None,
    start_year: int | None = None,
    end_year: int | None = None,
    lag: int = 1,
    baseline: str = "ln_duration",
) -> pd.DataFrame:
    """Country-years at risk of ratifying ``treaty`` with lagged covariates (see the module docstring).

    Columns: iso3, year, region, entry_year, duration (1 in the entry year), event (0/1), the covariates,
    the baseline terms. ``attrs`` records the adoption year and the countries left out.
    """
    check_choice("treaty", treaty, M.TREATIES)
    covariates = list(
        DEFAULT_COVARIATES
        if covariates is None
        else check_choices("covariates", covariates, HAZARD_COVARIATES)
    )
    check_choice("baseline", baseline, BASELINES)
    if not isinstance(lag, (int, np.integer)) or not 0 <= lag <= 5:
        raise ParameterError("lag", lag, list(range(6)))
    need = ["iso3", "year", f"{treaty}_year", f"{treaty}_ratified"]
    missing = [c for c in need if c not in panel.columns]
    if missing:
        raise ParameterError("treaty", treaty, hint=f"panel lacks column(s) {missing}")
    p = panel.sort_values(["iso3", "year"]).reset_index(drop=True)
    adopted = adoption_year(treaty, p)
    first_obs = p.groupby("iso3")["year"].transform("min")
    entry = np.maximum(first_obs.to_numpy(), adopted)
    if start_year is not None:
        entry = np.maximum(entry, int(start_year))
    act = pd.to_numeric(p[f"{treaty}_year"], errors="coerce").to_numpy(dtype=float)
    year = p["year"].to_numpy()

    lagged = _lagged_covariates(p, treaty, covariates, lag)

    already = (~np.isnan(act)) & (act < entry)
    at_risk = (year >= entry) & ~already & (np.isnan(act) | (year <= act))
    if end_year is not None:
        at_risk &= year <= int(end_year)
    out = pd.DataFrame(
        {
            "iso3": p["iso3"].astype(str).to_numpy(),
            "year": year,
            "region": p["region"].astype("string").to_numpy() if "region" in p else pd.NA,
            "entry_year": entry,
            "duration": year - entry + 1,
            "event": ((~np.isnan(act)) & (year == act)).astype(int),
        }
    )
    out["regime"] = regime_labels(p)
    for c in covariates:
        out[c] = lagged[c].to_numpy()
    out = out[at_risk].reset_index(drop=True)
    _add_baseline_terms(out, baseline)
    out.attrs.update(
        {
            "treaty": treaty,
            "adopted": adopted,
            "covariates": covariates,
            "baseline": baseline,
            "already_parties": sorted(p.loc[already, "iso3"].astype(str).unique()),
            "lag": lag,
        }
    )
    return out


def _lagged_covariates(p: pd.DataFrame, treaty: str, covariates: list[str], lag: int) -> pd.DataFrame:
    """The hazard covariates, lagged within country by calendar year (treaty-specific ones read from the
    treaty's columns; ``n_other_ratified`` counts the other instruments ratified)."""
    raw_cols, rename = [], {}
    for c in covariates:
        if c == "n_other_ratified":
            continue
        src = {"region_density": f"{treaty}_region_density", "signed": f"{treaty}_signed"}.get(c, c)
        if src not in p.columns:
            raise ParameterError("covariates", c, hint=f"panel lacks column {src!r}")
        raw_cols.append(src)
        rename[src] = c
    lagged = M.lag_within(p, raw_cols, lag).rename(columns=rename)
    if "n_other_ratified" in covariates:
        others = [f"{t}_ratified" for t in M.TREATIES if t != treaty and f"{t}_ratified" in p.columns]
        cnt = p[["iso3", "year"]].assign(n_other_ratified=p[others].astype(float).sum(axis=1))
        lagged["n_other_ratified"] = M.lag_within(cnt, ["n_other_ratified"], lag)[
            "n_other_ratified"
        ].to_numpy()
    return lagged


def _add_baseline_terms(out: pd.DataFrame, baseline: str) -> None:
    """The baseline-hazard terms of the duration (in place): its log, or a cubic in duration / 10."""
    if baseline == "ln_duration":
        out["ln_duration"] = np.log(out["duration"].astype(float))
    elif baseline == "cubic":
        t = out["duration"].astype(float)
        out["duration_1"], out["duration_2"], out["duration_3"] = t / 10, (t / 10) ** 2, (t / 10) ** 3


def baseline_terms(baseline: str) -> list[str]:
    """Column names of a baseline-hazard specification."""
    check_choice("baseline", baseline, BASELINES)
    return {"ln_duration": ["ln_duration"], "cubic": ["duration_1", "duration_2", "duration_3"], "none": []}[
        baseline
    ]


def spells(risk: pd.DataFrame) -> pd.DataFrame:
    """One row per country: entry year, years observed at risk (``duration``), event (1 = joined), region, regime."""
    g = risk.sort_values(["iso3", "year"]).groupby("iso3", sort=True)
    out = g.agg(
        entry_year=("entry_year", "first"),
        duration=("duration", "max"),
        event=("event", "max"),
        region=("region", "first"),
    )
    if "regime" in risk.columns and risk["regime"].ne("unknown").any():
        out["regime"] = g["regime"].first()
    return out.reset_index()


def regime_labels(panel: pd.DataFrame) -> np.ndarray:
    """Regime type per row: V-Dem ``v2x_regime`` (four types) if present, else ``v2x_polyarchy`` split at 0.5."""
    if "v2x_regime" in panel.columns:
        v = M.as_float(panel["v2x_regime"])
        return np.array(
            [REGIME_LABELS.get(int(x), "unknown") if np.isfinite(x) else "unknown" for x in v], dtype=object
        )
    if "v2x_polyarchy" in panel.columns:
        v = M.as_float(panel["v2x_polyarchy"])
        return np.where(
            np.isnan(v),
            "unknown",
            np.where(v >= 0.5, "Democracy (polyarchy >= 0.5)", "Autocracy (polyarchy < 0.5)"),
        ).astype(object)
    return np.full(len(panel), "unknown", dtype=object)


def kaplan_meier(risk: pd.DataFrame, by: str = "none", level: float = 0.95) -> pd.DataFrame:
    """Kaplan-Meier share not yet party by years since entry (statsmodels SurvfuncRight), by group.

    ``by``: ``none``, ``region`` or ``regime`` (V-Dem regime type in the entry year; :func:`regime_labels`). Returns group, time,
    n_at_risk, n_events, survival, conf_low, conf_high, share_ratified (= 1 - survival), with a row at time 0.
    """
    from statsmodels.duration.survfunc import SurvfuncRight

    check_choice("by", by, KM_GROUPS)
    sp = spells(risk)
    if by == "regime" and "regime" not in sp:
        raise ParameterError(
            "by", by, ["none", "region"], hint="the panel has neither v2x_regime nor v2x_polyarchy"
        )
    groups = [("all", sp)] if by == "none" else list(sp.groupby(by, sort=True))
    rows = []
    z = stats.norm.ppf(0.5 + level / 2)
    for key, g in groups:
        g = g.dropna(subset=["duration"])
        if len(g) == 0:
            continue
        sf = SurvfuncRight(g["duration"].to_numpy(float), g["event"].to_numpy(float))
        s, se = np.asarray(sf.surv_prob), np.asarray(sf.surv_prob_se)
        # log-log interval as in statsmodels' simultaneous_cb default transform (pointwise here)
        with np.errstate(divide="ignore", invalid="ignore"):
            ll = np.log(-np.log(s))
            half = z * se / (s * np.abs(np.log(s)))
            lo, hi = np.exp(-np.exp(ll + half)), np.exp(-np.exp(ll - half))
        lo = np.where(np.isfinite(lo), lo, s)
        hi = np.where(np.isfinite(hi), hi, s)
        head = pd.DataFrame(
            {
                "group": [str(key)],
                "time": [0.0],
                "n_at_risk": [len(g)],
                "n_events": [0],
                "survival": [1.0],
                "conf_low": [1.0],
                "conf_high": [1.0],
            }
        )
        body = pd.DataFrame(
            {
                "group": str(key),
                "time": np.asarray(sf.surv_times, float),
                "n_at_risk": np.asarray(sf.n_risk, int),
                "n_events": np.asarray(sf.n_events, int),
                "survival": s,
                "conf_low": lo,
                "conf_high": hi,
            }
        )
        rows += [head, body]
    out = pd.concat(rows, ignore_index=True)
    out["share_ratified"] = 1 - out["survival"]
    out.attrs["n_countries"] = {str(k): len(g) for k, g in groups}
    return out


def hazard_model(
    risk: pd.DataFrame,
    covariates: Sequence[str] | None = None,
    link: str = "logit",
    baseline: str | None = None,
    level: float = 0.95,
) -> M.FitResult:
    """Discrete-time hazard of ratification on the risk set (GLM binomial, logit or cloglog; clustered by country).

    Returns a FitResult (estimator ``hazard_logit`` / ``hazard_cloglog``, SE ``CR1``: statsmodels' cluster
    sandwich with G/(G-1)(N-1)/(N-K); z-based inference). Too few events or countries: ``skipped`` is set.
    """
    import statsmodels.api as sm

    check_choice("link", link, LINKS)
    covariates = list(
        risk.attrs.get("covariates", DEFAULT_COVARIATES)
        if covariates is None
        else check_choices("covariates", covariates, HAZARD_COVARIATES)
    )
    baseline = baseline or risk.attrs.get("baseline", "ln_duration")
    base_cols = baseline_terms(baseline)
    missing = [c for c in covariates + base_cols if c not in risk.columns]
    if missing:
        raise ParameterError(
            "covariates", missing, list(risk.columns), hint="not in the risk set; rebuild it"
        )
    terms = covariates + base_cols
    d = risk.dropna(subset=terms + ["event"]).reset_index(drop=True)
    treaty = risk.attrs.get("treaty", "")
    yrs = (int(d["year"].min()), int(d["year"].max())) if len(d) else None
    base = {
        "model": f"{treaty}:ratification:{link}",
        "outcome": "ratification (event)",
        "treaty": treaty,
        "estimator": f"hazard_{link}",
        "coding": "first act",
        "controls": "+".join(covariates) or "none",
        "lag": int(risk.attrs.get("lag", 1)),
        "years": yrs,
        "focal_term": "const",
        "terms": ["const", *terms],
        "se_type": "CR1",
        "fixed_effects": [],
    }
    n_ev = int(d["event"].sum()) if len(d) else 0
    reason = None
    if len(d) == 0:
        reason = "empty sample"
    elif n_ev < len(terms) + 2:
        reason = f"too few events ({n_ev}) for {len(terms) + 1} parameters"
    elif d["iso3"].nunique() < 2:
        reason = "fewer than 2 countries"
    if reason:
        return M.FitResult(
            coefs=pd.DataFrame(columns=M.COEF_COLUMNS),
            n_obs=len(d),
            n_units=int(d["iso3"].nunique()) if len(d) else 0,
            r2_within=np.nan,
            skipped=reason,
            **base,
        )
    X = sm.add_constant(d[terms].astype(float), has_constant="add")
    fam = sm.families.Binomial(
        link=sm.families.links.Logit() if link == "logit" else sm.families.links.CLogLog()
    )
    groups = pd.factorize(d["iso3"])[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sm.GLM(d["event"].astype(float), X, family=fam).fit(
            cov_type="cluster", cov_kwds={"groups": groups}
        )
    coefs = M.coef_frame(list(X.columns), res.params.to_numpy(), res.bse.to_numpy(), None, level)
    notes = [
        (
            f"Discrete-time hazard ({link} link) of the first ratification/accession/succession on country-years "
            f"at risk; {n_ev} events among {d['iso3'].nunique()} countries; baseline hazard: {baseline}."
        ),
        (
            "Covariates lagged one year; region_density = share of the region's other states already parties; "
            "n_other_ratified = number of the other 17 instruments ratified."
        ),
    ]
    if risk.attrs.get("already_parties"):
        notes.append(
            f"{len(risk.attrs['already_parties'])} countries were already parties when first observed "
            f"and are not in the risk set."
        )
    llnull = float(res.llnull)
    return M.FitResult(
        coefs=coefs,
        n_obs=int(res.nobs),
        n_units=int(d["iso3"].nunique()),
        r2_within=np.nan,
        notes=notes,
        stats={"pseudo_r2": 1 - float(res.llf) / llnull, "llf": float(res.llf), "events": n_ev},
        **base,
    )


def odds_ratios(result: M.FitResult) -> pd.DataFrame:
    """exp(coefficient) with its CI (constant dropped): ``ratio_type`` is "odds ratio" for the logit, "hazard ratio"
    for the cloglog. Columns: term, ratio, conf_low, conf_high, p_value, link, ratio_type."""
    kind = "hazard ratio" if result.estimator.endswith("cloglog") else "odds ratio"
    c = result.coefs[result.coefs["term"] != "const"]
    return pd.DataFrame(
        {
            "term": c["term"].to_numpy(),
            "ratio": np.exp(c["estimate"].to_numpy(float)),
            "conf_low": np.exp(c["conf_low"].to_numpy(float)),
            "conf_high": np.exp(c["conf_high"].to_numpy(float)),
            "p_value": c["p_value"].to_numpy(float),
            "link": result.estimator.replace("hazard_", ""),
            "ratio_type": kind,
        }
    )
