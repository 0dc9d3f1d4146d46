"""The package's architecture rules, checked on the code itself.

1. The import-linter contracts of ``pyproject.toml`` (``[tool.importlinter]``): the layers core -> data -> estimate
   -> report -> pipeline (no upward import, function-level imports included), no import cycle between sibling
   modules at any depth, and which layers may use which libraries. Run through the ``lint-imports`` command, as
   ``make lint`` and the pre-commit hook run it; a synthetic package checks that the contracts do catch what they
   are meant to catch.
2. No module uses another module's private name: ``from x import _y``, ``import x._y``, ``x._y`` where ``x`` is an
   imported module or name, or ``obj._y`` where ``_y`` is defined by another module of the package and not by the
   module itself (``self._y`` / ``cls._y`` are a class's own business). Checked with :mod:`ast` over ``src/helpers``
   and the code cells of the notebooks. Tests are exempt (white-box tests of a module's private helpers are
   deliberate). Private attributes of other libraries' objects are out of reach of a static check and are not
   flagged: the ones the package reads (pyfixest's ``Feols._coefnames``, ``_vcov``, ``_beta_hat``, ``_N``,
   ``_G``) are listed as attributes in pyfixest's own ``Feols`` docstring.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import nbformat
import pytest

from helpers.core import paths

PACKAGE = paths.ROOT / "src" / "helpers"
LAYERS = ["pipeline", "report", "estimate", "data", "core"]


# --------------------------------------------------------------------------------------------------------------
# 1. import-linter contracts
# --------------------------------------------------------------------------------------------------------------
def _lint_imports(config: Path, cwd: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "lint-imports"
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(
        [str(exe), "--config", str(config), "--no-cache", "--no-logo"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _importlinter_config() -> dict:
    return tomllib.loads((paths.ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]


def test_contracts_declare_the_layers_and_no_cycles():
    cfg = _importlinter_config()
    assert cfg["root_package"] == "helpers"
    by_type = {c["type"]: c for c in cfg["contracts"]}
    layers = by_type["layers"]
    assert layers["containers"] == ["helpers"] and layers["layers"] == LAYERS
    assert layers["exhaustive"] is True, "every sub-package of helpers must sit in a layer"
    assert not layers.get("ignore_imports"), "the layers contract must not carry exceptions"
    assert set(by_type["acyclic_siblings"]["ancestors"]) == {"helpers", "helpers.**"}


def test_import_contracts_are_kept():
    res = _lint_imports(paths.ROOT / "pyproject.toml", paths.ROOT)
    assert res.returncode == 0, f"lint-imports found broken contracts:\n{res.stdout}\n{res.stderr}"
    assert "0 broken" in res.stdout, res.stdout


_DEMO_MODULES = {
    "__init__.py": "",
    "core/__init__.py": "",
    "core/paths.py": "ROOT = '.'\n",
    "data/__init__.py": "",
    "data/panel.py": (
        "from demo_pkg.core import paths\n\n"
        "def build():\n"
        "    from demo_pkg.report import figures  # upward, hidden inside a function\n"
        "    return paths.ROOT, figures\n"
    ),
    "data/a.py": "from demo_pkg.data import b\n",
    "data/b.py": "def f():\n    from demo_pkg.data import a\n    return a\n",
    "estimate/__init__.py": "",
    "estimate/models.py": "import plotly\n",
    "report/__init__.py": "",
    "report/figures.py": "from demo_pkg.estimate import models\n",
    "pipeline/__init__.py": "",
    "pipeline/cli.py": "from demo_pkg.report import figures\n",
}


def test_contracts_catch_upward_imports_cycles_and_plotting_in_a_synthetic_package(tmp_path):
    """The project's contracts, applied to a small package built to break them, report every breach."""
    root = tmp_path / "src"
    for rel, text in _DEMO_MODULES.items():
        f = root / "demo_pkg" / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(text)
    cfg = _importlinter_config()
    cfg_file = tmp_path / "importlinter.toml"
    cfg_file.write_text(_as_toml(_renamed(cfg, "helpers", "demo_pkg")))
    res = _lint_imports(cfg_file, tmp_path, pythonpath=root)
    out = res.stdout
    assert res.returncode == 1, out + res.stderr
    assert "demo_pkg.data.panel -> demo_pkg.report.figures" in out  # function-level upward import
    assert "demo_pkg.data is not allowed to import demo_pkg.report" in out
    assert "No cycles are allowed in demo_pkg.data" in out  # a <-> b, one side inside a function
    assert "demo_pkg.estimate.models -> plotly" in out
    n = len(cfg["contracts"])
    assert f"Contracts: {n - 3} kept, 3 broken." in out, out  # layers, acyclic, plotting; the rest hold


