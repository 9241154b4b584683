"""load_results / summarize_runs on hand-written run folders."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import ohgw_bench
from ohgw_bench.analysis.results import IncompleteRunWarning, load_results, summarize_runs
from tests.helpers.synthetic import crossing_events, trial, write_run

# Arrival order; the clocks cross τ = 0.9 at different values: tuner 25, device 50 (2 workers), epochs 3.
EVENTS = [
    {"trial_id": 0, "val_acc": 0.50, "test_acc": 0.40, "tuner_seconds": 10.0, "epochs_total": 1.0},
    {"trial_id": 1, "val_acc": 0.91, "test_acc": 0.88, "tuner_seconds": 25.0, "epochs_total": 3.0},
    {"trial_id": 2, "val_acc": 0.95, "test_acc": 0.93, "tuner_seconds": 40.0, "epochs_total": 5.0},
    {"trial_id": 0, "val_acc": 0.95, "test_acc": 0.50, "tuner_seconds": 45.0, "epochs_total": 6.0},  # a tie
    {"trial_id": 1, "val_acc": 0.85, "test_acc": 0.99, "tuner_seconds": 50.0, "epochs_total": 8.0},
]


@pytest.fixture
def one_run(tmp_path: Path) -> Path:
    totals = [(1, 1e8, 1e9), (2, 2e8, 2e9), (3, 3e8, 3e9), (4, 4e8, 4e9), (5, 5e8, 1e10)]
    events = [
        dict(ev, warm_start_seconds_total=float(ws_s), warm_start_flops_total=ws_f, flops_total=flops)
        for ev, (ws_s, ws_f, flops) in zip(EVENTS, totals, strict=True)
    ]
    trials = [
        trial(0, {"lr": -2.0, "wd": -4.0}, {"lr": -1.5, "wd": -4.0}, peak=300, train_peak=100),
        trial(1, {"lr": -2.0, "wd": -4.0}, {"lr": -2.5, "wd": -3.0}, peak=500, train_peak=200),
        trial(2, {"lr": -3.0, "wd": -5.0}, {"lr": -3.0, "wd": -5.0}, peak=0, train_peak=0),
        trial(3, peak=900, train_peak=100, flops=0.0),
    ]  # no compute (none/gauss): no ratio
    write_run(
        tmp_path,
        "digits-cnn",
        "asha+ohgw",
        0,
        events,
        trials=trials,
        workers=2,
        target=0.9,
        budget=(100.0, "tuner_seconds"),
    )
    return tmp_path


def test_event_rows_carry_run_keys_and_incumbent_curve(one_run: Path) -> None:
    df = load_results(one_run)
    assert len(df) == len(EVENTS)
    row = df.iloc[0]
    assert (row["task"], row["optimizer"], row["scheduler"], row["warm_start"], row["warm_start_label"]) == (
        "digits-cnn",
        "asha+ohgw",
        "asha",
        "ohgw",
        "ohgw",
    )
    assert (row["seed"], row["status"], row["workers"], row["target"]) == (0, "complete", 2, 0.9)
    assert row["run_dir"].endswith("seed-0")
    assert df["device_seconds"].tolist() == [20.0, 50.0, 80.0, 90.0, 100.0]
    assert df["best_val_acc_so_far"].tolist() == [0.50, 0.91, 0.95, 0.95, 0.95]
    # Test accuracy of the incumbent, not of the event; a tie keeps the earlier incumbent.
    assert df["incumbent_test_acc"].tolist() == [0.40, 0.88, 0.93, 0.93, 0.93]
    assert df["incumbent_trial_id"].tolist() == [0, 1, 2, 2, 2]
    assert df.attrs["incomplete_runs"] == []


def test_t_at_tau_is_the_first_crossing_in_each_clock(one_run: Path) -> None:
    s = summarize_runs(one_run).iloc[0]
    assert bool(s["reached"]) is True
    assert (s["T_tuner_seconds"], s["T_device_seconds"], s["T_epochs"]) == (25.0, 50.0, 3.0)
    assert (s["T_tuner_seconds_cens"], s["T_device_seconds_cens"], s["T_epochs_cens"]) == (25.0, 50.0, 3.0)
    assert s["test_acc_at_tau"] == 0.88
    # A higher τ (override) is first reached by the third event.
    s = summarize_runs(one_run, target=0.94).iloc[0]
    assert (s["T_tuner_seconds"], s["T_device_seconds"], s["T_epochs"]) == (40.0, 80.0, 5.0)
    assert s["test_acc_at_tau"] == 0.93


def test_never_reached_is_censored_at_the_budget_used(one_run: Path) -> None:
    s = summarize_runs(one_run, target=0.99).iloc[0]
    assert bool(s["reached"]) is False
    assert math.isnan(s["T_tuner_seconds"]) and math.isnan(s["T_device_seconds"]) and math.isnan(s["T_epochs"])
    assert (s["used_tuner_seconds"], s["used_device_seconds"], s["used_epochs"]) == (50.0, 100.0, 8.0)
    # Budget 100 tuner-seconds (× 2 workers on the device clock); the epoch clock has no budget: used.
    assert (s["T_tuner_seconds_cens"], s["T_device_seconds_cens"], s["T_epochs_cens"]) == (100.0, 200.0, 8.0)
    assert math.isnan(s["test_acc_at_tau"])


def test_device_time_budget_censors_in_both_time_clocks(tmp_path: Path) -> None:
    # 300 device-seconds with 2 workers = 150 s of tuner wall clock; the epoch clock has no budget.
    write_run(tmp_path, "digits-cnn", "asha", 0, EVENTS, workers=2, target=0.99, budget=(300.0, "device_seconds"))
    s = summarize_runs(tmp_path).iloc[0]
    assert bool(s["reached"]) is False
    assert (s["T_tuner_seconds_cens"], s["T_device_seconds_cens"], s["T_epochs_cens"]) == (150.0, 300.0, 8.0)


def test_summary_accuracies_overheads_memory_and_dpsi(one_run: Path) -> None:
    s = summarize_runs(one_run).iloc[0]
    assert s["best_val_acc"] == 0.95
    assert s["incumbent_test_acc"] == 0.93  # end-of-run incumbent (trial 2 at 0.95)
    assert s["final_test_acc"] == 0.93  # last reported epoch of the incumbent trial
    # Step function from 0: 0 on [0,10), .5 on [10,25), .91 on [25,40), .95 on [40,50]; span 50.
    assert s["auc"] == pytest.approx((0.5 * 15 + 0.91 * 15 + 0.95 * 10) / 50)
    assert s["ws_compute_share"] == pytest.approx(5.0 / (50.0 * 2))
    assert s["ws_flops_share"] == pytest.approx(5e8 / 1e10)
    assert s["peak_mem_ratio"] == pytest.approx(3.0)  # max(300/100, 500/200); 0/0 and no-compute skipped
    assert s["mean_abs_dpsi_lr"] == pytest.approx((0.5 + 0.5 + 0.0 + 0.0) / 4)
    assert s["mean_abs_dpsi_wd"] == pytest.approx((0.0 + 1.0 + 0.0 + 0.0) / 4)
    assert s["n_trials"] == 4 and s["n_events"] == 5


def test_summary_from_dataframe_matches_summary_from_path(one_run: Path) -> None:
    from_path = summarize_runs(one_run)
    from_df = summarize_runs(load_results(one_run))
    pd.testing.assert_frame_equal(from_path[from_df.columns], from_df, check_dtype=False)


def test_running_and_truncated_runs_are_reported_and_excluded_by_default(tmp_path: Path) -> None:
    write_run(tmp_path, "t", "asha", 0, crossing_events(30, 90))
    running = write_run(tmp_path, "t", "asha", 1, crossing_events(30, 90), status="running")
    cut = write_run(tmp_path, "t", "asha", 2, crossing_events(30, 90), truncate_events=True)
    with pytest.warns(IncompleteRunWarning) as caught:
        df = load_results(tmp_path)
    messages = " ".join(str(w.message) for w in caught)
    assert str(running) in messages and str(cut) in messages
    assert sorted(df["seed"].unique().tolist()) == [0]
    reported = {r["run_dir"]: r for r in df.attrs["incomplete_runs"]}
    assert reported[str(running)]["status"] == "running" and reported[str(running)]["truncated"] is False
    assert reported[str(cut)]["truncated"] is True

    with pytest.warns(IncompleteRunWarning):
        everything = ohgw_bench.load_results(tmp_path, include_incomplete=True)
    assert sorted(everything["seed"].unique().tolist()) == [0, 1, 2]
    # The truncated line is dropped; the three complete lines are kept.
    assert (everything["seed"] == 2).sum() == 3
    with pytest.warns(IncompleteRunWarning):
        assert sorted(summarize_runs(tmp_path)["seed"].tolist()) == [0]


def test_complete_runs_do_not_warn(one_run: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_results(one_run)


def test_no_runs_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_results(tmp_path)


def test_run_with_no_event_is_censored_at_zero_use(tmp_path: Path) -> None:
    write_run(tmp_path, "t", "asha", 0, [], budget=(500.0, "epochs"))
    s = summarize_runs(tmp_path).iloc[0]
    assert bool(s["reached"]) is False and s["n_events"] == 0
    assert (s["T_tuner_seconds_cens"], s["T_epochs_cens"]) == (0.0, 500.0)
    assert np.isnan(s["auc"])
