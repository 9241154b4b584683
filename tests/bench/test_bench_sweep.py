"""Scheduling overhead of the sweep engine per run.

Run:  .venv/bin/python -m pytest tests/bench/test_bench_sweep.py --benchmark-only -o addopts="" -s

A LocalCluster with ONE Dask worker process (one thread) runs N_RUNS short real runs
(digits-cnn, asha, budget 1ep) one after the other. Every run stamps, in the worker
process, when its Dask task was entered and left and when execute_run started and ended.
Two figures per consecutive pair of runs (the first run's start-up is excluded):

* ``dask`` gap   — one task's return → the next task's entry (scheduler round trip);
* ``engine`` gap — one run's execute_run end → the next run's execute_run start
  (the dask gap plus lock, resume checks and prepare_run in the worker).

Printed and stored in the benchmark's extra_info; tests never assert on time.
"""

from __future__ import annotations

import statistics
import time

from ohgw_bench.execution.sweep.progress import SweepProgress
from ohgw_bench.execution.sweep.records import DONE, scheduling_gaps
from ohgw_bench.execution.sweep.run import run_sweep
from ohgw_bench.execution.sweep.spec import build_spec, validate_runs

N_RUNS = 5


def test_bench_sweep_scheduling_overhead(benchmark, tmp_path, capsys):
    spec = build_spec(
        tasks="digits-cnn", opts="asha", seeds=f"0-{N_RUNS - 1}", budget="1ep", workers=1, out=str(tmp_path / "res")
    )
    runs = validate_runs(spec)
    results = []

    def sweep():
        start = time.perf_counter()
        results.append(run_sweep(spec, runs, n_dask_workers=1, progress=SweepProgress(runs, mode="quiet")))
        return time.perf_counter() - start

    wall = benchmark.pedantic(sweep, rounds=1, iterations=1)
    result = results[0]
    assert [o.state for o in result.outcomes] == [DONE] * N_RUNS
    gaps = scheduling_gaps(result.outcomes)
    run_seconds = [o.t_run_end - o.t_run_start for o in result.outcomes]
    figures = {
        "dask_gap_median_ms": 1e3 * statistics.median(gaps["dask"]),
        "dask_gap_max_ms": 1e3 * max(gaps["dask"]),
        "engine_gap_median_ms": 1e3 * statistics.median(gaps["engine"]),
        "engine_gap_max_ms": 1e3 * max(gaps["engine"]),
        "run_seconds_median": statistics.median(run_seconds),
        "sweep_wall_seconds": wall,
        # cluster start-up, first-run imports, shutdown: paid once per sweep
        "fixed_cost_seconds": wall - sum(run_seconds) - sum(gaps["engine"]),
    }
    benchmark.extra_info.update(figures)
    with capsys.disabled():
        print(f"\nsweep scheduling overhead over {len(gaps['dask'])} run-to-run transitions (1 Dask worker):")
        for key, value in figures.items():
            print(f"  {key:<22} {value:9.1f}")
