"""The run's warm worker processes: start them, hand them trials, pass decisions, replace the dead.

The pool is the only part that knows workers are local processes. The backend talks to it
through four calls — :meth:`submit`, :meth:`decide`, :meth:`poll`, :meth:`close` — and the
events it returns (:class:`Report`, :class:`TrialEnded`), so a pool whose workers live on
Dask workers could take its place for a run spread over machines.

Lifetime: workers are children of the run's process with ``PR_SET_PDEATHSIG`` and a
watchdog (see :mod:`.lifeline`), so they die with it however it dies; :meth:`close` ends
them on every normal or exceptional exit. A worker that dies mid-trial (segfault, OOM
kill, ``kill -9``) fails that trial and is replaced; the run goes on.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path

from ohgw_bench.execution.backends.workers.messages import (
    Action,
    Decision,
    Ready,
    Report,
    Shutdown,
    StartTrial,
    TrialEnded,
    WorkerSpec,
)

Event = Report | TrialEnded
#: Environment a trial process must not inherit. Dask's nanny sets MALLOC_TRIM_THRESHOLD_=65536 for
#: its workers (to hand memory back to the OS); in a trial it makes glibc trim on every large free,
#: which doubled an mnist1d-cnn epoch (1.4 s against 0.7 s, measured), so runs inside a sweep
#: trained at half the speed of the same run started by `ohgw-bench run`.
DROPPED_ENV = ("MALLOC_TRIM_THRESHOLD_",)
#: a worker that dies before it is ready this many times in a row means the run cannot work
MAX_FAILED_STARTS = 3
CLOSE_GRACE_S = 5.0


class WorkerStartError(RuntimeError):
    """A worker died before it was ready (its log's tail is in the message)."""


@dataclass
class _Worker:
    index: int
    process: subprocess.Popen
    conn: Connection
    log: Path
    ready: bool = False
    trial_id: int | None = None  # the trial it is running, if any


class WorkerPool:
    """``size`` warm workers for one run. Not thread-safe: the tuner loop owns it."""

    def __init__(
        self,
        size: int,
        spec: WorkerSpec,
        log_dir: Path,
        gpus: list[int] | None = None,
        on_spawn: Callable[[int], None] | None = None,
    ) -> None:
        """``on_spawn`` is told each worker's pid as it starts (the run records them: see
        :func:`~ohgw_bench.execution.lifeline.record_process`)."""
        if size < 1:
            raise ValueError(f"a pool needs at least one worker, got {size}")
        self.size = size
        self.spec = spec
        self.log_dir = Path(log_dir)
        self.gpus = gpus
        self.on_spawn = on_spawn
        self.workers: list[_Worker] = []
        self.queue: deque[StartTrial] = deque()
        self.startup_seconds: list[float] = []
        self.decision_waits: list[float] = []
        self.replaced = 0
        self._spawned = 0
        self._failed_starts = 0

    # ------------------------------------------------------------------ lifecycle
    def start(self, timeout: float = 600.0) -> None:
        """Start every worker and wait until all are warm (imports, data, CUDA, FLOP counts)."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for index in range(self.size):
            self.workers.append(self._spawn(index))
        deadline = time.monotonic() + timeout
        while not all(w.ready for w in self.workers):
            left = deadline - time.monotonic()
            if left <= 0:
                raise WorkerStartError(f"workers not ready after {timeout:.0f}s (logs in {self.log_dir})")
            self.poll(min(left, 1.0))

    def _spawn(self, index: int) -> _Worker:
        gpu = None if self.gpus is None else self.gpus[index % len(self.gpus)]
        ours, theirs = socket.socketpair()
        env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV}
        if gpu is not None:
            env["CUDA_VISIBLE_DEVICES"] = str(gpu)
        log = self.log_dir / f"worker-{self._spawned}.log"
        self._spawned += 1
        with open(log, "ab") as sink:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "ohgw_bench.execution.backends.workers.worker",
                    str(theirs.fileno()),
                    str(os.getpid()),
                ],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                env=env,
                close_fds=True,
            )
        theirs.close()
        if self.on_spawn is not None:
            self.on_spawn(process.pid)
        conn = Connection(ours.detach())
        conn.send(self.spec)
        return _Worker(index, process, conn, log)

    def close(self) -> None:
        """End every worker: idle ones are asked to exit, busy ones are killed (the run is over);
        returns only when none is left."""
        for w in self.workers:
            try:
                if w.trial_id is None and w.process.poll() is None:
                    w.conn.send(Shutdown())
                else:
                    w.process.kill()
            except (BrokenPipeError, ConnectionResetError):
                w.process.kill()
        deadline = time.monotonic() + CLOSE_GRACE_S
        for w in self.workers:
            try:
                w.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                w.process.kill()
                w.process.wait()
            w.conn.close()
        self.workers = []

    def pids(self) -> list[int]:
        return [w.process.pid for w in self.workers]

    # ------------------------------------------------------------------ trials
    def submit(self, job: StartTrial) -> None:
        """Queue a trial start/resume; it runs on the first idle worker."""
        self.queue.append(job)
        self._dispatch()

    def decide(self, trial_id: int, action: Action) -> None:
        """Answer the report ``trial_id`` is waiting on."""
        worker = self._holding(trial_id)
        if worker is None:
            raise KeyError(f"no worker runs trial {trial_id}")
        try:
            worker.conn.send(Decision(trial_id, action))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the worker just died; poll() reports the trial as failed

    def poll(self, timeout: float) -> list[Event]:
        """Events that arrived, waiting up to ``timeout`` seconds for the first one."""
        events: list[Event] = []
        ready = wait([w.conn for w in self.workers], timeout)
        for conn in ready:
            worker = next(w for w in self.workers if w.conn is conn)
            while True:
                try:
                    if not worker.conn.poll():
                        break
                    message = worker.conn.recv()
                except (EOFError, ConnectionResetError, OSError):
                    events.extend(self._replace(worker))
                    break
                events.extend(self._handle(worker, message))
        self._dispatch()
        return events

    def _handle(self, worker: _Worker, message: object) -> list[Event]:
        if isinstance(message, Ready):
            worker.ready = True
            self._failed_starts = 0
            self.startup_seconds.append(message.startup_seconds)
            return []
        if isinstance(message, Report):
            return [message]
        if isinstance(message, TrialEnded):
            worker.trial_id = None
            self.decision_waits.extend(message.decision_waits)
            return [message]
        raise RuntimeError(f"unexpected message from worker {worker.index}: {message!r}")

    def _replace(self, worker: _Worker) -> list[Event]:
        """The worker is gone: fail its trial and start another in its slot."""
        code = worker.process.wait()
        worker.conn.close()
        events: list[Event] = []
        if not worker.ready:
            self._failed_starts += 1
            if self._failed_starts >= MAX_FAILED_STARTS:
                tail = worker.log.read_text(errors="replace")[-3000:]
                raise WorkerStartError(
                    f"worker exited with code {code} before it was ready "
                    f"({self._failed_starts} times in a row); its log {worker.log} ends:\n{tail}"
                )
        if worker.trial_id is not None:
            events.append(
                TrialEnded(
                    worker.trial_id,
                    "failed",
                    f"worker process {worker.process.pid} died ({_exit_reason(code)}) mid-trial; its log: {worker.log}",
                )
            )
        self.replaced += 1
        self.workers[self.workers.index(worker)] = self._spawn(worker.index)
        return events

    def _holding(self, trial_id: int) -> _Worker | None:
        return next((w for w in self.workers if w.trial_id == trial_id), None)

    def _dispatch(self) -> None:
        for job in list(self.queue):
            if self._holding(job.trial_id) is not None:
                continue  # still ending its previous start on another worker
            idle = next((w for w in self.workers if w.ready and w.trial_id is None), None)
            if idle is None:
                return
            self.queue.remove(job)
            idle.trial_id = job.trial_id
            try:
                idle.conn.send(job)
            except (BrokenPipeError, ConnectionResetError):
                pass  # it died meanwhile: the next poll() fails this trial and replaces the worker


def _exit_reason(code: int) -> str:
    if code < 0:
        import signal

        return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"
