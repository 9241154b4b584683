"""A trial end to end in-process: warm start once, checkpoint, resume without re-warm-starting."""

from __future__ import annotations

import math

import pytest
import torch

import ohgw_bench.execution.trial as trial_module
from ohgw_bench.core.records import warm_start_from_report
from ohgw_bench.core.registry import get_task
from ohgw_bench.execution.trial import TrialSetup, run_trial
from tests.conftest import plan_run

TASK = get_task("digits-cnn")
CONFIG = {"log10_lr": -1.0, "log10_wd": -4.0, "momentum": 0.8, "aug_magnitude": 0.3, "label_smoothing": 0.05}


def test_resume_keeps_the_warm_started_config_and_continues(tmp_path, monkeypatch):
    calls = []
    real = trial_module.apply_warm_start

    def spy(name, params, config, ctx):
        if ctx.device.type != "meta":  # the FLOP count runs the same code on meta tensors
            calls.append(name)
        return real(name, params, config, ctx)

    monkeypatch.setattr(trial_module, "apply_warm_start", spy)
    reports: list[dict] = []
    setup = TrialSetup("ohgw", {"eta": 0.05}, seed=11, max_epoch=2)
    run_trial(TASK, CONFIG, setup, tmp_path, lambda **r: reports.append(r), device=torch.device("cpu"))
    assert [r["epoch"] for r in reports] == [1, 2]
    assert len(calls) == 1
    used = warm_start_from_report(reports[0]).config_used
    assert used != CONFIG  # the warm start moved the config

    # The scheduler resumes with the ORIGINAL config and a larger resource.
    resumed: list[dict] = []
    run_trial(
        TASK,
        CONFIG,
        TrialSetup("ohgw", {"eta": 0.05}, seed=11, max_epoch=4),
        tmp_path,
        lambda **r: resumed.append(r),
        device=torch.device("cpu"),
    )
    assert [r["epoch"] for r in resumed] == [3, 4]  # first reported epoch = pause epoch + 1
    assert len(calls) == 1  # never warm-started twice
    assert warm_start_from_report(resumed[0]) == warm_start_from_report(reports[0])  # x′ and its cost, kept
    assert resumed[-1]["trial_flops"] > reports[-1]["trial_flops"]
    assert resumed[-1]["trial_seconds"] > reports[-1]["trial_seconds"]


def test_same_trial_seed_same_initial_weights_and_batches_across_arms(tmp_path):
    """Common random numbers: arms 'none' and 'gauss' of one trial differ only by the config they
    train. Training gauss's warm-started config under 'none' reproduces the gauss arm exactly."""

    def one_epoch(arm: str, params: dict, config: dict, folder: str) -> dict:
        reports: list[dict] = []
        run_trial(
            TASK,
            config,
            TrialSetup(arm, params, seed=5, max_epoch=1),
            tmp_path / folder,
            lambda **r: reports.append(r),
            device=torch.device("cpu"),
        )
        return reports[0]

    gauss = one_epoch("gauss", {"sigma": 0.05}, CONFIG, "gauss")
    used = warm_start_from_report(gauss).config_used
    assert used != CONFIG
    none_on_used = one_epoch("none", {}, used, "none-used")
    assert none_on_used["train_loss"] == gauss["train_loss"]
    assert none_on_used["val_acc"] == gauss["val_acc"] and none_on_used["val_loss"] == gauss["val_loss"]
    none = one_epoch("none", {}, CONFIG, "none")
    assert none["train_loss"] != gauss["train_loss"]  # the config, and only it, made the difference


def test_warm_start_cost_is_recorded(tmp_path):
    reports: list[dict] = []
    run_trial(
        TASK,
        CONFIG,
        TrialSetup("ohgw", {}, seed=1, max_epoch=1),
        tmp_path,
        lambda **r: reports.append(r),
        device=torch.device("cpu"),
    )
    ws = warm_start_from_report(reports[0])
    assert ws.seconds > 0
    assert 0 < ws.flops < reports[0]["trial_flops"]
    assert ws.hypergrad_kind["momentum"] == "structurally_zero"
    assert ws.hypergrad_kind["aug_magnitude"] == "finite_difference"


def test_a_diverging_trial_reports_once_flagged_and_ends(tmp_path):
    """lr = 1e8 sends the loss to inf/NaN in the first epoch: the trial reports that epoch with
    diverged=1 and stops instead of training on; a resume of it reports nothing."""
    config = {**CONFIG, "log10_lr": 8.0}
    reports: list[dict] = []
    run_trial(
        TASK,
        config,
        TrialSetup("none", {}, seed=2, max_epoch=5),
        tmp_path,
        lambda **r: reports.append(r),
        device=torch.device("cpu"),
    )
    assert [r["diverged"] for r in reports] == [1]
    assert not math.isfinite(reports[0]["train_loss"]) or not math.isfinite(reports[0]["val_loss"])
    assert 0.0 <= reports[0]["val_acc"] <= 1.0
    resumed: list[dict] = []
    run_trial(
        TASK,
        config,
        TrialSetup("none", {}, seed=2, max_epoch=9),
        tmp_path,
        lambda **r: resumed.append(r),
        device=torch.device("cpu"),
    )
    assert resumed == []


def test_the_trajectory_keeps_a_diverged_trial_diverged(tmp_path):
    from ohgw_bench.analysis.results import summarize_runs
    from ohgw_bench.execution.writer import TrajectoryWriter

    plan = plan_run("digits-cnn", "asha", seed=0, budget="5ep", workers=1, out=tmp_path)
    plan.directory.mkdir(parents=True)
    writer = TrajectoryWriter(plan)
    reports: list[dict] = []
    run_trial(
        TASK,
        {**CONFIG, "log10_lr": 8.0},
        TrialSetup("none", {}, seed=2, max_epoch=3),
        tmp_path / "ckpt",
        lambda **r: reports.append(r),
        device=torch.device("cpu"),
    )
    writer.on_result(0, CONFIG, reports[0])
    writer.on_status(0, "completed")  # syne-tune sees the trial end normally; diverged stays
    writer.close()
    assert writer.records[0].status == "diverged" and writer.finished_trials == 1
    from ohgw_bench.core.trajectory import write_json_atomic

    write_json_atomic(
        plan.directory / "meta.json",
        {
            "schema_version": 1,
            "task": "digits-cnn",
            "optimizer": "asha",
            "scheduler": "asha",
            "warm_start": "none",
            "seed": 0,
            "status": "complete",
            "target": 0.99,
            "workers": 1,
            "budget": {"amount": 5, "clock": "epochs"},
        },
    )
    runs = summarize_runs(tmp_path)
    assert int(runs["n_diverged"].iloc[0]) == 1


class _Payload:
    """What an attacker plants as a paused trial's checkpoint: unpickling it would create a file."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_planted_checkpoint_is_refused_and_runs_nothing(tmp_path):
    """A checkpoint is read back with ``weights_only=True``: a pickle that would run code makes the
    resume fail (the trial fails, nothing it asked for is done), and no epoch is reported."""
    import pickle

    marker = tmp_path / "pwned"
    folder = tmp_path / "trial"
    folder.mkdir()
    torch.save(
        {"record": _Payload(str(marker)), "trainer": None, "trial_seconds": 0.0}, folder / trial_module.CHECKPOINT
    )
    reports: list[dict] = []
    setup = TrialSetup("none", {}, seed=0, max_epoch=2)
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        run_trial(TASK, CONFIG, setup, folder, lambda **r: reports.append(r), device=torch.device("cpu"))
    assert not marker.exists() and reports == []
