"""Leaderboards: paired statistics of each warm-start arm against its scheduler's ``none`` arm.

Pure functions over the per-run summary of :func:`ohgw_bench.results.summarize_runs`:

* :func:`build_leaderboard` — one row per (task, scheduler, warm-start arm);
* :func:`render` — the same table as Markdown (a heading per task × scheduler), CSV (one
  flat file, raw numbers) or LaTeX (one hand-written ``tabular`` per task × scheduler; no
  jinja2 needed);
* :func:`leaderboard` — path in, rendered text out (what ``ohgw-bench leaderboard`` prints).

Pairing
    Within a task and a scheduler key (the optimizer name without its ``+warmstart`` part, so
    ``asha(reduction_factor=2)+ohgw`` pairs with ``asha(reduction_factor=2)``), an arm is
    paired with the ``none`` arm seed by seed. Only seeds present in both arms are paired;
    ``n`` is the number of pairs. Every statistic of an arm row is computed over its paired
    seeds. The ``none`` row describes all of the ``none`` runs (``n`` = their number).

Censoring and ties (the T@τ clock of the paired statistics is tuner-seconds)
    A run that never reached τ has T@τ censored at the budget used: the larger of its final
    clock total and the budget amount when the budget was given in that clock
    (``T_<clock>_cens`` of the summary). Within a pair, a censored value is raised to at
    least its partner's value (:func:`censored_pair_values`): a censored run never ranks
    ahead of a run that reached τ, and two censored runs are a tie (difference 0) whatever
    their budgets used. The descriptive medians and IQRs of T@τ include the censored values
    (so they are lower bounds whenever runs were censored) and the number of runs that never
    reached τ is reported (``n_censored``; ``n_censored_none`` for the paired none runs).
    Paired difference d = T_none − T_arm (positive: the arm is faster). The Wilcoxon
    signed-rank test is two-sided, ``scipy.stats.wilcoxon(d, zero_method="zsplit")``: zero
    differences stay in the ranking and their ranks are split evenly between the positive
    and negative sums (a tie pulls the test towards "no effect" rather than being dropped).
    The rank-biserial effect size uses the same ranks: r = (R+ − R−) / (n(n+1)/2) ∈ [−1, 1],
    positive when the arm is faster. Win rate = share of pairs where the arm reaches τ
    strictly sooner, a tie counting one half: arm reached & none did not → win; none reached
    & arm did not → loss; both censored → tie; both reached → compare T@τ (equal → tie).
    Speed-up = median over pairs of T_none / T_arm (pair-adjusted values; a tie → 1).
    ``T_reduction`` = 1 − median(T_arm) / median(T_none) over the pairs (pair-adjusted).

Success mark (per arm row)
    ✓ when the median T@τ (tuner-seconds, paired seeds) is at least 15 % lower than the
    ``none`` arm's (``T_reduction`` ≥ 0.15), Wilcoxon p < 0.05, and the median paired change
    of the final incumbent test accuracy is no worse than −0.2 percentage points; otherwise
    ✗ (also when any of these is undefined). The ``none`` row is marked —.
    Note: with ``zero_method="zsplit"`` and no ties, p < 0.05 needs at least 6 pairs.
    The accuracy change ``delta_test_acc_pp`` is the median over pairs of
    (incumbent_test_acc_arm − incumbent_test_acc_none) × 100, where incumbent_test_acc is
    the test accuracy of the end-of-run incumbent (accuracies are fractions in [0, 1]).

Other columns: ``best_val_acc_median`` and ``incumbent_test_acc_median`` (medians over the
row's runs), ``ws_compute_share`` and ``ws_flops_share`` (medians of the per-run warm-start
shares), ``peak_mem_ratio`` (the largest per-run ratio: memory is a worst-case concern).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

__all__ = [
    "ALPHA",
    "MAX_TEST_DROP_PP",
    "MIN_T_REDUCTION",
    "ZERO_METHOD",
    "COLUMNS",
    "success_mark",
    "build_leaderboard",
    "censored_pair_values",
    "compare_pairs",
    "leaderboard",
    "pair_runs",
    "rank_biserial",
    "render",
    "win_rate",
    "wilcoxon_p",
]

log = logging.getLogger(__name__)

ALPHA = 0.05  # two-sided Wilcoxon level of the success mark
MIN_T_REDUCTION = 0.15  # median T@τ at least 15 % lower than none
MAX_TEST_DROP_PP = 0.2  # at most 0.2 percentage points lower final incumbent test accuracy
ZERO_METHOD = "zsplit"  # how scipy's Wilcoxon treats zero differences (ties)
NONE = "none"
CHECK, CROSS, DASH = "✓", "✗", "—"

_HOURS = 3600.0


# --------------------------------------------------------------------------- statistics


def pair_runs(none_runs: pd.DataFrame, arm_runs: pd.DataFrame) -> pd.DataFrame:
    """Inner join of two arms' run summaries on ``seed``: columns get ``_none`` / ``_arm``."""
    for name, runs in (("none", none_runs), ("arm", arm_runs)):
        duplicated = runs["seed"][runs["seed"].duplicated()]
        if len(duplicated):
            raise ValueError(f"{name} arm has several runs for seed(s) {sorted(duplicated.tolist())}")
    return none_runs.merge(arm_runs, on="seed", suffixes=("_none", "_arm"), how="inner").sort_values("seed")


