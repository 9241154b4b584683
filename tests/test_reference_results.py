"""The committed reference results are what the leaderboard makes of the committed runs, byte for
byte: a change to the statistics or the tables must regenerate them (``make leaderboard``'s and
``make replay``'s last steps), and a hand edit of a results file fails here."""

from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd
import pytest

from ohgw_bench.analysis.agreement import agreement, render_agreement
from ohgw_bench.analysis.leaderboard import build_leaderboard, read_run_summary
from ohgw_bench.analysis.render import render
from tests.helpers import ROOT

RESULTS = ROOT / "results"
REPLAYS = sorted(RESULTS.glob("*/runs.parquet"))  # a replayed study keeps its per-run summary, not its runs
STUDIES = sorted(p.parent for p in RESULTS.glob("*/LEADERBOARD.md") if not (p.parent / "runs.parquet").exists())
FILES = {"LEADERBOARD.md": "md", "leaderboard.csv": "csv", "leaderboard.tex": "tex"}


@functools.cache
def _study(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The per-run summary of a committed study (run folders, or a replay's saved summary) and its
    leaderboard, made once for every test here (reading and building are most of the cost;
    ``tests/analysis/test_leaderboard.py`` checks that ``leaderboard`` renders this)."""
    resamples = path.parent / "resamples.parquet"  # a replay's runs on resampled tables, beside its own
    summary = read_run_summary(path, resamples=resamples if path.suffix == ".parquet" and resamples.exists() else None)
    return summary, build_leaderboard(summary)


def _check(board: pd.DataFrame, folder: Path) -> None:
    for name, fmt in FILES.items():
        committed = folder / name
        assert committed.exists(), f"{committed} is missing: its make target writes it"
        assert render(board, fmt) == committed.read_text(encoding="utf-8"), f"{committed} is stale"


@pytest.mark.parametrize("study", STUDIES, ids=[p.name for p in STUDIES])
def test_committed_leaderboards_regenerate_byte_for_byte(study: Path) -> None:
    _check(_study(study)[1], study)


def test_the_reference_study_is_committed() -> None:
    assert [p.name for p in STUDIES] == ["mnist1d-cnn"]


@pytest.mark.parametrize("runs", REPLAYS, ids=[p.parent.name for p in REPLAYS])
def test_committed_replayed_leaderboards_regenerate_from_their_run_summary(runs: Path) -> None:
    """``make replay`` commits the per-run summary of its runs, not the runs: the leaderboard files
    must be what that summary gives."""
    _check(_study(runs)[1], runs.parent)


def test_the_replayed_leaderboard_is_committed() -> None:
    assert [p.parent.name for p in REPLAYS] == ["mnist1d-cnn-replay"]


def test_the_committed_agreement_report_regenerates() -> None:
    """``make replay`` commits the replay-versus-real report beside the replayed leaderboard."""
    real, replay = _study(RESULTS / "mnist1d-cnn"), _study(RESULTS / "mnist1d-cnn-replay" / "runs.parquet")
    table = agreement(real[0], replay[0], leaderboards=(real[1], replay[1]))
    for name, fmt in {"AGREEMENT.md": "md", "agreement.csv": "csv"}.items():
        committed = RESULTS / "mnist1d-cnn-replay" / name
        assert render_agreement(table, fmt) == committed.read_text(encoding="utf-8"), f"{committed} is stale"


def test_the_committed_bias_report_regenerates() -> None:
    """``make leaderboard`` commits the final incumbents' bias check beside the leaderboard."""
    from ohgw_bench.analysis.bias import final_config_bias, render_bias

    table = final_config_bias(_study(RESULTS / "mnist1d-cnn")[0])
    for name, fmt in {"BIAS.md": "md", "bias.csv": "csv"}.items():
        committed = RESULTS / "mnist1d-cnn" / name
        assert render_bias(table, fmt) == committed.read_text(encoding="utf-8"), f"{committed} is stale"


def test_the_committed_cross_task_summary_regenerates() -> None:
    """``make summary`` commits the verdict across tasks; its text is computed from the files above."""
    from ohgw_bench.analysis.cross_task import summary_report

    committed = (RESULTS / "SUMMARY.md").read_text(encoding="utf-8")
    figure = "![speed-ups with 95 % intervals](summary/forest.png)\n\n"
    assert figure in committed and (RESULTS / "summary" / "forest.png").is_file()
    regenerated = summary_report(RESULTS, "md", RESULTS.parent / "examples" / "preregistration.toml")
    assert regenerated == committed.replace(figure, ""), "results/SUMMARY.md is stale: run make summary"
