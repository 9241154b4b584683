"""The committed reference results are what the leaderboard makes of the committed runs, byte for
byte: a change to the statistics or the tables must regenerate them (``make leaderboard``'s last
steps), and a hand edit of a results file fails here."""

from __future__ import annotations

from pathlib import Path

import pytest

from ohgw_bench.analysis.leaderboard import build_leaderboard, read_run_summary
from ohgw_bench.analysis.render import render
from tests.helpers import ROOT

RESULTS = ROOT / "results"
REPLAYS = sorted(RESULTS.glob("*/runs.parquet"))  # a replayed study keeps its per-run summary, not its runs
STUDIES = sorted(p.parent for p in RESULTS.glob("*/LEADERBOARD.md") if not (p.parent / "runs.parquet").exists())
FILES = {"LEADERBOARD.md": "md", "leaderboard.csv": "csv", "leaderboard.tex": "tex"}


@pytest.mark.parametrize("study", STUDIES, ids=[p.name for p in STUDIES])
def test_committed_leaderboards_regenerate_byte_for_byte(study: Path) -> None:
    """What ``leaderboard(study, fmt)`` writes, each format rendered from one reading of the runs (the
    reading is most of the cost; ``tests/analysis/test_leaderboard.py`` checks that ``leaderboard`` is
    that rendering)."""
    board = build_leaderboard(read_run_summary(study))
    for name, fmt in FILES.items():
        committed = study / name
        assert committed.exists(), f"{committed} is missing: make leaderboard writes it"
        assert render(board, fmt) == committed.read_text(encoding="utf-8"), f"{committed} is stale"


def test_the_reference_study_is_committed() -> None:
    assert [p.name for p in STUDIES] == ["mnist1d-cnn"]


@pytest.mark.parametrize("runs", REPLAYS, ids=[p.parent.name for p in REPLAYS])
def test_committed_replayed_leaderboards_regenerate_from_their_run_summary(runs: Path) -> None:
    """``make replay`` commits the per-run summary of its runs, not the runs: the leaderboard files
    must be what that summary gives (``leaderboard`` is that rendering: tests/analysis/test_leaderboard.py)."""
    board = build_leaderboard(read_run_summary(runs))
    for name, fmt in FILES.items():
        committed = runs.parent / name
        assert render(board, fmt) == committed.read_text(encoding="utf-8"), f"{committed} is stale"


def test_the_replayed_leaderboard_is_committed() -> None:
    assert [p.parent.name for p in REPLAYS] == ["mnist1d-cnn-replay"]
