"""Execute a planned run: syne-tune's Tuner drives the scheduler over the run's trial backend, and
the trajectory is written as results arrive (:mod:`ohgw_bench.execution.writer`)."""

from __future__ import annotations

import contextlib
import os
import shutil
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ohgw_bench.core.confined import EscapesOut, confined
from ohgw_bench.core.provenance import utc_now
from ohgw_bench.core.records import RunStatus, TrialStatus
from ohgw_bench.core.run_meta import RunMeta
from ohgw_bench.core.trajectory import (
    META,
    write_json_atomic,
)
from ohgw_bench.execution.meta import run_meta
from ohgw_bench.execution.plan import (
    RunPlan,
    RunRefused,
    make_scheduler,
    quiet_syne_tune,
    scheduler_config_space,
)
from ohgw_bench.execution.writer import TrajectoryWriter


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


def _keep_failed_trial_logs(writer: TrajectoryWriter, backend: Any, directory: Path) -> None:
    """Keep a failed trial's stderr next to the trajectory: the work folder is removed later."""
    for trial_id in sorted(writer.failed_trials):
        lines = backend.stderr(trial_id)
        if lines:
            (directory / f"trial-{trial_id}.stderr.txt").write_text("".join(lines), encoding="utf-8")


def worker_spec(plan: RunPlan):
    from ohgw_bench.execution.backends.workers.messages import WorkerSpec

    names = set(plan.task.space.names)
    return WorkerSpec({k: v for k, v in scheduler_config_space(plan).items() if k not in names})


@contextlib.contextmanager
def _trial_backend(plan: RunPlan, work: Path, gpus: list[int] | None, info: dict[str, Any]):
    """The run's syne-tune backend and the tuner's polling interval; workers end when this exits.
    What the warm workers' start and decisions cost is added to ``info`` (meta.json's backend_info)."""
    if plan.replay:
        from ohgw_bench.execution.backends.table import make_table_backend

        arm = plan.optimizer.warm_start_label
        yield make_table_backend(plan.open_table(), plan.task, arm, scheduler_config_space(plan)), 0.0
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
            entry_point = Path(__file__).parent / "backends" / "subprocess_trial.py"
            yield make_local_backend(entry_point, gpus, on_start=_recorder(work, "trial")), 0.2
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        return
    from ohgw_bench.execution.backends.workers.backend import WarmWorkerBackend
    from ohgw_bench.execution.backends.workers.pool import WorkerPool

    pool = WorkerPool(plan.workers, worker_spec(plan), work / "workers", gpus, on_spawn=_recorder(work, "worker"))
    try:
        started = time.perf_counter()
        pool.start()
        info.update(
            worker_start_seconds=round(time.perf_counter() - started, 3),
            worker_warmup_seconds=[round(s, 3) for s in pool.startup_seconds],
        )
        yield WarmWorkerBackend(pool, work / "trials"), 0.0
    finally:
        pool.close()
        if info:
            info.update(workers_replaced=pool.replaced, decision_wait_seconds=_quantiles(pool.decision_waits))


def _recorder(work: Path, role: str) -> Callable[[int], None]:
    """Records each trial process the run starts, by pid and start time, in its work folder: how a later
    attempt finds what this one left running (:func:`~ohgw_bench.execution.lifeline.end_orphan_trials`)."""
    from ohgw_bench.execution.lifeline import PROCESSES, record_process

    return lambda pid: record_process(work / PROCESSES, pid, role)


def _quantiles(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    ordered = sorted(values)
    pick = lambda q: round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 6)  # noqa: E731
    return {"n": len(ordered), "median": pick(0.5), "p95": pick(0.95), "max": round(ordered[-1], 6)}


class RunNotRecorded(RuntimeError):
    """The run's final record could not be written where it belongs; the message says why, and what the
    folder holds instead (nothing, or the meta.json of its start, still saying ``running``)."""


class LockLost(RunNotRecorded):
    """The run's lock was taken over while it ran: the folder may now be another run's."""


class IncompleteTrajectory(RuntimeError):
    """The tuner finished, but what the run wrote is not all on disk: the run is recorded ``failed``."""


#: disk space a run holds while it runs (``.work/reserve``) and frees to write its final record on a full disk
RESERVE = "reserve"
RESERVE_BYTES = 256 * 1024


