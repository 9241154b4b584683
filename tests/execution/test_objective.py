"""The in-process objective (HPOBench-style): a learning curve and its costs without syne-tune."""

from __future__ import annotations

import re
import runpy
import sys

import pytest

from ohgw_bench.core.registry import get_task
from ohgw_bench.execution.objective import objective_function
from tests.helpers import ROOT

TASK = get_task("digits-cnn")
CONFIG = {"log10_lr": -1.0, "log10_wd": -4.0, "momentum": 0.9, "aug_magnitude": 0.3, "label_smoothing": 0.1}


def test_curve_and_costs_for_each_epoch():
    result = objective_function(TASK, CONFIG, epochs=2, seed=3)
    assert [r.epoch for r in result.curve] == [1, 2]
    assert all(0.0 <= r.val_acc <= 1.0 and 0.0 <= r.test_acc <= 1.0 for r in result.curve)
    assert result.curve[0].trial_seconds < result.curve[1].trial_seconds
    assert result.curve[0].trial_flops < result.curve[1].trial_flops
    assert result.config_used == result.warm_start.config_sampled == CONFIG
    assert result.warm_start.flops == 0.0 and result.val_acc == result.curve[-1].val_acc


def test_same_seed_same_curve_as_the_first_epochs_of_a_longer_one():
    """Common random numbers: the seed fixes init and batches, and the cosine schedule spans the
    task's maximum epochs, so a 1-epoch evaluation is the prefix of a 2-epoch one."""
    short = objective_function(TASK, CONFIG, epochs=1, seed=5)
    long = objective_function(TASK, CONFIG, epochs=2, seed=5)
    assert short.curve[0].val_acc == long.curve[0].val_acc
    assert short.curve[0].train_loss == long.curve[0].train_loss


def test_warm_start_moves_the_config_and_is_charged():
    result = objective_function(TASK, CONFIG, epochs=1, seed=0, warm_start="ohgw", warm_start_params={"eta": 1.0})
    assert result.config_used != result.warm_start.config_sampled
    assert result.warm_start.hypergrad["log10_lr"] is not None and result.warm_start.hypergrad["momentum"] == 0.0
    assert result.warm_start.flops > 0 and result.warm_start.seconds > 0


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"epochs": 0}, "epochs=0 must be an integer in"),
        ({"epochs": 28}, "epochs=28 must be an integer in"),
        ({"epochs": 1, "config": {"log10_lr": -1.0}}, "config lacks"),
        ({"epochs": 1, "config": {**CONFIG, "momentum": 1.5}}, "momentum=1.5 is outside"),
        ({"epochs": 1, "warm_start": "ohgw", "warm_start_params": {"sigma": 1.0}}, "has no parameter(s) sigma"),
        ({"epochs": 1, "warm_start": "ohgw", "warm_start_params": {"eta": float("inf")}}, "eta=inf must be"),
        # a misspelt key would train without it, unnoticed: refused, naming it and the valid keys
        (
            {"epochs": 1, "config": {**CONFIG, "lr": 0.1}},
            "unknown key(s) 'lr' (the space of digits-cnn: log10_lr, log10_wd, momentum, aug_magnitude, "
            "label_smoothing)",
        ),
        ({"epochs": 1, "config": {**CONFIG, "momentum": "0.9"}}, "momentum='0.9' must be a number"),
        ({"epochs": 1, "seed": -1}, "seed must be in [0, 4294967295] (seeds of numpy's RandomState), got -1"),
        ({"epochs": 1, "seed": 2**32}, "seed must be in [0, 4294967295]"),
        ({"epochs": 1, "seed": 1.5}, "seed must be an integer, got 1.5"),
    ],
)
def test_bad_arguments_are_refused(kwargs, message):
    config = kwargs.pop("config", CONFIG)
    with pytest.raises(ValueError, match=re.escape(message)):
        objective_function(TASK, config, **kwargs)


def test_the_example_script_runs(monkeypatch, capsys):
    """``examples/objective_function.py`` as its docstring says to run it, in this process (the script is
    under test, not the process)."""
    script = ROOT / "examples" / "objective_function.py"
    monkeypatch.setattr(sys, "argv", [str(script), "--n", "1", "--epochs", "1"])
    runpy.run_path(str(script), run_name="__main__")
    out = capsys.readouterr().out
    assert "config 0: val_acc" in out and "-> " in out
