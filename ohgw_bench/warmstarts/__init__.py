"""Warm starts: transforms of a sampled config applied inside the trial, before it trains.

This module is the contract (:class:`WarmStartContext` in, :class:`WarmStartOutcome` out) and
the one way to apply one (:func:`apply_warm_start`). The warm starts themselves are plugins,
one file each in this folder, registered with ``@register_warm_start``:
``none`` (none.py), ``gauss`` (gauss.py), ``ohgw`` and its equal-magnitude control ``random``
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
    """Range checks the name grammar cannot do, by the warm start's own ``check`` (registered with
    it); called before a run starts. ValueError with a clear message."""
    from ohgw_bench.core.registry import get_warm_start

    spec = get_warm_start(name)
    if spec.check is not None:
        spec.check(spec.settings(params))


def require(warm_start: str, key: str, value: Any, rule: str) -> None:
    """ValueError unless ``value`` satisfies ``rule``: "an integer >= 1", "a finite number >= 0",
    "a number in [0, 0.5)", "a number in (0, 1]" or "true or false" — the rules the warm starts'
    parameters use, worded once."""
    whole = isinstance(value, int) and not isinstance(value, bool)
    real = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    ok = {
        "an integer >= 1": whole and value >= 1,
        "a finite number >= 0": real and value >= 0,
        "a number in [0, 0.5)": real and 0 <= value < 0.5,
        "a number in (0, 1]": real and 0 < value <= 1,
        "true or false": isinstance(value, bool),
    }[rule]
    if not ok:
        raise ValueError(f"warm start {warm_start}: {key}={value} must be {rule}")


def apply_warm_start(
    name: str, params: Mapping[str, Any], config: Mapping[str, float], ctx: WarmStartContext
) -> WarmStartOutcome:
    from ohgw_bench.core.registry import get_warm_start

    spec = get_warm_start(name)
    return spec.factory(config, ctx, **spec.settings(params))
