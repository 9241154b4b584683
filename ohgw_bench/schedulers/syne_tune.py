"""Schedulers from syne-tune 0.13 (the last release whose baselines keep ASHA, PASHA, DyHPO...).

Facts that matter (checked against 0.13): ``mode="max"`` for accuracy;
``points_to_evaluate=[]`` or the first trial is the centre of the space; results arrive
with ``resource_attr="epoch"`` and the trial reads the epoch to train up to from
``max_resource_attr="epochs"`` in its config — for the pause/resume schedulers (PASHA,
DyHPO, Hyperband promotion) syne-tune rewrites it to the next rung on every resume.
PASHA needs at least three rung levels below the maximum or it never promotes; DyHPO
warns unless ``grace_period == rung_increment``. Settings are checked here, at start-up,
with a message that says what to change.
"""

from __future__ import annotations

from typing import Any

from ohgw_bench.core.registry import register_scheduler
from ohgw_bench.core.specs import MAX_RESOURCE_ATTR, RESOURCE_ATTR, TaskSpec

SearchOptions = dict[str, Any] | None  # e.g. a table's restrict_configurations (not a user setting)


def common_settings(task: TaskSpec, seed: int, search_options: SearchOptions, **defaults: Any) -> dict[str, Any]:
    options = {**defaults, **(search_options or {})}
    return dict(
        metric=task.metric,
        mode="max",
        points_to_evaluate=[],
        random_seed=seed,
        **({"search_options": options} if options else {}),
    )


def _multi_fidelity(task: TaskSpec, seed: int, search_options: SearchOptions, **defaults: Any) -> dict[str, Any]:
    common = common_settings(task, seed, search_options, **defaults)
    return dict(common, resource_attr=RESOURCE_ATTR, max_resource_attr=MAX_RESOURCE_ATTR)


def rung_levels(grace_period: int, reduction_factor: int, max_epochs: int) -> list[int]:
    """Geometric rung levels strictly below ``max_epochs`` (syne-tune's rule for η and r_min)."""
    levels, level = [], float(grace_period)
    while round(level) < max_epochs:
        levels.append(int(round(level)))
        level *= reduction_factor
    return levels


def _check_geometric(name: str, task: TaskSpec, grace_period: int, reduction_factor: int, min_levels: int) -> None:
    if reduction_factor < 2:
        raise ValueError(f"{name}: reduction_factor={reduction_factor} must be at least 2")
    if not 1 <= grace_period < task.max_epochs:
        raise ValueError(
            f"{name}: grace_period={grace_period} must be in [1, {task.max_epochs - 1}] "
            f"for {task.name} (max_epochs={task.max_epochs})"
        )
    levels = rung_levels(grace_period, reduction_factor, task.max_epochs)
    if len(levels) < min_levels:
        raise ValueError(
            f"{name} needs at least {min_levels} rung levels below max_epochs={task.max_epochs} of {task.name}, "
            f"but grace_period={grace_period}, reduction_factor={reduction_factor} give {levels}: "
            f"lower grace_period or reduction_factor"
        )


def _successive_halving(
    scheduler_class: Any,
    name: str,
    task: TaskSpec,
    config_space: dict,
    seed: int,
    search_options: SearchOptions,
    reduction_factor: int,
    grace_period: int,
    *,
    min_levels: int = 1,
    stopping: bool = True,
    **searcher_defaults: Any,
) -> Any:
    """ASHA, PASHA and MOBSTER: syne-tune's geometric-rung schedulers, built after checking the rungs.
    ``stopping``: ASHA and MOBSTER stop trials (PASHA pauses them and takes no ``type``)."""
    _check_geometric(name, task, grace_period, reduction_factor, min_levels)
    kind = {"type": "stopping"} if stopping else {}
    return scheduler_class(
        config_space,
        reduction_factor=reduction_factor,
        grace_period=grace_period,
        **kind,
        **_multi_fidelity(task, seed, search_options, **searcher_defaults),
    )


