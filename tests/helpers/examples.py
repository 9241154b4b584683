"""Run a script of ``examples/`` as its docstring says, in this process: the script is under test, not
the process, and one torch thread keeps it from competing with the rest of the suite."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_example(name: str, argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """``examples/<name>`` with ``argv``, from the repository root (its relative table paths)."""
    import torch

    script = ROOT / "examples" / name
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(sys, "argv", [str(script), *argv])
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        runpy.run_path(str(script), run_name="__main__")
    finally:
        torch.set_num_threads(before)
