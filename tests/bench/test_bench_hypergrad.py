"""OHGW's cost against a normal training step, side by side (quote ratios, not times).

Run:  make bench   (or .venv/bin/python -m pytest tests/bench/test_bench_hypergrad.py --benchmark-only -o addopts="")

ResNet-20 (0.27M parameters), batch 128, CIFAR-shaped inputs, one thread:
* time: one SGD training step vs one OHGW warm start, exact first-order form (the default,
  horizon 1), vs the double-backward formulation of the same quantity, vs OHGW with the
  augmentation magnitude's finite difference (two extra lookaheads). Target ≤ 2.2× a step.
* peak memory: each measured in a fresh process (VmHWM above the resident size before;
  see ohgw_bench.execution.accounting). Target ≤ 1.1× a step.
* share: the warm start's share of compute and FLOPs in a real default digits-cnn ASHA run.
* horizon: the cost of ``horizon=k`` (k-step unrolled lookahead, double backward) for k = 1..4,
  time and peak memory, against a training step and the default exact first-order horizon 1.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import torch
import torch.nn.functional as F
from benchutil import interleaved, report

from ohgw_bench.warmstarts.hypergradient import lookahead_hypergradient

BATCH = 128
CONFIG = {"log10_lr": -1.0, "log10_wd": -3.5, "momentum": 0.9, "label_smoothing": 0.1}


def _step_fn(model, x, y, bf16: bool = False):
    """One SGD step; ``bf16`` makes it the Trainer's CUDA step (autocast, channels_last)."""
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=3e-4)
    if bf16:
        model, x = model.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)

    def step():
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=bf16):
            loss = F.cross_entropy(model(x), y, label_smoothing=0.1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def _setup(device: str = "cpu"):
    """The variants on ``device``; on CUDA also the bf16 step (the hyper-gradient is float32)."""
    from ohgw_bench.tasks.data.augment import cifar_augment, normalize
    from ohgw_bench.tasks.models.resnet_cifar import resnet20

    torch.manual_seed(0)
    model = resnet20(10).to(device)
    g = torch.Generator().manual_seed(0)
    raw = torch.randint(0, 256, (BATCH, 3, 32, 32), generator=g, dtype=torch.uint8).to(device)
    x1 = torch.randn(BATCH, 3, 32, 32, generator=g).to(device)
    x2 = torch.randn(BATCH, 3, 32, 32, generator=g).to(device)
    y = torch.randint(0, 10, (BATCH,), generator=g).to(device)
    mean, std = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)

    def augment(x_raw, m):
        return normalize(cifar_augment(x_raw, m, torch.Generator(device=device).manual_seed(1)), mean, std)

    variants = {
        "train_step": _step_fn(model, x1, y),
        "ohgw": lambda: lookahead_hypergradient(model, [(x1, y)], (x2, y), CONFIG),
        "ohgw_double_backward": lambda: lookahead_hypergradient(
            model, [(x1, y)], (x2, y), CONFIG, exact_first_order=False
        ),
        "ohgw_with_magnitude_fd": lambda: lookahead_hypergradient(
            model,
            [(raw, y)],
            (x2, y),
            {**CONFIG, "aug_magnitude": 9.0},
            augment=augment,
            fd_step=1.5,
            magnitude_bounds=(0.0, 30.0),
        ),
    }
    if torch.device(device).type == "cuda":
        variants["train_step_bf16"] = _step_fn(copy.deepcopy(model), x1, y, bf16=True)
    return variants


def test_warm_start_time_vs_training_step(benchmark, capsys):
    variants = _setup()
    benchmark.group = "OHGW vs training step, ResNet-20, batch 128, 1 thread"
    med = interleaved(benchmark, variants, rounds=6)
    base = med["train_step"]
    ratios = {k: v / base for k, v in med.items()}
    benchmark.extra_info.update({f"{k}_seconds": v for k, v in med.items()})
    benchmark.extra_info.update({f"{k}_ratio": v for k, v in ratios.items()})
    report(
        capsys,
        [f"{k:<24} {med[k] * 1e3:8.1f} ms  = {ratios[k]:.2f}x a training step" for k in med]
        + ["target: ohgw <= 2.2x (floor ~2x: two forward/backward passes)"],
    )


_PEAK_SCRIPT = r"""
import json, sys, torch
sys.path.insert(0, {bench_dir!r})
torch.set_num_threads(1)
from test_bench_hypergrad import {setup}
from ohgw_bench.execution.accounting import cpu_peak_measurable, measure
variants = {setup}()
assert cpu_peak_measurable(), "no /proc/self/clear_refs"
m = measure(variants[{name!r}], torch.device("cpu"))
print(json.dumps({{"peak": m.peak_mem_bytes}}))
"""


