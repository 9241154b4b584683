"""Does a replay agree with the real study it stands for? Per task × scheduler: the ``none`` arm's
T@τ distributions compared by a log-rank test (runs that never reach τ are right-censored at their
budget used), and each arm's speed-up estimate and interval side by side
(``ohgw-bench agreement REAL REPLAY``; docs/twin-tables.md)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from ohgw_bench.analysis.leaderboard import build_leaderboard, read_run_summary
from ohgw_bench.analysis.pairing import NONE
from ohgw_bench.analysis.replay_intervals import split_resamples
from ohgw_bench.analysis.stats import holm

AGREEMENT_COLUMNS = (
    "task",
    "scheduler",
    "arm",
    "n_real",
    "n_replay",
    "T_median_real",
    "T_median_replay",
    "censored_real",
    "censored_replay",
    "logrank_p",
    "logrank_p_holm",
    "speedup_hl_real",
    "speedup_low_real",
    "speedup_high_real",
    "speedup_hl_replay",
    "speedup_low_replay",
    "speedup_high_replay",
    "intervals_overlap",
)


def logrank_p(t_a: np.ndarray, reached_a: np.ndarray, t_b: np.ndarray, reached_b: np.ndarray) -> float:
    """Two-sided log-rank p of two samples of times to τ, the runs that never reached it right-censored."""
    if not len(t_a) or not len(t_b) or not (reached_a.any() or reached_b.any()):
        return math.nan
    a = stats.CensoredData.right_censored(np.asarray(t_a, float), ~np.asarray(reached_a, bool))
    b = stats.CensoredData.right_censored(np.asarray(t_b, float), ~np.asarray(reached_b, bool))
    return float(stats.logrank(a, b).pvalue)


def _none_runs(summary: pd.DataFrame, task: str, scheduler: str) -> pd.DataFrame:
    """The none arm's runs of one scheduler, on the table itself (not on its resamples)."""
    summary = split_resamples(summary)[0]
    return summary[
        (summary["task"] == task) & (summary["scheduler_key"] == scheduler) & (summary["warm_start"] == NONE)
    ]


def agreement(
    real: pd.DataFrame, replay: pd.DataFrame, leaderboards: tuple[pd.DataFrame, pd.DataFrame] | None = None
) -> pd.DataFrame:
    """One row per (task, scheduler, arm) in both per-run summaries; ``logrank_p`` on the none rows.
    ``leaderboards``: the two summaries' :func:`build_leaderboard` output, where already built."""
    real_board, replay_board = leaderboards or (build_leaderboard(real), build_leaderboard(replay))
    keys = ["task", "scheduler", "arm"]
    boards = {"real": real_board.set_index(keys), "replay": replay_board.set_index(keys)}
    rows = []
    for key in boards["real"].index.intersection(boards["replay"].index):
        task, scheduler, arm = key
        row: dict[str, object] = {"task": task, "scheduler": scheduler, "arm": arm}
        for side, board in boards.items():
            r = board.loc[key]
            row[f"n_{side}"] = int(r["n"])
            row[f"T_median_{side}"] = float(r["T_tuner_s_median"])
            row[f"censored_{side}"] = int(r["n_censored"])
            for name in ("speedup_hl", "speedup_low", "speedup_high"):
                row[f"{name}_{side}"] = float(r[name])
        if arm == NONE:
            a, b = _none_runs(real, task, scheduler), _none_runs(replay, task, scheduler)
            row["logrank_p"] = logrank_p(
                a["T_tuner_seconds_cens"].to_numpy(float),
                a["reached"].to_numpy(bool),
                b["T_tuner_seconds_cens"].to_numpy(float),
                b["reached"].to_numpy(bool),
            )
            row["intervals_overlap"] = None
        else:
            row["logrank_p"] = math.nan
            low = max(row["speedup_low_real"], row["speedup_low_replay"])  # type: ignore[call-overload]
            high = min(row["speedup_high_real"], row["speedup_high_replay"])  # type: ignore[call-overload]
            row["intervals_overlap"] = None if math.isnan(low) or math.isnan(high) else bool(low <= high)
        rows.append(row)
    table = pd.DataFrame(rows, columns=list(AGREEMENT_COLUMNS))
    table["logrank_p_holm"] = holm(table["logrank_p"].to_numpy(float))  # one test per scheduler compared
    return table


def _interval(row: pd.Series, side: str) -> str:
    hl, low, high = (row[f"{n}_{side}"] for n in ("speedup_hl", "speedup_low", "speedup_high"))
    if math.isnan(low):
        return f"{hl:.2f}×"
    return f"{hl:.2f}× [{low:.2f}, {high:.2f}]"


def render_agreement(table: pd.DataFrame, fmt: str = "md") -> str:
    """The agreement table as Markdown or CSV."""
    if fmt == "csv":
        return table.to_csv(index=False)
    if fmt != "md":
        raise ValueError(f"agreement writes md or csv, not {fmt}")
    lines = [
        "# Replay against the real study",
        "",
        "T@τ in tuner seconds (median; censored: runs that never reached τ). For each scheduler's `none` arm, "
        "log-rank p compares the two T@τ distributions, censored runs right-censored at their budget used "
        "(small p: the replay's clock or sampling differs from reality; Holm-adjusted over the schedulers "
        "compared). Speed-up: the paired Hodges–Lehmann "
        "estimate with its 95% interval in each study (docs/statistics.md); the replay's interval counts the "
        "table's finite set of curves only when the replay's resampled tables were given (--resamples), and is "
        "too narrow for a claim about the task without them.",
        "",
        "| task | scheduler | arm | n real / replay | T@τ real | T@τ replay | censored real / replay "
        "| log-rank p (Holm) | speed-up real | speed-up replay | intervals overlap |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for _, r in table.iterrows():
        p = "—" if math.isnan(r["logrank_p"]) else f"{r['logrank_p']:.3g} ({r['logrank_p_holm']:.3g})"
        overlap = "—" if r["intervals_overlap"] is None else ("yes" if r["intervals_overlap"] else "no")
        lines.append(
            f"| {r['task']} | {r['scheduler']} | {r['arm']} | {r['n_real']} / {r['n_replay']} "
            f"| {r['T_median_real']:.1f} | {r['T_median_replay']:.1f} | {r['censored_real']} / {r['censored_replay']} "
            f"| {p} | {_interval(r, 'real')} | {_interval(r, 'replay')} | {overlap} |"
        )
    return "\n".join(lines) + "\n"


def agreement_report(real: Path | str, replay: Path | str, fmt: str = "md", resamples: Path | str | None = None) -> str:
    """Paths in (run folders or saved per-run summaries; ``resamples``: the replay's on resampled
    tables, which widen its intervals), report out: ``ohgw-bench agreement``."""
    return render_agreement(agreement(read_run_summary(real), read_run_summary(replay, resamples=resamples)), fmt)
