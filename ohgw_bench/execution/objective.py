"""An in-process objective, HPOBench-style: evaluate one configuration of a task without syne-tune.

``objective_function(task, config, epochs, seed, warm_start=...)`` trains in this process through
the same :func:`~ohgw_bench.execution.trial.run_trial` as every backend (same batches for the same seed,
same warm start, same records), so any optimizer — Optuna, SMAC, a loop of your own — can use
the suite's tasks and warm starts, and its numbers compare with the suite's runs.
"""

from __future__ import annotations

import numbers
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ohgw_bench.core.limits import check_seed
from ohgw_bench.core.records import TrialReport, WarmStartRecord, from_report, warm_start_from_report

if TYPE_CHECKING:
    from ohgw_bench.core.specs import TaskSpec


@dataclass(frozen=True)
class ObjectiveResult:
    """The learning curve of one configuration, what the warm start did and what it cost."""

    task: str
    warm_start: WarmStartRecord
    curve: tuple[TrialReport, ...]

    @property
    def val_acc(self) -> float:
        """Validation accuracy at the last epoch (the value an optimizer minimises as 1 − val_acc)."""
        return self.curve[-1].val_acc

    @property
    def cost_seconds(self) -> float:
        return self.curve[-1].trial_seconds

    @property
    def config_used(self) -> dict[str, float]:
        """The configuration that trained (after the warm start; the sampled one for ``none``)."""
        return self.warm_start.config_used

    @property
    def diverged(self) -> bool:
        """The loss stopped being finite: the curve ends at that epoch."""
        return self.curve[-1].diverged


def _check_config(task: TaskSpec, config: Mapping[str, Any]) -> None:
    """ValueError naming the key unless ``config`` holds exactly the task's coordinates, each a number in
    its bounds: a misspelt key would otherwise train the default of nothing and go unnoticed."""
    names = task.space.names
    valid = f"the space of {task.name}: {', '.join(names)}"
    unknown = [k for k in config if k not in names]
    if unknown:
        raise ValueError(f"config has unknown key(s) {', '.join(map(repr, unknown))} ({valid})")
    missing = [k for k in names if k not in config]
    if missing:
        raise ValueError(f"config lacks {', '.join(missing)} ({valid})")
    for h in task.space.hyperparameters:
        value = config[h.name]
        if isinstance(value, bool) or not isinstance(value, numbers.Real):  # numpy's floats too
            raise ValueError(f"{h.name}={value!r} must be a number in [{h.low}, {h.high}] for {task.name}")
        if not h.low <= float(value) <= h.high:
            raise ValueError(f"{h.name}={value} is outside [{h.low}, {h.high}] for {task.name}")


def objective_function(
    task: TaskSpec,
    config: Mapping[str, float],
    epochs: int,
    seed: int = 0,
    warm_start: str = "none",
    warm_start_params: Mapping[str, Any] | None = None,
    device: Any = None,
) -> ObjectiveResult:
    """Train ``config`` (the task's search-space coordinates) for ``epochs`` epochs with trial seed
    ``seed``, after ``warm_start``; return the curve. Raises ValueError, naming what is wrong, on a config
    with a missing, unknown or out-of-bounds key, on epochs out of range and on a seed outside
    [0, 2**32 - 1]."""
    import torch

    from ohgw_bench.core.registry import get_warm_start
    from ohgw_bench.execution.trial import TrialSetup, count_warm_start_flops, prepare_process, run_trial
    from ohgw_bench.warmstarts import validate_params

    if isinstance(epochs, bool) or not isinstance(epochs, int) or not 1 <= epochs <= task.max_epochs:
        raise ValueError(f"epochs={epochs!r} must be an integer in [1, {task.max_epochs}] for {task.name}")
    check_seed("seed", seed)
    _check_config(task, config)
    params = dict(warm_start_params or {})
    unknown = set(params) - set(get_warm_start(warm_start).defaults)
    if unknown:
        raise ValueError(f"warm start {warm_start} has no parameter(s) {', '.join(sorted(unknown))}")
    validate_params(warm_start, params)

    device = (
        torch.device(device) if device is not None else torch.device("cuda" if torch.cuda.is_available() else "cpu")
    )
    data = prepare_process(task, device)
    setup = TrialSetup(warm_start, params, seed=seed, max_epoch=epochs)
    count_warm_start_flops(task, data, warm_start, params)
    reports: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="ohgw-objective-") as scratch:
        run_trial(
            task,
            {k: float(config[k]) for k in task.space.names},
            setup,
            Path(scratch),
            lambda **r: reports.append(r),
            device,
            data=data,
        )
    return ObjectiveResult(
        task=task.name,
        warm_start=warm_start_from_report(reports[-1]),
        curve=tuple(from_report(r) for r in reports),
    )
