"""Parameter validation: the shared validators, one rule per notebook parameter name, and :func:`parameters_cell`
(the one parser of a notebook's tagged ``parameters`` cell, used by the runner and the results site).

Validators (:func:`check_choice`, :func:`check_choices`, :func:`check_draws`) return the value or raise
:class:`helpers.core.errors.ParameterError` naming the parameter, the bad value and what would be valid; helpers
use them for their own arguments.

:data:`RULES` maps every parameter *name* declared by a notebook's ``parameters`` cell to its :class:`Rule`: the
type, range or shape the value must have. A name means the same thing, with the same rule, in every notebook; a
notebook that needs another meaning uses another name (``hazard_covariates`` in 02, not ``covariates`` as in 04).
:func:`validate` checks a notebook's values against their rules (``helpers.pipeline.notebook.start`` calls it);
a declared parameter without a rule is an error, so a new parameter cannot skip validation.

Many valid lists live above this layer (treaty keys in ``helpers.data.treaties``, codings in
``helpers.estimate.models``) or in the loaded panel (its outcome columns, regions, years). A rule names such a
list by a *vocabulary* key (e.g. ``"treaties"``, ``"outcomes"``) and reads it at validation time from a
:class:`Vocabulary`, which ``helpers.pipeline.notebook`` provides; this module imports nothing above
``helpers.core``. :data:`VOCABULARY_KEYS` lists the keys, each with where its values come from.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from helpers.core import paths
from helpers.core.errors import HelpersError, ParameterError

# ---------------------------------------------------------------------------------------------------------------
# validators
# ---------------------------------------------------------------------------------------------------------------


def check_choice(name: str, value: object, valid: Iterable[object], hint: str = "") -> object:
    """Return ``value`` if it is one of ``valid``; otherwise raise ParameterError listing the valid values."""
    valid = list(valid)
    if value not in valid:
        raise ParameterError(name, value, valid, hint)
    return value


def check_choices(name: str, values: Iterable[object], valid: Iterable[object], hint: str = "") -> list:
    """Validate every element of a list parameter; the error names the first bad element and lists the valid ones."""
    valid = list(valid)
    if isinstance(values, str):
        values = [values]
    out = list(values)
    bad = [v for v in out if v not in valid]
    if bad:
        raise ParameterError(name, bad[0] if len(bad) == 1 else bad, valid, hint)
    return out


def check_label(name: str, value: object) -> str:
    """Return ``value`` if it is a valid run label (:data:`LABEL_SHAPE`); else raise ParameterError."""
    if isinstance(value, str) and LABEL_RE.fullmatch(value) and len(value) <= MAX_LABEL_LENGTH:
        return value
    shown = value
    if isinstance(value, str) and len(value) > 40:
        shown = f"{value[:40]}... ({len(value)} characters)"
    raise ParameterError(name, shown, hint=LABEL_SHAPE)


def check_draws(name: str, value: object, minimum: int = 0) -> int:
    """Return ``value`` if it is an integer (not a bool) of at least ``minimum``; else raise ParameterError.

    Used for parameters such as ``n_wild`` / ``n_perm`` where 0 means "skip this step".
    """
    if not is_int(value) or value < minimum:
        raise ParameterError(
            name,
            value,
            hint=f"an integer, at least {minimum}" + ("; 0 skips the step" if minimum == 0 else ""),
        )
    return int(value)


def is_int(value: object) -> bool:
    """True for a Python or numpy integer (a bool is not an integer parameter)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def is_number(value: object) -> bool:
    """True for a finite int or float (not a bool)."""
    return (
        isinstance(value, (int, float, np.integer, np.floating))
        and not isinstance(value, (bool, np.bool_))
        and math.isfinite(value)
    )


