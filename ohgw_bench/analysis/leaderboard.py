"""Leaderboards: paired statistics of each warm-start arm against its scheduler's ``none`` arm.

Pure functions over the per-run summary of :func:`ohgw_bench.analysis.results.summarize_runs`:

* :func:`build_leaderboard` — one row per (task, scheduler, warm-start arm);
* :func:`render` — the same table as Markdown (a heading per task × scheduler), CSV (one
  flat file, raw numbers, times in seconds) or LaTeX (a booktabs ``table`` per task ×
  scheduler, nine columns, for a portrait page; no jinja2 needed);
* :func:`leaderboard` — path in, rendered text out (what ``ohgw-bench leaderboard`` prints).

Pairing
    Within a task and a scheduler key (the optimizer name without its ``+warmstart`` part, so
    ``asha(reduction_factor=2)+ohgw`` pairs with ``asha(reduction_factor=2)``), an arm is
    paired with the ``none`` arm seed by seed. Only seeds present in both arms are paired;
    ``n`` is the number of pairs. Every statistic of an arm row is computed over its paired
    seeds. The ``none`` row describes all of the ``none`` runs (``n`` = their number).

Pairs you can trust
    A paired difference only measures the warm start when both runs ran the same code on the
    same software and hardware. So both runs of every pair must agree on ``code_version``
    (``package_tree`` and ``pyproject``; ``modified`` is not compared), on every entry of
    ``versions`` and on ``device`` (meta.json's fields, see :func:`pair_mismatches`). A run that
    did not record one of them (e.g. ``code_version`` is null outside a git checkout) counts as
    unknown and mismatches anything, itself included. :func:`build_leaderboard` raises
    :class:`MixedPairError` (a ``ValueError``) at the first pair that disagrees, naming task,
    scheduler, arm, seed, the field and both values. With ``allow_mixed=True``
    (``--allow-mixed``) it ranks them anyway and marks the row: column ``mixed`` (the fields
    that differ in any pair, ``;``-joined, empty when clean) and ``n_mixed`` (how many pairs);
    Markdown and LaTeX put † on the arm and a footnote under the table. ``code_modified`` says
    whether any run of the row had ``code_version.modified`` (uncommitted changes); Markdown
    then says in its header that the results may not be reproducible from the commit.

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
    the test accuracy of the end-of-run incumbent (accuracies are fractions in [0, 1]);
    ``delta_test_acc_examples`` is the same change in test examples (pp / 100 × ``n_test``,
    NaN when meta.json's ``data_info`` gave no ``n_test``). A test split of fewer than 500
    examples cannot resolve 0.2 pp (one example is more than that): ``test_resolves_criterion``
    is then False, the mark is still computed, and Markdown and LaTeX flag it (✓* / ✗*) with
    a note under the table.

Units
    The CSV keeps raw numbers, T@τ in seconds (``T_tuner_s_*``, ``T_device_s_*``) and epochs
    (``T_epochs_*``). Markdown and LaTeX show each task × scheduler table in one time unit
    (:func:`time_unit` of the ``none`` row's median T@τ tuner: s below 120 s, min below
    120 min, else h), named in the column header, to 3 significant digits. Markdown leaves
    out the T@τ device column (= tuner × workers) of a table where it equals the tuner column
    (one worker per run).

Other columns: ``target`` (τ) and ``n_test`` (NaN when the row's runs disagree or did not
say), ``best_val_acc_median`` and ``incumbent_test_acc_median`` (medians over the row's runs),
``ws_compute_share`` and ``ws_flops_share`` (medians of the per-run warm-start shares),
``peak_mem_ratio`` (the largest per-run ratio: memory is a worst-case concern).
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
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
    "PAIR_FIELDS",
    "Mismatch",
    "MixedPairError",
    "TimeUnit",
    "success_mark",
    "build_leaderboard",
    "censored_pair_values",
    "compare_pairs",
    "leaderboard",
    "pair_mismatches",
    "pair_runs",
    "rank_biserial",
    "render",
    "time_unit",
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
MIXED_MARK = "†"  # an arm ranked with --allow-mixed
UNRESOLVED_MARK = "*"  # a success mark the test split cannot back at 0.2 pp

#: The summary columns both runs of a pair must agree on (meta.json's fields, see :func:`pair_mismatches`).
PAIR_FIELDS = ("code_version", "versions", "device", "clock_source")
_CODE_KEYS = ("package_tree", "pyproject")  # what identifies the code; ``modified`` is reported, not compared


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

    NaN with fewer than two pairs (scipy refuses one; one pair cannot be tested anyway).
    """
    diffs = np.asarray(d, float)
    if diffs.size < 2:
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


