"""Schedulers from syne-tune 0.13 (the last release whose baselines keep ASHA, PASHA, DyHPO...).

Facts that matter (checked against 0.13): ``mode="max"`` for accuracy;
``points_to_evaluate=[]`` or the first trial is the centre of the space; results arrive
with ``resource_attr="epoch"`` and the trial reads its maximum epoch from
``max_resource_attr="epochs"`` in its config.
"""
from __future__ import annotations

from typing import Any

from ohgw_bench.registry import register_scheduler
from ohgw_bench.specs import SchedulerSpec, TaskSpec

RESOURCE_ATTR = "epoch"
MAX_RESOURCE_ATTR = "epochs"


def _common(task: TaskSpec, seed: int) -> dict[str, Any]:
    return dict(metric=task.metric, mode="max", resource_attr=RESOURCE_ATTR,
                max_resource_attr=MAX_RESOURCE_ATTR, points_to_evaluate=[], random_seed=seed)


def make_asha(task: TaskSpec, config_space: dict, seed: int, *, reduction_factor: int, grace_period: int):
    from syne_tune.optimizer.baselines import ASHA

    _check_grace(task, grace_period)
    return ASHA(config_space, type="stopping", reduction_factor=reduction_factor,
                grace_period=grace_period, **_common(task, seed))


def _check_grace(task: TaskSpec, grace_period: int) -> None:
    if not 1 <= grace_period < task.max_epochs:
        raise ValueError(f"grace_period={grace_period} must be in [1, {task.max_epochs - 1}] for {task.name}")


register_scheduler(SchedulerSpec(
    "asha", "asynchronous successive halving, stopping type (syne-tune ASHA)",
    "ohgw_bench.optimizers.syne_tune_schedulers:make_asha",
    defaults={"reduction_factor": 3, "grace_period": 1}))
