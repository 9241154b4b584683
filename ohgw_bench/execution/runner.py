"""One run (replicate): task × scheduler × warm start × seed × budget, executed by syne-tune.

``prepare_run`` checks everything a user can get wrong *before* anything is written;
``execute_run`` drives syne-tune's Tuner and writes the trajectory as results arrive
through :class:`TrajectoryWriter`. Trials run on one of three backends:

* ``workers`` (default): the run's ``--workers`` warm worker processes
  (:mod:`ohgw_bench.execution`), started before the clock and ended with the run;
* ``subprocess``: syne-tune's LocalBackend, a new Python process per trial start and resume;
* ``table:PATH``: no training; syne-tune's simulator replays a twin table's curves
  (:mod:`ohgw_bench.execution.backends.table`), on a simulated clock.

``configs_from`` (``--configs-from PATH``) restricts a real run to a table's configurations
and trial seeds: the real counterpart of a replay.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import logging
import os
import shutil
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ohgw_bench.core.budget import Budget
from ohgw_bench.core.names import OptimizerName, parse_optimizer_name
from ohgw_bench.core.provenance import code_version, device_name, git_sha, package_versions, utc_now
from ohgw_bench.core.records import TrialStatus, from_report, warm_start_from_report
from ohgw_bench.core.registry import get_scheduler, get_task, get_warm_start
from ohgw_bench.core.specs import TaskSpec
from ohgw_bench.core.trajectory import (
    EVENTS,
    META,
    SCHEMA_VERSION,
    TRIALS,
    EventRecord,
    JsonlAppender,
    TrialRecord,
    read_meta,
    run_dir,
    write_json_atomic,
)
from ohgw_bench.warmstarts import validate_params as validate_warm_start

BACKENDS = ("workers", "subprocess")  # and table:PATH


class RunRefused(ValueError):
    """The run cannot start as asked (bad input, an existing complete run, a run holding the key)."""


@dataclass(frozen=True)
class RunPlan:
    task: TaskSpec
    optimizer: OptimizerName
    seed: int
    budget: Budget
    workers: int
    directory: Path
    out: Path
    backend: str = "workers"
    table: Path | None = None  # the replayed table (backend table:PATH), or the one --configs-from names
    threads: int | None = None  # torch threads per trial; None: the cores shared among the workers
    workers_chosen_by: str = "workers"  # see ohgw_bench.execution.gpus.choose_workers
    graphs: bool = True  # CUDA graphs where the task allows them (--no-graphs: False)

    @property
    def replay(self) -> bool:
        return self.table is not None and self.backend.startswith("table:")

    def open_table(self):
        from ohgw_bench.execution.backends.table import open_table

        return open_table(str(self.table)) if self.table is not None else None

    def trial_seed(self, trial_id: int, config: dict[str, Any]) -> int:
        """The seed trial ``trial_id`` trains with: from the run seed, or the table's for its configuration."""
        from ohgw_bench.execution.trial import trial_seed

        table = self.open_table()
        return trial_seed(self.seed, trial_id) if table is None else table.seed_of(config, self.task.space.names)