def _renamed(value, old: str, new: str):
    """``value`` (nested dicts/lists of strings) with the root package ``old`` renamed ``new``."""
    if isinstance(value, dict):
        return {k: _renamed(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v, old, new) for v in value]
    if isinstance(value, str) and (value == old or value.startswith(f"{old}.")):
        return new + value[len(old) :]
    return value


def _as_toml(cfg: dict) -> str:
    """The ``[tool.importlinter]`` table as TOML (values: strings, booleans, lists of strings)."""

    def val(v) -> str:
        return ("true" if v else "false") if isinstance(v, bool) else json.dumps(v)

    lines = ["[tool.importlinter]"] + [f"{k} = {val(v)}" for k, v in cfg.items() if k != "contracts"]
    for c in cfg["contracts"]:
        lines += ["", "[[tool.importlinter.contracts]]"] + [f"{k} = {val(v)}" for k, v in c.items()]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------------------------
# 2. private names
# --------------------------------------------------------------------------------------------------------------
def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _module_name(path: Path, src_root: Path) -> str:
    parts = list(path.relative_to(src_root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _defined_names(tree: ast.AST) -> set[str]:
    """Every name a module defines anywhere: functions, classes, assigned names and attributes, arguments."""
    out: set[str] = set()
    for n in ast.walk(tree):
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(n.name)
        elif isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
            out.add(n.id)
        elif isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Store):
            out.add(n.attr)
        elif isinstance(n, ast.arg):
            out.add(n.arg)
    return out


def _resolve_from(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _import_bindings(tree: ast.AST, module: str, is_package: bool) -> dict[str, str]:
    """Local name -> what it is bound to by an import statement (dotted path)."""
    out: dict[str, str] = {}
    for n in ast.walk(tree):
        if isinstance(n, ast.Import):
            for a in n.names:
                if a.asname:
                    out[a.asname] = a.name
                else:
                    top = a.name.split(".")[0]
                    out[top] = top
        elif isinstance(n, ast.ImportFrom):
            src = _resolve_from(n, module, is_package)
            for a in n.names:
                if a.name != "*":
                    out[a.asname or a.name] = f"{src}.{a.name}"
    return out


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return f"{head}.{node.attr}" if head else None
    return None


def _import_offences(tree: ast.AST, module: str, is_package: bool) -> list[tuple[int, str]]:
    found = []
    for n in ast.walk(tree):
        if isinstance(n, ast.ImportFrom):
            src = _resolve_from(n, module, is_package)
            if any(_is_private(p) for p in src.split(".")):
                found.append((n.lineno, f"from {src} import ... (private module)"))
            found += [(n.lineno, f"from {src} import {a.name}") for a in n.names if _is_private(a.name)]
        elif isinstance(n, ast.Import):
            found += [
                (n.lineno, f"import {a.name} (private module)")
                for a in n.names
                if any(_is_private(p) for p in a.name.split("."))
            ]
    return found


def _attribute_offences(
    tree: ast.AST, module: str, is_package: bool, own: set[str], others: dict[str, set[str]]
) -> list[tuple[int, str]]:
    """``x._y`` on an imported name, or on any object when ``_y`` is another package module's name only."""
    bindings = _import_bindings(tree, module, is_package)
    found = []
    for n in ast.walk(tree):
        if not (isinstance(n, ast.Attribute) and _is_private(n.attr)):
            continue
        if isinstance(n.value, ast.Name) and n.value.id in ("self", "cls"):
            continue
        dotted = _dotted(n.value)
        root = dotted.split(".")[0] if dotted else None
        if root in bindings:
            target = bindings[root] + dotted[len(root) :]
            if target != module:
                found.append((n.lineno, f"{ast.unparse(n)}  ({target}.{n.attr})"))
        elif n.attr not in own:
            owners = sorted(m for m, names in others.items() if n.attr in names and m != module)
            if owners:
                found.append((n.lineno, f"{ast.unparse(n)}  ({n.attr} is defined in {', '.join(owners)})"))
    return found


def _notebook_source(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    cells = [c.source for c in nb.cells if c.cell_type == "code"]
    # IPython magics and shell escapes are not Python: blank them (keeping line numbers)
    lines = "\n\n".join(cells).splitlines()
    return "\n".join("" if ln.lstrip().startswith(("%", "!")) else ln for ln in lines)


def private_name_offences(src_root: Path, package: str, notebooks: list[Path] = ()) -> list[str]:
    """Every use of another module's private name in ``src_root/package`` and the notebooks, as
    ``file:line: what`` strings."""
    trees: dict[str, tuple[Path, ast.AST, bool]] = {}
    for f in sorted((src_root / package).rglob("*.py")):
        trees[_module_name(f, src_root)] = (f, ast.parse(f.read_text(), str(f)), f.name == "__init__.py")
    defined = {m: {x for x in _defined_names(t) if _is_private(x)} for m, (_, t, _) in trees.items()}
    units = list(trees.items()) + [
        (f"<notebook {p.stem}>", (p, ast.parse(_notebook_source(p), str(p)), False)) for p in notebooks
    ]
    out = []
    for module, (f, tree, is_pkg) in units:
        own = _defined_names(tree)
        hits = _import_offences(tree, module, is_pkg) + _attribute_offences(
            tree, module, is_pkg, own, defined
        )
        where = f.relative_to(src_root) if f.is_relative_to(src_root) else f
        out += [f"{where}:{ln}: {what}" for ln, what in sorted(set(hits))]
    return out


#: third-party private names used on purpose, each with its reason and the test that guards it
THIRD_PARTY_PRIVATE = {
    "kaleido.kaleido.Kaleido._return_kaleido_tab": "export.reuse_kaleido_tabs skips kaleido's page reload after "
    "each image, for the pinned kaleido 1.5.0 only (tests/test_export_speed.py: same images as kaleido's own)",
    "kaleido.kaleido.Kaleido._treaty_effects_reuse": "the marker of that patch (set by us, not kaleido's)",
    "highspy._Highs": "highspy's core solver class, which highspy.Highs extends; Highs() prints HiGHS's banner at C "
    "level into the notebook (estimate/did/arp.py; tests/test_arp_speed_equivalence.py checks it stays silent)",
    "diff_diff.honest_did._cv_alpha": "honest.fast_folded_normal_cv swaps in the same critical value on "
    "scipy.special during diff-diff's FLCI, for the pinned diff-diff 3.13.0 only (tests/test_honest.py: bit for "
    "bit equal to diff-diff's, and the same FLCI)",
    "os._exit": "documented standard library (the underscore is historical, not private): a runner's kernel ends "
    "without Python's teardown (pipeline/notebook.py quick_exit_under_runner; tests/test_runs.py)",
}


def test_no_module_uses_another_modules_private_name():
    notebooks = sorted(paths.NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    assert notebooks
    offences = [
        o
        for o in private_name_offences(PACKAGE.parent, "helpers", notebooks)
        if not any(o.endswith(f"({name})") for name in THIRD_PARTY_PRIVATE)
    ]
    assert not offences, (
        "these lines use another module's private name; make the name public (it is part of that module's "
        "interface now) or move the code to the module that owns it:\n  " + "\n  ".join(offences)
    )


_PRIVATE_DEMO = {
    "__init__.py": "",
    "owner.py": textwrap.dedent(
        """
        _TABLE = {}


        def _helper():
            return 1


        class Result:
            def _agg(self):
                return self._cache

            def total(self):
                return self._agg() + _helper()
        """
    ),
    "user.py": textwrap.dedent(
        """
        from demo_priv import owner
        from demo_priv.owner import Result, _helper
        from . import owner as o


        def use(r: Result):
            return owner._TABLE, o._helper(), r._agg(), Result._agg, _helper(), r.__class__, owner.Result
        """
    ),
    "clean.py": textwrap.dedent(
        """
        from demo_priv import owner as _owner


        class Local:
            def _own(self):
                return 1


        def f(x: Local):
            return x._own(), _owner.Result().total()
        """
    ),
}


def test_private_name_check_flags_each_kind_and_nothing_else(tmp_path):
    for rel, text in _PRIVATE_DEMO.items():
        f = tmp_path / "demo_priv" / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(text)
    offences = private_name_offences(tmp_path, "demo_priv")
    got = sorted(o.split(": ", 1)[1].split("  ")[0] for o in offences)
    assert got == sorted(
        [
            "from demo_priv.owner import _helper",
            "owner._TABLE",
            "o._helper",
            "r._agg",
            "Result._agg",
        ]
    ), offences
    assert all(o.startswith("demo_priv/user.py:") for o in offences), offences


@pytest.mark.parametrize("name, private", [("_x", True), ("__init__", False), ("__x", True), ("x_", False)])
def test_private_means_leading_underscore_but_not_dunder(name, private):
    assert _is_private(name) is private
