"""``none``: train the config as sampled (the baseline arm)."""

from __future__ import annotations

from collections.abc import Mapping

from ohgw_bench.core.registry import register_warm_start
from ohgw_bench.warmstarts import WarmStartContext, WarmStartOutcome


@register_warm_start("none", "no warm start: train the sampled config", computes=False)
def apply_none(config: Mapping[str, float], ctx: WarmStartContext) -> WarmStartOutcome:
    values = {k: float(config[k]) for k in ctx.space.names}
    return WarmStartOutcome(values, clipped={k: False for k in values})
