"""The data step: bring every raw file named in the registry into ``data/raw/`` and verify it.

The registry (``data/registry.tsv``, tracked) has one row per raw file: ``source, file, sha256, bytes, url,
origin_repo, commit, path_in_repo, licence, citation``. :func:`fetch` copies each file from a local mirror
directory when configured or present (``TREATY_EFFECTS_MIRROR``, else ``paths.DEFAULT_MIRROR``, beside the
project), otherwise downloads it from its pinned origin URL with pooch. It always verifies size and sha256, writes
to a temporary file first and renames only a verified file into place, so a failed or corrupt fetch never replaces
a good file. Files that cannot be had are listed, with where they were looked for, in one error.

Every registry path stays inside ``data/raw`` (an absolute path or one with ``..`` is a DataError naming the row).

Downloads are bounded (:class:`Network`): a connection must open within :data:`CONNECT_TIMEOUT` seconds and data
must keep arriving (no gap longer than :data:`READ_TIMEOUT`); each download prints one line as it starts and one
when it fails; after :data:`MAX_NETWORK_FAILURES` failed downloads in a row the network counts as down and the
remaining downloads are skipped, and all downloads of one data step share a wall-clock budget of
:data:`FETCH_BUDGET` seconds (``$TREATY_EFFECTS_FETCH_BUDGET``). A network that accepts connections but never
answers therefore costs about ``MAX_NETWORK_FAILURES * READ_TIMEOUT`` seconds, not an hour.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

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
#: seconds to wait for a connection to open, and for the next block of data, before a download fails
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 30.0
#: failed downloads in a row after which the remaining ones are skipped (the network is down or hangs)
MAX_NETWORK_FAILURES = 3
#: wall-clock seconds all downloads of one data step may take together (``$TREATY_EFFECTS_FETCH_BUDGET`` overrides)
FETCH_BUDGET = 3600.0


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
    outside = [(i + 2, f) for i, f in zip(reg.index, reg["file"], strict=True) if not is_inside_raw(f)]
    if outside:
        raise DataError(
            f"{path}: column 'file' must be a relative path inside data/raw (no leading '/', no '..', no '\\'); "
            f"row(s) {[r for r, _ in outside]} hold {[f for _, f in outside]}"
        )
    reg["bytes"] = reg["bytes"].astype(int)
    return reg


def is_inside_raw(rel: str) -> bool:
    """True for a registry path that stays inside data/raw: relative, forward slashes, no '..', not data/raw itself."""
    p = PurePosixPath(rel)
    return bool(p.parts) and "\\" not in rel and not p.is_absolute() and ".." not in p.parts


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


def _check(path: Path, row: pd.Series, shown: str | Path | None = None) -> str | None:
    """None if ``path`` matches the registry row, else a message naming both hashes/sizes and the copy (``shown``:
    the name to give it, e.g. the mirror file a temporary copy came from)."""
    size = path.stat().st_size
    digest = sha256sum(path)
    if digest == row["sha256"] and size == row["bytes"]:
        return None
    kind = "truncated" if size < row["bytes"] else "corrupted"
    return (
        f"{row['file']}: {kind} copy at {shown or path}: sha256 {digest} ({size} bytes), "
        f"registry expects sha256 {row['sha256']} ({row['bytes']} bytes)"
    )


def _install(tmp: Path, target: Path, row: pd.Series, shown: str | Path) -> None:
    problem = _check(tmp, row, shown)
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
    try:
        shutil.copyfile(src, tmpname)
        _install(Path(tmpname), target, row, shown=f"{src} (mirror)")
    finally:
        Path(tmpname).unlink(missing_ok=True)
    return True


def _downloader(timeout: tuple[float, float], deadline: float) -> Callable[[str, str, object], None]:
    """A pooch downloader: streams ``url`` into the file pooch names, with connect/read timeouts and a deadline."""

    def download(url: str, output_file: str, pooch_obj: object) -> None:
        import requests

        with requests.get(url, stream=True, timeout=timeout) as r, open(output_file, "wb") as fh:
            r.raise_for_status()
            for block in r.iter_content(chunk_size=1 << 16):
                if time.monotonic() > deadline:
                    raise TimeoutError("the data step's download budget ran out during this file")
                fh.write(block)

    return download


def _from_url(row: pd.Series, target: Path, timeout: tuple[float, float], deadline: float) -> None:
    import pooch

    target.parent.mkdir(parents=True, exist_ok=True)
    tmpdir = Path(tempfile.mkdtemp(prefix=".fetch-", dir=target.parent))
    try:
        got = pooch.retrieve(
            row["url"],
            known_hash=None,
            fname=target.name,
            path=tmpdir,
            downloader=_downloader(timeout, deadline),
        )
        _install(Path(got), target, row, shown=f"{row['url']} (download)")
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def _budget() -> float:
    env = os.environ.get("TREATY_EFFECTS_FETCH_BUDGET", "").strip()
    try:
        return float(env) if env else FETCH_BUDGET
    except ValueError:
        raise ParameterError("TREATY_EFFECTS_FETCH_BUDGET", env, hint="a number of seconds") from None


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@dataclass
class Network:
    """The bounds of one data step's downloads (module docstring) and its one-line-per-file messages."""

    connect: float = CONNECT_TIMEOUT
    read: float = READ_TIMEOUT
    budget: float = field(default_factory=_budget)
    max_failures: int = MAX_NETWORK_FAILURES
    echo: Callable[[str], None] = _stderr
    failures: int = 0
    started: float = field(default_factory=time.monotonic)

    def skip_reason(self) -> str | None:
        """Why the next download is not even tried, or None."""
        if self.failures >= self.max_failures:
            return f"skipped: the last {self.failures} downloads failed, the network looks down"
        if time.monotonic() - self.started > self.budget:
            return f"skipped: the data step's download budget of {self.budget:.0f} s is used up"
        return None

    def download(self, row: pd.Series, target: Path) -> FileStatus:
        """Download one registry file; a failed download is status "missing" with its reason (one line)."""
        skip = self.skip_reason()
        if skip:
            return FileStatus(row["file"], "missing", skip)
        self.echo(f"downloading {row['file']} from {row['url']}")
        t0 = time.monotonic()
        try:
            _from_url(row, target, (self.connect, self.read), self.started + self.budget)
        except ChecksumError:
            raise
        except Exception as exc:  # noqa: BLE001  (any network error: collected and reported together)
            self.failures += 1
            first = (str(exc).strip().splitlines() or [""])[0][:200]
            reason = f"download failed after {time.monotonic() - t0:.0f} s: {type(exc).__name__}: {first}"
            self.echo(f"  {row['file']}: {reason}")
            return FileStatus(row["file"], "missing", reason)
        self.failures = 0
        return FileStatus(row["file"], "fetched-url", row["url"])


def _fetch_one(row: pd.Series, mirror_dir: Path | None, network: Network | None) -> FileStatus:
    """One registry file: keep a good copy in place, else copy it from the mirror, else download it; status
    "missing" with the reason when neither worked. A copy that fails its checksum raises :class:`ChecksumError`."""
    target = paths.raw_path(row["file"])
    if target.is_file() and _check(target, row) is None:
        return FileStatus(row["file"], "ok")
    if mirror_dir is not None and _from_mirror(row, mirror_dir, target):
        return FileStatus(row["file"], "fetched-mirror", str(mirror_dir))
    if network is None:
        return FileStatus(row["file"], "missing", "downloads disabled")
    return network.download(row, target)


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
    network: Network | None = None,
) -> list[FileStatus]:
    """Make every registry file (or those in ``files``) present and verified in data/raw.

    ``mirror="auto"`` uses :func:`default_mirror`; ``None`` disables the mirror. ``download=False`` never touches the
    network; ``network`` sets the timeouts and bounds of downloads (default :class:`Network`). Raises :class:`ChecksumError` when a copy from the mirror or URL does not match the registry (naming the
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
    net = (network or Network()) if download else None

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
            status = _fetch_one(row, mirror_dir, net)
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
