"""The training hot path of every task, in one file.

Why it looks like this:
* Data stays on the training device in the task's raw form; each batch is gathered by index
  and turned into model input by the task's ``train_inputs`` (augmentation at magnitude m,
  normalisation) in one batched call, so the input pipeline never dominates a step. This
  file knows nothing of images: evaluation batches go through the task's ``eval_inputs``.
  A sequence task's model returns logits ``[N, C, T]`` for targets ``[N, T]``: the loss, the
  argmax over dim 1 and the accuracy (over ``y.numel()`` predictions) work unchanged.
* Data order and augmentation draws come from generators seeded by (trial seed, epoch):
  for one seed, every warm-start arm trains the same trial index on the same batches
  (common random numbers), and a resumed trial sees exactly the batches it would have.
* The cosine schedule is defined over the task's *maximum* epochs, so a trial stopped at
  epoch r has exactly the prefix of a full run's curve: schedulers compare like with like.
* On CUDA: bf16 autocast and channels_last; on the CPU: plain float32.
* On CUDA the augmentation runs on chunks of many batches: it makes a few host syncs
  and many small kernels per call, which per batch of 128 cost about 40% of an
  H200's epoch (docs/performance.md). Per-sample draws make the chunk size a matter of
  speed only; every arm of a run uses the same one.
* On CUDA the step's forward and backward passes run as CUDA graphs, compiled once per process
  (:mod:`ohgw_bench.execution.graphs`): a ResNet-20 step is launch-bound there. The batches, augmentation
  draws and per-step lr stay the same; the optimizer step stays eager.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ohgw_bench.core.seeding import seeded_generator
from ohgw_bench.core.space import TrainingHparams
from ohgw_bench.core.splits import DataSplits
from ohgw_bench.execution.graphs import GraphedTraining

AUGMENT_CHUNK_BATCHES = {"cuda": 32}  # batches per augmentation call; 1 where not listed


def augmented_batches(
    inputs: torch.Tensor,
    labels: torch.Tensor,
    order: torch.Tensor,
    batch_size: int,
    augment: Callable[[torch.Tensor], torch.Tensor],
    chunk_batches: int = 1,
    channels_last: bool = False,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Training batches in ``order``, augmented ``chunk_batches`` batches per ``augment`` call."""
    chunk = batch_size * chunk_batches
    for start in range(0, len(order), chunk):
        idx = order[start : start + chunk]
        xs, ys = augment(inputs[idx]), labels[idx]
        if channels_last:
            xs = xs.contiguous(memory_format=torch.channels_last)
        for j in range(0, len(idx), batch_size):
            yield xs[j : j + batch_size], ys[j : j + batch_size]


@dataclass(frozen=True)
class EpochResult:
    epoch: int
    train_loss: float
    val_acc: float
    val_loss: float
    test_acc: float
    test_loss: float


class Trainer:
    """SGD with momentum, L2 weight decay, label smoothing and a cosine schedule."""

    def __init__(
        self,
        model: nn.Module,
        data: DataSplits,
        hparams: TrainingHparams,
        *,
        train_inputs: Callable,
        eval_inputs: Callable,
        batch_size: int,
        max_epochs: int,
        seed: int,
        eval_batch_size: int = 1024,
        device: torch.device | str = "cpu",
        graphs: GraphedTraining | None = None,
    ) -> None:
        """``graphs``: train through this process's compiled step, in a module that takes over
        ``model``'s weights (:meth:`GraphedTraining.adopt`); None: eager."""
        self.device = torch.device(device)
        self.cuda = self.device.type == "cuda"
        images = data.train_x.dim() == 4  # channels_last only means something for NCHW inputs
        self.channels_last = self.cuda and images
        # torch's Module.to stubs lack the (device, memory_format=...) form that the runtime accepts.
        self.model = model.to(  # type: ignore[call-overload]
            self.device, memory_format=torch.channels_last if self.channels_last else torch.contiguous_format
        )
        self.graphs = graphs
        if graphs is not None:
            self.model = graphs.adopt(self.model)
        self.compile_seconds = 0.0  # this trainer's share of the process's compilation
        self.data = data
        self.hparams = hparams
        self.train_inputs = train_inputs
        self.eval_inputs = eval_inputs
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size
        self.max_epochs = max_epochs
        self.seed = seed
        self.steps_per_epoch = math.ceil(len(data.train_y) / batch_size)
        self.total_steps = self.steps_per_epoch * max_epochs
        self.optimizer = torch.optim.SGD(
            self.model.parameters(), lr=hparams.lr, momentum=hparams.momentum, weight_decay=hparams.weight_decay
        )
        self.epoch = 0  # epochs completed

    def _lr_at(self, step: int) -> float:
        return self.hparams.lr * 0.5 * (1.0 + math.cos(math.pi * step / self.total_steps))

    def train_epoch(self) -> float:
        epoch = self.epoch + 1
        self.model.train()
        order = torch.randperm(
            len(self.data.train_y), generator=seeded_generator(torch.device("cpu"), self.seed, epoch, 0)
        )
        order = order.to(self.device)
        aug_gen = seeded_generator(self.device, self.seed, epoch, 1)
        total = torch.zeros((), device=self.device)
        batches = augmented_batches(
            self.data.train_x,
            self.data.train_y,
            order,
            self.batch_size,
            lambda raw: self.train_inputs(raw, self.hparams.aug_magnitude, aug_gen),
            AUGMENT_CHUNK_BATCHES.get(self.device.type, 1),
            channels_last=self.channels_last,
        )
        compiled_before = self.graphs.compile_seconds if self.graphs is not None else 0.0
        for step, (x, y) in enumerate(batches):
            for group in self.optimizer.param_groups:
                group["lr"] = self._lr_at((epoch - 1) * self.steps_per_epoch + step)
            if self.graphs is not None:
                total += self.graphs.step(x, y, self.optimizer, self.hparams.label_smoothing)
                continue
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.cuda):
                loss = F.cross_entropy(self.model(x), y, label_smoothing=self.hparams.label_smoothing)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            total += loss.detach()  # no .item() in the loop: keep the device busy
        if self.graphs is not None:
            self.compile_seconds += self.graphs.compile_seconds - compiled_before
        self.epoch = epoch
        return float(total) / self.steps_per_epoch

    @torch.no_grad()
    def evaluate(self, x_all: torch.Tensor, y_all: torch.Tensor) -> tuple[float, float]:
        self.model.eval()
        correct = torch.zeros((), device=self.device)
        loss = torch.zeros((), device=self.device)
        for start in range(0, len(y_all), self.eval_batch_size):
            x = self.eval_inputs(x_all[start : start + self.eval_batch_size])
            y = y_all[start : start + self.eval_batch_size]
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.cuda):
                logits = self.model(x).float()
            loss += F.cross_entropy(logits, y, reduction="sum")
            correct += (logits.argmax(1) == y).sum()
        n = y_all.numel()  # predictions scored: one per example, or one per position for a sequence task
        return float(correct) / n, float(loss) / n

    def run_epoch(self) -> EpochResult:
        train_loss = self.train_epoch()
        val_acc, val_loss = self.evaluate(self.data.val_x, self.data.val_y)
        test_acc, test_loss = self.evaluate(self.data.test_x, self.data.test_y)
        return EpochResult(self.epoch, train_loss, val_acc, val_loss, test_acc, test_loss)

    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(), "epoch": self.epoch}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.epoch = int(state["epoch"])