def _clock_stats(row: dict[str, Any], values: Any, name: str) -> None:
    values = np.asarray(values, float)
    row[f"{name}_median"] = _median(values)
    row[f"{name}_q25"] = _quantile(values, 25)
    row[f"{name}_q75"] = _quantile(values, 75)


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
    "speedup",
    "p_value",
    "rank_biserial",
    "win_rate",
    "best_val_acc_median",
    "incumbent_test_acc_median",
    "delta_test_acc_pp",
    "delta_test_acc_examples",
    "ws_compute_share",
    "ws_flops_share",
    "peak_mem_ratio",
    "n_diverged",
    "success",
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
    row["best_val_acc_median"] = _median(runs["best_val_acc"])
    row["incumbent_test_acc_median"] = _median(runs["incumbent_test_acc"])
    row["ws_compute_share"] = _median(runs["ws_compute_share"])
    row["ws_flops_share"] = _median(runs["ws_flops_share"])
    peaks = runs["peak_mem_ratio"].to_numpy(float) if "peak_mem_ratio" in runs else np.array([])
    peaks = peaks[~np.isnan(peaks)]
    row["peak_mem_ratio"] = float(peaks.max()) if peaks.size else math.nan
    row["n_diverged"] = int(runs["n_diverged"].sum()) if "n_diverged" in runs else 0


def _unique_number(values: Any) -> float:
    """The one finite value of a column, NaN when there is none or several (nothing to report as the row's)."""
    found = {float(v) for v in np.asarray(values, float) if math.isfinite(v)}
    return found.pop() if len(found) == 1 else math.nan


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


def build_leaderboard(summary: pd.DataFrame, allow_mixed: bool = False) -> pd.DataFrame:
    """One row per (task, scheduler, warm-start arm) from :func:`summarize_runs` output.

    Columns: :data:`COLUMNS` (task, scheduler, arm = warm_start_label, warm_start, eta,
    target, n_test, n, n_runs, n_censored, n_censored_none, T_tuner_s_{median,q25,q75},
    T_device_s_…, T_epochs_…, T_reduction, speedup, p_value, rank_biserial, win_rate,
    best_val_acc_median, incumbent_test_acc_median, delta_test_acc_pp,
    delta_test_acc_examples, ws_compute_share, ws_flops_share, peak_mem_ratio, n_diverged,
    success, test_resolves_criterion, mixed, n_mixed, code_modified). Rows: tasks and
    schedulers sorted, the none row first.

    Raises :class:`MixedPairError` when the two runs of a pair differ in code version,
    package versions or device, unless ``allow_mixed`` (then ``mixed`` names the fields).
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
                "code_modified": _code_modified(runs),  # every run of the arm, paired or not
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
                        "mixed": "",
                        "n_mixed": 0,
                    }
                )
            else:
                pairs = pair_runs(none_runs, runs) if not none_runs.empty else runs.iloc[0:0]
                row["mixed"], row["n_mixed"] = _check_pairs(str(task), str(scheduler), label, pairs, allow_mixed)
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
            row["delta_test_acc_examples"] = row["delta_test_acc_pp"] / 100.0 * row["n_test"]
            rows.append(row)
    return pd.DataFrame(rows, columns=list(COLUMNS))


# --------------------------------------------------------------------------- pairs you can trust


@dataclass(frozen=True)
class Mismatch:
    """One field in which the two runs of a pair differ; None stands for "not recorded"."""

    field: str  # e.g. ``code_version.package_tree``, ``versions.torch``, ``device``
    none_value: Any
    arm_value: Any


class MixedPairError(ValueError):
    """Both runs of a pair must run the same code, packages and device, or their difference is not the warm start's."""

    def __init__(self, task: str, scheduler: str, arm: str, seed: int, mismatch: Mismatch) -> None:
        self.task, self.scheduler, self.arm, self.seed, self.mismatch = task, scheduler, arm, seed, mismatch
        super().__init__(
            f"task {task!r}, scheduler {scheduler!r}, arm {arm!r}, seed {seed}: the pair's runs differ in "
            f"{mismatch.field} (none: {_show(mismatch.none_value)}, {arm}: {_show(mismatch.arm_value)}). "
            "Both runs of a pair must share code_version, versions and device; rerun one side so that they do, "
            "or pass --allow-mixed (allow_mixed=True) to rank them anyway with the rows marked."
        )


