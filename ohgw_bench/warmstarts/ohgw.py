"""``ohgw``: ψ ← clip(ψ − η_h·∂L_v/∂ψ), the lookahead hyper-gradient of :mod:`ohgw_bench.warmstarts.hypergradient`,
repeated ``steps`` times from the same initial weights with fresh batches; ``horizon`` lookahead
steps; ``fd_step`` = the magnitude's finite-difference step as a fraction of its range (0 = leave
the magnitude alone).

``random``: the control of equal energy and equal compute: the OHGW step is computed, then
each dimension moves by the same magnitude with a random sign.
"""

from __future__ import annotations

import math
import random as _random
from collections.abc import Mapping
from typing import Any

from ohgw_bench.core.registry import register_warm_start
from ohgw_bench.warmstarts import WarmStartContext, WarmStartOutcome, require


def check_step(params: Mapping[str, Any], name: str = "ohgw") -> None:
    """The parameters of ``ohgw`` and of its control ``random`` (the control computes the same step)."""
    for key, rule in (
        ("steps", "an integer >= 1"),
        ("horizon", "an integer >= 1"),
        ("eta", "a finite number >= 0"),
        ("fd_step", "a number in [0, 0.5)"),
    ):
        require(name, key, params[key], rule)


def _warm_start_batches(ctx: WarmStartContext, step: int, horizon: int):
    """``horizon`` raw training batches and one un-augmented validation batch for ``step``."""
    import torch

    from ohgw_bench.core.seeding import seeded_generator

    cpu = torch.device("cpu")
    train_n, val_n = len(ctx.data.train_y), len(ctx.data.val_y)
    train = []
    for h in range(horizon):
        idx = torch.randperm(train_n, generator=seeded_generator(cpu, ctx.seed, 7001, step, h))[: ctx.batch_size]
        idx = idx.to(ctx.data.train_x.device)
        train.append((ctx.data.train_x[idx], ctx.data.train_y[idx]))
    vidx = torch.randperm(val_n, generator=seeded_generator(cpu, ctx.seed, 7002, step))[: ctx.batch_size]
    vidx = vidx.to(ctx.data.val_x.device)
    val = (ctx.eval_inputs(ctx.data.val_x[vidx]), ctx.data.val_y[vidx])
    # Each raw batch gets its own fixed augmentation draw, whatever the magnitude, so the
    # finite difference in m compares the same crops/flips/ops at two strengths.
    slot = {id(x): h for h, (x, _) in enumerate(train)}

    def augment(x_raw, magnitude: float):
        gen = seeded_generator(ctx.data.train_x.device, ctx.seed, 7003, step, slot[id(x_raw)])
        return ctx.train_inputs(x_raw, magnitude, gen)

    return train, val, augment


def ohgw_steps(
    config: Mapping[str, float], ctx: WarmStartContext, *, eta: float, steps: int, horizon: int, fd_step: float
) -> tuple[dict[str, float], WarmStartOutcome]:
    """Run the OHGW updates; return (unclipped last target, outcome)."""
    from ohgw_bench.core.space import AUG_MAGNITUDE
    from ohgw_bench.warmstarts.hypergradient import EXACT, FINITE_DIFFERENCE, lookahead_hypergradient

    psi = {k: float(config[k]) for k in ctx.space.names}
    target = dict(psi)
    grads: dict[str, float | None] = {}
    kinds: dict[str, str] = {}
    clipped = {k: False for k in psi}
    notes: list[str] = []
    for step in range(steps):
        train, val, augment = _warm_start_batches(ctx, step, horizon)
        coords = {k: v for k, v in psi.items() if k != AUG_MAGNITUDE or fd_step > 0}
        magnitude = ctx.space[AUG_MAGNITUDE]
        hg = lookahead_hypergradient(
            ctx.model,
            train,
            val,
            coords,
            augment=augment,
            horizon=horizon,
            fd_step=fd_step * (magnitude.high - magnitude.low) or 1.0,
            magnitude_bounds=(magnitude.low, magnitude.high),
        )
        if not hg.finite:
            notes.append(
                f"step {step + 1}: non-finite hyper-gradient (lookahead loss {hg.lookahead_loss:g}); "
                "config left as it was before this step"
            )
            grads = {k: (v if math.isfinite(v) else None) for k, v in hg.values.items()}
            kinds = dict(hg.kinds)
            break
        grads, kinds = dict(hg.values), dict(hg.kinds)
        notes.extend(hg.notes)
        # hg.values is what grads now holds, typed without the None of a non-finite step
        target = {k: psi[k] - (eta * hg.values[k] if kinds.get(k) in (EXACT, FINITE_DIFFERENCE) else 0.0) for k in psi}
        psi, step_clipped = ctx.space.clip(target)
        clipped = {k: clipped[k] or step_clipped[k] for k in psi}
    for k in psi:
        kinds.setdefault(k, "not_computed")
        grads.setdefault(k, None)
    note = "; ".join(dict.fromkeys(notes))
    return target, WarmStartOutcome(psi, grads, kinds, clipped, note)


@register_warm_start(
    "ohgw",
    "one-shot lookahead hyper-gradient step psi <- psi - eta*dLv/dpsi (steps, horizon, fd_step)",
    check=check_step,
)
def apply_ohgw(
    config: Mapping[str, float],
    ctx: WarmStartContext,
    *,
    eta: float = 1e-3,
    steps: int = 1,
    horizon: int = 1,
    fd_step: float = 0.05,
) -> WarmStartOutcome:
    return ohgw_steps(config, ctx, eta=eta, steps=steps, horizon=horizon, fd_step=fd_step)[1]


@register_warm_start(
    "random",
    "control: the OHGW step's per-dimension magnitude with random signs (same compute)",
    check=lambda params: check_step(params, "random"),
)
def apply_random(
    config: Mapping[str, float],
    ctx: WarmStartContext,
    *,
    eta: float = 1e-3,
    steps: int = 1,
    horizon: int = 1,
    fd_step: float = 0.05,
) -> WarmStartOutcome:
    _, ohgw = ohgw_steps(config, ctx, eta=eta, steps=steps, horizon=horizon, fd_step=fd_step)
    rng = _random.Random(ctx.seed * 104729 + 3)
    # Same per-dimension magnitude as the (clipped) OHGW move, random sign.
    moved = {
        k: float(config[k]) + abs(ohgw.config_used[k] - float(config[k])) * rng.choice((-1.0, 1.0))
        for k in ctx.space.names
    }
    used, clipped = ctx.space.clip(moved)
    note = "random signs, OHGW magnitudes" + (f"; {ohgw.note}" if ohgw.note else "")
    return WarmStartOutcome(used, ohgw.hypergrad, ohgw.hypergrad_kind, clipped, note)