def censored_pair_values(
    t_none: npt.ArrayLike, t_arm: npt.ArrayLike, reached_none: npt.ArrayLike, reached_arm: npt.ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    """T@τ of each pair with the censoring rule applied *within* the pair.

    A censored run's value (its budget used) is raised to at least its partner's value, so a
    censored run never ranks ahead of a run that reached τ, and two censored runs get the
    same value (the larger budget used): a tie, whatever their budgets used.
    """
    a, b = np.array(t_none, float), np.array(t_arm, float)
    cn, ca = ~np.asarray(reached_none, bool), ~np.asarray(reached_arm, bool)
    a[cn] = np.maximum(a[cn], b[cn])
    b[ca] = np.maximum(b[ca], a[ca])
    return a, b


def _paired_differences(
    t_none: np.ndarray, t_arm: np.ndarray, reached_none: np.ndarray, reached_arm: np.ndarray
) -> np.ndarray:
    """d = T_none − T_arm after :func:`censored_pair_values` (0 for two censored runs)."""
    a, b = censored_pair_values(t_none, t_arm, reached_none, reached_arm)
    return a - b


def wilcoxon_p(d: npt.ArrayLike) -> float:
    """Two-sided Wilcoxon signed-rank p-value of paired differences (``zero_method="zsplit"``).

    NaN when there is no pair.
    """
    diffs = np.asarray(d, float)
    if diffs.size == 0:
        return math.nan
    return float(stats.wilcoxon(diffs, zero_method=ZERO_METHOD, alternative="two-sided").pvalue)


def rank_biserial(d: npt.ArrayLike) -> float:
    """Matched-pairs rank-biserial correlation (R+ − R−) / (n(n+1)/2), zero ranks split evenly.

    Ranks are of |d| with average ranks for ties (zeros rank lowest), matching
    ``zero_method="zsplit"``. Positive when the differences are mostly positive.
    """
    diffs = np.asarray(d, float)
    n = diffs.size
    if n == 0:
        return math.nan
    ranks = stats.rankdata(np.abs(diffs))
    r_plus = ranks[diffs > 0].sum() + ranks[diffs == 0].sum() / 2
    r_minus = ranks[diffs < 0].sum() + ranks[diffs == 0].sum() / 2
    return float((r_plus - r_minus) / (n * (n + 1) / 2))


def win_rate(
    t_none: npt.ArrayLike, t_arm: npt.ArrayLike, reached_none: npt.ArrayLike, reached_arm: npt.ArrayLike
) -> float:
    """Share of pairs where the arm reaches τ strictly sooner; ties count one half.

    Arm reached and none not → 1; none reached and arm not → 0; both censored → ½;
    both reached → 1 / ½ / 0 as T_arm <, =, > T_none. NaN when there is no pair.
    """
    tn, ta = np.asarray(t_none, float), np.asarray(t_arm, float)
    rn, ra = np.asarray(reached_none, bool), np.asarray(reached_arm, bool)
    if tn.size == 0:
        return math.nan
    score = np.where(ra & ~rn, 1.0, np.where(rn & ~ra, 0.0, 0.5))
    both = rn & ra
    score[both] = np.where(ta[both] < tn[both], 1.0, np.where(ta[both] > tn[both], 0.0, 0.5))
    return float(score.mean())


def _ratios(t_none: np.ndarray, t_arm: np.ndarray, reached_none: np.ndarray, reached_arm: np.ndarray) -> np.ndarray:
    """Per-pair speed-up T_none / T_arm after :func:`censored_pair_values` (two censored → 1)."""
    a, b = censored_pair_values(t_none, t_arm, reached_none, reached_arm)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = a / b
    ratio[(a == b)] = 1.0  # also 0 / 0
    return ratio


def _quantile(values: Any, q: float) -> float:
    """The q-th percentile ignoring NaN; NaN when nothing is left."""
    values = np.asarray(values, float)
    values = values[~np.isnan(values)]
    return float(np.percentile(values, q)) if values.size else math.nan


def _median(values: Any) -> float:
    return _quantile(values, 50)


def _clock_stats(row: dict[str, Any], values: Any, name: str, scale: float) -> None:
    values = np.asarray(values, float) / scale
    row[f"{name}_median"] = _median(values)
    row[f"{name}_q25"] = _quantile(values, 25)
    row[f"{name}_q75"] = _quantile(values, 75)


_CLOCK_COLUMNS = (
    ("T_tuner_h", "T_tuner_seconds_cens", _HOURS),
    ("T_device_h", "T_device_seconds_cens", _HOURS),
    ("T_epochs", "T_epochs_cens", 1.0),
)


COLUMNS = (
    "task",
    "scheduler",
    "arm",
    "warm_start",
    "eta",
    "n",
    "n_runs",
    "n_censored",
    "n_censored_none",
    *[f"{name}_{s}" for name, _, _ in _CLOCK_COLUMNS for s in ("median", "q25", "q75")],
    "T_reduction",
    "speedup",
    "p_value",
    "rank_biserial",
    "win_rate",
    "best_val_acc_median",
    "incumbent_test_acc_median",
    "delta_test_acc_pp",
    "ws_compute_share",
    "ws_flops_share",
    "peak_mem_ratio",
    "n_diverged",
    "success",
)


def _describe_runs(row: dict[str, Any], runs: pd.DataFrame) -> None:
    """Per-arm descriptive columns over ``runs`` (one arm's runs, suffix-free columns)."""
    for name, column, scale in _CLOCK_COLUMNS:
        _clock_stats(row, runs[column] if column in runs else [], name, scale)
    row["n_censored"] = int((~runs["reached"].astype(bool)).sum())
    row["best_val_acc_median"] = _median(runs["best_val_acc"])
    row["incumbent_test_acc_median"] = _median(runs["incumbent_test_acc"])
    row["ws_compute_share"] = _median(runs["ws_compute_share"])
    row["ws_flops_share"] = _median(runs["ws_flops_share"])
    peaks = runs["peak_mem_ratio"].to_numpy(float) if "peak_mem_ratio" in runs else np.array([])
    peaks = peaks[~np.isnan(peaks)]
    row["peak_mem_ratio"] = float(peaks.max()) if peaks.size else math.nan
    row["n_diverged"] = int(runs["n_diverged"].sum()) if "n_diverged" in runs else 0


def compare_pairs(pairs: pd.DataFrame) -> dict[str, Any]:
    """Paired statistics of one arm vs none from :func:`pair_runs` output (tuner-seconds clock)."""
    t_none = pairs["T_tuner_seconds_cens_none"].to_numpy(float)
    t_arm = pairs["T_tuner_seconds_cens_arm"].to_numpy(float)
    rn = pairs["reached_none"].to_numpy(bool)
    ra = pairs["reached_arm"].to_numpy(bool)
    d = _paired_differences(t_none, t_arm, rn, ra)
    adjusted_none, adjusted_arm = censored_pair_values(t_none, t_arm, rn, ra)
    median_none, median_arm = _median(adjusted_none), _median(adjusted_arm)
    reduction = 1.0 - median_arm / median_none if median_none and not math.isnan(median_none) else math.nan
    test_delta = (
        pairs["incumbent_test_acc_arm"].to_numpy(float) - pairs["incumbent_test_acc_none"].to_numpy(float)
    ) * 100.0
    return {
        "n": int(len(pairs)),
        "n_censored_none": int((~rn).sum()),
        "T_reduction": reduction,
        "speedup": _median(_ratios(t_none, t_arm, rn, ra)),
        "p_value": wilcoxon_p(d),
        "rank_biserial": rank_biserial(d),
        "win_rate": win_rate(t_none, t_arm, rn, ra),
        "delta_test_acc_pp": _median(test_delta),
    }


def success_mark(stats_row: dict[str, Any]) -> str:
    """✓ / ✗ from the study's criteria (see the module docstring)."""
    reduction, p, delta = stats_row.get("T_reduction"), stats_row.get("p_value"), stats_row.get("delta_test_acc_pp")
    if reduction is None or p is None or delta is None:
        return CROSS
    if any(isinstance(v, float) and math.isnan(v) for v in (reduction, p, delta)):
        return CROSS
    ok = reduction >= MIN_T_REDUCTION and p < ALPHA and delta >= -MAX_TEST_DROP_PP
    return CHECK if ok else CROSS


def build_leaderboard(summary: pd.DataFrame) -> pd.DataFrame:
    """One row per (task, scheduler, warm-start arm) from :func:`summarize_runs` output.

    Columns: task, scheduler, arm (warm_start_label), warm_start, eta, n, n_runs,
    n_censored, n_censored_none, T_tuner_h_{median,q25,q75}, T_device_h_…, T_epochs_…,
    T_reduction, speedup, p_value, rank_biserial, win_rate, best_val_acc_median,
    incumbent_test_acc_median, delta_test_acc_pp, ws_compute_share, ws_flops_share,
    peak_mem_ratio, success. Rows: tasks and schedulers sorted, the none row first.
    """
    rows: list[dict[str, Any]] = []
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
            }
            if label == NONE:
                _describe_runs(row, runs)
                row.update(
                    {
                        "n": int(len(runs)),
                        "n_censored_none": row["n_censored"],
                        "T_reduction": 0.0,
                        "speedup": 1.0,
                        "p_value": math.nan,
                        "rank_biserial": math.nan,
                        "win_rate": math.nan,
                        "delta_test_acc_pp": 0.0,
                        "success": DASH,
                    }
                )
            else:
                pairs = pair_runs(none_runs, runs) if not none_runs.empty else runs.iloc[0:0]
                paired_arm = runs[runs["seed"].isin(pairs["seed"])] if len(pairs) else runs.iloc[0:0]
                _describe_runs(row, paired_arm)
                if len(pairs):
                    row.update(compare_pairs(pairs))
                else:
                    row.update(
                        {
                            "n": 0,
                            "n_censored_none": 0,
                            "T_reduction": math.nan,
                            "speedup": math.nan,
                            "p_value": math.nan,
                            "rank_biserial": math.nan,
                            "win_rate": math.nan,
                            "delta_test_acc_pp": math.nan,
                        }
                    )
                row["success"] = success_mark(row)
            rows.append(row)
    return pd.DataFrame(rows, columns=list(COLUMNS))


