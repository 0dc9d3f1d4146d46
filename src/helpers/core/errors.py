"""Exception types shared by the whole package.

Every error says what was wrong, where (file, row, column or parameter) and what would be valid.
All subclass ``ValueError`` so callers that expect a ValueError keep working.
"""

from __future__ import annotations

from collections.abc import Iterable


class HelpersError(ValueError):
    """Base class of every error this package raises on purpose."""


class ParameterError(HelpersError):
    """A parameter value (or name) that is not one of the valid ones."""

    def __init__(self, name: str, value: object, valid: Iterable[object] | None = None, hint: str = ""):
        self.name, self.value = name, value
        self.valid = list(valid) if valid is not None else None
        msg = f"parameter {name!r}: invalid value {value!r}"
        if self.valid is not None:
            msg += f"; valid values: {', '.join(map(str, self.valid))}"
        if hint:
            msg += f" ({hint})"
        super().__init__(msg)


class DataError(HelpersError):
    """A raw or processed table that breaks an expectation (corrupt, truncated, duplicate keys, ...)."""


class ChecksumError(DataError):
    """A raw file whose sha256 or size differs from the registry."""


class MissingDataError(DataError):
    """Raw files that are neither present, nor in a mirror, nor downloadable."""


class UnmappedCountryError(DataError):
    """Country names or codes that the harmonisation module cannot map to ISO3."""

    def __init__(self, values: Iterable[object], scheme: str, source: str = ""):
        self.values = sorted({str(v) for v in values})
        where = f" in {source}" if source else ""
        super().__init__(
            f"{len(self.values)} {scheme} value(s){where} have no ISO3 mapping: {', '.join(self.values)}. "
            f"Add them to data/reference/country_map.csv (scheme={scheme!r}) or, for historical units and "
            f"aggregates, to data/reference/country_exclusions.csv."
        )


class EmptySampleError(HelpersError):
    """A filter or specification that leaves no observations."""
