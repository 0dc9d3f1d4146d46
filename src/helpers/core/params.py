"""Shared parameter validators: one rule per kind of parameter, used by helpers and by every notebook; and
:func:`parameters_cell`, the one parser of a notebook's tagged ``parameters`` cell (runner and results site).

Each validator returns the (normalised) value or raises :class:`helpers.core.errors.ParameterError` naming the
parameter, the bad value and what would be valid.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from helpers.core.errors import HelpersError, ParameterError


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


def check_draws(name: str, value: object, minimum: int = 0) -> int:
    """Return ``value`` if it is an integer (not a bool) of at least ``minimum``; else raise ParameterError.

    Used for parameters such as ``n_wild`` / ``n_perm`` where 0 means "skip this step".
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ParameterError(
            name,
            value,
            hint=f"an integer, at least {minimum}" + ("; 0 skips the step" if minimum == 0 else ""),
        )
    return int(value)


def parameters_cell(nb, where: str = "notebook") -> dict[str, dict]:
    """Parameters declared in the cell tagged ``parameters`` of a notebook node:
    name -> {"default": source text, "value": the literal value (source text if not a literal), "help": comment}.

    Parsed with :mod:`ast` (papermill's own inspector skips any line whose comment contains "=")."""
    import ast

    cells = [c for c in nb.cells if c.cell_type == "code" and "parameters" in (c.metadata.get("tags") or [])]
    if not cells:
        return {}
    src = cells[0].source
    lines = src.splitlines()
    try:
        tree = ast.parse(src)
    except SyntaxError as exc:
        raise HelpersError(f"{where}: the parameters cell is not valid Python ({exc})") from exc
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
                line = lines[node.end_lineno - 1]
                text = ast.get_source_segment(src, node.value) if node.value else ""
                try:
                    value = ast.literal_eval(node.value) if node.value else None
                except ValueError:
                    value = text
                out[t.id] = {
                    "default": text,
                    "value": value,
                    "help": line.split("#", 1)[1].strip() if "#" in line else "",
                }
    return out