#: Names of runs and notebooks in file names: letters, digits, '_', '-', '.', starting with a letter or digit.
LABEL_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
#: Longest run label: the runner builds file names from it (``<notebook>--<label>.failed.ipynb``, a staging folder),
#: which must stay under the 255-byte limit of common file systems.
MAX_LABEL_LENGTH = 80
LABEL_SHAPE = (
    f"a name of letters, digits, '_', '-', '.', starting with a letter or digit, at most {MAX_LABEL_LENGTH} "
    "characters"
)
#: Smallest number of wild-bootstrap draws accepted (0 skips): with fewer, a p-value has a resolution coarser
#: than 0.01 and a 5% test cannot be exact (alpha * (B + 1) must be an integer; Davidson and MacKinnon 2000).
MIN_WILD_DRAWS = 99
#: Largest lag of treatment and controls in the Cole-style regressions and the specification curve.
MAX_LAG = 10
#: Largest lag of the covariates of the ratification-hazard models (helpers.estimate.timing.at_risk_set).
MAX_COVARIATE_LAG = 5

# ---------------------------------------------------------------------------------------------------------------
# rules
# ---------------------------------------------------------------------------------------------------------------

#: Vocabulary keys a rule may read -> where the valid values come from (``helpers.pipeline.notebook`` serves them).
VOCABULARY_KEYS: dict[str, str] = {
    "treaties": "keys of helpers.data.treaties.TREATIES",
    "successor_rules": "helpers.data.panel.SUCCESSOR_RULES",
    "yemen_rules": "helpers.data.panel.YEMEN_RULES",
    "first_panel_year": "helpers.data.panel.FIRST_YEAR",
    "codings": "helpers.estimate.models.CODINGS",
    "estimators": "helpers.estimate.models.ESTIMATORS",
    "main_estimators": "helpers.estimate.models.ESTIMATORS without the ordered logit",
    "spec_estimators": "helpers.estimate.specs.SPEC_ESTIMATORS",
    "sample_modes": "helpers.estimate.specs.SAMPLE_MODES",
    "se_types": "helpers.estimate.models.SE_TYPES",
    "control_sets": "keys of helpers.estimate.models.CONTROL_SETS",
    "control_columns": "helpers.estimate.models.CONTROL_COLUMNS",
    "moderators": "helpers.estimate.models.MODERATORS",
    "income_groups": "helpers.estimate.models.INCOME_LEVELS",
    "hazard_covariates": "helpers.estimate.timing.HAZARD_COVARIATES",
    "baselines": "helpers.estimate.timing.BASELINES",
    "km_groups": "helpers.estimate.timing.KM_GROUPS",
    "links": "helpers.estimate.timing.LINKS",
    "control_groups": "helpers.estimate.did.CONTROL_GROUPS",
    "base_periods": "helpers.estimate.did.BASE_PERIODS",
    "boot_weights": "helpers.estimate.inference.BOOT_WEIGHTS",
    "donor_rules": "keys of helpers.estimate.synth.DONOR_RULES",
    "columns": "the loaded panel's columns",
    "numeric_columns": "the loaded panel's numeric columns",
    "outcomes": "helpers.data.panel.OUTCOMES present in the loaded panel (on a panel with none of them: its "
    "numeric columns)",
    "regions": "the loaded panel's values of 'region'",
    "panel_years": "the loaded panel's values of its time column",
    "units": "a resolver: a value of the panel's unit column, or a name in its name column -> the unit "
    "(helpers.data.countries.resolve_unit)",
}


class Vocabulary(Protocol):
    """What a rule may read besides the value: valid lists by key, and other parameters' values."""

    def valid(self, key: str) -> Any:
        """The valid values named ``key`` (a key of :data:`VOCABULARY_KEYS`): a list, a number, or a resolver."""

    def value(self, name: str, default: Any = None) -> Any:
        """Another parameter's value, as given (validated first when the rule lists it in ``after``)."""


Check = Callable[[str, Any, Vocabulary], Any]