def execute_run(
    plan: RunPlan,
    on_update: Callable[[TrajectoryWriter], None] | None = None,
    keep_work: bool = False,
    owns_folder: Callable[[], bool] | None = None,
) -> Path:
    """Run the tuner until the budget is spent; return the run folder. Re-raises failures
    after marking the run failed (with its traceback in meta.json). Nothing the run started
    is alive when this returns or raises.

    ``owns_folder`` (the run's :meth:`~ohgw_bench.execution.runlock.RunLock.owned`) is asked before
    the final writes: when the lock was taken over, the folder at the run's path may be another
    run's, so nothing more is written there and :class:`LockLost` is raised.

    A run is complete only if its folder and both trajectory files are still the ones it wrote when it
    ends: otherwise it is recorded failed (:class:`IncompleteTrajectory`), or, when the folder itself
    vanished, nothing is written and :class:`RunNotRecorded` says so. A final record that cannot be
    written (a full disk, even after freeing the run's reserve) raises :class:`RunNotRecorded`."""
    quiet_syne_tune()
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
    _refuse_links(plan)  # checked by prepare_run and lock_run too; again right before anything is removed
    if directory.exists():
        from ohgw_bench.execution.lifeline import end_orphan_trials

        end_orphan_trials(directory)  # trials of an interrupted attempt still alive, as the attempt recorded them
        shutil.rmtree(directory)  # only reached with --overwrite or for a failed run
    directory.mkdir(parents=True)
    meta = run_meta(plan, data_info=data_info, gpus=gpus, n_gpus=n_gpus)
    try:
        write_json_atomic(directory / META, meta.to_json())
    except OSError as err:
        raise RunNotRecorded(f"could not write {directory / META} as the run started ({err}); nothing ran") from err
    writer = TrajectoryWriter(plan)
    backend_info: dict[str, Any] = {}
    work = directory / ".work"
    work.mkdir()
    previous_folder = os.environ.get("SYNETUNE_FOLDER")
    os.environ["SYNETUNE_FOLDER"] = str(work / "tuner")
    try:
        _hold_reserve(work / RESERVE)
        with _trial_backend(plan, work, gpus, backend_info) as (backend, sleep_time):
            callbacks = [_syne_tune_callback(writer, on_update)]
            tuner_class = Tuner
            if plan.replay:
                from ohgw_bench.execution.backends.table import replay_tuner_class
                from ohgw_bench.execution.simulator_clock import simulator_clock

                callbacks.insert(0, simulator_clock().callback)  # starts the simulated clock first
                tuner_class = replay_tuner_class()
            tuner = tuner_class(
                trial_backend=backend,
                scheduler=make_scheduler(plan, scheduler_config_space(plan)),
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
        meta = meta.replace(
            status=RunStatus.COMPLETE,
            ended_at=utc_now(),
            tuner_seconds=writer.elapsed(),
            epochs_total=writer.epochs_total,
            trials=len(writer.records),
        )
    except BaseException as err:
        meta = meta.replace(
            status=RunStatus.FAILED,
            ended_at=utc_now(),
            error=f"{type(err).__name__}: {err}",
            traceback=traceback.format_exc(),
        )
        raise
    finally:
        if previous_folder is None:
            os.environ.pop("SYNETUNE_FOLDER", None)
        else:
            os.environ["SYNETUNE_FOLDER"] = previous_folder
        incomplete = _finish(plan, writer, meta.replace(backend_info=backend_info or None), owns_folder)
    if incomplete is not None:
        raise IncompleteTrajectory(f"{incomplete}: the run is not complete, and is recorded as failed")
    if not keep_work:
        shutil.rmtree(work)
    return directory


def _refuse_links(plan: RunPlan) -> None:
    """RunRefused, nothing touched, when the run folder lies behind a symbolic link below --out."""
    try:
        confined(plan.out, plan.directory)
    except EscapesOut as err:
        raise RunRefused(str(err)) from None


def _hold_reserve(path: Path) -> None:
    """Write :data:`RESERVE_BYTES` (real blocks, not a sparse file) that :func:`_write_final` frees when the
    disk is full, so that the record of why the run failed still fits."""
    with open(path, "wb") as fh:
        fh.write(bytes(RESERVE_BYTES))


def _finish(
    plan: RunPlan, writer: TrajectoryWriter, meta: RunMeta, owns_folder: Callable[[], bool] | None
) -> str | None:
    """Close the trajectory and write the run's final meta.json. A complete run whose trajectory is not
    all on disk is written as failed, and why is returned (None otherwise). Raises
    :class:`RunNotRecorded` (:class:`LockLost`) where nothing may or can be written."""
    directory = plan.directory
    problems = []
    try:
        writer.close()
    except OSError as err:  # the lines still buffered could not be written (a full disk, say)
        problems.append(f"closing the trajectory failed: {err}")
    if not directory.is_dir():
        raise RunNotRecorded(
            f"the run folder {directory} vanished while the run ran (was --out removed?): the run is not "
            "complete, and nothing was written (its folder is not made again for a record without a trajectory)"
        )
    if owns_folder is not None and not owns_folder():
        raise LockLost(
            f"the lock of {directory} was taken over by another process while this run ran; "
            "its final meta.json was not written there (the folder may be the other run's)"
        )
    problems += writer.lost_files()
    reason = "; ".join(problems) if problems else None
    was_complete = meta.status == RunStatus.COMPLETE
    if reason is not None and was_complete:
        meta = meta.replace(status=RunStatus.FAILED, error=f"{IncompleteTrajectory.__name__}: {reason}")
    elif reason is not None:
        meta = meta.replace(error=f"{meta.error}; then {reason}")
    _write_final(directory, meta)
    return reason if was_complete else None


def _write_final(directory: Path, meta: RunMeta) -> None:
    """Write the final meta.json; on an error (a full disk) free the run's reserve and try once more.
    :class:`RunNotRecorded` says what failed and what meta.json still says."""
    path, reserve = directory / META, directory / ".work" / RESERVE
    try:
        write_json_atomic(path, meta.to_json())
    except OSError as first:
        freed = reserve.exists()
        reserve.unlink(missing_ok=True)
        try:
            write_json_atomic(path, meta.to_json())
        except OSError as err:
            outcome = "completed" if meta.status == RunStatus.COMPLETE else f"{meta.status.value}: {meta.error}"
            raise RunNotRecorded(
                f"could not write the run's final record {path}: {err}"
                f"{' (even after freeing its reserve)' if freed else ''}; it still says 'running', "
                f"though the run {outcome}"
            ) from first
    reserve.unlink(missing_ok=True)
