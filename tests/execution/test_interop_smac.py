"""SMAC's multi-fidelity facade (Hyperband, budget = epochs) drives a task through the checkpointed
per-epoch evaluation: a configuration promoted to a larger budget resumes where it stopped."""

from __future__ import annotations

import hashlib
import json

import pytest
import smac
import torch

from ohgw_bench.core.registry import get_task
from ohgw_bench.execution.evaluation import evaluate
from tests.helpers.examples import run_example

TASK = get_task("digits-cnn")
MAX_EPOCHS, TRIALS = 9, 17  # Hyperband eta=3 on 1-9 epochs: a full bracket (9 x 1, 3 x 3, 1 x 9) and the next


def test_hyperband_resumes_promoted_configurations(tmp_path):
    calls: list[tuple[int, int, int]] = []  # (budget asked, epochs already held, epochs trained)

    def train(config, seed: int, budget: float) -> float:
        values = dict(config)
        key = hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:16]
        epochs = round(budget)
        with evaluate(TASK, values, seed=seed, checkpoint_dir=tmp_path / "checkpoints" / key) as evaluation:
            held = evaluation.epoch
            report = evaluation.at(epochs)
            calls.append((epochs, held, evaluation.epochs_trained))
            return 1.0 - report.val_acc

    scenario = smac.Scenario(
        TASK.space.to_configspace(seed=0),
        deterministic=True,
        n_trials=TRIALS,
        min_budget=1,
        max_budget=MAX_EPOCHS,
        output_directory=tmp_path / "smac",
        seed=0,
    )
    intensifier = smac.MultiFidelityFacade.get_intensifier(scenario, eta=3)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        facade = smac.MultiFidelityFacade(scenario, train, intensifier=intensifier, overwrite=True, logging_level=40)
        incumbent = facade.optimize()
    finally:
        torch.set_num_threads(before)
    assert len(calls) == TRIALS and {budget for budget, _, _ in calls} == {1, 3, MAX_EPOCHS}
    assert all(trained == budget - held for budget, held, trained in calls)  # only the epochs not yet held
    resumed = [c for c in calls if c[1] > 0]
    assert resumed  # promotions continued from their checkpoints ...
    assert sum(t for _, _, t in calls) < sum(b for b, _, _ in calls)  # ... so fewer epochs than asked for
    assert set(dict(incumbent)) == set(TASK.space.names)


@pytest.mark.parametrize(
    "argv",
    [
        ["--trials", "5", "--epochs", "3"],
        ["--task", "table:results/mnist1d-cnn-table", "--trials", "30", "--epochs", "27"],
    ],
    ids=["live", "table"],
)
def test_the_example_script_runs(argv, monkeypatch, capsys):
    """``examples/smac_multifidelity.py`` as its docstring says to run it, live on digits-cnn and on the committed
    mnist1d table, in this process (the script is under test, not the process)."""
    run_example("smac_multifidelity.py", argv, monkeypatch)
    assert "epochs trained for " in capsys.readouterr().out