@dataclass(frozen=True)
class Rule:
    """The rule of one parameter name.

    ``shape``: the valid values in words (the error's hint, and documentation); ``check(name, value, vocab)``
    returns the value (normalised only where the shape says so) or raises ParameterError; ``needs``: the
    vocabulary keys it reads; ``after``: other parameters it reads, validated before it.
    """

    shape: str
    check: Check
    needs: tuple[str, ...] = ()
    after: tuple[str, ...] = ()

    def __call__(self, name: str, value: Any, vocab: Vocabulary | None = None) -> Any:
        if self.needs and vocab is None:
            raise HelpersError(f"the rule of {name!r} needs the vocabularies {list(self.needs)}")
        return self.check(name, value, vocab)

    @property
    def stage(self) -> int:
        """Validation order: plain rules, then rules reading vocabularies, then rules reading other parameters."""
        return 2 if self.after else 1 if self.needs else 0


def _fail(name: str, value: Any, shape: str) -> None:
    raise ParameterError(name, value, hint=shape)


def _is_list(value: Any) -> bool:
    return isinstance(value, (list, tuple))


def integer(minimum: int = 0, maximum: int | None = None, shape: str = "") -> Rule:
    """An integer in ``[minimum, maximum]``; a short range is listed in full in the error."""
    if not shape:
        shape = (
            f"an integer, {minimum} or more" if maximum is None else f"an integer from {minimum} to {maximum}"
        )

    def check(name, value, vocab):
        if not is_int(value) or value < minimum or (maximum is not None and value > maximum):
            if maximum is not None and maximum - minimum <= 20:
                raise ParameterError(name, value, list(range(minimum, maximum + 1)), shape)
            _fail(name, value, shape)
        return value

    return Rule(shape, check)


def draws(at_least: int) -> Rule:
    """0 (skip the step) or an integer of at least ``at_least``."""
    shape = f"0 (skip) or an integer of at least {at_least}"

    def check(name, value, vocab):
        if not is_int(value) or not (value == 0 or value >= at_least):
            _fail(name, value, shape)
        return value

    return Rule(shape, check)


def boolean() -> Rule:
    def check(name, value, vocab):
        if not isinstance(value, (bool, np.bool_)):
            raise ParameterError(name, value, [True, False])
        return value

    return Rule("True or False", check)


def choice(key: str, *, blank: str = "", hint: str = "") -> Rule:
    """One of the vocabulary ``key``; with ``blank``, also "" (meaning ``blank``)."""
    shape = f"one of {VOCABULARY_KEYS[key]}" + (f', or "" ({blank})' if blank else "")

    def check(name, value, vocab):
        if blank and isinstance(value, str) and value == "":
            return value
        valid = list(vocab.valid(key))
        if not isinstance(value, (str, int, float)) or value not in valid:
            raise ParameterError(
                name, value, valid, "; ".join(filter(None, [hint, blank and f'or "" for {blank}']))
            )
        return value

    return Rule(shape, check, needs=(key,))


def choices(key: str, *, empty: str | None = None, all_if_empty: bool = False) -> Rule:
    """A list of values of the vocabulary ``key``; ``empty`` says what [] means (None: [] is not allowed).

    With ``all_if_empty`` the rule returns the whole vocabulary for [] (the one normalising list rule).
    """
    shape = f"a list of {VOCABULARY_KEYS[key]}" + (f"; [] means {empty}" if empty else " (at least one)")

    def check(name, value, vocab):
        valid = list(vocab.valid(key))
        if not _is_list(value) or (not value and empty is None):
            raise ParameterError(name, value, valid, shape)
        bad = [v for v in value if not isinstance(v, (str, int, float)) or v not in valid]
        if bad:
            raise ParameterError(name, bad[0] if len(bad) == 1 else bad, valid, shape)
        return list(valid) if all_if_empty and not value else list(value)

    return Rule(shape, check, needs=(key,))


def column(blank: str = "") -> Rule:
    """A column of the loaded panel; with ``blank``, also "" (meaning ``blank``)."""
    return choice("columns", blank=blank, hint="not a column of the panel")


def year_span(*, empty: str | None = None) -> Rule:
    """``[first, last]`` integer years with first <= last; with ``empty``, also [] (meaning ``empty``)."""
    shape = "[first, last]: two integer years, first <= last" + (f"; [] means {empty}" if empty else "")

    def check(name, value, vocab):
        if empty and _is_list(value) and len(value) == 0:
            return value
        if not _is_span(value):
            _fail(name, value, shape)
        return value

    return Rule(shape, check)


