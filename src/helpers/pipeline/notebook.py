"""One call that starts every notebook: :func:`start`.

Right after its ``parameters`` cell, each notebook runs ``run = start("<notebook stem>", globals())``, which

1. reads the parameter names the notebook declares (:func:`helpers.pipeline.runner.declared_parameters`);
2. checks each value with the rule of its name (:data:`helpers.core.params.RULES`; a declared name without a rule
   is an error), serving the rules the valid lists they name (:data:`VOCABULARIES`: from the helpers, or from
   the loaded panel for choices that depend on data, such as outcome columns);
3. creates the run folder ``reports/<notebook>/<run_label>/`` (:func:`helpers.report.export.run_dir`), applies the
   plot theme, silences pandas' FutureWarnings in the notebook's output, prints the library versions and starts
   the Chromium of static figure export in the background (:func:`helpers.report.export.warm_up`), and keeps
   jsonschema's IRI format checker from loading with the first figure display
   (:func:`helpers.core.imports.skip_iri_format_checker`, 2.5 s of CPU per kernel); in a kernel the runner started,
   it also lets the kernel exit without Python's finalisation (:func:`quick_exit_under_runner`, about 1 s per run);
4. returns a :class:`Run`: the run folder (``run.out``), the validated values (``run.values``, also as
   attributes: ``run.treaties`` is the full list when the parameter is []; ``run.country`` is the unit's code also
   when the country was given by name), the panel (``run.panel``, loaded once, from ``panel_path``) and the
   treaty's short name (``run.short``).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from helpers.core import imports, params, paths
from helpers.core.errors import HelpersError
from helpers.pipeline import runner


def _numeric_columns(panel: pd.DataFrame) -> list[str]:
    return [c for c in panel.columns if pd.api.types.is_numeric_dtype(panel[c])]


def _outcomes(ctx: Context) -> list[str]:
    from helpers.data import variables  # not helpers.estimate.models: scipy.stats alone takes 2 s to import

    return variables.valid_outcomes(ctx.panel) or _numeric_columns(ctx.panel)


def _regions(ctx: Context) -> list[str]:
    p = ctx.panel
    return sorted(p["region"].dropna().astype(str).unique()) if "region" in p.columns else []


def _panel_years(ctx: Context) -> list[int]:
    p, col = ctx.panel, ctx.value("time_col", "year")
    return sorted(int(y) for y in p[col].dropna().unique()) if col in p.columns else []


def _units(ctx: Context) -> Callable[[Any], Any]:
    from helpers.data import countries

    unit_col, name_col = ctx.value("unit_col", "iso3"), ctx.value("name_col", "country")
    return lambda value: countries.resolve_unit(ctx.panel, value, unit_col, name_col)


def _models(attr: str) -> Callable[[Context], Any]:
    def get(ctx: Context) -> Any:
        from helpers.estimate import models

        return getattr(models, attr)

    return get


def _main_estimators(ctx: Context) -> list[str]:
    from helpers.estimate import models

    return [e for e in models.ESTIMATORS if e != "ologit"]


def _treaties(ctx: Context) -> list[str]:
    from helpers.data import treaties

    return list(treaties.TREATIES)


def _panel_constant(attr: str) -> Callable[[Context], Any]:
    def get(ctx: Context) -> Any:
        from helpers.data import panel

        return getattr(panel, attr)

    return get


def _timing(attr: str) -> Callable[[Context], Any]:
    def get(ctx: Context) -> Any:
        from helpers.estimate import timing

        return getattr(timing, attr)

    return get


def _did(attr: str) -> Callable[[Context], Any]:
    def get(ctx: Context) -> Any:
        from helpers.estimate import did

        return getattr(did, attr)

    return get


def _spec_estimators(ctx: Context) -> list[str]:
    from helpers.estimate import specs

    return list(specs.SPEC_ESTIMATORS)


def _sample_modes(ctx: Context) -> list[str]:
    from helpers.estimate import specs

    return list(specs.SAMPLE_MODES)


def _boot_weights(ctx: Context) -> list[str]:
    from helpers.estimate import inference

    return list(inference.BOOT_WEIGHTS)


def _donor_rules(ctx: Context) -> list[str]:
    from helpers.estimate import synth

    return list(synth.DONOR_RULES)


#: Vocabulary key (:data:`helpers.core.params.VOCABULARY_KEYS`) -> how to get its valid values.
VOCABULARIES: dict[str, Callable[[Context], Any]] = {
    "treaties": _treaties,
    "successor_rules": _panel_constant("SUCCESSOR_RULES"),
    "yemen_rules": _panel_constant("YEMEN_RULES"),
    "first_panel_year": _panel_constant("FIRST_YEAR"),
    "codings": _models("CODINGS"),
    "estimators": _models("ESTIMATORS"),
    "main_estimators": _main_estimators,
    "spec_estimators": _spec_estimators,
    "sample_modes": _sample_modes,
    "se_types": _models("SE_TYPES"),
    "control_sets": lambda ctx: list(_models("CONTROL_SETS")(ctx)),
    "control_columns": _models("CONTROL_COLUMNS"),
    "moderators": _models("MODERATORS"),
    "income_groups": _models("INCOME_LEVELS"),
    "hazard_covariates": _timing("HAZARD_COVARIATES"),
    "baselines": _timing("BASELINES"),
    "km_groups": _timing("KM_GROUPS"),
    "links": _timing("LINKS"),
    "control_groups": _did("CONTROL_GROUPS"),
    "base_periods": _did("BASE_PERIODS"),
    "boot_weights": _boot_weights,
    "donor_rules": _donor_rules,
    "columns": lambda ctx: list(ctx.panel.columns),
    "numeric_columns": lambda ctx: _numeric_columns(ctx.panel),
    "outcomes": _outcomes,
    "regions": _regions,
    "panel_years": _panel_years,
    "units": _units,
}


class Context:
    """The :class:`helpers.core.params.Vocabulary` of one notebook run: valid lists by key, other parameters'
    values, and the panel (loaded from ``panel_path`` the first time a rule or the notebook needs it, and validated
    with the notebook's ``unit_col``, ``time_col`` and ``outcome``: :func:`helpers.data.panel.load`)."""

    def __init__(self, values: Mapping[str, Any], panel: pd.DataFrame | None = None):
        self.values = dict(values)
        self._panel = panel
        self._cache: dict[str, Any] = {}

    @property
    def panel(self) -> pd.DataFrame:
        if self._panel is None:
            from helpers.data import panel as pnl

            v = self.values
            keys = (v.get("unit_col") or "iso3", v.get("time_col") or "year")
            # on a panel with the project's keys the outcome rule lists the registered outcomes; on any other panel
            # the load also checks that the outcome column is numeric
            outcome = (
                v.get("outcome") if keys != ("iso3", "year") and isinstance(v.get("outcome"), str) else None
            )
            self._panel = pnl.load(
                v.get("panel_path") or None, unit_col=keys[0], time_col=keys[1], outcome=outcome
            )
        return self._panel

    def valid(self, key: str) -> Any:
        if key not in VOCABULARIES:
            raise HelpersError(f"no vocabulary {key!r}; known: {', '.join(sorted(VOCABULARIES))}")
        if key not in self._cache:
            self._cache[key] = VOCABULARIES[key](self)
        return self._cache[key]

    def value(self, name: str, default: Any = None) -> Any:
        return self.values.get(name, default)


@dataclass
class Run:
    """What :func:`start` returns: the run folder, the validated parameter values, the panel, the treaty's name."""

    notebook: str
    out: Path
    values: dict[str, Any]
    context: Context = field(repr=False)

    @property
    def label(self) -> str:
        return str(self.values.get("run_label", "default"))

    @property
    def panel(self) -> pd.DataFrame:
        """The panel of ``panel_path`` (the project panel when ""), loaded once per run."""
        return self.context.panel

    @property
    def short(self) -> str | None:
        """Short name of the ``treaty`` parameter's instrument (e.g. "CEDAW", "CPED"); None without one."""
        from helpers.data import treaties

        t = self.values.get("treaty")
        return treaties.TREATIES[t].short if t in treaties.TREATIES else None

    def __getattr__(self, name: str) -> Any:
        values = self.__dict__.get("values", {})
        if name in values:
            return values[name]
        raise AttributeError(f"{self.__dict__.get('notebook', 'run')} has no parameter or attribute {name!r}")


def validate(notebook: str | Path, namespace: Mapping[str, Any], panel: pd.DataFrame | None = None) -> Run:
    """Check the notebook's declared parameters in ``namespace`` against their rules; no side effects.

    Returns a :class:`Run` whose ``out`` is where :func:`start` would write (not created here).
    """
    path = runner.resolve_notebook(notebook)
    declared = runner.declared_parameters(path)
    if not declared:
        raise HelpersError(f"{path}: no cell tagged 'parameters'; every collection notebook needs one")
    absent = [n for n in declared if n not in namespace]
    if absent:
        raise HelpersError(
            f"{path.stem}: declared parameter(s) {absent} not defined; run the parameters cell first"
        )
    ctx = Context({n: namespace[n] for n in declared}, panel)
    values = params.validate(list(declared), ctx.values, ctx)
    out = Path(paths.REPORTS) / path.stem / str(values.get("run_label", "default"))
    return Run(path.stem, out, values, ctx)


_QUICK_EXIT: list[bool] = []  # registered in this process


def quick_exit_under_runner() -> bool:
    """In a notebook kernel the runner started (its staging folder in :data:`helpers.core.paths.STAGING_ENV`), make the
    kernel's exit skip Python's finalisation; return whether it is registered (in this call or before).

    When papermill shuts a kernel down, the runner waits for the process to end, and a kernel that has imported
    pandas, scipy, plotly and the estimators spends about 1 s tearing its modules down: 10 s per main job, on the
    same two cores as the other notebooks. The kernel's work is done by then: outputs reached the runner with each
    cell, figure files were written (or queued to the render service) before their cell ended. So the process ends
    with ``os._exit`` at the end of the exit handlers that were registered after this call (kaleido's, which closes
    a Chromium started in the kernel; Dask's, which closes a cluster left open), skipping the earlier ones
    (IPython's history, ipykernel's socket clean-up; the runner's jupyter_client removes the connection file) and
    the teardown. Anywhere else (JupyterLab, nbval, a script, pytest: not an ipykernel process the runner started)
    nothing changes."""
    if _QUICK_EXIT:
        return True
    in_kernel = (
        "ipykernel.kernelapp" in sys.modules and sys.modules["ipykernel.kernelapp"].IPKernelApp.initialized()
    )
    if not (in_kernel and os.environ.get(paths.STAGING_ENV)):
        return False
    atexit.register(_exit_now)
    _QUICK_EXIT.append(True)
    return True


def _exit_now() -> None:
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        with contextlib.suppress(Exception):  # a closed or absent stream: nothing left to flush
            stream.flush()
    os._exit(0)


def start(notebook: str | Path, namespace: Mapping[str, Any], panel: pd.DataFrame | None = None) -> Run:
    """Validate the parameters, create the run folder, apply the theme, print versions (module docstring).

    ``notebook``: the notebook's stem (e.g. "03_treaty_effects"); ``namespace``: its ``globals()``; ``panel``: a
    panel already in memory (else loaded from ``panel_path`` when first needed).
    """
    from helpers.report import export, plots

    imports.skip_iri_format_checker()  # plotly's first figure display imports nbformat, hence jsonschema
    run = validate(notebook, namespace, panel)
    quick_exit_under_runner()  # before warm_up: a Chromium started in this kernel is still closed at exit
    export.warm_up()  # Chromium for the static figures starts while the notebook computes
    run.out = export.run_dir(run.notebook, run.label)
    warnings.filterwarnings("ignore", category=FutureWarning)
    plots.apply_theme()
    print(export.versions())
    return run
