"""``ohgw-bench sweep``: the grid tasks × optimizers × seeds, run as Dask tasks, resumable.

Four parts, each testable on its own:

* **Spec** (:func:`ohgw_bench.execution.sweep.spec.build_spec`): a TOML file (keys ``tasks``, ``opts``, ``seeds``,
  ``budget``,
  ``workers``, ``out`` and nothing else) and/or command-line flags (a flag overrides the
  file's key). Every run of the grid is validated with :func:`ohgw_bench.execution.runner.prepare_run`
  before anything starts; a bad value is a :class:`SweepError` naming the file and line
  (or the flag) and, for an unknown name, the closest registered names.
* **Locks** (:class:`ohgw_bench.execution.runlock.RunLock`): one lock file per run,
  ``<out>/_locks/<task>/<optimizer>/seed-<k>.lock``, created with ``O_CREAT|O_EXCL`` and
  holding pid, hostname, the process start time and a heartbeat that a thread refreshes
  while the run executes. A lock from this host is *stale* when its process no longer exists (or
  is a zombie, or its pid was reused), one from another host when its heartbeat is older than
  ``stale_after`` seconds; a run whose lock was taken over anyway writes no final record
  (:class:`~ohgw_bench.execution.runner.LockLost`). Two sweeps pointed at the same results folder never
  write the same run; the one that finds a fresh lock reports the run as ``busy``.
* **Resumption** (:func:`run_one`, executed inside a Dask worker process under the lock):
  a run whose ``meta.json`` says ``complete`` (and whose JSONL files are there and end cleanly)
  is skipped; one complete with another budget or worker count than the spec asks is refused
  before anything starts (:func:`refuse_unsafe`), and so is a run folder behind a symbolic
  link. Anything else found in the run folder — status ``running`` (its lock was stale,
  so its process is gone), ``failed``, a missing or truncated JSONL file, no ``meta.json`` — is a
  broken attempt: the folder is moved whole to
  ``<out>/_attempts/<task>/<optimizer>/seed-<k>/attempt-<n>/`` with ``attempt.json`` (why
  and when) and its ``meta.json`` renamed to ``attempt-meta.json``, so that results
  loaders (which take every ``meta.json`` below a root as a run) never count it. The run
  then starts again in a fresh folder. Re-running a sweep command therefore runs exactly
  the runs that are missing.
* **Execution** (:func:`run_sweep`): one Dask task per run (``client.submit(run_one, ...,
  pure=False, key=...)``) on a ``LocalCluster`` (worker processes, one thread each) or on
  an existing scheduler. Each run's trials are subprocesses of the Dask worker process
  (syne-tune's LocalBackend uses ``subprocess.Popen``, which daemonic worker processes are
  allowed to do). A run that raises is recorded (``meta.json`` status ``failed`` by the
  runner, plus ``<run dir>/sweep-error.txt`` with the traceback; a run that fails before the
  runner wrote ``meta.json``, e.g. missing data, gets a minimal one); the sweep goes on.

Every Dask worker must have exactly one thread: a run sets process-wide state
(``SYNETUNE_FOLDER``), so two runs must never share a process. With a remote scheduler,
``out`` must be a path every worker and the client see (a shared filesystem).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import re
import socket
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from distributed.diagnostics.plugin import WorkerPlugin

if TYPE_CHECKING:
    from ohgw_bench.execution.plan import RunPlan, RunRequest

from ohgw_bench.core.budget import Budget
from ohgw_bench.core.confined import EscapesOut, confined
from ohgw_bench.core.limits import max_dask_workers
from ohgw_bench.core.records import RunStatus
from ohgw_bench.core.trajectory import (
    EVENTS,
    META,
    TRIALS,
    read_jsonl,
    read_meta,
    run_dir,
    write_json_atomic,
)
from ohgw_bench.execution.dask_cluster import check_dask_workers
from ohgw_bench.execution.gpus import VISIBLE, gpus_for_worker, visible_gpus
from ohgw_bench.execution.interrupt import INTERRUPTS, Interrupted, reason
from ohgw_bench.execution.lifeline import end_orphan_trials
from ohgw_bench.execution.runlock import (
    HEARTBEAT_EVERY_S,
    STALE_AFTER_S,
    RunLock,
    lock_path,
)
from ohgw_bench.execution.sweep.progress import SweepProgress, format_summary
from ohgw_bench.execution.sweep.records import (
    ATTEMPT_META,
    ATTEMPTS_DIR,
    BUSY,
    DONE,
    FAILED,
    NOT_STARTED,
    QUEUED,
    RUNNING,
    SKIPPED,
    SWEEP_ERROR,
    RunOutcome,
    SweepResult,
)
from ohgw_bench.execution.sweep.spec import (
    RunKey,
    SweepError,
    SweepSpec,
    spec_and_where,
    validate_runs,
)

# =========================================================================== resumption


def inspect_run(directory: Path) -> str | None:
    """None when ``directory`` holds a complete run, "absent" when there is nothing, else why it is broken."""
    if not directory.exists():
        return "absent"
    if not (directory / META).exists():
        return f"no {META}"
    try:
        status = read_meta(directory).status
    except (OSError, ValueError) as err:  # ValueError: damaged or not our schema (read_meta says which)
        return f"unreadable {META} ({err})"
    for name in (TRIALS, EVENTS):
        try:
            if read_jsonl(directory / name).truncated:
                return f"{name} ends in a truncated line"
        except ValueError as err:
            return f"damaged {name} ({err})"
    if status == RunStatus.COMPLETE:
        missing = [name for name in (TRIALS, EVENTS) if not (directory / name).is_file()]
        return f"{META} says complete but {' and '.join(missing)} is missing" if missing else None
    if status == RunStatus.RUNNING:
        return "interrupted (status running, no live process holds its lock)"
    return f"status {status!r}"


def attempts_dir(out: Path | str, task: str, optimizer: str, seed: int) -> Path:
    return Path(out) / ATTEMPTS_DIR / task / optimizer / f"seed-{seed}"


def move_aside(out: Path | str, run: RunKey, reason: str) -> Path:
    """Move a broken run folder to ``<out>/_attempts/.../attempt-<n>/``; return where it went.
    Call it holding the run's lock (so no live sweep process owns the folder)."""
    source = confined(out, run_dir(out, run.task, run.optimizer, run.seed))
    parent = confined(out, attempts_dir(out, run.task, run.optimizer, run.seed))
    ended = end_orphan_trials(source)
    parent.mkdir(parents=True, exist_ok=True)
    taken = [int(m.group(1)) for p in parent.iterdir() if (m := re.fullmatch(r"attempt-(\d+)", p.name))]
    target = parent / f"attempt-{max(taken, default=0) + 1}"
    os.rename(source, target)
    if (target / META).exists():
        os.rename(target / META, target / ATTEMPT_META)  # loaders take every meta.json as a run
    write_json_atomic(
        target / "attempt.json",
        {
            "run_dir": str(source),
            "reason": reason,
            "moved_at": _now(),
            "orphan_trials_ended": ended,
            "moved_by": {"pid": os.getpid(), "host": socket.gethostname()},
        },
    )
    return target


