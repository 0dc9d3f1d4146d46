"""Multi-model regression tables (in the manner of fixest's ``etable``) built from :class:`helpers.models.FitResult`.

:func:`regression_table` returns a :class:`RegressionTable`: ``df`` (a string DataFrame, one column per model,
the row labels in the first column ``""``), ``notes`` (SE convention, star levels, model caveats), and
``to_html()``, ``to_latex()`` and ``to_markdown()`` renderings. Rows: one coefficient row (estimate with stars) and
one row of standard errors in parentheses per term; then dependent variable, estimator, fixed effects
(Country / Year: Yes, No or "dummies"), standard-error convention, N, countries, R² within (pseudo R² for the
ordered logit). Stars: * p < .1, ** p < .05, *** p < .01. Files are written by ``helpers.export.save_table``.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from helpers.errors import ParameterError
from helpers.models import ESTIMATOR_LABELS, SE_LABELS, FitResult

STAR_LEVELS = ((0.01, "***"), (0.05, "**"), (0.1, "*"))
STAR_NOTE = "* p < 0.1, ** p < 0.05, *** p < 0.01"
SE_SHORT = {"CRV1": "CRV1 (country)", "CR1": "CR1 (country)", "CRV3": "CRV3 (country)"}


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
    """A rendered multi-model table: ``df`` (strings), ``notes``, and where the coefficient block ends."""

    df: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    n_coef_rows: int = 0
    title: str = ""

    @property
    def notes_text(self) -> str:
        return " ".join(self.notes)

    # -------------------------------------------------------------------------------------------- renderers
    def to_markdown(self) -> str:
        """GitHub-flavoured Markdown pipe table followed by the notes."""
        cols = list(self.df.columns)
        head = "| " + " | ".join(c if c else " " for c in cols) + " |"
        sep = "|" + "|".join([":---"] + [":---:"] * (len(cols) - 1)) + "|"
        lines = [head, sep]
        for i, row in enumerate(self.df.itertuples(index=False)):
            if i == self.n_coef_rows:
                lines.append("| " + " | ".join(["—"] * len(cols)) + " |")
            lines.append("| " + " | ".join(str(v).replace("|", "\\|") for v in row) + " |")
        out = "\n".join(lines)
        if self.notes:
            out += "\n\n" + "\n".join(f"*{n}*" if i == 0 else n for i, n in enumerate(self.notes))
        return out + "\n"

    def to_html(self, table_class: str = "regtable") -> str:
        """HTML table (``<table class="regtable">``) with the notes in the footer."""
        e = html.escape
        cols = list(self.df.columns)
        parts = [f'<table class="{e(table_class)}">']
        if self.title:
            parts.append(f"<caption>{e(self.title)}</caption>")
        parts.append("<thead><tr>" + "".join(f'<th{" style=text-align:left" if i == 0 else ""}>{e(c)}</th>'
                                              for i, c in enumerate(cols)) + "</tr></thead><tbody>")
        for i, row in enumerate(self.df.itertuples(index=False)):
            style = ' style="border-top:1px solid #444"' if i == self.n_coef_rows else ""
            cells = "".join(f'<td style="text-align:{"left" if j == 0 else "center"}">{e(str(v))}</td>'
                            for j, v in enumerate(row))
            parts.append(f"<tr{style}>{cells}</tr>")
        parts.append("</tbody>")
        if self.notes:
            parts.append(f'<tfoot><tr><td colspan="{len(cols)}" style="text-align:left;font-size:smaller">'
                         + "<br>".join(e(n) for n in self.notes) + "</td></tr></tfoot>")
        parts.append("</table>")
        return "\n".join(parts) + "\n"

    def to_latex(self) -> str:
        """LaTeX ``tabular`` with booktabs rules (needs ``\\usepackage{booktabs}``), notes under the table."""
        cols = list(self.df.columns)
        spec = "l" + "c" * (len(cols) - 1)
        lines = [f"\\begin{{tabular}}{{{spec}}}", "\\toprule",
                 " & ".join(_tex(c) for c in cols) + " \\\\", "\\midrule"]
        for i, row in enumerate(self.df.itertuples(index=False)):
            if i == self.n_coef_rows:
                lines.append("\\midrule")
            lines.append(" & ".join(_tex(str(v)) for v in row) + " \\\\")
        lines.append("\\bottomrule")
        for n in self.notes:
            lines.append(f"\\multicolumn{{{len(cols)}}}{{l}}{{\\footnotesize {_tex(n)}}} \\\\")
        lines.append("\\end{tabular}")
        return "\n".join(lines) + "\n"


_TEX_MAP = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
            "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "²": r"$^2$", "—": "--",
            "×": r"$\times$", "≥": r"$\geq$", "≤": r"$\leq$"}


def _tex(s: str) -> str:
    return "".join(_TEX_MAP.get(ch, ch) for ch in s)


def regression_table(results: Sequence[FitResult], labels: Sequence[str] | None = None,
                     terms: Sequence[str] | None = None, term_labels: dict[str, str] | None = None,
                     digits: int = 3, title: str = "") -> RegressionTable:
    """Build a multi-model regression table from FitResults (one column per model).

    ``terms`` restricts and orders the coefficient rows (default: every term, focal terms first, in order of
    appearance); ``term_labels`` renames them; ``labels`` names the model columns (default ``(1)``, ``(2)``...).
    Skipped models show "—" with the reason in the notes.
    """
    results = list(results)
    if not results:
        raise ParameterError("results", "[]", hint="at least one FitResult")
    if labels is not None and len(labels) != len(results):
        raise ParameterError("labels", list(labels), hint=f"one label per model ({len(results)} models)")
    cols = list(labels) if labels is not None else [f"({i + 1})" for i in range(len(results))]
    term_labels = dict(term_labels or {})
    if terms is None:
        order: list[str] = []
        for r in results:
            if r.focal_term not in order and not r.coefs.empty:
                order.append(r.focal_term)
        for r in results:
            for t in r.coefs["term"]:
                if t not in order:
                    order.append(t)
    else:
        order = list(terms)
        known = {t for r in results for t in r.coefs["term"]}
        bad = [t for t in order if t not in known]
        if bad:
            raise ParameterError("terms", bad, sorted(known))

    rows: list[list[str]] = []
    for t in order:
        coef_row, se_row = [term_labels.get(t, t)], [""]
        for r in results:
            c = r.coefs.loc[r.coefs["term"].eq(t)] if not r.coefs.empty else r.coefs
            if r.skipped is not None:
                coef_row.append("—")
                se_row.append("")
            elif c.empty:
                coef_row.append("")
                se_row.append("")
            else:
                c = c.iloc[0]
                coef_row.append(_fmt(c["estimate"], digits) + stars(c["p_value"]))
                se_row.append(f"({_fmt(c['std_error'], digits)})")
        rows += [coef_row, se_row]
    n_coef = len(rows)

    def fe(r: FitResult, which: str) -> str:
        if which == "country":
            return "Yes" if "iso3" in r.fixed_effects else "No"
        if "year" in r.fixed_effects:
            return "Yes"
        return "dummies" if any(f.startswith("year") for f in r.fixed_effects) else "No"

    def r2(r: FitResult) -> str:
        if r.skipped is not None:
            return ""
        if "pseudo_r2" in r.stats:
            return _fmt(r.stats["pseudo_r2"], digits) + " (pseudo)"
        return _fmt(r.r2_within, digits)

    stats_rows = [
        ["Dependent variable"] + [r.outcome for r in results],
        ["Estimator"] + [ESTIMATOR_LABELS.get(r.estimator, r.estimator) for r in results],
        ["Country FE"] + [fe(r, "country") for r in results],
        ["Year FE"] + [fe(r, "year") for r in results],
        ["Controls"] + [r.controls for r in results],
        ["Years"] + [("" if r.years is None else f"{r.years[0]}–{r.years[1]}") for r in results],
        ["SE"] + [SE_SHORT.get(r.se_type, r.se_type) for r in results],
        ["N"] + [f"{r.n_obs:,}" for r in results],
        ["Countries"] + [f"{r.n_units:,}" for r in results],
        ["R² within" if not all("pseudo_r2" in r.stats for r in results) else "Pseudo R² (McFadden)"]
        + [r2(r) for r in results],
    ]
    if any(r.sample != "all" for r in results):
        stats_rows.insert(6, ["Sample"] + [r.sample for r in results])
    if any("first_stage_F" in r.stats for r in results):
        stats_rows.append(["First-stage F"] + [_fmt(r.stats["first_stage_F"], 1) if "first_stage_F" in r.stats
                                               else "" for r in results])
    df = pd.DataFrame(rows + stats_rows, columns=[""] + cols)

    notes = [f"Standard errors in parentheses; {STAR_NOTE}."]
    for se in dict.fromkeys(r.se_type for r in results):
        notes.append(f"{SE_SHORT.get(se, se)}: {SE_LABELS.get(se, se)}; inference on t(G-1) for OLS/2SLS, "
                     f"normal for likelihood models (ordered logit, hazard).")
    seen: set[str] = set()
    for col, r in zip(cols, results):
        if r.skipped is not None:
            notes.append(f"{col}: not estimated ({r.skipped}).")
        for n in r.notes:
            if n not in seen and not n.startswith("First stage"):
                seen.add(n)
                notes.append(n)
    return RegressionTable(df=df, notes=notes, n_coef_rows=n_coef, title=title)
