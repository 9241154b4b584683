"""``mnist1d-cnn``: MNIST-1D sequences (16k/4k/4k, generated offline by the ``mnist1d`` package) and a
~10k-parameter BatchNorm 1-D CNN: the CPU task where hyperparameters matter.

Sizes: 4,000 validation and 4,000 test examples, so one example is 0.025 pp. An epoch (train on
16k, evaluate 8k) takes 0.72 s on one CPU thread.

τ = 0.975 was set by a pilot of plain ASHA so that the reference study's 30 s budget is about twice
the median time to reach it (the pilot's figures: ``results/mnist1d-cnn/README.md``). The best
validation accuracies span 0.97-0.99 and one-epoch accuracies 0.2-0.8 across the space, so
hyperparameters matter.
"""

from __future__ import annotations

from dataclasses import dataclass

from ohgw_bench.core.registry import register_task
from ohgw_bench.core.space import study_space
from ohgw_bench.core.specs import TaskSpec


@dataclass(frozen=True)
class Mnist1dCNN(TaskSpec):
    """Float ``[N, 1, 40]`` sequences, already standardised by the generator: no normalisation step."""

    def load_data(self):
        from ohgw_bench.tasks.data.mnist1d import load_mnist1d_splits

        return load_mnist1d_splits()

    def create_model(self, num_classes: int):
        from ohgw_bench.tasks.models.cnn1d import cnn1d

        return cnn1d(num_classes)

    def train_inputs(self, x, magnitude, generator):
        from ohgw_bench.tasks.data.mnist1d import mnist1d_augment

        return mnist1d_augment(x, magnitude, generator)

    def eval_inputs(self, x):
        return x


@register_task
def mnist1d_cnn() -> TaskSpec:
    return Mnist1dCNN(
        name="mnist1d-cnn",
        description="MNIST-1D (mnist1d package, 16k/4k/4k), BN 1-D CNN (9.7k params), 27 epochs, CPU",
        space=study_space(
            lr=(-3.0, 0.0), wd=(-6.0, -2.0), momentum=(0.0, 0.99), magnitude=(0.0, 1.0), smoothing=(0.0, 0.3)
        ),
        max_epochs=27,
        target=0.975,
        batch_size=128,
        eval_batch_size=4000,
    )