def refuse_links(out: Path | str, run: RunKey) -> None:
    """:class:`~ohgw_bench.core.confined.EscapesOut` when the run's folder, its attempts' folder or its lock
    lies behind a symbolic link below ``out``: resuming would remove, move or write outside ``out``."""
    confined(out, run_dir(out, run.task, run.optimizer, run.seed))
    confined(out, attempts_dir(out, run.task, run.optimizer, run.seed))
    confined(out, lock_path(out, run.task, run.optimizer, run.seed))


def other_settings(directory: Path, budget: Budget, workers: int | None) -> list[str]:
    """What the complete run in ``directory`` ran with that differs from the ``budget`` and ``workers`` asked
    (None: not asked); empty when it is the run asked for. Its folder's name carries neither."""
    meta = read_meta(directory)
    found = []
    if (meta.budget.get("amount"), meta.budget.get("clock")) != (budget.amount, budget.clock):
        found.append(f"budget {_budget_text(meta.budget)} (asked: {budget})")
    if workers is not None and meta.workers != workers:
        found.append(f"workers {meta.workers} (asked: {workers})")
    return found


def _budget_text(budget: dict[str, Any]) -> str:
    try:
        return str(Budget(float(budget["amount"]), budget["clock"]))
    except (KeyError, TypeError, ValueError):  # a clock this version does not know: show it as recorded
        return f"{budget.get('amount')} {budget.get('clock')}"


