"""Every ```python block of README.md and docs/ runs as written.

The blocks of one file run in order, in one namespace, in a temporary working
directory, as one script would. A block that cannot run as written (it needs
a remote host, or shows only the shape of a call) is preceded by the line
``<!-- fragment -->`` and skipped. A failing block is reported with its file
and line, so the traceback points into the page.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parent.parent
FRAGMENT = "<!-- fragment -->"
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])

# Runs one page's blocks in a fresh interpreter, as one script: nothing an
# example sets up (scopes, hooks, logging, signal handlers) reaches other tests.
RUNNER = """
import json, sys, traceback, types
page = sys.argv[1]
blocks = json.load(sys.stdin)
script = types.ModuleType("__main__")
script.__file__ = page
sys.modules["__main__"] = script
for fence_line, code in blocks:
    try:
        # Blank lines in front keep tracebacks on the page's own line numbers.
        exec(compile("\\n" * fence_line + code, page, "exec"), script.__dict__)
    except BaseException:
        traceback.print_exc()
        sys.exit(f"the example at {page}:{fence_line} failed")
"""


@dataclass(frozen=True)
class Example:
    """One fenced ```python block of a page."""

    fence_line: int  # 1-based line of the opening fence
    code: str
    fragment: bool


def examples(page: Path) -> list[Example]:
    text = page.read_text(encoding="utf-8")
    lines = text.splitlines()
    found = []
    for token in MarkdownIt("commonmark").parse(text):
        if token.type == "fence" and token.info.split()[:1] == ["python"]:
            assert token.map is not None
            start = token.map[0]
            fragment = start > 0 and lines[start - 1].strip() == FRAGMENT
            found.append(Example(start + 1, token.content, fragment))
    return found


def page_id(page: Path) -> str:
    return str(page.relative_to(ROOT))


RUNNABLE = [page for page in PAGES if any(not e.fragment for e in examples(page))]


def test_pages_are_found() -> None:
    assert ROOT / "README.md" in PAGES
    assert ROOT / "docs" / "users-guide.md" in PAGES


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_every_fragment_marker_stands_right_before_a_python_block(page: Path) -> None:
    lines = page.read_text(encoding="utf-8").splitlines()
    markers = {number for number, line in enumerate(lines, 1) if line.strip() == FRAGMENT}
    marked = {example.fence_line - 1 for example in examples(page) if example.fragment}
    assert markers == marked, f"{page_id(page)}: stray `{FRAGMENT}` on lines {markers - marked}"


@pytest.mark.parametrize("page", RUNNABLE, ids=page_id)
def test_python_examples_run_as_written(page: Path, tmp_path: Path) -> None:
    blocks = [(e.fence_line, e.code) for e in examples(page) if not e.fragment]
    finished = subprocess.run(
        [sys.executable, "-c", RUNNER, str(page)],
        input=json.dumps(blocks),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if finished.returncode != 0:
        pytest.fail(finished.stderr, pytrace=False)
