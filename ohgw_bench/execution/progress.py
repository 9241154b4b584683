"""Live progress of a run on the terminal (rich): trials, best accuracy, budget used."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from ohgw_bench.execution.plan import RunPlan
from ohgw_bench.execution.runner import execute_run
from ohgw_bench.execution.writer import TrajectoryWriter


def _used(plan: RunPlan, writer: TrajectoryWriter | None) -> float:
    if writer is None:
        return 0.0
    return plan.budget.used(writer.elapsed(), writer.epochs_total, plan.workers)


def _line(plan: RunPlan, writer: TrajectoryWriter | None) -> str:
    started = len(writer.records) if writer else 0
    finished = writer.finished_trials if writer else 0
    best = writer.best_val_acc if writer else float("nan")
    return (
        f"{plan.task.name} {plan.optimizer.canonical} seed {plan.seed} | "
        f"trials {started} started, {finished} finished | "
        f"best val_acc {'-' if best != best else f'{best:.4f}'} (tau {plan.task.target}) | "
        f"{_used(plan, writer):.0f}/{plan.budget.amount:.0f}{plan.budget.unit}"
    )


def run_with_progress(plan: RunPlan, quiet: bool = False, owns_folder: Callable[[], bool] | None = None) -> Path:
    """Execute the run with a live status line (a plain line per change when not a TTY).
    ``owns_folder``: as for :func:`~ohgw_bench.execution.runner.execute_run`."""
    if quiet:
        return execute_run(plan, owns_folder=owns_folder)
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    if not console.is_terminal:
        last = [""]

        def plain(writer: TrajectoryWriter) -> None:
            text = _line(plan, writer)
            if text.split("|")[:3] != last[0].split("|")[:3]:  # print when trials or best change
                print(text, file=sys.stderr, flush=True)
                last[0] = text

        return execute_run(plan, on_update=plain, owns_folder=owns_folder)

    with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=console) as progress:
        bar = progress.add_task(_line(plan, None), total=plan.budget.amount)

        def update(writer: TrajectoryWriter) -> None:
            progress.update(
                bar, completed=min(_used(plan, writer), plan.budget.amount), description=_line(plan, writer)
            )

        return execute_run(plan, on_update=update, owns_folder=owns_folder)
