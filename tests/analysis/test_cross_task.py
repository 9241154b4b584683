"""The cross-task summary reads the committed leaderboards and table reports, keeps real studies and
replays apart, and checks the pre-registered variants only on held-out tables."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ohgw_bench.analysis.cross_task import (
    REAL,
    REPLAY,
    SummaryInputError,
    check_hypotheses,
    read_preregistration,
    read_studies,
    summary_report,
    tuple_rows,
    tuple_shares,
)
from ohgw_bench.analysis.tuples import across_tuples
from ohgw_bench.cli import main

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "results"
PREREGISTRATION = ROOT / "examples" / "preregistration.toml"


def test_every_warm_start_row_of_every_committed_leaderboard_is_one_tuple():
    studies = read_studies(RESULTS)
    kinds = {s.folder.name: s.kind for s in studies}
    assert kinds["mnist1d-cnn"] == REAL and kinds["mnist1d-cnn-replay"] == REPLAY
    rows = tuple_rows(studies)
    for study in studies:
        board = study.board
        expected = board[(board["warm_start"] != "none") & (board["n"] > 0)]
        mine = rows[rows["study"] == study.folder.name]
        assert sorted(mine["arm"] + mine["scheduler"]) == sorted(expected["arm"] + expected["scheduler"])
        assert mine["speedup_hl"].tolist() == expected["speedup_hl"].tolist()


def test_shares_are_counted_per_kind_never_across_kinds():
    rows = tuple_rows(read_studies(RESULTS))
    shares = tuple_shares(rows)
    for kind in (REAL, REPLAY):
        expected = across_tuples(rows[rows["kind"] == kind]).reset_index(drop=True)
        got = shares[shares["kind"] == kind].drop(columns="kind").reset_index(drop=True)
        pd.testing.assert_frame_equal(got, expected)


def _report(folder: Path, rows: list[dict]) -> None:
    (folder / "report").mkdir(parents=True)
    pd.DataFrame(rows).to_csv(folder / "report" / "report.csv", index=False)


def _row(arm: str, reference: str, low: float, shift: float = 1.0) -> dict:
    return {
        "arm": arm,
        "reference": reference,
        "n": 128,
        "final_pp_shift": shift,
        "final_pp_low": low,
        "final_pp_high": shift + 1,
        "epochs_to_target_median_saved": 0.0,
    }


def test_a_variant_holds_only_where_its_interval_lies_above_zero_and_the_development_table_is_left_out(tmp_path):
    variants = read_preregistration(PREREGISTRATION)
    arm = variants[0]["arm"]
    control = "random" + arm.removeprefix("ohgw")
    _report(tmp_path / "held-out-table", [_row(arm, "none", 0.4), _row(arm, control, -0.2), _row("other", "none", 5)])
    _report(tmp_path / "dev-table", [_row(arm, "none", 9.0)])
    found = check_hypotheses(tmp_path, variants, development="dev-table")
    assert [(h.table, h.reference, h.held) for h in found] == [
        ("held-out-table", "none", True),
        ("held-out-table", control, False),
    ]


def test_the_cli_writes_the_summary_and_its_forest_plot_from_the_committed_results(tmp_path):
    out = tmp_path / "SUMMARY.md"
    argv = ["summary", str(RESULTS), "--preregistration", str(PREREGISTRATION), "--figures", str(tmp_path / "fig")]
    assert main([*argv, "--out", str(out)]) == 0
    text = out.read_text()
    n_tuples = len(tuple_rows(read_studies(RESULTS)))
    assert text.count("\n| mnist1d-cnn") == n_tuples
    assert "](fig/forest.png)" in text
    assert (tmp_path / "fig" / "forest.png").stat().st_size > 0
    assert summary_report(RESULTS, "md", PREREGISTRATION) == text.replace(
        "![speed-ups with 95 % intervals](fig/forest.png)\n\n", ""
    )


def test_a_foreign_leaderboard_is_refused_by_name(tmp_path):
    (tmp_path / "study").mkdir()
    pd.DataFrame({"a": [1]}).to_csv(tmp_path / "study" / "leaderboard.csv", index=False)
    with pytest.raises(SummaryInputError, match="is not a leaderboard of ohgw-bench"):
        read_studies(tmp_path)
