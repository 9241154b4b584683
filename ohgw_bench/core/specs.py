"""The contracts of the three plugin kinds — tasks, schedulers, warm starts — as frozen records.

Building a spec never imports torch or a scheduler library: a task's heavy parts are methods
that import inside their bodies, and a factory's defaults are read from its signature, so
``ohgw-bench list`` stays light.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ohgw_bench.core.fidelity import Fidelity
from ohgw_bench.core.space import SearchSpace

if TYPE_CHECKING:
    import torch
    from torch import nn

    from ohgw_bench.core.splits import DataSplits

#: The scheduler contract: results carry the epoch as ``RESOURCE_ATTR``; a trial trains up to the
#: epoch in its config's ``MAX_RESOURCE_ATTR`` (pause/resume schedulers rewrite it on each resume).
RESOURCE_ATTR = "epoch"
MAX_RESOURCE_ATTR = "epochs"


@dataclass(frozen=True)
class TaskSpec:
    """A task: data, how a batch becomes model input, the model, the space, the fidelity and τ.

    Subclass it in one file under ``ohgw_bench/tasks/`` and register a factory with
    :func:`ohgw_bench.core.registry.register_task`. The training hot path, the hyper-gradient and
    the warm starts only ever see tensors that these four methods produce:

    * ``load_data()`` → :class:`~ohgw_bench.core.splits.DataSplits` (any input tensor type;
      provenance in ``info``, recorded in meta.json);
    * ``train_inputs(x, magnitude, generator)`` → a float batch ready for the model: the raw
      batch ``x`` augmented at magnitude ``magnitude`` (draws from ``generator`` only) and
      normalised, on ``x``'s device;
    * ``eval_inputs(x)`` → the same without augmentation;
    * ``create_model(num_classes)`` → an ``nn.Module``.

    Two settings say how the task uses a GPU (neither matters on the CPU):

    * ``graphs``: compile the training step into CUDA graphs (:mod:`ohgw_bench.execution.graphs`); a run's
      ``--no-graphs`` turns it off too;
    * ``trials_per_gpu``: how many trials share each visible GPU when a run is given no
      ``--workers`` (a small model leaves most of a GPU idle; docs/performance.md).
    """

    name: str
    description: str
    space: SearchSpace
    max_epochs: int
    target: float
    batch_size: int = 128
    eval_batch_size: int = 1024
    metric: str = "val_acc"
    graphs: bool = True
    trials_per_gpu: int = 1

    @property
    def fidelity(self) -> Fidelity:
        """Epochs 1 to ``max_epochs``, as other tools take a budget (:mod:`ohgw_bench.core.fidelity`)."""
        return Fidelity.epochs(self.max_epochs)

    def load_data(self) -> DataSplits:
        raise NotImplementedError(f"task {self.name} does not define load_data")

    def check_data(self) -> None:
        """Raise :class:`~ohgw_bench.core.errors.DataError` saying what to do if the data cannot be
        loaded; cheap, called before anything is written. Generated or bundled data: nothing to check."""

    def create_model(self, num_classes: int) -> nn.Module:
        raise NotImplementedError(f"task {self.name} does not define create_model")

    def train_inputs(self, x: torch.Tensor, magnitude: float, generator: torch.Generator) -> torch.Tensor:
        raise NotImplementedError(f"task {self.name} does not define train_inputs")

    def eval_inputs(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"task {self.name} does not define eval_inputs")


def keyword_defaults(factory: Callable[..., Any]) -> dict[str, Any]:
    """The keyword-only parameters of ``factory`` and their defaults: a plugin's settings, written once."""
    found = {}
    for p in inspect.signature(factory).parameters.values():
        if p.kind is inspect.Parameter.KEYWORD_ONLY:
            if p.default is inspect.Parameter.empty:
                raise TypeError(f"{factory.__qualname__}: setting {p.name!r} needs a default")
            found[p.name] = p.default
    return found


@dataclass(frozen=True)
class SchedulerSpec:
    """A multi-fidelity scheduler from a real library.

    ``factory(task, config_space, seed, *, setting=default, ...)`` returns a syne-tune
    ``TrialScheduler``; its keyword-only defaults are the settings a plain name gets,
    overridable through the composed name, e.g. ``asha(reduction_factor=2)``.
    """

    name: str
    description: str
    factory: Callable[..., Any]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    engine: str = "syne-tune"
    pauses_trials: bool = False

    def settings(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Every parameter with its default filled in: the one place defaults are merged."""
        return {**self.defaults, **dict(params)}


@dataclass(frozen=True)
class WarmStartSpec:
    """A transform of a sampled config applied inside the trial before it trains.

    ``factory(config, ctx, *, param=default, ...)`` returns a ``WarmStartOutcome``.
    ``computes`` says whether it runs the model (so it has FLOPs, memory and time to count).
    ``check(params)``, given every parameter with its default filled in, raises ValueError for
    values out of range: each warm start checks its own parameters.
    """

    name: str
    description: str
    factory: Callable[..., Any]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    computes: bool = True
    check: Callable[[Mapping[str, Any]], None] | None = None

    def settings(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Every parameter with its default filled in: the one place defaults are merged."""
        return {**self.defaults, **dict(params)}
