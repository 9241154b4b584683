"""The clock charges a trial only for its own work: on matched trials (same run seed, so the same
sampled configuration and trial seed), an ``ohgw`` trial's first report comes later than
``none``'s by what its warm start recorded, and a ``gauss`` trial (which computes nothing) comes
no later. Bookkeeping such as FLOP counting happens once per worker, before any trial's clock."""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from ohgw_bench.trajectory import Trajectory, run_dir

pytestmark = pytest.mark.slow


def _first_reports(out: Path, opt: str) -> dict[int, tuple[dict, float]]:
    """trial_id → (trial record, trial_seconds at its first report) for one asha run on digits-cnn."""
    argv = [sys.executable, "-m", "ohgw_bench.cli", "run", "--task", "digits-cnn", "--opt", opt]
    argv += ["--seed", "3", "--budget", "90ep", "--workers", "1", "--out", str(out), "--quiet"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    run = Trajectory.read(run_dir(out, "digits-cnn", opt, 3))
    firsts: dict[int, float] = {}
    for event in run.events:
        if event["epoch"] == 1:
            firsts.setdefault(event["trial_id"], event["trial_seconds"])
    return {t["trial_id"]: (t, firsts[t["trial_id"]]) for t in run.trials if t["trial_id"] in firsts}


def _extra_seconds(arm: dict, base: dict) -> tuple[float, float]:
    """Medians over matched trials of (arm's first-report time - none's) and of arm's warm-start seconds."""
    matched = sorted(set(arm) & set(base))
    assert len(matched) >= 8, f"only {len(matched)} matched trials"
    for trial_id in matched:
        assert arm[trial_id][0]["config_sampled"] == base[trial_id][0]["config_sampled"], "trials are not matched"
    extra = statistics.median(arm[i][1] - base[i][1] for i in matched)
    recorded = statistics.median(arm[i][0]["warm_start"]["seconds"] for i in matched)
    return extra, recorded


def test_warm_start_time_is_all_the_extra_time_a_trial_is_charged(tmp_path):
    base = _first_reports(tmp_path, "asha")
    ohgw = _first_reports(tmp_path, "asha+ohgw")
    gauss = _first_reports(tmp_path, "asha+gauss")

    extra, recorded = _extra_seconds(ohgw, base)
    assert recorded > 0.0
    assert abs(extra - recorded) <= max(0.2 * recorded, 0.010), (
        f"ohgw trials reach their first report {extra:.4f} s after none's, but record {recorded:.4f} s of warm start"
    )

    extra, recorded = _extra_seconds(gauss, base)
    assert recorded < 0.005
    assert extra <= 0.010, f"gauss trials, which compute nothing, reach their first report {extra:.4f} s late"
