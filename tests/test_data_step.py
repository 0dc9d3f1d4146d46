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


# ---------------------------------------------------------------------------------------------------------------
# issue 11, items 9 and 10: bounded downloads, the mirror file named, paths that leave data/raw refused
# ---------------------------------------------------------------------------------------------------------------
def test_a_bad_mirror_copy_is_named_not_the_temporary_file(sandbox):
    raw, mirror, files, reg = sandbox
    (mirror / "src_a/a.csv").write_bytes(b"iso3,year,v\nPAK,2000,9\n")
    with pytest.raises(ChecksumError) as e:
        data.fetch(["src_a/a.csv"], mirror=mirror, download=False, progress=False, registry=reg)
    msg = str(e.value)
    assert f"corrupted copy at {mirror / 'src_a/a.csv'} (mirror)" in msg and ".fetch-" not in msg
    assert not list(raw.rglob(".fetch-*"))


@pytest.mark.parametrize("bad", ["../../x.csv", "/etc/passwd", "a/../../x", "a\\..\\x", "."])
def test_registry_paths_must_stay_inside_data_raw(tmp_path, bad):
    p = tmp_path / "registry.tsv"
    p.write_text(
        "source\tfile\tsha256\tbytes\turl\torigin_repo\tcommit\tpath_in_repo\tlicence\tcitation\n"
        f"a\tok/x.csv\t{'0' * 64}\t1\tu\tr\tc\tp\tl\tc\n"
        f"a\t{bad}\t{'0' * 64}\t1\tu\tr\tc\tp\tl\tc\n"
    )
    with pytest.raises(
        DataError, match=r"registry.tsv: column 'file' must be a relative path inside data/raw.*\[3\]"
    ):
        data.load_registry(p)


def test_raw_path_refuses_to_leave_data_raw(sandbox):
    with pytest.raises(DataError, match="must stay inside"):
        paths.raw_path("../../x")
    assert paths.raw_path("src_a/a.csv") == paths.RAW / "src_a/a.csv"


@pytest.fixture
def silent_server():
    """A local TCP server that accepts every connection and never answers (a hung proxy or captive network)."""
    import socket
    import threading

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    held, stop = [], threading.Event()

    def accept():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(srv.accept()[0])
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield srv.getsockname()[1]
    stop.set()
    t.join(2)
    for c in held:
        c.close()
    srv.close()


def test_a_network_that_never_answers_is_bounded_with_one_message_per_file(
    tmp_path, monkeypatch, silent_server
):
    import time

    raw = tmp_path / "raw"
    raw.mkdir()
    monkeypatch.setattr(paths, "RAW", raw)
    files = {f"src_{i}/f{i}.csv": f"content {i}\n".encode() for i in range(6)}
    reg = _registry(tmp_path, files)
    reg["url"] = [f"http://127.0.0.1:{silent_server}/{f}" for f in reg["file"]]
    lines: list[str] = []
    net = data.Network(connect=1.0, read=0.5, budget=60, max_failures=3, echo=lines.append)
    t0 = time.monotonic()
    with pytest.raises(MissingDataError) as e:
        data.fetch(mirror=None, download=True, progress=False, registry=reg, network=net)
    took = time.monotonic() - t0
    assert took < 10, f"the data step waited {took:.0f} s"
    msg = str(e.value)
    assert "6 raw file(s)" in msg and msg.count("ReadTimeout") == 3
    assert msg.count("skipped: the last 3 downloads failed, the network looks down") == 3
    # one line as each download starts and one as it fails; none for the skipped files
    assert [ln.split()[0] for ln in lines] == [
        "downloading",
        "src_0/f0.csv:",
        "downloading",
        "src_1/f1.csv:",
    ] + [
        "downloading",
        "src_2/f2.csv:",
    ]
    assert not [p for p in raw.rglob("*") if p.is_file()]


def test_the_download_budget_bounds_the_whole_step(tmp_path, monkeypatch, silent_server):
    raw = tmp_path / "raw"
    raw.mkdir()
    monkeypatch.setattr(paths, "RAW", raw)
    monkeypatch.setenv("TREATY_EFFECTS_FETCH_BUDGET", "0")
    reg = _registry(tmp_path, {"src_a/a.csv": b"a\n"})
    reg["url"] = [f"http://127.0.0.1:{silent_server}/a.csv"]
    with pytest.raises(MissingDataError, match="download budget of 0 s is used up"):
        data.fetch(mirror=None, download=True, progress=False, registry=reg, network=data.Network(echo=print))
