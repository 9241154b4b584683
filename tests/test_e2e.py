"""End to end through the installed ``ohgw-bench`` entry point: a real run in its own process (warm
worker trials), its exit code and output, then `show` reads it back (in process) and a second run on
the same key is refused with exit code 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ohgw_bench.cli import main
from ohgw_bench.core.trajectory import Trajectory

pytestmark = pytest.mark.slow

#: the console script pyproject installs (``[project.scripts]``), not ``python -m``
CLI = [str(Path(sys.executable).parent / "ohgw-bench")]
EVENT_FIELDS = {
    "trial_id",
    "epoch",
    "val_acc",
    "val_loss",
    "test_acc",
    "train_loss",
    "tuner_seconds",
    "trial_seconds",
    "epochs_total",
    "flops_total",
}
TRIAL_FIELDS = {"trial_id", "config_sampled", "config_used", "hypergrad", "clipped", "warm_start", "status"}


@pytest.fixture(scope="module")
def ohgw_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("results")
    proc = subprocess.run(
        [
            *CLI,
            "run",
            "--task",
            "digits-cnn",
            "--opt",
            "asha+ohgw(eta=0.01)",
            "--seed",
            "0",
            "--budget",
            "6ep",
            "--workers",
            "2",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "T@tau" in proc.stdout
    assert "syne-tune[" not in proc.stdout + proc.stderr  # syne-tune's notices about extras are muted
    return out / "digits-cnn" / "asha+ohgw(eta=0.01)" / "seed-0"


def test_trajectory_files_and_fields(ohgw_run):
    traj = Trajectory.read(ohgw_run)
    meta = traj.meta
    assert meta.status == "complete" and meta.schema_version == 1
    assert meta.optimizer == "asha+ohgw(eta=0.01)" and meta.warm_start == "ohgw"
    assert meta.warm_start_params == {"eta": 0.01}
    assert {"torch", "syne-tune", "dehb", "ohgw-bench"} <= set(meta.versions)
    assert meta.started_at <= meta.ended_at
    assert len(traj.trials) >= 2 and len(traj.events) >= 2
    for event in traj.events:
        assert EVENT_FIELDS <= set(event)
        assert 0.0 <= event["val_acc"] <= 1.0
    assert [e["epochs_total"] for e in traj.events] == list(range(1, len(traj.events) + 1))
    assert all(a["tuner_seconds"] <= b["tuner_seconds"] for a, b in zip(traj.events, traj.events[1:], strict=False))
    assert all(a["flops_total"] <= b["flops_total"] for a, b in zip(traj.events, traj.events[1:], strict=False))
    for trial in traj.trials:
        assert TRIAL_FIELDS <= set(trial)
        assert trial["status"] in ("completed", "stopped", "failed")
        assert trial["warm_start"]["flops"] > 0 and trial["warm_start"]["seconds"] > 0
        assert trial["hypergrad_kind"]["momentum"] == "structurally_zero"
    # the warm start really changed what trained
    assert any(t["config_used"] != t["config_sampled"] for t in traj.trials)
    assert not (ohgw_run / ".work").exists()  # scratch checkpoints are cleaned up


def test_events_per_trial_are_consecutive_epochs(ohgw_run):
    traj = Trajectory.read(ohgw_run)
    per_trial: dict[int, list[int]] = {}
    for e in traj.events:
        per_trial.setdefault(e["trial_id"], []).append(e["epoch"])
    for epochs in per_trial.values():
        assert epochs == list(range(1, len(epochs) + 1))


def test_show_reads_it_back(ohgw_run, capsys):
    assert main(["show", str(ohgw_run)]) == 0
    stdout = capsys.readouterr().out
    traj = Trajectory.read(ohgw_run)
    best = max(e["val_acc"] for e in traj.events)
    assert f"val_acc {best:.4f}" in stdout
    assert f"trials     {len(traj.trials)}" in stdout
    assert "sampled" in stdout and "used" in stdout
    assert ("not reached" in stdout) or ("s tuner time" in stdout)


def test_rerun_without_overwrite_is_refused(ohgw_run):
    out = ohgw_run.parents[2]
    before = (ohgw_run / "events.jsonl").read_text()
    proc = subprocess.run(
        [
            *CLI,
            "run",
            "--task",
            "digits-cnn",
            "--opt",
            "asha+ohgw(eta=0.01)",
            "--seed",
            "0",
            "--budget",
            "5s",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "already holds a complete run" in proc.stderr
    assert (ohgw_run / "events.jsonl").read_text() == before
