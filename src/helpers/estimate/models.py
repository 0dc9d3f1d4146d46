"""Cole-style treaty-effect regressions on the country-year panel, returning one result type.

Every estimator returns a :class:`FitResult` (coefficient table, N, countries, R² within, fixed effects, named
standard-error convention, the run's parameters, notes, a ``skipped`` reason when the specification could not be
estimated, the estimation sample actually used (``sample_info``: first and last year, N, countries, countries
switching treatment, countries dropped and why), marginal effects for moderated models and the Anderson-Rubin set
of a 2SLS). ``FitResult.tidy()`` gives the broom-style table of the results contract; :mod:`helpers.tables` and the
plotting code consume the same object. :func:`require_estimated` turns "no requested model could be estimated"
into an :class:`helpers.core.errors.EmptySampleError` naming the filters.

Knobs (docs/methods.md#cole-style-regressions), each checked against the lists below (an unknown value raises
:class:`helpers.errors.ParameterError` listing the valid ones):

* ``treaty``: one of :data:`TREATIES`.
* ``outcome``: any outcome column of the panel contract present in the panel (:func:`valid_outcomes`).
* ``coding`` (:data:`CODINGS`): ``ratified`` (0/1), ``years_since`` (linear), ``years_since_binned`` (dummies for
  0-4, 5-9 and 10+ years since the act; reference: not a party), ``optional_protocol`` (the treaty's complaints /
  optional protocol, :data:`OPTIONAL_PROTOCOLS`, with the main ratification dummy kept as a control),
  ``res_any``/``res_art2``/``res_art16``/``res_art29``/``res_general`` (CEDAW reservation in force, with the
  ratification dummy kept as a control).
* ``estimator`` (:data:`ESTIMATORS`): ``twfe`` (OLS, country and year fixed effects, pyfixest), ``twfe_ldv``
  (+ outcome lagged one year; Nickell bias noted), ``ologit`` (pooled ordered logit with year dummies,
  statsmodels ``OrderedModel``; integer outcomes with <= 10 levels only), ``iv`` (2SLS, country and year fixed
  effects, the treatment instrumented by the lagged regional ratification density ``{treaty}_region_density``).
* ``controls``: a named set (:data:`CONTROL_SETS`) or a list of :data:`CONTROL_COLUMNS`.
* ``lag``: years by which treatment and controls are lagged, within country by calendar year (not by row).
* ``years``, ``region``, ``income_group``: sample filters (applied after lagging); ``rows``: a boolean mask over
  the panel's rows restricting the sample further (a specification curve's common sample).
* ``moderator`` (:data:`MODERATORS`): treaty x moderator interaction, the moderator centred at its mean in the
  estimation sample (the treatment term is the effect at the mean); effects at the moderator's 10th, 50th and 90th
  percentiles and over its 5th-95th percentile range with delta-method CIs.
* ``se`` (:data:`SE_TYPES`, :data:`SE_LABELS`): ``twoway`` (country and year clusters) and ``DK``
  (Driscoll-Kraay, lag :func:`dk_lag`) as in pyfixest; the others clustered by country. ``CRV1`` =
  fixest/pyfixest default (G/(G-1) x (N-1)/(N-K), K not counting the country FE nested in the cluster); ``CR1``
  = Stata / statsmodels convention (K counts every fixed-effect dummy); ``CRV3`` = cluster jackknife (sum of
  squared leave-one-country-out deviations, no small-sample factor; for OLS computed exactly by
  :func:`helpers.estimate.fe.twfe_crv3` without the G refits pyfixest makes; not offered for 2SLS). All
  observations are kept (no singleton removal, as in fixest and statsmodels). Inference uses t(G-1)
  (:func:`inference_df`). A 2SLS reports the cluster-robust first-stage F and the Anderson-Rubin set
  (:func:`anderson_rubin`). pyfixest runs with ``fixef_tol=1e-12`` so that its results equal the exact
  dummy-variable solution (statsmodels) to ~1e-13.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from helpers.core.errors import EmptySampleError, ParameterError
from helpers.core.params import check_choice, check_choices
from helpers.data import treaties as _treaties
from helpers.data import variables as _variables
from helpers.data.variables import term_label
from helpers.estimate import fe

# one list of instruments (helpers.data.treaties) and one variable registry (data/reference/variables.csv, read by
# helpers.data.variables): add an outcome, control or moderator there, not here
TREATIES = list(_treaties.TREATIES)
#: outcome and ordinal-outcome column lists: module attributes read from the variable registry when asked for (as
#: in :mod:`helpers.data.panel`), so that they never disagree with :func:`valid_outcomes`
_REGISTRY_LISTS = ("OUTCOMES", "ORDINAL_OUTCOMES")


def __getattr__(name: str) -> list[str]:
    """``OUTCOMES``, ``ORDINAL_OUTCOMES``: as :mod:`helpers.data.variables` has them."""
    if name in _REGISTRY_LISTS:
        return getattr(_variables, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


YEARS_SINCE_BINS = [(0, 4), (5, 9), (10, None)]

CODINGS = [
    "ratified",
    "years_since",
    "years_since_binned",
    "optional_protocol",
    "res_any",
    "res_art2",
    "res_art16",
    "res_art29",
    "res_general",
]

OPTIONAL_PROTOCOLS = {
    "cedaw": "cedaw_op",
    "iccpr": "iccpr_op1",
    "icescr": "icescr_op",
    "cat": "cat_op",
    "crc": "crc_op_ic",
    "crpd": "crpd_op",
}

ESTIMATORS = ["twfe", "twfe_ldv", "ologit", "iv"]
ESTIMATOR_LABELS = {
    "twfe": "OLS, country + year FE",
    "twfe_ldv": "OLS, country + year FE, lagged DV",
    "ologit": "Ordered logit, year dummies",
    "iv": "2SLS, country + year FE",
    "hazard_logit": "Discrete-time hazard, logit",
    "hazard_cloglog": "Discrete-time hazard, cloglog",
}

ESTIMATOR_SHORT = {
    "twfe": "OLS",
    "twfe_ldv": "OLS, lagged DV",
    "ologit": "Ordered logit",
    "iv": "2SLS",
    "hazard_logit": "Hazard, logit",
    "hazard_cloglog": "Hazard, cloglog",
}

SE_TYPES = ["CRV1", "CR1", "CRV3", "twoway", "DK"]
SE_LABELS = {
    "CRV1": "CRV1 by country (fixest: G/(G-1)(N-1)/(N-K), nested country FE not in K)",
    "CR1": "CR1 by country (Stata/statsmodels: G/(G-1)(N-1)/(N-K), every FE dummy in K)",
    "CRV3": "CRV3 by country (cluster jackknife)",
    "twoway": "CRV1 two-way by country and year (Cameron-Gelbach-Miller V_country + V_year - V_country-year; "
    "fixest: each term G/(G-1)(N-1)/(N-K) with G = min(G_country, G_year), FE nested in a cluster not in K; "
    "t(min G - 1))",
    "DK": "Driscoll-Kraay (year sums of the scores, Bartlett kernel, lag floor(4(T/100)^(2/9)) years, Newey-West "
    "1994 / Hoechle 2007; pyfixest: T/(T-1)(N-1)/(N-K), every FE in K; t(T-1))",
}


def dk_lag(n_years: int) -> int:
    """Driscoll-Kraay bandwidth: floor(4 (T/100)^(2/9)) years (Newey and West 1994's plug-in, the default of
    Hoechle's ``xtscc``); 3 for the 42 years 1981-2022."""
    return int(np.floor(4 * (max(int(n_years), 1) / 100) ** (2 / 9)))


#: the registry's controls, plus ``region_density`` (the treaty's own ``{treaty}_region_density``)
CONTROL_COLUMNS = [*_variables.CONTROLS, "region_density"]
CONTROL_SETS: dict[str, list[str]] = {
    "none": [],
    "cole": ["ln_gdppc", "v2x_polyarchy", "ln_pop", "ucdp_conflict"],
    "cole_plus": [
        "ln_gdppc",
        "v2x_polyarchy",
        "ln_pop",
        "ucdp_conflict",
        "v2xcs_ccsi",
        "region_density",
        "income_group",
    ],
}
INCOME_LEVELS = ["L", "LM", "UM", "H"]  # reference level: L

MODERATORS = list(_variables.MODERATORS)


def _ys_bin_name(treaty: str, lo: int, hi: int | None) -> str:
    return f"{treaty}_ys_{lo}_{hi}" if hi is not None else f"{treaty}_ys_{lo}plus"


#: labels of the model terms made here that are not panel columns (panel columns are labelled by the registry)
TERM_LABELS: dict[str, str] = {
    "region_density": "Regional ratification density",
    "income_LM": "Income group: lower middle",
    "income_UM": "Income group: upper middle",
    "income_H": "Income group: high",
    **{
        _ys_bin_name(t, lo, hi): (
            f"{_variables.treaty_short(t)} ratified {lo}–{hi} years"
            if hi is not None
            else f"{_variables.treaty_short(t)} ratified {lo}+ years"
        )
        for t in TREATIES
        for lo, hi in YEARS_SINCE_BINS
    },
}
_variables.add_term_labels(TERM_LABELS)

CODING_LABELS: dict[str, str] = {
    "ratified": "Ratified (0/1)",
    "years_since": "Years since ratification",
    "years_since_binned": "Years since, 10+ bin",
    "optional_protocol": "Optional protocol ratified",
    "res_any": "Reservation (any)",
    "res_art2": "Reservation (Art. 2)",
    "res_art16": "Reservation (Art. 16)",
    "res_art29": "Reservation (Art. 29)",
    "res_general": "Reservation (general)",
}
CONTROL_SET_LABELS: dict[str, str] = {"none": "None", "cole": "Cole", "cole_plus": "Cole plus"}


NICKELL_NOTE = (
    "Lagged dependent variable with country fixed effects: OLS carries Nickell bias of order 1/T "
    "(T = years per country); the treatment coefficient is a short-run effect."
)


COEF_COLUMNS = ["term", "estimate", "std_error", "statistic", "p_value", "conf_low", "conf_high"]


@dataclass
class FitResult:
    """One estimated (or skipped) specification.

    ``coefs`` has the columns :data:`COEF_COLUMNS`; ``focal_term`` names the treatment coefficient of interest
    (for ``years_since_binned`` the 10+ years bin). ``skipped`` is ``None`` or the reason the model was not
    estimated (empty sample, no variation in treatment, ...), in which case ``coefs`` is empty.
    """

    coefs: pd.DataFrame
    n_obs: int
    n_units: int
    r2_within: float
    fixed_effects: list[str]
    se_type: str
    model: str
    outcome: str
    treaty: str
    estimator: str
    coding: str
    controls: str
    lag: int
    years: tuple[int, int] | None
    focal_term: str
    terms: list[str] = field(default_factory=list)
    moderator: str | None = None
    sample: str = "all"
    skipped: str | None = None
    notes: list[str] = field(default_factory=list)
    marginal_effects: pd.DataFrame | None = None
    stats: dict[str, float] = field(default_factory=dict)
    sample_info: dict[str, Any] = field(default_factory=dict)
    moderator_effects: pd.DataFrame | None = None
    moderator_mean: float | None = None
    ar_set: dict[str, Any] | None = None

    @property
    def se_label(self) -> str:
        """Human-readable name of the standard-error convention."""
        return SE_LABELS.get(self.se_type, self.se_type)

    @property
    def sample_years(self) -> tuple[int, int] | None:
        """(first, last) year of the estimation sample actually used (None if it is empty)."""
        si = self.sample_info
        return None if si.get("first_year") is None else (si["first_year"], si["last_year"])

    def sample_columns(self) -> dict[str, Any]:
        """The estimation sample as tidy columns: first_year, last_year, n_switchers, dropped_units (``ISO3
        (variables missing in every row)``, ``;``-separated), window_trimmed (why it starts later or ends earlier
        than asked)."""
        si = self.sample_info
        return {
            "first_year": si.get("first_year"),
            "last_year": si.get("last_year"),
            "n_switchers": si.get("n_switchers"),
            "dropped_units": "; ".join(
                f"{d['iso3']} ({', '.join(d['missing']) or 'no complete year'})"
                for d in si.get("dropped", [])
            ),
            "window_trimmed": "; ".join(trimmed_text(t) for t in si.get("trimmed", [])),
        }

    def params(self) -> dict[str, Any]:
        """The run's parameters, as columns for the tidy results."""
        return {
            "model": self.model,
            "outcome": self.outcome,
            "treaty": self.treaty,
            "estimator": self.estimator,
            "coding": self.coding,
            "controls": self.controls,
            "lag": self.lag,
            "years": "" if self.years is None else f"{self.years[0]}-{self.years[1]}",
            "sample": self.sample,
            "moderator": self.moderator or "",
            "se_type": self.se_type,
            "fixed_effects": "+".join(self.fixed_effects),
            "r2_within": self.r2_within,
            "skipped": self.skipped or "",
            **self.sample_columns(),
            "moderator_centre": np.nan if self.moderator_mean is None else self.moderator_mean,
            "first_stage_F": self.stats.get("first_stage_F", np.nan),
            "ar_set": "" if self.ar_set is None else self.ar_set["text"],
        }

    def tidy(self) -> pd.DataFrame:
        """Broom-style table: one row per coefficient (one all-NaN row for the focal term if skipped).

        ``term`` keeps the raw name (e.g. ``cedaw_ratified_l1``); ``term_label`` is its readable label
        (:func:`term_label`).
        """
        coefs = self.coefs
        if self.skipped is not None or coefs.empty:
            coefs = pd.DataFrame([{c: (self.focal_term if c == "term" else np.nan) for c in COEF_COLUMNS}])
        out = coefs[COEF_COLUMNS].copy()
        labels = [term_label(t) for t in out["term"]]
        out["moderator_value"] = np.nan
        me = self.moderator_effects
        if me is not None and self.skipped is None:
            out = pd.concat([out, me[[*COEF_COLUMNS, "moderator_value"]]], ignore_index=True)
            labels += list(me["term_label"])
        out["n_obs"], out["n_units"] = self.n_obs, self.n_units
        for k, v in self.params().items():
            out[k] = v
        out["focal"] = out["term"].eq(self.focal_term)
        out["term_label"] = labels
        return out.reset_index(drop=True)

    def focal(self) -> pd.Series:
        """The focal term's row of ``coefs`` (NaN values if skipped)."""
        row = self.coefs.loc[self.coefs["term"].eq(self.focal_term)] if not self.coefs.empty else self.coefs
        if row.empty:
            return pd.Series({c: (self.focal_term if c == "term" else np.nan) for c in COEF_COLUMNS})
        return row.iloc[0]


# ----------------------------------------------------------------------------------------------------------------
# validation and design


valid_outcomes = _variables.valid_outcomes  # outcome names the functions accept: the registry's, in the panel


def resolve_controls(controls: str | Sequence[str]) -> tuple[str, list[str]]:
    """(label, list of control names) for a named set or an explicit list; unknown names raise ParameterError."""
    if isinstance(controls, str):
        check_choice("controls", controls, list(CONTROL_SETS), hint=f"or a list of {CONTROL_COLUMNS}")
        return controls, list(CONTROL_SETS[controls])
    cols = check_choices("controls", list(controls), CONTROL_COLUMNS)
    return "+".join(cols) if cols else "none", cols


def treatment_columns(treaty: str, coding: str) -> tuple[list[str], str]:
    """Panel columns a coding needs and the focal panel column (before lagging)."""
    check_choice("treaty", treaty, TREATIES)
    check_choice("coding", coding, CODINGS)
    if coding == "ratified":
        return [f"{treaty}_ratified"], f"{treaty}_ratified"
    if coding == "years_since":
        return [f"{treaty}_years_since"], f"{treaty}_years_since"
    if coding == "years_since_binned":
        return [f"{treaty}_ratified", f"{treaty}_years_since"], f"{treaty}_years_since"
    if coding == "optional_protocol":
        if treaty not in OPTIONAL_PROTOCOLS:
            raise ParameterError(
                "coding",
                coding,
                [c for c in CODINGS if not c.startswith(("optional", "res_"))],
                hint=f"treaty {treaty!r} has no optional protocol coding; treaties with one: "
                f"{', '.join(OPTIONAL_PROTOCOLS)}",
            )
        op = OPTIONAL_PROTOCOLS[treaty]
        return [f"{op}_ratified", f"{treaty}_ratified"], f"{op}_ratified"
    if treaty != "cedaw":
        raise ParameterError(
            "coding",
            coding,
            [c for c in CODINGS if not c.startswith("res_")],
            hint="reservation codings exist for treaty 'cedaw' only",
        )
    return [f"cedaw_{coding}", "cedaw_ratified"], f"cedaw_{coding}"


def _suffix(lag: int) -> str:
    return f"_l{lag}" if lag else ""


def as_float(s: pd.Series) -> np.ndarray:
    if s.dtype.kind in "fiub":
        return s.to_numpy(dtype=float)
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def lag_within(panel: pd.DataFrame, cols: Sequence[str], lag: int) -> pd.DataFrame:
    """Columns ``cols`` lagged ``lag`` calendar years within country (value of year t-lag; NaN if that row is absent).

    Returns float columns aligned with ``panel``'s rows.
    """
    if lag == 0:
        return pd.DataFrame({c: as_float(panel[c]) for c in cols}, index=panel.index)
    key = pd.MultiIndex.from_arrays([panel["iso3"].to_numpy(), panel["year"].to_numpy() - lag])
    src = pd.DataFrame(
        {c: as_float(panel[c]) for c in cols},
        index=pd.MultiIndex.from_arrays([panel["iso3"].to_numpy(), panel["year"].to_numpy()]),
    )
    out = src.reindex(key)
    out.index = panel.index
    return out


def treatment_block(
    lagged: pd.DataFrame, treaty: str, coding: str, lag: int
) -> tuple[dict[str, np.ndarray], list[str], str, list[str]]:
    """Treatment regressors of a coding from already-lagged panel columns.

    Returns (columns by name, term names, focal term, notes). Names carry the lag suffix (``_l1`` ...).
    """
    raw_t, focal_raw = treatment_columns(treaty, coding)
    sfx = _suffix(lag)
    cols: dict[str, np.ndarray] = {}
    notes: list[str] = []
    if coding == "years_since_binned":
        rat = lagged[f"{treaty}_ratified"].to_numpy(dtype=float)
        ys = lagged[f"{treaty}_years_since"].to_numpy(dtype=float)
        bad = np.isnan(rat) | np.isnan(ys)
        terms = []
        for lo, hi in YEARS_SINCE_BINS:
            name = f"{_ys_bin_name(treaty, lo, hi)}{sfx}"
            with np.errstate(invalid="ignore"):
                inbin = (rat == 1) & (ys >= lo) & ((ys <= hi) if hi is not None else True)
            cols[name] = np.where(bad, np.nan, inbin.astype(float))
            terms.append(name)
        notes.append(
            "Years-since bins 0-4, 5-9, 10+ (reference: not a party); the focal term is the 10+ bin."
        )
        return cols, terms, terms[-1], notes
    terms = [f"{c}{sfx}" for c in raw_t]
    for c, name in zip(raw_t, terms, strict=True):
        cols[name] = lagged[c].to_numpy(dtype=float)
    if coding == "optional_protocol":
        notes.append(f"Focal term: {focal_raw} (optional protocol); {treaty}_ratified kept as a control.")
    elif coding.startswith("res_"):
        notes.append(f"Focal term: {focal_raw} (reservation in force); cedaw_ratified kept as a control.")
    return cols, terms, f"{focal_raw}{sfx}", notes


def control_block(
    panel: pd.DataFrame, ctl_cols: Sequence[str], lag: int, lagged: pd.DataFrame
) -> tuple[dict[str, np.ndarray], list[str]]:
    """Control regressors (lagged; ``income_group`` expanded to LM/UM/H dummies, reference L)."""
    sfx = _suffix(lag)
    cols: dict[str, np.ndarray] = {}
    names: list[str] = []
    for c in ctl_cols:
        if c == "income_group":
            idx = pd.MultiIndex.from_arrays([panel["iso3"].to_numpy(), panel["year"].to_numpy()])
            key = pd.MultiIndex.from_arrays([panel["iso3"].to_numpy(), panel["year"].to_numpy() - lag])
            g = (
                pd.Series(panel["income_group"].astype("string").to_numpy(), index=idx)
                .reindex(key)
                .to_numpy()
            )
            gna = pd.isna(g)
            for lev in INCOME_LEVELS[1:]:
                name = f"income_{lev}{sfx}"
                cols[name] = np.where(gna, np.nan, (g == lev).astype(float))
                names.append(name)
        else:
            name = f"{c}{sfx}"
            cols[name] = lagged[c].to_numpy(dtype=float)
            names.append(name)
    return cols, names


def control_columns(treaty: str, controls: Sequence[str], estimator: str) -> tuple[list[str], list[str]]:
    """Panel columns for resolved control names (``region_density`` -> ``{treaty}_region_density``) and notes."""
    out, notes = [], []
    for c in controls:
        if c == "region_density":
            if estimator == "iv":
                notes.append(
                    "Regional ratification density is the instrument, so it is not used as a control."
                )
                continue
            out.append(f"{treaty}_region_density")
        else:
            out.append(c)
    return out, notes


@dataclass
class Design:
    """A specification's estimation frame: ``data`` holds iso3, year, the outcome and every regressor.

    ``status`` is the treatment status behind the coding (the lagged ratification, optional-protocol or reservation
    dummy) on the rows of ``data``, used to count the countries that switch status in the sample;
    ``sample_info`` describes the estimation sample (:func:`sample_info`); ``moderator_mean`` is the
    estimation-sample mean at which a moderator is centred and ``moderator_quantiles`` its 10th, 50th and 90th
    percentiles (uncentred).
    """

    data: pd.DataFrame
    y: str
    terms: list[str]  # treatment terms (focal first or as coded)
    focal: str
    controls: list[str]  # lagged control columns (income dummies expanded)
    ldv: str | None
    instrument: str | None
    moderator: str | None
    interaction: str | None
    notes: list[str]
    status: np.ndarray | None = None
    sample_info: dict[str, Any] = field(default_factory=dict)
    moderator_mean: float | None = None
    moderator_quantiles: dict[str, float] = field(default_factory=dict)

    @property
    def regressors(self) -> list[str]:
        out = list(self.terms)
        if self.interaction:
            out.append(self.interaction)
        if self.moderator and self.moderator not in self.controls:
            out.append(self.moderator)
        out += self.controls
        if self.ldv:
            out.append(self.ldv)
        return out


def _check_years(years: Sequence[int] | None) -> tuple[int, int] | None:
    if years is None:
        return None
    if len(years) != 2 or int(years[0]) > int(years[1]):
        raise ParameterError("years", years, hint="a (first_year, last_year) pair with first <= last")
    return int(years[0]), int(years[1])


def status_column(treaty: str, coding: str) -> str:
    """The 0/1 panel column whose changes define the countries that switch treatment under a coding."""
    if coding == "optional_protocol":
        return f"{OPTIONAL_PROTOCOLS[treaty]}_ratified"
    if coding.startswith("res_"):
        return f"cedaw_{coding}"
    return f"{treaty}_ratified"


def build_design(
    panel: pd.DataFrame,
    treaty: str = "cedaw",
    outcome: str = "v2x_gender",
    coding: str = "ratified",
    controls: str | Sequence[str] = "cole",
    lag: int = 1,
    estimator: str = "twfe",
    years: Sequence[int] | None = None,
    region: str | Sequence[str] | None = None,
    income_group: str | Sequence[str] | None = None,
    moderator: str | None = None,
    rows: np.ndarray | None = None,
) -> Design:
    """Validate every choice and build the estimation frame (rows with any missing value dropped).

    ``rows`` (a boolean mask over the panel's rows) restricts the estimation sample further, after lagging (e.g.
    to a specification curve's common sample, :func:`helpers.estimate.specs.sample_mask`). A moderator is centred
    at its mean in the estimation sample (so the treatment term is the effect at the mean); ``sample_info``
    records the sample actually used and the countries the missing values removed.
    """
    ctl_label, ctl, lag, yrs = _check_design_options(
        panel, treaty, outcome, estimator, controls, lag, moderator, years
    )
    raw_t, _focal_raw = treatment_columns(treaty, coding)
    missing = [c for c in ["iso3", "year", *raw_t] if c not in panel.columns]
    if missing:
        raise ParameterError("treaty", treaty, hint=f"panel lacks column(s) {missing}")
    _check_estimator_fits(panel, outcome, coding, estimator, moderator)

    notes: list[str] = []
    sfx = _suffix(lag)
    ctl_cols, cnotes = control_columns(treaty, ctl, estimator)
    notes += cnotes
    need = _lagged_columns(panel, outcome, ctl_cols, moderator, ctl_label)
    st_col = status_column(treaty, coding)
    extra = [st_col] if st_col in panel.columns else []
    lagged = lag_within(panel, list(dict.fromkeys(raw_t + need + extra)), lag)
    data = pd.DataFrame(
        {
            "iso3": panel["iso3"].astype(str).to_numpy(),
            "year": panel["year"].astype(int).to_numpy(),
            outcome: as_float(panel[outcome]),
        },
        index=panel.index,
    )
    tcols, terms, focal, tnotes = treatment_block(lagged, treaty, coding, lag)
    ccols, controls_out = control_block(panel, ctl_cols, lag, lagged)
    notes += tnotes
    for name, v in {**tcols, **ccols}.items():
        data[name] = v
    moderator_col, interaction = _add_moderator(data, lagged, moderator, focal, sfx)
    ldv = None
    if estimator == "twfe_ldv":
        ldv = f"{outcome}_l1"
        data[ldv] = lag_within(panel, [outcome], 1)[outcome].to_numpy()
        notes.append(NICKELL_NOTE)
    instrument = _add_instrument(data, panel, treaty, estimator, lag) if estimator == "iv" else None
    in_filter = _sample_mask(panel, data, yrs, region, income_group)
    if rows is not None:
        rows = np.asarray(rows, dtype=bool)
        if rows.shape != (len(panel),):
            raise ParameterError(
                "rows", f"mask of length {len(rows)}", hint=f"one bool per panel row ({len(panel)})"
            )
        in_filter &= rows
    des = Design(
        data=data,
        y=outcome,
        terms=terms,
        focal=focal,
        controls=controls_out,
        ldv=ldv,
        instrument=instrument,
        moderator=moderator_col,
        interaction=interaction,
        notes=notes,
    )
    cols = list(dict.fromkeys([outcome, *des.regressors] + ([instrument] if instrument else [])))
    keep = in_filter & data[cols].notna().all(axis=1).to_numpy()
    status = lagged[st_col].to_numpy(float) if extra else data[focal].to_numpy(float)
    names = panel["country"].astype(str).to_numpy() if "country" in panel.columns else None
    des.sample_info = sample_info(data, in_filter, keep, outcome, cols[1:], status, yrs, names)
    des.status = status[keep]
    des.data = data.loc[keep, ["iso3", "year", *cols]].reset_index(drop=True)
    if moderator_col:
        _centre_moderator(des, focal, moderator)
    return des


def _centre_moderator(des: Design, focal: str, moderator: str) -> None:
    """Centre the moderator at its estimation-sample mean and rebuild the interaction from the centred values."""
    d = des.data
    m = d[des.moderator].to_numpy(float)
    mean = float(m.mean()) if len(m) else np.nan
    if len(m):
        des.moderator_quantiles = {
            f"p{q}": float(v)
            for q, v in zip(
                MODERATOR_QUANTILES, np.quantile(m, np.array(MODERATOR_QUANTILES) / 100), strict=True
            )
        }
    des.moderator_mean = mean
    d[des.moderator] = m - mean
    d[des.interaction] = d[focal].to_numpy(float) * (m - mean)
    des.notes.append(
        f"{term_label(des.moderator, plain=True)} is centred at its estimation-sample mean ({mean:.3g}): the "
        f"{term_label(focal, plain=True)} row is the effect at the mean; the interaction is the change per unit."
    )


#: percentiles of the moderator at which moderated models report the treatment effect
MODERATOR_QUANTILES = (10, 50, 90)


def sample_info(
    data: pd.DataFrame,
    in_filter: np.ndarray,
    keep: np.ndarray,
    y: str,
    regressors: Sequence[str],
    status: np.ndarray,
    yrs: tuple[int, int] | None,
    names: np.ndarray | None = None,
) -> dict[str, Any]:
    """The estimation sample a specification actually uses.

    ``data``: the candidate rows (iso3, year, outcome, regressors; all panel rows); ``in_filter``: rows inside the
    requested years, regions and income groups; ``keep``: rows also complete in every variable; ``status``: the
    0/1 treatment status behind the coding on ``data``'s rows. Returns first_year, last_year, n_obs, n_units,
    n_switchers (countries whose status changes inside the sample), requested (the year range asked for),
    trimmed (why the sample starts later or ends earlier than asked: the variables first or last observed
    there), dropped (countries with the outcome observed in the filter but no complete row, each with the
    variables missing in all its rows) and n_units_no_outcome (countries in the filter without the outcome).
    """
    iso = data["iso3"].to_numpy()
    est = data.loc[keep]
    n_sw = 0
    if keep.any():
        st = pd.Series(status[keep]).groupby(iso[keep]).agg(lambda s: s.nunique(dropna=True) > 1)
        n_sw = int(st.sum())
    out: dict[str, Any] = {
        "first_year": int(est["year"].min()) if len(est) else None,
        "last_year": int(est["year"].max()) if len(est) else None,
        "n_obs": int(keep.sum()),
        "n_units": int(est["iso3"].nunique()),
        "n_switchers": n_sw,
        "requested": yrs,
    }
    has_y = in_filter & data[y].notna().to_numpy()
    out["n_units_no_outcome"] = int(len(set(iso[in_filter]) - set(iso[has_y])))
    out["dropped"] = _dropped_units(data, has_y, keep, regressors, names)
    out["trimmed"] = (
        _trimmed(data, y, has_y, regressors, yrs, out["first_year"], out["last_year"]) if len(est) else []
    )
    return out


def _dropped_units(
    data: pd.DataFrame,
    has_y: np.ndarray,
    keep: np.ndarray,
    regressors: Sequence[str],
    names: np.ndarray | None,
) -> list[dict[str, Any]]:
    """Countries with the outcome observed but no complete row, with the regressors missing in all their rows."""
    iso = data["iso3"].to_numpy()
    lost = sorted(set(iso[has_y]) - set(iso[keep]))
    out = []
    for c in lost:
        rows = has_y & (iso == c)
        sub = data.loc[rows, list(regressors)]
        never = [v for v in regressors if "_x_" not in v and sub[v].isna().all()]
        name = str(names[np.flatnonzero(iso == c)[0]]) if names is not None else c
        out.append({"iso3": c, "country": name, "missing": never})
    return out


def _trimmed(
    data: pd.DataFrame,
    y: str,
    has_y: np.ndarray,
    regressors: Sequence[str],
    yrs: tuple[int, int] | None,
    first: int,
    last: int,
) -> list[dict[str, Any]]:
    """Why the sample starts after / ends before the requested years: the variables (income-group dummies as one)
    whose observations (in rows with the outcome) start in the sample's first year or end in its last; each as
    {variable, bound ("first" or "last"), year}, variable None when no single variable explains it."""
    year = data["year"].to_numpy()
    lo = yrs[0] if yrs else int(year[has_y].min())
    hi = yrs[1] if yrs else int(year[has_y].max())
    out: list[dict[str, Any]] = []
    for v in [y, *regressors]:
        ok = has_y & data[v].notna().to_numpy()
        if not ok.any():
            continue
        name = re.sub(r"^income_(?:LM|UM|H)(_l\d+)?$", r"income_group\1", v)
        f, la = int(year[ok].min()), int(year[ok].max())
        if lo < first == f:
            out.append({"variable": name, "bound": "first", "year": f})
        if hi > last == la:
            out.append({"variable": name, "bound": "last", "year": la})
    out = [dict(t) for t in dict.fromkeys(tuple(d.items()) for d in out)]
    for bound, year_, moved in (("first", first, first > lo), ("last", last, last < hi)):
        if moved and not any(d["bound"] == bound for d in out):
            out.append({"variable": None, "bound": bound, "year": year_})
    return out


def trimmed_text(entry: dict[str, Any], label=None) -> str:
    """One entry of ``sample_info["trimmed"]`` in words (``label`` maps a variable name to its label)."""
    v, bound, year = entry["variable"], entry["bound"], entry["year"]
    if v is None:
        side = "before" if bound == "first" else "after"
        return f"no year {side} {year} has every variable observed"
    return f"{label(v) if label else v} {bound} observed in {year}"


def _check_design_options(
    panel: pd.DataFrame,
    treaty: str,
    outcome: str,
    estimator: str,
    controls: str | Sequence[str],
    lag: int,
    moderator: str | None,
    years: Sequence[int] | None,
) -> tuple[str, list[str], int, tuple[int, int] | None]:
    """Each choice of :func:`build_design` checked on its own; returns the control-set label and columns, the lag
    and the year range."""
    check_choice("treaty", treaty, TREATIES)
    check_choice("outcome", outcome, valid_outcomes(panel))
    check_choice("estimator", estimator, ESTIMATORS)
    ctl_label, ctl = resolve_controls(controls)
    if not isinstance(lag, (int, np.integer)) or lag < 0 or lag > 10:
        raise ParameterError("lag", lag, list(range(11)))
    if moderator is not None:
        check_choice("moderator", moderator, MODERATORS + [None])
    return ctl_label, ctl, int(lag), _check_years(years)


def _check_estimator_fits(
    panel: pd.DataFrame, outcome: str, coding: str, estimator: str, moderator: str | None
) -> None:
    """Combinations that cannot be estimated: ordered logit of a continuous outcome; IV with several treatment
    terms or a moderator; a moderator with several treatment terms."""
    if estimator == "ologit" and outcome not in _variables.ORDINAL_OUTCOMES:
        vals = pd.to_numeric(panel[outcome], errors="coerce").dropna()
        ok = len(vals) > 0 and np.allclose(vals, np.round(vals)) and vals.nunique() <= 10
        if not ok:
            raise ParameterError(
                "estimator",
                estimator,
                [e for e in ESTIMATORS if e != "ologit"],
                hint=f"outcome {outcome!r} is continuous ({vals.nunique()} distinct values); "
                f"ordered logit needs an integer outcome with <= 10 levels, e.g. "
                f"{', '.join(_variables.ORDINAL_OUTCOMES)}",
            )
    if estimator == "iv" and coding == "years_since_binned":
        raise ParameterError(
            "coding",
            coding,
            [c for c in CODINGS if c != "years_since_binned"],
            hint="estimator 'iv' instruments one treatment term",
        )
    if estimator == "iv" and moderator is not None:
        raise ParameterError("moderator", moderator, [None], hint="estimator 'iv' does not take moderators")
    if moderator is not None and coding == "years_since_binned":
        raise ParameterError(
            "coding",
            coding,
            [c for c in CODINGS if c != "years_since_binned"],
            hint="moderated models need a single treatment term",
        )


def _lagged_columns(
    panel: pd.DataFrame, outcome: str, ctl_cols: list[str], moderator: str | None, ctl_label: str
) -> list[str]:
    """The control (and moderator) columns to lag; an error naming any column the panel lacks."""
    need = [c for c in ctl_cols if c != "income_group"]
    if moderator and moderator not in need:
        need.append(moderator)
    absent = [
        c
        for c in [outcome, *need] + (["income_group"] if "income_group" in ctl_cols else [])
        if c not in panel.columns
    ]
    if absent:
        raise ParameterError("controls", ctl_label, hint=f"panel lacks column(s) {absent}")
    return need


def _add_moderator(
    data: pd.DataFrame, lagged: pd.DataFrame, moderator: str | None, focal: str, sfx: str
) -> tuple[str | None, str | None]:
    """The lagged moderator and its interaction with the focal term, added to ``data`` (names, or None)."""
    if not moderator:
        return None, None
    moderator_col = f"{moderator}{sfx}"
    if moderator_col not in data.columns:
        data[moderator_col] = lagged[moderator].to_numpy()
    interaction = f"{focal}_x_{moderator}"
    data[interaction] = data[focal] * data[moderator_col]
    return moderator_col, interaction


def _add_instrument(data: pd.DataFrame, panel: pd.DataFrame, treaty: str, estimator: str, lag: int) -> str:
    """The lagged regional ratification density (the IV instrument), added to ``data``; returns its name."""
    instrument = f"{treaty}_region_density{_suffix(lag)}"
    if f"{treaty}_region_density" not in panel.columns:
        raise ParameterError("estimator", estimator, hint=f"panel lacks column {treaty}_region_density")
    data[instrument] = lag_within(panel, [f"{treaty}_region_density"], lag)[
        f"{treaty}_region_density"
    ].to_numpy()
    return instrument


def _sample_mask(
    panel: pd.DataFrame,
    data: pd.DataFrame,
    yrs: tuple[int, int] | None,
    region: str | Sequence[str] | None,
    income_group: str | Sequence[str] | None,
) -> np.ndarray:
    """Rows inside the year range, regions and income groups chosen (all rows when none is given)."""
    keep = np.ones(len(data), dtype=bool)
    if yrs is not None:
        keep &= (data["year"] >= yrs[0]).to_numpy() & (data["year"] <= yrs[1]).to_numpy()
    if region is not None:
        regions = [region] if isinstance(region, str) else list(region)
        check_choices("region", regions, sorted(panel["region"].dropna().astype(str).unique()))
        keep &= panel["region"].astype(str).isin(regions).to_numpy()
    if income_group is not None:
        groups = [income_group] if isinstance(income_group, str) else list(income_group)
        check_choices("income_group", groups, INCOME_LEVELS)
        keep &= panel["income_group"].astype("string").isin(groups).fillna(False).to_numpy(dtype=bool)
    return keep


# ----------------------------------------------------------------------------------------------------------------
# estimation


def _sample_label(region, income_group) -> str:
    parts = []
    if region is not None:
        parts.append("region=" + ("|".join([region] if isinstance(region, str) else region)))
    if income_group is not None:
        parts.append(
            "income=" + ("|".join([income_group] if isinstance(income_group, str) else income_group))
        )
    return ", ".join(parts) or "all"


def _skip_reason(des: Design, estimator: str) -> str | None:
    d = des.data
    if len(d) == 0:
        return "empty sample"
    if d["iso3"].nunique() < 2:
        return "fewer than 2 countries (clusters) in sample"
    for t in des.terms:
        v = d[t].to_numpy()
        if np.nanstd(v) == 0:
            return f"no variation in treatment ({t} constant in sample)"
    if estimator in ("twfe", "twfe_ldv", "iv"):
        # within-country variation is needed once country FE are swept out
        within = d.groupby("iso3")[des.focal].transform(lambda s: s - s.mean()).abs().max()
        if not within > 0:
            return f"no within-country variation in treatment ({des.focal})"
    if d[des.y].nunique() < 2:
        return f"outcome {des.y} constant in sample"
    return None


def coef_frame(terms, est, se, df_t: float | None, level: float = 0.95) -> pd.DataFrame:
    est, se = np.asarray(est, float), np.asarray(se, float)
    stat = est / se
    if df_t is None:
        p = 2 * stats.norm.sf(np.abs(stat))
        q = stats.norm.ppf(0.5 + level / 2)
    else:
        p = 2 * stats.t.sf(np.abs(stat), df_t)
        q = stats.t.ppf(0.5 + level / 2, df_t)
    return pd.DataFrame(
        {
            "term": list(terms),
            "estimate": est,
            "std_error": se,
            "statistic": stat,
            "p_value": p,
            "conf_low": est - q * se,
            "conf_high": est + q * se,
        }
    )


def pyfixest_vcov(se: str) -> tuple[dict | str, dict]:
    """pyfixest ``vcov`` and ``ssc`` of a named SE convention (:data:`SE_LABELS`); Driscoll-Kraay also needs
    :func:`pyfixest_vcov_kwargs`."""
    import pyfixest as pf

    if se == "CRV1":
        return {"CRV1": "iso3"}, pf.ssc(k_adj=True, k_fixef="nonnested", G_adj=True)
    if se == "CR1":
        return {"CRV1": "iso3"}, pf.ssc(k_adj=True, k_fixef="full", G_adj=True)
    if se == "twoway":
        return {"CRV1": "iso3+year"}, pf.ssc(k_adj=True, k_fixef="nonnested", G_adj=True, G_df="min")
    if se == "DK":
        return "DK", pf.ssc(k_adj=True, k_fixef="nonnested", G_adj=True)
    return {"CRV3": "iso3"}, pf.ssc(k_adj=False, k_fixef="nonnested", G_adj=False)


def pyfixest_vcov_kwargs(se: str, n_years: int) -> dict | None:
    """pyfixest ``vcov_kwargs`` for Driscoll-Kraay (lag :func:`dk_lag`, time ``year``, panel: integer country codes
    in :data:`DK_PANEL_ID`), else None."""
    if se != "DK":
        return None
    return {"lag": dk_lag(n_years), "time_id": "year", "panel_id": DK_PANEL_ID}


#: integer country code column added for pyfixest's Driscoll-Kraay (its panel id must be numeric)
DK_PANEL_ID = "_country_code"


def inference_df(se: str, n_countries: int, n_years: int) -> float:
    """Degrees of freedom of the t distribution used for inference: G - 1 with G the number of clusters (countries;
    the smaller of countries and years for two-way clustering; years for Driscoll-Kraay)."""
    if se == "twoway":
        return float(min(n_countries, n_years) - 1)
    if se == "DK":
        return float(n_years - 1)
    return float(n_countries - 1)


def marginal_effects(
    coefs: pd.Series,
    vcov: pd.DataFrame,
    focal: str,
    interaction: str,
    values: np.ndarray,
    df_t: float | None,
    level: float = 0.95,
) -> pd.DataFrame:
    """d outcome / d treatment = b_focal + b_interaction * m over moderator values m, with delta-method CIs."""
    b1, b2 = coefs[focal], coefs[interaction]
    v11, v22, v12 = vcov.loc[focal, focal], vcov.loc[interaction, interaction], vcov.loc[focal, interaction]
    m = np.asarray(values, float)
    est = b1 + b2 * m
    se = np.sqrt(np.maximum(v11 + m**2 * v22 + 2 * m * v12, 0))
    q = stats.norm.ppf(0.5 + level / 2) if df_t is None else stats.t.ppf(0.5 + level / 2, df_t)
    return pd.DataFrame(
        {
            "moderator_value": m,
            "estimate": est,
            "std_error": se,
            "conf_low": est - q * se,
            "conf_high": est + q * se,
        }
    )


def fit(
    panel: pd.DataFrame,
    treaty: str = "cedaw",
    outcome: str = "v2x_gender",
    coding: str = "ratified",
    controls: str | Sequence[str] = "cole",
    lag: int = 1,
    estimator: str = "twfe",
    se: str = "CRV1",
    years: Sequence[int] | None = None,
    region: str | Sequence[str] | None = None,
    income_group: str | Sequence[str] | None = None,
    moderator: str | None = None,
    model: str | None = None,
    level: float = 0.95,
    rows: np.ndarray | None = None,
) -> FitResult:
    """Fit one Cole-style specification (see the module docstring for every knob) and return a FitResult.

    A specification whose sample is empty or whose treatment does not vary is returned with ``skipped`` set.
    """
    check_choice("se", se, SE_TYPES)
    if estimator == "ologit" and se not in ("CRV1", "CR1"):
        raise ParameterError(
            "se", se, ["CRV1", "CR1"], hint="ordered logit takes a country-clustered sandwich"
        )
    if estimator == "iv" and se == "CRV3":
        raise ParameterError(
            "se", se, [s for s in SE_TYPES if s != "CRV3"], hint="pyfixest has no CRV3 jackknife for 2SLS"
        )
    des = build_design(
        panel, treaty, outcome, coding, controls, lag, estimator, years, region, income_group, moderator, rows
    )
    ctl_label = resolve_controls(controls)[0]
    yrs = _check_years(years)
    fe = ["iso3", "year"] if estimator != "ologit" else ["year (dummies)"]
    base = {
        "model": model or f"{treaty}:{outcome}:{estimator}",
        "outcome": outcome,
        "treaty": treaty,
        "estimator": estimator,
        "coding": coding,
        "controls": ctl_label,
        "lag": int(lag),
        "years": yrs,
        "focal_term": des.focal,
        "terms": des.regressors,
        "moderator": moderator,
        "sample": _sample_label(region, income_group),
        "se_type": se,
        "fixed_effects": fe,
        "notes": list(des.notes),
        "sample_info": des.sample_info,
        "moderator_mean": des.moderator_mean,
    }
    reason = _skip_reason(des, estimator)
    n_obs, n_units = len(des.data), int(des.data["iso3"].nunique())
    if reason:
        return FitResult(
            coefs=pd.DataFrame(columns=COEF_COLUMNS),
            n_obs=n_obs,
            n_units=n_units,
            r2_within=np.nan,
            skipped=reason,
            **base,
        )
    if estimator == "ologit":
        return _fit_ologit(des, se, base, level)
    return _fit_feols(des, estimator, se, base, level)


def _feols(des: Design, estimator: str, se: str):
    """The pyfixest fit of a design (2SLS for ``iv``) with the SE convention ``se``."""
    import pyfixest as pf

    d = des.data
    rhs = des.regressors
    if estimator == "iv":
        exog = [r for r in rhs if r != des.focal]
        fml = f"{des.y} ~ {' + '.join(exog) if exog else '1'} | iso3 + year | {des.focal} ~ {des.instrument}"
    else:
        fml = f"{des.y} ~ {' + '.join(rhs)} | iso3 + year"
    vcov, ssc = pyfixest_vcov(se)
    if se == "DK":
        # pyfixest 0.60 drops vcov_kwargs in the 2SLS first stage: fit with CRV1, then recompute the covariance
        d = d.assign(**{DK_PANEL_ID: pd.factorize(d["iso3"])[0]})
        vcov = pyfixest_vcov("CRV1")[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = pf.feols(fml, data=d, vcov=vcov, ssc=ssc, fixef_rm="none", demeaner=fe.pyfixest_demeaner())
        if se == "DK":
            m.vcov("DK", vcov_kwargs=pyfixest_vcov_kwargs(se, d["year"].nunique()))
    return m


def _fit_feols(des: Design, estimator: str, se: str, base: dict, level: float) -> FitResult:
    d = des.data
    # CRV3 of OLS: the exact jackknife below (fe.twfe_crv3) replaces pyfixest's G refits
    m = _feols(des, estimator, "CRV1" if se == "CRV3" and estimator != "iv" else se)
    names = list(m._coefnames)
    notes = list(base.pop("notes"))
    if des.focal not in names:
        return FitResult(
            coefs=pd.DataFrame(columns=COEF_COLUMNS),
            n_obs=len(d),
            n_units=d["iso3"].nunique(),
            r2_within=np.nan,
            skipped=f"treatment {des.focal} collinear with fixed effects/controls",
            notes=notes,
            **base,
        )
    dropped = [r for r in des.regressors if r not in names]
    if dropped:
        notes.append(f"Dropped as collinear: {', '.join(dropped)}.")
    beta = np.asarray(m._beta_hat, float)
    V = np.asarray(m._vcov, float)
    if se == "CRV3" and estimator != "iv":
        # exact leave-one-country-out downdates instead of G refits (same numbers as pyfixest's CRV3; tested)
        V = fe.twfe_crv3(
            d["iso3"].to_numpy(), d["year"].to_numpy(), d[des.y].to_numpy(float), d[names].to_numpy(float)
        )[1]
    if se == "DK":
        notes.append(f"Driscoll-Kraay lag: {dk_lag(d['year'].nunique())} years.")
    df_t = inference_df(se, d["iso3"].nunique(), d["year"].nunique())
    with np.errstate(invalid="ignore"):  # a two-way variance can be negative (not PSD): its SE is missing
        coefs = coef_frame(names, beta, np.sqrt(np.diag(V)), df_t, level)
    r2w = float(getattr(m, "_r2_within", np.nan))
    st: dict[str, float] = {"df_t": df_t}
    ar = None
    if estimator == "iv":
        ar = _iv_diagnostics(des, se, level, st, notes)
        r2w = np.nan
    me, qe = _moderated(des, names, beta, V, df_t, level)
    return FitResult(
        coefs=coefs,
        n_obs=int(m._N),
        n_units=int(d["iso3"].nunique()),
        r2_within=r2w,
        notes=notes,
        marginal_effects=me,
        moderator_effects=qe,
        stats=st,
        ar_set=ar,
        **base,
    )


def _iv_diagnostics(des: Design, se: str, level: float, st: dict, notes: list[str]) -> dict[str, Any]:
    """First-stage cluster-robust F and the Anderson-Rubin confidence set of a 2SLS design (into ``st``/``notes``)."""
    exog = [r for r in des.regressors if r != des.focal]
    first = Design(des.data, des.focal, [des.instrument], des.instrument, exog, None, None, None, None, [])
    fs = _feols(first, "twfe", se)
    tt = fs.tidy().loc[des.instrument, "t value"]
    st["first_stage_F"] = float(tt**2)
    ar_se = se if se in ("CRV1", "CR1") else "CRV1"
    test = anderson_rubin(des.data, des.y, des.focal, des.instrument, exog, se=ar_se)
    ar = test.confidence_set(level)
    st["ar_p_zero"] = test.p_value(0.0)
    notes.append(
        f"First stage: {des.focal} on {des.instrument}, cluster-robust F = {tt**2:.1f}"
        + (" (weak instrument: F < 10)." if tt**2 < 10 else ".")
    )
    notes.append(
        f"Anderson-Rubin {level:.0%} set for {term_label(des.focal, plain=True)}: {ar['text']} (weak-instrument "
        f"robust; cluster-robust {ar_se} AR statistic against F(1, G-1), inverted in closed form)."
    )
    return ar


def _moderated(
    des: Design, names: list[str], beta: np.ndarray, V: np.ndarray, df_t: float | None, level: float
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """Marginal effects over the moderator's 5th-95th percentile range and at its 10th/50th/90th percentiles."""
    if not (des.interaction and des.interaction in names and des.moderator_mean is not None):
        return None, None
    b = pd.Series(beta, index=names)
    Vdf = pd.DataFrame(V, index=names, columns=names)
    mean = des.moderator_mean
    raw = des.data[des.moderator].to_numpy(float) + mean
    grid = np.linspace(*np.quantile(raw, [0.05, 0.95]), 21)
    me = marginal_effects(b, Vdf, des.focal, des.interaction, grid - mean, df_t, level)
    me["moderator_value"] = grid
    me.insert(0, "moderator", des.moderator)
    qv = np.array(list(des.moderator_quantiles.values()))
    q = marginal_effects(b, Vdf, des.focal, des.interaction, qv - mean, df_t, level)
    q["moderator_value"] = qv
    stat = q["estimate"] / q["std_error"]
    q["statistic"] = stat
    q["p_value"] = 2 * (stats.norm.sf(np.abs(stat)) if df_t is None else stats.t.sf(np.abs(stat), df_t))
    mod_label = term_label(des.moderator)
    q["term"] = [f"{des.focal}@{des.moderator}={k}" for k in des.moderator_quantiles]
    q["term_label"] = [
        f"{term_label(des.focal)} at {k[1:]}th percentile of {mod_label} ({v:.3g})"
        for k, v in des.moderator_quantiles.items()
    ]
    q["quantile"] = [int(k[1:]) for k in des.moderator_quantiles]
    return me, q


def ordered_logit_model(endog: np.ndarray, exog: pd.DataFrame):
    """statsmodels ``OrderedModel`` (logit) with an analytic score (and a Hessian from it).

    statsmodels differentiates the ordered-logit likelihood numerically (2K log-likelihood evaluations per
    gradient, K^2 per Hessian), which takes several seconds with year dummies; the likelihood, the
    parameterisation (thresholds as first cut + log increments) and the optimiser are statsmodels' own.
    """
    from statsmodels.miscmodels.ordinal_model import OrderedModel
    from statsmodels.tools.numdiff import approx_fprime

    class _AnalyticOrderedLogit(OrderedModel):
        def score_obs(self, params, **kwds):
            params = np.asarray(params, float)
            k = self.k_vars
            th = self.transform_threshold_params(params)  # [-inf, c0, c1, ..., inf]
            xb = self.exog @ params[:k] if k else np.zeros(self.nobs)
            j = np.asarray(self.endog, int)
            upp, low = th[j + 1] - xb, th[j] - xb
            F = stats.logistic.cdf

            def f(z):  # logistic density, 0 at the infinite outer thresholds
                return np.where(np.isfinite(z), stats.logistic.pdf(np.where(np.isfinite(z), z, 0)), 0.0)

            prob = np.maximum(F(upp) - F(low), 1e-300)
            fu, fl = f(upp), f(low)
            n_thr = len(th) - 3  # number of log-increment parameters
            out = np.empty((self.nobs, k + 1 + n_thr))
            out[:, :k] = -((fu - fl) / prob)[:, None] * self.exog
            out[:, k] = (fu - fl) / prob
            incr = np.exp(params[k + 1 :])
            for li in range(n_thr):  # th[m] contains incr[li] for m >= li + 2
                l_idx = li + 1
                out[:, k + 1 + li] = incr[li] * (fu * (j >= l_idx) - fl * (j >= l_idx + 1)) / prob
            return out

        def score(self, params):
            return self.score_obs(params).sum(axis=0)

        def hessian(self, params):
            h = approx_fprime(np.asarray(params, float), self.score, centered=True)
            return (h + h.T) / 2

    return _AnalyticOrderedLogit(endog, exog, distr="logit")


def _fit_ologit(des: Design, se: str, base: dict, level: float) -> FitResult:
    d = des.data
    notes = list(base.pop("notes"))
    y = d[des.y].round().astype(int)
    X = ologit_exog(d, des.regressors)
    mod = ordered_logit_model(y.to_numpy(), X)
    groups = pd.factorize(d["iso3"])[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mod.fit(
            method="bfgs",
            maxiter=2000,
            disp=False,
            gtol=1e-7,
            cov_type="cluster",
            cov_kwds={"groups": groups},
        )
    if not res.mle_retvals.get("converged", True):
        notes.append("Ordered logit optimiser did not report convergence.")
    names = list(X.columns)
    k = len(names)
    beta = np.asarray(res.params[:k], float)
    V = np.asarray(res.cov_params())[:k, :k]
    if se == "CRV1":
        # statsmodels' cluster sandwich is CR1: G/(G-1) (N-1)/(N-K); CRV1 for likelihood models (fixest): G/(G-1)
        n, K = len(d), len(res.params)
        V = V / ((n - 1) / (n - K))
    idx = [i for i, c in enumerate(names) if c in des.regressors]
    dropped = [c for c in des.regressors if c not in names]
    if dropped:
        notes.append(f"Dropped as constant in sample: {', '.join(dropped)}.")
    coefs = coef_frame([names[i] for i in idx], beta[idx], np.sqrt(np.diag(V))[idx], None, level)
    notes.append("Pooled ordered logit with year dummies (no country effects); coefficients are log-odds.")
    me, qe = _moderated(des, names, beta, V, None, level)
    return FitResult(
        coefs=coefs,
        n_obs=len(d),
        n_units=int(d["iso3"].nunique()),
        r2_within=np.nan,
        notes=notes,
        marginal_effects=me,
        moderator_effects=qe,
        stats={"pseudo_r2": float(res.prsquared), "llf": float(res.llf)},
        **base,
    )


def ologit_exog(d: pd.DataFrame, regressors: Sequence[str]) -> pd.DataFrame:
    """Regressors plus year dummies (first year dropped), no constant: the ordered-logit design matrix."""
    yd = pd.get_dummies(d["year"].astype(int), prefix="yr", drop_first=True, dtype=float)
    X = pd.concat(
        [d[list(regressors)].astype(float).reset_index(drop=True), yd.reset_index(drop=True)], axis=1
    )
    keep = X.columns[X.std(ddof=0) > 0]
    return X[keep]


# ----------------------------------------------------------------------------------------------------------------
# weak-instrument-robust inference for the 2SLS


@dataclass
class AndersonRubin:
    """The cluster-robust Anderson-Rubin test of ``beta = b`` in ``y = beta d + X g + country + year + u`` with one
    instrument ``z`` (Anderson and Rubin 1949; Andrews, Stock and Sun 2019 for the cluster-robust form).

    AR(b) is the cluster-robust Wald statistic of the coefficient on ``z`` in the regression of ``y - b d`` on ``z``,
    ``X`` and the fixed effects (the reduced form under the null); with one instrument it equals
    ``(pi_y - b pi_d)^2 / (V_yy - 2 b V_yd + b^2 V_dd)``, where ``pi_y``, ``pi_d`` are the coefficients on ``z`` in
    the regressions of ``y`` and ``d`` and the ``V`` are their cluster-robust (co)variances (same small-sample
    factor as :func:`fit`: CRV1 or CR1). Its null distribution does not depend on the instrument's strength;
    critical values from F(1, G-1), as the t(G-1) of the Wald tests. The confidence set
    ``{b: AR(b) <= c}`` solves a quadratic inequality, so it is exact (no grid): a bounded interval when the first
    stage is strong enough (``pi_d^2 / V_dd > c``), otherwise the union of two half-lines or the whole line.
    """

    pi_y: float
    pi_d: float
    v_yy: float
    v_yd: float
    v_dd: float
    df: float

    def statistic(self, b: float | np.ndarray) -> np.ndarray:
        b = np.asarray(b, float)
        return (self.pi_y - b * self.pi_d) ** 2 / (self.v_yy - 2 * b * self.v_yd + b**2 * self.v_dd)

    def p_value(self, b: float | np.ndarray) -> np.ndarray | float:
        p = stats.f.sf(self.statistic(b), 1, self.df)
        return float(p) if np.ndim(p) == 0 else p

    def critical_value(self, level: float = 0.95) -> float:
        return float(stats.f.ppf(level, 1, self.df))

    def confidence_set(self, level: float = 0.95) -> dict[str, Any]:
        """{kind, intervals, text, level}: ``kind`` is bounded, two rays, real line or empty; ``intervals`` a
        list of (low, high) with +-inf for unbounded ends."""
        c = self.critical_value(level)
        qa = self.pi_d**2 - c * self.v_dd
        qb = -2 * (self.pi_y * self.pi_d - c * self.v_yd)
        qc = self.pi_y**2 - c * self.v_yy
        disc = qb**2 - 4 * qa * qc
        inf = float("inf")
        if qa > 0:
            if disc < 0:
                kind, iv = "empty", []
            else:
                r = sorted(((-qb - np.sqrt(disc)) / (2 * qa), (-qb + np.sqrt(disc)) / (2 * qa)))
                kind, iv = "bounded", [(float(r[0]), float(r[1]))]
        elif qa < 0:
            if disc <= 0:
                kind, iv = "real line", [(-inf, inf)]
            else:
                r = sorted(((-qb - np.sqrt(disc)) / (2 * qa), (-qb + np.sqrt(disc)) / (2 * qa)))
                kind, iv = "two rays", [(-inf, float(r[0])), (float(r[1]), inf)]
        else:  # pi_d^2 / V_dd exactly at the critical value: linear inequality
            root = -qc / qb if qb else np.nan
            kind = "half-line"
            iv = [(-inf, float(root))] if qb > 0 else [(float(root), inf)]
        return {"kind": kind, "intervals": iv, "text": _interval_text(iv), "level": level}


def _interval_text(iv: list[tuple[float, float]]) -> str:
    if not iv:
        return "empty"

    def f(x: float) -> str:
        return "−∞" if x == -np.inf else ("∞" if x == np.inf else f"{x:.3f}")

    return " ∪ ".join(
        f"{'(' if lo == -np.inf else '['}{f(lo)}, {f(hi)}{')' if hi == np.inf else ']'}" for lo, hi in iv
    )


def anderson_rubin(
    data: pd.DataFrame, y: str, d: str, z: str, exog: Sequence[str], se: str = "CRV1"
) -> AndersonRubin:
    """:class:`AndersonRubin` for the 2SLS of ``y`` on ``d`` instrumented by ``z``, controls ``exog``, country and
    year fixed effects (swept exactly), clustered by country with the ``se`` factor (CRV1 or CR1)."""
    check_choice("se", se, ["CRV1", "CR1"])
    order = np.argsort(data["iso3"].to_numpy(), kind="stable")
    dd = data.iloc[order]
    sw = fe.TwoWaySweeper(dd["iso3"].to_numpy(), dd["year"].to_numpy())
    Z = sw.sweep(dd[[y, d, z, *exog]].to_numpy(float))
    yv, dv, W = Z[:, 0], Z[:, 1], Z[:, 2:]
    WtW_inv = np.linalg.inv(W.T @ W)
    a = WtW_inv[0]  # row of (W'W)^-1 for z
    gy, gd = WtW_inv @ (W.T @ yv), WtW_inv @ (W.T @ dv)
    ey, ed = yv - W @ gy, dv - W @ gd
    h = W @ a
    Sy, Sd = sw.country_sums((h * ey)[:, None])[:, 0], sw.country_sums((h * ed)[:, None])[:, 0]
    n, G, k = len(yv), sw.C, W.shape[1]
    K = k + sw.T if se == "CRV1" else k + sw.C + sw.T - 1
    adj = G / (G - 1) * (n - 1) / (n - K)
    return AndersonRubin(
        pi_y=float(gy[0]),
        pi_d=float(gd[0]),
        v_yy=float(adj * Sy @ Sy),
        v_yd=float(adj * Sy @ Sd),
        v_dd=float(adj * Sd @ Sd),
        df=float(G - 1),
    )


def fit_many(panel: pd.DataFrame, outcomes: Sequence[str], **kwargs: Any) -> list[FitResult]:
    """:func:`fit` for each outcome (same other parameters); outcomes are validated before any fit."""
    check_choices("outcomes", list(outcomes), valid_outcomes(panel))
    return [fit(panel, outcome=o, **kwargs) for o in outcomes]


def tidy_all(results: Sequence[FitResult]) -> pd.DataFrame:
    """Concatenate the tidy tables of several results (the results contract)."""
    return pd.concat([r.tidy() for r in results], ignore_index=True)


def require_estimated(
    results: Sequence[FitResult],
    panel: pd.DataFrame,
    years: Sequence[int] | None = None,
    region: str | Sequence[str] | None = None,
    income_group: str | Sequence[str] | None = None,
) -> None:
    """EmptySampleError when no model of ``results`` could be estimated, naming the sample filters, what the panel
    has under them and each distinct reason; nothing when at least one was estimated."""
    results = list(results)
    if not results or any(r.skipped is None for r in results):
        return
    reasons: dict[str, list[str]] = {}
    for r in results:
        reasons.setdefault(str(r.skipped), []).append(r.model)
    raise EmptySampleError(
        f"none of the {len(results)} requested model(s) could be estimated with the sample filters "
        f"{describe_filters(panel, years, region, income_group)}; "
        + "; ".join(f"{reason}: {', '.join(models)}" for reason, models in reasons.items())
    )


def describe_filters(
    panel: pd.DataFrame,
    years: Sequence[int] | None = None,
    region: str | Sequence[str] | None = None,
    income_group: str | Sequence[str] | None = None,
) -> str:
    """The filters in words, with what the panel offers: its years, and the rows each filter keeps on its own."""
    yr = panel["year"]
    parts = [
        f"years={list(years) if years is not None else 'all'} (the panel has {int(yr.min())}-{int(yr.max())})"
    ]
    for name, val in (("region", region), ("income_group", income_group)):
        if val is None:
            continue
        vals = [val] if isinstance(val, str) else list(val)
        rows = panel[panel[name].astype("string").isin(vals).fillna(False).to_numpy(dtype=bool)]
        parts.append(f"{name}={vals} ({len(rows):,} panel rows, {rows['iso3'].nunique()} countries)")
    if region is not None and income_group is not None:
        regions = [region] if isinstance(region, str) else list(region)
        inc = panel.loc[panel["region"].astype("string").isin(regions).fillna(False).to_numpy(dtype=bool)]
        levels = sorted(inc["income_group"].dropna().astype(str).unique())
        parts.append(f"income groups present in {regions}: {levels or 'none'}")
    return ", ".join(parts)
