"""The statistics of a leaderboard row, as pure functions of paired per-seed values.

The specification, with the reasons for each choice, is docs/statistics.md.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

ALPHA = 0.05  # two-sided Wilcoxon level of the success mark
MIN_T_REDUCTION = 0.15  # median T@τ at least 15 % lower than none
MAX_TEST_DROP_PP = 0.2  # at most 0.2 percentage points lower final incumbent test accuracy
MAX_SD_INFLATION = 1.1  # seed-wise SD of T@τ at most 10 % above none's
TUPLE_SHARE = 0.75  # the seed's bar: success in at least 75 % of experiment tuples
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


# --- Estimation: the paired Hodges–Lehmann speed-up, its interval, verdicts, multiplicity, power ---
#
# d below is the per-pair log ratio log T_none − log T_arm (positive: the arm is faster), after
# the pair's censoring rule, so exp(d) is the pair's speed-up and exp(θ) the arm's speed-up.

SUCCESS, RULED_OUT, INCONCLUSIVE = "success", "ruled out", "inconclusive"
RULED_OUT_SPEEDUP = 1.0 / (1.0 - MIN_T_REDUCTION)  # a 15 % cut in T@τ is a 1/0.85 ≈ 1.176× speed-up
EXACT_MAX_N = 50  # exact signed-rank null distribution up to here, the normal approximation beyond (as scipy)
LEVEL = 0.95  # the intervals' confidence level
#: power is simulated with at most this many pairs per study; beyond, a root-n scaling (see detectable_speedup)
LARGE_N = 100


def log_differences(
    t_none: npt.ArrayLike, t_arm: npt.ArrayLike, reached_none: npt.ArrayLike, reached_arm: npt.ArrayLike
) -> np.ndarray:
    """d = log T_none − log T_arm per pair after :func:`censored_pair_values` (0 for two censored runs)."""
    a, b = censored_pair_values(t_none, t_arm, reached_none, reached_arm)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(a) - np.log(b)


def walsh_averages(d: npt.ArrayLike) -> np.ndarray:
    """All (d_i + d_j) / 2 with i ≤ j, sorted: n(n+1)/2 values."""
    x = np.asarray(d, float).ravel()
    i, j = np.triu_indices(x.size)
    return np.sort((x[i] + x[j]) / 2)


def hodges_lehmann(d: npt.ArrayLike) -> float:
    """One-sample Hodges–Lehmann estimate: the median of the Walsh averages of ``d``.

    The shift θ at which the Wilcoxon signed-rank statistic of d − θ is balanced. On log ratios,
    exp of it is the speed-up. Zeros (two censored runs) and ties are data like any other value.
    NaN when ``d`` is empty or holds a NaN.
    """
    x = np.asarray(d, float).ravel()
    if x.size == 0 or np.isnan(x).any():
        return math.nan
    return float(np.median(walsh_averages(x)))


@functools.cache
def _signed_rank_cdf(n: int) -> np.ndarray:
    """P(T+ ≤ t), t = 0..n(n+1)/2, of the signed-rank statistic under the null, without ties.

    T+ is the sum of a random subset of the ranks 1..n (each sign ±1 with probability ½); the
    counts of each sum come from the generating function ∏ (1 + x^k), exact in integers.
    """
    counts = np.zeros(n * (n + 1) // 2 + 1, dtype=object)
    counts[0] = 1
    for k in range(1, n + 1):
        counts[k:] = counts[k:] + counts[:-k].copy()
    cdf = np.cumsum(counts) / (2**n)
    return np.asarray(cdf, float)


def signed_rank_critical(n: int, level: float = LEVEL) -> int:
    """c: the largest t with P(T+ ≤ t) ≤ (1 − level) / 2 under the null, or −1 when none is.

    The two-sided signed-rank test at α = 1 − level rejects when T+ ≤ c or T+ ≥ M − c
    (M = n(n+1)/2). Exact for n ≤ :data:`EXACT_MAX_N`; beyond, the normal approximation with a
    continuity correction, c = ⌊M/2 − ½ − z·σ⌋, σ² = n(n+1)(2n+1)/24 (what scipy's ``wilcoxon``
    does: its exact method also stops at 50 pairs, and by then the error of the approximation
    is far below the resolution of the order statistics).
    """
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    half_alpha = (1 - level) / 2
    if n <= EXACT_MAX_N:
        cdf = _signed_rank_cdf(n)
        below = np.flatnonzero(cdf <= half_alpha * (1 + 1e-12))
        return int(below[-1]) if below.size else -1
    m = n * (n + 1) / 2
    sd = math.sqrt(n * (n + 1) * (2 * n + 1) / 24)
    return max(-1, math.floor(m / 2 - 0.5 - stats.norm.ppf(1 - half_alpha) * sd))


def hodges_lehmann_interval(d: npt.ArrayLike, level: float = LEVEL) -> tuple[float, float]:
    """The distribution-free interval for the centre of ``d`` that inverts the Wilcoxon signed-rank test.

    With the n(n+1)/2 Walsh averages sorted, W_(1) ≤ … ≤ W_(M), the interval is the closed
    [W_(c+1), W_(M−c)], c from :func:`signed_rank_critical`: the shifts θ that the two-sided
    test of d − θ at α = 1 − level does not reject. Its coverage is 1 − 2·P(T+ ≤ c) ≥ level
    (exact null distribution for n ≤ 50, normal approximation beyond) when the d_i are
    independent and symmetric about θ.

    Ties and zeros are kept: zeros (two censored runs) are values like any other, and no
    tie correction is made. The order statistics assume continuous data; with ties θ can only
    land on an endpoint, which the closed interval includes, so the coverage does not fall below
    the stated one. With too few pairs for the level (n < 6 at 95 %: even the most extreme
    signs are not significant) the interval is the whole line, (−inf, inf). (nan, nan) when
    ``d`` is empty or holds a NaN.
    """
    x = np.asarray(d, float).ravel()
    if x.size == 0 or np.isnan(x).any():
        return math.nan, math.nan
    c = signed_rank_critical(x.size, level)
    if c < 0:
        return -math.inf, math.inf
    w = walsh_averages(x)
    return float(w[c]), float(w[w.size - 1 - c])


def holm(p_values: npt.ArrayLike) -> np.ndarray:
    """Holm–Bonferroni step-down adjusted p-values, in the input's order.

    With the m defined p-values sorted, p_(1) ≤ … ≤ p_(m): adjusted p_(i) =
    max_{j ≤ i} min(1, (m − j + 1) · p_(j)), so the adjustment is monotone and capped at 1.
    NaN entries (undefined tests) are passed through and not counted in m.
    """
    p = np.asarray(p_values, float)
    out = np.full(p.shape, math.nan)
    flat, result = p.ravel(), out.reshape(-1)
    defined = np.flatnonzero(~np.isnan(flat))
    m = defined.size
    if m == 0:
        return out
    order = defined[np.argsort(flat[defined], kind="stable")]
    scaled = np.minimum(1.0, (m - np.arange(m)) * flat[order])
    result[order] = np.maximum.accumulate(scaled)
    return out


def meets_criterion(t_reduction: float | None, p: float | None, delta_test_acc_pp: float | None) -> bool:
    """The seed's success criterion: T_reduction ≥ :data:`MIN_T_REDUCTION`, p < :data:`ALPHA` and a
    median change of final test accuracy ≥ −:data:`MAX_TEST_DROP_PP` pp. False when any is undefined."""
    if t_reduction is None or p is None or delta_test_acc_pp is None:
        return False
    if any(math.isnan(v) for v in (t_reduction, p, delta_test_acc_pp)):
        return False
    return bool(t_reduction >= MIN_T_REDUCTION and p < ALPHA and delta_test_acc_pp >= -MAX_TEST_DROP_PP)


def verdict(
    speedup_interval: tuple[float, float], p: float | None, t_reduction: float | None, delta_test_acc_pp: float | None
) -> str:
    """Three-valued verdict of an arm row: :data:`SUCCESS`, :data:`RULED_OUT` or :data:`INCONCLUSIVE`.

    * success: the seed's criterion holds (:func:`meets_criterion`, the ✓ of the success mark);
    * ruled out: otherwise, when the speed-up interval's upper bound is below
      :data:`RULED_OUT_SPEEDUP` (1/0.85): the data exclude a 15 % cut in T@τ;
    * inconclusive: neither (also when the interval is undefined).

    The criterion thresholds point estimates (the median-based T_reduction) and the interval is
    the Hodges–Lehmann one, so both can hold in principle; the seed's criterion then decides.
    """
    if meets_criterion(t_reduction, p, delta_test_acc_pp):
        return SUCCESS
    high = speedup_interval[1]
    if not math.isnan(high) and high < RULED_OUT_SPEEDUP:
        return RULED_OUT
    return INCONCLUSIVE


def detectable_speedup(
    d: npt.ArrayLike,
    n: int,
    power: float = 0.8,
    alpha: float = ALPHA,
    reps: int = 2000,
    seed: int = 0,
) -> float:
    """The smallest speed-up that n pairs detect with the given power, from observed log ratios ``d``.

    Method: centre the observed d at its Hodges–Lehmann estimate (so it has no effect but keeps
    the observed spread and shape), draw ``reps`` studies of n pairs from it with replacement
    (``numpy.random.default_rng(seed)``: deterministic), and add a true log speed-up δ to every
    pair. A study detects the effect when the two-sided signed-rank test of its log ratios
    rejects at ``alpha`` in the arm's favour, which is exactly when the lower bound L of its
    :func:`hodges_lehmann_interval` at level 1 − alpha is above 0, that is when δ > −L₀ for the
    centred draw's L₀. So the power at δ is the share of draws with −L₀ < δ, and the smallest δ
    with at least the given power is the ⌈power·reps⌉-th smallest −L₀; the return value is
    exp(δ). The same draws serve every δ, so no search is needed and the answer is monotone.

    Limits: the test is the signed-rank test of the log ratios (the interval's), not the
    leaderboard's zsplit test of T differences; and a pair that was censored in both runs is
    shifted like any other, whereas under a real effect it might stay a tie, so with heavy
    censoring this is optimistic. Beyond :data:`LARGE_N` pairs the simulation would cost n² per
    study, so the figure for LARGE_N pairs is scaled: log speed-up × √(LARGE_N / n), the root-n
    rate at which the signed-rank interval narrows. inf when n pairs can never reject (n < 6 at α = 0.05), NaN
    when ``d`` is empty or holds a NaN.
    """
    x = np.asarray(d, float).ravel()
    if x.size == 0 or np.isnan(x).any():
        return math.nan
    if n < 1 or reps < 1 or not 0 < power < 1:
        raise ValueError(f"need n ≥ 1, reps ≥ 1 and 0 < power < 1, got n={n}, reps={reps}, power={power}")
    if n > LARGE_N:  # the interval's width shrinks as 1/√n: scale the LARGE_N figure on the log scale
        return math.exp(math.log(detectable_speedup(x, LARGE_N, power, alpha, reps, seed)) * math.sqrt(LARGE_N / n))
    c = signed_rank_critical(n, 1 - alpha)
    if c < 0:
        return math.inf
    lows = _draw_lower_bounds(x - hodges_lehmann(x), n, c, reps, np.random.default_rng(seed))
    needed = -lows
    k = math.ceil(power * reps - 1e-9)  # the k-th smallest −L₀ is the least δ detected by ≥ k draws (δ just above it)
    return float(math.exp(np.partition(needed, k - 1)[k - 1]))


def shift_estimate(d: npt.ArrayLike, level: float = LEVEL) -> tuple[float, float, float]:
    """(estimate, low, high): :func:`hodges_lehmann` with its :func:`hodges_lehmann_interval`."""
    low, high = hodges_lehmann_interval(d, level)
    return hodges_lehmann(d), low, high


def _draw_lower_bounds(centred: np.ndarray, n: int, c: int, reps: int, rng: np.random.Generator) -> np.ndarray:
    """L₀ of ``reps`` studies of n pairs drawn from ``centred``: the (c+1)-th smallest Walsh average."""
    draws = rng.choice(centred, size=(reps, n), replace=True)
    i, j = np.triu_indices(n)
    lows = np.empty(reps)
    chunk = max(1, 2_000_000 // i.size)  # bounded memory: chunk × n(n+1)/2 Walsh averages at a time
    for start in range(0, reps, chunk):
        block = draws[start : start + chunk]
        lows[start : start + chunk] = np.partition((block[:, i] + block[:, j]) / 2, c, axis=1)[:, c]
    return lows


def power_at(d: npt.ArrayLike, n: int, speedup: float, alpha: float = ALPHA, reps: int = 2000, seed: int = 0) -> float:
    """The share of simulated n-pair studies that detect a true ``speedup`` (the method of
    :func:`detectable_speedup`: the observed log ratios, centred, resampled, shifted by log speedup)."""
    x = np.asarray(d, float).ravel()
    if x.size == 0 or np.isnan(x).any():
        return math.nan
    if (
        n > LARGE_N
    ):  # as detectable_speedup: n pairs detect what LARGE_N pairs detect of a √(n / LARGE_N) larger log effect
        return power_at(x, LARGE_N, math.exp(math.log(speedup) * math.sqrt(n / LARGE_N)), alpha, reps, seed)
    c = signed_rank_critical(n, 1 - alpha)
    if c < 0:
        return 0.0
    lows = _draw_lower_bounds(x - hodges_lehmann(x), n, c, reps, np.random.default_rng(seed))
    return float(np.mean(-lows < math.log(speedup)))


def seeds_needed(
    d: npt.ArrayLike,
    speedup: float,
    power: float = 0.8,
    alpha: float = ALPHA,
    reps: int = 1000,
    seed: int = 0,
    max_n: int = 2000,
) -> int | None:
    """The fewest paired seeds with at least ``power`` to detect a true ``speedup``, from a pilot's log
    ratios ``d`` (their spread, shape and share of censored ties), by :func:`power_at`; a doubling
    search, then bisection (power grows with n up to simulation noise). None when even ``max_n``
    pairs fall short, or the pilot is empty."""
    x = np.asarray(d, float).ravel()
    if x.size == 0 or np.isnan(x).any() or not speedup > 1:
        return None

    def enough(n: int) -> bool:
        return power_at(x, n, speedup, alpha, reps, seed) >= power

    high = 6
    while not enough(high):
        if high >= max_n:
            return None
        high = min(2 * high, max_n)
    low = high // 2 if high > 6 else 5  # enough(low) is False (or low < 6, which never rejects)
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if enough(mid) else (mid, high)
    return high


#: resampled tables a replay's table variance needs at least (two give a variance; tens make it stable)
MIN_TABLE_RESAMPLES = 2


def with_table_variance(
    estimate: float, interval: tuple[float, float], p: float, replicates: npt.ArrayLike, level: float = LEVEL
) -> tuple[float, float, float, float]:
    """(low, high, p, table SD): a replay's interval widened by the spread that a different table would bring.

    ``estimate`` and ``interval`` are one arm's shift on the table itself (its seeds' interval);
    ``replicates`` holds rows (estimate, low, high) of the same shift on bootstrap resamples of the
    table's configurations, each replayed with its own seeds. By the method of moments, the
    replicates' variance is the table's variance plus their own seeds' (each interval's
    half-width / z, squared): the table's part is V = max(0, var(estimates) − mean(se²)). The
    interval keeps its shape: each side is stretched by k = √(se² + V) / se, se the table's own
    half-width / z, and the test's z-score shrinks by the same k: p' = 2·Φ(−Φ⁻¹(1 − p/2) / k), so
    p' = p when the resamples show no spread beyond their seeds'. All NaN with fewer than
    :data:`MIN_TABLE_RESAMPLES` replicates or an undefined interval.
    """
    z = float(stats.norm.ppf(0.5 + level / 2))
    rows = np.asarray(replicates, float).reshape(-1, 3)
    rows = rows[np.isfinite(rows).all(axis=1)]
    low, high = interval
    nan = (math.nan,) * 4
    if rows.shape[0] < MIN_TABLE_RESAMPLES or not all(math.isfinite(v) for v in (estimate, low, high)):
        return nan
    se_replicates = (rows[:, 2] - rows[:, 1]) / (2 * z)
    table_var = max(0.0, float(np.var(rows[:, 0], ddof=1) - np.mean(se_replicates**2)))
    se = (high - low) / (2 * z)
    total = math.sqrt(se**2 + table_var)
    if se <= 0:  # a degenerate interval on the table itself: a symmetric one of the table's SD, its p
        p_total = 2 * float(stats.norm.sf(abs(estimate) / total)) if total > 0 else p
        return estimate - z * total, estimate + z * total, p_total, math.sqrt(table_var)
    stretch = total / se
    p_total = 2 * float(stats.norm.sf(stats.norm.isf(p / 2) / stretch)) if math.isfinite(p) else math.nan
    return estimate - (estimate - low) * stretch, estimate + (high - estimate) * stretch, p_total, math.sqrt(table_var)