def _is_span(value: Any) -> bool:
    return _is_list(value) and len(value) == 2 and all(map(is_int, value)) and value[0] <= value[1]


def year_spans() -> Rule:
    shape = "a list of [first, last] pairs of integer years, first <= last (at least one)"

    def check(name, value, vocab):
        if not _is_list(value) or not value or not all(map(_is_span, value)):
            _fail(name, value, shape)
        return value

    return Rule(shape, check)


def integer_list(minimum: int, maximum: int) -> Rule:
    valid = list(range(minimum, maximum + 1))
    shape = f"a list of integers from {minimum} to {maximum} (at least one)"

    def check(name, value, vocab):
        if not _is_list(value) or not value:
            raise ParameterError(name, value, valid, shape)
        bad = [v for v in value if not is_int(v) or v not in valid]
        if bad:
            raise ParameterError(name, bad[0] if len(bad) == 1 else bad, valid, shape)
        return value

    return Rule(shape, check)


def _probability() -> Rule:
    shape = "a number strictly between 0 and 1, e.g. 0.05"

    def check(name, value, vocab):
        if not is_number(value) or not 0 < value < 1:
            _fail(name, value, shape)
        return value

    return Rule(shape, check)


def _mbar_grid() -> Rule:
    shape = "[] (skip) or a list of finite numbers, 0 or more"

    def check(name, value, vocab):
        if not _is_list(value) or not all(is_number(m) and m >= 0 for m in value):
            _fail(name, value, shape)
        return value

    return Rule(shape, check)


def _event_window() -> Rule:
    shape = "[lo, hi]: two integer event times with lo < -1 < hi"

    def check(name, value, vocab):
        ok = _is_list(value) and len(value) == 2 and all(map(is_int, value))
        if not ok or not value[0] < -1 < value[1]:
            _fail(name, value, shape)
        return value

    return Rule(shape, check)


def _case_window() -> Rule:
    shape = "[pre, post]: integer years before and after the event year, pre >= 2 and post >= 1"

    def check(name, value, vocab):
        ok = _is_list(value) and len(value) == 2 and all(map(is_int, value))
        if not ok or value[0] < 2 or value[1] < 1:
            _fail(name, value, shape)
        return value

    return Rule(shape, check)


def _sdid_placebos() -> Rule:
    shape = "None (every donor) or an integer, 1 or more"

    def check(name, value, vocab):
        if value is not None and (not is_int(value) or value < 1):
            _fail(name, value, shape)
        return value

    return Rule(shape, check)


def _first_year() -> Rule:
    shape = "an integer year, helpers.data.panel.FIRST_YEAR or later"

    def check(name, value, vocab):
        lo = vocab.valid("first_panel_year")
        if not is_int(value) or value < lo:
            _fail(name, value, f"{shape} (= {lo})")
        return value

    return Rule(shape, check, needs=("first_panel_year",))


def _optional_year(zero: str = "default", *, after: str | None = None) -> Rule:
    """0 (meaning ``zero``) or a positive integer year; not before the parameter ``after`` when both are set."""
    shape = f"0 ({zero}) or an integer year" + (f", not before {after}" if after else "")

    def check(name, value, vocab):
        if not is_int(value) or value < 0:
            _fail(name, value, shape)
        other = vocab.value(after, 0) if after else 0
        if value and is_int(other) and other and value < other:
            _fail(name, value, f"{shape} (= {other})")
        return value

    return Rule(shape, check, after=(after,) if after else ())


def _file(*, blank: str, none: str = "", suffixes: tuple[str, ...]) -> Rule:
    shape = (
        f'"" ({blank})'
        + (f', "none" ({none})' if none else "")
        + f", or an existing {'/'.join(suffixes)} file"
    )

    def check(name, value, vocab):
        if not isinstance(value, (str, Path)):
            _fail(name, value, shape)
        if str(value) == "" or (none and str(value).lower() == "none"):
            return value
        p = Path(value)
        if p.suffix not in suffixes or not p.is_file():
            _fail(name, value, shape + (" (no such file)" if not p.is_file() else ""))
        return value

    return Rule(shape, check)


