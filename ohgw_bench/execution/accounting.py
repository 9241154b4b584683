"""What compute and memory a warm start costs, measured the same way as a training step.

* FLOPs: ``torch.utils.flop_counter.FlopCounterMode`` run on *meta* tensors — the same
  code path without computing anything — once per (model, batch shape), cached.
* Peak memory on CUDA: ``torch.cuda.max_memory_allocated`` after a reset.
* Peak memory on the CPU: there is no allocator counter, so we use the kernel's resident
  high-water mark: write ``5`` to ``/proc/self/clear_refs`` (resets VmHWM), run, and report
  VmHWM minus the resident size before. It counts every page touched by the process
  (allocator caching makes a second measurement of the same work lower), so the warm start
  and the training step are each measured once, in a fresh state, in the same order.
  Where ``clear_refs`` is not writable the value is 0 and says "unavailable".
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import torch
from torch.utils.flop_counter import FlopCounterMode


def count_flops(fn: Callable[[], object]) -> float:
    """FLOPs of ``fn`` as counted by FlopCounterMode (matmuls and convolutions)."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return float(counter.get_total_flops())


T = TypeVar("T")


@dataclass(frozen=True)
class Measured(Generic[T]):
    seconds: float
    peak_mem_bytes: int
    result: T


_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _vm_kib(field: str) -> int:
    for line in _STATUS.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in {_STATUS}")


def cpu_peak_measurable() -> bool:
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


@contextmanager
def _peak_memory(device: torch.device) -> Iterator[list[int]]:
    box = [0]
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        before = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        yield box
        torch.cuda.synchronize(device)
        box[0] = int(torch.cuda.max_memory_allocated(device) - before)
        return
    if not cpu_peak_measurable():
        yield box
        return
    before = _vm_kib("VmRSS")
    yield box
    box[0] = max(0, (_vm_kib("VmHWM") - before) * 1024)


def measure(fn: Callable[[], T], device: torch.device) -> Measured[T]:
    """Wall seconds and peak memory above the starting point of one call of ``fn``."""
    with _peak_memory(device) as peak:
        start = time.perf_counter()
        result = fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds = time.perf_counter() - start
    return Measured(seconds, peak[0], result)