def refuse_unsafe(spec: SweepSpec, runs: Iterable[RunKey]) -> None:
    """SweepError, before anything starts or is written, for runs the sweep may not touch: behind a symbolic
    link below ``out``, or complete with another budget or worker count than the spec asks. The sweep
    refuses rather than re-runs those: replacing a complete run would throw away its result, and keeping it
    would pair runs of different budgets."""
    behind_links: list[str] = []
    others: list[str] = []
    for run in runs:
        try:
            refuse_links(spec.out, run)
        except EscapesOut as err:
            behind_links.append(str(err))
            continue
        directory = run_dir(spec.out, run.task, run.optimizer, run.seed)
        if inspect_run(directory) is None and (found := other_settings(directory, spec.parsed_budget, spec.workers)):
            others.append(f"{run.label}: {', '.join(found)}")
    if behind_links:
        raise SweepError(f"{len(behind_links)} run(s) lie behind a symbolic link; the first: {behind_links[0]}")
    if others:
        shown = "\n  ".join(others[:5]) + (f"\n  ... and {len(others) - 5} more" if len(others) > 5 else "")
        raise SweepError(
            f"{len(others)} run(s) in {spec.out} are complete with another budget or worker count than this "
            f"sweep asks:\n  {shown}\nA sweep neither counts them as its runs nor replaces them (their results "
            "would be lost, or paired with runs of other settings): give another --out, or move them away. "
            "Nothing was started"
        )


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


#: Sweeps asked to stop in this process (sweep id -> why), by :class:`StopSweep` on each Dask worker.
_STOPPING: dict[str, str] = {}


class StopSweep(WorkerPlugin):
    """Registered when a sweep is interrupted: on every Dask worker, now and any started later (a nanny
    restarts a worker that died), the sweep's runs stop at their tuner's next loop (marked failed, lock
    released) and its queued runs answer ``not started`` instead of starting."""

    def __init__(self, sweep_id: str, why: str) -> None:
        self.sweep_id, self.why = sweep_id, why
        self.name = f"ohgw-stop-{sweep_id}"

    def setup(self, worker: Any) -> None:
        _STOPPING[self.sweep_id] = self.why


def _stop_check(sweep_id: str | None) -> Callable[[Any], None] | None:
    """A run's ``on_update`` hook that raises :class:`Interrupted` once its sweep is asked to stop."""
    if sweep_id is None:
        return None

    def check(writer: Any) -> None:
        why = _STOPPING.get(sweep_id)
        if why is not None:
            raise Interrupted(f"the sweep stopped: {why}")

    return check


