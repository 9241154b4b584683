"""The statistics of a leaderboard row, as pure functions of paired per-seed values.

The specification, with the reasons for each choice, is docs/statistics.md.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

ALPHA = 0.05  # two-sided Wilcoxon level of the success mark
MIN_T_REDUCTION = 0.15  # median T@τ at least 15 % lower than none
MAX_TEST_DROP_PP = 0.2  # at most 0.2 percentage points lower final incumbent test accuracy
CHECK, CROSS, DASH = "✓", "✗", "—"
ZERO_METHOD = "zsplit"  # how scipy's Wilcoxon treats zero differences (ties)


def paired_differences(
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


def ratios(t_none: np.ndarray, t_arm: np.ndarray, reached_none: np.ndarray, reached_arm: np.ndarray) -> np.ndarray:
    """Per-pair speed-up T_none / T_arm after :func:`censored_pair_values` (two censored → 1)."""
    a, b = censored_pair_values(t_none, t_arm, reached_none, reached_arm)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = a / b
    ratio[(a == b)] = 1.0  # also 0 / 0
    return ratio


def quantile(values: Any, q: float) -> float:
    """The q-th percentile ignoring NaN; NaN when nothing is left."""
    values = np.asarray(values, float)
    values = values[~np.isnan(values)]
    return float(np.percentile(values, q)) if values.size else math.nan


def median(values: Any) -> float:
    return quantile(values, 50)


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
