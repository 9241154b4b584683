"""Frozen specs of the three registered kinds: tasks, schedulers and warm starts.

Specs hold only names, numbers and ``"module:attr"`` strings, so listing them never
imports torch or a scheduler library; :func:`resolve` imports the heavy part on use.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from ohgw_bench.space import SearchSpace


def resolve(target: str) -> Any:
    """Import ``"package.module:attribute"`` lazily."""
    module_name, _, attr = target.partition(":")
    if not attr:
        raise ValueError(f"expected 'module:attr', got {target!r}")
    return getattr(importlib.import_module(module_name), attr)


@dataclass(frozen=True)
class TaskSpec:
    """Dataset + model + search space + fidelity + target τ (on validation accuracy).

    ``dataset`` resolves to ``f(**dataset_kwargs) -> DataSplits``; ``model`` to
    ``f(num_classes) -> nn.Module``; ``augment`` to the batched, on-device
    ``f(x_uint8, magnitude, generator) -> float images in [0, 1]``.
    """

    name: str
    description: str
    space: SearchSpace
    max_epochs: int
    target: float
    dataset: str
    model: str
    augment: str
    batch_size: int = 128
    eval_batch_size: int = 1024
    dataset_kwargs: tuple[tuple[str, Any], ...] = ()
    metric: str = "val_acc"

    def load_data(self):
        return resolve(self.dataset)(**dict(self.dataset_kwargs))

    def create_model(self, num_classes: int):
        return resolve(self.model)(num_classes)

    def augment_fn(self) -> Callable:
        return resolve(self.augment)


@dataclass(frozen=True)
class SchedulerSpec:
    """A multi-fidelity scheduler from a real library.

    ``factory`` resolves to ``f(task, settings, seed, ...)`` documented in
    :mod:`ohgw_bench.optimizers`; ``defaults`` are the settings a plain name gets,
    overridable through the composed name, e.g. ``asha(reduction_factor=2)``.
    """

    name: str
    description: str
    factory: str
    defaults: Mapping[str, Any] = field(default_factory=dict)
    engine: str = "syne-tune"
    pauses_trials: bool = False


@dataclass(frozen=True)
class WarmStartSpec:
    """A transform of a sampled config applied inside the trial before it trains."""

    name: str
    description: str
    factory: str
    defaults: Mapping[str, Any] = field(default_factory=dict)
