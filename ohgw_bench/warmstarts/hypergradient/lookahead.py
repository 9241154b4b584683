"""One-step lookahead hyper-gradients of the validation loss w.r.t. continuous hyperparameters.

Why a lookahead: at the initial weights w0 the training loss does not depend on the
learning rate or momentum at all (their literal gradient is zero), and the derivative of
L + λ‖w‖² w.r.t. log λ is λ‖w‖²·ln10 > 0 — it only ever says "shrink weight decay". What
the warm start needs is how the *next* weights would do, so we differentiate

    g0 = ∇_w L_train(w0; B1, m, ε)          (B1 augmented with magnitude m, labels smoothed by ε)
    w1 = w0 − lr·(g0 + wd·w0)              (SGD, momentum buffer starts at 0)
    L_v = CE(f(w1; B2))                    (B2 un-augmented, plain cross-entropy)

w.r.t. ψ = (log10 lr, log10 wd, momentum, m, ε). Horizon 1 uses an exact first-order form:
with v = ∇_w L_v(w1),
    ∂L_v/∂log10 lr = −ln10·lr·⟨v, g0 + wd·w0⟩
    ∂L_v/∂log10 wd = −ln10·wd·lr·⟨v, w0⟩
    ∂L_v/∂ε        = −lr·⟨v, ∇U − ∇CE⟩       (g0 is linear in ε: g0 = ∇CE + ε(∇U − ∇CE))
so two gradient evaluations at w0 and one at w1 suffice — no second-order graph.
Momentum cannot act before the second step: at horizon 1 it is *structurally* zero and
reported as such. ``horizon >= 2`` unrolls the SGD-with-momentum steps and differentiates
through them (double backward), which gives momentum its signal. The augmentation
magnitude acts through non-differentiable image ops, so it gets a central finite
difference with common random numbers, flagged ``finite_difference``.

The model's weights and BatchNorm buffers are never changed: passes run through
``torch.func.functional_call`` on detached parameters and cloned buffers (BatchNorm in
training mode, i.e. batch statistics, as in the first training steps).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from ohgw_bench.core.space import AUG_MAGNITUDE, LABEL_SMOOTHING, LOG10_LR, LOG10_WD, MOMENTUM

LN10 = math.log(10.0)

EXACT = "exact"
FINITE_DIFFERENCE = "finite_difference"
STRUCTURALLY_ZERO = "structurally_zero"
NOT_COMPUTED = "not_computed"

Batch = tuple[torch.Tensor, torch.Tensor]
# augment(raw_inputs, magnitude) -> model inputs; must be deterministic for a given batch
# (the caller fixes its random draws), so that a finite difference in m compares like with like.
AugmentFn = Callable[[torch.Tensor, float], torch.Tensor]


@dataclass(frozen=True)
class HyperGradient:
    """∂L_v/∂ψ per coordinate, with how each component was obtained."""

    values: dict[str, float]
    kinds: dict[str, str]
    lookahead_loss: float
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def finite(self) -> bool:
        return all(math.isfinite(v) for v in self.values.values()) and math.isfinite(self.lookahead_loss)


def _ce_and_uniform(logits: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy CE and the uniform-target loss U; label smoothing ε trains on (1−ε)·CE + ε·U."""
    logp = F.log_softmax(logits.float() if logits.dtype == torch.bfloat16 else logits, dim=1)
    return F.nll_loss(logp, y), -logp.mean(dim=1).mean()


def _smoothed_ce(logits: torch.Tensor, y: torch.Tensor, eps) -> torch.Tensor:
    ce, uniform = _ce_and_uniform(logits, y)
    return (1.0 - eps) * ce + eps * uniform


