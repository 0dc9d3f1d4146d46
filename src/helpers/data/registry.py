"""The data step: bring every raw file named in the registry into ``data/raw/`` and verify it.

The registry (``data/registry.tsv``, tracked) has one row per raw file: ``source, file, sha256, bytes, url,
origin_repo, commit, path_in_repo, licence, citation``. :func:`fetch` copies each file from a local mirror
directory when configured or present (``TREATY_EFFECTS_MIRROR``, else ``paths.DEFAULT_MIRROR``, beside the
project), otherwise downloads it from its pinned origin URL with pooch. It always verifies size and sha256, writes
to a temporary file first and renames only a verified file into place, so a failed or corrupt fetch never replaces
a good file. Files that cannot be had are listed, with where they were looked for, in one error.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from helpers.core import paths
from helpers.core.errors import ChecksumError, DataError, MissingDataError, ParameterError

REGISTRY_COLUMNS = [
    "source",
    "file",
    "sha256",
    "bytes",
    "url",
    "origin_repo",
    "commit",
    "path_in_repo",
    "licence",
    "citation",
]


def load_registry(path: Path | None = None) -> pd.DataFrame:
    """The tracked registry of raw files, validated (columns, unique file paths, hex sha256)."""
    path = Path(path or paths.REGISTRY)
    try:
        reg = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except Exception as exc:  # pragma: no cover - message re-raised with the file name
        raise DataError(f"{path}: cannot read the data registry ({exc})") from exc
    missing = [c for c in REGISTRY_COLUMNS if c not in reg.columns]
    if missing:
        raise DataError(f"{path}: registry lacks column(s) {missing}")
    dup = reg.loc[reg["file"].duplicated(), "file"].tolist()
    if dup:
        raise DataError(f"{path}: duplicate registry rows for {dup}")
    bad = reg.index[~reg["sha256"].str.fullmatch(r"[0-9a-f]{64}")].tolist()
    if bad:
        raise DataError(f"{path}: malformed sha256 at row(s) {[i + 2 for i in bad]}")
    reg["bytes"] = reg["bytes"].astype(int)
    return reg


def sha256sum(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def default_mirror() -> Path | None:
    """The mirror in use: ``$TREATY_EFFECTS_MIRROR`` ("" or "none" disables), else ``paths.DEFAULT_MIRROR`` if present."""
    env = os.environ.get("TREATY_EFFECTS_MIRROR")
    if env is not None:
        return None if env.strip().lower() in {"", "none", "0"} else Path(env)
    return paths.DEFAULT_MIRROR if paths.DEFAULT_MIRROR.is_dir() else None


@dataclass
class FileStatus:
    file: str
    status: str  # "ok", "fetched-mirror", "fetched-url", "missing", "bad"
    detail: str = ""


def _check(path: Path, row: pd.Series) -> str | None:
    """None if ``path`` matches the registry row, else a message naming both hashes/sizes."""
    size = path.stat().st_size
    digest = sha256sum(path)
    if digest == row["sha256"] and size == row["bytes"]:
        return None
    kind = "truncated" if size < row["bytes"] else "corrupted"
    return (
        f"{row['file']}: {kind} copy at {path}: sha256 {digest} ({size} bytes), "
        f"registry expects sha256 {row['sha256']} ({row['bytes']} bytes)"
    )


def _install(tmp: Path, target: Path, row: pd.Series) -> None:
    problem = _check(tmp, row)
    if problem:
        tmp.unlink(missing_ok=True)
        raise ChecksumError(problem + "; the existing file was left untouched")
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, target)


def _from_mirror(row: pd.Series, mirror: Path, target: Path) -> bool:
    src = mirror / row["file"]
    if not src.is_file():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmpname = tempfile.mkstemp(prefix=".fetch-", dir=target.parent)
    os.close(fd)
    shutil.copyfile(src, tmpname)
    _install(Path(tmpname), target, row)
    return True


def _from_url(row: pd.Series, target: Path, progress: bool) -> None:
    import pooch

    target.parent.mkdir(parents=True, exist_ok=True)
    tmpdir = Path(tempfile.mkdtemp(prefix=".fetch-", dir=target.parent))
    try:
        got = pooch.retrieve(
            row["url"],
            known_hash=None,
            fname=target.name,
            path=tmpdir,
            downloader=pooch.HTTPDownloader(progressbar=progress, timeout=60),
        )
        _install(Path(got), target, row)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def _fetch_one(row: pd.Series, mirror_dir: Path | None, download: bool) -> FileStatus:
    """One registry file: keep a good copy in place, else copy it from the mirror, else download it; status
    "missing" with the reason when neither worked. A copy that fails its checksum raises :class:`ChecksumError`."""
    target = paths.raw_path(row["file"])
    if target.is_file() and _check(target, row) is None:
        return FileStatus(row["file"], "ok")
    if mirror_dir is not None and _from_mirror(row, mirror_dir, target):
        return FileStatus(row["file"], "fetched-mirror", str(mirror_dir))
    if not download:
        return FileStatus(row["file"], "missing", "downloads disabled")
    try:
        _from_url(row, target, progress=False)
    except ChecksumError:
        raise
    except Exception as exc:  # noqa: BLE001  (any network error: collected and reported together)
        return FileStatus(row["file"], "missing", f"download failed: {type(exc).__name__}: {exc}")
    return FileStatus(row["file"], "fetched-url", row["url"])


def _raise_failures(bad: list[str], missing: list[str]) -> None:
    """One error for every file that failed its checksum, else one listing every file that could not be had."""
    if bad:
        raise ChecksumError("checksum mismatch:\n  " + "\n  ".join(bad))
    if missing:
        raise MissingDataError(
            f"{len(missing)} raw file(s) could not be fetched into {paths.RAW}:\n"
            + "\n".join(missing)
            + "\nSet TREATY_EFFECTS_MIRROR to a folder holding copies, or run where the origin URLs are reachable."
        )


def fetch(
    files: list[str] | None = None,
    *,
    mirror: Path | str | None = "auto",
    download: bool = True,
    progress: bool = True,
    registry: pd.DataFrame | None = None,
) -> list[FileStatus]:
    """Make every registry file (or those in ``files``) present and verified in data/raw.

    ``mirror="auto"`` uses :func:`default_mirror`; ``None`` disables the mirror. ``download=False`` never touches the
    network. Raises :class:`ChecksumError` when a copy from the mirror or URL does not match the registry (naming the
    file and both hashes) and :class:`MissingDataError` listing every file that could not be had and where it was
    looked for. A good file already in place is never replaced.
    """
    reg = load_registry() if registry is None else registry
    if files is not None:
        unknown = sorted(set(files) - set(reg["file"]))
        if unknown:
            raise ParameterError("files", unknown, reg["file"].tolist())
        reg = reg[reg["file"].isin(files)]
    mirror_dir = default_mirror() if mirror == "auto" else (Path(mirror) if mirror else None)

    statuses: list[FileStatus] = []
    missing: list[str] = []
    bad: list[str] = []
    rows = list(reg.iterrows())
    bar = None
    if progress:
        from tqdm.std import tqdm

        bar = tqdm(total=len(rows), desc="data step", unit="file")
    for _, row in rows:
        try:
            status = _fetch_one(row, mirror_dir, download)
        except ChecksumError as exc:
            bad.append(str(exc))
            status = FileStatus(row["file"], "bad", str(exc))
        finally:
            if bar is not None:
                bar.update(1)
        if status.status == "missing":
            where = f"mirror {mirror_dir / row['file']} (absent)" if mirror_dir else "no mirror configured"
            missing.append(f"  {row['file']}\n      {where}; origin {row['url']} ({status.detail})")
        statuses.append(status)
    if bar is not None:
        bar.close()
    _raise_failures(bad, missing)
    return statuses


def verify(registry: pd.DataFrame | None = None) -> pd.DataFrame:
    """Status of every registry file in data/raw without fetching anything (file, status, detail)."""
    reg = load_registry() if registry is None else registry
    out = []
    for _, row in reg.iterrows():
        target = paths.raw_path(row["file"])
        if not target.is_file():
            out.append((row["file"], "missing", ""))
        else:
            problem = _check(target, row)
            out.append((row["file"], "ok" if problem is None else "bad", problem or ""))
    return pd.DataFrame(out, columns=["file", "status", "detail"])


def require(*files: str) -> list[Path]:
    """Paths of registry files that loaders need; a clear error if any is absent (run the data step)."""
    out = []
    for f in files:
        p = paths.raw_path(f)
        if not p.is_file():
            raise MissingDataError(
                f"{p}: raw file missing; run the data step (`make data` or `python -m helpers data`)"
            )
        out.append(p)
    return out
