"""Multi-model regression tables (in the manner of fixest's ``etable``) built from :class:`helpers.models.FitResult`.

:func:`regression_table` returns a :class:`RegressionTable`: ``df`` (a string DataFrame, one column per model,
the row labels in the first column ``""``), ``notes`` (SE convention, star levels, model caveats), and
``to_html()``, ``to_latex()`` and ``to_markdown()`` renderings; a notebook displays it through ``_repr_html_`` (the
HTML rendering, with its rules and notes, not the bare DataFrame). Rows: one coefficient row (estimate with stars) and
one row of standard errors in parentheses per term; then dependent variable, estimator, fixed effects
(Country / Year: Yes, No or "dummies"), standard-error convention, N, countries, R² within (pseudo R² for the
ordered logit). Stars: * p < .1, ** p < .05, *** p < .01.

Term rows carry readable labels by default (:func:`helpers.models.term_label`: ``cedaw_ratified_l1`` ->
"CEDAW ratified (t−1)"); ``term_labels=None`` keeps the raw names, and ``RegressionTable.terms`` always lists the
raw names of the coefficient rows in order. The LaTeX rendering escapes every special character and maps the
non-ASCII symbols used in labels (minus, dashes, ×, ², ...) to LaTeX, so it compiles with pdflatex and
``booktabs``. ``helpers.export.save_table(table, name, out)`` writes the three renderings (``.html``, ``.tex``,
``.md``), keeping the rule between coefficients and statistics and the notes.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from helpers.core.errors import ParameterError
from helpers.data.variables import term_label, variable_label
from helpers.estimate import models as M
from helpers.estimate.models import (
    CONTROL_SET_LABELS,
    ESTIMATOR_SHORT,
    SE_LABELS,
    FitResult,
)
from helpers.report.export import latex_escape

STAR_LEVELS = ((0.01, "***"), (0.05, "**"), (0.1, "*"))
STAR_NOTE = "* p < 0.1, ** p < 0.05, *** p < 0.01"
SE_SHORT = {
    "CRV1": "CRV1 (country)",
    "CR1": "CR1 (country)",
    "CRV3": "CRV3 (country)",
    "twoway": "CRV1 (country, year)",
    "DK": "Driscoll–Kraay",
}


def stars(p: float) -> str:
    """Significance stars for a p-value (* .1, ** .05, *** .01)."""
    if p is None or not np.isfinite(p):
        return ""
    for level, s in STAR_LEVELS:
        if p < level:
            return s
    return ""


def _fmt(x: float, digits: int) -> str:
    if x is None or not np.isfinite(x):
        return ""
    return f"{x:,.{digits}f}" if abs(x) < 1e6 else f"{x:.{digits}e}"


@dataclass
class RegressionTable:
    """A rendered multi-model table: ``df`` (strings), ``notes``, where the coefficient block ends, raw terms."""

    df: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    n_coef_rows: int = 0
    title: str = ""
    terms: list[str] = field(default_factory=list)  #: raw term names of the coefficient rows, in order

    @staticmethod
    def latex_escape(s: object) -> str:
        """LaTeX escaping used by the renderings (:func:`latex_escape`); ``export.save_table`` uses it too."""
        return latex_escape(s)

    @property
    def notes_text(self) -> str:
        return " ".join(self.notes)

    # -------------------------------------------------------------------------------------------- renderers
    def to_markdown(self) -> str:
        """GitHub-flavoured Markdown pipe table (a row of dashes between coefficients and statistics), then the
        notes, one paragraph each. Stars and pipes are backslash-escaped so that they render literally."""
        cols = list(self.df.columns)
        head = "| " + " | ".join(_md(c) if c else " " for c in cols) + " |"
        sep = "|" + "|".join([":---"] + [":---:"] * (len(cols) - 1)) + "|"
        lines = [head, sep]
        for i, row in enumerate(self.df.itertuples(index=False)):
            if i == self.n_coef_rows:
                lines.append("| " + " | ".join(["—"] * len(cols)) + " |")
            lines.append("| " + " | ".join(_md(str(v)) for v in row) + " |")
        out = "\n".join(lines)
        if self.notes:
            out += "\n\n" + "\n\n".join(_md(n) for n in self.notes)
        return out + "\n"

    def _repr_html_(self) -> str:
        """Jupyter shows the table as a regression table (rules, notes), not as its bare string DataFrame."""
        return self.to_html()

    def __str__(self) -> str:
        return self.to_markdown()

    def to_html(self, table_class: str = "regtable") -> str:
        """HTML table (``<table class="regtable">``) with the notes in the footer."""
        e = html.escape
        cols = list(self.df.columns)
        style = "border-collapse:collapse;border-top:2px solid #000;border-bottom:none"
        parts = [f'<table class="{e(table_class)}" style="{style}">']
        if self.title:
            parts.append(f"<caption>{e(self.title)}</caption>")
        th = "padding:.25em .7em;border-bottom:1px solid #000;text-align:"
        parts.append(
            "<thead><tr>"
            + "".join(
                f'<th style="{th}{"left" if i == 0 else "center"}">{e(c)}</th>' for i, c in enumerate(cols)
            )
            + "</tr></thead><tbody>"
        )
        for i, row in enumerate(self.df.itertuples(index=False)):
            style = ' style="border-top:1px solid #444"' if i == self.n_coef_rows else ""
            cells = "".join(
                f'<td style="padding:.1em .7em;text-align:{"left" if j == 0 else "center"}">{e(str(v))}</td>'
                for j, v in enumerate(row)
            )
            parts.append(f"<tr{style}>{cells}</tr>")
        parts.append("</tbody>")
        if self.notes:
            parts.append(
                f'<tfoot><tr><td colspan="{len(cols)}" style="text-align:left;font-size:smaller;'
                f'border-top:2px solid #000;padding-top:.4em;max-width:60em">'
                + "<br>".join(e(n) for n in self.notes)
                + "</td></tr></tfoot>"
            )
        parts.append("</table>")
        return "\n".join(parts) + "\n"

    def to_latex(self) -> str:
        """LaTeX ``tabular`` with booktabs rules (needs ``\\usepackage{booktabs}``), then the notes as a paragraph.

        Every cell is escaped (:func:`latex_escape`); stars become superscripts and a leading minus a math minus.
        Pure ASCII apart from accented Latin letters, so it compiles with pdflatex.
        """
        cols = list(self.df.columns)
        spec = "l" + "c" * (len(cols) - 1)
        lines = [
            f"\\begin{{tabular}}{{{spec}}}",
            "\\toprule",
            " & ".join([latex_escape(cols[0])] + [_tex_wrap(c) for c in cols[1:]]) + " \\\\",
            "\\midrule",
        ]
        for i, row in enumerate(self.df.itertuples(index=False)):
            if i == self.n_coef_rows:
                lines.append("\\midrule")
            cells = [latex_escape(str(row[0]))] + [
                _tex_number(str(v)) if i < self.n_coef_rows else _tex_wrap(str(v)) for v in row[1:]
            ]
            lines.append(" & ".join(cells) + " \\\\")
        lines += ["\\bottomrule", "\\end{tabular}"]
        if self.notes:
            lines += [
                "\\par\\smallskip",
                "{\\footnotesize " + " ".join(latex_escape(n) for n in self.notes) + "\\par}",
            ]
        return "\n".join(lines) + "\n"


def _md(s: str) -> str:
    """Escape Markdown emphasis and table characters (``\\ * _ |``) and line breaks."""
    return (
        s.replace("\\", "\\\\").replace("*", "\\*").replace("_", "\\_").replace("|", "\\|").replace("\n", " ")
    )


_NUM_CELL = re.compile(
    r"^(?P<open>\(?)(?P<minus>[-\u2212]?)(?P<body>[0-9][0-9,.]*(?:e[-+]?[0-9]+)?)"
    r"(?P<close>\)?)(?P<stars>\**)$"
)


def _tex_wrap(cell: str, width: int = 16) -> str:
    """A text cell, escaped; longer than ``width`` characters it is broken at spaces into a nested one-column
    ``tabular`` (core LaTeX, no extra package) so that long labels do not widen the table."""
    if len(cell) <= width or " " not in cell:
        return _tex_number(cell)
    lines, cur = [], ""
    for word in cell.split(" "):
        if cur and len(cur) + 1 + len(word) > width:
            lines.append(cur)
            cur = word
        else:
            cur = f"{cur} {word}" if cur else word
    lines.append(cur)
    return "\\begin{tabular}[t]{@{}c@{}}" + " \\\\ ".join(latex_escape(x) for x in lines) + "\\end{tabular}"


def _tex_number(cell: str) -> str:
    """A table cell in LaTeX: numbers get a math minus and superscript stars; anything else is escaped."""
    m = _NUM_CELL.match(cell)
    if not m:
        return latex_escape(cell)
    out = m["open"] + ("$-$" if m["minus"] else "") + m["body"] + m["close"]
    return out + (f"$^{{{m['stars']}}}$" if m["stars"] else "")


def regression_table(
    results: Sequence[FitResult],
    labels: Sequence[str] | None = None,
    terms: Sequence[str] | None = None,
    term_labels: str | dict[str, str] | None = "auto",
    digits: int = 3,
    title: str = "",
) -> RegressionTable:
    """Build a multi-model regression table from FitResults (one column per model).

    ``terms`` restricts and orders the coefficient rows (default: every term, focal terms first, in order of
    appearance). ``term_labels``: ``"auto"`` (default) labels rows with :func:`helpers.models.term_label`; a dict
    overrides some of those labels; ``None`` keeps the raw term names. ``labels`` names the model columns
    (default ``(1)``, ``(2)``...). The dependent-variable row shows the outcome's readable label. Skipped models
    show "—" with the reason in the notes.
    """
    results = list(results)
    if not results:
        raise ParameterError("results", "[]", hint="at least one FitResult")
    if labels is not None and len(labels) != len(results):
        raise ParameterError("labels", list(labels), hint=f"one label per model ({len(results)} models)")
    cols = list(labels) if labels is not None else [f"({i + 1})" for i in range(len(results))]
    row_label = _row_labeller(term_labels)
    order = _term_order(results, terms)
    rows: list[list[str]] = []
    for t in order:
        coef_row, se_row = [row_label(t)], [""]
        for r in results:
            coef, se = _coef_cells(r, t, digits)
            coef_row.append(coef)
            se_row.append(se)
        rows += [coef_row, se_row]
    df = pd.DataFrame(rows + _stats_rows(results, digits), columns=[""] + cols)
    notes = _table_notes(results, cols)
    return RegressionTable(df=df, notes=notes, n_coef_rows=len(rows), title=title, terms=list(order))


def _row_labeller(term_labels: str | dict[str, str] | None) -> Callable[[str], str]:
    """Row label of a term: a label given in ``term_labels`` (dict), else the readable label (``"auto"``), else
    the raw name (``None``)."""
    if term_labels is None:
        rename: dict[str, str] = {}
    elif isinstance(term_labels, str):
        if term_labels != "auto":
            raise ParameterError("term_labels", term_labels, ["auto", None], hint="or a dict {term: label}")
        rename = {}
    else:
        rename = dict(term_labels)

    def row_label(t: str) -> str:
        if t in rename:
            return rename[t]
        return t if term_labels is None else term_label(t)

    return row_label


def _term_order(results: list[FitResult], terms: Sequence[str] | None) -> list[str]:
    """The coefficient rows: ``terms`` (each must be estimated somewhere), or every term with the focal terms
    first, in order of appearance."""
    if terms is not None:
        order = list(terms)
        known = {t for r in results for t in r.coefs["term"]}
        bad = [t for t in order if t not in known]
        if bad:
            raise ParameterError("terms", bad, sorted(known))
        return order
    order: list[str] = []
    for r in results:
        if r.focal_term not in order and not r.coefs.empty:
            order.append(r.focal_term)
    for r in results:
        for t in r.coefs["term"]:
            if t not in order:
                order.append(t)
    return order


def _coef_cells(r: FitResult, t: str, digits: int) -> tuple[str, str]:
    """The coefficient (with stars) and standard-error cells of term ``t`` in model ``r``; "—" if not estimated."""
    c = r.coefs.loc[r.coefs["term"].eq(t)] if not r.coefs.empty else r.coefs
    if r.skipped is not None:
        return "—", ""
    if c.empty:
        return "", ""
    c = c.iloc[0]
    return _fmt(c["estimate"], digits) + stars(c["p_value"]), f"({_fmt(c['std_error'], digits)})"


def _fe_cell(r: FitResult, which: str) -> str:
    if which == "country":
        return "Yes" if "iso3" in r.fixed_effects else "No"
    if "year" in r.fixed_effects:
        return "Yes"
    return "dummies" if any(f.startswith("year") for f in r.fixed_effects) else "No"


def _r2_cell(r: FitResult, digits: int) -> str:
    if r.skipped is not None:
        return ""
    if "pseudo_r2" in r.stats:
        return _fmt(r.stats["pseudo_r2"], digits) + " (pseudo)"
    return _fmt(r.r2_within, digits)


def _stats_rows(results: list[FitResult], digits: int) -> list[list[str]]:
    """The rows under the coefficients: outcome, estimator, fixed effects, controls, sample, SE type, N, fit."""
    stats_rows = [
        ["Dependent variable"] + [variable_label(r.outcome) for r in results],
        ["Estimator"] + [ESTIMATOR_SHORT.get(r.estimator, r.estimator) for r in results],
        ["Country FE"] + [_fe_cell(r, "country") for r in results],
        ["Year FE"] + [_fe_cell(r, "year") for r in results],
        ["Controls"] + [CONTROL_SET_LABELS.get(r.controls, "custom") for r in results],
        ["Years"] + [_years_cell(r) for r in results],
        ["SE"] + [SE_SHORT.get(r.se_type, r.se_type) for r in results],
        ["N"] + [f"{r.n_obs:,}" for r in results],
        ["Countries"] + [f"{r.n_units:,}" for r in results],
        ["Countries switching"] + [_switch_cell(r) for r in results],
        ["R² within" if not all("pseudo_r2" in r.stats for r in results) else "Pseudo R² (McFadden)"]
        + [_r2_cell(r, digits) for r in results],
    ]
    if all(r.estimator.startswith("hazard_") for r in results):
        stats_rows = [row for row in stats_rows if row[0] != "Controls"]  # the covariates are the rows
    if any(r.sample != "all" for r in results):
        stats_rows.insert(6, ["Sample"] + [r.sample for r in results])
    if any("first_stage_F" in r.stats for r in results):
        stats_rows.append(
            ["First-stage F"]
            + [_fmt(r.stats["first_stage_F"], 1) if "first_stage_F" in r.stats else "" for r in results]
        )
    if any(r.ar_set is not None for r in results):
        lv = next(r.ar_set["level"] for r in results if r.ar_set is not None)
        stats_rows.append(
            [f"Anderson–Rubin {lv:.0%} set"] + [r.ar_set["text"] if r.ar_set else "" for r in results]
        )
    stats_rows += _moderator_rows(results, digits)
    return stats_rows


def _years_cell(r: FitResult) -> str:
    """First–last year of the estimation sample actually used (not the window asked for)."""
    yrs = r.sample_years
    return "" if yrs is None else f"{yrs[0]}–{yrs[1]}"


def _switch_cell(r: FitResult) -> str:
    n = r.sample_info.get("n_switchers")
    return "" if n is None or r.skipped is not None else f"{n:,}"


def _moderator_rows(results: list[FitResult], digits: int) -> list[list[str]]:
    """Treatment effect at the 10th, 50th and 90th percentile of each model's moderator (estimate with stars, SE)."""
    if not any(r.moderator_effects is not None for r in results):
        return []
    rows = []
    for q in M.MODERATOR_QUANTILES:
        est, se = [f"Effect at moderator p{q}"], [""]
        for r in results:
            me = r.moderator_effects
            row = me.loc[me["quantile"].eq(q)] if me is not None else None
            if row is None or row.empty or r.skipped is not None:
                est.append("")
                se.append("")
                continue
            x = row.iloc[0]
            est.append(_fmt(x["estimate"], digits) + stars(x["p_value"]))
            se.append(f"({_fmt(x['std_error'], digits)})")
        rows += [est, se]
    return rows


