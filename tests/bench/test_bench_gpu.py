"""GPU figures (skipped without CUDA): CIFAR-10 epochs, input-pipeline efficiency, OHGW's cost.

Run on a CUDA machine:  make bench   (or .venv/bin/python -m pytest tests/bench/test_bench_gpu.py
--benchmark-only -o addopts="")

1. A real ``cifar10-resnet20`` trial (``run_trial``: cache → device-resident data, OHGW warm
   start, bf16/channels_last training, checkpoint per epoch) on a full-size CIFAR-10 stand-in
   written in the official on-disk format (50,000 + 10,000 images, 45k/5k/10k split). Its
   images are a noisy class template, so the content is synthetic but the epoch's work is the
   real one, and a rising validation accuracy shows that bf16 training learns.
2. Pipeline efficiency on the GPU: images/s of augment + normalize + bf16 step ÷ bf16 step on
   pre-made batches, ResNet-20 and ResNet-50 at batch 128, augmenting in the Trainer's chunks
   and, for comparison, batch by batch.
3. OHGW vs a training step on the GPU: time and ``cuda.max_memory_allocated`` ratios.
"""

from __future__ import annotations

import pickle
import statistics
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from benchutil import interleaved, report

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

BATCH = 128
MEAN, STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)


def _synced(fn):
    def run():
        fn()
        torch.cuda.synchronize()

    return run


def _write_cifar_stand_in(root: Path) -> Path:
    """Full-size CIFAR-10 in the official pickle format: each image is its class's fixed random
    template plus noise, so a network can learn it (content synthetic, sizes and format real).
    The templates are 4×4 colour blocks of 8×8 pixels, so crops and flips don't erase them."""
    rng = np.random.default_rng(0)
    blocks = rng.integers(0, 256, (10, 3, 4, 4)).astype(np.int16)
    templates = blocks.repeat(8, axis=2).repeat(8, axis=3).reshape(10, 3072)  # channel planes, as CIFAR's rows
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)

    def batch(name: str, n: int) -> bytes:
        labels = rng.integers(0, 10, n)
        noise = rng.integers(-96, 97, (n, 3072), dtype=np.int16)
        data = np.clip(templates[labels] // 2 + 64 + noise, 0, 255).astype(np.uint8)
        return pickle.dumps(
            {b"batch_label": name.encode(), b"labels": labels.tolist(), b"data": data, b"filenames": [b"x.png"] * n},
            protocol=2,
        )

    for i in range(1, 6):
        (folder / f"data_batch_{i}").write_bytes(batch(f"training batch {i} of 5", 10_000))
    (folder / "test_batch").write_bytes(batch("testing batch 1 of 1", 10_000))
    meta = {b"num_cases_per_batch": 10_000, b"label_names": [f"c{i}".encode() for i in range(10)], b"num_vis": 3072}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    return folder


def test_cifar10_resnet20_trial_epochs_on_gpu(benchmark, capsys, tmp_path, monkeypatch):
    from ohgw_bench.data.cifar10 import import_cifar10
    from ohgw_bench.data.store import DATA_ENV
    from ohgw_bench.registry import get_task, get_warm_start
    from ohgw_bench.trial import CHECKPOINT, TrialSetup, run_trial

    data_dir = tmp_path / "data"
    import_cifar10(_write_cifar_stand_in(tmp_path), data_dir, verify_md5=False)
    monkeypatch.setenv(DATA_ENV, str(data_dir))
    task = get_task("cifar10-resnet20")
    config = {"log10_lr": -1.0, "log10_wd": -3.3, "momentum": 0.9, "aug_magnitude": 9.0, "label_smoothing": 0.1}
    epochs = 4
    setup = TrialSetup("ohgw", get_warm_start("ohgw").defaults, seed=0, max_epoch=epochs)
    reports: list[dict] = []
    benchmark.group = "cifar10-resnet20 trial on the GPU"
    benchmark.pedantic(
        lambda: run_trial(
            task, config, setup, tmp_path / "trial", lambda **r: reports.append(r), device=torch.device("cuda")
        ),
        rounds=1,
        iterations=1,
    )
    assert [r["epoch"] for r in reports] == list(range(1, epochs + 1))
    seconds = [b["trial_seconds"] - a["trial_seconds"] for a, b in zip(reports, reports[1:], strict=False)]
    epoch_s = statistics.median(seconds)  # epochs 2.. (epoch 1 carries start-up and autotuning)
    n_train = 45_000
    ws = torch.load(tmp_path / "trial" / CHECKPOINT, weights_only=False)["record"]["warm_start"]
    mem_ratio = ws["peak_mem_bytes"] / ws["train_step_peak_mem_bytes"]
    benchmark.extra_info.update(
        epoch_seconds=epoch_s,
        images_per_s=n_train / epoch_s,
        warm_start_seconds=ws["seconds"],
        warm_start_mem_ratio=mem_ratio,
        val_acc=[r["val_acc"] for r in reports],
    )
    first = reports[0]["trial_seconds"]
    report(
        capsys,
        [
            f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}",
            f"trial start to first report (data to GPU, warm start, epoch 1): {first:.2f} s",
            f"steady epoch (train 45k + eval 15k): {epoch_s:.2f} s = {1 / epoch_s:.3f} epochs/s, "
            f"{n_train / epoch_s:,.0f} train images/s",
            f"OHGW warm start: {ws['seconds'] * 1e3:.0f} ms, "
            f"peak CUDA memory {ws['peak_mem_bytes'] / 2**20:.0f} MiB = {mem_ratio:.2f}x epoch 1's peak",
            "val_acc per epoch (bf16 learns the stand-in; chance 0.1): "
            + ", ".join(f"{r['val_acc']:.3f}" for r in reports),
        ],
    )
    assert reports[-1]["val_acc"] > 0.3  # chance is 0.1: bf16 training on the GPU learns