def _show(value: Any) -> str:
    if value is None:
        return "unknown (not recorded)"
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return repr(value)


def _record(value: Any) -> Any:
    """A provenance value of a summary row as a Python value: JSON text parsed, NaN/None as None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str) and value[:1] in ("{", "["):
        return json.loads(value)
    return value


def pair_mismatches(none_run: Mapping[str, Any], arm_run: Mapping[str, Any]) -> list[Mismatch]:
    """Every :data:`PAIR_FIELDS` entry in which two runs differ, in a fixed order.

    ``none_run`` / ``arm_run`` map ``code_version``, ``versions`` and ``device`` to the
    summary's values (JSON text or dicts). A value that was not recorded is unknown and
    mismatches anything, another unknown included: nothing vouches that the two are the same.
    """
    out: list[Mismatch] = []
    for name in PAIR_FIELDS:
        a, b = _record(none_run.get(name)), _record(arm_run.get(name))
        if name == "clock_source":  # runs written before replays existed were real
            a, b = a or "real", b or "real"
        if isinstance(a, dict) and isinstance(b, dict):
            keys = _CODE_KEYS if name == "code_version" else [*a, *(k for k in b if k not in a)]
            out += [Mismatch(f"{name}.{k}", a.get(k), b.get(k)) for k in keys if _differ(a.get(k), b.get(k))]
        elif _differ(a, b):
            out.append(Mismatch(name, a, b))
    return out


def _differ(a: Any, b: Any) -> bool:
    """Unknown (None) differs from anything, itself included."""
    return a is None or b is None or a != b


def _pair_fields(pair: pd.Series, side: str) -> dict[str, Any]:
    return {name: pair.get(f"{name}_{side}") for name in PAIR_FIELDS}


def _check_pairs(task: str, scheduler: str, arm: str, pairs: pd.DataFrame, allow_mixed: bool) -> tuple[str, int]:
    """``(mixed, n_mixed)`` of an arm row; raises :class:`MixedPairError` unless ``allow_mixed``."""
    fields: list[str] = []
    n_mixed = 0
    for _, pair in pairs.iterrows():
        found = pair_mismatches(_pair_fields(pair, "none"), _pair_fields(pair, "arm"))
        if not found:
            continue
        if not allow_mixed:
            raise MixedPairError(task, scheduler, arm, int(pair["seed"]), found[0])
        n_mixed += 1
        fields += [m.field for m in found if m.field not in fields]
    return ";".join(fields), n_mixed


def _code_modified(runs: pd.DataFrame) -> bool:
    """Whether any run recorded uncommitted changes to the package or its pins."""
    if "code_version" not in runs:
        return False
    return any(isinstance(c := _record(v), dict) and c.get("modified") is True for v in runs["code_version"])


# --------------------------------------------------------------------------- rendering


@dataclass(frozen=True)
class TimeUnit:
    """A display unit for T@τ: ``name`` in headers, ``seconds`` per unit, ``long`` in captions."""

    name: str
    seconds: float
    long: str


_UNITS = (TimeUnit("s", 1.0, "seconds"), TimeUnit("min", 60.0, "minutes"), TimeUnit("h", 3600.0, "hours"))


def time_unit(seconds: float) -> TimeUnit:
    """s below 120 s, min below 120 min, else h: the reference value then reads as 1–120 units.

    NaN (nothing reached, nothing to scale by) gives seconds.
    """
    if not math.isfinite(seconds) or seconds < 120:
        return _UNITS[0]
    return _UNITS[1] if seconds < 120 * 60 else _UNITS[2]


def _table_unit(rows: pd.DataFrame) -> TimeUnit:
    """One unit per task × scheduler table, from the none row's median T@τ tuner (else the largest median)."""
    none = rows.loc[rows["warm_start"] == NONE, "T_tuner_s_median"].to_numpy(float)
    medians = none[np.isfinite(none)]
    if not medians.size:
        medians = rows["T_tuner_s_median"].to_numpy(float)
        medians = medians[np.isfinite(medians)]
    return time_unit(float(medians.max()) if medians.size else math.nan)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _sig(value: float, signed: bool = False) -> str:
    """3 significant digits without an exponent for numbers ≥ 1 (1234 → 1230, 0.01234 → 0.0123)."""
    value = float(value) + 0.0  # no "-0"
    text = f"{value:+.3g}" if signed else f"{value:.3g}"
    if "e+" in text:
        text = f"{round(value, 2 - math.floor(math.log10(abs(value)))):{'+' if signed else ''}.0f}"
    return text


