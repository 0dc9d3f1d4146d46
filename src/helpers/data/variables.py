"""The variable registry: one tracked table says what every panel column is, and the package asks only here.

``data/reference/variables.csv`` (hand-reviewed, UTF-8) has one row per panel column:

- ``column``: the panel column; a row whose column holds ``{treaty}`` (e.g. ``{treaty}_ratified``) is a template
  that stands for one column per instrument key of :data:`helpers.data.treaties.TREATIES`; its ``label`` and
  ``meaning`` may use ``{short}`` (the instrument's abbreviation, e.g. CEDAW) and ``{treaty}`` (its key);
- ``role``: ``id`` | ``treaty`` | ``outcome`` | ``control`` | ``auxiliary`` (:data:`ROLES`);
- ``label``: readable label for figures and tables; ``meaning``: the long description of the data dictionary;
  ``unit``;
- ``moderator`` (0/1): an implementation-gap moderator (democracy, civil society, resources, NHRI proxy);
  ``ordinal`` (0/1): an ordered-category scale;
- ``source``: the ``source`` id of ``data/registry.tsv`` the column comes from (several joined by `` + ``, where a
  tracked table under ``data/reference/`` may also be named), or ``derived``;
- ``loader``: ``module.function`` under :mod:`helpers.data.sources` whose tidy ``iso3, year`` frame holds the
  column, or ``derived`` for columns the panel build makes itself (keys, treaty status, logs);
- ``min``, ``max``: valid range checked by the panel schema (blank: not checked);
- ``first_year``, ``last_year``: the years the source covers (the loader's output before the panel window);
- ``instruments`` (outcomes only, required): ``;``-separated instrument keys the column is a plausible outcome of,
  and ``rationale``: one sentence saying why.

:func:`load` reads and validates a table: an unknown role, source, instrument key or placeholder, a duplicated
column or label, ``min > max``, a loader that does not resolve, a blank required field each raise
:class:`~helpers.core.errors.DataError` naming the file, the row (line number) and the column. The current table
(:func:`registry`, cached) is ``data/reference/variables.csv``; :func:`using` points the package at another one
(tests). Everything else derives from it: :data:`OUTCOMES`, :data:`CONTROLS`, :data:`MODERATORS`,
:data:`ORDINAL_OUTCOMES` (module attributes computed from the current table), :func:`ranges`, :func:`label`,
:func:`term_label`, :func:`source_of`, :func:`outcomes_for`, :func:`instruments_for`, :func:`loaders`.

Labels of model terms that are not panel columns (income-group dummies, years-since bins, hazard baseline terms)
live next to the estimate code that creates those terms, which hands them over with :func:`add_term_labels`.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from helpers.core import paths
from helpers.core.errors import DataError, ParameterError
from helpers.data.registry import load_registry
from helpers.data.treaties import TREATIES as INFO

TREATY_KEYS = list(INFO)
ROLES = ("id", "treaty", "outcome", "control", "auxiliary")
DERIVED = "derived"
TEMPLATE = "{treaty}"
#: columns of data/reference/variables.csv, in order
TABLE_COLUMNS = [
    "column",
    "role",
    "label",
    "moderator",
    "ordinal",
    "source",
    "loader",
    "meaning",
    "unit",
    "min",
    "max",
    "first_year",
    "last_year",
    "instruments",
    "rationale",
]
#: columns of :func:`registry` (one row per panel column, templates expanded): the table's plus ``treaty`` (the
#: instrument key of a treaty column), ``template`` (the template row it came from) and ``row`` (its line number)
REGISTRY_COLUMNS = [*TABLE_COLUMNS, "treaty", "template", "row"]
#: packages searched for a ``module.function`` loader, in order
LOADER_PACKAGES: tuple[str, ...] = ("helpers.data.sources",)
MINUS = "\u2212"  # typographic minus used in lag labels, e.g. "(t−1)"

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_LAG_RE = re.compile(r"^(?P<base>.+)_l(?P<lag>\d+)$")
_PLAIN = str.maketrans({MINUS: "-", "×": "x", "²": "^2", "³": "^3", "–": "-"})


# --------------------------------------------------------------------------------------------------------------
# reading and validating the table
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Context:
    path: Path
    sources: frozenset[str]
    packages: tuple[str, ...]

    def error(self, line: int, column: str, message: str) -> DataError:
        return DataError(f"{self.path}: row {line} column {column!r}: {message}")


@dataclass(frozen=True)
class _Table:
    frame: pd.DataFrame
    loaders: dict[str, Callable[..., pd.DataFrame]]
    labels: dict[str, str]


def _read(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise DataError(f"{path}: variable registry not found")
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot parse the variable registry ({type(exc).__name__}: {exc})") from exc
    missing = [c for c in TABLE_COLUMNS if c not in raw.columns]
    unknown = [c for c in raw.columns if c not in TABLE_COLUMNS]
    if missing or unknown:
        raise DataError(
            f"{path}: header has missing column(s) {missing} and unknown column(s) {unknown}; "
            f"valid columns: {', '.join(TABLE_COLUMNS)}"
        )
    return raw.apply(lambda s: s.str.strip())


def _flag(ctx: _Context, line: int, rec: dict, col: str) -> bool:
    v = rec[col]
    if v not in ("", "0", "1"):
        raise ctx.error(line, col, f"{v!r} is not a flag; valid values: 0, 1 (blank = 0)")
    return v == "1"


def _number(ctx: _Context, line: int, rec: dict, col: str, kind: type) -> float | int | None:
    v = rec[col]
    if v == "":
        return None
    try:
        return kind(v)
    except ValueError:
        raise ctx.error(line, col, f"{v!r} is not {'an integer' if kind is int else 'a number'}") from None


def _check_column(ctx: _Context, line: int, rec: dict) -> None:
    col, role = rec["column"], rec["role"]
    if role not in ROLES:
        raise ctx.error(line, "role", f"unknown role {role!r}; valid values: {', '.join(ROLES)}")
    name = col.replace(TEMPLATE, "x", 1) if col.startswith(TEMPLATE) else col
    if not _NAME_RE.fullmatch(name):
        raise ctx.error(
            line,
            "column",
            f"{col!r} is not a column name (lower case letters, digits, underscores) "
            f"or a template starting with {TEMPLATE}",
        )
    if col.startswith(TEMPLATE) and role != "treaty":
        raise ctx.error(line, "role", f"template row {col!r} must have role 'treaty', not {role!r}")
    if role == "treaty" and not col.startswith(TEMPLATE) and not _treaty_of(col):
        raise ctx.error(
            line, "column", f"treaty column {col!r} must start with an instrument key; valid: {TREATY_KEYS}"
        )


def _treaty_of(column: str) -> str:
    """Instrument key a treaty column belongs to (longest key ``k`` with ``column.startswith(k + "_")``)."""
    keys = [k for k in INFO if column.startswith(k + "_")]
    return max(keys, key=len) if keys else ""


def _check_source(ctx: _Context, line: int, source: str) -> None:
    for part in source.split(" + "):
        ok = (
            part in ctx.sources
            or part == DERIVED
            or (part.startswith("data/reference/") and (paths.ROOT / part).is_file())
        )
        if not ok:
            raise ctx.error(
                line,
                "source",
                f"unknown source {part!r}; valid: a source id of data/registry.tsv "
                f"({', '.join(sorted(ctx.sources))}), a tracked data/reference/ file, or {DERIVED!r}",
            )


def _check_text(ctx: _Context, line: int, rec: dict) -> None:
    for col in ("column", "label", "meaning", "unit", "source", "loader"):
        if not rec[col]:
            raise ctx.error(line, col, "must not be blank")


def _check_ranges(ctx: _Context, line: int, rec: dict) -> dict:
    out = {
        "min": _number(ctx, line, rec, "min", float),
        "max": _number(ctx, line, rec, "max", float),
        "first_year": _number(ctx, line, rec, "first_year", int),
        "last_year": _number(ctx, line, rec, "last_year", int),
    }
    for lo, hi in (("min", "max"), ("first_year", "last_year")):
        if out[lo] is not None and out[hi] is not None and out[lo] > out[hi]:
            raise ctx.error(line, lo, f"{lo} {rec[lo]} is greater than {hi} {rec[hi]}")
    return out


def _check_instruments(ctx: _Context, line: int, rec: dict) -> tuple[str, ...]:
    keys = tuple(k.strip() for k in rec["instruments"].split(";") if k.strip())
    outcome = rec["role"] == "outcome"
    if outcome and not keys:
        raise ctx.error(
            line, "instruments", f"outcome {rec['column']!r} names no instrument; valid: {TREATY_KEYS}"
        )
    if not outcome and (keys or rec["rationale"]):
        col = "instruments" if keys else "rationale"
        raise ctx.error(
            line, col, f"only outcomes take instruments and a rationale (role is {rec['role']!r})"
        )
    bad = [k for k in keys if k not in INFO]
    if bad:
        raise ctx.error(line, "instruments", f"unknown instrument key(s) {bad}; valid: {TREATY_KEYS}")
    if outcome and not rec["rationale"]:
        raise ctx.error(line, "rationale", "an outcome's instruments need a one-sentence rationale")
    return keys


def _resolve(name: str, packages: Iterable[str]) -> Callable[..., pd.DataFrame] | None:
    """The function a ``module.function`` loader names, searched in ``packages``; None if there is none."""
    module_name, _, func = name.rpartition(".")
    if not module_name or not func:
        return None
    for pkg in packages:
        full = f"{pkg}.{module_name}"
        try:
            module = importlib.import_module(full)
        except ModuleNotFoundError as exc:
            if exc.name and full.startswith(exc.name):  # that module (or its package) does not exist
                continue
            raise
        fn = getattr(module, func, None)
        if callable(fn):
            return fn
    return None


def available_loaders(packages: Iterable[str] | None = None) -> list[str]:
    """Every ``module.load_*`` function in the loader packages (the valid values of the ``loader`` column)."""
    out = []
    for pkg in packages or LOADER_PACKAGES:
        try:
            package = importlib.import_module(pkg)
        except ModuleNotFoundError:
            continue
        for info in pkgutil.iter_modules(getattr(package, "__path__", [])):
            module = importlib.import_module(f"{pkg}.{info.name}")
            out += [
                f"{info.name}.{n}"
                for n in dir(module)
                if n.startswith("load_") and callable(getattr(module, n))
            ]
    return sorted(set(out))


def _check_loader(ctx: _Context, line: int, loader: str, loaders: dict) -> None:
    if loader == DERIVED or loader in loaders:
        return
    fn = _resolve(loader, ctx.packages)
    if fn is None:
        raise ctx.error(
            line,
            "loader",
            f"{loader!r} does not resolve to a function (module.function under "
            f"{' or '.join(ctx.packages)}); valid: {DERIVED}, {', '.join(available_loaders(ctx.packages))}",
        )
    loaders[loader] = fn


def _fill(ctx: _Context, line: int, rec: dict, col: str, key: str) -> str:
    try:
        return rec[col].format(treaty=key, short=INFO[key].short)
    except (KeyError, IndexError, ValueError) as exc:
        raise ctx.error(
            line, col, f"template text uses an unknown placeholder ({exc}); valid: {{treaty}}, {{short}}"
        ) from None


def _expand(ctx: _Context, line: int, rec: dict) -> list[dict]:
    """One registry row per panel column: a template row becomes one row per instrument."""
    if not rec["column"].startswith(TEMPLATE):
        treaty = _treaty_of(rec["column"]) if rec["role"] == "treaty" else ""
        return [{**rec, "treaty": treaty, "template": "", "row": line}]
    return [
        {
            **rec,
            "column": rec["column"].replace(TEMPLATE, key, 1),
            "label": _fill(ctx, line, rec, "label", key),
            "meaning": _fill(ctx, line, rec, "meaning", key),
            "treaty": key,
            "template": rec["column"],
            "row": line,
        }
        for key in INFO
    ]


def _check_unique(ctx: _Context, rows: list[dict], field: str) -> None:
    seen: dict[str, int] = {}
    for r in rows:
        if r[field] in seen:
            raise ctx.error(
                r["row"],
                field,
                f"{r[field]!r} is already used by row {seen[r[field]]}; each {field} is unique",
            )
        seen[r[field]] = r["row"]


def _parse(ctx: _Context, line: int, rec: dict, loaders: dict) -> list[dict]:
    _check_text(ctx, line, rec)
    _check_column(ctx, line, rec)
    _check_source(ctx, line, rec["source"])
    _check_loader(ctx, line, rec["loader"], loaders)
    rec = {**rec, **_check_ranges(ctx, line, rec)}
    rec["instruments"] = _check_instruments(ctx, line, rec)
    rec["moderator"] = _flag(ctx, line, rec, "moderator")
    rec["ordinal"] = _flag(ctx, line, rec, "ordinal")
    return _expand(ctx, line, rec)


def _build(path: Path, data_registry: Path, packages: tuple[str, ...]) -> _Table:
    raw = _read(path)
    ctx = _Context(path, frozenset(load_registry(data_registry)["source"]), packages)
    loaders: dict[str, Callable[..., pd.DataFrame]] = {}
    rows = [r for i, rec in enumerate(raw.to_dict("records")) for r in _parse(ctx, i + 2, rec, loaders)]
    _check_unique(ctx, rows, "column")
    _check_unique(ctx, rows, "label")
    frame = pd.DataFrame(rows, columns=REGISTRY_COLUMNS)
    for c in ("first_year", "last_year"):
        frame[c] = frame[c].astype("Int64")
    for c in ("min", "max"):
        frame[c] = frame[c].astype("float64")
    used = list(dict.fromkeys(frame.loc[frame["loader"] != DERIVED, "loader"]))
    return _Table(
        frame, {name: loaders[name] for name in used}, dict(zip(frame["column"], frame["label"], strict=True))
    )


def _packages(extra: Iterable[str] | None) -> tuple[str, ...]:
    """:data:`LOADER_PACKAGES` followed by ``extra`` (e.g. a test package holding a toy loader)."""
    return tuple(dict.fromkeys([*LOADER_PACKAGES, *(extra or ())]))


def load(
    path: str | Path | None = None,
    *,
    data_registry: str | Path | None = None,
    loader_packages: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Read and validate a variable table (default: data/reference/variables.csv); one row per panel column.

    ``data_registry``: the raw-file registry whose source ids are valid (default data/registry.tsv);
    ``loader_packages``: packages searched for loaders after :data:`LOADER_PACKAGES`.
    """
    return _build(
        Path(path or paths.VARIABLES),
        Path(data_registry or paths.REGISTRY),
        _packages(loader_packages),
    ).frame.copy()