def _table_notes(results: list[FitResult], cols: list[str]) -> list[str]:
    """Notes: stars, each SE type, each control set, models not estimated, then the models' own notes (once)."""
    notes = [f"Standard errors in parentheses; {STAR_NOTE}."]
    for se in dict.fromkeys(r.se_type for r in results):
        notes.append(
            f"{SE_SHORT.get(se, se)}: {SE_LABELS.get(se, se)}; inference on t(G-1) for OLS/2SLS, "
            f"normal for likelihood models (ordered logit, hazard)."
        )
    for cs in dict.fromkeys(
        r.controls for r in results if r.controls in M.CONTROL_SETS and r.controls != "none"
    ):
        lag = next(r.lag for r in results if r.controls == cs)
        notes.append(
            f"Controls {CONTROL_SET_LABELS[cs]}: "
            + ", ".join(variable_label(c) for c in M.CONTROL_SETS[cs])
            + (f"; lagged {lag} year{'s' if lag != 1 else ''}." if lag else ".")
        )
    notes += _sample_notes(results, cols)
    seen: set[str] = set()
    for col, r in zip(cols, results, strict=True):
        if r.skipped is not None:
            notes.append(f"{col}: not estimated ({r.skipped}).")
        for n in r.notes:
            if n not in seen and not n.startswith("First stage"):
                seen.add(n)
                notes.append(n)
    return notes


