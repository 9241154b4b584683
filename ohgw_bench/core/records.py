"""Records that cross a boundary (worker → runner → trajectory → table → analysis), frozen and
serialised from their fields."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EpochRecord:
    epoch: int
    val_acc: float
    val_loss: float
    test_acc: float
    train_loss: float
    trial_seconds: float  # cumulative: warm start + training + evaluation so far
    trial_flops: float  # cumulative
