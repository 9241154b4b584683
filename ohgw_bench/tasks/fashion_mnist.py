"""Fashion-MNIST tasks: ``fashion-mnist-cnn`` and its 10% label-noise variant ``fashion-mnist-cnn-noisy10``.

Data comes from the four official IDX files imported once with ``ohgw-bench data import FOLDER``
(Debian's ``dataset-fashion-mnist`` installs them; nothing downloads at run time): 3,000 train /
4,000 validation from the 60,000 training images and 4,000 test from t10k, stratified with fixed
seeds. A small BN CNN (20,794 parameters) and a batched flip + random affine at magnitude m in [0, 1]
(m = 0: none). A full-fidelity trial costs about 0.8 of an ``mnist1d-cnn`` trial on one CPU thread, so
that a twin table of 128 configurations x 7 arms builds in about 2.5 hours on 2 cores; τ and the epochs
come from a pilot (docs/tasks.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from ohgw_bench.core.registry import register_task
from ohgw_bench.core.space import study_space
from ohgw_bench.core.specs import TaskSpec

_SPACE = study_space(lr=(-3.0, 0.0), wd=(-6.0, -2.0), momentum=(0.0, 0.99), magnitude=(0.0, 1.0), smoothing=(0.0, 0.3))
MAX_EPOCHS = 27


@dataclass(frozen=True)
class FashionMnistTask(TaskSpec):
    """Uint8 ``[N, 1, 28, 28]`` images on the device; augmentation and normalisation as batched ops."""

    label_noise: float = 0.0

    def load_data(self):
        from ohgw_bench.tasks.data.fashion_mnist import load_fashion_mnist

        return load_fashion_mnist(label_noise=self.label_noise)

    def check_data(self) -> None:
        from ohgw_bench.tasks.data.fashion_mnist import require_fashion_mnist

        require_fashion_mnist()

    def create_model(self, num_classes: int):
        from ohgw_bench.tasks.models.small_cnn import fashion_cnn

        return fashion_cnn(num_classes)

    def train_inputs(self, x, magnitude, generator):
        from ohgw_bench.tasks.data.augment import normalize
        from ohgw_bench.tasks.data.fashion_mnist import FASHION_MEAN, FASHION_STD, fashion_augment

        return normalize(fashion_augment(x, magnitude, generator), FASHION_MEAN, FASHION_STD)

    def eval_inputs(self, x):
        from ohgw_bench.tasks.data.augment import normalize
        from ohgw_bench.tasks.data.fashion_mnist import FASHION_MEAN, FASHION_STD

        return normalize(x.float() / 255.0, FASHION_MEAN, FASHION_STD)


@register_task
def fashion_mnist_cnn() -> TaskSpec:
    return FashionMnistTask(
        name="fashion-mnist-cnn",
        description="Fashion-MNIST (official IDX files, 3k/4k/4k), small BN CNN (20.8k params), 27 epochs, CPU",
        space=_SPACE,
        max_epochs=MAX_EPOCHS,
        target=0.82,
    )


@register_task
def fashion_mnist_cnn_noisy10() -> TaskSpec:
    return FashionMnistTask(
        name="fashion-mnist-cnn-noisy10",
        description="Fashion-MNIST with 10% symmetric label noise (train/val), small BN CNN, 27 epochs, CPU",
        space=_SPACE,
        max_epochs=MAX_EPOCHS,
        target=0.73,
        label_noise=0.1,
    )
