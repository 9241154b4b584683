"""Warm starts: transforms of a sampled config applied inside the trial, before it trains.

* ``none``   — the config as sampled.
* ``ohgw``   — ψ ← clip(ψ − η_h·∂L_v/∂ψ), the lookahead hyper-gradient of
  :mod:`ohgw_bench.hypergrad`, repeated ``steps`` times from the same initial weights with
  fresh batches; ``horizon`` lookahead steps; ``fd_step`` = the magnitude's finite-difference step as a
  fraction of its range (0 = leave the magnitude alone).
* ``random`` — the control of equal energy and equal compute: the OHGW step is computed,
  then each dimension moves by the same magnitude with a random sign.
* ``gauss``  — ψ ← clip(ψ + σ·(high − low)·N(0, 1)): a fixed-σ perturbation, no compute
  (σ is relative to each dimension's range so one σ means the same for every dimension).

Registration here is torch-free; the transforms import torch when they run.
"""
from __future__ import annotations

import math
import random as _random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping

from ohgw_bench.registry import register_warm_start
from ohgw_bench.space import SearchSpace
from ohgw_bench.specs import WarmStartSpec

if TYPE_CHECKING:
    from torch import nn

    from ohgw_bench.data.splits import DataSplits

_OHGW_DEFAULTS = {"eta": 1e-3, "steps": 1, "horizon": 1, "fd_step": 0.05}

register_warm_start(WarmStartSpec("none", "no warm start: train the sampled config", "ohgw_bench.warmstart:apply_none"))
register_warm_start(WarmStartSpec(
    "ohgw", "one-shot lookahead hyper-gradient step psi <- psi - eta*dLv/dpsi (steps, horizon, fd_step)",
    "ohgw_bench.warmstart:apply_ohgw", dict(_OHGW_DEFAULTS)))
register_warm_start(WarmStartSpec(
    "random", "control: the OHGW step's per-dimension magnitude with random signs (same compute)",
    "ohgw_bench.warmstart:apply_random", dict(_OHGW_DEFAULTS)))
register_warm_start(WarmStartSpec(
    "gauss", "control: fixed Gaussian perturbation, sigma relative to each range, no compute",
    "ohgw_bench.warmstart:apply_gauss", {"sigma": 0.01}))


@dataclass(frozen=True)
class WarmStartContext:
    """Everything a warm start may look at: the initial model, the data, the space."""

    model: "nn.Module"
    data: "DataSplits"
    space: SearchSpace
    augment: Callable  # (x_uint8, magnitude, generator) -> images in [0, 1]
    normalize: Callable
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


def apply_none(config: Mapping[str, float], ctx: WarmStartContext, **_: Any) -> WarmStartOutcome:
    values = {k: float(config[k]) for k in ctx.space.names}
    return WarmStartOutcome(values, clipped={k: False for k in values})


def apply_gauss(config: Mapping[str, float], ctx: WarmStartContext, *, sigma: float) -> WarmStartOutcome:
    rng = _random.Random(ctx.seed * 7919 + 17)
    moved = {h.name: float(config[h.name]) + sigma * (h.high - h.low) * rng.gauss(0.0, 1.0)
             for h in ctx.space.hyperparameters}
    used, clipped = ctx.space.clip(moved)
    return WarmStartOutcome(used, clipped=clipped, note=f"gaussian perturbation sigma={sigma:g} of each range")


def _warm_start_batches(ctx: WarmStartContext, step: int, horizon: int):
    """``horizon`` raw training batches and one un-augmented validation batch for ``step``."""
    import torch

    from ohgw_bench.train import seeded_generator

    cpu = torch.device("cpu")
    train_n, val_n = len(ctx.data.train_y), len(ctx.data.val_y)
    train = []
    for h in range(horizon):
        idx = torch.randperm(train_n, generator=seeded_generator(cpu, ctx.seed, 7001, step, h))[:ctx.batch_size]
        idx = idx.to(ctx.data.train_x.device)
        train.append((ctx.data.train_x[idx], ctx.data.train_y[idx]))
    vidx = torch.randperm(val_n, generator=seeded_generator(cpu, ctx.seed, 7002, step))[:ctx.batch_size]
    vidx = vidx.to(ctx.data.val_x.device)
    val = (ctx.normalize(ctx.data.val_x[vidx].float() / 255.0), ctx.data.val_y[vidx])
    # Each raw batch gets its own fixed augmentation draw, whatever the magnitude, so the
    # finite difference in m compares the same crops/flips/ops at two strengths.
    slot = {id(x): h for h, (x, _) in enumerate(train)}

    def augment(x_raw, magnitude: float):
        gen = seeded_generator(ctx.data.train_x.device, ctx.seed, 7003, step, slot[id(x_raw)])
        return ctx.normalize(ctx.augment(x_raw, magnitude, gen))

    return train, val, augment


