"""``blobs-mlp``: a task in one file — 3 Gaussian blobs in 8-D and a small MLP (not image-shaped)."""

from __future__ import annotations

from dataclasses import dataclass

from ohgw_bench.core.registry import register_task
from ohgw_bench.core.space import study_space
from ohgw_bench.core.specs import TaskSpec


@dataclass(frozen=True)
class Blobs(TaskSpec):
    def load_data(self):
        import torch

        from ohgw_bench.core.splits import DataSplits

        g = torch.Generator().manual_seed(0)
        centres = torch.randn(3, 8, generator=g) * 2
        y = torch.arange(600) % 3
        x = centres[y] + torch.randn(600, 8, generator=g)
        return DataSplits(
            x[:400],
            y[:400],
            x[400:500],
            y[400:500],
            x[500:],
            y[500:],
            num_classes=3,
            info={"source": "synthetic blobs"},
        )

    def create_model(self, num_classes):
        from torch import nn

        return nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, num_classes))

    def train_inputs(self, x, magnitude, generator):
        import torch

        return x + magnitude * torch.randn(x.shape, generator=generator, device=x.device)

    def eval_inputs(self, x):
        return x


@register_task
def blobs_mlp() -> TaskSpec:
    return Blobs(
        name="blobs-mlp",
        description="3 Gaussian blobs in 8-D, MLP",
        max_epochs=9,
        target=0.9,
        batch_size=50,
        space=study_space(
            lr=(-3.0, 0.0), wd=(-6.0, -2.0), momentum=(0.0, 0.99), magnitude=(0.0, 1.0), smoothing=(0.0, 0.3)
        ),
    )