def _sample_notes(results: list[FitResult], cols: list[str]) -> list[str]:
    """Estimation samples: models whose sample starts later or ends earlier than the window asked for (and why),
    and the countries with the outcome observed that missing regressors remove (grouped by models)."""
    notes = []
    for col, r in zip(cols, results, strict=True):
        si = r.sample_info
        if r.skipped is None and si.get("trimmed"):
            req = r.years
            asked = f"{req[0]}–{req[1]}" if req else "every panel year"
            notes.append(
                f"{col}: estimation sample {_years_cell(r)} (asked: {asked}): "
                + "; ".join(M.trimmed_text(t, term_label) for t in si["trimmed"])
                + "."
            )
    groups: dict[str, list[str]] = {}
    for col, r in zip(cols, results, strict=True):
        dropped = r.sample_info.get("dropped", [])
        if dropped and r.skipped is None:
            text = ", ".join(
                f"{d['country']} ({d['iso3']}: "
                + (", ".join(term_label(v) for v in d["missing"]) or "no complete year")
                + ")"
                for d in dropped
            )
            groups.setdefault(text, []).append(col)
    for text, where in groups.items():
        notes.append(
            f"Countries with the outcome observed but no complete country-year, dropped from "
            f"{', '.join(where) if len(where) < len(results) else 'every model'} (variables missing in all "
            f"their years): {text}."
        )
    return notes


