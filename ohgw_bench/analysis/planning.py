"""How many paired seeds a study needs: from a pilot's pairs, by simulation with the pilot's spread
and censoring (``ohgw-bench leaderboard PATH --plan SPEEDUP``; method in docs/statistics.md)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from ohgw_bench.analysis.leaderboard import read_run_summary
from ohgw_bench.analysis.pairing import NONE, pair_runs, pair_times
from ohgw_bench.analysis.stats import hodges_lehmann, log_differences, seeds_needed

POWER = 0.8
PLAN_COLUMNS = ("task", "scheduler", "arm", "n_pilot", "pilot_speedup_hl", "share_tied", "speedup", "seeds_needed")


def plan_study(summary: pd.DataFrame, speedup: float, power: float = POWER) -> pd.DataFrame:
    """One row per (task, scheduler, arm) of the pilot ``summary``: the paired seeds needed to detect
    a true ``speedup`` with ``power`` (None: more than 2,000, or no pairs). ``share_tied``: the
    pilot's share of pairs censored in both runs, which the simulation resamples as they are."""
    if not (math.isfinite(speedup) and speedup > 1):
        raise ValueError(
            f"--plan takes the speed-up to detect, a number above 1 (1.15 = a 13 % cut), finite, got {speedup}"
        )
    rows = []
    for (task, scheduler), group in summary.groupby(["task", "scheduler_key"], sort=True):
        none_runs = group[group["warm_start"] == NONE]
        for label in sorted(set(group["warm_start_label"]) - {NONE}):
            arm_runs = group[group["warm_start_label"] == label]
            pairs = pair_runs(none_runs, arm_runs) if len(none_runs) else arm_runs.iloc[0:0]
            d = log_differences(*pair_times(pairs)) if len(pairs) else np.array([])
            both_censored = (
                ~pairs["reached_none"].astype(bool) & ~pairs["reached_arm"].astype(bool) if len(pairs) else None
            )
            tied = float(both_censored.mean()) if both_censored is not None else math.nan
            rows.append(
                {
                    "task": task,
                    "scheduler": scheduler,
                    "arm": label,
                    "n_pilot": len(d),
                    "pilot_speedup_hl": math.exp(hodges_lehmann(d)) if len(d) else math.nan,
                    "share_tied": tied,
                    "speedup": speedup,
                    "seeds_needed": seeds_needed(d, speedup, power),
                }
            )
    return pd.DataFrame(rows, columns=list(PLAN_COLUMNS))


def render_plan(plan: pd.DataFrame, fmt: str = "md", power: float = POWER) -> str:
    """The plan as Markdown (one table) or CSV."""
    if fmt == "csv":
        return plan.to_csv(index=False)
    if fmt != "md":
        raise ValueError(f"--plan writes md or csv, not {fmt}")
    lines = [
        f"# Seeds needed for {power:.0%} power",
        "",
        "Paired seeds a study needs so that the signed-rank test at α = 0.05 detects the speed-up named, "
        "simulated from each arm's pilot pairs (their spread, shape and censored ties; docs/statistics.md).",
        "",
        "| task | scheduler | arm | pilot pairs | pilot speed-up | both censored | speed-up to detect | seeds needed |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for _, r in plan.iterrows():
        needed = "> 2000" if pd.isna(r["seeds_needed"]) else str(int(r["seeds_needed"]))
        pilot = "—" if pd.isna(r["pilot_speedup_hl"]) else f"{r['pilot_speedup_hl']:.2f}×"
        tied = "—" if pd.isna(r["share_tied"]) else f"{r['share_tied']:.0%}"
        lines.append(
            f"| {r['task']} | {r['scheduler']} | {r['arm']} | {int(r['n_pilot'])} | {pilot} | {tied} | "
            f"{r['speedup']:.2f}× | {needed} |"
        )
    return "\n".join(lines) + "\n"


def plan(path: Path | str, speedup: float, fmt: str = "md", target: float | None = None) -> str:
    """Path in, plan out: what ``ohgw-bench leaderboard PATH --plan SPEEDUP`` prints."""
    return render_plan(plan_study(read_run_summary(path, target), speedup), fmt)