# --------------------------------------------------------------------------------------------------------------
# the current table
# --------------------------------------------------------------------------------------------------------------
_config: dict[str, object] = {"path": None, "data_registry": None, "loader_packages": LOADER_PACKAGES}


@lru_cache(maxsize=4)
def _cached(path: Path, data_registry: Path, packages: tuple[str, ...]) -> _Table:
    return _build(path, data_registry, packages)


def _current() -> _Table:
    return _cached(
        table_path(),
        Path(_config["data_registry"] or paths.REGISTRY),
        tuple(_config["loader_packages"]),
    )


@contextmanager
def using(
    path: str | Path,
    *,
    data_registry: str | Path | None = None,
    loader_packages: Iterable[str] | None = None,
) -> Iterator[pd.DataFrame]:
    """Make another variable table (and data registry / loader packages) the current one inside a ``with`` block.

    Arguments as for :func:`load`. Yields the validated registry; the previous table is current again afterwards.
    """
    saved = dict(_config)
    _config.update(
        path=Path(path),
        data_registry=Path(data_registry) if data_registry else None,
        loader_packages=_packages(loader_packages),
    )
    try:
        yield registry()
    finally:
        _config.clear()
        _config.update(saved)


def table_path() -> Path:
    """Path of the current variable table (data/reference/variables.csv unless :func:`using` says otherwise)."""
    return Path(_config["path"] or paths.VARIABLES)


