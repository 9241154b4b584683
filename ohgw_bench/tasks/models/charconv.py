"""A small causal dilated 1-D convolutional character model (a WaveNet/TCN-style stack, no
normalisation layers): symbol codes ``[N, T]`` (as floats, the task contract's input type) in,
next-symbol logits ``[N, V, T]`` out, classes on dim 1 as ``cross_entropy`` expects for sequences.
Position t sees inputs 0..t only; kernel 3 with dilations 1, 2, 4, 8, 16 reaches 63 characters back."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class _CausalBlock(nn.Module):
    def __init__(self, width: int, dilation: int, kernel: int = 3) -> None:
        super().__init__()
        self.pad = (kernel - 1) * dilation
        self.conv = nn.Conv1d(width, width, kernel, dilation=dilation)
        self.mix = nn.Conv1d(width, width, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.mix(F.relu(self.conv(F.pad(x, (self.pad, 0)))))


class CharConv(nn.Module):
    def __init__(self, vocab_size: int, width: int = 64, dilations: tuple[int, ...] = (1, 2, 4, 8, 16)) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, width)
        self.blocks = nn.Sequential(*(_CausalBlock(width, d) for d in dilations))
        self.head = nn.Conv1d(width, vocab_size, 1)
        for m in self.modules():
            if isinstance(m, _CausalBlock):  # each block starts as the identity: stable at high lr
                nn.init.zeros_(m.mix.weight)
                nn.init.zeros_(m.mix.bias)  # type: ignore[arg-type]  # Conv1d's bias exists: bias=True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.embed(x.long()).transpose(1, 2)  # [N, width, T]
        return self.head(F.relu(self.blocks(h)))


def charconv(num_classes: int) -> CharConv:
    return CharConv(num_classes)