@pytest.mark.parametrize("arch, n_batches", [("resnet20", 64), ("resnet50", 32)])
def test_gpu_pipeline_efficiency(benchmark, capsys, arch, n_batches):
    from ohgw_bench.data.augment import cifar_augment, normalize
    from ohgw_bench.models import resnet_cifar
    from ohgw_bench.train import AUGMENT_CHUNK_BATCHES, augmented_batches

    torch.manual_seed(0)
    dev = torch.device("cuda")
    model = getattr(resnet_cifar, arch)(10).to(dev, memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    raw = torch.randint(0, 256, (n_batches * BATCH, 3, 32, 32), dtype=torch.uint8, device=dev)
    labels = torch.randint(0, 10, (n_batches * BATCH,), device=dev)
    order = torch.arange(n_batches * BATCH, device=dev)
    g = torch.Generator(device=dev).manual_seed(0)
    chunk = AUGMENT_CHUNK_BATCHES["cuda"]

    def batches(chunk_batches: int):
        return augmented_batches(
            raw,
            labels,
            order,
            BATCH,
            lambda r: normalize(cifar_augment(r, 9.0, g), MEAN, STD),
            chunk_batches,
            channels_last=True,
        )

    premade = list(batches(chunk))

    def step(x, y):
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = F.cross_entropy(model(x), y, label_smoothing=0.1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    variants = {
        "train": _synced(lambda: [step(x, y) for x, y in premade]),
        "full": _synced(lambda: [step(x, y) for x, y in batches(chunk)]),
        "full_per_batch": _synced(lambda: [step(x, y) for x, y in batches(1)]),
        "augment": _synced(lambda: list(batches(chunk))),
        "augment_per_batch": _synced(lambda: list(batches(1))),
    }
    benchmark.group = f"GPU epoch pipeline, {arch}, batch 128, bf16"
    med = interleaved(benchmark, variants, rounds=5, warmup=2)
    ips = {k: n_batches * BATCH / v for k, v in med.items()}
    benchmark.extra_info.update({f"{k}_images_per_s": v for k, v in ips.items()})
    benchmark.extra_info.update(
        efficiency=ips["full"] / ips["train"], efficiency_per_batch=ips["full_per_batch"] / ips["train"]
    )
    report(
        capsys,
        [f"{arch} on {torch.cuda.get_device_name()}, images/s:"]
        + [f"{k:<18} {v:9,.0f}" for k, v in ips.items()]
        + [
            f"pipeline efficiency = {ips['full'] / ips['train']:.3f} augmenting {chunk} batches per call, "
            f"{ips['full_per_batch'] / ips['train']:.3f} per batch (target >= 0.95)"
        ],
    )
    assert 0 < ips["full"] / ips["train"] < 1.5


def test_ohgw_vs_training_step_on_gpu(benchmark, capsys):
    from test_bench_hypergrad import _setup

    from ohgw_bench.accounting import measure

    variants = {name: _synced(fn) for name, fn in _setup("cuda").items()}
    benchmark.group = "OHGW vs training step, ResNet-20, batch 128, GPU"
    med = interleaved(benchmark, variants, rounds=20, warmup=3)
    peaks = {name: measure(fn, torch.device("cuda")).peak_mem_bytes for name, fn in variants.items()}
    lines = [f"{torch.cuda.get_device_name()}: time and peak CUDA memory (above the resident tensors)"]
    for base in ("train_step", "train_step_bf16"):
        for name in variants:
            if not name.startswith("train_step"):
                lines.append(
                    f"{name:<24} / {base:<16} time {med[name] / med[base]:5.2f}x   "
                    f"memory {peaks[name] / peaks[base]:5.2f}x"
                )
    lines += [f"{name:<24} {med[name] * 1e3:7.2f} ms {peaks[name] / 2**20:8.1f} MiB" for name in variants]
    benchmark.extra_info.update({f"{k}_seconds": v for k, v in med.items()})
    benchmark.extra_info.update({f"{k}_peak_bytes": v for k, v in peaks.items()})
    report(capsys, lines)
    assert all(p > 0 for p in peaks.values())
