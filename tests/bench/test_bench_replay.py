"""Replay speed, side by side with syne-tune's own tabular simulation of the same scheduler.

Both replay ASHA (4 workers, 2,000 simulated seconds) on the same BlackboxTabular, the committed
mnist1d-cnn twin table's ``none`` arm (``OHGW_BENCH_TABLE`` names another):

* ``syne-tune``: its documented recipe, ``UserBlackboxBackend`` + ``SimulatorCallback`` + a
  ``StoppingCriterion`` on wall-clock time, with its defaults (the tuner sleeps 5 simulated s
  whenever every worker is busy; results kept in its own results table);
* ``ohgw-bench``: ``ohgw-bench run --backend table:PATH``'s path (``execute_run``): the simulated
  clock advanced event by event, 1 ms dispatch latency, the trajectory written to disk;
* ``no trajectory``: the same tuner, backend, scheduler and clock with nothing written, which is
  what syne-tune's loop and simulator cost as ohgw-bench drives them (the floor of a replay).

Run:  .venv/bin/python -m pytest tests/bench/test_bench_replay.py --benchmark-only -o addopts=""
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from benchutil import interleaved, report

TABLE = Path(os.environ.get("OHGW_BENCH_TABLE", Path(__file__).parents[2] / "results/mnist1d-cnn-table"))
BUDGET_S, WORKERS = 2000, 4

pytestmark = pytest.mark.skipif(not (TABLE / "table.parquet").exists(), reason=f"no complete table at {TABLE}")


def test_replay_asha_against_syne_tunes_simulation(benchmark, capsys, tmp_path):
    from syne_tune import StoppingCriterion, Tuner
    from syne_tune.backend.simulator_backend.simulator_callback import SimulatorCallback

    from ohgw_bench.core.trajectory import read_meta
    from ohgw_bench.execution.backends.table import (
        ELAPSED,
        arm_blackbox,
        make_table_backend,
        open_table,
        replay_tuner_class,
    )
    from ohgw_bench.execution.plan import make_scheduler, scheduler_config_space
    from ohgw_bench.execution.runner import execute_run
    from ohgw_bench.execution.simulator_clock import simulator_clock
    from tests.conftest import plan_run

    table = open_table(str(TABLE))
    runs = {"n": 0}
    reports: dict[str, float] = {}

    def plan():
        runs["n"] += 1
        return plan_run(
            table.task,
            "asha",
            seed=runs["n"],
            budget=f"{BUDGET_S}s",
            workers=WORKERS,
            out=tmp_path / "ours",
            backend=f"table:{TABLE}",
        )

    def tune(tuner_class, backend, p, space, stop_criterion, clock, folder: str) -> None:
        """A tuner on a simulator backend: 4 workers, no tuner sleep of its own, nothing saved."""
        tuner_class(
            trial_backend=backend,
            scheduler=make_scheduler(p, space),
            stop_criterion=stop_criterion,
            n_workers=WORKERS,
            sleep_time=0,
            callbacks=[clock],
            save_tuner=False,
            trial_backend_path=str(tmp_path / folder / str(runs["n"])),
            tuner_name="bench",
        ).run()

    def syne_tune_recipe():
        from syne_tune.blackbox_repository.simulated_tabular_backend import UserBlackboxBackend

        p = plan()
        space = scheduler_config_space(p)
        backend = UserBlackboxBackend(
            blackbox=arm_blackbox(table, p.task, "none", space), elapsed_time_attr=ELAPSED, max_resource_attr="epochs"
        )
        tune(Tuner, backend, p, space, StoppingCriterion(max_wallclock_time=BUDGET_S), SimulatorCallback(), "st")

    def no_trajectory():
        p = plan()
        space = scheduler_config_space(p)
        backend = make_table_backend(table, p.task, "none", space)

        def out_of_time(status) -> bool:
            return backend.time_keeper.time() >= BUDGET_S

        tune(replay_tuner_class(), backend, p, space, out_of_time, simulator_clock().callback, "floor")

    def ohgw_bench_replay():
        directory = execute_run(plan())
        meta = read_meta(directory)
        assert meta.status == "complete" and meta.tuner_seconds >= BUDGET_S
        reports["ohgw-bench"] = meta.epochs_total

    benchmark.group = f"replay ASHA, {WORKERS} workers, {BUDGET_S} simulated s, {table.task} table"
    variants = {"syne-tune": syne_tune_recipe, "ohgw-bench": ohgw_bench_replay, "no trajectory": no_trajectory}
    med = interleaved(benchmark, variants, rounds=5)
    benchmark.extra_info.update({f"{k}_seconds": v for k, v in med.items()})
    report(
        capsys,
        [f"{name:<13} {seconds:6.2f} s per replay (median of 5)" for name, seconds in med.items()]
        + [
            f"ratio ohgw-bench / syne-tune: {med['ohgw-bench'] / med['syne-tune']:.2f}",
            f"ohgw-bench: {reports['ohgw-bench']} reports in the last replay, "
            f"{1e6 * med['ohgw-bench'] / reports['ohgw-bench']:.0f} us per report",
        ],
    )
    assert all(v > 0 for v in med.values())
