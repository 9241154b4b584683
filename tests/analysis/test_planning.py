"""Power and planning: ``seeds_needed`` and ``power_at`` on inputs whose answers are known, and
``ohgw-bench leaderboard PATH --plan`` end to end on a small pilot."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ohgw_bench.analysis.planning import plan_study
from ohgw_bench.analysis.results import summarize_runs
from ohgw_bench.analysis.stats import power_at, seeds_needed
from ohgw_bench.cli import main
from tests.helpers.synthetic import crossing_events, write_run


def test_without_spread_six_pairs_detect_any_speedup():
    """Constant log ratios centre to zeros: every simulated study's lower bound is 0, so any true
    speed-up is detected once the test can reject at all (6 pairs at α = 0.05)."""
    d = np.full(10, 0.4)
    assert power_at(d, 5, 1.01) == 0.0  # 5 pairs can never reject two-sided at 0.05
    assert power_at(d, 6, 1.01) == 1.0
    assert seeds_needed(d, 1.01) == 6


def test_seeds_needed_is_the_first_n_with_the_power():
    d = np.random.default_rng(0).normal(0.0, 0.4, size=32)
    n = seeds_needed(d, 1.2)
    assert n is not None and 6 < n < 2000
    assert power_at(d, n, 1.2, reps=1000) >= 0.8 > power_at(d, n - 1, 1.2, reps=1000)
    smaller_effect = seeds_needed(d, 1.1)
    assert smaller_effect is not None and smaller_effect > n  # a smaller effect needs more seeds
    # theory: with SD σ of the log ratios, n ≈ ((z_.975 + z_.8) σ / log s)² / (3/π) for the signed-rank test
    sigma = float(np.std(d, ddof=1))
    approx = ((1.96 + 0.8416) * sigma / np.log(1.2)) ** 2 / (3 / np.pi)
    assert 0.6 * approx < n < 1.6 * approx


def test_hopeless_plans_say_so():
    d = np.random.default_rng(1).normal(0.0, 3.0, size=20)
    assert seeds_needed(d, 1.01, max_n=200) is None
    assert seeds_needed([], 1.2) is None


def _pilot(root: Path) -> Path:
    for seed in range(8):
        write_run(root, "t", "asha", seed, crossing_events(40 + 5 * seed, 90))
        write_run(root, "t", "asha+ohgw", seed, crossing_events(35 + 6 * seed, 90))
    return root


def test_plan_rows_and_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _pilot(tmp_path / "pilot")
    plan = plan_study(summarize_runs(root), 1.15)
    assert plan[["task", "scheduler", "arm", "n_pilot"]].values.tolist() == [["t", "asha", "ohgw", 8]]
    assert plan["share_tied"].iloc[0] == 0.0

    assert main(["leaderboard", str(root), "--plan", "1.15", "--format", "csv"]) == 0
    back = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert back["seeds_needed"].iloc[0] == plan["seeds_needed"].iloc[0]
    assert main(["leaderboard", str(root), "--plan", "1.15"]) == 0
    assert "| t | asha | ohgw | 8 |" in capsys.readouterr().out

    assert main(["leaderboard", str(root), "--plan", "0.9"]) == 2
    assert "a number above 1" in capsys.readouterr().err
    assert main(["leaderboard", str(root), "--plan", "1.15", "--format", "tex"]) == 2


def test_large_studies_scale_the_simulated_figure_by_root_n():
    """Beyond LARGE_N pairs the figure is scaled, not simulated: it must agree with a direct
    simulation at 400 pairs (each study's interval lower bound from all its Walsh averages)."""
    from ohgw_bench.analysis.stats import LARGE_N, detectable_speedup, hodges_lehmann, signed_rank_critical

    d = np.random.default_rng(2).normal(0.05, 0.4, size=64)
    n, reps = 2 * LARGE_N, 300
    c = signed_rank_critical(n, 0.95)
    rng = np.random.default_rng(5)
    centred = d - hodges_lehmann(d)
    lows = []
    for _ in range(reps):
        x = rng.choice(centred, n)
        i, j = np.triu_indices(n)
        lows.append(np.sort((x[i] + x[j]) / 2)[c])
    direct = float(np.exp(np.quantile(-np.array(lows), 0.8)))
    assert detectable_speedup(d, n) == pytest.approx(direct, rel=0.02)