def ohgw_steps(config: Mapping[str, float], ctx: WarmStartContext, *, eta: float, steps: int,
               horizon: int, fd_step: float) -> tuple[dict[str, float], WarmStartOutcome]:
    """Run the OHGW updates; return (unclipped last target, outcome)."""
    from ohgw_bench.hypergrad import EXACT, FINITE_DIFFERENCE, lookahead_hypergradient
    from ohgw_bench.space import AUG_MAGNITUDE

    psi = {k: float(config[k]) for k in ctx.space.names}
    target, grads, kinds, clipped = dict(psi), {}, {}, {k: False for k in psi}
    notes = []
    for step in range(steps):
        train, val, augment = _warm_start_batches(ctx, step, horizon)
        coords = {k: v for k, v in psi.items() if k != AUG_MAGNITUDE or fd_step > 0}
        magnitude = ctx.space[AUG_MAGNITUDE]
        hg = lookahead_hypergradient(ctx.model, train, val, coords, augment=augment, horizon=horizon,
                                     fd_step=fd_step * (magnitude.high - magnitude.low) or 1.0,
                                     magnitude_bounds=(magnitude.low, magnitude.high))
        if not hg.finite:
            notes.append(f"step {step + 1}: non-finite hyper-gradient (lookahead loss {hg.lookahead_loss:g}); "
                         "config left as it was before this step")
            grads = {k: (v if math.isfinite(v) else None) for k, v in hg.values.items()}
            kinds = dict(hg.kinds)
            break
        grads, kinds = dict(hg.values), dict(hg.kinds)
        notes.extend(hg.notes)
        target = {k: psi[k] - (eta * grads[k] if kinds.get(k) in (EXACT, FINITE_DIFFERENCE) else 0.0)
                  for k in psi}
        psi, step_clipped = ctx.space.clip(target)
        clipped = {k: clipped[k] or step_clipped[k] for k in psi}
    for k in psi:
        kinds.setdefault(k, "not_computed")
        grads.setdefault(k, None)
    note = "; ".join(dict.fromkeys(notes))
    return target, WarmStartOutcome(psi, grads, kinds, clipped, note)


def apply_ohgw(config: Mapping[str, float], ctx: WarmStartContext, **params: Any) -> WarmStartOutcome:
    return ohgw_steps(config, ctx, **params)[1]


def apply_random(config: Mapping[str, float], ctx: WarmStartContext, **params: Any) -> WarmStartOutcome:
    _, ohgw = ohgw_steps(config, ctx, **params)
    rng = _random.Random(ctx.seed * 104729 + 3)
    # Same per-dimension magnitude as the (clipped) OHGW move, random sign.
    moved = {k: float(config[k]) + abs(ohgw.config_used[k] - float(config[k])) * rng.choice((-1.0, 1.0))
             for k in ctx.space.names}
    used, clipped = ctx.space.clip(moved)
    note = "random signs, OHGW magnitudes" + (f"; {ohgw.note}" if ohgw.note else "")
    return WarmStartOutcome(used, ohgw.hypergrad, ohgw.hypergrad_kind, clipped, note)


def validate_params(name: str, params: Mapping[str, Any]) -> None:
    """Range checks the name grammar cannot do; called before a run starts."""
    from ohgw_bench.registry import get_warm_start

    full = {**get_warm_start(name).defaults, **dict(params)}
    checks = {
        "steps": lambda v: v >= 1, "horizon": lambda v: v >= 1, "eta": lambda v: v >= 0,
        "fd_step": lambda v: 0 <= v < 0.5, "sigma": lambda v: v >= 0,
    }
    rules = {"steps": ">= 1", "horizon": ">= 1", "eta": ">= 0", "fd_step": "in [0, 0.5)", "sigma": ">= 0"}
    for key, value in full.items():
        if key in checks and not checks[key](value):
            raise ValueError(f"warm start {name}: {key}={value} must be {rules[key]}")


def apply_warm_start(name: str, params: Mapping[str, Any], config: Mapping[str, float],
                     ctx: WarmStartContext) -> WarmStartOutcome:
    from ohgw_bench.registry import get_warm_start
    from ohgw_bench.specs import resolve

    spec = get_warm_start(name)
    return resolve(spec.factory)(config, ctx, **{**spec.defaults, **dict(params)})
