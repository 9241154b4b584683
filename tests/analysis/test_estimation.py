"""Estimation statistics (issue 22): Hodges–Lehmann estimate and interval, Holm, verdicts, power.

Expected values are worked out by hand or by independent brute force here (all Walsh averages by
loops, the signed-rank null distribution by enumerating all 2^n sign vectors, the interval by
inverting scipy's own Wilcoxon test), never copied from the implementation's output.
"""

from __future__ import annotations

import itertools
import math
import statistics

import numpy as np
import pytest
from scipy import stats

from ohgw_bench.analysis.stats import (
    INCONCLUSIVE,
    RULED_OUT,
    SUCCESS,
    detectable_speedup,
    hodges_lehmann,
    hodges_lehmann_interval,
    holm,
    log_differences,
    verdict,
    with_table_variance,
)


def _walsh(d):
    return sorted((d[i] + d[j]) / 2 for i in range(len(d)) for j in range(i, len(d)))


def _brute_interval(d, level=0.95):
    """[W_(c+1), W_(M−c)] with c from the exact null distribution, enumerated over all 2^n signs."""
    n = len(d)
    ranks = range(1, n + 1)
    sums = [sum(r for r, s in zip(ranks, signs, strict=True) if s) for signs in itertools.product((0, 1), repeat=n)]
    c = max(t for t in range(-1, n * (n + 1) // 2 + 1) if sum(s <= t for s in sums) / 2**n <= (1 - level) / 2)
    w = _walsh(d)
    return (-math.inf, math.inf) if c < 0 else (w[c], w[len(w) - 1 - c])


# --- Hodges–Lehmann estimate ---


def test_hodges_lehmann_by_hand():
    # Walsh averages of (1, 2, 4): 1, 2, 4, 1.5, 2.5, 3 → sorted 1, 1.5, 2, 2.5, 3, 4 → median 2.25
    assert hodges_lehmann([1, 2, 4]) == pytest.approx(2.25)
    # (0, 0, 3): 0, 0, 3, 0, 1.5, 1.5 → 0, 0, 0, 1.5, 1.5, 3 → median 0.75
    assert hodges_lehmann([0, 0, 3]) == pytest.approx(0.75)
    assert hodges_lehmann([5.0]) == 5.0
    assert math.isnan(hodges_lehmann([])) and math.isnan(hodges_lehmann([1.0, math.nan]))


def test_hodges_lehmann_against_loops_and_shift():
    rng = np.random.default_rng(7)
    for n in (2, 5, 9, 20):
        d = rng.normal(size=n)
        assert hodges_lehmann(d) == pytest.approx(statistics.median(_walsh(list(d))))
        assert hodges_lehmann(d + 1.5) == pytest.approx(hodges_lehmann(d) + 1.5)  # equivariant


def test_log_differences_apply_the_pair_censoring_rule():
    # pair 1 both reached: log(10/5); pair 2 arm censored at 4 < none's 8 → raised to 8: 0;
    # pair 3 both censored: a tie, 0; pair 4 none censored at 3, arm reached at 6 → none raised to 6: 0
    d = log_differences([10, 8, 20, 3], [5, 4, 30, 6], [True, True, False, False], [True, False, False, True])
    assert d == pytest.approx([math.log(2), 0, 0, 0])
    # the Hodges–Lehmann speed-up of pairs (2×, 1×, 1×): Walsh of (log2, 0, 0) → median log2 / 4… by hand:
    # averages log2, 0, 0, log2/2, log2/2, 0 → sorted 0, 0, 0, l/2, l/2, l → median l/4
    assert math.exp(hodges_lehmann(d[:3])) == pytest.approx(2**0.25)


# --- the interval ---


def test_interval_small_n_by_hand():
    # n = 6: P(T+ = 0) = 1/64 ≤ 0.025 < P(T+ ≤ 1) = 2/64, so c = 0: the interval is [min W, max W] = [min d, max d]
    d = [0.3, -0.1, 0.5, 0.2, 0.9, 0.4]
    assert hodges_lehmann_interval(d) == pytest.approx((-0.1, 0.9))
    # n = 5: even all signs positive has P = 1/32 > 0.025: nothing can be rejected
    assert hodges_lehmann_interval(d[:5]) == (-math.inf, math.inf)
    assert all(math.isnan(v) for v in hodges_lehmann_interval([]))


@pytest.mark.parametrize("n", [6, 7, 8, 9, 10])
@pytest.mark.parametrize("level", [0.9, 0.95])
def test_exact_interval_against_all_sign_flips(n, level):
    rng = np.random.default_rng(n)
    for _ in range(3):
        d = list(rng.standard_t(3, size=n) + 0.2)
        assert hodges_lehmann_interval(d, level) == pytest.approx(_brute_interval(d, level))
    d = [0.0, 0.0, 0.0, 0.1, 0.1, -0.2, 0.4, 0.4, 0.7, 1.0][:n]  # zeros and ties are kept as values
    assert hodges_lehmann_interval(d, level) == pytest.approx(_brute_interval(d, level))


@pytest.mark.parametrize("n, method", [(9, "exact"), (14, "exact"), (60, "approx")])
def test_interval_is_the_set_of_shifts_the_wilcoxon_test_keeps(n, method):
    """θ strictly between consecutive Walsh averages: inside the interval ⟺ scipy's test of d − θ has p > α."""
    rng = np.random.default_rng(100 + n)
    d = rng.normal(0.1, 0.4, size=n)
    low, high = hodges_lehmann_interval(d)
    w = np.unique(_walsh(list(d)))
    for theta in (w[:-1] + w[1:]) / 2:
        p = stats.wilcoxon(d - theta, method=method, correction=True).pvalue
        assert (low < theta < high) == (p > 0.05), (theta, p, low, high)


@pytest.mark.parametrize("n", [10, 70])
def test_interval_coverage_matches_the_level(n):
    rng = np.random.default_rng(2024 + n)
    reps, theta = 2000, 0.3
    hits = 0
    for _ in range(reps):
        low, high = hodges_lehmann_interval(theta + rng.laplace(scale=0.4, size=n))
        hits += low <= theta <= high
    # 0.95 nominal (exact c at n = 10 gives 1 − 2·25/1024 = 0.951); 4 binomial SEs ≈ 0.02
    assert abs(hits / reps - 0.95) < 0.02


# --- Holm ---


def test_holm_textbook():
    # sorted 0.005, 0.01, 0.03, 0.04 → 4·0.005 = 0.02, 3·0.01 = 0.03, 2·0.03 = 0.06, max(1·0.04, 0.06) = 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    # the DyHPO example: p = 0.026 the smallest of six → 6 · 0.026 = 0.156
    assert holm([0.026, 0.4, 0.3, 0.9, 0.2, 0.5])[0] == pytest.approx(0.156)
    # NaN passed through and not counted: m = 2, so 2·0.01 = 0.02 (not 3·0.01), then max(1·0.6, 0.02) = 0.6
    out = holm([0.6, math.nan, 0.01])
    assert out[0] == pytest.approx(0.6) and math.isnan(out[1]) and out[2] == pytest.approx(0.02)
    # capped at 1: 2·0.6 = 1.2 → 1, and monotone: max(0.7, 1) = 1
    out = holm([0.6, math.nan, 0.7])
    assert out[0] == 1.0 and math.isnan(out[1]) and out[2] == 1.0
    assert holm([]).size == 0 and math.isnan(holm([math.nan])[0])


def test_holm_agrees_with_statsmodels():
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    p = np.random.default_rng(3).uniform(0, 0.2, size=12)
    p[[2, 7]] = p[5]  # ties
    assert holm(p) == pytest.approx(multitest.multipletests(p, method="holm")[1])


# --- verdicts ---


def test_verdict_three_outcomes():
    # success: ≥ 15 % reduction, p < 0.05, accuracy drop within 0.2 pp
    assert verdict((1.1, 1.5), p=0.01, t_reduction=0.2, delta_test_acc_pp=-0.1) == SUCCESS
    # ruled out: upper bound 1.15 < 1/0.85 ≈ 1.1765
    assert verdict((0.93, 1.15), p=0.01, t_reduction=0.05, delta_test_acc_pp=0.0) == RULED_OUT
    assert verdict((0.93, 1.17), p=0.3, t_reduction=0.02, delta_test_acc_pp=0.0) == RULED_OUT
    # inconclusive: upper bound 1.18 > 1.1765 and the criterion fails (p, accuracy, reduction each)
    assert verdict((0.95, 1.18), p=0.01, t_reduction=0.05, delta_test_acc_pp=0.0) == INCONCLUSIVE
    assert verdict((1.05, 1.6), p=0.2, t_reduction=0.2, delta_test_acc_pp=0.0) == INCONCLUSIVE
    assert verdict((1.05, 1.6), p=0.01, t_reduction=0.2, delta_test_acc_pp=-0.3) == INCONCLUSIVE
    assert verdict((math.nan, math.nan), p=math.nan, t_reduction=math.nan, delta_test_acc_pp=math.nan) == INCONCLUSIVE
    assert verdict((-math.inf, math.inf), p=None, t_reduction=0.3, delta_test_acc_pp=0.0) == INCONCLUSIVE


# --- power ---


def test_detectable_speedup_decreases_with_n_and_is_deterministic():
    d = np.random.default_rng(11).normal(0.05, 0.43, size=32)
    s = [detectable_speedup(d, n, reps=1000) for n in (8, 16, 32, 64, 128)]
    assert all(a > b > 1 for a, b in itertools.pairwise(s))
    assert detectable_speedup(d, 32, reps=1000) == s[2]
    assert detectable_speedup(d, 5) == math.inf  # 5 pairs can never reject at 0.05
    assert detectable_speedup(d, 32, power=0.5, reps=1000) < s[2]


def test_detectable_speedup_against_a_direct_simulation_and_theory():
    """The returned speed-up, fed to a fresh simulation with scipy's test, is detected ≈ 80 % of the time;
    and for normal log ratios it is close to the asymptotic (z_.975 + z_.8)·σ/√(n·3/π) of the signed-rank test."""
    sigma, n = 0.43, 32
    d = np.random.default_rng(5).normal(0.0, sigma, size=400)
    s = detectable_speedup(d, n, reps=2000)
    theory = (stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) * sigma / math.sqrt(n * 3 / math.pi)
    assert math.log(s) == pytest.approx(theory, rel=0.1)
    rng = np.random.default_rng(99)
    centred = d - np.median(d)
    reps, hits = 600, 0
    for _ in range(reps):
        x = rng.choice(centred, size=n) + math.log(s) * 1.0001
        res = stats.wilcoxon(x, method="exact")
        hits += res.pvalue <= 0.05 and hodges_lehmann(x) > 0
    assert abs(hits / reps - 0.8) < 0.06  # 3.5 binomial SEs


def test_table_variance_adds_the_resamples_spread_beyond_their_seeds():
    """By hand: replicate estimates 0, 0.1, 0.2 each with se 0.05 have variance 0.01 of which 0.0025 is
    their seeds', so the table's is 0.0075; the table's own se 0.05 becomes √(0.0025 + 0.0075) = 0.1,
    twice as wide, and a test at z = 2 (p = 0.0455) falls to z = 1 (p = 0.3173)."""
    z = stats.norm.ppf(0.975)
    replicates = [(t, t - z * 0.05, t + z * 0.05) for t in (0.0, 0.1, 0.2)]
    p = 2 * stats.norm.sf(2.0)
    low, high, p_table, sd = with_table_variance(0.1, (0.1 - z * 0.05, 0.1 + z * 0.05), p, replicates)
    assert (low, high) == pytest.approx((0.1 - z * 0.1, 0.1 + z * 0.1))
    assert p_table == pytest.approx(2 * stats.norm.sf(1.0)) and sd == pytest.approx(math.sqrt(0.0075))
    # an asymmetric interval keeps its shape: both sides stretch by the same factor
    low, high, _, _ = with_table_variance(0.1, (0.1 - z * 0.04, 0.1 + z * 0.06), p, replicates)
    assert (0.1 - low, high - 0.1) == pytest.approx((2 * z * 0.04, 2 * z * 0.06))


def test_table_variance_leaves_an_interval_alone_without_excess_spread_or_resamples():
    z = stats.norm.ppf(0.975)
    same = [(0.1, 0.1 - z * 0.05, 0.1 + z * 0.05)] * 4  # no spread at all: the seeds explain everything
    assert with_table_variance(0.1, (0.0, 0.2), 0.04, same) == pytest.approx((0.0, 0.2, 0.04, 0.0))
    assert all(math.isnan(v) for v in with_table_variance(0.1, (0.0, 0.2), 0.04, same[:1]))  # one resample
