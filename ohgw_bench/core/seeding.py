"""Seeded random generators: every draw of a trial (batch order, augmentation, warm-start batches)
comes from a generator seeded by the trial seed and a few labels, so arms share random numbers."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def seeded_generator(device: torch.device, *parts: int) -> torch.Generator:
    import torch

    seed = 0
    for p in parts:  # a simple, stable mix of the parts into one 63-bit seed
        seed = (seed * 1_000_003 + int(p) + 1) % (2**63 - 1)
    if device.type == "meta":  # FLOP counting on meta tensors: draws are never made
        device = torch.device("cpu")
    return torch.Generator(device=device).manual_seed(seed)
