"""Does a warm start bias where the search ends? Per task × scheduler × arm and hyperparameter, the
final incumbents' values (after their warm start) against the ``none`` arm's: the mean shift, a
two-sample Kolmogorov–Smirnov test and the KL divergence on a fixed binning
(``ohgw-bench bias PATH``; docs/statistics.md)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from ohgw_bench.analysis.pairing import NONE
from ohgw_bench.analysis.stats import holm

BINS = 10  # equal-width bins over the dimension's bounds
PSEUDOCOUNT = 0.5  # added to every bin, so an empty bin does not make the divergence infinite
BIAS_COLUMNS = (
    "task",
    "scheduler",
    "arm",
    "dimension",
    "n_none",
    "n_arm",
    "mean_none",
    "mean_arm",
    "mean_shift",
    "ks_p",
    "ks_p_holm",
    "kl_divergence",
)


def kl_divergence(arm: np.ndarray, none: np.ndarray, low: float, high: float) -> float:
    """KL(arm ‖ none) in nats between the two samples' histograms on :data:`BINS` equal bins over
    [low, high], each bin given :data:`PSEUDOCOUNT`."""
    edges = np.linspace(low, high, BINS + 1)
    p = np.histogram(np.clip(arm, low, high), edges)[0] + PSEUDOCOUNT
    q = np.histogram(np.clip(none, low, high), edges)[0] + PSEUDOCOUNT
    p, q = p / p.sum(), q / q.sum()
    return float(np.sum(p * np.log(p / q)))


def _bounds(task: str, dimension: str, values: np.ndarray) -> tuple[float, float]:
    """The registered task's bounds for the dimension, else the pooled values' range."""
    from ohgw_bench.core.registry import get_task

    try:
        h = get_task(task).space[dimension]
        return float(h.low), float(h.high)
    except KeyError:  # an unregistered task (UnknownNameError) or dimension
        return float(values.min()), float(values.max())


def final_config_bias(summary: pd.DataFrame) -> pd.DataFrame:
    """One row per (task, scheduler, arm, dimension) from :func:`summarize_runs` output (its
    ``incumbent_<dim>`` columns), the arm's final incumbents against none's."""
    dims = sorted(
        c.removeprefix("incumbent_")
        for c in summary.columns
        if c.startswith("incumbent_") and c != "incumbent_test_acc"
    )
    rows = []
    for (task, scheduler), group in summary.groupby(["task", "scheduler_key"], sort=True):
        none = group[group["warm_start"] == NONE]
        if none.empty:
            continue
        for arm in sorted(set(group["warm_start_label"]) - {NONE}):
            runs = group[group["warm_start_label"] == arm]
            for dim in dims:
                a = runs[f"incumbent_{dim}"].dropna().to_numpy(float)
                b = none[f"incumbent_{dim}"].dropna().to_numpy(float)
                if not len(a) or not len(b):
                    continue
                low, high = _bounds(str(task), dim, np.concatenate([a, b]))
                rows.append(
                    {
                        "task": task,
                        "scheduler": scheduler,
                        "arm": arm,
                        "dimension": dim,
                        "n_none": len(b),
                        "n_arm": len(a),
                        "mean_none": float(b.mean()),
                        "mean_arm": float(a.mean()),
                        "mean_shift": float(a.mean() - b.mean()),
                        "ks_p": float(stats.ks_2samp(a, b).pvalue),
                        "kl_divergence": kl_divergence(a, b, low, high) if high > low else math.nan,
                    }
                )
    table = pd.DataFrame(rows, columns=list(BIAS_COLUMNS))
    table["ks_p_holm"] = holm(table["ks_p"].to_numpy(float))  # over every test of the table
    return table


def render_bias(table: pd.DataFrame, fmt: str = "md") -> str:
    """The bias table as Markdown or CSV."""
    if fmt == "csv":
        return table.to_csv(index=False)
    if fmt != "md":
        raise ValueError(f"bias writes md or csv, not {fmt}")
    lines = [
        "# Bias of the final hyperparameters",
        "",
        "Per arm and hyperparameter: the final incumbents' mean (after the warm start) against the none arm's, "
        "a two-sample Kolmogorov–Smirnov p (Holm-adjusted over every row), and KL(arm ‖ none) in nats on "
        f"{BINS} equal bins over the dimension's bounds ({PSEUDOCOUNT:g} added to every bin). docs/statistics.md.",
        "",
        "| task | scheduler | arm | hyperparameter | n none / arm | mean none | mean arm | shift | KS p (Holm) | KL |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for _, r in table.iterrows():
        lines.append(
            f"| {r['task']} | {r['scheduler']} | {r['arm']} | {r['dimension']} | {r['n_none']} / {r['n_arm']} "
            f"| {r['mean_none']:.4g} | {r['mean_arm']:.4g} | {r['mean_shift']:+.3g} "
            f"| {r['ks_p']:.3g} ({r['ks_p_holm']:.3g}) | {r['kl_divergence']:.3f} |"
        )
    return "\n".join(lines) + "\n"
