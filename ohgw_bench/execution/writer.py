"""The trajectory writer: trial reports in, trials.jsonl and events.jsonl lines out, with the
run's running totals (epochs, FLOPs, warm-start cost) kept in O(1) per report."""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ohgw_bench.core.records import TrialStatus, from_report, warm_start_from_report
from ohgw_bench.core.trajectory import (
    EVENTS,
    TRIALS,
    EventRecord,
    JsonlAppender,
    TrialRecord,
)
from ohgw_bench.execution.plan import RunPlan


class LatestPerTrialSum:
    """The sum over trials of each trial's latest (cumulative) value, kept in O(1) per update:
    a long replay reports ~10,000 times over thousands of trials."""

    def __init__(self) -> None:
        self.latest: dict[int, float] = {}
        self.total = 0.0

    def set(self, trial_id: int, value: float) -> None:
        self.total += value - self.latest.get(trial_id, 0.0)
        self.latest[trial_id] = value


class TrajectoryWriter:
    """Turns trial reports into trials.jsonl / events.jsonl lines, keeping the run's totals."""

    def __init__(self, plan: RunPlan, clock: Callable[[], float] = time.perf_counter) -> None:
        self.plan = plan
        # a replay's lines are not flushed one by one: its run is marked complete only after close()
        self.trials = JsonlAppender(plan.directory / TRIALS, flush_each=not plan.replay)
        self.events = JsonlAppender(plan.directory / EVENTS, flush_each=not plan.replay)
        # which files these are: a run is complete only if they are still at their paths when it ends
        self.files = {path: _identity(path) for path in (self.trials.path, self.events.path)}
        self.clock = clock  # a replay's is the simulator's
        self.start = clock()
        self.epochs_total = 0
        self.trial_flops = LatestPerTrialSum()
        self.ws_flops = LatestPerTrialSum()
        self.ws_seconds = LatestPerTrialSum()
        self.records: dict[int, TrialRecord] = {}
        self.best_val_acc = float("nan")
        self.finished_trials = 0
        self.failed_trials: set[int] = set()

    def elapsed(self) -> float:
        return self.clock() - self.start

    def budget_exhausted(self) -> bool:
        return self.plan.budget.exhausted(self.elapsed(), self.epochs_total, self.plan.workers)

    def on_result(self, trial_id: int, config: dict[str, Any], result: dict[str, Any]) -> None:
        record = self.records.get(trial_id)
        if record is None:
            record = self._write_trial(trial_id, self._record_from(trial_id, config, result))
        report = from_report(result)
        self.epochs_total += 1
        self.trial_flops.set(trial_id, report.trial_flops)
        self.ws_flops.set(trial_id, record.warm_start["flops"])
        self.ws_seconds.set(trial_id, record.warm_start["seconds"])
        if not report.val_acc <= self.best_val_acc:  # also true while best is nan
            self.best_val_acc = report.val_acc
        self.events.append(
            EventRecord(
                trial_id=trial_id,
                epoch=report.epoch,
                val_acc=report.val_acc,
                val_loss=report.val_loss,
                test_acc=report.test_acc,
                train_loss=report.train_loss,
                tuner_seconds=self.elapsed(),
                trial_seconds=report.trial_seconds,
                epochs_total=self.epochs_total,
                flops_total=self.trial_flops.total,
                warm_start_flops_total=self.ws_flops.total,
                warm_start_seconds_total=self.ws_seconds.total,
                trial_compile_seconds=report.compile_seconds,
            )
        )
        if report.diverged:
            self.on_status(trial_id, TrialStatus.DIVERGED)

    def on_status(self, trial_id: int, status: TrialStatus) -> None:
        record = self.records.get(trial_id)
        if record is None or record.status == status or record.status == TrialStatus.DIVERGED:  # diverged is final
            return
        if record.status == TrialStatus.STOPPED and status == TrialStatus.COMPLETED:
            return  # syne-tune's simulator also completes a trial it stopped at its last report; stopped stands
        if status.finished:
            self.finished_trials += 1
        self._write_trial(trial_id, dataclasses.replace(record, status=status))

    def _write_trial(self, trial_id: int, record: TrialRecord) -> TrialRecord:
        self.records[trial_id] = record
        self.trials.append(record)
        return record

    def _record_from(self, trial_id: int, config: dict[str, Any], result: dict[str, Any]) -> TrialRecord:
        return TrialRecord.of(
            trial_id,
            warm_start_from_report(result),
            TrialStatus.RUNNING,
            seed=self.plan.trial_seed(trial_id, config),
        )

    def close(self) -> None:
        """Close both files, the second even when the first fails (a full disk); the first error is raised."""
        try:
            self.trials.close()
        finally:
            self.events.close()

    def lost_files(self) -> list[str]:
        """What happened to each trajectory file that is no longer the one written (deleted, or replaced)."""
        lost = []
        for path, written in self.files.items():
            try:
                now = _identity(path)
            except FileNotFoundError:
                lost.append(f"{path} is missing")
                continue
            if now != written:
                lost.append(f"{path} was replaced by another file")
        return lost


def _identity(path: Path) -> tuple[int, int]:
    """(device, inode): the same path holds the same file exactly when these are equal."""
    stat = os.stat(path)
    return stat.st_dev, stat.st_ino