def run_one(
    request: RunRequest,
    sweep_id: str | None = None,
    topic: str | None = None,
    stale_after: float = STALE_AFTER_S,
    heartbeat_every: float = HEARTBEAT_EVERY_S,
) -> RunOutcome:
    """One run of a sweep, in the process that executes it (a Dask worker): lock, skip or
    resume, execute, record. Never raises for a failing run: it returns a ``failed`` outcome."""
    t_enter = time.time()
    task, optimizer, seed, out = request.task, request.optimizer.canonical, request.seed, request.out
    run = RunKey(task, optimizer, seed)
    directory = run_dir(out, task, optimizer, seed)
    stamps: dict[str, Any] = {"t_enter": t_enter, "worker_pid": os.getpid()}

    def outcome(state: str, **kw: Any) -> RunOutcome:
        return RunOutcome(run=run, state=state, directory=str(directory), t_exit=time.time(), **stamps, **kw)

    try:
        refuse_links(out, run)
    except EscapesOut as err:  # sweep_main refused it up front; this one appeared since: touch nothing
        return outcome(FAILED, detail=f"refused: {err}")
    if sweep_id is not None and sweep_id in _STOPPING:
        return outcome(NOT_STARTED, detail=f"the sweep stopped: {_STOPPING[sweep_id]}")
    lock = RunLock(lock_path(out, task, optimizer, seed), stale_after, heartbeat_every, sweep_id)
    if not lock.acquire():
        holder = lock.holder.describe() if lock.holder else "another process"
        return outcome(BUSY, detail=f"locked by {holder}")
    try:
        reason = inspect_run(directory)
        if reason is None:
            if found := other_settings(directory, request.budget, request.workers):
                return outcome(
                    FAILED, detail=f"refused: complete with other settings ({', '.join(found)}); left as it is"
                )
            return outcome(SKIPPED, detail="already complete")
        moved = None
        if reason != "absent":
            moved = str(move_aside(out, run, reason))
        from ohgw_bench.execution.plan import prepare_run
        from ohgw_bench.execution.runner import RunNotRecorded, execute_run

        plan = prepare_run(request, overwrite=False)
        if topic is not None:
            from distributed import get_worker

            get_worker().log_event(topic, {"run": dataclasses.asdict(run), "state": RUNNING, "t": time.time()})
        stamps["t_run_start"] = time.time()
        try:
            execute_run(plan, on_update=_stop_check(sweep_id), owns_folder=lock.owned)
        except RunNotRecorded as err:  # lock lost, folder vanished, disk full: the message says what is left
            stamps["t_run_end"] = time.time()
            return outcome(FAILED, detail=str(err), traceback=traceback.format_exc(), moved_to=moved)
        except Interrupted as err:  # the runner marked the run failed, with this reason, in its meta.json
            stamps["t_run_end"] = time.time()
            return outcome(FAILED, detail=f"stopped: {err}", moved_to=moved)
        except Exception as err:  # recorded (meta.json + sweep-error.txt) and reported by the sweep
            stamps["t_run_end"] = time.time()
            tb = traceback.format_exc()
            try:
                _record_failure(plan, err, tb)
            except OSError as record_error:  # a full disk, say: the outcome says what could not be written
                detail = f"{type(err).__name__}: {err}; and {record_error}"
                return outcome(FAILED, detail=detail, traceback=tb, moved_to=moved)
            return outcome(FAILED, detail=f"{type(err).__name__}: {err}", traceback=tb, moved_to=moved)
        stamps["t_run_end"] = time.time()
        note = f"resumed ({reason}; old attempt in {moved})" if moved else ""
        if lock.lost:
            note = (note + "; " if note else "") + "WARNING: lock was lost during the run"
        return outcome(DONE, detail=note, moved_to=moved)
    finally:
        lock.release()


def _record_failure(plan: RunPlan, err: BaseException, tb: str) -> None:
    """``sweep-error.txt`` with the traceback, and a failed meta.json if the runner wrote none (it failed
    before, e.g. on damaged data). OSError naming the file when one cannot be written."""
    from ohgw_bench.execution.meta import write_failed_meta

    directory = confined(plan.out, plan.directory)
    directory.mkdir(parents=True, exist_ok=True)
    try:
        (directory / SWEEP_ERROR).write_text(tb, encoding="utf-8")
    except OSError as write_error:
        message = f"could not write {directory / SWEEP_ERROR}: {write_error.strerror}"
        raise OSError(write_error.errno, message) from write_error
    if not (directory / META).exists():
        write_failed_meta(plan, err, tb)


