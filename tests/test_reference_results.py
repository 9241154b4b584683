"""The committed reference results are what the leaderboard makes of the committed runs, byte for
byte: a change to the statistics or the tables must regenerate them (``make leaderboard``'s last
steps), and a hand edit of a results file fails here."""

from __future__ import annotations

from pathlib import Path

import pytest

from ohgw_bench.leaderboard import leaderboard

RESULTS = Path(__file__).resolve().parent.parent / "results"
STUDIES = sorted(p.parent for p in RESULTS.glob("*/LEADERBOARD.md"))
FILES = {"LEADERBOARD.md": "md", "leaderboard.csv": "csv", "leaderboard.tex": "tex"}


@pytest.mark.parametrize("study", STUDIES, ids=[p.name for p in STUDIES])
def test_committed_leaderboards_regenerate_byte_for_byte(study: Path) -> None:
    for name, fmt in FILES.items():
        committed = study / name
        assert committed.exists(), f"{committed} is missing: make leaderboard writes it"
        assert leaderboard(study, fmt=fmt) == committed.read_text(encoding="utf-8"), f"{committed} is stale"


def test_the_reference_study_is_committed() -> None:
    assert [p.name for p in STUDIES] == ["mnist1d-cnn"]
