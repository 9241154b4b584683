"""A replay's intervals that count its table: 128 curves trained once are a sample, not the world.

A replayed leaderboard's seeds all draw from one table's configurations, so their intervals say how
precisely the arms were compared *on that table*. Replays on bootstrap resamples of the table
(``--table-resample B``: its configurations drawn with replacement) show how much the estimates
would move on another table of the same size; :func:`~ohgw_bench.analysis.stats.with_table_variance`
adds that spread to each arm row's intervals and p (docs/statistics.md, *Replay intervals*).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ohgw_bench.analysis.pairing import NONE, pair_runs, pair_times, paired_shift
from ohgw_bench.analysis.stats import log_differences, shift_estimate, with_table_variance

RESAMPLE = "table_resample"  # the summary column: NaN for a run on the table itself

#: leaderboard interval columns widened by the table's spread: (low, high, estimate, log scale)
_WIDENED = (
    ("speedup_low", "speedup_high", "speedup_hl", True),
    ("delta_auc_pp_low", "delta_auc_pp_high", "delta_auc_pp_hl", False),
    ("delta_test_acc_pp_low", "delta_test_acc_pp_high", "delta_test_acc_pp_hl", False),
)


def split_resamples(summary: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(runs on the table itself, runs on its resamples) of a per-run summary."""
    if RESAMPLE not in summary or summary.empty:
        return summary, summary.iloc[0:0]
    resampled = summary[RESAMPLE].notna()
    return summary[~resampled], summary[resampled]


def replicate_shifts(replicates: pd.DataFrame, task: str, scheduler: str, arm: str) -> np.ndarray:
    """Per resample of the table: (estimate, low, high) of the log speed-up, Δ AUC and Δ test acc
    (pp) of ``arm`` against none; shape (resamples, 3 statistics, 3)."""
    group = replicates[(replicates["task"] == task) & (replicates["scheduler_key"] == scheduler)]
    rows = []
    for _, runs in group.groupby(RESAMPLE, sort=True):
        pairs = pair_runs(runs[runs["warm_start_label"] == NONE], runs[runs["warm_start_label"] == arm])
        if pairs.empty:
            continue
        speedup = shift_estimate(log_differences(*pair_times(pairs)))
        shifts = [paired_shift(pairs, column, 100.0) for column in ("auc", "incumbent_test_acc")]
        rows.append([speedup, *[(s["hl"], s["low"], s["high"]) for s in shifts]])
    return np.asarray(rows, float).reshape(-1, 3, 3)


def widened(row: dict[str, Any], shifts: np.ndarray) -> dict[str, Any]:
    """The row's intervals, p and table columns with the table's spread added (NaN with too few resamples)."""
    out: dict[str, Any] = {"n_tables": int(shifts.shape[0])}
    for k, (low, high, estimate, on_log) in enumerate(_WIDENED):
        values = np.asarray([row[estimate], row[low], row[high]], float)
        with np.errstate(divide="ignore", invalid="ignore"):
            centre, below, above = np.log(values) if on_log else values
        p_before = row["p_value"] if on_log else math.nan  # p tests the speed-up; the others have none
        new_low, new_high, p, table_sd = with_table_variance(centre, (below, above), p_before, shifts[:, k, :])
        out[low], out[high] = (math.exp(new_low), math.exp(new_high)) if on_log else (new_low, new_high)
        if on_log:
            out["p_value"], out["table_sd_log_speedup"] = p, table_sd
    return out