def registry() -> pd.DataFrame:
    """The current variable registry, validated, one row per panel column (:data:`REGISTRY_COLUMNS`)."""
    return _current().frame.copy()


def registered_columns(treaties: Iterable[str] | None = None) -> list[str]:
    """The columns a panel built for ``treaties`` (default: all) holds, in registry order."""
    keep = set(TREATY_KEYS if treaties is None else treaties)
    f = _current().frame
    return f.loc[(f["role"] != "treaty") | f["treaty"].isin(keep), "column"].tolist()


def _columns(role: str | None = None, flag: str | None = None) -> list[str]:
    f = _current().frame
    mask = pd.Series(True, index=f.index)
    if role:
        mask &= f["role"] == role
    if flag:
        mask &= f[flag].astype(bool)
    return f.loc[mask, "column"].tolist()


_LISTS: dict[str, Callable[[], list[str]]] = {
    "OUTCOMES": lambda: _columns("outcome"),
    "CONTROLS": lambda: _columns("control"),
    "MODERATORS": lambda: _columns(flag="moderator"),
    "ORDINAL_OUTCOMES": lambda: _columns("outcome", "ordinal"),
}


def __getattr__(name: str) -> list[str]:
    """``OUTCOMES``, ``CONTROLS``, ``MODERATORS``, ``ORDINAL_OUTCOMES``: column lists of the current table."""
    if name in _LISTS:
        return _LISTS[name]()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LISTS])