def _num(value: Any, fmt: str) -> str:
    if _missing(value):
        return DASH
    if isinstance(value, float) and math.isinf(value):
        return "∞"
    return fmt.format(value)


def _iqr(row: pd.Series, name: str, scale: float = 1.0) -> str:
    """``median [q25, q75]`` of a clock, divided by ``scale`` (seconds per display unit)."""
    median, q25, q75 = (row[f"{name}_{s}"] for s in ("median", "q25", "q75"))
    if _missing(median):
        return DASH
    return f"{_sig(median / scale)} [{_sig(q25 / scale)}, {_sig(q75 / scale)}]"


def _is_none_row(row: pd.Series) -> bool:
    return bool(row["warm_start"] == NONE)


def _unresolved(row: pd.Series) -> bool:
    """The test split is too small to resolve the accuracy criterion (one example > 0.2 pp)."""
    value = row["test_resolves_criterion"]
    return not _missing(value) and not bool(value)


def _mark(row: pd.Series) -> str:
    mark = str(row["success"])
    return mark + UNRESOLVED_MARK if mark in (CHECK, CROSS) and _unresolved(row) else mark


def _delta_cell(row: pd.Series) -> str:
    """``+0.05 pp (+2 ex.)``: the accuracy change and what it is in test examples (pp only without n_test)."""
    if _is_none_row(row) or _missing(row["delta_test_acc_pp"]):
        return DASH
    text = f"{float(row['delta_test_acc_pp']) + 0.0:+.2f} pp"
    examples = row["delta_test_acc_examples"]
    return text if _missing(examples) else f"{text} ({_sig(examples, signed=True)} ex.)"


def _mixed(row: pd.Series) -> bool:
    return isinstance(row["mixed"], str) and bool(row["mixed"])


@dataclass(frozen=True)
class _Column:
    header: str  # "{unit}" becomes the table's time unit
    cell: Callable[[pd.Series, TimeUnit], str]


_MD_COLUMNS = (
    _Column("arm", lambda r, u: f"{r['arm']} {MIXED_MARK}" if _mixed(r) else str(r["arm"])),
    _Column("n", lambda r, u: str(int(r["n"]))),
    _Column("T@τ tuner ({unit}), median [IQR]", lambda r, u: _iqr(r, "T_tuner_s", u.seconds)),
    _Column("T@τ device ({unit})", lambda r, u: _iqr(r, "T_device_s", u.seconds)),
    _Column("T@τ epochs", lambda r, u: _iqr(r, "T_epochs")),
    _Column("not reached", lambda r, u: str(int(r["n_censored"]))),
    _Column("speed-up", lambda r, u: _num(r["speedup"], "{:.2f}×")),
    _Column("p", lambda r, u: _num(r["p_value"], "{:.3g}")),
    _Column("r_rb", lambda r, u: _num(r["rank_biserial"], "{:+.2f}")),
    _Column("win rate", lambda r, u: _num(r["win_rate"], "{:.2f}")),
    _Column("best val acc", lambda r, u: _num(r["best_val_acc_median"], "{:.4f}")),
    _Column("incumbent test acc", lambda r, u: _num(r["incumbent_test_acc_median"], "{:.4f}")),
    _Column("Δ test acc", lambda r, u: _delta_cell(r)),
    _Column("warm-start compute", lambda r, u: _num(r["ws_compute_share"], "{:.1%}")),
    _Column("warm-start FLOPs", lambda r, u: _num(r["ws_flops_share"], "{:.1%}")),
    _Column("peak mem ratio", lambda r, u: _num(r["peak_mem_ratio"], "{:.2f}")),
    _Column("diverged trials", lambda r, u: str(int(r["n_diverged"]))),
    _Column("success", lambda r, u: _mark(r)),
)
_MD_TUNER, _MD_DEVICE = 2, 3  # the device column is left out where it repeats the tuner column