# --------------------------------------------------------------------------- rendering

_DISPLAY = (  # header, function of a row → text
    ("arm", lambda r: str(r["arm"])),
    ("n", lambda r: str(int(r["n"]))),
    ("T@τ tuner h, median [IQR]", lambda r: _iqr(r, "T_tuner_h")),
    ("T@τ device h", lambda r: _iqr(r, "T_device_h")),
    ("T@τ epochs", lambda r: _iqr(r, "T_epochs")),
    ("not reached", lambda r: str(int(r["n_censored"]))),
    ("speed-up", lambda r: _num(r["speedup"], "{:.2f}×")),
    ("p", lambda r: _num(r["p_value"], "{:.3g}")),
    ("r_rb", lambda r: _num(r["rank_biserial"], "{:+.2f}")),
    ("win rate", lambda r: _num(r["win_rate"], "{:.2f}")),
    ("best val acc", lambda r: _num(r["best_val_acc_median"], "{:.4f}")),
    ("incumbent test acc", lambda r: _num(r["incumbent_test_acc_median"], "{:.4f}")),
    ("Δ test acc (pp)", lambda r: _num(r["delta_test_acc_pp"], "{:+.2f}")),
    ("warm-start compute", lambda r: _num(r["ws_compute_share"], "{:.1%}")),
    ("warm-start FLOPs", lambda r: _num(r["ws_flops_share"], "{:.1%}")),
    ("peak mem ratio", lambda r: _num(r["peak_mem_ratio"], "{:.2f}")),
    ("diverged trials", lambda r: str(int(r["n_diverged"]))),
    ("success", lambda r: str(r["success"])),
)