def valid_outcomes(panel: pd.DataFrame | None = None) -> list[str]:
    """Outcome names the estimators accept: the registry's ``OUTCOMES`` present in ``panel`` (all of them without
    one). :func:`helpers.estimate.models.valid_outcomes` is this function."""
    outcomes = _LISTS["OUTCOMES"]()
    return list(outcomes) if panel is None else [c for c in outcomes if c in panel.columns]


def ranges() -> dict[str, tuple[float | None, float | None]]:
    """Column -> (min, max) for every registered column with a range (None: that side is not checked)."""
    f = _current().frame
    has = f["min"].notna() | f["max"].notna()
    return {
        c: (None if pd.isna(lo) else float(lo), None if pd.isna(hi) else float(hi))
        for c, lo, hi in zip(f.loc[has, "column"], f.loc[has, "min"], f.loc[has, "max"], strict=True)
    }


def _row(column: str) -> pd.Series:
    f = _current().frame
    hit = f.index[f["column"] == column]
    if not len(hit):
        raise ParameterError("column", column, hint=f"not a registered panel column (see {table_path()})")
    return f.loc[hit[0]]


def source_of(column: str) -> str:
    """The ``source`` of a registered column (a data/registry.tsv source id, or ``derived``)."""
    return str(_row(column)["source"])


