"""``ohgw``: ψ ← clip(ψ − η_h·∂L_v/∂ψ), the lookahead hyper-gradient of :mod:`ohgw_bench.warmstarts.hypergradient`,
repeated ``steps`` times from the same initial weights with fresh batches; ``horizon`` lookahead
steps; ``fd_step`` = the magnitude's finite-difference step as a fraction of its range (0 = leave
the magnitude alone). The step's options (docs/hyper-gradient.md, "Options of the step"):
``dims`` = the dimensions that move (masking), ``max_step`` = a trust region per dimension as a
fraction of its range, ``normalize`` = a step of length η_h in range-scaled coordinates.

``random``: the control of equal energy and equal compute: the OHGW step is computed (with the
same options), then each dimension moves by OHGW's realised magnitude with a random sign; a sign
that would leave the space is reflected, so the magnitudes stay equal at the bounds too.
"""

from __future__ import annotations

import math
import random as _random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ohgw_bench.core.names import TextSetting
from ohgw_bench.core.registry import register_warm_start
from ohgw_bench.core.space import AUG_MAGNITUDE, LABEL_SMOOTHING, LOG10_LR, LOG10_WD, MOMENTUM, SearchSpace
from ohgw_bench.warmstarts import WarmStartContext, WarmStartOutcome, require

#: each coordinate's short name, the spelling ``dims=`` is written in; the full name is accepted too.
SHORT_NAMES = {
    LOG10_LR: "lr",
    LOG10_WD: "wd",
    MOMENTUM: "momentum",
    AUG_MAGNITUDE: "magnitude",
    LABEL_SMOOTHING: "smoothing",
}
ALL_DIMS = "all"
DIMS_SEPARATOR = "+"


def parse_dims(text: str) -> tuple[str, ...]:
    """The full names ``dims=`` selects, in the space's order: short or full names joined by ``+``,
    or ``all``. ValueError naming the valid spellings for anything else."""
    if not isinstance(text, str):
        raise ValueError(f"must be dimension names joined by {DIMS_SEPARATOR!r}, got {text!r}")
    if text.strip() == ALL_DIMS:
        return tuple(SHORT_NAMES)
    by_spelling = {**{short: full for full, short in SHORT_NAMES.items()}, **{full: full for full in SHORT_NAMES}}
    chosen: list[str] = []
    for part in (p.strip() for p in text.split(DIMS_SEPARATOR)):
        if part not in by_spelling:
            valid = ", ".join(short + (f" ({full})" if full != short else "") for full, short in SHORT_NAMES.items())
            raise ValueError(
                f"unknown dimension {part!r}: valid are {valid}, joined by {DIMS_SEPARATOR!r}, or {ALL_DIMS}"
            )
        if by_spelling[part] in chosen:
            raise ValueError(f"dimension {part!r} is named twice")
        chosen.append(by_spelling[part])
    return tuple(full for full in SHORT_NAMES if full in chosen)


class Dims(TextSetting):
    """``dims=``'s default; its canonical spelling is short names in the space's order (``lr+wd``),
    and ``all`` for all five, so that ``dims=log10_wd+lr`` and ``dims=lr+wd`` name one arm."""

    @classmethod
    def canonical(cls, text: str) -> str:
        chosen = parse_dims(text)
        return ALL_DIMS if len(chosen) == len(SHORT_NAMES) else DIMS_SEPARATOR.join(SHORT_NAMES[k] for k in chosen)


DEFAULT_DIMS = Dims(ALL_DIMS)


def _dims_of(params: Mapping[str, Any], name: str) -> tuple[str, ...]:
    try:
        return parse_dims(params["dims"])
    except ValueError as err:
        raise ValueError(f"warm start {name}: dims={params['dims']}: {err}") from None


def check_step(params: Mapping[str, Any], name: str = "ohgw") -> None:
    """The parameters of ``ohgw`` and of its control ``random`` (the control computes the same step)."""
    for key, rule in (
        ("steps", "an integer >= 1"),
        ("horizon", "an integer >= 1"),
        ("eta", "a finite number >= 0"),
        ("fd_step", "a number in [0, 0.5)"),
        ("max_step", "a number in (0, 1]"),
        ("normalize", "true or false"),
    ):
        require(name, key, params[key], rule)
    dims = _dims_of(params, name)
    idle = {MOMENTUM: params["horizon"] == 1, AUG_MAGNITUDE: params["fd_step"] == 0}
    if all(idle.get(k, False) for k in dims):
        why = {
            MOMENTUM: "momentum has no hyper-gradient at horizon 1 (use horizon >= 2)",
            AUG_MAGNITUDE: "fd_step=0 leaves the magnitude alone",
        }
        raise ValueError(f"warm start {name}: dims={params['dims']} moves nothing: " + "; ".join(why[k] for k in dims))


