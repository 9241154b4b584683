"""Every registered task's space and fidelity as other tools take them: a ConfigSpace space and Optuna
distributions with the space's own names, bounds and coordinates (uniform floats, no log scale on top of
the log10 coordinates), and the fidelity as an integer 1..max_epochs; a configuration sampled by either
tool passes ``objective_function``'s config check unchanged."""

from __future__ import annotations

import ConfigSpace as CS
import optuna
import pytest
from optuna.distributions import FloatDistribution, IntDistribution

from ohgw_bench.core.fidelity import Fidelity
from ohgw_bench.core.registry import get_task, list_tasks
from ohgw_bench.core.space import SearchSpace
from ohgw_bench.execution.evaluation import check_config

TASKS = list_tasks()


@pytest.mark.parametrize("name", TASKS)
def test_the_configspace_export_is_the_space(name):
    space = get_task(name).space
    cs = space.to_configspace()  # the seed is optional
    assert list(cs.keys()) == sorted(space.names)  # ConfigSpace keeps its hyperparameters sorted by name
    for h in space.hyperparameters:
        exported = cs[h.name]
        assert type(exported) is CS.UniformFloatHyperparameter and not exported.log
        assert (exported.lower, exported.upper) == (h.low, h.high)
        assert exported.meta == {"description": h.description}
    for seed in range(5):  # sampled at random, and at both ends of every bound
        check_config(get_task(name), dict(space.to_configspace(seed=seed).sample_configuration()))
    check_config(get_task(name), {h.name: h.low for h in space.hyperparameters})
    check_config(get_task(name), {h.name: h.high for h in space.hyperparameters})


def test_a_seeded_configspace_samples_reproducibly():
    space = get_task("digits-cnn").space
    draws = [[dict(c) for c in space.to_configspace(seed=3).sample_configuration(4)] for _ in range(2)]
    assert draws[0] == draws[1]
    assert draws[0] != [dict(c) for c in space.to_configspace(seed=4).sample_configuration(4)]


@pytest.mark.parametrize("name", TASKS)
def test_the_optuna_export_is_the_space(name):
    task = get_task(name)
    distributions = task.space.to_optuna()
    assert list(distributions) == list(task.space.names)
    for h in task.space.hyperparameters:
        d = distributions[h.name]
        assert type(d) is FloatDistribution and (d.low, d.high, d.log, d.step) == (h.low, h.high, False, None)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(5):
        trial = study.ask(fixed_distributions=distributions)
        check_config(task, trial.params)
        study.tell(trial, 0.0)


@pytest.mark.parametrize("name", TASKS)
def test_the_fidelity_is_epochs_one_to_max(name):
    task = get_task(name)
    fidelity = task.fidelity
    assert fidelity == Fidelity("epochs", 1, task.max_epochs, Fidelity.EPOCHS)
    exported = fidelity.to_configspace()
    assert type(exported) is CS.UniformIntegerHyperparameter
    assert (exported.name, exported.lower, exported.upper, exported.log) == ("epochs", 1, task.max_epochs, False)
    assert fidelity.to_optuna() == IntDistribution(1, task.max_epochs)
    assert fidelity.as_json() == {"name": "epochs", "low": 1, "high": task.max_epochs, "type": "integer"}


def test_a_sample_outside_the_space_fails_the_check():
    """The check the exports are held to can fail: a value past a bound is refused, naming it."""
    task = get_task("digits-cnn")
    config = {h.name: h.low for h in task.space.hyperparameters}
    config["log10_lr"] = task.space["log10_lr"].high + 0.5
    with pytest.raises(ValueError, match="log10_lr=0.5 is outside"):
        check_config(task, config)
    with pytest.raises(ValueError, match="low 3.0 must be below high 2.0"):
        SearchSpace.from_json({"hyperparameters": [{"name": "x", "low": 3, "high": 2, "description": "x"}]})


@pytest.mark.parametrize("name", TASKS)
def test_the_space_reads_back_from_its_json(name):
    space = get_task(name).space
    assert SearchSpace.from_json(space.as_json()) == space
