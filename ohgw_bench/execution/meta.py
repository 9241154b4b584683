"""meta.json of a run: its one builder (see :func:`ohgw_bench.core.trajectory.read_meta` for the reader)."""

from __future__ import annotations

import os
from typing import Any

from ohgw_bench.core.confined import confined
from ohgw_bench.core.provenance import code_version, device_name, git_sha, package_versions, utc_now
from ohgw_bench.core.records import RunStatus
from ohgw_bench.core.run_meta import SCHEMA_VERSION, RunMeta
from ohgw_bench.core.trajectory import META, write_json_atomic
from ohgw_bench.execution.plan import RunPlan, threads_per_trial


def _clock_source(plan: RunPlan, table: Any) -> str:
    """What a run's clock and curves came from: pairs are made only within one."""
    if not plan.replay or table is None:
        return "real"
    resample = "" if plan.table_resample is None else f" resample {plan.table_resample}"
    return f"table {table.sha256}{resample}"


def run_meta(
    plan: RunPlan,
    data_info: dict[str, Any] | None = None,
    gpus: list[int] | None = None,
    status: RunStatus = RunStatus.RUNNING,
    n_gpus: int | None = None,
) -> RunMeta:
    """meta.json of a run, as it starts (:class:`~ohgw_bench.core.run_meta.RunMeta` is its schema).
    ``n_gpus``: GPUs visible to the run (None: not counted, as for a run that failed before it started).

    A run on a table (replayed, or real with --configs-from) names it under ``table``; a replay's
    ``device`` is the one its curves were trained on, and ``clock_source`` keeps replays and real
    runs (and replays of different tables) from ever being paired."""
    from ohgw_bench.execution.backends.table import table_info
    from ohgw_bench.execution.gpus import placement

    table = plan.open_table()
    trial_seeds = "trial_seed(seed, trial_id)" if table is None else "the table's seed of the trial's configuration"
    return RunMeta(
        schema_version=SCHEMA_VERSION,
        task=plan.task.name,
        optimizer=plan.optimizer.canonical,
        scheduler=plan.optimizer.scheduler,
        scheduler_params=dict(plan.optimizer.scheduler_params),
        warm_start=plan.optimizer.warm_start,
        warm_start_params=dict(plan.optimizer.warm_start_params),
        warm_start_label=plan.optimizer.warm_start_label,
        # every setting with its default filled in (the name leaves defaults out)
        scheduler_settings=plan.scheduler_settings,
        warm_start_settings=plan.warm_start_settings,
        seed=plan.seed,
        seeds={"scheduler": plan.seed, "trial": trial_seeds, "data_split": "fixed per task"},
        budget={"amount": plan.budget.amount, "clock": plan.budget.clock},
        workers=plan.workers,
        threads_per_trial=threads_per_trial(plan),
        backend=plan.backend,
        clock_source=_clock_source(plan, table),
        table=None if table is None else table_info(table, plan.optimizer.warm_start_label, plan.table_resample),
        target=plan.task.target,
        max_epochs=plan.task.max_epochs if table is None else table.epochs,
        metric=plan.task.metric,
        status=status,
        versions=package_versions(),
        git_sha=git_sha(),
        code_version=code_version(),
        device=table.meta.get("device") if plan.replay and table is not None else device_name(),
        replayed_on=device_name() if plan.replay else None,
        cuda_visible_devices=os.environ.get("CUDA_VISIBLE_DEVICES"),
        gpus_rotated=gpus,
        placement=placement(plan.workers, n_gpus, plan.workers_chosen_by),
        graphs=plan.graphs and plan.task.graphs and bool(n_gpus),  # CUDA graphs in the training step
        data_info=data_info,
        started_at=utc_now(),
        ended_at=None,
    )


def write_failed_meta(plan: RunPlan, err: BaseException, tb: str) -> None:
    """Record a run that failed before :func:`execute_run` wrote its meta.json (e.g. damaged data).
    Raises :class:`~ohgw_bench.core.confined.EscapesOut` for a run folder behind a symbolic link, and
    OSError naming the file when the record cannot be written (a full disk)."""
    confined(plan.out, plan.directory).mkdir(parents=True, exist_ok=True)
    meta = run_meta(plan, status=RunStatus.FAILED).replace(
        started_at=None, ended_at=utc_now(), error=f"{type(err).__name__}: {err}", traceback=tb
    )
    try:
        write_json_atomic(plan.directory / META, meta.to_json())
    except OSError as write_error:
        raise OSError(
            write_error.errno, f"could not record the failure in {plan.directory / META}: {write_error.strerror}"
        ) from write_error