# =========================================================================== execution


class PinWorkersToGpus(WorkerPlugin):
    """Set each local worker's ``CUDA_VISIBLE_DEVICES`` to its share of the GPUs when it starts
    (and again if it restarts), before any run touches CUDA. LocalCluster names workers 0, 1, …"""

    name = "ohgw-pin-gpus"

    def __init__(self, gpus: list[int], n_workers: int) -> None:
        self.gpus, self.n_workers = list(gpus), n_workers

    def setup(self, worker: Any) -> None:
        share = gpus_for_worker(int(worker.name), self.n_workers, self.gpus)
        os.environ[VISIBLE] = ",".join(str(g) for g in share)


def default_n_dask_workers(spec: SweepSpec, n_runs: int) -> int:
    """One Dask worker per ``workers`` cores (each run spawns ``workers`` trial processes); a replay
    trains nothing, so one per core."""
    per_run = 1 if spec.replay else spec.workers
    return max(1, min(n_runs, (os.cpu_count() or 1) // per_run, max_dask_workers()))


def precheck(spec: SweepSpec, runs: Iterable[RunKey]) -> tuple[list[RunKey], list[RunKey]]:
    """Split runs into (to submit, already complete). Done without locks: the worker re-checks."""
    todo: list[RunKey] = []
    complete: list[RunKey] = []
    for run in runs:
        (complete if inspect_run(run_dir(spec.out, run.task, run.optimizer, run.seed)) is None else todo).append(run)
    return todo, complete


#: How long an interrupted sweep waits for its running runs to stop (each marks itself failed and
#: releases its lock): inside the 30 s that Slurm leaves between SIGTERM and SIGKILL by default.
STOP_GRACE_S = 20.0


class _Starts:
    """Run starts reported by the workers (Dask events, received on another thread), taken in batches."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._news: list[tuple[float, RunKey]] = []

    def on_event(self, event: tuple[float, dict[str, Any]]) -> None:
        message = event[1]
        with self._lock:
            self._news.append((float(message["t"]), RunKey(**message["run"])))

    def take(self) -> list[tuple[float, RunKey]]:
        with self._lock:
            news, self._news = self._news, []
        return news


def _connect(scheduler_address: str | None, n_workers: int) -> tuple[Any, Any]:
    """(cluster or None, client): a client of the scheduler at ``scheduler_address``, or of a new local
    cluster of ``n_workers`` (each pinned to its share of the GPUs)."""
    from distributed import Client

    from ohgw_bench.execution.dask_cluster import IgnoreSigterm, local_cluster

    if scheduler_address:
        try:
            return None, Client(scheduler_address, timeout="20s")
        except (OSError, TimeoutError, ValueError) as err:  # unreachable, or not an address
            raise SweepError(
                f"--scheduler-address {scheduler_address}: cannot connect ({type(err).__name__}: {err})"
            ) from None
    cluster = local_cluster(n_workers)
    try:
        client = Client(cluster)
        client.register_plugin(IgnoreSigterm())
        gpus = visible_gpus()
        if gpus is not None:  # several GPUs: each local worker (and so each of its runs) gets its share
            client.register_plugin(PinWorkersToGpus(gpus, n_workers))
    except BaseException:
        cluster.close()
        raise
    return cluster, client


def _check_one_thread_each(client: Any) -> int:
    """The number of Dask workers; SweepError when one has several threads."""
    nthreads = client.nthreads()
    crowded = {w: n for w, n in nthreads.items() if n != 1}
    if crowded:
        raise SweepError(
            f"Dask workers with more than one thread: {crowded}; start them with --nthreads 1 "
            "(a run sets process-wide state, so two runs must never share a process)"
        )
    return len(nthreads)


def _create_out(out: Path) -> None:
    """The sweep's first write, once the cluster is there (a refused address writes nothing): here rather
    than in a worker's first lock, so that a folder no one may create is a clear SweepError."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise SweepError(f"out: cannot create the results folder {out}: {err.strerror or err}") from None


def _outcome_of(future: Any, run: RunKey, spec: SweepSpec) -> RunOutcome:
    """A finished future's outcome; a failed outcome when the task itself failed."""
    try:
        outcome: RunOutcome = future.result()
    except Exception as err:  # the worker died (KilledWorker) or the task could not run
        outcome = RunOutcome(
            run,
            FAILED,
            str(run_dir(spec.out, *dataclasses.astuple(run))),
            f"{type(err).__name__}: {err}",
            traceback.format_exc(),
        )
    return outcome


def _collect(
    pending: dict[Any, RunKey],
    spec: SweepSpec,
    result: SweepResult,
    progress: SweepProgress,
    starts: _Starts,
    poll_s: float,
    deadline: float | None = None,
) -> None:
    """Record each run as it finishes, until none is pending or ``deadline`` (``time.time()``) passes."""
    while pending and (deadline is None or time.time() < deadline):
        news = starts.take()
        # Finished first: a worker starts its next run right after finishing one, and that
        # start can reach us in the same poll as the finish.
        for future in [f for f in pending if f.done()]:
            outcome = _outcome_of(future, pending.pop(future), spec)
            if outcome.state == NOT_STARTED:  # a stopping sweep's queued run: nothing happened to it
                continue
            result.outcomes.append(outcome)
            progress.finish(outcome)
        for t, run in news:
            progress.start(run, t)
        progress.refresh()
        if pending:
            time.sleep(poll_s)


def _stop_runs(client: Any, sweep_id: str, why: str) -> None:
    """Ask every worker to stop this sweep's runs (:class:`StopSweep`): the running ones stop at their
    tuner's next loop, the queued ones answer ``not started`` as they come up. Nothing is cancelled, since
    a run's start reaches us late (an event): a cancelled run could be one already under way."""
    try:
        client.register_plugin(StopSweep(sweep_id, why))
    except (OSError, TimeoutError) as err:  # a scheduler gone or unreachable: the cluster's end stops them
        print(
            f"ohgw-bench: could not ask the Dask workers to stop the runs ({type(err).__name__}: {err}); "
            "they end with the cluster and resume on the next sweep",
            file=sys.stderr,
        )


def run_sweep(
    spec: SweepSpec,
    runs: Sequence[RunKey] | None = None,
    *,
    scheduler_address: str | None = None,
    n_dask_workers: int | None = None,
    progress: SweepProgress | None = None,
    stale_after: float = STALE_AFTER_S,
    heartbeat_every: float = HEARTBEAT_EVERY_S,
    poll_s: float = 0.25,
    stop_grace_s: float = STOP_GRACE_S,
) -> SweepResult:
    """Execute the runs (default: the whole grid) as Dask tasks; return every run's outcome.

    Ctrl-C (or SIGTERM, under :func:`~ohgw_bench.execution.interrupt.sigterm_like_ctrl_c`) stops the
    sweep instead of raising: the running runs are asked to stop (each marks itself failed and releases
    its lock; up to ``stop_grace_s`` seconds), the queued ones never start, and the result says so
    (``interrupted``, ``not_started``, ``unfinished``). A second Ctrl-C skips the wait."""
    # syne-tune's import sets the root logger to INFO; Dask's INFO chatter would bury the progress.
    logging.getLogger("distributed").setLevel(logging.WARNING)
    runs = list(spec.runs() if runs is None else runs)
    started = time.time()
    sweep_id = uuid.uuid4().hex[:10]
    progress = progress or SweepProgress(runs, mode="quiet")
    todo, complete = precheck(spec, runs)
    result = SweepResult()
    for run in complete:
        outcome = RunOutcome(run, SKIPPED, str(run_dir(spec.out, *dataclasses.astuple(run))), "already complete")
        result.outcomes.append(outcome)
        progress.finish(outcome)
    if not todo:
        progress.close(result)
        result.seconds = time.time() - started
        return result

    cluster = client = None
    pending: dict[Any, RunKey] = {}
    starts = _Starts()
    try:
        cluster, client = _connect(scheduler_address, n_dask_workers or default_n_dask_workers(spec, len(todo)))
        progress.slots = max(1, _check_one_thread_each(client))
        _create_out(spec.out)
        progress.announce(len(todo), len(complete))
        topic = f"ohgw-sweep-{sweep_id}"
        client.subscribe_topic(topic, starts.on_event)
        for position, run in enumerate(todo):
            key = f"ohgw-run {run.task} {run.optimizer} seed-{run.seed} {sweep_id}"
            future = client.submit(
                run_one,
                spec.request(run),
                sweep_id,
                topic,
                stale_after,
                heartbeat_every,
                pure=False,
                key=key,
                retries=0,
                # start in grid order (a seed's arms back to back); Dask runs higher priority first
                priority=len(todo) - position,
            )
            pending[future] = run
        _collect(pending, spec, result, progress, starts, poll_s)
        client.unsubscribe_topic(topic)
    except INTERRUPTS as err:
        result.interrupted = reason(err)
        if client is not None:
            _stop_runs(client, sweep_id, result.interrupted)
            _collect(pending, spec, result, progress, starts, poll_s, deadline=time.time() + stop_grace_s)
        result.unfinished = [run for run in pending.values() if progress.state.get(run) != QUEUED]
        accounted = {o.run for o in result.outcomes} | set(result.unfinished)
        result.not_started = [run for run in todo if run not in accounted]
    finally:
        progress.close(result)
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
            # Interrupted: the workers are gone, but trials they started may not be.
            for run in pending.values():
                end_orphan_trials(run_dir(spec.out, run.task, run.optimizer, run.seed))
    result.seconds = time.time() - started
    return result


def sweep_main(
    spec_path: str | None,
    *,
    tasks: str | None,
    opts: str | None,
    seeds: str | None,
    budget: str | None,
    workers: int | None,
    out: str | None,
    scheduler_address: str | None,
    backend: str | None = None,
    threads: int | None = None,
    graphs: bool | None = None,
    configs_from: str | None = None,
    table_resample: int | None = None,
    n_dask_workers: int | None,
    dry_run: bool = False,
    quiet: bool = False,
) -> int:
    """What ``ohgw-bench sweep`` does after parsing; raises SweepError for bad input."""

    if n_dask_workers is not None and scheduler_address:
        raise SweepError("--n-dask-workers sizes a local cluster; it cannot be used with --scheduler-address")
    if n_dask_workers is not None:
        check_dask_workers(n_dask_workers, SweepError)
    spec, where = spec_and_where(
        spec_path,
        tasks=tasks,
        opts=opts,
        seeds=seeds,
        budget=budget,
        workers=workers,
        out=out,
        backend=backend,
        threads=threads,
        graphs=graphs,
        configs_from=configs_from,
        table_resample=table_resample,
    )
    runs = validate_runs(spec, where)
    refuse_unsafe(spec, runs)
    if dry_run:
        todo, complete = precheck(spec, runs)
        done = set(complete)
        for run in runs:
            print(f"{'skip' if run in done else 'run '}  {run.label}")
        print(f"{len(runs)} runs: {len(todo)} to run, {len(complete)} already complete (dry run: nothing started)")
        return 0
    # a replay's clock is simulated
    budget_seconds = None if spec.replay else spec.parsed_budget.in_clock("tuner_seconds", spec.workers)
    progress = SweepProgress(runs, mode="quiet" if quiet else "auto", budget_seconds=budget_seconds)
    result = run_sweep(
        spec, runs, scheduler_address=scheduler_address, n_dask_workers=n_dask_workers, progress=progress
    )
    print(format_summary(result))
    return result.exit_code