def _label() -> Rule:
    return Rule(LABEL_SHAPE, lambda name, value, vocab: check_label(name, value))


def _panel_path() -> Rule:
    """ "" (the project panel), the label of a panel built by notebook 00, or an existing .parquet/.csv file."""
    shape = (
        '"" (the project panel data/processed/panel.parquet), the label of a panel built by notebook 00 '
        "(data/processed/<label>/panel.parquet), or an existing .parquet/.csv file"
    )

    def check(name, value, vocab):
        if not isinstance(value, (str, Path)):
            _fail(name, value, shape)
        processed = Path(paths.PROCESSED)
        s = str(value)
        if s in ("", "default"):
            return value
        p = Path(s)
        if LABEL_RE.fullmatch(s) and p.suffix.lower() not in (".parquet", ".csv"):
            if (processed / s / "panel.parquet").is_file():
                return value
            built = sorted(q.parent.name for q in processed.glob("*/panel.parquet"))
            raise ParameterError(name, value, ['""', *built], f"no panel built with this label; {shape}")
        if p.suffix.lower() not in (".parquet", ".csv") or not p.is_file():
            _fail(name, value, shape + ("" if p.is_file() else f" (no such file: {p})"))
        return value

    return Rule(shape, check)


def _controls() -> Rule:
    shape = "a named control set (keys of helpers.estimate.models.CONTROL_SETS) or a list of control columns"

    def check(name, value, vocab):
        if isinstance(value, str):
            check_choice(name, value, vocab.valid("control_sets"), hint="or a list of control columns")
        elif _is_list(value):
            check_choices(name, value, vocab.valid("control_columns"), hint="or a named control set")
        else:
            raise ParameterError(name, value, vocab.valid("control_sets"), shape)
        return value

    return Rule(shape, check, needs=("control_sets", "control_columns"))


def _treaty() -> Rule:
    shape = (
        'one of keys of helpers.data.treaties.TREATIES; or "" (no treaty) in notebooks 04 and 05 on a panel '
        "without treaties, which then need cohort_col (04) or event_year (05); in 04 a treaty and cohort_col "
        "exclude each other"
    )

    def check(name, value, vocab):
        valid = list(vocab.valid("treaties"))
        if isinstance(value, str) and value == "":
            cohort, event = vocab.value("cohort_col"), vocab.value("event_year")
            if cohort is None and event is None:  # a notebook without the alternatives
                raise ParameterError(name, value, valid, "this notebook needs a treaty")
            if not cohort and not event:
                raise ParameterError(
                    name,
                    value,
                    valid,
                    '"" (no treaty) needs cohort_col (notebook 04) or event_year (notebook 05)',
                )
            return value
        if not isinstance(value, str) or value not in valid:
            raise ParameterError(
                name, value, valid, 'or "" with cohort_col / event_year on a panel without treaties'
            )
        if (
            vocab.value("cohort_col") and vocab.value("event_year") is None
        ):  # 04: the cohorts come from cohort_col
            raise ParameterError(
                name,
                value,
                hint=f"cohort_col {vocab.value('cohort_col')!r} gives the cohorts, so no treaty is read: "
                'set treaty to ""',
            )
        return value

    return Rule(shape, check, needs=("treaties",), after=("cohort_col", "event_year"))


def _tristate() -> Rule:
    shape = "True, False or None (None: True on a panel with a 'sovereign' column, no filter on one without)"

    def check(name, value, vocab):
        if value is not None and not isinstance(value, (bool, np.bool_)):
            raise ParameterError(name, value, [True, False, None], shape)
        return value

    return Rule(shape, check)


def _m_grid() -> Rule:
    shape = "[] (R HonestDiD's default grid: 0 to the pre-period bound, 5 values) or a list of finite numbers, 0 or more"

    def check(name, value, vocab):
        if not _is_list(value) or not all(is_number(m) and m >= 0 for m in value):
            _fail(name, value, shape)
        return value

    return Rule(shape, check)