@register_scheduler("asha", "asynchronous successive halving, stopping type (syne-tune ASHA)")
def make_asha(
    task: TaskSpec,
    config_space: dict,
    seed: int,
    search_options: SearchOptions = None,
    *,
    reduction_factor: int = 3,
    grace_period: int = 1,
):
    from syne_tune.optimizer.baselines import ASHA

    return _successive_halving(ASHA, "asha", task, config_space, seed, search_options, reduction_factor, grace_period)


@register_scheduler(
    "pasha", "progressive ASHA: raises its maximum resource as rankings stabilise (pause/resume)", pauses_trials=True
)
def make_pasha(
    task: TaskSpec,
    config_space: dict,
    seed: int,
    search_options: SearchOptions = None,
    *,
    reduction_factor: int = 3,
    grace_period: int = 1,
):
    from syne_tune.optimizer.baselines import PASHA

    return _successive_halving(
        PASHA,
        "pasha",
        task,
        config_space,
        seed,
        search_options,
        reduction_factor,
        grace_period,
        min_levels=3,
        stopping=False,
    )


@register_scheduler(
    "hyperband", "asynchronous Hyperband, promotion type, several brackets (pause/resume)", pauses_trials=True
)
def make_hyperband(
    task: TaskSpec,
    config_space: dict,
    seed: int,
    search_options: SearchOptions = None,
    *,
    reduction_factor: int = 3,
    grace_period: int = 1,
    brackets: int = 3,
):
    from syne_tune.optimizer.schedulers import HyperbandScheduler

    _check_geometric("hyperband", task, grace_period, reduction_factor, min_levels=1)
    most = len(rung_levels(grace_period, reduction_factor, task.max_epochs)) + 1
    if not 1 <= brackets <= most:
        raise ValueError(f"hyperband: brackets={brackets} must be in [1, {most}] for these rung levels")
    return HyperbandScheduler(
        config_space,
        searcher="random",
        type="promotion",
        brackets=brackets,
        reduction_factor=reduction_factor,
        grace_period=grace_period,
        **_multi_fidelity(task, seed, search_options),
    )


@register_scheduler("mobster", "model-based ASHA with a multi-task GP searcher (syne-tune MOBSTER)")
def make_mobster(
    task: TaskSpec,
    config_space: dict,
    seed: int,
    search_options: SearchOptions = None,
    *,
    reduction_factor: int = 3,
    grace_period: int = 1,
):
    from syne_tune.optimizer.baselines import MOBSTER

    return _successive_halving(
        MOBSTER, "mobster", task, config_space, seed, search_options, reduction_factor, grace_period, debug_log=False
    )


@register_scheduler(
    "dyhpo", "DyHPO-style: GP-based promotion on linear rungs, hybrid with SH (pause/resume)", pauses_trials=True
)
def make_dyhpo(
    task: TaskSpec,
    config_space: dict,
    seed: int,
    search_options: SearchOptions = None,
    *,
    grace_period: int = 3,
    rung_increment: int = 3,
    probability_sh: float = 0.5,
):
    from syne_tune.optimizer.baselines import DyHPO

    if grace_period != rung_increment:
        raise ValueError(
            f"dyhpo: grace_period={grace_period} must equal rung_increment={rung_increment} "
            "(syne-tune's DyHPO assumes linearly spaced rungs starting at the increment)"
        )
    if not 1 <= rung_increment < task.max_epochs:
        raise ValueError(f"dyhpo: rung_increment={rung_increment} must be in [1, {task.max_epochs - 1}]")
    if not 0.0 <= probability_sh <= 1.0:
        raise ValueError(f"dyhpo: probability_sh={probability_sh} must be in [0, 1]")
    return DyHPO(
        config_space,
        grace_period=grace_period,
        rung_increment=rung_increment,
        probability_sh=probability_sh,
        **_multi_fidelity(task, seed, search_options, debug_log=False),
    )


@register_scheduler("random-search", "random search at full fidelity (not the 'random' warm start)")
def make_random_search(task: TaskSpec, config_space: dict, seed: int, search_options: SearchOptions = None):
    """Every trial trains to the task's maximum epochs (config["epochs"] is that maximum)."""
    from syne_tune.optimizer.baselines import RandomSearch

    return RandomSearch(config_space, **common_settings(task, seed, search_options))
