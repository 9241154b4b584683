"""``halving``: a scheduler in one file — syne-tune's ASHA with its own defaults."""

from __future__ import annotations

from ohgw_bench.core.registry import register_scheduler
from ohgw_bench.core.specs import MAX_RESOURCE_ATTR, RESOURCE_ATTR


@register_scheduler("halving", "ASHA halving by 2 from one epoch")
def make_halving(task, config_space, seed, *, reduction_factor: int = 2):
    from syne_tune.optimizer.baselines import ASHA

    return ASHA(
        config_space,
        metric=task.metric,
        mode="max",
        resource_attr=RESOURCE_ATTR,
        max_resource_attr=MAX_RESOURCE_ATTR,
        reduction_factor=reduction_factor,
        grace_period=1,
        points_to_evaluate=[],
        random_seed=seed,
    )
