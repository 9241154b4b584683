"""The summary ``ohgw-bench show`` prints for one run folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ohgw_bench.core.run_meta import RunMeta
from ohgw_bench.core.trajectory import Trajectory


@dataclass(frozen=True)
class RunSummary:
    directory: Path
    meta: RunMeta
    n_trials: int
    n_events: int
    best_val_acc: float | None
    incumbent: dict[str, Any] | None  # trial record of the best trial
    incumbent_test_acc: float | None
    time_to_target_seconds: float | None  # None = τ not reached
    time_to_target_epochs: float | None
    truncated: bool


def first_crossing(events: list[dict[str, Any]], target: float, clock: str) -> float | None:
    """The ``clock`` value of the first event whose val_acc reaches ``target`` (events in arrival order)."""
    for event in events:
        if event["val_acc"] >= target:
            return float(event[clock])
    return None


def summarize_run(path: Path | str) -> RunSummary:
    traj = Trajectory.read(path)
    best_event = max(traj.events, key=lambda e: e["val_acc"], default=None)
    incumbent = None
    if best_event is not None:
        incumbent = next((t for t in traj.trials if t["trial_id"] == best_event["trial_id"]), None)
    target = float(traj.meta.target) if traj.meta.target is not None else float("nan")
    return RunSummary(
        directory=Path(path),
        meta=traj.meta,
        n_trials=len(traj.trials),
        n_events=len(traj.events),
        best_val_acc=None if best_event is None else best_event["val_acc"],
        incumbent=incumbent,
        incumbent_test_acc=None if best_event is None else best_event["test_acc"],
        time_to_target_seconds=first_crossing(traj.events, target, "tuner_seconds"),
        time_to_target_epochs=first_crossing(traj.events, target, "epochs_total"),
        truncated=traj.truncated,
    )


def _fmt_config(config: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:.4g}" for k, v in config.items())


def format_summary(s: RunSummary) -> str:
    m = s.meta
    lines = [
        f"run        {s.directory}",
        f"key        {m.task} / {m.optimizer} / seed {m.seed}   status: {m.status.value}"
        + ("   (last line truncated)" if s.truncated else ""),
        f"budget     {m.budget['amount']:g} {m.budget['clock']}, {m.workers} workers, device {m.device}",
        f"trials     {s.n_trials} ({s.n_events} epochs reported)",
    ]
    if s.best_val_acc is None:
        lines.append("best       no epoch reported")
        return "\n".join(lines)
    lines.append(f"best       val_acc {s.best_val_acc:.4f}, test_acc of incumbent {s.incumbent_test_acc:.4f}")
    if s.incumbent is not None:
        lines.append(f"incumbent  trial {s.incumbent['trial_id']}")
        lines.append(f"  sampled  {_fmt_config(s.incumbent['config_sampled'])}")
        lines.append(f"  used     {_fmt_config(s.incumbent['config_used'])}")
    tau = m.target
    if s.time_to_target_seconds is None:
        lines.append(f"T@tau      tau={tau}: not reached")
    else:
        lines.append(
            f"T@tau      tau={tau}: {s.time_to_target_seconds:.1f} s tuner time, {s.time_to_target_epochs:.0f} epochs"
        )
    return "\n".join(lines)
