"""``digits-cnn``: scikit-learn's 1,797 real 8×8 handwritten digits, a small BatchNorm CNN.

A smoke test: every command of the suite runs on it in seconds, on any laptop or CI.
Target τ = 0.99 validation accuracy (at most 3 of the 360 validation images wrong).
Measured on this project's 2-core CPU machine (other jobs running beside it) with
``ohgw-bench run --task digits-cnn --opt asha --seed S --budget 120s --workers 2`` and the
LocalBackend: plain ASHA first reached 0.99 after 4.4 s, 22.7 s and 16.0 s tuner time
(seeds 0, 1, 2). The best validation accuracy saturates at 0.997-1.0 and 360 validation
images cannot resolve the effects under study: use ``mnist1d-cnn`` for studies.
"""

from __future__ import annotations

from dataclasses import dataclass

from ohgw_bench.core.registry import register_task
from ohgw_bench.core.space import study_space
from ohgw_bench.core.specs import TaskSpec


@dataclass(frozen=True)
class DigitsCNN(TaskSpec):
    def load_data(self):
        from ohgw_bench.tasks.data.digits import load_digits_splits

        return load_digits_splits()

    def create_model(self, num_classes: int):
        from ohgw_bench.tasks.models.small_cnn import small_cnn

        return small_cnn(num_classes)

    def train_inputs(self, x, magnitude, generator):
        from ohgw_bench.tasks.data.augment import normalize
        from ohgw_bench.tasks.data.digits import DIGITS_MEAN, DIGITS_STD, digits_augment

        return normalize(digits_augment(x, magnitude, generator), DIGITS_MEAN, DIGITS_STD)

    def eval_inputs(self, x):
        from ohgw_bench.tasks.data.augment import normalize
        from ohgw_bench.tasks.data.digits import DIGITS_MEAN, DIGITS_STD

        return normalize(x.float() / 255.0, DIGITS_MEAN, DIGITS_STD)


@register_task
def digits_cnn() -> TaskSpec:
    return DigitsCNN(
        name="digits-cnn",
        description="sklearn digits (1,797 real 8x8 images, 60/20/20 split), small BN CNN, 27 epochs, smoke test",
        space=study_space(
            lr=(-3.0, 0.0), wd=(-6.0, -2.0), momentum=(0.0, 0.99), magnitude=(0.0, 1.0), smoothing=(0.0, 0.3)
        ),
        max_epochs=27,
        target=0.99,
        batch_size=64,
    )