@dataclass(frozen=True)
class StepRule:
    """How one hyper-gradient becomes a step Δψ (docs/hyper-gradient.md, "Options of the step")."""

    eta: float
    dims: tuple[str, ...]  # full names of the dimensions that move
    max_step: float  # cap on each |Δψ| as a fraction of its range; 1 caps nothing (see trust_region)
    normalize: bool

    def delta(self, grads: Mapping[str, float], space: SearchSpace) -> dict[str, float]:
        """Δψ for the dimensions of ``grads`` that move (callers pass only computed components);
        before the trust region and the bounds."""
        moving = {k: g for k, g in grads.items() if k in self.dims}
        if not self.normalize:
            return {k: -(self.eta * g) for k, g in moving.items()}
        # steepest descent in z = ψ/range: ∂L/∂z = range·g, a step of length η in z
        ranges = {k: _range(space, k) for k in moving}
        norm = math.hypot(*(ranges[k] * g for k, g in moving.items()))  # hypot: no overflow in squares
        if norm == 0.0:
            return {k: 0.0 for k in moving}
        return {k: -self.eta * ranges[k] * (ranges[k] * g) / norm for k, g in moving.items()}

    def trust_region(self, delta: Mapping[str, float], space: SearchSpace) -> tuple[dict[str, float], list[str]]:
        """Each |Δψ| capped at ``max_step`` of its range; the dimensions it capped. ``max_step=1``
        caps nothing: a longer step leaves the space and the bounds clip it to the same point."""
        if self.max_step >= 1.0:
            return dict(delta), []
        capped = {k: math.copysign(min(abs(d), self.max_step * _range(space, k)), d) for k, d in delta.items()}
        return capped, [k for k in delta if capped[k] != delta[k]]


def _range(space: SearchSpace, name: str) -> float:
    h = space[name]
    return h.high - h.low


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


def _check_dims_in_space(dims: Sequence[str], space: SearchSpace) -> None:
    """A task whose space lacks a selected dimension would silently move nothing there."""
    missing = [k for k in dims if k not in space.names]
    if missing:
        raise ValueError(f"dims names {', '.join(missing)}, not in this task's space ({', '.join(space.names)})")


def ohgw_steps(
    config: Mapping[str, float],
    ctx: WarmStartContext,
    rule: StepRule,
    *,
    steps: int,
    horizon: int,
    fd_step: float,
) -> WarmStartOutcome:
    """Run the OHGW updates. Dimensions outside ``rule.dims`` keep their sampled value, but their
    hyper-gradient is still computed and recorded where it is free: all but the magnitude, whose
    finite difference costs two more lookaheads and runs only when the magnitude moves (the
    lookahead still trains at the sampled magnitude, so the other components are unchanged)."""
    from ohgw_bench.warmstarts.hypergradient import EXACT, FINITE_DIFFERENCE, NOT_COMPUTED, lookahead_hypergradient

    _check_dims_in_space(rule.dims, ctx.space)
    psi = {k: float(config[k]) for k in ctx.space.names}
    grads: dict[str, float | None] = {}
    kinds: dict[str, str] = {}
    clipped = {k: False for k in psi}
    capped: list[str] = []
    notes: list[str] = []
    for step in range(steps):
        train, val, augment = _warm_start_batches(ctx, step, horizon)
        # fd_step=0 leaves the magnitude out of the lookahead, as it always has; a magnitude that
        # dims holds still is trained at, without its finite difference
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
            magnitude_fd=AUG_MAGNITUDE in rule.dims,
        )
        if not hg.finite:
            notes.append(
                f"step {step + 1}: non-finite hyper-gradient (lookahead loss {hg.lookahead_loss:g}); "
                "config left as it was before this step"
            )
            grads = {k: (v if math.isfinite(v) else None) for k, v in hg.values.items()}
            kinds = dict(hg.kinds)
            break
        kinds = dict(hg.kinds)
        grads = {k: (None if kinds[k] == NOT_COMPUTED else v) for k, v in hg.values.items()}
        notes.extend(hg.notes)
        computed = {k: g for k, g in hg.values.items() if kinds.get(k) in (EXACT, FINITE_DIFFERENCE)}
        delta = rule.delta(computed, ctx.space)
        if rule.normalize and not any(g for k, g in computed.items() if k in rule.dims):
            notes.append(f"step {step + 1}: zero hyper-gradient over the moving dimensions, no move")
        delta, step_capped = rule.trust_region(delta, ctx.space)
        capped.extend(k for k in step_capped if k not in capped)
        psi, step_clipped = ctx.space.clip({k: psi[k] + delta[k] if k in delta else psi[k] for k in psi})
        clipped = {k: clipped[k] or step_clipped[k] for k in psi}
    for k in psi:
        kinds.setdefault(k, NOT_COMPUTED)
        grads.setdefault(k, None)
    notes.extend(_option_notes(rule, capped, ctx.space))
    return WarmStartOutcome(psi, grads, kinds, clipped, "; ".join(dict.fromkeys(notes)))


