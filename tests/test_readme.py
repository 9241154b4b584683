"""The documentation runs as written and the README's CLI reference is complete.

* Every Python snippet in README.md, docs/*.md and results/*/README.md runs as written (from the
  repository root), except those whose first line says ``# sketch:`` (skeletons with ``...``, code
  that needs a cluster or a package this project does not install, or long training).
* Every ``--flag`` of every subcommand of ``ohgw-bench`` appears in that subcommand's entry of the
  README's *CLI reference*.
"""

from __future__ import annotations

import argparse
import inspect
import re
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from ohgw_bench import cli

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = [README, *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "results").glob("*/README.md"))]
SKETCH = "# sketch:"
FENCE = re.compile(r"^[ \t]*```python\n(.*?)^[ \t]*```", re.M | re.S)


def _blocks(path: Path) -> list[str]:
    return [textwrap.dedent(m.group(1)) for m in FENCE.finditer(path.read_text(encoding="utf-8"))]


BLOCKS = [(path.relative_to(ROOT).as_posix(), code) for path in DOCS for code in _blocks(path)]
RUNNABLE = [(name, code) for name, code in BLOCKS if not code.lstrip().startswith(SKETCH)]


def test_the_docs_have_python_snippets_to_run():
    assert (ROOT / "docs").is_dir() and len(DOCS) > 1
    assert len(RUNNABLE) >= 3 and len(BLOCKS) > len(RUNNABLE)
    assert any(name == "README.md" for name, _ in RUNNABLE)


@pytest.mark.parametrize(
    ("name", "code"), RUNNABLE, ids=[f"{name}:{code.strip().splitlines()[0][:40]}" for name, code in RUNNABLE]
)
def test_python_snippet_runs_as_written(name, code, monkeypatch):
    monkeypatch.chdir(ROOT)
    exec(compile(code, name, "exec"), {"__name__": "__readme__"})


# --------------------------------------------------------------------------- the CLI reference


def _build_parser() -> argparse.ArgumentParser:
    """The parser ``ohgw-bench`` runs: the one function of cli.py that takes no argument and
    returns an ArgumentParser, whatever it is called."""
    found = []
    for _, fn in inspect.getmembers(cli, inspect.isfunction):
        if fn.__module__ != cli.__name__ or "ArgumentParser" not in str(inspect.signature(fn).return_annotation):
            continue
        if all(p.default is not p.empty for p in inspect.signature(fn).parameters.values()):
            found.append(fn)
    assert len(found) == 1, f"expected one parser-building function in {cli.__file__}, found {found}"
    return found[0]()


def _subcommands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[str, list[str]]]:
    """(``"table build"``, its ``--flags``) for every leaf subcommand, -h/--help left out."""
    subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subparsers:
        flags = [o for a in parser._actions for o in a.option_strings if o.startswith("--") and o != "--help"]
        yield " ".join(path), flags
        return
    for action in subparsers:
        for name, sub in action.choices.items():
            yield from _subcommands(sub, (*path, name))


def _cli_reference(commands: set[str]) -> dict[str, str]:
    """The README's CLI reference section: each ``ohgw-bench <subcommand> ...`` line of its synopsis
    and its indented continuation lines, keyed by the longest of ``commands`` the line starts with
    (else by the line's leading lower-case words)."""
    text = README.read_text(encoding="utf-8")
    section = re.search(r"^## CLI reference\n(.*?)(?=^## )", text, re.M | re.S)
    assert section, "README.md has no '## CLI reference' section"
    entries: dict[str, str] = {}
    key = None
    for line in section.group(1).splitlines():
        if line.startswith("ohgw-bench "):
            words = line.split()[1:]
            known = [c for c in commands if words[: len(c.split())] == c.split()]
            key = max(known, key=len) if known else " ".join(_leading_words(words))
            entries[key] = entries.get(key, "") + line + "\n"
        elif key is not None and line.startswith(" ") and line.strip():
            entries[key] += line + "\n"
        else:
            key = None
    return entries


def _leading_words(words: list[str]) -> Iterator[str]:
    for word in words:
        if not re.fullmatch(r"[a-z][a-z0-9-]*", word):
            return
        yield word


SUBCOMMANDS = dict(_subcommands(_build_parser()))


def test_every_subcommand_has_an_entry_in_the_cli_reference():
    reference = _cli_reference(set(SUBCOMMANDS))
    assert sorted(SUBCOMMANDS) == sorted(reference), "README's CLI reference lists other subcommands than cli.py"


@pytest.mark.parametrize("command", sorted(SUBCOMMANDS))
def test_every_cli_option_is_in_the_cli_reference(command):
    entry = _cli_reference(set(SUBCOMMANDS)).get(command, "")
    missing = [f for f in SUBCOMMANDS[command] if not re.search(rf"(?<![\w-]){re.escape(f)}(?![\w-])", entry)]
    assert not missing, f"`ohgw-bench {command}` options missing from README's CLI reference: {missing}"
