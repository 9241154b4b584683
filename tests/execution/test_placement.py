"""How many trials share each GPU: the rule, its overrides, and the record in meta.json (no GPU needed)."""

from __future__ import annotations

import pytest

from ohgw_bench.core.registry import get_task
from ohgw_bench.execution.gpus import choose_workers, placement
from tests.conftest import plan_run


@pytest.mark.parametrize(
    "n_gpus, task_k, workers, k, expected",
    [
        (0, 8, None, None, (1, "no GPU")),  # the CPU: one trial, whatever the task says
        (1, 8, None, None, (8, "task")),
        (2, 8, None, None, (16, "task")),
        (2, 2, None, None, (4, "task")),
        (1, 8, None, 3, (3, "trials_per_gpu")),  # the user's trials per GPU beat the task's
        (4, 8, None, 3, (12, "trials_per_gpu")),
        (1, 8, 5, None, (5, "workers")),  # the user's --workers beat everything
        (None, 8, 5, None, (5, "workers")),  # ... and need no GPU count
        (8, 8, None, None, (20, "task")),  # at most max_workers
    ],
)
def test_choose_workers(n_gpus, task_k, workers, k, expected):
    assert choose_workers(n_gpus, task_k, 20, workers, k) == expected


@pytest.mark.parametrize(
    "args, match",
    [
        ((1, 8, 20, 2, 2), "not both"),
        ((1, 8, 20, 0, None), "--workers must be a positive integer"),
        ((1, 8, 20, None, 0), "--trials-per-gpu must be a positive integer"),
        ((None, 8, 20, None, None), "number of GPUs"),
    ],
)
def test_choose_workers_refuses(args, match):
    with pytest.raises(ValueError, match=match):
        choose_workers(*args)


def test_placement_record():
    assert placement(8, 1, "task") == {"workers": 8, "gpus": 1, "trials_per_gpu": 8, "chosen_by": "task"}
    assert placement(5, 2, "workers")["trials_per_gpu"] == 3  # workers alternate: GPU 0 holds 3
    assert placement(1, 0, "no GPU")["trials_per_gpu"] == 0
    assert placement(2, None, "workers")["trials_per_gpu"] is None


def test_tasks_trials_per_gpu():
    assert get_task("digits-cnn").trials_per_gpu == 1
    assert get_task("cifar10-resnet20").trials_per_gpu > get_task("cifar10-resnet50").trials_per_gpu >= 1


def test_run_without_workers_on_the_cpu_gets_one_and_records_it(tmp_path, monkeypatch):
    import ohgw_bench.execution.gpus as gpus
    from ohgw_bench.execution.backends.trial_config import GRAPHS_KEY, trial_setup
    from ohgw_bench.execution.meta import run_meta
    from ohgw_bench.execution.plan import RunRefused, scheduler_config_space

    monkeypatch.setattr(gpus, "visible_gpu_count", lambda: 0)
    plan = plan_run("digits-cnn", "asha", seed=0, budget="5ep", workers=None, out=tmp_path)
    assert plan.workers == 1
    meta = run_meta(plan, n_gpus=0)
    assert meta.placement == {"workers": 1, "gpus": 0, "trials_per_gpu": 0, "chosen_by": "no GPU"}
    assert meta.graphs is False
    assert scheduler_config_space(plan)[GRAPHS_KEY] == 1

    monkeypatch.setattr(gpus, "visible_gpu_count", lambda: 2)
    plan = plan_run(
        "digits-cnn", "asha", seed=0, budget="5ep", workers=None, out=tmp_path, trials_per_gpu=2, graphs=False
    )
    assert (plan.workers, plan.workers_chosen_by) == (4, "trials_per_gpu")
    meta = run_meta(plan, n_gpus=2)
    assert meta.placement["trials_per_gpu"] == 2 and meta.graphs is False
    config = {**scheduler_config_space(plan), "epochs": 3}
    assert trial_setup(config, 0).graphs is False

    with pytest.raises(RunRefused, match="not both"):
        plan_run("digits-cnn", "asha", seed=0, budget="5ep", workers=2, out=tmp_path, trials_per_gpu=2)