def prepare_run(
    task: str,
    optimizer: str,
    seed: int,
    budget: str,
    workers: int | None,
    out: Path | str,
    overwrite: bool = False,
    backend: str = "workers",
    configs_from: Path | str | None = None,
    threads: int | None = None,
    trials_per_gpu: int | None = None,
    graphs: bool = True,
) -> RunPlan:
    """Validate every input; raise RunRefused/ValueError with a clear message, write nothing.
    ``workers`` None: the task's (or the given) ``trials_per_gpu`` on each visible GPU, 1 without one."""
    from ohgw_bench.execution.backends.table import check_replayable, open_table, parse_backend
    from ohgw_bench.execution.gpus import choose_workers, visible_gpu_count

    _quiet_syne_tune()
    table_path = parse_backend(backend)
    replaying = table_path is not None
    if not replaying and backend not in BACKENDS:
        raise RunRefused(f"--backend must be one of {', '.join(BACKENDS)} or table:PATH, got {backend!r}")
    if replaying and configs_from is not None:
        raise RunRefused("--configs-from restricts a real run; a table:PATH backend already replays that table")
    table_path = table_path if configs_from is None else Path(configs_from)
    task_spec = get_task(task)
    name = parse_optimizer_name(optimizer)
    validate_warm_start(name.warm_start, dict(name.warm_start_params))
    if table_path is not None:
        table = open_table(str(table_path))
        check_replayable(table, task_spec, name.warm_start_label, get_scheduler(name.scheduler))
        table_path = table.path
    if configs_from is not None or table_path is None:
        task_spec.check_data()  # a replay trains nothing
    parsed_budget = Budget.parse(budget)
    n_gpus = visible_gpu_count() if workers is None and table_path is None else None  # touch CUDA only to decide
    try:
        workers, chosen_by = choose_workers(n_gpus, task_spec.trials_per_gpu, max_workers(), workers, trials_per_gpu)
    except ValueError as err:
        raise RunRefused(str(err)) from None
    if threads is not None and threads < 1:
        raise RunRefused(f"--threads must be a positive integer, got {threads}")
    if workers > max_workers() and not replaying:
        raise RunRefused(
            f"--workers {workers} is more than {max_workers()} (4 per CPU core here): each worker is a "
            "process holding the task's data; use fewer"
        )
    if seed < 0:
        raise RunRefused(f"--seed must be non-negative, got {seed}")
    check_writable_folder(Path(out), "--out")
    directory = run_dir(out, task_spec.name, name.canonical, seed)
    if backend == "subprocess":
        _check_command_line_paths(directory)
    refuse_existing(directory, overwrite)
    plan = RunPlan(task_spec, name, seed, parsed_budget, workers, directory, Path(out), backend)
    plan = dataclasses.replace(plan, table=table_path, threads=threads, workers_chosen_by=chosen_by, graphs=graphs)
    make_scheduler(plan, config_space={})  # scheduler settings are checked at start-up, not mid-run
    return plan


def max_workers() -> int:
    return 4 * (os.cpu_count() or 1)


def check_writable_folder(path: Path, what: str) -> None:
    """RunRefused unless ``path`` is a folder we can write, or can be created as one."""
    if path.exists() and not path.is_dir():
        raise RunRefused(f"{what} {path} is a file, not a folder")
    existing = next(p for p in (path, *path.absolute().parents) if p.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise RunRefused(f"{what} {path}: {existing} is not a folder this user can write")


def refuse_existing(directory: Path, overwrite: bool) -> None:
    """Refuse to replace a run folder unless ``overwrite``; call it again once the run's lock is held."""
    if (directory / META).exists() and not overwrite:
        try:
            status = read_meta(directory).get("status")
        except ValueError as err:
            raise RunRefused(f"{err}; pass --overwrite to replace the run") from None
        if status == "complete":
            raise RunRefused(f"{directory} already holds a complete run; pass --overwrite to replace it")
        if status == "running":
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
        refuse_existing(plan.directory, overwrite)
    except BaseException:
        lock.release()
        raise
    return lock


def _config_space(plan: RunPlan) -> dict[str, Any]:
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
        THREADS_KEY: _threads(plan),
        GRAPHS_KEY: int(plan.graphs),
        **({} if table is None else {TABLE_KEY: str(table.path)}),
    }