#: Callaway-Sant'Anna cell estimators (the same tuple as helpers.estimate.did.EST_METHODS; a test keeps them equal).
EST_METHODS = ("dr", "ipw", "reg")


def _est_method() -> Rule:
    shape = '"dr" (doubly robust, R did\'s default), "ipw" or "reg" (outcome regression)'

    def check(name, value, vocab):
        if value not in EST_METHODS:
            raise ParameterError(name, value, list(EST_METHODS), shape)
        return value

    return Rule(shape, check)


def _unit() -> Rule:
    shape = "a unit of the panel: a value of unit_col (an ISO3 code) or of name_col (a country name)"

    def check(name, value, vocab):
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            _fail(name, value, shape)
        return vocab.valid("units")(value)  # the resolver raises ParameterError listing the units

    return Rule(shape, check, needs=("units",), after=("unit_col", "name_col"))


_OUTCOME = choice("outcomes")
_YEARS = year_span(empty="every year of the panel")

#: One rule per parameter name used by any notebook.
RULES: dict[str, Rule] = {
    # run and input
    "run_label": _label(),
    "panel_path": _panel_path(),
    "ratifications_path": _file(
        blank="the table that goes with the panel",
        none="no ratification table",
        suffixes=(".parquet",),
    ),
    "write": boolean(),
    "claims_path": _file(blank="the project's reviewed table data/reference/claims.csv", suffixes=(".csv",)),
    # panel columns (04, 05 run on any tidy panel)
    "unit_col": column(),
    "time_col": column(),
    "name_col": column(blank="no name column"),
    "cohort_col": column(blank="the column {treaty}_year"),
    "status_col": column(blank="the column {treaty}_ratified"),
    # instruments and units
    "treaty": _treaty(),
    "treaties": choices("treaties", empty="all 18 instruments", all_if_empty=True),
    "country": _unit(),
    "region": choice("regions", blank="all regions"),
    "income_group": choice("income_groups", blank="all income groups"),
    # building the panel (00)
    "first_year": _first_year(),
    "last_year": _optional_year("the latest year any outcome covers", after="first_year"),
    "successor_rule": choice("successor_rules"),
    "yemen_rule": choice("yemen_rules"),
    # samples and years
    "year": choice("panel_years"),
    "years": _YEARS,
    "ciri_years": _YEARS,
    "windows": year_spans(),
    "start_year": _optional_year("the treaty's adoption"),
    "end_year": _optional_year("the last panel year", after="start_year"),
    "gap_min_years": integer(0),
    # outcomes and regressors
    "outcome": _OUTCOME,
    "outcomes": choices("outcomes"),
    "ciri_outcomes": choices("outcomes", empty="skip the CIRI models"),
    "moderator_outcome": _OUTCOME,
    "moderators": choices("moderators", empty="no moderator models"),
    "controls": _controls(),
    "control_sets": choices("control_sets"),
    "covariates": choices("numeric_columns", empty="no covariates"),
    "hazard_covariates": choices("hazard_covariates", empty="no covariates"),
    # treatment coding and timing
    "coding": choice("codings"),
    "codings": choices("codings"),
    "lag": integer(0, MAX_LAG),
    "lags": integer_list(0, MAX_LAG),
    "covariate_lag": integer(0, MAX_COVARIATE_LAG),
    "anticipation": integer(0),
    "event_window": _event_window(),
    "event_year": _optional_year("the first ratification year of treaty"),
    "window": _case_window(),
    # estimators and standard errors
    "estimator": choice("main_estimators", hint="ordered logit runs in the CIRI section (ciri_estimators)"),
    "estimators": choices("spec_estimators"),
    "sample_mode": choice("sample_modes"),
    "ciri_estimators": choices("estimators", empty="skip the CIRI models"),
    "se": choice("se_types"),
    "robustness": boolean(),
    "alpha": _probability(),
    "baseline": choice("baselines"),
    "km_by": choice("km_groups"),
    "links": choices("links"),
    "control_group": choice("control_groups"),
    "base_period": choice("base_periods"),
    "donor_rule": choice("donor_rules"),
    "honest_mbar": _mbar_grid(),
    "honest_m": _m_grid(),
    "sovereign_only": _tristate(),
    "balanced": boolean(),
    "est_method": _est_method(),
    "min_controls": integer(
        0,
        shape="an integer, 0 or more: smallest number of comparison units of a cohort-time cell (0: no trimming)",
    ),
    "min_donors": integer(
        1, shape="an integer, 1 or more: fewer donors than this is reported as a thin comparison"
    ),
    # resampling
    "seed": integer(0, shape="a non-negative integer"),
    "n_wild": draws(MIN_WILD_DRAWS),
    "n_null": draws(MIN_WILD_DRAWS),
    "wild_weights": choice("boot_weights"),
    "n_boot": integer(0, shape="an integer, 0 or more (0: analytic standard errors only)"),
    "n_perm": integer(0, shape="an integer, 0 or more (0 skips)"),
    "n_check": integer(0, shape="an integer, 0 or more (0 skips)"),
    "sdid_placebos": _sdid_placebos(),
}


