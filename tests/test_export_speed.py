"""kaleido without its page reload (helpers.report.export.reuse_kaleido_tabs): the same images as kaleido's own
behaviour, checked by rendering one sequence of figures in two fresh processes, one with the reload (kaleido as
shipped, ``TREATY_EFFECTS_KALEIDO_RELOAD=1``) and one without. The sequence alternates formats, backgrounds, a map
and a LaTeX title so that any state a render left in the page would show in the next image."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from helpers.report import export

pytestmark = pytest.mark.skipif(
    export.chromium_path() is None or export.topojson_dir() is None,
    reason="no Chromium or local topojson: run tools/install_system_deps.sh",
)

SCRIPT = r"""
import hashlib, json, re, sys
import plotly.graph_objects as go
from helpers.report import export
from helpers.report.export import SIZES, _static_bytes

size = next(iter(SIZES.values()))
dark = go.Figure(go.Bar(x=["a", "b"], y=[1, 3])).update_layout(paper_bgcolor="#222222", font_color="white")
plain = go.Figure(go.Scatter(x=[0, 1, 2], y=[2, 0, 1])).update_layout(title="plain")
geo = go.Figure(go.Choropleth(locations=["FRA", "DEU", "KEN"], z=[1, 2, 3])).update_layout(title="map")
tex = go.Figure(go.Scatter(x=[0, 1], y=[0, 1])).update_layout(title=r"$\beta_{t} = 1$")
seq = [(dark, "pdf"), (plain, "png"), (geo, "png"), (plain, "pdf"), (dark, "png"), (tex, "png"), (plain, "png"),
       (geo, "pdf")]
out = []
for fig, fmt in seq:
    b = _static_bytes(fig.to_dict(), fmt, size)
    if fmt == "pdf":  # creation dates and the document id change with every render
        b = re.sub(rb"/(CreationDate|ModDate) \([^)]*\)|/ID \[[^\]]*\]", b"", b)
    out.append(hashlib.sha256(b).hexdigest())
import kaleido.kaleido as kk
print(json.dumps({"reuse": bool(getattr(kk.Kaleido, "_treaty_effects_reuse", False)), "hashes": out}))
"""


def _render(reload: bool) -> dict:
    env = {**os.environ, "TREATY_EFFECTS_KALEIDO_RELOAD": "1" if reload else "0"}
    run = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_images_without_the_page_reload_equal_kaleidos_own():
    shipped, reused = _render(reload=True), _render(reload=False)
    assert not shipped["reuse"] and reused["reuse"]  # the switch works both ways
    assert len(set(shipped["hashes"])) >= 6  # distinct images, so equality below means something
    assert reused["hashes"] == shipped["hashes"]


def test_patch_is_refused_for_another_kaleido():
    """Any kaleido but the pinned 1.5.0 keeps its own behaviour (checked in a fresh process: the test session may
    have patched kaleido already)."""
    script = (
        "from importlib import metadata\n"
        "real = metadata.version\n"
        "metadata.version = lambda name: '9.9.9' if name == 'kaleido' else real(name)\n"
        "from helpers.report import export\n"
        "import kaleido.kaleido as kk\n"
        "print(export.reuse_kaleido_tabs(), getattr(kk.Kaleido, '_treaty_effects_reuse', False))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TREATY_EFFECTS_KALEIDO_RELOAD"}
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == ["False", "False"]