def _groups(table: pd.DataFrame) -> Iterator[tuple[str, str, pd.DataFrame]]:
    for (task, scheduler), group in table.groupby(["task", "scheduler"], sort=False):
        yield str(task), str(scheduler), group


def _mixed_notes(rows: pd.DataFrame) -> list[tuple[str, int, int, list[str]]]:
    """``(arm, n_mixed, n, fields)`` of each row ranked with mixed pairs."""
    return [
        (str(r["arm"]), int(r["n_mixed"]), int(r["n"]), str(r["mixed"]).split(";"))
        for _, r in rows.iterrows()
        if _mixed(r)
    ]


def _coarse_test_splits(rows: pd.DataFrame) -> list[int]:
    """Test-split sizes of a table too small to resolve the accuracy criterion (one example > 0.2 pp)."""
    sizes = {int(v) for v in rows["n_test"].to_numpy(float) if math.isfinite(v)}
    return sorted(n for n in sizes if 100.0 / n > MAX_TEST_DROP_PP)


def _resolution_note(n_test: int) -> str:
    return (
        f"The test split ({n_test} examples, 1 example = {_sig(100.0 / n_test)} pp) cannot resolve the "
        f"{MAX_TEST_DROP_PP} pp accuracy criterion: the success mark is computed as usual, but one test example "
        "more or less can flip it"
    )


def _markdown(table: pd.DataFrame) -> str:
    out = [
        "# Leaderboard",
        "",
        "T@τ: time until the incumbent's validation accuracy first reaches τ, median [IQR] over seeds, in the unit "
        "named in each table's header; censored at the budget used when τ was not reached. T@τ device "
        "(= tuner × workers) is shown only where it differs from T@τ tuner. Wilcoxon two-sided, "
        f"zero_method={ZERO_METHOD}; ✓ = median T@τ ≥ {MIN_T_REDUCTION:.0%} lower, p < {ALPHA}, "
        f"Δ test acc ≥ −{MAX_TEST_DROP_PP} pp (ex. = test examples).",
        "",
    ]
    if bool(table["code_modified"].any()):
        out += [
            "**Code modified locally:** some runs ran with uncommitted changes to ohgw_bench/ or pyproject.toml "
            "(meta.json code_version.modified), so these results may not be reproducible from the commit.",
            "",
        ]
    if table.empty:
        out += ["_No complete run to rank (incomplete runs are excluded unless asked for)._", ""]
    for task, scheduler, rows in _groups(table):
        unit = _table_unit(rows)
        cells = [[column.cell(r, unit) for column in _MD_COLUMNS] for _, r in rows.iterrows()]
        keep = [
            i for i in range(len(_MD_COLUMNS)) if i != _MD_DEVICE or any(c[_MD_DEVICE] != c[_MD_TUNER] for c in cells)
        ]
        headers = [_MD_COLUMNS[i].header.format(unit=unit.name) for i in keep]
        taus = rows["target"].dropna().unique()
        out += [f"## {task} × {scheduler}", ""]
        out += [f"τ = {taus[0]:g}; times in {unit.long}.", ""] if len(taus) == 1 else []
        out += [
            "| " + " | ".join(headers) + " |",
            "|" + "|".join("---" if i == 0 else "---:" for i in range(len(headers))) + "|",
        ]
        out += ["| " + " | ".join(row[i].replace("|", "\\|") for i in keep) + " |" for row in cells]
        out.append("")
        for arm, n_mixed, n, fields in _mixed_notes(rows):
            listed = ", ".join(f"`{f}`" for f in fields)
            out += [
                f"{MIXED_MARK} {arm}: {n_mixed} of {n} pairs ran different {listed} (ranked with --allow-mixed).",
                "",
            ]
        for n_test in _coarse_test_splits(rows):
            marks = f"{CHECK}\\{UNRESOLVED_MARK} / {CROSS}\\{UNRESOLVED_MARK}"
            out += [f"\\{UNRESOLVED_MARK} {_resolution_note(n_test)} ({marks}).", ""]
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
    """Plain text (names, numbers, marks) as LaTeX: special characters escaped, symbols in math mode."""
    escaped = "".join(_TEX_SPECIAL.get(ch, ch) for ch in text)
    for symbol, replacement in _TEX_SYMBOLS.items():
        escaped = escaped.replace(symbol, replacement)
    return escaped


