"""``dehb``: differential-evolution Hyperband (dehb 0.1.2), driven by ask/tell from syne-tune's tuner.

The scheduler class lives in :mod:`._dehb_scheduler` (it subclasses syne-tune's scheduler, so
importing it imports syne-tune); registering it here stays light.
"""

from __future__ import annotations

from ohgw_bench.core.registry import register_scheduler
from ohgw_bench.core.specs import TaskSpec


@register_scheduler(
    "dehb", "differential-evolution Hyperband (dehb 0.1.2 ask/tell), geometric fidelities", engine="dehb"
)
def make_dehb(task: TaskSpec, config_space: dict, seed: int, *, eta: int = 3, min_epochs: int = 1):
    """DEHB over ``task``'s space, fidelity = epochs in [min_epochs, task.max_epochs]
    (digits-cnn, 27 epochs, defaults: rungs 1, 3, 9, 27). The same ``seed`` gives the same
    sequence of asked configs."""
    from ohgw_bench.schedulers._dehb_scheduler import DEHBScheduler, validate_dehb_settings

    validate_dehb_settings(task, eta, min_epochs)
    return DEHBScheduler(
        config_space,
        cs=task.space.to_configspace(seed),
        hp_names=task.space.names,
        metric=task.metric,
        min_epochs=min_epochs,
        max_epochs=task.max_epochs,
        eta=eta,
        seed=seed,
    )
