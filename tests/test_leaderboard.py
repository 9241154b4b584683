"""Leaderboard statistics against numbers computed by hand, and the three renderings."""

from __future__ import annotations

import io
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

sys.path.insert(0, str(Path(__file__).parent))
from synthetic import crossing_events, write_run  # noqa: E402

from ohgw_bench.leaderboard import (
    build_leaderboard,
    censored_pair_values,
    leaderboard,  # noqa: E402
    rank_biserial,
    render,
    win_rate,
)
from ohgw_bench.results import summarize_runs  # noqa: E402

# T@τ (tuner seconds) per seed, None = never reached; budget 100 s, runs end at 90 s, so a
# censored run counts as 100 s. Seed 7 exists only in the ohgw arm (unpaired).
NONE_T = {0: 30, 1: 40, 2: 50, 3: None, 4: 60, 5: 70, 6: 80}
OHGW_T = {0: 20, 1: 20, 2: None, 3: None, 4: 30, 5: 70, 6: 40, 7: 10}


def _events(t_reach: float | None, test_at_reach: float | None = None) -> list[dict]:
    events = crossing_events(t_reach, 90.0)
    if test_at_reach is not None:
        events[1]["test_acc"] = test_at_reach
    return events


@pytest.fixture
def results(tmp_path: Path) -> Path:
    for seed, t in NONE_T.items():
        write_run(tmp_path, "t", "asha", seed, _events(t))
    for seed, t in OHGW_T.items():
        write_run(tmp_path, "t", "asha+ohgw", seed, _events(t))
    return tmp_path


def _row(table: pd.DataFrame, arm: str, task: str = "t", scheduler: str = "asha") -> pd.Series:
    sel = table[(table["task"] == task) & (table["scheduler"] == scheduler) & (table["arm"] == arm)]
    assert len(sel) == 1
    return sel.iloc[0]


def test_paired_statistics_by_hand(results: Path) -> None:
    table = build_leaderboard(summarize_runs(results))
    assert table["arm"].tolist() == ["none", "ohgw"]
    none, arm = _row(table, "none"), _row(table, "ohgw")

    # Pairs: seeds 0..6. Censored values: 100 s.
    t_none = np.array([30, 40, 50, 100, 60, 70, 80], float)
    t_arm = np.array([20, 20, 100, 100, 30, 70, 40], float)
    assert (arm["n"], arm["n_runs"], arm["n_censored"], arm["n_censored_none"]) == (7, 8, 2, 1)
    assert (none["n"], none["n_censored"]) == (7, 1)

    # Medians and IQR (linear interpolation) in tuner hours, over paired seeds only (seed 7 left out).
    # none sorted 30 40 50 60 70 80 100 → median 60, q25 45, q75 75.
    # ohgw sorted 20 20 30 40 70 100 100 → median 40, q25 25, q75 85.
    assert (none["T_tuner_h_median"], none["T_tuner_h_q25"], none["T_tuner_h_q75"]) == pytest.approx(
        (60 / 3600, 45 / 3600, 75 / 3600)
    )
    assert (arm["T_tuner_h_median"], arm["T_tuner_h_q25"], arm["T_tuner_h_q75"]) == pytest.approx(
        (40 / 3600, 25 / 3600, 85 / 3600)
    )
    assert arm["T_device_h_median"] == pytest.approx(40 / 3600)  # one worker
    # Epochs: reached at the 2nd event (2 epochs), censored runs used 3.
    assert arm["T_epochs_median"] == 2.0 and arm["T_epochs_q75"] == pytest.approx(2.5)
    assert arm["T_reduction"] == pytest.approx(1 - 40 / 60)

    # Speed-up: ratios 1.5, 2, .5, 1 (both censored), 2, 1, 2 → median 1.5.
    assert arm["speedup"] == pytest.approx(1.5)
    # Win rate: wins at seeds 0, 1, 4, 6; loss at 2; ties (both censored; equal T) at 3 and 5.
    assert arm["win_rate"] == pytest.approx(5 / 7)
    # d = T_none − T_arm = 10, 20, −50, 0, 30, 0, 40. |d| ranks: the zeros 1.5 each, 10→3, 20→4, 30→5,
    # 40→6, 50→7; zsplit gives each zero rank half to R+ and half to R−: R+ = 18 + 1.5, R− = 7 + 1.5.
    assert arm["rank_biserial"] == pytest.approx((19.5 - 8.5) / 28)
    d = t_none - t_arm
    assert arm["p_value"] == pytest.approx(stats.wilcoxon(d, zero_method="zsplit").pvalue)
    # Incumbent test accuracy: .91 when τ reached, .84 otherwise; only seed 2 differs (−7 pp).
    assert arm["delta_test_acc_pp"] == pytest.approx(0.0)
    assert arm["incumbent_test_acc_median"] == pytest.approx(0.91)
    assert arm["best_val_acc_median"] == pytest.approx(0.92)
    assert arm["success"] == "✗"  # p is far from 0.05 with these pairs
    assert none["success"] == "—" and none["speedup"] == 1.0


