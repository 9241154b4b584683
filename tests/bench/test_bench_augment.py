"""Augmentation benchmarks, side by side in one session (quote the ratios, not the times).

Run:  .venv/bin/python -m pytest tests/bench/test_bench_augment.py --benchmark-only -o addopts=""

1. Throughput per CPU core (torch.set_num_threads(1)) of the batched pipeline
   (ohgw_bench.tasks.data.augment.cifar_augment) vs torchvision's per-image PIL pipeline with the
   same recipe: RandomCrop(32, padding=4), RandomHorizontalFlip, RandAugment(num_ops=2,
   magnitude=9), Cutout 16×16, to a float tensor in [0, 1]. Target: ≥ 10×.
2. Epoch-pipeline efficiency on the CPU, ResNet-20 at batch 128: images/s of
   (augment + normalize + forward/backward/step) ÷ images/s of forward/backward/step on
   pre-made batches. Target: ≥ 0.95.
The figures are printed (and stored in each benchmark's extra_info).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from benchutil import interleaved, report

from ohgw_bench.tasks.data.augment import cifar_augment, normalize

N_IMAGES = 512
BATCH = 128
N_BATCHES = 3
MEAN, STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)


def _images(n: int) -> torch.Tensor:
    return torch.randint(0, 256, (n, 3, 32, 32), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)


def _pil_pipeline():
    import torchvision.transforms as T

    rng = np.random.default_rng(0)

    def cutout(t: torch.Tensor, size: int = 16) -> torch.Tensor:
        h, w = t.shape[1:]
        cy, cx = int(rng.integers(h)), int(rng.integers(w))
        t[:, max(cy - size // 2, 0) : cy + size // 2, max(cx - size // 2, 0) : cx + size // 2] = 0
        return t

    return T.Compose(
        [
            T.RandomCrop(32, padding=4),
            T.RandomHorizontalFlip(),
            T.RandAugment(num_ops=2, magnitude=9),
            T.ToTensor(),
            cutout,
        ]
    )


def test_augment_throughput_batched_vs_torchvision_pil(benchmark, capsys):
    from PIL import Image

    x = _images(N_IMAGES)
    g = torch.Generator().manual_seed(0)
    arrays = x.permute(0, 2, 3, 1).contiguous().numpy()
    tf = _pil_pipeline()

    def batched():
        for _ in range(5):  # 5 calls per round: the batched path is fast
            cifar_augment(x, 9.0, g)

    def batched_128():  # the same 512 images as 4 training batches
        for _ in range(5):
            for chunk in x.split(BATCH):
                cifar_augment(chunk, 9.0, g)

    def pil():
        return torch.stack([tf(Image.fromarray(a)) for a in arrays])

    benchmark.group = "augment throughput, 1 thread, 512 images"
    med = interleaved(benchmark, {"batched": batched, "batched_128": batched_128, "pil": pil}, rounds=8)
    fast, fast128 = 5 * N_IMAGES / med["batched"], 5 * N_IMAGES / med["batched_128"]
    slow = N_IMAGES / med["pil"]
    benchmark.extra_info.update(
        batched_images_per_s=fast,
        batched_128_images_per_s=fast128,
        pil_images_per_s=slow,
        ratio=fast / slow,
        ratio_128=fast128 / slow,
    )
    report(
        capsys,
        [
            f"batched on-device pipeline, 1 call of 512:  {fast:10,.0f} images/s (median, 1 thread)",
            f"batched on-device pipeline, 4 calls of 128: {fast128:10,.0f} images/s (median, 1 thread)",
            f"torchvision per-image PIL pipeline:         {slow:10,.0f} images/s (median, 1 thread)",
            f"batched / PIL = {fast / slow:.1f}x at 512, {fast128 / slow:.1f}x at 128 (target >= 10x)",
        ],
    )


def _train_setup():
    from ohgw_bench.tasks.models.resnet_cifar import resnet20

    torch.manual_seed(0)
    model = resnet20(10)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4, nesterov=True)
    raw = _images(BATCH * N_BATCHES)
    labels = torch.randint(0, 10, (BATCH * N_BATCHES,), generator=torch.Generator().manual_seed(1))

    def step(x, y):
        loss = F.cross_entropy(model(x), y, label_smoothing=0.1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return raw, labels, step


def test_epoch_pipeline_efficiency(benchmark, capsys):
    raw, labels, step = _train_setup()
    g = torch.Generator().manual_seed(0)
    premade = [normalize(cifar_augment(raw[i * BATCH : (i + 1) * BATCH], 9.0, g), MEAN, STD) for i in range(N_BATCHES)]

    def train_only():
        for i in range(N_BATCHES):
            step(premade[i], labels[i * BATCH : (i + 1) * BATCH])

    def augment_and_train():
        for i in range(N_BATCHES):
            x = normalize(cifar_augment(raw[i * BATCH : (i + 1) * BATCH], 9.0, g), MEAN, STD)
            step(x, labels[i * BATCH : (i + 1) * BATCH])

    def augment_only():
        for i in range(N_BATCHES):
            normalize(cifar_augment(raw[i * BATCH : (i + 1) * BATCH], 9.0, g), MEAN, STD)

    benchmark.group = "epoch pipeline, ResNet-20, batch 128, 1 thread"
    med = interleaved(benchmark, {"train": train_only, "full": augment_and_train, "augment": augment_only}, rounds=8)
    n = BATCH * N_BATCHES
    train, full, aug = n / med["train"], n / med["full"], n / med["augment"]
    # The direct ratio carries the step's run-to-run noise (a few % on a shared machine);
    # the ratio from the separately timed parts isolates the input pipeline's share.
    parts = med["train"] / (med["train"] + med["augment"])
    benchmark.extra_info.update(
        train_images_per_s=train,
        full_images_per_s=full,
        augment_images_per_s=aug,
        efficiency=full / train,
        efficiency_from_parts=parts,
    )
    report(
        capsys,
        [
            f"train step on pre-made batches:   {train:8,.0f} images/s (median, 1 thread)",
            f"augment + normalize + train step: {full:8,.0f} images/s (median, 1 thread)",
            f"augment + normalize alone:        {aug:8,.0f} images/s (median, 1 thread)",
            f"pipeline efficiency = {full / train:.3f} measured end to end, "
            f"{parts:.3f} from the parts (target >= 0.95)",
        ],
    )
