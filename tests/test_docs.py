"""The project documents itself: no tracked file may point readers to a Markdown file, a section (``#anchor``) or a
relative link that the repository does not contain, nor to the sibling folder outside the project that held the
working notes. Checked on every tracked file (``git ls-files``) with the rules of :func:`dangling`."""

from __future__ import annotations

import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from helpers.core import paths

ROOT = paths.ROOT

#: a Markdown file name, optionally with a folder path and a ``#section`` anchor (``docs/data.md#vdemlite``);
#: names built from placeholders (``{name}.md``, ``<name>.md``) do not match, because ``}``/``>`` precede ``.md``
MD_MENTION = re.compile(r"(?<![\w./-])((?:\.{1,2}/)*(?:[\w.-]+/)*[\w-]+\.md)(?:#([\w-]+))?(?![\w-])")
#: relative targets of Markdown links ``[text](target)`` in tracked .md files
MD_LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)\)")
#: the folder beside the checkout that held the working notes: no project file may send readers there
OUTSIDE = re.compile(r"\.\.[/\\]shared\b")

#: names of files the code writes (outputs), which tests and docstrings mention: not repository files
GENERATED = {"reg.md", "01_atlas/default/tables/tab1.md", "reports/findings.md", "findings.md"}


def tracked_files() -> list[str]:
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the tracked files are unknown")
    return [f for f in out.split("\0") if f]


def text_of(rel: str) -> str | None:
    path = ROOT / rel
    if not path.is_file():
        return None
    data = path.read_bytes()
    if b"\0" in data[:4096]:
        return None  # binary
    return data.decode("utf-8", errors="replace")


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading: link text kept, lower case, punctuation other than ``-`` and ``_``
    removed, spaces to hyphens."""
    s = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip())
    s = unicodedata.normalize("NFC", s.lower())
    return "".join(ch for ch in s if ch.isalnum() or ch in " -_").replace(" ", "-")


def anchors(md_text: str) -> set[str]:
    """Every heading anchor of a Markdown text, with GitHub's -1, -2 ... suffixes for repeated headings."""
    seen: dict[str, int] = {}
    out: set[str] = set()
    in_code = False
    for line in md_text.splitlines():
        if line.startswith("```"):
            in_code = not in_code
            continue
        m = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m and not in_code:
            slug = github_slug(m.group(1))
            n = seen.get(slug, 0)
            out.add(slug if n == 0 else f"{slug}-{n}")
            seen[slug] = n + 1
    return out


def resolve(rel_file: str, target: str) -> Path | None:
    """The repository file a mention refers to (relative to the repository root or to the mentioning file), or None."""
    root = ROOT.resolve()
    for base in (root, (root / rel_file).parent):
        p = (base / target).resolve()
        if p.is_file() and root in p.parents:
            return p
    return None


def _bad_mentions(rel_file: str, line: str) -> list[str]:
    """Mentions of Markdown files (and their sections) that the repository does not contain."""
    out = []
    for m in MD_MENTION.finditer(line):
        name, anchor = m.group(1), m.group(2)
        if name in GENERATED:
            continue
        target = resolve(rel_file, name)
        if target is None:
            out.append(f"mentions {name}, which is not in the repository")
        elif anchor and anchor not in anchors(target.read_text(encoding="utf-8")):
            out.append(f"{name} has no section #{anchor}")
    return out


def _bad_links(rel_file: str, line: str, own_anchors: set[str]) -> list[str]:
    """Relative Markdown links ``[text](target)`` to files or sections that do not exist (web links are not checked;
    links to Markdown files are checked as mentions)."""
    out = []
    for m in MD_LINK.finditer(line):
        link = m.group(1)
        if re.match(r"[a-z][a-z0-9+.-]*:", link) or re.search(r"\.md(#|$)", link):
            continue
        path, _, anchor = link.partition("#")
        if not path and anchor not in own_anchors:
            out.append(f"no section #{anchor} in this file")
        elif path and resolve(rel_file, path) is None:
            out.append(f"link to {path}, which is not in the repository")
    return out