def instruments_for(outcome: str) -> list[str]:
    """Instrument keys an outcome is a plausible outcome of (``instruments``), e.g. physint -> cat, cat_op, iccpr."""
    outcomes = _columns("outcome")
    if outcome not in outcomes:
        raise ParameterError("outcome", outcome, outcomes)
    return list(_row(outcome)["instruments"])


def outcomes_for(treaty: str) -> list[str]:
    """Outcomes that name ``treaty`` among their instruments, in registry order."""
    if treaty not in INFO:
        raise ParameterError("treaty", treaty, TREATY_KEYS)
    f = _current().frame
    return [c for c, keys in zip(f["column"], f["instruments"], strict=True) if treaty in keys]


def loaders() -> dict[str, Callable[..., pd.DataFrame]]:
    """The distinct loaders the table names (``module.function`` -> function), in table order, ``derived`` left out."""
    return dict(_current().loaders)


def loader_columns(loader: str) -> list[str]:
    """The columns the table registers for one loader, in table order."""
    f = _current().frame
    return f.loc[f["loader"] == loader, "column"].tolist()


# --------------------------------------------------------------------------------------------------------------
# labels
# --------------------------------------------------------------------------------------------------------------
#: labels of model terms that are not panel columns, handed over by the estimate code that creates the terms
_TERM_LABELS: dict[str, str] = {}


