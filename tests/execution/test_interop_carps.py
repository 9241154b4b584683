"""CARP-S's own DEHB optimizer drives digits-cnn (live) and a twin table through the adapter; a
configuration promoted to a larger budget resumes from its checkpoint instead of retraining."""

from __future__ import annotations

import pytest

pytest.importorskip("carps", reason="the optional carps extra (pip install -e '.[carps]')")

from omegaconf import OmegaConf  # noqa: E402  (carps brings omegaconf)

from ohgw_bench.execution.carps_objective import CONFIG_ID, OhgwObjective, carps_task  # noqa: E402

MAX_EPOCHS = 9


def _dehb(task, out, seed=0):
    from carps.optimizers.dehb import DEHBOptimizer

    cfg = OmegaConf.create(
        {
            "mutation_factor": 0.5,
            "crossover_prob": 0.5,
            "strategy": "rand1_bin",
            "seed": seed,
            "eta": 3,
            "output_path": str(out),
        }
    )
    return DEHBOptimizer(task=task, dehb_cfg=cfg, expects_fidelities=True)


class _Budgets(OhgwObjective):
    """Records every budget CARP-S asked for, to compare with the epochs actually trained."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.asked: list[float] = []

    def _evaluate(self, trial_info):
        self.asked.append(float(trial_info.budget))
        return super()._evaluate(trial_info)


@pytest.mark.timeout(300)
def test_carps_dehb_on_digits_resumes_promoted_configurations(tmp_path):
    import torch

    torch.set_num_threads(1)
    objective = _Budgets(
        "digits-cnn", warm_start="ohgw", warm_start_params={"eta": 0.1}, checkpoint_root=tmp_path / "ck"
    )
    task = carps_task(objective, n_trials=3, max_epochs=MAX_EPOCHS)  # a short horizon keeps the test fast
    incumbent = _dehb(task, tmp_path / "dehb").run()
    assert incumbent is not None
    assert objective.n_function_calls == len(objective.asked) > 3
    assert set(objective.asked) > {1.0}  # DEHB promoted configurations to larger budgets
    assert objective.epochs_trained < sum(objective.asked)  # the promotions resumed, not retrained
    _, trial_value = incumbent
    assert 0.0 <= trial_value.cost <= 1.0


def test_a_table_answers_carps_for_its_configurations_with_virtual_time(twin_table, tmp_path):
    from carps.utils.trials import TrialInfo

    objective = OhgwObjective(f"table:{twin_table}", checkpoint_root=tmp_path / "ck")
    names = list(objective.configspace.keys())
    assert names == [CONFIG_ID]
    config = objective.configspace.sample_configuration()
    value = objective.evaluate(TrialInfo(config=config, budget=1))
    expected = objective.benchmark.evaluate(int(config[CONFIG_ID])).at(1)
    assert value.cost == pytest.approx(1 - expected.val_acc) and value.virtual_time == expected.trial_seconds
    assert carps_task(objective, n_trials=1).metadata.objective_function_approximation == "tabular"


def test_the_carps_example_runs_as_its_docstring_says_on_a_table(monkeypatch, capsys):
    """``examples/carps_dehb.py`` on the committed table (live, it is the DEHB test above)."""
    from tests.helpers.examples import run_example

    run_example("carps_dehb.py", ["--task", "table:results/mnist1d-cnn-table", "--trials", "4"], monkeypatch)
    out = capsys.readouterr().out
    assert "incumbent {'config_id':" in out and "epochs trained or looked up" in out
