"""CUDA graphs for the training step: compiled once per process, reused by every trial.

Why it looks like this:
* At batch 128 a ResNet-20 step on an H200 is launch-bound (8.9 ms eager against 3.2 ms under
  ``torch.compile(mode="reduce-overhead")``, docs/performance.md), so on CUDA the forward pass and the loss
  are compiled, and AOTAutograd compiles the backward pass with them; each is replayed as a
  CUDA graph.
* Compiling costs seconds, so it is paid once per worker process, not per trial: a process keeps
  one module per (task, architecture, classes, device) (:func:`graphed_training`). Each trial loads
  its own fresh initial weights into that module in place (:meth:`GraphedTraining.adopt`). The
  parameters keep their addresses, and the compiled graph and its guards stay valid.
* Anything that changes between trials or steps is a tensor or stays outside the graph. The
  label smoothing is a 0-dim tensor, since a Python float would be baked into the graph and
  recompile each trial. The optimizer step, with its per-step lr, stays eager.
* Shapes are static (``dynamic=False``): the small last batch of an epoch gets its own graph,
  compiled once per process, rather than a dynamic-shape graph that every step would pay for.
* The first step of each new batch shape is timed, with device syncs, as compile seconds
  (:attr:`GraphedTraining.compile_seconds`); the trial records them in its cost.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class GraphSettings:
    """How the step is compiled: ``backend`` is a ``torch.compile`` backend (a name or a callable),
    ``mode`` its mode (``"reduce-overhead"``: CUDA graphs; None on the CPU, where there are none)."""

    backend: str | Callable[..., Any] = "inductor"
    mode: str | None = "reduce-overhead"


#: what a CUDA device uses unless a task or the run turns graphs off
CUDA_GRAPHS = GraphSettings()


def smoothed_cross_entropy(logits: torch.Tensor, y: torch.Tensor, smoothing: torch.Tensor) -> torch.Tensor:
    """``F.cross_entropy(logits, y, label_smoothing=s)`` with ``s`` a 0-dim tensor, so that a new
    value needs no recompilation: (1 − s)·NLL + s·mean over classes of −log p."""
    logp = F.log_softmax(logits.float(), dim=1)
    nll = -logp.gather(1, y[:, None]).mean()
    uniform = -logp.mean()
    return (1.0 - smoothing) * nll + smoothing * uniform


class GraphedTraining:
    """One process's module for an architecture and its compiled loss, shared by every trial."""

    def __init__(self, settings: GraphSettings) -> None:
        self.settings = settings
        self.module: nn.Module | None = None
        self.compile_seconds = 0.0  # summed over the process's life; trainers take differences
        self._shapes: set[tuple[int, ...]] = set()
        self._smoothing: torch.Tensor | None = None
        self._smoothing_value = 0.0  # the tensor's value, kept on the host: reading it back would sync
        self._loss: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor] | None = None

    def adopt(self, model: nn.Module) -> nn.Module:
        """The module to train in ``model``'s place, holding ``model``'s weights and buffers. The first
        call keeps a copy of ``model`` (already on its device and in its memory format); later calls
        load into it in place, so a new trial reuses the compiled graph."""
        if self.module is None:
            self.module = copy.deepcopy(model)
            self._compile(self.module)
        else:
            self.module.load_state_dict(model.state_dict())
        return self.module

    def _compile(self, module: nn.Module) -> None:
        cuda = next(module.parameters()).device.type == "cuda"

        def loss(x: torch.Tensor, y: torch.Tensor, smoothing: torch.Tensor) -> torch.Tensor:
            with torch.autocast("cuda" if cuda else "cpu", dtype=torch.bfloat16, enabled=cuda):
                logits = module(x)
            return smoothed_cross_entropy(logits, y, smoothing)

        self._loss = torch.compile(loss, backend=self.settings.backend, mode=self.settings.mode, dynamic=False)

    def step(
        self, x: torch.Tensor, y: torch.Tensor, optimizer: torch.optim.Optimizer, smoothing: float
    ) -> torch.Tensor:
        """One SGD step on the adopted module; returns the (detached) loss."""
        if self._loss is None or self.module is None:
            raise RuntimeError("GraphedTraining.step before adopt(): there is no module to train")
        if self._smoothing is None:
            self._smoothing = torch.zeros((), device=x.device)
        if smoothing != self._smoothing_value:  # once per trial, not per step
            self._smoothing.fill_(smoothing)
            self._smoothing_value = smoothing
        new_shape = tuple(x.shape) not in self._shapes
        if new_shape:
            _sync(x.device)
            started = time.perf_counter()
        if self.settings.mode == "reduce-overhead":
            torch.compiler.cudagraph_mark_step_begin()  # last step's graph outputs are dead
        optimizer.zero_grad(set_to_none=True)  # before the forward: no gradient outlives its graph's replay
        loss = self._loss(x, y, self._smoothing)
        loss.backward()
        optimizer.step()
        if new_shape:
            _sync(x.device)
            self.compile_seconds += time.perf_counter() - started
            self._shapes.add(tuple(x.shape))
        return loss.detach()


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


_PROCESS_GRAPHS: dict[Hashable, GraphedTraining] = {}


def graphed_training(key: Hashable, settings: GraphSettings) -> GraphedTraining:
    """This process's :class:`GraphedTraining` for ``key`` (task, architecture, classes, device),
    made on first use: every trial of a worker that trains the same architecture shares it."""
    full_key = (key, settings)
    if full_key not in _PROCESS_GRAPHS:
        _PROCESS_GRAPHS[full_key] = GraphedTraining(settings)
    return _PROCESS_GRAPHS[full_key]
