"""Path constants: every module finds the project's folders here and nowhere else.

The project root is the folder that holds ``pyproject.toml``; it can be overridden with the environment
variable ``TREATY_EFFECTS_ROOT`` (useful for running the package against another checkout). The reports folder can
be moved with ``TREATY_EFFECTS_REPORTS`` (the runner passes its own choice on to the notebook kernels).
"""

from __future__ import annotations

import os
from pathlib import Path

from helpers.core.errors import DataError


def _find_root() -> Path:
    env = os.environ.get("TREATY_EFFECTS_ROOT")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").exists() and (parent / "src" / "helpers").exists():
            return parent
    return Path.cwd().resolve()


ROOT = _find_root()
DATA = ROOT / "data"
RAW = DATA / "raw"
PROCESSED = DATA / "processed"
REFERENCE = DATA / "reference"  # tracked, hand-reviewed tables (country maps, reservation coding)
REGISTRY = DATA / "registry.tsv"  # tracked: one row per raw file (sha256, size, origin, licence, citation)
VARIABLES = (
    REFERENCE / "variables.csv"
)  # tracked: one row per panel column (role, label, meaning, range, loader)
NOTEBOOKS = ROOT / "notebooks"
REPORTS = (
    Path(os.environ["TREATY_EFFECTS_REPORTS"])
    if os.environ.get("TREATY_EFFECTS_REPORTS")
    else ROOT / "reports"
)
FIGURES = REPORTS / "figures"
TABLES = REPORTS / "tables"
RESULTS = REPORTS / "results"
PARAMS = ROOT / "params"  # YAML parameter sets for repeatable runs
#: Environment variables from the notebook runner to the kernel: the staging folder of the run in progress and the
#: ``<notebook>/<label>`` it belongs to (``helpers.report.export.run_dir`` writes there instead of the run folder).
STAGING_ENV = "TREATY_EFFECTS_STAGING"
STAGING_FOR_ENV = "TREATY_EFFECTS_STAGING_FOR"
DEFAULT_MIRROR = ROOT.parent / "shared" / "data" / "raw"

PANEL = PROCESSED / "panel.parquet"
RATIFICATIONS = PROCESSED / "ratifications.parquet"
DICTIONARY = PROCESSED / "data_dictionary.csv"


def raw_path(rel: str | Path) -> Path:
    """Absolute path of a registry file inside data/raw (``rel`` as written in the registry); a path that would
    leave data/raw (absolute, or through ``..``) is a DataError."""
    p = RAW / rel
    if Path(rel).is_absolute() or ".." in Path(rel).parts:
        raise DataError(f"{rel!s}: a raw-file path must stay inside {RAW} (relative, without '..')")
    return p
