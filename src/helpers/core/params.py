"""Shared parameter validators: one rule per kind of parameter, used by helpers and by every notebook.

Each validator returns the (normalised) value or raises :class:`helpers.core.errors.ParameterError` naming the
parameter, the bad value and what would be valid.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from helpers.core.errors import ParameterError


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