def _option_notes(rule: StepRule, capped: Sequence[str], space: SearchSpace) -> list[str]:
    """What the options did, in words for the record."""
    notes = []
    if set(space.names) - set(rule.dims):
        notes.append(f"only {', '.join(rule.dims)} move (dims)")
    if capped:
        notes.append(f"trust region max_step={rule.max_step:g} capped {', '.join(capped)}")
    return notes


def equal_magnitude_control(
    config: Mapping[str, float], ohgw_used: Mapping[str, float], space: SearchSpace, signs: Mapping[str, float]
) -> tuple[dict[str, float], list[str]]:
    """The control's configuration and the dimensions where it was reflected at a bound.

    Each dimension moves by OHGW's realised |Δψ| = |ohgw_used − config| in the direction ``signs``
    gives (+1 up, −1 down). Where that leaves the space it takes the other sign: OHGW's own move,
    which is inside (OHGW's configuration is), so the realised |Δψ| always equals OHGW's and the
    control is never clipped. Reflection makes the control agree with OHGW's sign more often near a
    bound; the list says where it happened.
    """
    used: dict[str, float] = {}
    reflected: list[str] = []
    for h in space.hyperparameters:
        start, there = float(config[h.name]), float(ohgw_used[h.name])
        delta = there - start
        if delta == 0.0 or math.copysign(1.0, delta) == signs[h.name]:
            used[h.name] = there  # OHGW's own point, exactly: no rounding can push it past a bound
            continue
        mirror = start - delta
        if h.low <= mirror <= h.high:
            used[h.name] = mirror
        else:
            used[h.name] = there
            reflected.append(h.name)
    return used, reflected


@register_warm_start(
    "ohgw",
    "one-shot lookahead hyper-gradient step psi <- psi - eta*dLv/dpsi (steps, horizon, dims, max_step, normalize)",
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
    dims: str = DEFAULT_DIMS,
    max_step: float = 1.0,
    normalize: bool = False,
) -> WarmStartOutcome:
    rule = StepRule(eta, parse_dims(dims), max_step, normalize)
    return ohgw_steps(config, ctx, rule, steps=steps, horizon=horizon, fd_step=fd_step)


@register_warm_start(
    "random",
    "control: the OHGW step's per-dimension magnitude, random signs reflected at the bounds (same compute)",
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
    dims: str = DEFAULT_DIMS,
    max_step: float = 1.0,
    normalize: bool = False,
) -> WarmStartOutcome:
    rule = StepRule(eta, parse_dims(dims), max_step, normalize)
    ohgw = ohgw_steps(config, ctx, rule, steps=steps, horizon=horizon, fd_step=fd_step)
    rng = _random.Random(ctx.seed * 104729 + 3)
    signs = {k: rng.choice((-1.0, 1.0)) for k in ctx.space.names}  # one draw per dimension, moving or not
    used, reflected = equal_magnitude_control(config, ohgw.config_used, ctx.space, signs)
    notes = ["random signs, OHGW's realised magnitudes"]
    if reflected:
        notes.append(f"reflected at a bound: {', '.join(reflected)}")
    if ohgw.note:
        notes.append(ohgw.note)
    return WarmStartOutcome(used, ohgw.hypergrad, ohgw.hypergrad_kind, {k: False for k in used}, "; ".join(notes))
