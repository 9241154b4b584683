"""Warm starts: transforms of a sampled config applied inside the trial, before it trains.

This module is the contract (:class:`WarmStartContext` in, :class:`WarmStartOutcome` out) and
the one way to apply one (:func:`apply_warm_start`). The warm starts themselves are plugins,
one file each in this folder, registered with ``@register_warm_start``:
``none`` (none.py), ``gauss`` (gauss.py), ``ohgw`` and its equal-energy control ``random``
(ohgw.py). Registration is torch-free; the transforms import torch when they run.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ohgw_bench.core.space import SearchSpace

if TYPE_CHECKING:
    from torch import nn

    from ohgw_bench.core.splits import DataSplits


@dataclass(frozen=True)
class WarmStartContext:
    """Everything a warm start may look at: the initial model, the data, the space."""

    model: nn.Module
    data: DataSplits
    space: SearchSpace
    train_inputs: Callable  # the task's (x_raw, magnitude, generator) -> model-ready batch
    eval_inputs: Callable  # the task's x_raw -> model-ready batch, no augmentation
    batch_size: int
    seed: int
    device: Any


@dataclass(frozen=True)
class WarmStartOutcome:
    config_used: dict[str, float]
    hypergrad: dict[str, float | None] = field(default_factory=dict)
    hypergrad_kind: dict[str, str] = field(default_factory=dict)
    clipped: dict[str, bool] = field(default_factory=dict)
    note: str = ""


def validate_params(name: str, params: Mapping[str, Any]) -> None:
    """Range checks the name grammar cannot do; called before a run starts."""
    from ohgw_bench.core.registry import get_warm_start

    full = {**get_warm_start(name).defaults, **dict(params)}
    whole = lambda v: isinstance(v, int) and not isinstance(v, bool)  # noqa: E731
    real = lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)  # noqa: E731
    checks = {
        "steps": lambda v: whole(v) and v >= 1,
        "horizon": lambda v: whole(v) and v >= 1,
        "eta": lambda v: real(v) and v >= 0,
        "fd_step": lambda v: real(v) and 0 <= v < 0.5,
        "sigma": lambda v: real(v) and v >= 0,
    }
    rules = {
        "steps": "an integer >= 1",
        "horizon": "an integer >= 1",
        "eta": "a finite number >= 0",
        "fd_step": "a number in [0, 0.5)",
        "sigma": "a finite number >= 0",
    }
    for key, value in full.items():
        if key in checks and not checks[key](value):
            raise ValueError(f"warm start {name}: {key}={value} must be {rules[key]}")


def apply_warm_start(
    name: str, params: Mapping[str, Any], config: Mapping[str, float], ctx: WarmStartContext
) -> WarmStartOutcome:
    from ohgw_bench.core.registry import get_warm_start

    spec = get_warm_start(name)
    return spec.factory(config, ctx, **{**spec.defaults, **dict(params)})