def _threads(plan: RunPlan) -> int:
    """CPU threads per trial: ``--threads``, or the cores shared evenly among concurrent trials."""
    return plan.threads or max(1, (os.cpu_count() or 1) // plan.workers)


def make_scheduler(plan: RunPlan, config_space: dict[str, Any]):
    """The run's scheduler; on a table (replayed or --configs-from) it samples the table's configurations only."""
    from ohgw_bench.execution.backends.table import replay_task, search_options

    spec = get_scheduler(plan.optimizer.scheduler)
    settings = {**spec.defaults, **dict(plan.optimizer.scheduler_params)}
    space = config_space or _config_space(plan)
    table = plan.open_table()
    if table is None:
        return spec.factory(plan.task, space, plan.seed, **settings)
    task = replay_task(plan.task, table)
    return spec.factory(task, space, plan.seed, search_options(table, task), **settings)


class LatestPerTrialSum:
    """The sum over trials of each trial's latest (cumulative) value, kept in O(1) per update:
    a long replay reports ~10,000 times over thousands of trials."""

    def __init__(self) -> None:
        self.latest: dict[int, float] = {}
        self.total = 0.0

    def set(self, trial_id: int, value: float) -> None:
        self.total += value - self.latest.get(trial_id, 0.0)
        self.latest[trial_id] = value


class TrajectoryWriter:
    """Turns trial reports into trials.jsonl / events.jsonl lines, keeping the run's totals."""

    def __init__(self, plan: RunPlan, clock: Callable[[], float] = time.perf_counter) -> None:
        self.plan = plan
        # a replay's lines are not flushed one by one: its run is marked complete only after close()
        self.trials = JsonlAppender(plan.directory / TRIALS, flush_each=not plan.replay)
        self.events = JsonlAppender(plan.directory / EVENTS, flush_each=not plan.replay)
        self.clock = clock  # a replay's is the simulator's
        self.start = clock()
        self.epochs_total = 0
        self.trial_flops = LatestPerTrialSum()
        self.ws_flops = LatestPerTrialSum()
        self.ws_seconds = LatestPerTrialSum()
        self.records: dict[int, TrialRecord] = {}
        self.best_val_acc = float("nan")
        self.finished_trials = 0
        self.failed_trials: set[int] = set()

    def elapsed(self) -> float:
        return self.clock() - self.start

    def budget_exhausted(self) -> bool:
        return self.plan.budget.exhausted(self.elapsed(), self.epochs_total, self.plan.workers)

    def on_result(self, trial_id: int, config: dict[str, Any], result: dict[str, Any]) -> None:
        record = self.records.get(trial_id)
        if record is None:
            record = self._write_trial(trial_id, self._record_from(trial_id, config, result))
        report = from_report(result)
        self.epochs_total += 1
        self.trial_flops.set(trial_id, report.trial_flops)
        self.ws_flops.set(trial_id, record.warm_start["flops"])
        self.ws_seconds.set(trial_id, record.warm_start["seconds"])
        if not report.val_acc <= self.best_val_acc:  # also true while best is nan
            self.best_val_acc = report.val_acc
        self.events.append(
            EventRecord(
                trial_id=trial_id,
                epoch=report.epoch,
                val_acc=report.val_acc,
                val_loss=report.val_loss,
                test_acc=report.test_acc,
                train_loss=report.train_loss,
                tuner_seconds=self.elapsed(),
                trial_seconds=report.trial_seconds,
                epochs_total=self.epochs_total,
                flops_total=self.trial_flops.total,
                warm_start_flops_total=self.ws_flops.total,
                warm_start_seconds_total=self.ws_seconds.total,
                trial_compile_seconds=report.compile_seconds,
            )
        )
        if report.diverged:
            self.on_status(trial_id, TrialStatus.DIVERGED)

    def on_status(self, trial_id: int, status: TrialStatus) -> None:
        record = self.records.get(trial_id)
        if record is None or record.status == status or record.status == TrialStatus.DIVERGED:  # diverged is final
            return
        if record.status == TrialStatus.STOPPED and status == TrialStatus.COMPLETED:
            return  # syne-tune's simulator also completes a trial it stopped at its last report; stopped stands
        if status.finished:
            self.finished_trials += 1
        self._write_trial(trial_id, dataclasses.replace(record, status=status))

    def _write_trial(self, trial_id: int, record: TrialRecord) -> TrialRecord:
        self.records[trial_id] = record
        self.trials.append(record)
        return record

    def _record_from(self, trial_id: int, config: dict[str, Any], result: dict[str, Any]) -> TrialRecord:
        return TrialRecord.of(
            trial_id,
            warm_start_from_report(result),
            TrialStatus.RUNNING,
            seed=self.plan.trial_seed(trial_id, config),
        )

    def close(self) -> None:
        self.trials.close()
        self.events.close()


def _syne_tune_callback(writer: TrajectoryWriter, on_update: Callable[[TrajectoryWriter], None] | None):
    from syne_tune.backend.trial_status import Status
    from syne_tune.optimizer.scheduler import SchedulerDecision
    from syne_tune.tuner_callback import TunerCallback

    class _Callback(TunerCallback):
        def on_trial_result(self, trial, status, result, decision):
            writer.on_result(trial.trial_id, trial.config, result)
            if decision == SchedulerDecision.STOP:
                writer.on_status(trial.trial_id, TrialStatus.STOPPED)
            elif decision == SchedulerDecision.PAUSE:
                writer.on_status(trial.trial_id, TrialStatus.PAUSED)
            if on_update:
                on_update(writer)

        def on_resume_trial(self, trial):
            writer.on_status(trial.trial_id, TrialStatus.RUNNING)

        def on_trial_complete(self, trial, result):
            writer.on_status(trial.trial_id, TrialStatus.COMPLETED)

        def on_fetch_status_results(self, trial_status_dict, new_results):
            for trial_id, (_trial, status) in trial_status_dict.items():
                if status == Status.failed and trial_id not in writer.failed_trials:
                    writer.failed_trials.add(trial_id)
                    writer.on_status(trial_id, TrialStatus.FAILED)

        def on_loop_end(self):
            if on_update:
                on_update(writer)

    return _Callback()


def _quiet_syne_tune() -> None:
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


def _keep_failed_trial_logs(writer: TrajectoryWriter, backend: Any, directory: Path) -> None:
    """Keep a failed trial's stderr next to the trajectory: the work folder is removed later."""
    for trial_id in sorted(writer.failed_trials):
        lines = backend.stderr(trial_id)
        if lines:
            (directory / f"trial-{trial_id}.stderr.txt").write_text("".join(lines), encoding="utf-8")


def run_meta(
    plan: RunPlan,
    data_info: dict[str, Any] | None = None,
    gpus: list[int] | None = None,
    status: str = "running",
    n_gpus: int | None = None,
) -> dict[str, Any]:
    """meta.json of a run: this function is its one writer's one schema (see ``trajectory.read_meta``).
    ``n_gpus``: GPUs visible to the run (None: not counted, as for a run that failed before it started).

    A run on a table (replayed, or real with --configs-from) names it under ``table``; a replay's
    ``device`` is the one its curves were trained on, and ``clock_source`` keeps replays and real
    runs (and replays of different tables) from ever being paired."""
    from ohgw_bench.execution.backends.table import table_info
    from ohgw_bench.execution.gpus import placement

    table = plan.open_table()
    trial_seeds = "trial_seed(seed, trial_id)" if table is None else "the table's seed of the trial's configuration"
    return {
        "schema_version": SCHEMA_VERSION,
        "task": plan.task.name,
        "optimizer": plan.optimizer.canonical,
        "scheduler": plan.optimizer.scheduler,
        "scheduler_params": dict(plan.optimizer.scheduler_params),
        "warm_start": plan.optimizer.warm_start,
        "warm_start_params": dict(plan.optimizer.warm_start_params),
        "warm_start_label": plan.optimizer.warm_start_label,
        # every setting with its default filled in (the name leaves defaults out)
        "scheduler_settings": {
            **get_scheduler(plan.optimizer.scheduler).defaults,
            **dict(plan.optimizer.scheduler_params),
        },
        "warm_start_settings": {
            **get_warm_start(plan.optimizer.warm_start).defaults,
            **dict(plan.optimizer.warm_start_params),
        },
        "seed": plan.seed,
        "seeds": {"scheduler": plan.seed, "trial": trial_seeds, "data_split": "fixed per task"},
        "budget": {"amount": plan.budget.amount, "clock": plan.budget.clock},
        "workers": plan.workers,
        "threads_per_trial": _threads(plan),
        "backend": "table" if plan.replay else plan.backend,
        "clock_source": f"table {table.sha256}" if plan.replay and table is not None else "real",
        "table": None if table is None else table_info(table, plan.optimizer.warm_start_label),
        "target": plan.task.target,
        "max_epochs": plan.task.max_epochs if table is None else table.epochs,
        "metric": plan.task.metric,
        "status": status,
        "versions": package_versions(),
        "git_sha": git_sha(),
        "code_version": code_version(),
        "device": table.meta.get("device") if plan.replay and table is not None else device_name(),
        "replayed_on": device_name() if plan.replay else None,
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "gpus_rotated": gpus,
        "placement": placement(plan.workers, n_gpus, plan.workers_chosen_by),
        "graphs": plan.graphs and plan.task.graphs and bool(n_gpus),  # CUDA graphs in the training step
        "data_info": data_info,
        "started_at": utc_now(),
        "ended_at": None,
    }


def write_failed_meta(plan: RunPlan, err: BaseException, tb: str) -> None:
    """Record a run that failed before :func:`execute_run` wrote its meta.json (e.g. damaged data)."""
    plan.directory.mkdir(parents=True, exist_ok=True)
    write_json_atomic(
        plan.directory / META,
        {
            **run_meta(plan, status="failed"),
            "started_at": None,
            "ended_at": utc_now(),
            "error": f"{type(err).__name__}: {err}",
            "traceback": tb,
        },
    )


def _worker_spec(plan: RunPlan):
    from ohgw_bench.execution.backends.workers.messages import WorkerSpec

    return WorkerSpec(
        task=plan.task.name,
        threads=_threads(plan),
        warm_start=plan.optimizer.warm_start,
        warm_start_params=dict(plan.optimizer.warm_start_params),
    )


@contextlib.contextmanager
def _trial_backend(plan: RunPlan, work: Path, gpus: list[int] | None, meta: dict[str, Any]):
    """The run's syne-tune backend and the tuner's polling interval; workers end when this exits."""
    if plan.replay:
        from ohgw_bench.execution.backends.table import make_table_backend

        arm = plan.optimizer.warm_start_label
        yield make_table_backend(plan.open_table(), plan.task, arm, _config_space(plan)), 0.0
        return
    if plan.backend == "subprocess":
        from ohgw_bench.execution.backends.trial_config import RUN_PID_ENV
        from ohgw_bench.execution.backends.workers.pool import DROPPED_ENV
        from ohgw_bench.execution.gpus import make_local_backend

        # LocalBackend's trials inherit this process's environment: follow the run, drop what slows them
        saved = {k: os.environ.get(k) for k in (RUN_PID_ENV, *DROPPED_ENV)}
        os.environ[RUN_PID_ENV] = str(os.getpid())
        for k in DROPPED_ENV:
            os.environ.pop(k, None)
        try:
            yield make_local_backend(Path(__file__).parent / "backends" / "subprocess_trial.py", gpus), 0.2
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        return
    from ohgw_bench.execution.backends.workers.backend import WarmWorkerBackend
    from ohgw_bench.execution.backends.workers.pool import WorkerPool

    pool = WorkerPool(plan.workers, _worker_spec(plan), work / "workers", gpus)
    try:
        started = time.perf_counter()
        pool.start()
        meta["backend_info"] = {
            "worker_start_seconds": round(time.perf_counter() - started, 3),
            "worker_warmup_seconds": [round(s, 3) for s in pool.startup_seconds],
        }
        yield WarmWorkerBackend(pool, work / "trials"), 0.0
    finally:
        pool.close()
        if "backend_info" in meta:
            meta["backend_info"].update(
                workers_replaced=pool.replaced, decision_wait_seconds=_quantiles(pool.decision_waits)
            )


def _quantiles(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    ordered = sorted(values)
    pick = lambda q: round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 6)  # noqa: E731
    return {"n": len(ordered), "median": pick(0.5), "p95": pick(0.95), "max": round(ordered[-1], 6)}


def execute_run(
    plan: RunPlan, on_update: Callable[[TrajectoryWriter], None] | None = None, keep_work: bool = False
) -> Path:
    """Run the tuner until the budget is spent; return the run folder. Re-raises failures
    after marking the run failed (with its traceback in meta.json). Nothing the run started
    is alive when this returns or raises."""
    _quiet_syne_tune()
    from syne_tune import Tuner

    from ohgw_bench.execution.gpus import visible_gpu_count, visible_gpus

    table = plan.open_table()
    if plan.replay:
        data_info, gpus, n_gpus = table.meta.get("data_info"), None, None
    else:
        data_info = plan.task.load_data().info  # fail here, clearly, before any trial starts (e.g. CIFAR missing)
        gpus = visible_gpus()
        n_gpus = visible_gpu_count()
    directory = plan.directory
    if directory.exists():
        from ohgw_bench.execution.lifeline import end_orphan_trials

        end_orphan_trials(directory)  # trials of an interrupted subprocess-backend run, if any
        shutil.rmtree(directory)  # only reached with --overwrite or for a failed run
    directory.mkdir(parents=True)
    meta = run_meta(plan, data_info=data_info, gpus=gpus, n_gpus=n_gpus)
    write_json_atomic(directory / META, meta)
    writer = TrajectoryWriter(plan)
    work = directory / ".work"
    work.mkdir()
    previous_folder = os.environ.get("SYNETUNE_FOLDER")
    os.environ["SYNETUNE_FOLDER"] = str(work / "tuner")
    try:
        with _trial_backend(plan, work, gpus, meta) as (backend, sleep_time):
            callbacks = [_syne_tune_callback(writer, on_update)]
            tuner_class = Tuner
            if plan.replay:
                from ohgw_bench.execution.backends.table import replay_tuner_class, simulated_clock_callback

                callbacks.insert(0, simulated_clock_callback())  # starts the simulated clock first
                tuner_class = replay_tuner_class()
            tuner = tuner_class(
                trial_backend=backend,
                scheduler=make_scheduler(plan, _config_space(plan)),
                stop_criterion=lambda status: writer.budget_exhausted(),
                n_workers=plan.workers,
                sleep_time=sleep_time,
                results_update_interval=60.0,
                print_update_interval=3600.0,
                max_failures=10**6,
                save_tuner=False,
                callbacks=callbacks,
                trial_backend_path=str(work / "trials"),
                tuner_name="ohgw",
            )
            if plan.replay:  # simulated seconds since the tuner started
                writer.clock, writer.start = backend.time_keeper.time, 0.0
            else:
                writer.start = time.perf_counter()  # the clock starts once the workers are warm
            # syne-tune print()s a results table when the tuner ends; our summary replaces it.
            with open(work / "tuner-stdout.txt", "w") as sink, contextlib.redirect_stdout(sink):
                tuner.run()
            _keep_failed_trial_logs(writer, backend, directory)
        if writer.failed_trials and not writer.epochs_total:
            raise RuntimeError(
                f"every trial failed ({len(writer.failed_trials)}); their stderr is kept in "
                f"{directory}/trial-*.stderr.txt"
            )
        for trial_id, record in list(writer.records.items()):
            if record.status in (TrialStatus.RUNNING, TrialStatus.PAUSED):
                writer.on_status(trial_id, TrialStatus.STOPPED)
        meta.update(
            status="complete",
            ended_at=utc_now(),
            tuner_seconds=writer.elapsed(),
            epochs_total=writer.epochs_total,
            trials=len(writer.records),
        )
    except BaseException as err:
        meta.update(
            status="failed", ended_at=utc_now(), error=f"{type(err).__name__}: {err}", traceback=traceback.format_exc()
        )
        raise
    finally:
        writer.close()
        write_json_atomic(directory / META, meta)
        if previous_folder is None:
            os.environ.pop("SYNETUNE_FOLDER", None)
        else:
            os.environ["SYNETUNE_FOLDER"] = previous_folder
        if meta["status"] == "complete" and not keep_work:
            shutil.rmtree(work)
    return directory
