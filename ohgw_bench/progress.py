"""Live progress of a run on the terminal (rich): trials, best accuracy, budget used."""
from __future__ import annotations

import sys
from pathlib import Path

from ohgw_bench.runner import RunPlan, TrajectoryWriter, execute_run


def _line(plan: RunPlan, writer: TrajectoryWriter) -> str:
    budget = plan.budget
    used = writer.elapsed() if budget.clock == "tuner_seconds" else writer.epochs_total
    unit = "s" if budget.clock == "tuner_seconds" else "ep"
    best = "-" if writer.best_val_acc != writer.best_val_acc else f"{writer.best_val_acc:.4f}"
    return (f"{plan.task.name} {plan.optimizer.canonical} seed {plan.seed} | "
            f"trials {len(writer.records)} started, {writer.finished_trials} finished | "
            f"best val_acc {best} (tau {plan.task.target}) | {used:.0f}/{budget.amount:.0f}{unit}")


def run_with_progress(plan: RunPlan, quiet: bool = False) -> Path:
    """Execute the run with a live status line (a plain line per update when not a TTY)."""
    if quiet:
        return execute_run(plan)
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    if not console.is_terminal:
        last = [""]

        def plain(writer: TrajectoryWriter) -> None:
            text = _line(plan, writer)
            if text.split("|")[:3] != last[0].split("|")[:3]:  # print when trials/best change
                print(text, file=sys.stderr, flush=True)
                last[0] = text

        return execute_run(plan, on_update=plain)

    with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                  console=console, transient=False) as progress:
        bar = progress.add_task(_line(plan, _Empty()), total=plan.budget.amount)

        def update(writer: TrajectoryWriter) -> None:
            used = writer.elapsed() if plan.budget.clock == "tuner_seconds" else writer.epochs_total
            progress.update(bar, completed=min(used, plan.budget.amount), description=_line(plan, writer))

        return execute_run(plan, on_update=update)


class _Empty:
    """Stand-in writer for the first line, before the tuner starts."""

    records: dict = {}
    finished_trials = 0
    best_val_acc = float("nan")
    epochs_total = 0

    def elapsed(self) -> float:
        return 0.0