def _num(value: Any, fmt: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return DASH
    if isinstance(value, float) and math.isinf(value):
        return "∞"
    return fmt.format(value)


def _iqr(row: Any, name: str) -> str:
    median, q25, q75 = row[f"{name}_median"], row[f"{name}_q25"], row[f"{name}_q75"]
    if isinstance(median, float) and math.isnan(median):
        return DASH
    return f"{median:.3g} [{q25:.3g}, {q75:.3g}]"


def _groups(table: pd.DataFrame):
    for (task, scheduler), group in table.groupby(["task", "scheduler"], sort=False):
        yield task, scheduler, [[cell(r) for _, cell in _DISPLAY] for _, r in group.iterrows()]


def _markdown(table: pd.DataFrame) -> str:
    headers = [h for h, _ in _DISPLAY]
    out = [
        "# Leaderboard",
        "",
        f"T@τ censored at the budget used when τ was not reached; Wilcoxon two-sided, "
        f"zero_method={ZERO_METHOD}; ✓ = median T@τ ≥ {MIN_T_REDUCTION:.0%} lower, p < {ALPHA}, "
        f"Δ test acc ≥ −{MAX_TEST_DROP_PP} pp.",
        "",
    ]
    if table.empty:
        out += ["_No complete run to rank (incomplete runs are excluded unless asked for)._", ""]
    for task, scheduler, rows in _groups(table):
        out += [
            f"## {task} × {scheduler}",
            "",
            "| " + " | ".join(headers) + " |",
            "|" + "|".join("---" if i == 0 else "---:" for i in range(len(headers))) + "|",
        ]
        out += ["| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |" for cells in rows]
        out.append("")
    return "\n".join(out)


_TEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_TEX_SYMBOLS = {
    CHECK: r"$\checkmark$",
    CROSS: r"$\times$",
    DASH: "---",
    "τ": r"$\tau$",
    "Δ": r"$\Delta$",
    "×": r"$\times$",
    "∞": r"$\infty$",
    "−": "-",
}


def _tex(text: str) -> str:
    escaped = "".join(_TEX_SPECIAL.get(ch, ch) for ch in text)
    for symbol, replacement in _TEX_SYMBOLS.items():
        escaped = escaped.replace(symbol, replacement)
    return escaped


def _latex(table: pd.DataFrame) -> str:
    headers = [h for h, _ in _DISPLAY]
    out = ["% Generated by ohgw-bench leaderboard; needs \\usepackage{amssymb} for \\checkmark."]
    for task, scheduler, rows in _groups(table):
        out += [
            "",
            f"\\paragraph{{{_tex(str(task))} / {_tex(str(scheduler))}}}",
            "\\begin{tabular}{l" + "r" * (len(headers) - 1) + "}",
            "\\hline",
            " & ".join(_tex(h) for h in headers) + " \\\\",
            "\\hline",
        ]
        out += [" & ".join(_tex(c) for c in cells) + " \\\\" for cells in rows]
        out += ["\\hline", "\\end{tabular}"]
    return "\n".join(out) + "\n"


def render(table: pd.DataFrame, fmt: str = "md") -> str:
    """The leaderboard as text: ``md`` (heading per task × scheduler), ``csv`` (flat, raw
    numbers, every column) or ``tex`` (one ``tabular`` per task × scheduler)."""
    if fmt == "csv":
        return table.to_csv(index=False)
    if fmt == "md":
        return _markdown(table)
    if fmt == "tex":
        return _latex(table)
    raise ValueError(f"unknown leaderboard format {fmt!r}: use md, csv or tex")


def leaderboard(
    path: Path | str, target: float | None = None, fmt: str = "md", include_incomplete: bool = False
) -> str:
    """Read every run under ``path`` and render its leaderboard (``target`` overrides τ)."""
    from ohgw_bench.results import summarize_runs

    if fmt not in ("md", "csv", "tex"):
        raise ValueError(f"unknown leaderboard format {fmt!r}: use md, csv or tex")
    summary = summarize_runs(path, target=target, include_incomplete=include_incomplete)
    return render(build_leaderboard(summary), fmt)