# ----------------------------------------------------------------------------------------------------------------
# estimation samples

SAMPLE_COLUMNS = [
    "model",
    "outcome",
    "controls",
    "years_asked",
    "first_year",
    "last_year",
    "n_obs",
    "n_units",
    "n_switchers",
    "window_trimmed",
    "dropped_units",
    "skipped",
]


def sample_frame(results: Sequence[FitResult]) -> pd.DataFrame:
    """One row per model: the years asked for, the estimation sample actually used (first and last year, N,
    countries, countries switching treatment), why it starts later or ends earlier, the countries dropped."""
    rows = []
    for r in results:
        cols = r.sample_columns()
        rows.append(
            {
                "model": r.model,
                "outcome": r.outcome,
                "controls": r.controls,
                "years_asked": "" if r.years is None else f"{r.years[0]}-{r.years[1]}",
                **{k: cols[k] for k in ("first_year", "last_year")},
                "n_obs": r.n_obs,
                "n_units": r.n_units,
                "n_switchers": cols["n_switchers"],
                "window_trimmed": cols["window_trimmed"],
                "dropped_units": cols["dropped_units"],
                "skipped": r.skipped or "",
            }
        )
    out = pd.DataFrame(rows, columns=SAMPLE_COLUMNS)
    for c in ("first_year", "last_year", "n_switchers"):
        out[c] = out[c].astype("Int64")
    return out