def add_term_labels(labels: Mapping[str, str]) -> None:
    """Register labels of model terms that are not panel columns (a panel column's own label always wins)."""
    bad = {k: v for k, v in labels.items() if not (isinstance(k, str) and isinstance(v, str) and v)}
    if bad:
        raise ParameterError("labels", bad, hint="term -> non-empty label strings")
    _TERM_LABELS.update(labels)


def _known(name: str) -> str | None:
    return _current().labels.get(name) or _TERM_LABELS.get(name)


def treaty_short(treaty: str) -> str:
    """Common abbreviation of a treaty key (``helpers.treaties.TREATIES[t].short``, e.g. ``ced`` -> ``CPED``)."""
    return INFO[treaty].short if treaty in INFO else treaty.upper()


def label(column: str) -> str:
    """Readable label of a panel column (or registered model term); an unknown name is returned unchanged."""
    return _known(column) or column


def in_sentence(column: str) -> str:
    """The label as it reads inside a sentence: ``"Women's political empowerment"`` -> ``"women's political
    empowerment"``; acronyms (``"CIRI ..."``) and names not in the registry (a user's own column) stay as they are."""
    known = _known(column)
    return column if known is None else lower_first(known)


def lower_first(text: str) -> str:
    """A label inside a sentence: ``"Democracy (polyarchy)"`` -> ``"democracy (polyarchy)"``; acronyms stay
    (``"NHRI ..."``, ``"CIRI ..."``)."""
    return text[0].lower() + text[1:] if len(text) > 1 and text[1].islower() else text


#: the name figure and table code has always used for :func:`label`
variable_label = label


def with_lag(text: str, lag: int) -> str:
    """Append the lag to a label: ``"CEDAW ratified (t−1)"``, ``"Democracy (polyarchy, t−1)"``."""
    if not lag:
        return text
    t = f"t{MINUS}{int(lag)}"
    return f"{text[:-1]}, {t})" if text.endswith(")") else f"{text} ({t})"


def _lagged(term: str) -> tuple[str, int] | None:
    m = _LAG_RE.match(term)
    return (_known(m["base"]), int(m["lag"])) if m and _known(m["base"]) else None


def term_label(term: str, plain: bool = False) -> str:
    """Readable label of a model term: raw column, lagged column (``_l1`` -> ``(t−1)``) or interaction (``_x_``).

    ``term_label("cedaw_ratified_l1")`` is ``"CEDAW ratified (t−1)"``; an unknown term is returned unchanged.
    ``plain=True`` gives pure ASCII (``t-1``, ``x``, ``^2``), for tables whose writer does not map non-ASCII
    symbols to LaTeX.
    """
    known = _known(term)
    if known:
        out = known
    elif "_x_" in term:
        left, right = term.split("_x_", 1)
        lagged = _lagged(left)
        out = f"{term_label(left)} × {with_lag(label(right), lagged[1] if lagged else 0)}"
    else:
        lagged = _lagged(term)
        out = with_lag(*lagged) if lagged else term
    return out.translate(_PLAIN) if plain else out
