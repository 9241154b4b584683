"""Leaderboards: paired statistics of each warm-start arm against its scheduler's ``none`` arm.

Pure functions over the per-run summary of :func:`ohgw_bench.analysis.results.summarize_runs`:
:func:`build_leaderboard` makes one row per (task, scheduler, warm-start arm);
:func:`~ohgw_bench.analysis.render.render` writes it; :func:`leaderboard` is path in, text out
(what ``ohgw-bench leaderboard`` prints). The statistics are specified in docs/statistics.md.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ohgw_bench.analysis.pairing import NONE, check_pairs, code_modified, pair_runs, pair_times, paired_shift
from ohgw_bench.analysis.render import render
from ohgw_bench.analysis.replay_intervals import RESAMPLE, replicate_shifts, split_resamples, widened
from ohgw_bench.analysis.stats import (
    CHECK,
    CROSS,
    DASH,
    MAX_SD_INFLATION,
    MAX_TEST_DROP_PP,
    censored_pair_values,
    detectable_speedup,
    holm,
    log_differences,
    median,
    meets_criterion,
    paired_differences,
    quantile,
    rank_biserial,
    ratios,
    shift_estimate,
    verdict,
    wilcoxon_p,
    win_rate,
)

log = logging.getLogger(__name__)


def _clock_stats(row: dict[str, Any], values: Any, name: str) -> None:
    values = np.asarray(values, float)
    row[f"{name}_median"] = median(values)
    row[f"{name}_q25"] = quantile(values, 25)
    row[f"{name}_q75"] = quantile(values, 75)


_CLOCK_COLUMNS = (  # leaderboard name → summary column; raw seconds (epochs) so the CSV needs no unit
    ("T_tuner_s", "T_tuner_seconds_cens"),
    ("T_device_s", "T_device_seconds_cens"),
    ("T_epochs", "T_epochs_cens"),
)


COLUMNS = (
    "task",
    "scheduler",
    "arm",
    "warm_start",
    "eta",
    "target",
    "n_test",
    "n",
    "n_runs",
    "n_censored",
    "n_censored_none",
    *[f"{name}_{s}" for name, _ in _CLOCK_COLUMNS for s in ("median", "q25", "q75")],
    "T_reduction",
    "speedup_hl",
    "speedup_low",
    "speedup_high",
    "speedup",
    "p_value",
    "p_holm",
    "rank_biserial",
    "win_rate",
    "detectable_speedup",
    "T_sd_ratio",
    "spread_not_inflated",
    "auc_median",
    "delta_auc_pp_hl",
    "delta_auc_pp_low",
    "delta_auc_pp_high",
    "best_val_acc_median",
    "incumbent_test_acc_median",
    "delta_test_acc_pp",
    "delta_test_acc_pp_hl",
    "delta_test_acc_pp_low",
    "delta_test_acc_pp_high",
    "delta_test_acc_examples",
    "ws_compute_share",
    "ws_flops_share",
    "peak_mem_ratio",
    "n_diverged",
    "n_tables",
    "table_sd_log_speedup",
    "success",
    "verdict",
    "test_resolves_criterion",
    "mixed",
    "n_mixed",
    "code_modified",
)


def _describe_runs(row: dict[str, Any], runs: pd.DataFrame) -> None:
    """Per-arm descriptive columns over ``runs`` (one arm's runs, suffix-free columns)."""
    for name, column in _CLOCK_COLUMNS:
        _clock_stats(row, runs[column] if column in runs else [], name)
    row["target"] = _unique_number(runs["target"]) if "target" in runs else math.nan
    row["n_test"] = _unique_number(runs["n_test"]) if "n_test" in runs else math.nan
    row["test_resolves_criterion"] = (
        None if math.isnan(row["n_test"]) else bool(100.0 / row["n_test"] <= MAX_TEST_DROP_PP)
    )
    row["n_censored"] = int((~runs["reached"].astype(bool)).sum())
    row["auc_median"] = median(runs["auc"]) if "auc" in runs else math.nan
    row["best_val_acc_median"] = median(runs["best_val_acc"])
    row["incumbent_test_acc_median"] = median(runs["incumbent_test_acc"])
    row["ws_compute_share"] = median(runs["ws_compute_share"])
    row["ws_flops_share"] = median(runs["ws_flops_share"])
    peaks = runs["peak_mem_ratio"].to_numpy(float) if "peak_mem_ratio" in runs else np.array([])
    peaks = peaks[~np.isnan(peaks)]
    row["peak_mem_ratio"] = float(peaks.max()) if peaks.size else math.nan
    row["n_diverged"] = int(runs["n_diverged"].sum()) if "n_diverged" in runs else 0


def _unique_number(values: Any) -> float:
    """The one finite value of a column, NaN when there is none or several (nothing to report as the row's)."""
    found = {float(v) for v in np.asarray(values, float) if math.isfinite(v)}
    return found.pop() if len(found) == 1 else math.nan


#: the statistics of an arm row that need pairs (NaN where it has none); the none row's are fixed
_PAIRED_STATS = (
    "T_reduction",
    "speedup_hl",
    "speedup_low",
    "speedup_high",
    "speedup",
    "p_value",
    "rank_biserial",
    "win_rate",
    "detectable_speedup",
    "T_sd_ratio",
    "delta_auc_pp_hl",
    "delta_auc_pp_low",
    "delta_auc_pp_high",
    "delta_test_acc_pp",
    "delta_test_acc_pp_hl",
    "delta_test_acc_pp_low",
    "delta_test_acc_pp_high",
)
_NONE_ROW = {
    **dict.fromkeys(_PAIRED_STATS, math.nan),
    **{"T_reduction": 0.0, "speedup": 1.0, "speedup_hl": 1.0, "delta_test_acc_pp": 0.0},
    **{"success": DASH, "verdict": DASH, "mixed": "", "n_mixed": 0, "spread_not_inflated": None},
}


def compare_pairs(pairs: pd.DataFrame) -> dict[str, Any]:
    """Paired statistics of one arm vs none from :func:`pair_runs` output (tuner-seconds clock).

    The estimate is the Hodges–Lehmann speed-up exp(HL of log T_none − log T_arm) with the interval
    that inverts the signed-rank test (docs/statistics.md); the median of per-pair ratios is kept
    as a secondary column (``speedup``). AUC and final test accuracy are estimated the same way,
    as arm − none in percentage points."""
    t_none, t_arm, rn, ra = pair_times(pairs)
    d = paired_differences(t_none, t_arm, rn, ra)
    log_ratios = log_differences(t_none, t_arm, rn, ra)
    hl, low, high = shift_estimate(log_ratios)
    auc, test = paired_shift(pairs, "auc", 100.0), paired_shift(pairs, "incumbent_test_acc", 100.0)
    adjusted_none, adjusted_arm = censored_pair_values(t_none, t_arm, rn, ra)
    median_none, median_arm = median(adjusted_none), median(adjusted_arm)
    sd_none = float(np.std(adjusted_none, ddof=1)) if len(pairs) > 1 else math.nan
    reduction = 1.0 - median_arm / median_none if median_none and not math.isnan(median_none) else math.nan
    test_delta = (
        pairs["incumbent_test_acc_arm"].to_numpy(float) - pairs["incumbent_test_acc_none"].to_numpy(float)
    ) * 100.0
    return {
        "n": int(len(pairs)),
        "n_censored_none": int((~rn).sum()),
        "T_reduction": reduction,
        "speedup_hl": math.exp(hl),
        "speedup_low": math.exp(low),
        "speedup_high": math.exp(high),
        "speedup": median(ratios(t_none, t_arm, rn, ra)),
        "p_value": wilcoxon_p(d),
        "rank_biserial": rank_biserial(d),
        "win_rate": win_rate(t_none, t_arm, rn, ra),
        "detectable_speedup": detectable_speedup(log_ratios, len(pairs)),
        # the seed's "std-dev(T@τ) not inflated by more than 10%", on the pairs' censoring-adjusted T@τ
        "T_sd_ratio": float(np.std(adjusted_arm, ddof=1)) / sd_none if sd_none > 0 else math.nan,
        "delta_auc_pp_hl": auc["hl"],
        "delta_auc_pp_low": auc["low"],
        "delta_auc_pp_high": auc["high"],
        "delta_test_acc_pp": median(test_delta),
        "delta_test_acc_pp_hl": test["hl"],
        "delta_test_acc_pp_low": test["low"],
        "delta_test_acc_pp_high": test["high"],
    }


def success_mark(stats_row: dict[str, Any]) -> str:
    """✓ / ✗ from the seed's criterion (docs/statistics.md)."""
    ok = meets_criterion(stats_row.get("T_reduction"), stats_row.get("p_value"), stats_row.get("delta_test_acc_pp"))
    return CHECK if ok else CROSS


def row_verdict(stats_row: dict[str, Any]) -> str:
    """success / ruled out / inconclusive (:func:`~ohgw_bench.analysis.stats.verdict`)."""
    interval = (stats_row.get("speedup_low", math.nan), stats_row.get("speedup_high", math.nan))
    return verdict(interval, stats_row.get("p_value"), stats_row.get("T_reduction"), stats_row.get("delta_test_acc_pp"))


def build_leaderboard(summary: pd.DataFrame, allow_mixed: bool = False) -> pd.DataFrame:
    """One row per (task, scheduler, warm-start arm) from :func:`summarize_runs` output.

    Columns: :data:`COLUMNS`, each defined in docs/statistics.md (*Leaderboard columns*). Rows: tasks and
    schedulers sorted, the none row first.

    Raises :class:`MixedPairError` when the two runs of a pair differ in code version,
    package versions or device, unless ``allow_mixed`` (then ``mixed`` names the fields).

    Replays on resamples of their table (``table_resample`` set) are not rows of their own: they
    widen the intervals and p of the replay's rows (:mod:`~ohgw_bench.analysis.replay_intervals`).
    """
    rows: list[dict[str, Any]] = []
    summary, resampled = split_resamples(summary)
    if summary.empty:
        return pd.DataFrame(rows, columns=list(COLUMNS))
    for (task, scheduler), group in summary.groupby(["task", "scheduler_key"], sort=True):
        none_runs = group[group["warm_start"] == NONE]
        if none_runs.empty:
            log.warning("task %s, scheduler %s: no 'none' arm, nothing to pair with", task, scheduler)
        labels = sorted(set(group["warm_start_label"]) - {NONE})
        for label in ([NONE] if not none_runs.empty else []) + labels:
            runs = group[group["warm_start_label"] == label]
            eta = runs["eta"].dropna().unique() if "eta" in runs else []
            row: dict[str, Any] = {
                "task": task,
                "scheduler": scheduler,
                "arm": label,
                "warm_start": runs["warm_start"].iloc[0],
                "eta": float(eta[0]) if len(eta) == 1 else math.nan,
                "n_runs": int(len(runs)),
                "code_modified": code_modified(runs),  # every run of the arm, paired or not
            }
            if label == NONE:
                _describe_runs(row, runs)
                row.update({"n": int(len(runs)), "n_censored_none": row["n_censored"], **_NONE_ROW})
            else:
                pairs = pair_runs(none_runs, runs) if not none_runs.empty else runs.iloc[0:0]
                row["mixed"], row["n_mixed"] = check_pairs(str(task), str(scheduler), label, pairs, allow_mixed)
                paired_arm = runs[runs["seed"].isin(pairs["seed"])] if len(pairs) else runs.iloc[0:0]
                _describe_runs(row, paired_arm)
                if len(pairs):
                    row.update(compare_pairs(pairs))
                else:
                    row.update({"n": 0, "n_censored_none": 0, **dict.fromkeys(_PAIRED_STATS, math.nan)})
                if not resampled.empty:
                    row.update(widened(row, replicate_shifts(resampled, str(task), str(scheduler), label)))
                row["success"] = success_mark(row)
                row["verdict"] = row_verdict(row)
                ratio = row["T_sd_ratio"]
                row["spread_not_inflated"] = None if math.isnan(ratio) else bool(ratio <= MAX_SD_INFLATION)
            row["delta_test_acc_examples"] = row["delta_test_acc_pp"] / 100.0 * row["n_test"]
            rows.append(row)
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    table["p_holm"] = holm(table["p_value"].to_numpy(float))  # over every test of this leaderboard
    return table


def leaderboard(
    path: Path | str,
    target: float | None = None,
    fmt: str = "md",
    include_incomplete: bool = False,
    allow_mixed: bool = False,
    resamples: Path | str | None = None,
) -> str:
    """Read every run under ``path`` and render its leaderboard (``target`` overrides τ).
    ``path`` may also be a per-run summary saved by :func:`save_run_summary` (a thousand replayed
    seeds are regenerated from their table rather than committed run by run).

    ``resamples``: replays of the same design on resamples of the table (run folders or a saved
    summary), which widen the intervals (:mod:`~ohgw_bench.analysis.replay_intervals`).

    Raises :class:`MixedPairError` for a pair of runs of different code, packages or device
    unless ``allow_mixed``.
    """
    if fmt not in ("md", "csv", "tex"):
        raise ValueError(f"unknown leaderboard format {fmt!r}: use md, csv or tex")
    summary = read_run_summary(path, target, include_incomplete, resamples)
    return render(build_leaderboard(summary, allow_mixed=allow_mixed), fmt)


def read_run_summary(
    path: Path | str,
    target: float | None = None,
    include_incomplete: bool = False,
    resamples: Path | str | None = None,
) -> pd.DataFrame:
    """One row per run: summarised from the run folders under ``path``, or read from a saved summary;
    with ``resamples`` (the same, of replays on resamples of the table), their rows appended."""
    summary = _read_one_summary(path, target, include_incomplete)
    if resamples is None:
        return summary
    extra = _read_one_summary(resamples, target, include_incomplete)
    if extra.empty or RESAMPLE not in extra or extra[RESAMPLE].isna().any():
        raise ValueError(
            f"--resamples {resamples}: every run there must be a replay on a resampled table (run --table-resample)"
        )
    return pd.concat([summary, extra], ignore_index=True)


def _read_one_summary(path: Path | str, target: float | None, include_incomplete: bool) -> pd.DataFrame:
    from ohgw_bench.analysis.results import summarize_runs

    if Path(path).suffix == ".parquet":
        if target is not None or include_incomplete:
            raise ValueError(f"{path} is a saved summary: its T@tau and runs are fixed; use the run folders instead")
        return _checked_summary(path, pd.read_parquet(path))
    return summarize_runs(path, target=target, include_incomplete=include_incomplete)


def _checked_summary(path: Path | str, summary: pd.DataFrame) -> pd.DataFrame:
    """A saved summary as :func:`save_run_summary` wrote it; any other Parquet is refused by name."""
    from ohgw_bench.analysis.results import PROVENANCE_COLUMNS, RUN_KEYS

    missing = [column for column in (*RUN_KEYS, *PROVENANCE_COLUMNS) if column not in summary.columns]
    if missing:
        raise ValueError(
            f"{path} is not a run summary of ohgw-bench (no column {', '.join(missing[:5])}"
            f"{', ...' if len(missing) > 5 else ''}); write one with "
            "`ohgw-bench leaderboard RUNS --format runs --out FILE.parquet`"
        )
    return summary


def save_run_summary(path: Path | str, out: Path | str, target: float | None = None) -> int:
    """Write the per-run summary of the runs under ``path`` to ``out`` (Parquet, atomically); return its rows."""
    from ohgw_bench.core.atomic import atomic_write

    summary = read_run_summary(path, target)
    atomic_write(Path(out), lambda fh: summary.to_parquet(fh, index=False))
    return len(summary)