def _peak_in_fresh_process(name: str, setup: str = "_setup") -> int:
    import pathlib

    script = _PEAK_SCRIPT.format(bench_dir=str(pathlib.Path(__file__).parent), name=name, setup=setup)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=True)
    return int(json.loads(out.stdout.strip().splitlines()[-1])["peak"])


def test_warm_start_peak_memory_vs_training_step(benchmark, capsys):
    benchmark.group = "peak memory (fresh process each)"
    peaks = {}

    def measure_all():
        for name in ("train_step", "ohgw", "ohgw_double_backward", "ohgw_with_magnitude_fd"):
            peaks[name] = _peak_in_fresh_process(name)

    benchmark.pedantic(measure_all, rounds=1, iterations=1)
    base = peaks["train_step"]
    benchmark.extra_info.update({f"{k}_peak_bytes": v for k, v in peaks.items()})
    report(
        capsys,
        [f"{k:<24} {v / 2**20:8.1f} MiB = {v / base:.2f}x a training step" for k, v in peaks.items()]
        + ["target: ohgw <= 1.1x"],
    )


def test_warm_start_share_of_a_default_digits_asha_run(benchmark, capsys, tmp_path):
    from ohgw_bench.analysis.results import summarize_runs
    from ohgw_bench.execution.runner import execute_run
    from tests.conftest import plan_run

    benchmark.group = "warm-start share of a digits-cnn asha+ohgw run (120s, 2 workers)"
    torch.set_num_threads(2)
    runs = []
    benchmark.pedantic(
        lambda: runs.append(
            execute_run(plan_run("digits-cnn", "asha+ohgw", seed=0, budget="120s", workers=2, out=tmp_path))
        ),
        rounds=1,
        iterations=1,
    )
    row = summarize_runs(runs[0].parent.parent.parent).iloc[0]
    benchmark.extra_info.update(compute_share=float(row["ws_compute_share"]), flops_share=float(row["ws_flops_share"]))
    report(
        capsys,
        [
            f"warm-start share of device-seconds: {row['ws_compute_share']:.2%}",
            f"warm-start share of FLOPs:          {row['ws_flops_share']:.2%}",
            "target: <= 1%",
        ],
    )


HORIZONS = (1, 2, 3, 4)


def _horizon_setup():
    """A training step and the lookahead at each horizon, on ResNet-20 with distinct batches."""
    from ohgw_bench.tasks.models.resnet_cifar import resnet20

    torch.manual_seed(0)
    model = resnet20(10)
    g = torch.Generator().manual_seed(0)
    train = [
        (torch.randn(BATCH, 3, 32, 32, generator=g), torch.randint(0, 10, (BATCH,), generator=g)) for _ in HORIZONS
    ]
    val = (torch.randn(BATCH, 3, 32, 32, generator=g), torch.randint(0, 10, (BATCH,), generator=g))
    variants = {
        "train_step": _step_fn(model, *train[0]),
        "horizon_1_first_order": lambda: lookahead_hypergradient(model, train[:1], val, CONFIG),
    }
    for k in HORIZONS:
        variants[f"horizon_{k}_unrolled"] = lambda k=k: lookahead_hypergradient(
            model, train[:k], val, CONFIG, horizon=k, exact_first_order=False
        )
    return variants


def test_lookahead_cost_vs_horizon(benchmark, capsys):
    """Time and peak memory of horizon=k side by side (the answer to the short-horizon bias costs
    roughly one more double-backward training step per k); nothing asserted about timing."""
    variants = _horizon_setup()
    benchmark.group = "OHGW lookahead cost vs horizon, ResNet-20, batch 128, 1 thread"
    med = interleaved(benchmark, variants, rounds=4)
    peaks = {name: _peak_in_fresh_process(name, "_horizon_setup") for name in variants}
    base, base_peak = med["train_step"], peaks["train_step"]
    benchmark.extra_info.update({f"{k}_seconds": v for k, v in med.items()})
    benchmark.extra_info.update({f"{k}_peak_bytes": v for k, v in peaks.items()})
    report(
        capsys,
        [
            f"{k:<22} {med[k] * 1e3:8.1f} ms = {med[k] / base:5.2f}x a step   "
            f"{peaks[k] / 2**20:7.1f} MiB = {peaks[k] / base_peak:.2f}x"
            for k in med
        ],
    )