def test_success_needs_speed_significance_and_no_accuracy_drop(tmp_path: Path) -> None:
    # 8 seeds, the arm always ~half the time: exact two-sided p = 2 / 2^8 < 0.05.
    for seed in range(8):
        write_run(tmp_path, "t", "asha", seed, _events(40 + seed, test_at_reach=0.900))
        # Distinct differences, so scipy's exact distribution applies.
        write_run(tmp_path, "t", "asha+ohgw", seed, _events(20 + seed / 2, test_at_reach=0.899))  # −0.1 pp
        write_run(tmp_path, "t", "asha+random", seed, _events(20 + seed / 2, test_at_reach=0.897))  # −0.3 pp
        write_run(tmp_path, "t", "asha+gauss", seed, _events(36 + 1.1 * seed, test_at_reach=0.900))  # ~8 % faster
    table = build_leaderboard(summarize_runs(tmp_path))
    ohgw, rnd, gauss = _row(table, "ohgw"), _row(table, "random"), _row(table, "gauss")
    assert ohgw["p_value"] == pytest.approx(2 / 2**8)
    assert ohgw["delta_test_acc_pp"] == pytest.approx(-0.1)
    assert ohgw["win_rate"] == 1.0 and ohgw["rank_biserial"] == 1.0
    assert ohgw["success"] == "✓"
    assert rnd["delta_test_acc_pp"] == pytest.approx(-0.3) and rnd["success"] == "✗"
    assert gauss["p_value"] < 0.05 and gauss["T_reduction"] < 0.15 and gauss["success"] == "✗"


def test_pure_helpers() -> None:
    assert win_rate(
        [10, 10, 100, 10], [5, 10, 100, 100], [True, True, False, True], [True, True, False, False]
    ) == pytest.approx((1 + 0.5 + 0.5 + 0) / 4)
    assert rank_biserial([1, -2, 3]) == pytest.approx((1 + 3 - 2) / 6)
    assert math.isnan(rank_biserial([]))
    assert math.isnan(win_rate([], [], [], []))
    # A censored value is raised to its partner's: never ahead of a reached run; two censored tie.
    a, b = censored_pair_values(
        [50, 80, 30, 40], [90, 60, 20, 10], [False, False, True, True], [False, True, False, True]
    )
    assert a.tolist() == [90, 80, 30, 40] and b.tolist() == [90, 60, 30, 10]


def test_arm_without_none_and_several_groups(tmp_path: Path) -> None:
    write_run(tmp_path, "t", "pasha+ohgw", 0, _events(30))  # nothing to pair with
    write_run(tmp_path, "u", "asha", 0, _events(30), workers=4)
    write_run(tmp_path, "u", "asha+ohgw", 0, _events(15), workers=4)
    table = build_leaderboard(summarize_runs(tmp_path))
    lonely = _row(table, "ohgw", scheduler="pasha")
    assert lonely["n"] == 0 and lonely["success"] == "✗" and math.isnan(lonely["p_value"])
    u = _row(table, "ohgw", task="u")
    assert u["n"] == 1 and u["T_device_h_median"] == pytest.approx(4 * 15 / 3600)


def test_renderings_parse(results: Path) -> None:
    for seed in range(3):
        write_run(results, "u", "pasha", seed, _events(30))
        write_run(results, "u", "pasha+ohgw", seed, _events(20))
        write_run(results, "u", "pasha+random", seed, _events(25))
    table = build_leaderboard(summarize_runs(results))
    assert len(table) == 5  # t×asha: none, ohgw; u×pasha: none, ohgw, random

    csv = render(table, "csv")
    back = pd.read_csv(io.StringIO(csv))
    assert back.shape == table.shape and back.columns.tolist() == table.columns.tolist()
    assert back["p_value"].iloc[1] == pytest.approx(table["p_value"].iloc[1])

    md = render(table, "md")
    headings = [line for line in md.splitlines() if line.startswith("## ")]
    assert headings == ["## t × asha", "## u × pasha"]
    table_lines = [line for line in md.splitlines() if line.startswith("|")]
    assert len(table_lines) == 2 * 2 + 5  # header + separator per group, one line per row
    assert all(line.count("|") == table_lines[0].count("|") for line in table_lines)

    tex = render(table, "tex")
    assert tex.count("\\begin{tabular}") == 2 and tex.count("\\end{tabular}") == 2
    rows = [line for line in tex.splitlines() if line.rstrip().endswith("\\\\")]
    assert len(rows) == 2 + 5  # one header per tabular plus the data rows
    assert "\\checkmark" in tex or "$\\times$" in tex

    assert leaderboard(results, fmt="md") == md
    with pytest.raises(ValueError, match="unknown leaderboard format"):
        render(table, "html")


def test_target_override_changes_the_table(results: Path) -> None:
    # τ = 0.5 is reached by every run at its first event (t/3; censored runs at 30 s).
    table = build_leaderboard(summarize_runs(results, target=0.5))
    arm = _row(table, "ohgw")
    assert arm["n_censored"] == 0
    # First events at t/3: 20/3, 20/3, 30, 30, 10, 70/3, 40/3 → median 40/3 s.
    assert arm["T_tuner_h_median"] == pytest.approx(40 / 3 / 3600)


def test_both_censored_is_a_tie_even_when_budgets_used_differ(tmp_path: Path) -> None:
    # Epoch budget: the tuner clock of a censored run is its tuner time at exhaustion (90 vs 60 s).
    for seed in range(3):
        write_run(tmp_path, "t", "asha", seed, crossing_events(None, 90.0), budget=(3.0, "epochs"))
        write_run(tmp_path, "t", "asha+ohgw", seed, crossing_events(None, 60.0), budget=(3.0, "epochs"))
    summary = summarize_runs(tmp_path)
    assert sorted(summary["T_tuner_seconds_cens"].unique().tolist()) == [60.0, 90.0]
    arm = _row(build_leaderboard(summary), "ohgw")
    assert arm["win_rate"] == 0.5 and arm["speedup"] == 1.0 and arm["rank_biserial"] == 0.0
    assert arm["p_value"] == pytest.approx(stats.wilcoxon([0.0, 0.0, 0.0], zero_method="zsplit").pvalue)
    assert arm["T_reduction"] == 0.0 and arm["n_censored"] == 3 and arm["success"] == "✗"