class _Functional:
    """Calls ``model`` with given weights and private copies of its buffers, in train mode."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.names = [n for n, _ in model.named_parameters()]
        self.w0 = [p.detach() for _, p in model.named_parameters()]
        self._buffers = {n: b.detach() for n, b in model.named_buffers()}

    def __call__(self, weights: Sequence[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        buffers = {n: b.clone() for n, b in self._buffers.items()}  # BN running stats stay untouched
        return functional_call(self.model, ({**dict(zip(self.names, weights, strict=True)), **buffers}), (x,))


def _dot(a: Sequence[torch.Tensor], b: Sequence[torch.Tensor]) -> torch.Tensor:
    # sum() returns its start value 0 only for no terms; a model's weight list is never empty.
    return cast(torch.Tensor, sum((x * y).sum() for x, y in zip(a, b, strict=True)))


def _gradients_at_w0(f: _Functional, x1: torch.Tensor, y1: torch.Tensor, eps: float, want_eps: bool):
    """g0 and, for ε, ∇U − ∇CE — in their own frame so that B1's graph is freed on return
    (keeping it alive through the lookahead pass would hold two graphs' activations at once)."""
    w0 = [w.detach().requires_grad_(True) for w in f.w0]
    ce, uniform = _ce_and_uniform(f(w0, x1), y1)
    if not want_eps:
        return torch.autograd.grad((1.0 - eps) * ce + eps * uniform, w0), None
    g_ce = torch.autograd.grad(ce, w0, retain_graph=True)
    g_u = torch.autograd.grad(uniform, w0)
    g0 = [(1.0 - eps) * a + eps * b for a, b in zip(g_ce, g_u, strict=True)]
    return g0, [b - a for a, b in zip(g_ce, g_u, strict=True)]


def _horizon1(
    f: _Functional,
    x1: torch.Tensor,
    y1: torch.Tensor,
    x2: torch.Tensor,
    y2: torch.Tensor,
    lr: float,
    wd: float,
    eps: float,
    want_eps: bool,
) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Exact first-order hyper-gradient at horizon 1 (see module docstring)."""
    g0, eps_direction = _gradients_at_w0(f, x1, y1, eps, want_eps)
    direction = [g + wd * w for g, w in zip(g0, f.w0, strict=True)]  # d = g0 + wd·w0; w1 = w0 − lr·d
    del g0
    w1 = [(w - lr * d).detach().requires_grad_(True) for w, d in zip(f.w0, direction, strict=True)]
    loss_v = F.cross_entropy(f(w1, x2), y2)
    v = torch.autograd.grad(loss_v, w1)
    grads = {
        LOG10_LR: -LN10 * lr * _dot(v, direction),
        LOG10_WD: -LN10 * wd * lr * _dot(v, f.w0),
    }
    if want_eps:
        grads[LABEL_SMOOTHING] = -lr * _dot(v, eps_direction)
    return grads, loss_v.detach()


def _unrolled(
    f: _Functional, train_inputs: Sequence[Batch], x2: torch.Tensor, y2: torch.Tensor, psi: Mapping[str, float]
) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Differentiate through ``len(train_inputs)`` SGD-with-momentum steps (double backward)."""
    coords = {
        k: torch.tensor(
            float(v), dtype=x2.dtype if x2.is_floating_point() else torch.float32, device=x2.device, requires_grad=True
        )
        for k, v in psi.items()
    }
    lr = 10.0 ** coords[LOG10_LR]
    wd = 10.0 ** coords[LOG10_WD]
    mom = coords[MOMENTUM]
    eps = coords[LABEL_SMOOTHING]
    w = _sgd_lookahead(f, train_inputs, lr, wd, mom, eps, differentiable=True)
    loss_v = F.cross_entropy(f(w, x2), y2)
    names = [LOG10_LR, LOG10_WD, MOMENTUM, LABEL_SMOOTHING]
    grads = torch.autograd.grad(loss_v, [coords[n] for n in names], allow_unused=True)
    return {n: (g if g is not None else torch.zeros(())) for n, g in zip(names, grads, strict=True)}, loss_v.detach()


def lookahead_hypergradient(
    model: nn.Module,
    train_batches: Sequence[Batch],
    val_batch: Batch,
    config: Mapping[str, float],
    *,
    augment: AugmentFn | None = None,
    horizon: int = 1,
    fd_step: float = 0.05,
    magnitude_bounds: tuple[float, float] = (-math.inf, math.inf),
    exact_first_order: bool = True,
    magnitude_fd: bool = True,
) -> HyperGradient:
    """Hyper-gradient of the lookahead validation loss for every coordinate in ``config``.

    Args:
        model: the network at its initial weights w0; never modified.
        train_batches: ``horizon`` batches (B1, B1', ...) of *raw* inputs if ``augment``
            is given (it is applied with the config's magnitude), else model-ready inputs.
        val_batch: B2, model-ready and un-augmented.
        config: search-space coordinates: log10_lr, log10_wd, momentum, label_smoothing and
            optionally aug_magnitude (needs ``augment``).
        horizon: 1 = exact first-order form (momentum structurally zero); ≥ 2 unrolls.
        fd_step: finite-difference step on the magnitude, in search-space units.
        magnitude_bounds: the magnitude's range; the difference turns one-sided at a bound
            (augmentations clamp their magnitude, so stepping outside would measure nothing).
        exact_first_order: False forces the double-backward formulation at horizon 1
            (the reference used by tests and benchmarks).
        magnitude_fd: False trains the lookahead at the config's magnitude but skips its finite
            difference (two more lookaheads), for a caller that will not move the magnitude;
            its component is then ``not_computed``.

    Returns a :class:`HyperGradient`; non-finite values are returned as they are and
    flagged by ``.finite`` so that callers decide (the warm start then leaves ψ unchanged).
    """
    if horizon < 1 or len(train_batches) < horizon:
        raise ValueError(f"horizon {horizon} needs that many training batches, got {len(train_batches)}")
    f = _Functional(model)
    was_training = model.training
    model.train()
    try:
        lr, wd = 10.0 ** float(config[LOG10_LR]), 10.0 ** float(config[LOG10_WD])
        eps = float(config.get(LABEL_SMOOTHING, 0.0))
        magnitude = float(config.get(AUG_MAGNITUDE, 0.0))
        x2, y2 = val_batch

        def prepared(m: float) -> list[Batch]:
            return [((augment(x, m) if augment is not None else x), y) for x, y in train_batches[:horizon]]

        batches = prepared(magnitude)
        if horizon == 1 and exact_first_order:
            ((x1, y1),) = batches
            grads, loss_v = _horizon1(f, x1, y1, x2, y2, lr, wd, eps, want_eps=LABEL_SMOOTHING in config)
            kinds = {LOG10_LR: EXACT, LOG10_WD: EXACT, MOMENTUM: STRUCTURALLY_ZERO}
            grads[MOMENTUM] = torch.zeros(())
        else:
            psi = {k: float(config.get(k, 0.0)) for k in (LOG10_LR, LOG10_WD, MOMENTUM, LABEL_SMOOTHING)}
            grads, loss_v = _unrolled(f, batches, x2, y2, psi)
            kinds = {LOG10_LR: EXACT, LOG10_WD: EXACT, MOMENTUM: STRUCTURALLY_ZERO if horizon == 1 else EXACT}
        kinds[LABEL_SMOOTHING] = EXACT if LABEL_SMOOTHING in config else NOT_COMPUTED
        if MOMENTUM not in config:
            kinds[MOMENTUM] = NOT_COMPUTED

        notes: list[str] = []
        if AUG_MAGNITUDE in config and augment is not None and not magnitude_fd:
            kinds[AUG_MAGNITUDE] = NOT_COMPUTED
            notes.append(f"aug_magnitude held at {magnitude:g}: no finite difference")
        elif AUG_MAGNITUDE in config and augment is not None:
            low, high = magnitude_bounds
            m_plus, m_minus = min(magnitude + fd_step, high), max(magnitude - fd_step, low)
            plus = _lookahead_loss(f, prepared(m_plus), x2, y2, config)
            minus = _lookahead_loss(f, prepared(m_minus), x2, y2, config)
            grads[AUG_MAGNITUDE] = (plus - minus) / (m_plus - m_minus)
            kinds[AUG_MAGNITUDE] = FINITE_DIFFERENCE
            # decided by the bounds, not by float equality of the two half-steps (0.35 - 0.3 != 0.3 - 0.25)
            sided = "central" if low <= magnitude - fd_step and magnitude + fd_step <= high else "one-sided"
            notes.append(f"aug_magnitude by {sided} finite difference, step {fd_step:g}")
        elif AUG_MAGNITUDE in config:
            kinds[AUG_MAGNITUDE] = NOT_COMPUTED
            notes.append("aug_magnitude not computed: no augment function given")

        values = {
            k: (_to_float(grads[k]) if kinds[k] in (EXACT, FINITE_DIFFERENCE) else 0.0) for k in config if k in kinds
        }
        return HyperGradient(values, {k: kinds[k] for k in values}, _to_float(loss_v), tuple(notes))
    finally:
        model.train(was_training)


def _lookahead_loss(
    f: _Functional, batches: Sequence[Batch], x2: torch.Tensor, y2: torch.Tensor, config: Mapping[str, float]
) -> torch.Tensor:
    """L_v after the same SGD-with-momentum lookahead steps (used for finite differences)."""
    lr, wd = 10.0 ** float(config[LOG10_LR]), 10.0 ** float(config[LOG10_WD])
    mom, eps = float(config.get(MOMENTUM, 0.0)), float(config.get(LABEL_SMOOTHING, 0.0))
    w = _sgd_lookahead(f, batches, lr, wd, mom, eps, differentiable=False)
    with torch.no_grad():
        return F.cross_entropy(f(w, x2), y2)


def _sgd_lookahead(
    f: _Functional, batches: Sequence[Batch], lr, wd, mom, eps, differentiable: bool
) -> list[torch.Tensor]:
    """The weights after SGD-with-momentum steps from w0 (momentum buffer starting at 0), one
    per batch. ``differentiable`` keeps the graph through the steps (double backward), so the
    result can be differentiated w.r.t. tensor-valued hyperparameters; otherwise each step
    keeps no graph."""
    w, buf = [w.detach().requires_grad_(True) for w in f.w0], None
    for x, y in batches:
        g = torch.autograd.grad(_smoothed_ce(f(w, x), y, eps), w, create_graph=differentiable)
        with contextlib.nullcontext() if differentiable else torch.no_grad():
            d = [gi + wd * wi for gi, wi in zip(g, w, strict=True)]
            buf = d if buf is None else [mom * b + di for b, di in zip(buf, d, strict=True)]
            w = [wi - lr * bi for wi, bi in zip(w, buf, strict=True)]
        if not differentiable:
            w = [wi.requires_grad_(True) for wi in w]
    return w


def _to_float(t: torch.Tensor) -> float:
    # Meta tensors (used to count FLOPs without computing) carry no values.
    return math.nan if t.device.type == "meta" else float(t)