def _tex_signed(value: Any, fmt: str = "{:+.2f}") -> str:
    """A signed number in math mode, so that its minus is a minus and not a hyphen."""
    return "---" if _missing(value) else "$" + fmt.format(float(value) + 0.0) + "$"


def _tex_p(value: Any) -> str:
    if _missing(value):
        return "---"
    return "$<0.001$" if value < 0.001 else f"{value:.3f}"


def _tex_mark(row: pd.Series) -> str:
    symbol = {CHECK: r"\checkmark", CROSS: r"\times"}.get(str(row["success"]))
    if symbol is None:
        return _tex(str(row["success"]))
    return f"${symbol}^{{{UNRESOLVED_MARK}}}$" if _unresolved(row) else f"${symbol}$"


def _tex_arm(row: pd.Series) -> str:
    return _tex(str(row["arm"])) + (r"$^{\dagger}$" if _mixed(row) else "")


# Nine columns, the paired statistics of a paper table; the CSV and Markdown have the rest.
_TEX_COLUMNS = (
    _Column("Arm", lambda r, u: _tex_arm(r)),
    _Column("$n$", lambda r, u: str(int(r["n"]))),
    _Column(r"$T_\tau$ ({unit}), median [IQR]", lambda r, u: _tex(_iqr(r, "T_tuner_s", u.seconds))),
    _Column("Not reached", lambda r, u: str(int(r["n_censored"]))),
    _Column("Speed-up", lambda r, u: _tex(_num(r["speedup"], "{:.2f}×"))),
    _Column("$p$", lambda r, u: _tex_p(r["p_value"])),
    _Column("Win rate", lambda r, u: _tex(_num(r["win_rate"], "{:.2f}"))),
    _Column(
        r"$\Delta$ test acc.\ (pp)", lambda r, u: "---" if _is_none_row(r) else _tex_signed(r["delta_test_acc_pp"])
    ),
    _Column("Success", lambda r, u: _tex_mark(r)),
)


def _tex_code(name: str) -> str:
    return r"\texttt{" + _tex(name) + "}"


def _tex_label(*parts: str) -> str:
    return "tab:leaderboard-" + "-".join(re.sub(r"[^A-Za-z0-9]+", "-", p).strip("-").lower() for p in parts)


def _tex_caption(task: str, scheduler: str, rows: pd.DataFrame, unit: TimeUnit) -> str:
    taus = rows["target"].dropna().unique()
    tau = f"$\\tau = {taus[0]:g}$" if len(taus) == 1 else r"$\tau$"
    return (
        f"{_tex(task)} $\\times$ {_tex(scheduler)}: time $T_\\tau$ until the incumbent's validation accuracy "
        f"reaches {tau}, in tuner wall-clock {unit.long} (median [IQR] over seeds; a run that never reached "
        r"$\tau$ counts at its budget used). $n$: seeds paired with \emph{none}; speed-up: median of the "
        r"per-pair $T_\tau^{\mathrm{none}} / T_\tau^{\mathrm{arm}}$; $p$: two-sided Wilcoxon signed-rank test; "
        r"$\Delta$ test acc.: median paired change of the final incumbent's test accuracy. "
        f"$\\checkmark$: median $T_\\tau$ at least {MIN_T_REDUCTION * 100:.0f}\\,\\% lower, $p < {ALPHA}$ and "
        f"$\\Delta \\geq -{MAX_TEST_DROP_PP}$\\,pp."
    )


