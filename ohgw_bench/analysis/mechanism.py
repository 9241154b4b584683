"""What a warm start's step did, computed from a twin table's cells rather than written by hand:
per starting-learning-rate bin and arm, the share of configurations whose step raised or lowered each
dimension, the median step, the share diverged and the change in final accuracy against ``none``.
``ohgw-bench table report`` writes it (``mechanism.csv``, a section of ``report.md``)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ohgw_bench.core.space import LOG10_LR

if TYPE_CHECKING:
    from matplotlib.artist import Artist

NONE = "none"
MECHANISM_CSV = "mechanism.csv"
MECHANISM_FIGURE = "mechanism_by_log10_lr"
#: a config whose final validation accuracy falls by more than this (pp) against none is counted as ruined
LOSS_PP = 10.0
MECHANISM_COLUMNS = (
    "arm",
    "lr_bin",
    "dimension",
    "n",
    "share_raised",
    "share_lowered",
    "median_step",
    "share_diverged",
    "final_pp_mean",
    "final_pp_median",
    "n_lost_10pp",
)


def random_control(arm: str) -> str | None:
    """The equal-size control of an ``ohgw(...)`` arm: ``random`` with the same parameters (same defaults,
    so the same canonical spelling); None for any other arm."""
    return "random" + arm[len("ohgw") :] if arm == "ohgw" or arm.startswith("ohgw(") else None


def lr_bin_edges(low: float, high: float) -> list[float]:
    """Bin edges in log10 lr: the bounds, each whole decade between them, and −0.5 (where one-step
    lookahead steps turn large) when it lies inside."""
    inner = {float(k) for k in range(math.ceil(low), math.floor(high) + 1) if low < k < high}
    inner |= {-0.5} if low < -0.5 < high else set()
    return [low, *sorted(inner), high]


def _bin_label(left: float, right: float) -> str:
    return f"[{left:g}, {right:g})"


def mechanism_facts(summary: pd.DataFrame, dimensions: tuple[str, ...], edges: list[float]) -> pd.DataFrame:
    """One row per (arm, lr bin, dimension) of :func:`~ohgw_bench.analysis.table_report.cell_summary`
    output. A step counts as raising (lowering) a dimension when used − sampled > 0 (< 0); the
    accuracy columns compare each configuration's final validation accuracy with its ``none`` cell
    (pp) and repeat on every dimension's row of the bin."""
    base = summary[summary["arm"] == NONE].set_index("config_id")["final_val_acc"]
    rows = []
    labels = [_bin_label(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True)]
    for arm in sorted(set(summary["arm"]) - {NONE}):
        cells = summary[summary["arm"] == arm].set_index("config_id")
        cells = cells.loc[cells.index.intersection(base.index)]
        index = np.clip(np.searchsorted(edges, cells[LOG10_LR].to_numpy(float), side="right") - 1, 0, len(labels) - 1)
        for k, label in enumerate(labels):
            group = cells[index == k]
            if group.empty:
                continue
            delta = (group["final_val_acc"] - base.loc[group.index]).to_numpy(float) * 100
            accuracy = {
                "share_diverged": float(group["diverged"].astype(bool).mean()),
                "final_pp_mean": float(delta.mean()),
                "final_pp_median": float(np.median(delta)),
                "n_lost_10pp": int((delta < -LOSS_PP).sum()),
            }
            for name in dimensions:
                step = (group[f"used_{name}"] - group[name]).to_numpy(float)
                rows.append(
                    {
                        "arm": arm,
                        "lr_bin": label,
                        "dimension": name,
                        "n": len(group),
                        "share_raised": float((step > 0).mean()),
                        "share_lowered": float((step < 0).mean()),
                        "median_step": float(np.median(step)),
                        **accuracy,
                    }
                )
    return pd.DataFrame(rows, columns=list(MECHANISM_COLUMNS))


def mechanism_markdown(facts: pd.DataFrame) -> list[str]:
    """The learning-rate rows as a Markdown section (every dimension is in ``mechanism.csv``)."""
    lr = facts[facts["dimension"] == LOG10_LR]
    lines = [
        "## What the step did, by starting learning rate",
        "",
        "Per arm and bin of the sampled log10 lr: the share of configurations whose step raised or lowered "
        f"log10 lr, the median step (decades), the share of cells that diverged, and the change in final "
        f"validation accuracy against none (pp; lost: configurations more than {LOSS_PP:g} pp worse). "
        f"Every dimension: `{MECHANISM_CSV}`.",
        "",
        "| arm | log10 lr | n | lr raised | lr lowered | median Δ log10 lr | diverged "
        "| Δ final pp (mean / median) | lost |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for _, r in lr.iterrows():
        lines.append(
            f"| {r['arm']} | {r['lr_bin']} | {int(r['n'])} | {r['share_raised']:.0%} | {r['share_lowered']:.0%} "
            f"| {r['median_step']:+.3f} | {r['share_diverged']:.0%} | {r['final_pp_mean']:+.2f} / "
            f"{r['final_pp_median']:+.2f} | {int(r['n_lost_10pp'])} |"
        )
    return lines


def mechanism_figure(facts: pd.DataFrame, edges: list[float], out_dir: Path) -> list[Path]:
    """One panel per dimension, the median step (used − sampled: its sign is the direction, its size how
    far) per bin of the sampled log10 lr, and a last panel with the mean change in final validation
    accuracy against none; one line per arm, each random control dashed in its OHGW arm's colour, so a
    variant and its control read side by side."""
    from ohgw_bench.analysis.plots import arm_styles, grid_panels, legend_outside, save_figure

    if facts.empty:
        return []
    labels = [_bin_label(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True)]
    position = {label: k for k, label in enumerate(labels)}
    arms = list(dict.fromkeys(facts["arm"]))
    controls = {random_control(a): a for a in arms if random_control(a) in arms}
    styles = arm_styles(a for a in arms if a not in controls)
    dimensions = list(dict.fromkeys(facts["dimension"]))
    accuracy = facts[facts["dimension"] == dimensions[0]]  # the accuracy columns repeat on every dimension
    panels = [(d, facts[facts["dimension"] == d], "median_step", f"median step in {d}") for d in dimensions]
    panels.append(("final validation accuracy", accuracy, "final_pp_mean", "mean Δ vs none (pp)"))
    fig, axes = grid_panels(len(panels), width=4.2, height=3.0, legend_width=3.6)
    entries: dict[str, Artist] = {}
    for ax, (title, rows, column, ylabel) in zip(axes, panels, strict=True):
        ax.axhline(0.0, color="0.6", linewidth=0.8)
        for arm in arms:
            group = rows[rows["arm"] == arm]
            style = styles[controls.get(arm, arm)]
            (line,) = ax.plot(
                [position[b] for b in group["lr_bin"]],
                group[column],
                color=style.color,
                marker=style.marker,
                linestyle="--" if arm in controls else "-",
                markersize=4,
            )
            entries[arm] = line
        ax.set_title(title, fontsize="medium")
        ax.set_ylabel(ylabel)
        ax.set_xticks(range(len(labels)), labels, rotation=30, fontsize="small")
        ax.set_xlabel("sampled log10 lr")
    legend_outside(fig, entries, title="arm (controls dashed)")
    out_dir.mkdir(parents=True, exist_ok=True)
    return save_figure(fig, out_dir, MECHANISM_FIGURE)
