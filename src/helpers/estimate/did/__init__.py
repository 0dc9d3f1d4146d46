"""Staggered-adoption difference-in-differences on any tidy panel (facade: import everything from here).

Everything here takes a long (unit x time) DataFrame and column names, so it runs on the project panel
(``iso3``, ``year``, a treaty's ``{treaty}_year`` as the cohort) and on any other panel (e.g. ``mpdta``).

Contents
- cohort handling: :func:`cohort_from_treaty`, :func:`normalize_cohort`, :func:`prepare_panel`
  (documented rules for never-treated codes, always-treated units, late adopters, balancing);
- diagnostics: :func:`timing_overview`, :func:`panel_view`, :func:`bacon_decomposition`;
- estimators: :func:`twfe` (static), :func:`twfe_event_study` (relative-time dummies),
  :func:`sun_abraham`, :func:`callaway_santanna` (+ :meth:`CSResult.aggregate`), :func:`imputation`
  (Borusyak-Jaravel-Spiess) and its library-free check :func:`imputation_points`;
- tests and plumbing: :func:`wald_test`, :func:`pretrend_test`, :func:`stack_event_studies` (figures live in :mod:`helpers.report.figures`);
- comparison units: :func:`keep_sovereign` (sovereign country-years only, :data:`SOVEREIGN_RULE`),
  :func:`control_counts` (per period and cohort-time cell), :func:`trim_thin_cells` (``min_controls``),
  :func:`drop_unit` / :func:`never_treated_units` (leave-one-control-out);
- why estimators differ: :func:`horizon_weights`, :func:`comparison_table`, :func:`explain`;
- sensitivity to parallel-trends violations (Rambachan-Roth with R HonestDiD's defaults: C-LF for relative
  magnitudes, own ARP implementation in ``arp``; optimal FLCI for smoothness, via diff-diff):
  :func:`honest_did`, :func:`cs_event_vcov`.

Libraries: pyfixest (TWFE, event-study regressions), diff-diff 3.13.0 (Goodman-Bacon, Sun-Abraham,
Borusyak-Jaravel-Spiess imputation with standard errors). Callaway-Sant'Anna is implemented here (diff-diff does
not offer the calendar aggregation nor expose influence functions); it follows the R package ``did`` 2.x
(``att_gt`` with ``est_method="reg"`` and ``aggte``) and reproduces its published ``mpdta`` numbers.

Every estimator returns a tidy DataFrame with the broom-style columns ``term, estimate, std_error, statistic,
p_value, conf_low, conf_high, n_obs, n_units`` plus ``estimator`` and, where relevant, ``event_time``.

Modules (one per estimator or step): ``common``, ``cohorts``, ``twfe``, ``bacon``, ``sun_abraham``, ``callaway``, ``imputation``, ``pretrends``, ``honest``, ``arp``, ``controls``, ``compare``.
"""

from __future__ import annotations

from helpers.estimate.did.bacon import BACON_LABELS, bacon_decomposition
from helpers.estimate.did.callaway import (
    AGGREGATIONS,
    BASE_PERIODS,
    BOOT_WEIGHTS,
    CONTROL_GROUPS,
    EST_METHODS,
    CSResult,
    callaway_santanna,
    mboot_weights,
)
from helpers.estimate.did.cohorts import (
    COHORT_RULE,
    NEVER,
    PANEL_VIEW_STATES,
    StaggeredPanel,
    check_columns,
    cohort_from_treaty,
    normalize_cohort,
    panel_view,
    prepare_panel,
    timing_overview,
)
from helpers.estimate.did.common import TIDY_COLUMNS, dd_frame, tidy_from_arrays
from helpers.estimate.did.compare import (
    ESTIMATOR_LABELS,
    comparison_table,
    cs_simple_weights,
    explain,
    horizon_weights,
    imputation_weights,
    twfe_weights,
)
from helpers.estimate.did.controls import (
    MIN_CONTROLS,
    SOVEREIGN_RULE,
    control_counts,
    drop_unit,
    dropped_units,
    keep_sovereign,
    never_treated_units,
    trim_thin_cells,
)
from helpers.estimate.did.honest import (
    HONEST_BOUND,
    HONEST_CI_METHOD,
    HONEST_METHODS,
    cs_event_vcov,
    honest_did,
    sd_upper_bound_mpre,
)
from helpers.estimate.did.imputation import imputation, imputation_points
from helpers.estimate.did.pretrends import pretrend_test, stack_event_studies, wald_test
from helpers.estimate.did.sun_abraham import SA_SSC, sun_abraham, sun_abraham_dd
from helpers.estimate.did.twfe import twfe, twfe_event_study

__all__ = [
    "AGGREGATIONS",
    "BACON_LABELS",
    "BASE_PERIODS",
    "BOOT_WEIGHTS",
    "COHORT_RULE",
    "CONTROL_GROUPS",
    "ESTIMATOR_LABELS",
    "EST_METHODS",
    "HONEST_BOUND",
    "HONEST_CI_METHOD",
    "MIN_CONTROLS",
    "SA_SSC",
    "SOVEREIGN_RULE",
    "HONEST_METHODS",
    "NEVER",
    "PANEL_VIEW_STATES",
    "TIDY_COLUMNS",
    "CSResult",
    "StaggeredPanel",
    "bacon_decomposition",
    "callaway_santanna",
    "check_columns",
    "comparison_table",
    "control_counts",
    "cs_simple_weights",
    "drop_unit",
    "dropped_units",
    "explain",
    "horizon_weights",
    "imputation_weights",
    "keep_sovereign",
    "never_treated_units",
    "sd_upper_bound_mpre",
    "trim_thin_cells",
    "twfe_weights",
    "cohort_from_treaty",
    "cs_event_vcov",
    "dd_frame",
    "honest_did",
    "imputation",
    "imputation_points",
    "mboot_weights",
    "normalize_cohort",
    "panel_view",
    "prepare_panel",
    "pretrend_test",
    "stack_event_studies",
    "sun_abraham",
    "sun_abraham_dd",
    "tidy_from_arrays",
    "timing_overview",
    "twfe",
    "twfe_event_study",
    "wald_test",
]
