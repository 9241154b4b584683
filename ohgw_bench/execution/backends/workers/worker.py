"""A warm worker: one process per ``--workers`` slot, alive for its whole run.

It pays once what a process-per-trial backend pays per trial start and resume (Python and
torch imports, loading the task's data onto the device, the first CUDA work, counting the
warm start's FLOPs) and then runs trial after trial as plain calls of :func:`run_trial`.

Started by :class:`ohgw_bench.execution.backends.workers.pool.WorkerPool` as
``python -m ohgw_bench.execution.backends.workers.worker FD PARENT_PID`` with one end of a socket pair as
file descriptor ``FD``: everything else (the :class:`WorkerSpec`, the trials) comes over
that pipe, so no path or name ever passes through a command line.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import traceback
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from ohgw_bench.execution.backends.workers.messages import (
    Decision,
    EndStatus,
    Ready,
    Report,
    Shutdown,
    StartTrial,
    TrialEnded,
    WorkerSpec,
)
from ohgw_bench.execution.lifeline import exit_when_gone, kill_me_with_parent


class _Halted(Exception):
    """Raised out of ``report`` when the scheduler paused or stopped the trial at that report."""

    def __init__(self, status: EndStatus) -> None:
        super().__init__(status)
        self.status: EndStatus = status


class _Reporter:
    """syne-tune's ``Reporter`` contract (``st_worker_*`` keys), answered over the pipe: every
    report blocks until the run's decision arrives, so no epoch is trained past a pause or stop."""

    def __init__(self, conn: Connection, trial_id: int) -> None:
        from syne_tune.constants import ST_WORKER_ITER, ST_WORKER_TIME, ST_WORKER_TIMESTAMP

        self._keys = (ST_WORKER_TIMESTAMP, ST_WORKER_TIME, ST_WORKER_ITER)
        self.conn = conn
        self.trial_id = trial_id
        self.start = time.perf_counter()
        self.iter = 0
        self.waits: list[float] = []

    def __call__(self, **metrics: Any) -> None:
        timestamp, worker_time, worker_iter = self._keys
        result = {
            **metrics,
            timestamp: time.time(),
            worker_time: time.perf_counter() - self.start,
            worker_iter: self.iter,
        }
        self.iter += 1
        sent = time.perf_counter()
        self.conn.send(Report(self.trial_id, result))
        message = self.conn.recv()
        self.waits.append(time.perf_counter() - sent)
        if isinstance(message, Shutdown):
            raise SystemExit(0)
        if not isinstance(message, Decision) or message.trial_id != self.trial_id:
            raise RuntimeError(f"trial {self.trial_id} expected its decision, got {message!r}")
        if message.action == "pause":
            raise _Halted("paused")
        if message.action == "stop":
            raise _Halted("stopped")


def serve(conn: Connection, spec: WorkerSpec) -> None:
    """Warm up, say :class:`Ready`, then run trials until :class:`Shutdown` (or the pipe closes)."""
    started = time.perf_counter()
    import torch

    from ohgw_bench.core.registry import get_task
    from ohgw_bench.execution.backends.trial_config import TASK_KEY, THREADS_KEY, trial_setup, warm_start_of
    from ohgw_bench.execution.trial import count_warm_start_flops, prepare_process, run_trial

    torch.set_num_threads(int(spec.constants[THREADS_KEY]))
    task = get_task(spec.constants[TASK_KEY])
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    data = prepare_process(task, device)
    count_warm_start_flops(task, data, *warm_start_of(spec.constants))  # before Ready: off every clock
    conn.send(Ready(os.getpid(), time.perf_counter() - started))
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if isinstance(message, Shutdown):
            return
        if not isinstance(message, StartTrial):
            raise RuntimeError(f"worker expected a trial, got {message!r}")
        reporter = _Reporter(conn, message.trial_id)
        status: EndStatus = "completed"
        error = ""
        try:
            setup = trial_setup(message.config, message.trial_id)
            run_trial(task, message.config, setup, Path(message.checkpoint_dir), reporter, device, data=data)
        except _Halted as halted:
            status = halted.status
        except Exception:  # the trial's failure, not the worker's: report it and take the next trial
            status, error = "failed", traceback.format_exc()
        conn.send(TrialEnded(message.trial_id, status, error, tuple(reporter.waits)))


def main(argv: list[str]) -> None:
    fd, parent = int(argv[0]), int(argv[1])
    kill_me_with_parent()
    exit_when_gone(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the run's to handle; it ends us
    conn = Connection(fd)
    spec = conn.recv()
    if not isinstance(spec, WorkerSpec):
        raise RuntimeError(f"worker expected a WorkerSpec first, got {spec!r}")
    serve(conn, spec)


if __name__ == "__main__":
    main(sys.argv[1:])
