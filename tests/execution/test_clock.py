"""The trial clock's structure: a trial's ``trial_seconds`` is the sum of its recorded parts, checked
with inequalities that hold exactly (no timing tolerance) and fail when a part is charged wrongly.

* A real trial starts its clock before its warm start: the first report is at least the warm start's
  recorded seconds; the clock only grows; time spent inside ``report`` (where a warm worker waits for
  the scheduler) is never on it.
* A resumed trial continues from the total its checkpoint holds and adds only its own session's time.
* A replay charges the table's warm-start seconds to a trial's first epoch, exactly, and each later
  epoch its recorded epoch seconds.

How much the warm start costs in wall-clock terms against a plain trial is a measurement, not a
structure: ``tests/bench/test_bench_clock.py``."""

from __future__ import annotations

import json
import time

import pytest
import torch

from ohgw_bench.cli import main
from ohgw_bench.core.records import warm_start_from_report
from ohgw_bench.core.registry import get_task
from ohgw_bench.core.table_format import read_table
from ohgw_bench.core.trajectory import run_dir
from ohgw_bench.execution.trial import CHECKPOINT, TrialSetup, run_trial
from tests.helpers import twin

TASK = get_task("digits-cnn")
CONFIG = {"log10_lr": -1.0, "log10_wd": -4.0, "momentum": 0.8, "aug_magnitude": 0.3, "label_smoothing": 0.05}
WAIT = 0.25  # seconds each report keeps the trial waiting, as a scheduler's decision would


class Reports:
    """A ``report`` callback that records each report and when it was entered, then waits ``WAIT``."""

    def __init__(self) -> None:
        self.reports: list[dict] = []
        self.entered: list[float] = []

    def __call__(self, **report) -> None:
        self.entered.append(time.perf_counter())
        self.reports.append(report)
        time.sleep(WAIT)

    @property
    def seconds(self) -> list[float]:
        return [r["trial_seconds"] for r in self.reports]


def _session(tmp_path, max_epoch: int) -> tuple[float, Reports]:
    """One start (or resume) of an ``ohgw`` trial; (perf_counter just before the call, its reports)."""
    reports = Reports()
    setup = TrialSetup("ohgw", {"eta": 0.05}, seed=11, max_epoch=max_epoch)
    called = time.perf_counter()
    run_trial(TASK, CONFIG, setup, tmp_path, reports, device=torch.device("cpu"))
    return called, reports


def test_a_trials_clock_is_its_warm_start_and_epochs_never_its_waits(tmp_path):
    called, first = _session(tmp_path, max_epoch=3)
    record = warm_start_from_report(first.reports[0])
    assert record.seconds > 0
    assert first.seconds[0] >= record.seconds  # the warm start is on the trial's clock, before epoch 1
    assert all(a < b for a, b in zip(first.seconds, first.seconds[1:], strict=False))  # epochs add time
    # At its k-th report the trial has run for at most the time since the call, less the waits inside
    # the k-1 reports before: were the waits on its clock, each bound would be exceeded by them.
    for k, (seconds, entered) in enumerate(zip(first.seconds, first.entered, strict=True)):
        assert seconds <= entered - called - k * WAIT, k

    # The checkpoint holds the total at the last report; a resume continues from it and adds its own time.
    saved = torch.load(tmp_path / CHECKPOINT, weights_only=True)
    assert saved["trial_seconds"] == first.seconds[-1]
    called, resumed = _session(tmp_path, max_epoch=5)
    assert [r["epoch"] for r in resumed.reports] == [4, 5]
    assert warm_start_from_report(resumed.reports[0]) == record  # not warm-started again, not charged again
    assert resumed.seconds[0] > saved["trial_seconds"]
    for k, (seconds, entered) in enumerate(zip(resumed.seconds, resumed.entered, strict=True)):
        assert seconds - saved["trial_seconds"] <= entered - called - k * WAIT, k


def _jsonl(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_replay_charges_the_tables_warm_start_to_a_trials_first_epoch(twin_table, tmp_path):
    opt = f"asha+{twin.OHGW}"
    args = ["run", "--task", twin.TASK, "--opt", opt, "--budget", "20ep", "--workers", "2"]
    assert main([*args, "--backend", f"table:{twin_table}", "--out", str(tmp_path), "--quiet"]) == 0
    directory = run_dir(tmp_path, twin.TASK, opt, 0)
    frame, meta = read_table(twin_table)
    rows = frame[frame["arm"] == twin.OHGW].set_index(["config_id", "epoch"])
    config_id = {json.dumps(c["values"], sort_keys=True): c["config_id"] for c in meta["configs"]}
    trials = {t["trial_id"]: t for t in _jsonl(directory / "trials.jsonl")}
    previous: dict[int, float] = {}  # each trial's trial_seconds at its last report
    charged: dict[int, float] = {}  # each trial's warm-start seconds, once it has reported
    for event in _jsonl(directory / "events.jsonl"):
        trial = trials[event["trial_id"]]
        cid = config_id[json.dumps(trial["config_sampled"], sort_keys=True)]
        row = rows.loc[(cid, event["epoch"])]
        assert trial["warm_start"]["seconds"] == row["warm_start_seconds"]
        if event["epoch"] == 1:
            assert event["trial_id"] not in previous
            expected = row["warm_start_seconds"] + row["epoch_seconds"]  # the warm start, on the first epoch only
        else:
            expected = previous[event["trial_id"]] + row["epoch_seconds"]
        assert event["trial_seconds"] == pytest.approx(expected, rel=1e-12, abs=1e-12)
        previous[event["trial_id"]] = event["trial_seconds"]
        charged[event["trial_id"]] = row["warm_start_seconds"]
        assert event["warm_start_seconds_total"] == pytest.approx(sum(charged.values()), rel=1e-12)
    assert len(previous) >= 2 and max(e for _, e in rows.index) > 1
    assert any(e["epoch"] > 1 for e in _jsonl(directory / "events.jsonl"))