def samples_text(results: Sequence[FitResult], treaty_short: str = "") -> str:
    """The estimation samples in sentences (Markdown), from the numbers: one line per distinct sample with the
    models that share it, then the countries dropped."""
    groups: dict[tuple, list[str]] = {}
    for r in results:
        if r.skipped is not None:
            continue
        si = r.sample_info
        key = (si.get("first_year"), si.get("last_year"), r.n_obs, r.n_units, si.get("n_switchers"))
        groups.setdefault(key, []).append(r.model)
    lines = []
    what = f"change {treaty_short} status" if treaty_short else "change treatment status"
    for (fy, ly, n, g, sw), models in groups.items():
        lines.append(
            f"- {fy}–{ly}, N = {n:,} country-years, {g} countries, {sw} of which {what} inside the sample: "
            + ", ".join(f"`{m}`" for m in models)
        )
    trimmed = {
        f"`{r.model}` starts in {r.sample_info['first_year']}"
        + f" ({'; '.join(M.trimmed_text(t, term_label) for t in r.sample_info['trimmed'])})"
        for r in results
        if r.skipped is None and r.sample_info.get("trimmed")
    }
    if trimmed:
        lines.append("- Later start or earlier end than asked: " + "; ".join(sorted(trimmed)) + ".")
    dropped = {
        f"{d['country']} ({d['iso3']}: {', '.join(term_label(v) for v in d['missing']) or 'no complete year'})"
        for r in results
        if r.skipped is None
        for d in r.sample_info.get("dropped", [])
    }
    if dropped:
        lines.append(
            "- Countries with the outcome observed but dropped for missing regressors (variables missing in all "
            "their years): " + "; ".join(sorted(dropped)) + "."
        )
    skipped = [f"`{r.model}` ({r.skipped})" for r in results if r.skipped is not None]
    if skipped:
        lines.append("- Not estimated: " + ", ".join(skipped) + ".")
    return "\n".join(lines)
