"""Optuna drives a task through the per-epoch evaluation: a TPE study whose pruner stops trials between
epochs, so that a pruned trial trains only the epochs it was judged on."""

from __future__ import annotations

import optuna
import pytest
import torch

from ohgw_bench.core.registry import get_task
from ohgw_bench.execution.evaluation import evaluate
from tests.helpers.examples import run_example

TASK = get_task("digits-cnn")
MAX_EPOCHS, TRIALS = 9, 10


def objective(trial) -> float:
    config = {h.name: trial.suggest_float(h.name, h.low, h.high) for h in TASK.space.hyperparameters}
    with evaluate(TASK, config, seed=trial.number, warm_start="ohgw", warm_start_params={"eta": 1.0}) as evaluation:
        for report in evaluation.epochs(up_to=MAX_EPOCHS):
            trial.report(report.val_acc, report.epoch)
            trial.set_user_attr("epochs_trained", evaluation.epochs_trained)
            if report.epoch < MAX_EPOCHS and trial.should_prune():  # after the last epoch it would save nothing
                raise optuna.TrialPruned()
        return evaluation.curve[-1].val_acc


def test_a_pruned_study_trains_fewer_epochs_per_pruned_trial():
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        study = optuna.create_study(
            direction="maximize",
            sampler=optuna.samplers.TPESampler(seed=0),
            pruner=optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3),
        )
        study.optimize(objective, n_trials=TRIALS)
    finally:
        torch.set_num_threads(before)
    states = optuna.trial.TrialState
    pruned = [t for t in study.trials if t.state == states.PRUNED]
    complete = [t for t in study.trials if t.state == states.COMPLETE]
    assert len(pruned) + len(complete) == TRIALS and pruned and complete
    for t in study.trials:  # the curve Optuna was shown is the one trained, epoch 1 on, each epoch once
        assert sorted(t.intermediate_values) == list(range(1, t.user_attrs["epochs_trained"] + 1))
    assert {t.user_attrs["epochs_trained"] for t in complete} == {MAX_EPOCHS}
    assert max(t.user_attrs["epochs_trained"] for t in pruned) < MAX_EPOCHS
    assert sum(t.user_attrs["epochs_trained"] for t in study.trials) < TRIALS * MAX_EPOCHS
    assert study.best_value == max(t.value for t in complete)


@pytest.mark.parametrize(
    "argv",
    [["--trials", "3", "--epochs", "2"], ["--task", "table:results/mnist1d-cnn-table", "--trials", "30"]],
    ids=["live", "table"],
)
def test_the_example_script_runs(argv, monkeypatch, capsys):
    """``examples/optuna_pruning.py`` as its docstring says to run it, live on digits-cnn and on the committed
    mnist1d table, in this process (the script is under test, not the process)."""
    run_example("optuna_pruning.py", argv, monkeypatch)
    assert "pruned: " in capsys.readouterr().out
