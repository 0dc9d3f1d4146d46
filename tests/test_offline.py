"""A run makes no network request (issue 11, item 9): the static figure export starts Chromium with switches that
turn off background networking, update, sync and search lookups, and no host name resolves. Checked by tracing every
``connect``/``send`` system call of a figure export and its Chromium processes with strace."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.core import paths
from helpers.report import export

EXPORT = """
import sys, time
import plotly.graph_objects as go
from helpers.report import export
if sys.argv[1] == "plain":  # kaleido's own switches only: the control
    export.offline_browser_cls = lambda: __import__("choreographer").browsers.chromium.Chromium
fig = go.Figure(go.Scatter(x=[1, 2, 3], y=[1, 3, 2]))
export._static_bytes(fig.to_plotly_json(), "png", export.SIZES["column"])
time.sleep(5)  # background services start a few seconds after the browser
export._static_bytes(fig.to_plotly_json(), "svg", export.SIZES["column"])
"""

SOCKET = re.compile(r"^socket\((AF_INET6?), (SOCK_\w+)[^)]*\)\s+= (\d+)")
CONNECT = re.compile(
    r"^connect\((\d+), \{sa_family=(AF_INET6?), sin6?_port=htons\((\d+)\).*?\"([0-9a-f.:]+)\""
)
SEND = re.compile(r"^(?:sendto|sendmsg|sendmmsg|write)\((\d+),")
CLOSE = re.compile(r"^close\((\d+)\)")


def _loopback(addr: str) -> bool:
    return addr.startswith("127.") or addr in {"::1", "::ffff:127.0.0.1"}


def network_requests(trace_files: list[Path]) -> list[str]:
    """Every attempt to reach another machine in strace -ff output: a DNS query (connect to port 53), a TCP
    connection to a non-loopback address, or data sent on a UDP socket connected to one. (Chromium connects an
    unsent UDP socket to a public address to learn its own route, which puts nothing on the wire.)"""
    out = []
    for f in trace_files:
        sockets: dict[str, str] = {}
        udp_out: dict[str, str] = {}
        for line in f.read_text(errors="replace").splitlines():
            if m := SOCKET.match(line):
                sockets[m[3]] = m[2]
            elif m := CONNECT.match(line):
                fd, port, addr = m[1], m[3], m[4]
                if port == "53":
                    out.append(f"{f.name}: DNS query to {addr}")
                elif not _loopback(addr) and sockets.get(fd) == "SOCK_STREAM":
                    out.append(f"{f.name}: TCP connection to {addr}:{port}")
                elif not _loopback(addr):
                    udp_out[fd] = f"{addr}:{port}"
            elif (m := SEND.match(line)) and m[1] in udp_out:
                out.append(f"{f.name}: UDP data to {udp_out[m[1]]}")
            elif m := CLOSE.match(line):
                sockets.pop(m[1], None)
                udp_out.pop(m[1], None)
    return out


def traced_export(tmp_path: Path, mode: str) -> list[str]:
    trace = tmp_path / mode / "trace"
    trace.parent.mkdir()
    script = tmp_path / "export_one.py"
    script.write_text(EXPORT)
    cmd = [
        "strace",
        "-ff",
        "-qq",
        "-e",
        "trace=socket,connect,close,sendto,sendmsg,sendmmsg,write",
        "-o",
        str(trace),
    ]
    res = subprocess.run(
        [*cmd, sys.executable, str(script), mode], cwd=paths.ROOT, capture_output=True, timeout=300
    )
    assert res.returncode == 0, res.stderr.decode()[-2000:]
    return network_requests(sorted(trace.parent.glob("trace.*")))


def test_the_offline_switches_are_on_chromiums_command_line():
    cls = export.offline_browser_cls()
    assert cls.get_cli is not cls.__mro__[1].get_cli
    for flag in ("--disable-background-networking", "--disable-component-update", "--disable-default-apps"):
        assert flag in export.OFFLINE_CHROMIUM_FLAGS
    assert any(f.startswith("--host-resolver-rules=MAP * ~NOTFOUND") for f in export.OFFLINE_CHROMIUM_FLAGS)


def test_the_trace_reader_finds_requests(tmp_path):
    f = tmp_path / "trace.1"
    f.write_text(
        "socket(AF_INET, SOCK_DGRAM|SOCK_NONBLOCK, IPPROTO_IP) = 5\n"
        'connect(5, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("10.0.0.53")}, 16) = 0\n'
        "socket(AF_INET6, SOCK_DGRAM, IPPROTO_IP) = 7\n"
        "connect(7, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "
        '"2001:4860:4860::8888", &sin6_addr), sin6_scope_id=0}, 28) = 0\n'
        "close(7) = 0\n"
        "socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = 7\n"
        'connect(7, {sa_family=AF_INET, sin_port=htons(443), sin_addr=inet_addr("142.250.1.1")}, 16) = 0\n'
        'connect(8, {sa_family=AF_INET, sin_port=htons(9), sin_addr=inet_addr("127.0.0.1")}, 16) = 0\n'
    )
    assert network_requests([f]) == [
        "trace.1: DNS query to 10.0.0.53",
        "trace.1: TCP connection to 142.250.1.1:443",
    ]


@pytest.mark.slow
def test_a_static_export_makes_no_network_request(tmp_path):
    if shutil.which("strace") is None or export.chromium_path() is None:
        pytest.skip("needs strace and Chromium")
    control = traced_export(tmp_path, "plain")
    if not control:
        pytest.skip("this machine's Chromium makes no background requests even without the switches")
    assert traced_export(tmp_path, "offline") == []