def validate(
    names: Sequence[str], values: Mapping[str, Any], vocab: Vocabulary | None = None
) -> dict[str, Any]:
    """Check ``values[name]`` with ``RULES[name]`` for every name; return the (normalised) values.

    Rules run in :attr:`Rule.stage` order (a rule that reads another parameter runs after it). A name without a
    rule is an error.
    """
    missing = [n for n in names if n not in RULES]
    if missing:
        raise HelpersError(
            f"no rule for parameter(s) {missing}: add one to helpers.core.params.RULES (every declared "
            f"parameter is validated), or rename the parameter to one that has the intended rule"
        )
    out: dict[str, Any] = {}
    for name in sorted(names, key=lambda n: RULES[n].stage):
        out[name] = RULES[name](name, values[name], vocab)
    return {n: out[n] for n in names}


def parameters_cell(nb, where: str = "notebook") -> dict[str, dict]:
    """Parameters declared in the cell tagged ``parameters`` of a notebook (its JSON as a dict, or an nbformat node,
    which is a dict too): name -> {"default": source text, "value": the literal value (source text if not a
    literal), "help": comment}.

    Parsed with :mod:`ast` (papermill's own inspector skips any line whose comment contains "=")."""
    import ast

    cells = [
        c
        for c in nb["cells"]
        if c.get("cell_type") == "code" and "parameters" in ((c.get("metadata") or {}).get("tags") or [])
    ]
    if not cells:
        return {}
    src = cells[0]["source"]
    src = "".join(src) if isinstance(src, list) else src
    try:
        tree = ast.parse(src)
    except SyntaxError as exc:
        raise HelpersError(f"{where}: the parameters cell is not valid Python ({exc})") from exc
    comments = _comments(src)
    out: dict[str, dict] = {}
    for node in tree.body:
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else [node.target]
            if isinstance(node, ast.AnnAssign)
            else []
        )
        for t in targets:
            if isinstance(t, ast.Name):
                text = ast.get_source_segment(src, node.value) if node.value else ""
                try:
                    value = ast.literal_eval(node.value) if node.value else None
                except ValueError:
                    value = text
                out[t.id] = {
                    "default": text,
                    "value": value,
                    # the comment(s) on the assignment's lines: also inside a parenthesised multi-line value
                    "help": " ".join(
                        comments[n] for n in range(node.lineno, node.end_lineno + 1) if n in comments
                    ),
                }
    return out


def _comments(src: str) -> dict[int, str]:
    """Line number -> the text of the comment on that line (tokenized, so a '#' inside a string is no comment)."""
    import io
    import tokenize

    return {
        tok.start[0]: tok.string.lstrip("#").strip()
        for tok in tokenize.generate_tokens(io.StringIO(src).readline)
        if tok.type == tokenize.COMMENT
    }
