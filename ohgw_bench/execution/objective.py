"""An in-process objective, HPOBench-style: evaluate one configuration of a task without syne-tune.

``objective_function(task, config, epochs, seed, warm_start=...)`` trains in this process through
the same :func:`~ohgw_bench.execution.trial.run_trial` as every backend (same batches for the same seed,
same warm start, same records), so any optimizer — Optuna, SMAC, a loop of your own — can use
the suite's tasks and warm starts, and its numbers compare with the suite's runs. For a curve an
epoch at a time, stopped and resumed, use :func:`~ohgw_bench.execution.evaluation.evaluate`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ohgw_bench.core.records import TrialReport, WarmStartRecord
from ohgw_bench.execution.evaluation import check_epochs, evaluate

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
    [0, 2**32 - 1]. The one-call form of :func:`~ohgw_bench.execution.evaluation.evaluate`."""
    check_epochs(epochs, task.max_epochs, task.name)
    with evaluate(task, config, seed, warm_start, warm_start_params, device) as evaluation:
        evaluation.train_to(epochs)
        record = evaluation.warm_start
        assert record is not None  # an epoch was trained: the warm start ran before it
        return ObjectiveResult(task=task.name, warm_start=record, curve=evaluation.curve)
