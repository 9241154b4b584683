"""The in-memory form every task's data takes: input tensors, int64 labels, fixed splits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass(frozen=True)
class DataSplits:
    """Inputs in whatever raw form the task keeps on the device (uint8 ``[N, C, H, W]`` images for
    CIFAR-10 and digits, float ``[N, 1, L]`` signals for mnist1d); only the task's own
    ``train_inputs``/``eval_inputs`` interpret them. The test split is for reporting only,
    never for decisions. ``info`` carries facts worth recording in meta.json (provenance,
    sizes, realised label-noise rate).
    """

    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    num_classes: int
    info: dict[str, Any] = field(default_factory=dict)

    def to(self, device: torch.device | str) -> DataSplits:
        move = lambda t: t.to(device, non_blocking=True)  # noqa: E731
        return DataSplits(
            move(self.train_x),
            move(self.train_y),
            move(self.val_x),
            move(self.val_y),
            move(self.test_x),
            move(self.test_y),
            self.num_classes,
            dict(self.info),
        )


def stratified_split(labels, fractions: tuple[float, ...], seed: int) -> list:
    """Index arrays, one per fraction, each with (as near as possible) the class mix of ``labels``."""
    import numpy as np

    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    parts: list[list[int]] = [[] for _ in fractions]
    for cls in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == cls))
        bounds = np.round(np.cumsum(fractions) / np.sum(fractions) * len(idx)).astype(int)
        start = 0
        for k, stop in enumerate(bounds):
            parts[k].extend(idx[start:stop].tolist())
            start = stop
    return [np.sort(np.asarray(p, dtype=np.int64)) for p in parts]
