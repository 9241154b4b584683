"""Aggregate training throughput of K trial processes sharing one device, eager and with graphs.

Each child process is a stand-in for a warm worker: it builds the data on the device and
a Trainer (eager) plus a Trainer with this process's compiled step (graphs), warms both up
(the graphs' compilation and capture happen here), and then trains in two timed windows that
start together in every child (a barrier): eager first, then graphs. The aggregate is the sum
of each child's images/s over its window. Children are started with ``spawn`` (fresh CUDA state);
if one dies or time runs out, the parent says so at once and ends the others.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import time
from typing import Any

MODES = ("eager", "graphs")


def _child(
    rank: int,
    k: int,
    seconds: float,
    device: str,
    n_images: int,
    arch: str,
    barrier: Any,
    results: Any,
    timeout: float,
) -> None:
    import torch

    from ohgw_bench.core.space import TrainingHparams
    from ohgw_bench.core.splits import DataSplits
    from ohgw_bench.execution.graphs import CUDA_GRAPHS, GraphedTraining, GraphSettings
    from ohgw_bench.execution.train import Trainer
    from ohgw_bench.tasks.data.augment import cifar_augment, normalize
    from ohgw_bench.tasks.data.cifar10 import CIFAR10_MEAN, CIFAR10_STD
    from ohgw_bench.tasks.models import resnet_cifar

    torch.set_num_threads(max(1, (os.cpu_count() or 1) // k))
    dev = torch.device(device)
    g = torch.Generator().manual_seed(rank)
    x = torch.randint(0, 256, (n_images, 3, 32, 32), dtype=torch.uint8, generator=g).to(dev)
    y = torch.randint(0, 10, (n_images,), generator=g).to(dev)
    data = DataSplits(x, y, x[:256], y[:256], x[:256], y[:256], 10)
    hparams = TrainingHparams(lr=0.05, weight_decay=5e-4, momentum=0.9, aug_magnitude=9.0, label_smoothing=0.1)
    settings = CUDA_GRAPHS if dev.type == "cuda" else GraphSettings(backend="aot_eager", mode=None)

    def trainer(graphs: GraphedTraining | None) -> Trainer:
        return Trainer(
            getattr(resnet_cifar, arch)(10),
            data,
            hparams,
            train_inputs=lambda r, m, gen: normalize(cifar_augment(r, m, gen), CIFAR10_MEAN, CIFAR10_STD),
            eval_inputs=lambda r: normalize(r.float() / 255.0, CIFAR10_MEAN, CIFAR10_STD),
            batch_size=128,
            max_epochs=10_000,
            seed=rank,
            device=dev,
            graphs=graphs,
        )

    trainers = {"eager": trainer(None), "graphs": trainer(GraphedTraining(settings))}
    for t in trainers.values():
        t.train_epoch()  # warm-up: cuDNN choices; compilation and graph capture for "graphs"
    out: dict[str, Any] = {"rank": rank, "compile_seconds": trainers["graphs"].compile_seconds}
    for mode in MODES:
        barrier.wait(timeout=timeout)
        images, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            trainers[mode].train_epoch()  # ends with a host read of the loss: the work is done
            images += n_images
        out[mode] = images / (time.perf_counter() - started)
    results.put(out)


def measure_packed(
    k: int,
    seconds: float = 4.0,
    device: str = "cuda",
    n_images: int = 12_800,
    arch: str = "resnet20",
    timeout: float = 240.0,
) -> dict[str, Any]:
    """Images/s summed over ``k`` concurrent trial processes, per mode, and each child's figures."""
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(k)
    results = ctx.Queue()
    children = [
        ctx.Process(target=_child, args=(r, k, seconds, device, n_images, arch, barrier, results, timeout), daemon=True)
        for r in range(k)
    ]
    for c in children:
        c.start()
    try:
        deadline = time.monotonic() + timeout
        per_child: list[dict[str, Any]] = []
        while len(per_child) < k:
            try:
                per_child.append(results.get(timeout=1.0))
            except queue.Empty:
                dead = [c.exitcode for c in children if c.exitcode not in (0, None)]
                if dead:
                    raise RuntimeError(f"{len(dead)} of {k} children failed (exit codes {dead})") from None
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"{k - len(per_child)} of {k} children sent no result in {timeout:.0f} s"
                    ) from None
        for c in children:
            c.join(timeout=30)
    finally:
        for c in children:
            if c.is_alive():
                c.terminate()
                c.join()
    return {
        "k": k,
        **{f"{mode}_images_per_s": sum(c[mode] for c in per_child) for mode in MODES},
        "per_trial": sorted(per_child, key=lambda c: c["rank"]),
        "compile_seconds_max": max(c["compile_seconds"] for c in per_child),
    }
