"""A run's plan: every input a user can get wrong is checked here, before anything is written.

A :class:`RunRequest` is what the user asked for, parsed where it entered (the CLI's flags or a
sweep's spec); :func:`prepare_run` validates it against the registries, the table and this
machine and returns the :class:`RunPlan` that :func:`~ohgw_bench.execution.runner.execute_run`
executes. Trials run on one of three backends:

* ``workers`` (default): the run's ``--workers`` warm worker processes, started before the clock
  and ended with the run;
* ``subprocess``: syne-tune's LocalBackend, a new Python process per trial start and resume;
* ``table:PATH``: no training; syne-tune's simulator replays a twin table's curves
  (:mod:`ohgw_bench.execution.backends.table`), on a simulated clock.

``configs_from`` (``--configs-from PATH``) restricts a real run to a table's configurations
and trial seeds: the real counterpart of a replay.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ohgw_bench.core import limits
from ohgw_bench.core.budget import Budget
from ohgw_bench.core.confined import EscapesOut, confined
from ohgw_bench.core.named_tables import UnknownTable, resolve_table
from ohgw_bench.core.names import OptimizerName, parse_optimizer_name
from ohgw_bench.core.records import RunStatus
from ohgw_bench.core.registry import get_scheduler, get_task, get_warm_start
from ohgw_bench.core.specs import TaskSpec
from ohgw_bench.core.trajectory import (
    META,
    read_meta,
    run_dir,
)
from ohgw_bench.warmstarts import validate_params as validate_warm_start

BACKENDS = ("workers", "subprocess")  # and table:PATH
BACKEND_PREFIX = "table:"  # --backend table:PATH replays the twin table at PATH


class RunRefused(ValueError):
    """The run cannot start as asked (bad input, an existing complete run, a run holding the key)."""


def parse_backend(backend: str) -> Path | None:
    """``table:PATH`` → PATH (or ``table:NAME`` → a committed table's folder); None for the real backends."""
    if not backend.startswith(BACKEND_PREFIX):
        return None
    path = backend[len(BACKEND_PREFIX) :]
    if not path:
        raise RunRefused("--backend table:PATH needs the table's folder after 'table:'")
    return table_path(path, "--backend table:")


def table_path(text: str, option: str) -> Path:
    """A table's folder from what the user typed: an existing path, or a committed table's name
    (:func:`~ohgw_bench.core.named_tables.resolve_table`); RunRefused listing the names otherwise."""
    try:
        return resolve_table(text)
    except UnknownTable as err:
        raise RunRefused(f"{option}{text}: {err}") from None


@dataclass(frozen=True)
class RunRequest:
    """What a user asked for, each value parsed once where it entered (the CLI's flags, a sweep's
    spec); :func:`prepare_run` checks it against the registries, the table and this machine."""

    task: str
    optimizer: OptimizerName
    budget: Budget
    out: Path
    seed: int = 0
    workers: int | None = None  # None: the task's trials_per_gpu on each visible GPU, 1 without one
    backend: str = "workers"  # workers | subprocess | table (a replay of ``table``)
    table: Path | None = None  # the replayed table (backend table), or the one --configs-from names
    threads: int | None = None  # torch threads per trial; None: the cores shared among the workers
    trials_per_gpu: int | None = None
    graphs: bool = True  # CUDA graphs where the task allows them (--no-graphs: False)
    table_resample: int | None = None  # replay on this bootstrap resample of the table's configurations

    @classmethod
    def parse(
        cls,
        task: str,
        optimizer: str,
        budget: str | Budget,
        out: Path | str,
        backend: str = "workers",
        configs_from: Path | str | None = None,
        **settings: Any,
    ) -> RunRequest:
        """From the words a user typed: the optimizer's name, the budget and ``--backend`` (one of
        :data:`BACKENDS` or ``table:PATH``); RunRefused or ValueError with a clear message."""
        replayed = parse_backend(backend)
        if replayed is None and backend not in BACKENDS:
            raise RunRefused(f"--backend must be one of {', '.join(BACKENDS)} or table:PATH, got {backend!r}")
        if replayed is not None and configs_from is not None:
            raise RunRefused("--configs-from restricts a real run; a table:PATH backend already replays that table")
        return cls(
            task=task,
            optimizer=parse_optimizer_name(optimizer),
            budget=budget if isinstance(budget, Budget) else Budget.parse(budget),
            out=Path(out),
            backend=backend if replayed is None else "table",
            table=replayed if configs_from is None else table_path(str(configs_from), "--configs-from "),
            **settings,
        )


@dataclass(frozen=True)
class RunPlan:
    """A checked run: what :func:`~ohgw_bench.execution.runner.execute_run` executes."""

    task: TaskSpec
    optimizer: OptimizerName
    seed: int
    budget: Budget
    workers: int
    directory: Path
    out: Path
    backend: str = "workers"  # workers | subprocess | table
    table: Path | None = None  # the replayed table (backend table), or the one --configs-from names
    threads: int | None = None  # torch threads per trial; None: the cores shared among the workers
    workers_chosen_by: str = "workers"  # see ohgw_bench.execution.gpus.choose_workers
    graphs: bool = True  # CUDA graphs where the task allows them (--no-graphs: False)
    table_resample: int | None = None  # a replay on this bootstrap resample of the table's configurations

    @functools.cached_property
    def scheduler_settings(self) -> dict[str, Any]:
        """The scheduler's settings, defaults filled in (the name leaves defaults out)."""
        return get_scheduler(self.optimizer.scheduler).settings(dict(self.optimizer.scheduler_params))

    @functools.cached_property
    def warm_start_settings(self) -> dict[str, Any]:
        """The warm start's parameters, defaults filled in (recorded in meta.json; the trial fills
        them in itself, from the name's parameters it records)."""
        return get_warm_start(self.optimizer.warm_start).settings(dict(self.optimizer.warm_start_params))

    @property
    def replay(self) -> bool:
        return self.backend == "table"

    def open_table(self):
        from ohgw_bench.execution.backends.table import open_table

        return open_table(str(self.table)) if self.table is not None else None

    def trial_seed(self, trial_id: int, config: dict[str, Any]) -> int:
        """The seed trial ``trial_id`` trains with: from the run seed, or the table's for its configuration."""
        from ohgw_bench.execution.trial import trial_seed

        table = self.open_table()
        return trial_seed(self.seed, trial_id) if table is None else table.seed_of(config, self.task.space.names)


def prepare_run(request: RunRequest, overwrite: bool = False) -> RunPlan:
    """Validate every input; raise RunRefused/ValueError with a clear message, write nothing."""
    from ohgw_bench.execution.backends.table import check_replayable, open_table
    from ohgw_bench.execution.gpus import choose_workers, visible_gpu_count

    quiet_syne_tune()
    replaying = request.backend == "table"
    task_spec = get_task(request.task)
    name = request.optimizer
    validate_warm_start(name.warm_start, dict(name.warm_start_params))
    table_path = request.table
    if table_path is not None:
        table = open_table(str(table_path))
        check_replayable(table, task_spec, name.warm_start_label, get_scheduler(name.scheduler))
        table_path = table.path
    if not replaying:
        task_spec.check_data()  # a replay trains nothing
    workers = request.workers
    # touch CUDA only to decide; a replay trains nothing, so it counts no GPU (one worker unless --workers)
    n_gpus = None if workers is not None else (0 if replaying else visible_gpu_count())
    try:
        workers, chosen_by = choose_workers(
            n_gpus, task_spec.trials_per_gpu, max_workers(), workers, request.trials_per_gpu
        )
    except ValueError as err:
        raise RunRefused(str(err)) from None
    _check_counts(request, workers, replaying)
    _check_resample(request)
    check_writable_folder(request.out, "--out")
    directory = run_dir(request.out, task_spec.name, name.canonical, request.seed)
    refuse_links(request.out, directory, task_spec.name, name.canonical, request.seed)
    if request.backend == "subprocess":
        _check_command_line_paths(directory)
    refuse_existing(directory, overwrite)
    plan = RunPlan(
        task=task_spec,
        optimizer=name,
        seed=request.seed,
        budget=request.budget,
        workers=workers,
        directory=directory,
        out=request.out,
        backend=request.backend,
        table=table_path,
        threads=request.threads,
        workers_chosen_by=chosen_by,
        graphs=request.graphs,
        table_resample=request.table_resample,
    )
    make_scheduler(plan, config_space={})  # scheduler settings are checked at start-up, not mid-run
    return plan


#: resamples of one table a replay may ask for: a leaderboard needs tens
MAX_TABLE_RESAMPLE = 10_000


def _check_resample(request: RunRequest) -> None:
    resample = request.table_resample
    if resample is None:
        return
    if request.backend != "table":
        raise RunRefused("--table-resample resamples a replayed table's configurations: it needs --backend table:PATH")
    if not 0 <= resample < MAX_TABLE_RESAMPLE:
        raise RunRefused(f"--table-resample must be in 0..{MAX_TABLE_RESAMPLE - 1}, got {resample}")


def max_workers() -> int:
    """Concurrent trials of one real run on this machine (:func:`ohgw_bench.core.limits.max_workers`)."""
    return limits.max_workers()


def _check_counts(request: RunRequest, workers: int, replaying: bool) -> None:
    """Each count of a run against its limit (:mod:`ohgw_bench.core.limits`), before anything starts."""
    if replaying:
        limits.check_count(
            "--workers", workers, limits.MAX_SIMULATED_WORKERS, "simulated workers of a replay", RunRefused
        )
    else:
        limits.check_count(
            "--workers",
            workers,
            max_workers(),
            f"{limits.WORKERS_PER_CORE} per CPU core here: each worker is a process holding the task's data",
            RunRefused,
        )
    if request.trials_per_gpu is not None:
        limits.check_count(
            "--trials-per-gpu", request.trials_per_gpu, max_workers(), "the most concurrent trials here", RunRefused
        )
    if request.threads is not None:
        limits.check_count(
            "--threads", request.threads, limits.max_threads(), "the CPU cores here: more only contend", RunRefused
        )
    limits.check_seed("--seed", request.seed, RunRefused)


def check_writable_folder(path: Path, what: str) -> None:
    """RunRefused unless ``path`` is a folder we can write, or can be created as one."""
    if path.exists() and not path.is_dir():
        raise RunRefused(f"{what} {path} is a file, not a folder")
    existing = next(p for p in (path, *path.absolute().parents) if p.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise RunRefused(f"{what} {path}: {existing} is not a folder this user can write")


def refuse_links(out: Path, directory: Path, task: str, optimizer: str, seed: int) -> None:
    """RunRefused when the run folder or its lock lies behind a symbolic link below ``out``: removing,
    moving or writing it would act outside ``out`` (:mod:`ohgw_bench.core.confined`)."""
    from ohgw_bench.execution.runlock import lock_path

    try:
        confined(out, directory)
        confined(out, lock_path(out, task, optimizer, seed))
    except EscapesOut as err:
        raise RunRefused(str(err)) from None


def refuse_existing(directory: Path, overwrite: bool) -> None:
    """Refuse to replace a run folder unless ``overwrite``; call it again once the run's lock is held."""
    if (directory / META).exists() and not overwrite:
        try:
            status = read_meta(directory).status
        except ValueError as err:
            raise RunRefused(f"{err}; pass --overwrite to replace the run") from None
        if status == RunStatus.COMPLETE:
            raise RunRefused(f"{directory} already holds a complete run; pass --overwrite to replace it")
        if status == RunStatus.RUNNING:
            raise RunRefused(
                f"{directory} holds a run marked running that no live process owns (interrupted); "
                "pass --overwrite to replace it"
            )


def _check_command_line_paths(directory: Path) -> None:
    """syne-tune's LocalBackend builds each trial's command line by splitting on spaces."""
    import sys

    for what, path in (
        ("python", sys.executable),
        ("the trial script", str(Path(__file__).parent)),
        ("the run folder", str(directory.resolve())),
    ):
        if any(c.isspace() for c in path):
            raise RunRefused(
                f"--backend subprocess cannot run with {what} at {path!r}: syne-tune splits its "
                "trial command line on spaces; use the default --backend workers"
            )


def lock_run(plan: RunPlan, overwrite: bool):
    """Take the run's lock (the one sweeps take) and re-check the folder under it; RunRefused when a
    live process holds the key. Returns the held :class:`~ohgw_bench.execution.runlock.RunLock`."""
    from ohgw_bench.execution.runlock import RunLock, lock_path

    lock = RunLock(lock_path(plan.out, plan.task.name, plan.optimizer.canonical, plan.seed))
    try:
        acquired = lock.acquire()
    except OSError as err:
        raise RunRefused(f"cannot write the run's lock under --out {plan.out}: {err}") from None
    if not acquired:
        holder = lock.holder.describe() if lock.holder else "another process"
        raise RunRefused(f"{plan.directory} is being run by {holder} (lock {lock.path}); nothing was written")
    try:
        refuse_links(plan.out, plan.directory, plan.task.name, plan.optimizer.canonical, plan.seed)
        refuse_existing(plan.directory, overwrite)
    except BaseException:
        lock.release()
        raise
    return lock


def scheduler_config_space(plan: RunPlan) -> dict[str, Any]:
    from ohgw_bench.core.specs import MAX_RESOURCE_ATTR
    from ohgw_bench.execution.backends.trial_config import (
        GRAPHS_KEY,
        SEED_KEY,
        TABLE_KEY,
        TASK_KEY,
        THREADS_KEY,
        WARM_START_KEY,
        WARM_START_PARAMS_KEY,
    )

    table = plan.open_table()
    return {
        **plan.task.space.to_syne_tune(),
        MAX_RESOURCE_ATTR: plan.task.max_epochs if table is None else table.epochs,
        TASK_KEY: plan.task.name,
        WARM_START_KEY: plan.optimizer.warm_start,
        WARM_START_PARAMS_KEY: json.dumps(dict(plan.optimizer.warm_start_params), sort_keys=True),
        SEED_KEY: plan.seed,
        THREADS_KEY: threads_per_trial(plan),
        GRAPHS_KEY: int(plan.graphs),
        **({} if table is None else {TABLE_KEY: str(table.path)}),
    }


def threads_per_trial(plan: RunPlan) -> int:
    """CPU threads per trial: ``--threads``, or the cores shared evenly among concurrent trials."""
    return plan.threads or max(1, (os.cpu_count() or 1) // plan.workers)


def make_scheduler(plan: RunPlan, config_space: dict[str, Any]):
    """The run's scheduler; on a table (replayed or --configs-from) it samples the table's configurations only."""
    from ohgw_bench.execution.backends.table import replay_task, search_options

    spec = get_scheduler(plan.optimizer.scheduler)
    settings = plan.scheduler_settings
    space = config_space or scheduler_config_space(plan)
    table = plan.open_table()
    if table is None:
        return spec.factory(plan.task, space, plan.seed, **settings)
    task = replay_task(plan.task, table)
    resample = plan.table_resample if plan.replay else None
    return spec.factory(task, space, plan.seed, search_options(table, task, resample), **settings)


def quiet_syne_tune() -> None:
    """syne-tune logs every scheduling decision and a full status table at INFO; our own
    progress line replaces that. Its warnings (e.g. about scheduler settings) still show.
    When first imported it also prints notices about optional extras this project does not
    use (AWS, multi-objective): the first import happens here, with them muted."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.WARNING)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            import syne_tune.backend  # noqa: F401
            import syne_tune.optimizer.baselines  # noqa: F401
    finally:
        root.setLevel(level)
    logging.getLogger("syne_tune").setLevel(logging.WARNING)
    # We write our own trajectory instead of syne-tune's results.csv.zip on purpose.
    logging.getLogger("syne_tune.tuner").setLevel(logging.ERROR)
