"""What a sweep knows of each run: its state and outcome, and the sweep's result."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ohgw_bench.execution.sweep.spec import (
    RunKey,
)

#: what a sweep leaves beside the runs: old attempts moved aside, a failed run's traceback
ATTEMPTS_DIR = "_attempts"
ATTEMPT_META = "attempt-meta.json"
SWEEP_ERROR = "sweep-error.txt"

#: Final states of a run in a sweep, and the live ones before them.
QUEUED, RUNNING, DONE, FAILED, SKIPPED, BUSY = "queued", "running", "done", "failed", "skipped", "busy"
#: What a run of a stopping sweep answers instead of starting; kept apart from the outcomes
#: (:attr:`SweepResult.not_started`), since nothing happened to it.
NOT_STARTED = "not started"


@dataclass(frozen=True)
class RunOutcome:
    run: RunKey
    state: str  # done | failed | skipped | busy
    directory: str
    detail: str = ""  # error, holder or resume note
    traceback: str = ""
    moved_to: str | None = None
    # wall-clock stamps (time.time()) taken in the worker process, for overhead accounting
    t_enter: float = 0.0
    t_run_start: float | None = None
    t_run_end: float | None = None
    t_exit: float = 0.0
    worker_pid: int = 0


@dataclass
class SweepResult:
    outcomes: list[RunOutcome] = field(default_factory=list)
    seconds: float = 0.0
    interrupted: str | None = None  # why the sweep stopped early (Ctrl-C, SIGTERM); None when it ran to the end
    not_started: list[RunKey] = field(default_factory=list)  # runs an interrupted sweep never started
    unfinished: list[RunKey] = field(default_factory=list)  # runs that had not stopped when the sweep ended

    def count(self, state: str) -> int:
        return sum(o.state == state for o in self.outcomes)

    @property
    def failed(self) -> list[RunOutcome]:
        return [o for o in self.outcomes if o.state == FAILED]

    @property
    def exit_code(self) -> int:
        return 1 if self.failed or self.interrupted else 0


def scheduling_gaps(outcomes: Iterable[RunOutcome]) -> dict[str, list[float]]:
    """Per consecutive pair of executed runs on the same worker process: ``dask`` = from one
    task's return to the next task's entry; ``engine`` = from one run's execute_run end to
    the next run's execute_run start (the dask gap plus lock, checks and prepare_run)."""
    by_worker: dict[int, list[RunOutcome]] = {}
    for o in outcomes:
        if o.t_run_start is not None and o.t_run_end is not None:
            by_worker.setdefault(o.worker_pid, []).append(o)
    gaps: dict[str, list[float]] = {"dask": [], "engine": []}
    for items in by_worker.values():
        items.sort(key=lambda o: o.t_enter)
        for prev, nxt in zip(items, items[1:], strict=False):
            gaps["dask"].append(nxt.t_enter - prev.t_exit)
            # by_worker holds only outcomes with both execute_run stamps (filtered above)
            assert nxt.t_run_start is not None and prev.t_run_end is not None
            gaps["engine"].append(nxt.t_run_start - prev.t_run_end)
    return gaps


# =========================================================================== progress