def _latex(table: pd.DataFrame) -> str:
    out = [
        "% Generated by ohgw-bench leaderboard --format tex; regenerate rather than edit.",
        "% Needs \\usepackage{booktabs} (\\toprule, \\midrule, \\bottomrule) and \\usepackage{amssymb} (\\checkmark).",
    ]
    if bool(table["code_modified"].any()):
        out.append("% Code modified locally (code_version.modified): may not be reproducible from the commit.")
    for task, scheduler, rows in _groups(table):
        unit = _table_unit(rows)
        notes = [
            f"$^{{\\dagger}}${_tex(arm)}: {n_mixed} of {n} pairs ran different {', '.join(map(_tex_code, fields))}."
            for arm, n_mixed, n, fields in _mixed_notes(rows)
        ]
        notes += [f"$^{{{UNRESOLVED_MARK}}}${_tex(_resolution_note(n))}." for n in _coarse_test_splits(rows)]
        out += [
            "",
            "\\begin{table}[htbp]",
            "\\centering",
            "\\small",
            f"\\caption{{{_tex_caption(task, scheduler, rows, unit)}}}",
            f"\\label{{{_tex_label(task, scheduler)}}}",
            "\\begin{tabular}{l" + "r" * (len(_TEX_COLUMNS) - 2) + "c}",
            "\\toprule",
            " & ".join(c.header.format(unit=unit.name) for c in _TEX_COLUMNS) + " \\\\",
            "\\midrule",
        ]
        out += [" & ".join(c.cell(r, unit) for c in _TEX_COLUMNS) + " \\\\" for _, r in rows.iterrows()]
        out += ["\\bottomrule", "\\end{tabular}"]
        if notes:
            out += ["", "\\smallskip", "\\footnotesize", *(f"{note}\\par" for note in notes)]
        out.append("\\end{table}")
    return "\n".join(out) + "\n"


def render(table: pd.DataFrame, fmt: str = "md") -> str:
    """The leaderboard as text: ``md`` (heading per task × scheduler), ``csv`` (flat, raw
    numbers, every column, times in seconds) or ``tex`` (a booktabs ``table`` per task × scheduler)."""
    if fmt == "csv":
        return table.to_csv(index=False)
    if fmt == "md":
        return _markdown(table)
    if fmt == "tex":
        return _latex(table)
    raise ValueError(f"unknown leaderboard format {fmt!r}: use md, csv or tex")


def leaderboard(
    path: Path | str,
    target: float | None = None,
    fmt: str = "md",
    include_incomplete: bool = False,
    allow_mixed: bool = False,
) -> str:
    """Read every run under ``path`` and render its leaderboard (``target`` overrides τ).
    ``path`` may also be a per-run summary saved by :func:`save_run_summary` (a thousand replayed
    seeds are regenerated from their table rather than committed run by run).

    Raises :class:`MixedPairError` for a pair of runs of different code, packages or device
    unless ``allow_mixed``.
    """
    if fmt not in ("md", "csv", "tex"):
        raise ValueError(f"unknown leaderboard format {fmt!r}: use md, csv or tex")
    summary = read_run_summary(path, target, include_incomplete)
    return render(build_leaderboard(summary, allow_mixed=allow_mixed), fmt)


def read_run_summary(path: Path | str, target: float | None = None, include_incomplete: bool = False) -> pd.DataFrame:
    """One row per run: summarised from the run folders under ``path``, or read from a saved summary."""
    from ohgw_bench.analysis.results import summarize_runs

    if Path(path).suffix == ".parquet":
        if target is not None or include_incomplete:
            raise ValueError(f"{path} is a saved summary: its T@tau and runs are fixed; use the run folders instead")
        return pd.read_parquet(path)
    return summarize_runs(path, target=target, include_incomplete=include_incomplete)


def save_run_summary(path: Path | str, out: Path | str, target: float | None = None) -> int:
    """Write the per-run summary of the runs under ``path`` to ``out`` (Parquet, atomically); return its rows."""
    from ohgw_bench.core.atomic import atomic_write

    summary = read_run_summary(path, target)
    atomic_write(Path(out), lambda fh: summary.to_parquet(fh, index=False))
    return len(summary)
