"""Every Python snippet in the README runs as written (from the repository root), except those whose
first line says ``# sketch:`` (skeletons with ``...``, or code that needs a cluster)."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCKS = [
    textwrap.dedent(m.group(1))
    for m in re.finditer(r"^[ \t]*```python\n(.*?)^[ \t]*```", (ROOT / "README.md").read_text(), re.M | re.S)
]
RUNNABLE = [b for b in BLOCKS if not b.lstrip().startswith("# sketch:")]


def test_the_readme_has_python_snippets_to_run():
    assert len(RUNNABLE) >= 3 and len(BLOCKS) > len(RUNNABLE)


@pytest.mark.parametrize("code", RUNNABLE, ids=[b.strip().splitlines()[0][:40] for b in RUNNABLE])
def test_python_snippet_runs_as_written(code, monkeypatch):
    monkeypatch.chdir(ROOT)
    exec(compile(code, "README.md", "exec"), {"__name__": "__readme__"})
