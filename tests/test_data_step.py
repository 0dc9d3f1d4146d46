"""The data step: registry, fetch from a mirror, checksum verification, failure modes that lose nothing."""

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from helpers.core import paths
from helpers.core.errors import ChecksumError, DataError, MissingDataError, ParameterError
from helpers.data import registry as data


def _registry(tmp_path: Path, files: dict[str, bytes]) -> pd.DataFrame:
    rows = []
    for name, content in files.items():
        rows.append(
            {
                "source": name.split("/")[0],
                "file": name,
                "sha256": hashlib.sha256(content).hexdigest(),
                "bytes": str(len(content)),
                "url": f"http://127.0.0.1:9/{name}",
                "origin_repo": "x/y",
                "commit": "0" * 40,
                "path_in_repo": name,
                "licence": "CC0",
                "citation": "test",
            }
        )
    reg = pd.DataFrame(rows)
    path = tmp_path / "registry.tsv"
    reg.to_csv(path, sep="\t", index=False)
    return data.load_registry(path)


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    mirror = tmp_path / "mirror"
    raw.mkdir()
    monkeypatch.setattr(paths, "RAW", raw)
    files = {"src_a/a.csv": b"iso3,year,v\nPAK,2000,1\n", "src_b/b.txt": b"hello world\n" * 50}
    for name, content in files.items():
        (mirror / name).parent.mkdir(parents=True, exist_ok=True)
        (mirror / name).write_bytes(content)
    return raw, mirror, files, _registry(tmp_path, files)


def test_registry_matches_shared_manifest():
    """Every file of the shared manifest is registered with the same sha256 and size, and vice versa."""
    reg = data.load_registry()
    manifest_path = paths.ROOT.parent / "shared" / "data" / "MANIFEST.tsv"
    if not manifest_path.exists():
        pytest.skip("no shared manifest beside the project")
    man = pd.read_csv(manifest_path, sep="\t", dtype=str)
    merged = reg.merge(man, on="file", how="outer", suffixes=("", "_m"), indicator=True)
    assert (merged["_merge"] == "both").all(), merged.loc[merged["_merge"] != "both", "file"].tolist()
    assert (merged["sha256"] == merged["sha256_m"]).all()
    assert (merged["bytes"].astype(int) == merged["bytes_m"].astype(int)).all()
    assert reg["licence"].str.len().gt(0).all() and reg["citation"].str.len().gt(0).all()


def test_fetch_from_mirror_verifies_and_is_idempotent(sandbox):
    raw, mirror, files, reg = sandbox
    st = data.fetch(mirror=mirror, download=False, progress=False, registry=reg)
    assert [s.status for s in st] == ["fetched-mirror", "fetched-mirror"]
    for name, content in files.items():
        assert (raw / name).read_bytes() == content
    st = data.fetch(mirror=mirror, download=False, progress=False, registry=reg)
    assert [s.status for s in st] == ["ok", "ok"]


def test_corrupt_mirror_copy_is_rejected_and_good_file_kept(sandbox):
    raw, mirror, files, reg = sandbox
    data.fetch(mirror=mirror, download=False, progress=False, registry=reg)
    # damage the local copy AND the mirror: the fetch must fail naming the file and both hashes
    (raw / "src_a/a.csv").write_bytes(b"iso3,year,v\nPAK,2000,2\n")
    (mirror / "src_a/a.csv").write_bytes(b"iso3,year,v\nPAK,2000,3\n")
    with pytest.raises(ChecksumError) as e:
        data.fetch(mirror=mirror, download=False, progress=False, registry=reg)
    msg = str(e.value)
    assert "src_a/a.csv" in msg and hashlib.sha256(files["src_a/a.csv"]).hexdigest() in msg
    assert hashlib.sha256(b"iso3,year,v\nPAK,2000,3\n").hexdigest() in msg
    # nothing was replaced by the bad mirror copy, and no temp file was left behind
    assert (raw / "src_a/a.csv").read_bytes() == b"iso3,year,v\nPAK,2000,2\n"
    assert not list((raw / "src_a").glob(".fetch-*"))


def test_truncated_file_is_called_truncated(sandbox):
    raw, mirror, files, reg = sandbox
    (mirror / "src_b/b.txt").write_bytes(files["src_b/b.txt"][:100])
    with pytest.raises(ChecksumError, match="truncated"):
        data.fetch(mirror=mirror, download=False, progress=False, registry=reg)
    assert not (raw / "src_b/b.txt").exists()


def test_a_good_file_is_never_replaced(sandbox):
    raw, mirror, files, reg = sandbox
    data.fetch(mirror=mirror, download=False, progress=False, registry=reg)
    (mirror / "src_a/a.csv").write_bytes(b"tampered")
    st = data.fetch(mirror=mirror, download=False, progress=False, registry=reg)
    assert st[0].status == "ok" and (raw / "src_a/a.csv").read_bytes() == files["src_a/a.csv"]


def test_no_mirror_no_network_lists_missing_files_and_origins(sandbox):
    _, _, files, reg = sandbox
    # the URLs point at a closed local port: the download fails fast, as it would offline
    with pytest.raises(MissingDataError) as e:
        data.fetch(mirror=None, download=True, progress=False, registry=reg)
    msg = str(e.value)
    for name in files:
        assert name in msg and f"http://127.0.0.1:9/{name}" in msg
    assert "2 raw file(s)" in msg


def test_unknown_file_parameter_lists_valid(sandbox):
    _, mirror, _, reg = sandbox
    with pytest.raises(ParameterError, match="src_a/a.csv"):
        data.fetch(["nope.csv"], mirror=mirror, registry=reg, progress=False)


def test_malformed_registry_names_file_and_row(tmp_path):
    p = tmp_path / "registry.tsv"
    p.write_text(
        "source\tfile\tsha256\tbytes\turl\torigin_repo\tcommit\tpath_in_repo\tlicence\tcitation\n"
        "a\ta/x\tnothex\t1\tu\tr\tc\tp\tl\tc\n"
    )
    with pytest.raises(DataError, match=r"registry.tsv: malformed sha256 at row\(s\) \[2\]"):
        data.load_registry(p)


@pytest.mark.realdata
def test_real_raw_files_verify():
    st = data.verify()
    assert (st["status"] == "ok").all(), st[st["status"] != "ok"].to_string()
