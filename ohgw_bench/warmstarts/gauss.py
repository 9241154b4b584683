"""``gauss``: ψ ← clip(ψ + σ·(high − low)·N(0, 1)), a fixed-σ perturbation that computes nothing
(σ is relative to each dimension's range, so one σ means the same for every dimension)."""

from __future__ import annotations

import random as _random
from collections.abc import Mapping
from typing import Any

from ohgw_bench.core.registry import register_warm_start
from ohgw_bench.warmstarts import WarmStartContext, WarmStartOutcome, require


def check_gauss(params: Mapping[str, Any]) -> None:
    require("gauss", "sigma", params["sigma"], "a finite number >= 0")


@register_warm_start(
    "gauss",
    "control: fixed Gaussian perturbation, sigma relative to each range, no compute",
    computes=False,
    check=check_gauss,
)
def apply_gauss(config: Mapping[str, float], ctx: WarmStartContext, *, sigma: float = 0.01) -> WarmStartOutcome:
    rng = _random.Random(ctx.seed * 7919 + 17)
    moved = {
        h.name: float(config[h.name]) + sigma * (h.high - h.low) * rng.gauss(0.0, 1.0)
        for h in ctx.space.hyperparameters
    }
    used, clipped = ctx.space.clip(moved)
    return WarmStartOutcome(used, clipped=clipped, note=f"gaussian perturbation sigma={sigma:g} of each range")
