"""The live display of a sweep (runs done, failed, running; time left) and its closing summary."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass

from ohgw_bench.core.budget import format_seconds
from ohgw_bench.core.trajectory import (
    META,
)
from ohgw_bench.execution.sweep.records import (
    ATTEMPTS_DIR,
    BUSY,
    DONE,
    FAILED,
    QUEUED,
    RUNNING,
    SKIPPED,
    SWEEP_ERROR,
    RunOutcome,
    SweepResult,
)
from ohgw_bench.execution.sweep.spec import (
    RunKey,
)


class SweepProgress:
    """Run states, ETA and the final summary. ``mode``: ``live`` (rich table on a terminal),
    ``plain`` (a line per state change, for logs), ``quiet`` (only the opening line of
    :meth:`announce` before the summary). Counts are kept as states change, so a line costs the
    same in a sweep of 100,000 runs as in one of ten."""

    MAX_ROWS = 24

    def __init__(
        self, runs: Sequence[RunKey], mode: str = "auto", budget_seconds: float | None = None, stream: Any = None
    ) -> None:
        self.runs = list(runs)
        self.state = {run: QUEUED for run in self.runs}
        self._counts = {s: 0 for s in (QUEUED, RUNNING, DONE, FAILED, SKIPPED, BUSY)}
        self._counts[QUEUED] = len(self.state)
        self._running: set[RunKey] = set()
        self.started: dict[RunKey, float] = {}
        self.outcomes: dict[RunKey, RunOutcome] = {}
        self.durations: list[float] = []
        self.budget_seconds = budget_seconds
        self.slots = 1
        self.t0 = time.time()
        self.stream = stream or sys.stderr
        self._live = None
        if mode == "auto":
            from rich.console import Console

            mode = "live" if Console(file=self.stream).is_terminal else "plain"
        self.mode = mode
        if mode == "live":
            from rich.console import Console
            from rich.live import Live

            self._live = Live(self._table(), console=Console(file=self.stream), refresh_per_second=2, transient=False)
            self._live.start()

    # -- state changes
    def announce(self, n_todo: int, n_complete: int) -> None:
        """The line before any run starts: how many runs, how many at a time, roughly how long."""
        at_a_time = min(self.slots, n_todo)
        if self.budget_seconds is None:
            how_long = "how long: shown once the first run ends (the budget does not fix a run's wall time)"
        else:
            waves = -(-n_todo // max(1, self.slots))
            how_long = (
                f"about {format_seconds(waves * self.budget_seconds)} "
                f"({format_seconds(self.budget_seconds)} budget per run) plus each run's start-up"
            )
        print(
            f"sweep: {n_todo:,} runs to run ({n_complete:,} already complete), {at_a_time} at a time; {how_long}",
            file=self.stream,
            flush=True,
        )

    def _set_state(self, run: RunKey, state: str) -> None:
        previous = self.state.get(run)
        if previous is not None:
            self._counts[previous] -= 1
        self._counts[state] += 1
        self.state[run] = state
        (self._running.add if state == RUNNING else self._running.discard)(run)

    def start(self, run: RunKey, t: float) -> None:
        if self.state.get(run) != QUEUED:
            return
        self._set_state(run, RUNNING)
        self.started[run] = t
        self._line(run, RUNNING, "")

    def finish(self, outcome: RunOutcome) -> None:
        run = outcome.run
        self._set_state(run, outcome.state)
        self.outcomes[run] = outcome
        took = ""
        if outcome.t_run_start is not None and outcome.t_run_end is not None:
            self.started.setdefault(run, outcome.t_run_start)
            self.durations.append(outcome.t_exit - outcome.t_enter)
            took = f" in {format_seconds(outcome.t_run_end - outcome.t_run_start)}"
        self._line(run, outcome.state, (took + (f" — {outcome.detail}" if outcome.detail else "")).strip())

    def counts(self) -> dict[str, int]:
        return dict(self._counts)

    def eta(self) -> float | None:
        """Seconds until the last run ends: (queued work + rest of running work) / slots."""
        counts = self.counts()
        if not counts[QUEUED] and not counts[RUNNING]:
            return 0.0
        if self.durations:
            per_run = sum(self.durations) / len(self.durations)
        elif self.budget_seconds is not None:
            per_run = self.budget_seconds
        else:
            return None
        now = time.time()
        running_left = sum(max(per_run - (now - self.started[r]), 0.0) for r in self._running if r in self.started)
        return (counts[QUEUED] * per_run + running_left) / max(1, self.slots)

    def _status_text(self) -> str:
        c = self.counts()
        return (
            f"{len(self.runs)} runs: {c[QUEUED]} queued, {c[RUNNING]} running, {c[DONE]} done, "
            f"{c[FAILED]} failed, {c[SKIPPED]} skipped"
            + (f", {c[BUSY]} busy" if c[BUSY] else "")
            + f" | elapsed {format_seconds(time.time() - self.t0)} | ETA {format_seconds(self.eta())}"
        )

    def _line(self, run: RunKey, state: str, detail: str) -> None:
        if self.mode == "plain":
            done = len(self.state) - self._counts[QUEUED] - self._counts[RUNNING]
            print(
                f"[{done}/{len(self.runs)}] {state:<8} {run.label}{(' ' + detail) if detail else ''} | "
                f"{self._status_text()}",
                file=self.stream,
                flush=True,
            )
        self.refresh()

    def _table(self):
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        table = Table(expand=False)
        for column in ("task", "optimizer", "seed", "state", "time", "note"):
            table.add_column(column)
        order = {RUNNING: 0, FAILED: 1, BUSY: 2, QUEUED: 3, DONE: 4, SKIPPED: 5}
        rows = sorted(self.runs, key=lambda r: order[self.state[r]])
        now = time.time()
        style = {RUNNING: "cyan", FAILED: "bold red", DONE: "green", SKIPPED: "dim", BUSY: "yellow", QUEUED: ""}
        for run in rows[: self.MAX_ROWS]:
            state = self.state[run]
            outcome = self.outcomes.get(run)
            if state == RUNNING and run in self.started:
                took = format_seconds(now - self.started[run])
            elif outcome is not None and outcome.t_run_start is not None and outcome.t_run_end is not None:
                took = format_seconds(outcome.t_run_end - outcome.t_run_start)
            else:
                took = ""
            note = (outcome.detail if outcome else "")[:60]
            table.add_row(
                run.task,
                run.optimizer,
                str(run.seed),
                f"[{style[state]}]{state}[/]" if style[state] else state,
                took,
                note,
            )
        if len(rows) > self.MAX_ROWS:
            table.caption = f"... and {len(rows) - self.MAX_ROWS} more"
        return Group(Text(self._status_text()), table)

    def refresh(self) -> None:
        if self._live is not None:
            self._live.update(self._table())

    def close(self, result: SweepResult) -> None:
        if self._live is not None:
            self._live.update(self._table())
            self._live.stop()
            self._live = None


def format_summary(result: SweepResult) -> str:
    """The final lines: counts, failures (with where to look), busy runs; and, for an interrupted sweep,
    what it left and how to finish it."""
    lines = [
        f"sweep: {len(result.outcomes)} runs in {format_seconds(result.seconds)}: {result.count(DONE)} done, "
        f"{result.count(FAILED)} failed, {result.count(SKIPPED)} skipped (already complete)"
        + (f", {result.count(BUSY)} busy (held by another process)" if result.count(BUSY) else "")
    ]
    if result.interrupted:
        lines += _interrupted_lines(result)
    resumed = [o for o in result.outcomes if o.moved_to]
    if resumed:
        lines.append(f"restarted {len(resumed)} interrupted/failed run(s); old attempts kept under {ATTEMPTS_DIR}/:")
        lines += [f"  {o.run.label}: {o.moved_to}" for o in resumed]
    if result.failed:
        lines.append("failed runs:")
        for o in result.failed:
            lines.append(f"  {o.run.label}: {o.detail}")
            lines.append(f"    {_where_to_look(Path(o.directory))}")
    busy = [o for o in result.outcomes if o.state == BUSY]
    if busy:
        lines.append("busy runs (another sweep is running them; run this sweep again later to check):")
        lines += [f"  {o.run.label}: {o.detail}" for o in busy]
    return "\n".join(lines)


def _interrupted_lines(result: SweepResult) -> list[str]:
    lines = [
        f"interrupted ({result.interrupted}): {len(result.not_started)} runs not started"
        + (f", {len(result.unfinished)} still running when the sweep ended" if result.unfinished else "")
        + "; run the same command again to finish the missing runs"
    ]
    if result.unfinished:
        lines.append("  these did not stop in time; the next sweep finds them interrupted and runs them again:")
        lines += [f"  {run.label}" for run in result.unfinished]
    return lines


def _where_to_look(directory: Path) -> str:
    """The failed run's records that exist: a worker that died wrote none."""
    found = [directory / name for name in (SWEEP_ERROR, META) if (directory / name).is_file()]
    if not found:
        return (
            f"no record in {directory}: the run's process ended before it wrote one "
            "(a Dask worker killed, e.g. for memory; the messages above say why)"
        )
    return "see " + " and ".join(str(p) for p in found)