def dangling(rel_file: str, text: str) -> list[str]:
    """Problems in one file, each as ``file:line: what``: mentions of a Markdown file or section that does not exist,
    relative Markdown links to missing files or sections (in .md files), and references to the folder outside the
    project."""
    own = anchors(text) if rel_file.endswith(".md") else set()
    problems = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        found = _bad_mentions(rel_file, line)
        if OUTSIDE.search(line):
            found.append(f"points outside the project: {line.strip()[:120]}")
        if rel_file.endswith(".md"):
            found += _bad_links(rel_file, line, own)
        problems += [f"{rel_file}:{lineno}: {f}" for f in found]
    return problems


def test_no_tracked_file_points_to_missing_docs():
    problems = []
    for rel in tracked_files():
        text = text_of(rel)
        if text is not None:
            problems += dangling(rel, text)
    assert not problems, "dangling references:\n" + "\n".join(problems)


def test_docs_exist_and_readme_links_them():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for doc in ("docs/data.md", "docs/methods.md", "CHANGELOG.md"):
        assert (ROOT / doc).is_file(), doc
        assert f"]({doc})" in readme, f"README does not link {doc}"


def test_data_doc_has_a_section_for_every_registry_source():
    import pandas as pd

    sources = set(pd.read_csv(paths.REGISTRY, sep="\t", usecols=["source"])["source"])
    sections = anchors((ROOT / "docs/data.md").read_text(encoding="utf-8"))
    assert sources <= sections, f"sources without a section in docs/data.md: {sorted(sources - sections)}"


# ---------------------------------------------------------------------------------------------- the checker itself


def test_checker_finds_what_it_should(tmp_path, monkeypatch):
    # names are assembled at run time so that this tracked file does not itself mention missing files
    md, up = ".md", "../" + "shared"
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / f"guide{md}").write_text(
        "# Guide\n\n## Data sources\n\n### vdemlite\n", encoding="utf-8"
    )
    (tmp_path / "data.csv").write_text("x\n", encoding="utf-8")
    good = (
        f"see docs/guide{md}#data-sources and docs/guide{md}#vdemlite; writes {{name}}{md} and <out>{md}\n"
        f"[guide](docs/guide{md}) [csv](data.csv) [web](https://example.org/x{md}) [here](#top)\n# Top\n"
    )
    assert dangling(f"README{md}", good) == []
    bad = (
        f"facts in NOTES{md} and docs/guide{md}#missing; copies in {up}/data\n"
        "[gone](docs/gone.csv) [nowhere](#nowhere)\n"
    )
    found = dangling(f"README{md}", bad)
    assert any(f"NOTES{md}, which is not in the repository" in p for p in found), found
    assert any("has no section #missing" in p for p in found), found
    assert any("points outside the project" in p for p in found), found
    assert any("link to docs/gone.csv" in p for p in found), found
    assert any("no section #nowhere" in p for p in found), found
    assert len(found) == 5, found
    # a mention is resolved relative to the root or to the mentioning file's folder
    assert dangling(f"docs/other{md}", f"see guide{md}#vdemlite\n") == []
    assert dangling("src/x.py", f"see guide{md}\n") != []


@pytest.mark.parametrize(
    "heading,slug",
    [
        ("Callaway-Sant'Anna group-time effects", "callaway-santanna-group-time-effects"),
        ("Reviewed tables in data/reference/", "reviewed-tables-in-datareference"),
        ("country_map.csv", "country_mapcsv"),
        ("[0.1.0] - 2026-11-24", "010---2026-11-24"),
        ("`vdemlite` and **V-Dem**", "vdemlite-and-v-dem"),
    ],
)
def test_github_slugs(heading, slug):
    assert github_slug(heading) == slug


def test_readme_lists_every_notebook_with_its_question():
    """The README's seminar path names every notebook of the collection (a new notebook needs its row)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `(\d\d_\w+)` \|", readme, flags=re.M))
    stems = {p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    assert stems and stems == rows, (
        f"README table: missing {sorted(stems - rows)}, unknown {sorted(rows - stems)}"
    )
