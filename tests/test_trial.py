"""A trial end to end in-process: warm start once, checkpoint, resume without re-warm-starting."""
from __future__ import annotations

import torch

import ohgw_bench.trial as trial_module
from ohgw_bench.registry import get_task
from ohgw_bench.trial import TrialSetup, run_trial

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
    used = {k: reports[0][f"used_{k}"] for k in CONFIG}
    assert used != CONFIG  # the warm start moved the config

    # The scheduler resumes with the ORIGINAL config and a larger resource.
    resumed: list[dict] = []
    run_trial(TASK, CONFIG, TrialSetup("ohgw", {"eta": 0.05}, seed=11, max_epoch=4), tmp_path,
              lambda **r: resumed.append(r), device=torch.device("cpu"))
    assert [r["epoch"] for r in resumed] == [3, 4]  # first reported epoch = pause epoch + 1
    assert len(calls) == 1  # never warm-started twice
    assert {k: resumed[0][f"used_{k}"] for k in CONFIG} == used
    assert resumed[0]["ws_seconds"] == reports[0]["ws_seconds"]
    assert resumed[-1]["trial_flops"] > reports[-1]["trial_flops"]
    assert resumed[-1]["trial_seconds"] > reports[-1]["trial_seconds"]


def test_same_trial_seed_same_initial_weights_and_batches_across_arms(tmp_path):
    """Common random numbers: arm 'none' and arm 'gauss' differ only by the config they train."""
    runs = {}
    for arm in ("none", "none-again"):
        reports: list[dict] = []
        run_trial(TASK, CONFIG, TrialSetup("none", {}, seed=5, max_epoch=1), tmp_path / arm,
                  lambda **r: reports.append(r), device=torch.device("cpu"))
        runs[arm] = reports[0]
    assert runs["none"]["train_loss"] == runs["none-again"]["train_loss"]
    assert runs["none"]["val_acc"] == runs["none-again"]["val_acc"]


def test_warm_start_cost_is_recorded(tmp_path):
    reports: list[dict] = []
    run_trial(TASK, CONFIG, TrialSetup("ohgw", {}, seed=1, max_epoch=1), tmp_path,
              lambda **r: reports.append(r), device=torch.device("cpu"))
    r = reports[0]
    assert r["ws_seconds"] > 0
    assert r["ws_flops"] > 0
    assert 0 < r["ws_flops"] < r["trial_flops"]
    assert r["hgkind_momentum"] == "structurally_zero"
    assert r["hgkind_aug_magnitude"] == "finite_difference"
