"""The variable registry: what every panel column means, its label for tables and figures, and its role.

:func:`variable_label` gives the readable label of a raw panel column, :func:`term_label` the label of a model
term (lagged ``_l1`` -> ``(t−1)``, interactions ``_x_``), :func:`treaty_short` an instrument's abbreviation.
"""

from __future__ import annotations

import re

from helpers.data.treaties import TREATIES as INFO

TREATY_KEYS = list(INFO)
YEARS_SINCE_BINS = [(0, 4), (5, 9), (10, None)]

# readable labels for tables and figures (raw column names stay the keys; unknown names pass through unchanged)

OUTCOME_LABELS: dict[str, str] = {
    "v2xpe_exlgender": "Exclusion by gender (V-Dem)",
    "wecon_cirights": "Women's economic rights (CIRIGHTS)",
    "wopol_cirights": "Women's political rights (CIRIGHTS)",
    "v2x_gender": "Women's political empowerment",
    "v2x_gencl": "Women's civil liberties",
    "v2x_gencs": "Women's civil society participation",
    "v2x_genpp": "Women's political participation",
    "v2lgfemleg": "Female legislators, lower chamber (%)",
    "v2clacjstw": "Access to justice for women",
    "v2cldmovew": "Women's freedom of domestic movement",
    "v2csgender": "Women's participation in CSOs",
    "v2pepwrgen": "Power distributed by gender",
    "v2cldiscw": "Women's freedom of discussion",
    "v2clslavef": "Women's freedom from forced labour",
    "v2clprptyw": "Women's property rights",
    "v2mefemjrn": "Female journalists (%)",
    "v2clgencl": "Gender equality in civil liberties",
    "wecon": "CIRI women's economic rights",
    "wopol": "CIRI women's political rights",
    "wosoc": "CIRI women's social rights",
    "physint": "CIRI physical integrity rights",
    "wbl_index": "WBL index",
    "wbl_mobility": "WBL: mobility",
    "wbl_workplace": "WBL: workplace",
    "wbl_pay": "WBL: pay",
    "wbl_marriage": "WBL: marriage",
    "wbl_parenthood": "WBL: parenthood",
    "wbl_entrepreneurship": "WBL: entrepreneurship",
    "wbl_assets": "WBL: assets",
    "wbl_pension": "WBL: pension",
    "sg_gen_parl_zs": "Women in parliament (%, WDI)",
    "sh_sta_mmr": "Maternal mortality ratio",
}
CONTROL_LABELS: dict[str, str] = {
    "ln_gdppc": "ln GDP per capita",
    "ln_pop": "ln population",
    "v2x_polyarchy": "Democracy (polyarchy)",
    "polity2": "Polity2 score",
    "v2xcs_ccsi": "Civil society (core index)",
    "ucdp_conflict": "Armed conflict",
    "ucdp_war": "War",
    "nhri_a_status": "NHRI A status (proxy)",
    "region_density": "Regional ratification density",
    "income_group": "Income group",
    "income_LM": "Income group: lower middle",
    "income_UM": "Income group: upper middle",
    "income_H": "Income group: high",
    # ratification-timing covariates and baseline hazard terms (helpers.timing)
    "n_other_ratified": "Other instruments ratified (count)",
    "signed": "Signed",
    "ln_duration": "ln years at risk",
    "duration_1": "Years at risk / 10",
    "duration_2": "(Years at risk / 10)²",
    "duration_3": "(Years at risk / 10)³",
    "const": "Constant",
}
_RES_LABELS = {"any": "any", "art2": "Art. 2", "art16": "Art. 16", "art29": "Art. 29", "general": "general"}
MINUS = "\u2212"  # typographic minus used in lag labels, e.g. "(t−1)"


def treaty_short(treaty: str) -> str:
    """Common abbreviation of a treaty key (``helpers.treaties.TREATIES[t].short``, e.g. ``ced`` -> ``CPED``)."""
    return INFO[treaty].short if treaty in INFO else treaty.upper()


def _treaty_labels() -> dict[str, str]:
    out: dict[str, str] = {}
    for t in TREATY_KEYS:
        s = treaty_short(t)
        out[f"{t}_ratified"] = f"{s} ratified"
        out[f"{t}_years_since"] = f"Years since {s} ratification"
        out[f"{t}_signed"] = f"{s} signed"
        out[f"{t}_region_density"] = f"Regional {s} density"
        out[f"{t}_year"] = f"{s} ratification year"
        for lo, hi in YEARS_SINCE_BINS:
            key = f"{t}_ys_{lo}_{hi}" if hi is not None else f"{t}_ys_{lo}plus"
            out[key] = f"{s} ratified {lo}–{hi} years" if hi is not None else f"{s} ratified {lo}+ years"
    for k, v in _RES_LABELS.items():
        out[f"cedaw_res_{k}"] = f"CEDAW reservation ({v})"
    return out


#: Readable label of every panel column a model uses, keyed by the raw column name.
VARIABLE_LABELS: dict[str, str] = {**OUTCOME_LABELS, **CONTROL_LABELS, **_treaty_labels()}

_LAG_RE = re.compile(r"^(?P<base>.+)_l(?P<lag>\d+)$")


def variable_label(column: str) -> str:
    """Readable label of a raw panel column (the column name itself when it has none)."""
    return VARIABLE_LABELS.get(column, column)


_PLAIN = str.maketrans({MINUS: "-", "×": "x", "²": "^2", "³": "^3", "–": "-"})


def with_lag(label: str, lag: int) -> str:
    """Append the lag to a label: ``"CEDAW ratified (t−1)"``, ``"Democracy (polyarchy, t−1)"``."""
    if not lag:
        return label
    t = f"t{MINUS}{int(lag)}"
    return f"{label[:-1]}, {t})" if label.endswith(")") else f"{label} ({t})"


def term_label(term: str, plain: bool = False) -> str:
    """Readable label of a model term: raw column, lagged column (``_l1`` -> ``(t−1)``) or interaction (``_x_``).

    ``term_label("cedaw_ratified_l1")`` is ``"CEDAW ratified (t−1)"``; an unknown term is returned unchanged.
    ``plain=True`` gives pure ASCII (``t-1``, ``x``, ``^2``), for tables whose writer does not map non-ASCII
    symbols to LaTeX.
    """
    if term in VARIABLE_LABELS:
        out = VARIABLE_LABELS[term]
    elif "_x_" in term:
        left, right = term.split("_x_", 1)
        m = _LAG_RE.match(left)
        lag = int(m["lag"]) if m and m["base"] in VARIABLE_LABELS else 0
        out = f"{term_label(left)} × {with_lag(variable_label(right), lag)}"
    else:
        m = _LAG_RE.match(term)
        out = (
            with_lag(VARIABLE_LABELS[m["base"]], int(m["lag"]))
            if m and m["base"] in VARIABLE_LABELS
            else term
        )
    return out.translate(_PLAIN) if plain else out
