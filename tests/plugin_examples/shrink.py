"""``shrink``: a warm start in one file — move every coordinate a share of the way to the centre."""

from __future__ import annotations

from ohgw_bench.core.registry import register_warm_start
from ohgw_bench.warmstarts import WarmStartOutcome


@register_warm_start("shrink", "move each coordinate towards the centre of its range", computes=False)
def apply_shrink(config, ctx, *, rate: float = 0.1) -> WarmStartOutcome:
    moved = {
        h.name: (1 - rate) * float(config[h.name]) + rate * (h.low + h.high) / 2 for h in ctx.space.hyperparameters
    }
    used, clipped = ctx.space.clip(moved)
    return WarmStartOutcome(used, clipped=clipped, note=f"shrunk by {rate:g}")
