"""Shared by the benchmarks: interleaved timing and printing past pytest's capture."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def report(capsys, lines: list[str]) -> None:
    with capsys.disabled():
        print()
        for line in lines:
            print("    " + line)


def interleaved(benchmark, variants: dict[str, Callable[[], object]], rounds: int, warmup: int = 1) -> dict[str, float]:
    """Time the variants alternately, in alternating order, so that load from other
    processes on a shared machine hits them alike; return each one's median seconds.
    pytest-benchmark times one round = every variant once."""
    times: dict[str, list[float]] = {name: [] for name in variants}
    names = list(variants)
    for _ in range(warmup):
        for fn in variants.values():
            fn()
    state = {"round": 0}

    def one_round():
        order = names if state["round"] % 2 == 0 else names[::-1]
        state["round"] += 1
        for name in order:
            t0 = time.perf_counter()
            variants[name]()
            times[name].append(time.perf_counter() - t0)

    benchmark.pedantic(one_round, rounds=rounds, iterations=1)
    return {name: statistics.median(ts) for name, ts in times.items()}
