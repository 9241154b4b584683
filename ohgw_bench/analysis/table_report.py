"""``ohgw-bench table report``: the per-configuration answer, without any scheduler noise.

For every configuration of a table, each arm's curve is paired with the ``none`` curve of the same
configuration (same trial seed: same initialisation and batches), so a difference is the warm
start's effect on that configuration alone. Reported per arm: the change in best and final
validation accuracy (percentage points), in epochs to τ (censored at the table's epochs), the share
of configurations that improve, and a paired Wilcoxon test. Each ``ohgw(...)`` arm is also paired
with ``random(...)`` of the same parameters — the same step sizes with random signs — which asks
whether the hyper-gradient's *direction* beats chance.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ohgw_bench.analysis.mechanism import (
    MECHANISM_CSV,
    MECHANISM_FIGURE,
    lr_bin_edges,
    mechanism_facts,
    mechanism_figure,
    mechanism_markdown,
    random_control,
)
from ohgw_bench.analysis.stats import censored_pair_values, holm, shift_estimate, wilcoxon_p
from ohgw_bench.core.space import LOG10_LR
from ohgw_bench.core.table_format import read_table

NONE = "none"
REPORT_MD, REPORT_CSV, CELLS_CSV, FIGURE = "report.md", "report.csv", "cells.csv", "benefit_vs_log10_lr"
HYPERGRAD_FIGURE = "benefit_vs_hypergradient"


def cell_summary(rows: pd.DataFrame, target: float, epochs: int) -> pd.DataFrame:
    """One row per (configuration, arm): best and final validation accuracy, first epoch at or above
    ``target`` (``epochs_to_target``, ``epochs`` + 1 when never: censored), and the sampled config."""
    rows = rows.sort_values(["config_id", "arm", "epoch"])
    grouped = rows.groupby(["config_id", "arm"], sort=True)
    first = grouped.first()
    summary = pd.DataFrame(
        {
            "best_val_acc": grouped["val_acc"].max(),
            "final_val_acc": grouped["val_acc"].last(),
            "epochs_trained": grouped["epoch"].max(),
            "diverged": first["diverged"],
            "warm_start_seconds": first["warm_start_seconds"],
        }
    )
    reached = rows[rows["val_acc"] >= target].groupby(["config_id", "arm"])["epoch"].min()
    summary["reached"] = summary.index.isin(reached.index)
    summary["epochs_to_target"] = reached.reindex(summary.index).fillna(epochs + 1).astype(int)
    space = [c for c in rows.columns if f"used_{c}" in rows.columns]
    for name in space:
        summary[name] = first[name]
        summary[f"used_{name}"] = first[f"used_{name}"]
    return summary.reset_index()


@dataclass(frozen=True)
class PairedComparison:
    """One arm against a reference arm, paired over configurations (differences are arm − reference)."""

    arm: str
    reference: str
    n: int
    best_pp_mean: float
    best_pp_median: float
    final_pp_mean: float
    final_pp_median: float
    final_pp_shift: float  # Hodges–Lehmann estimate of the paired shift in final val acc
    final_pp_low: float  # its 95% interval (exact signed-rank inversion)
    final_pp_high: float
    share_final_improved: float  # arm's final val acc strictly higher
    share_best_improved: float
    wilcoxon_p_final: float
    wilcoxon_p_best: float
    holm_p_final: float  # wilcoxon_p_final adjusted over every comparison of the report (Holm)
    epochs_to_target_median_saved: float  # reference − arm after censoring: > 0 means the arm reaches τ sooner
    reached_arm: int
    reached_reference: int


def compare(summary: pd.DataFrame, arm: str, reference: str) -> PairedComparison:
    """``arm`` against ``reference`` on the configurations both have."""
    a = summary[summary["arm"] == arm].set_index("config_id")
    r = summary[summary["arm"] == reference].set_index("config_id")
    ids = a.index.intersection(r.index)
    if not len(ids):
        raise ValueError(f"arms {arm!r} and {reference!r} share no configuration")
    a, r = a.loc[ids], r.loc[ids]
    d_best = (a["best_val_acc"] - r["best_val_acc"]).to_numpy() * 100
    d_final = (a["final_val_acc"] - r["final_val_acc"]).to_numpy() * 100
    t_ref, t_arm = censored_pair_values(r["epochs_to_target"], a["epochs_to_target"], r["reached"], a["reached"])
    shift, low, high = shift_estimate(d_final)
    return PairedComparison(
        arm=arm,
        reference=reference,
        n=len(ids),
        best_pp_mean=float(d_best.mean()),
        best_pp_median=float(np.median(d_best)),
        final_pp_mean=float(d_final.mean()),
        final_pp_median=float(np.median(d_final)),
        final_pp_shift=shift,
        final_pp_low=low,
        final_pp_high=high,
        share_final_improved=float((d_final > 0).mean()),
        share_best_improved=float((d_best > 0).mean()),
        wilcoxon_p_final=_p(d_final),
        wilcoxon_p_best=_p(d_best),
        holm_p_final=math.nan,  # set by comparisons(), which knows the whole family
        epochs_to_target_median_saved=float(np.median(t_ref - t_arm)),
        reached_arm=int(a["reached"].sum()),
        reached_reference=int(r["reached"].sum()),
    )


def _p(d: np.ndarray) -> float:
    """Wilcoxon p; 1.0 when every difference is zero (no evidence either way; scipy gives NaN)."""
    return 1.0 if not np.any(d) else wilcoxon_p(d)


def comparisons(summary: pd.DataFrame) -> list[PairedComparison]:
    """Every arm against ``none``, then every OHGW arm against its random control (when both are in);
    the final-accuracy p-values Holm-adjusted over this whole family, since a table of many arms is
    a screen of many hypotheses."""
    arms = sorted(set(summary["arm"]))
    if NONE not in arms:
        raise ValueError(f"the table has no {NONE!r} arm to pair with (arms: {', '.join(arms)})")
    found = [compare(summary, arm, NONE) for arm in arms if arm != NONE]
    for arm in arms:
        control = random_control(arm)
        if control is not None and control in arms:
            found.append(compare(summary, arm, control))
    adjusted = holm([c.wilcoxon_p_final for c in found])
    return [replace(c, holm_p_final=float(q)) for c, q in zip(found, adjusted, strict=True)]


def benefit_figure(summary: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Change in final validation accuracy against the starting log10 lr, one panel per arm."""
    from ohgw_bench.analysis.plots import arm_styles, grid_panels, save_figure

    arms = [a for a in sorted(set(summary["arm"])) if a != NONE]
    if not arms:
        return []
    styles = arm_styles(summary["arm"])
    fig, axes = grid_panels(len(arms), width=4.2)
    for ax in axes[1:]:
        ax.sharey(axes[0])
    base = summary[summary["arm"] == NONE].set_index("config_id")
    for ax, arm in zip(axes, arms, strict=True):
        rows = summary[summary["arm"] == arm].set_index("config_id")
        ids = rows.index.intersection(base.index)
        delta = (rows.loc[ids, "final_val_acc"] - base.loc[ids, "final_val_acc"]) * 100
        style = styles[arm]
        ax.axhline(0.0, color="0.6", linewidth=0.8)
        ax.scatter(base.loc[ids, "log10_lr"], delta, color=style.color, marker=style.marker, s=18)
        ax.set_title(f"{arm} − none", fontsize="medium")
        ax.set_xlabel("log10 lr (sampled)")
    for ax in axes[:: min(3, len(axes))]:
        ax.set_ylabel("Δ final val acc (pp)")
    out_dir.mkdir(parents=True, exist_ok=True)
    return save_figure(fig, out_dir, FIGURE)


def hypergradient_benefit(rows: pd.DataFrame, summary: pd.DataFrame) -> pd.DataFrame:
    """Per configuration and hyper-gradient arm: the norm of the hyper-gradient over the dimensions
    where it is finite (search-space units), the sampled log10 lr and the change in final validation
    accuracy against ``none`` (pp)."""
    names = [c.removeprefix("hypergrad_") for c in rows.columns if c.startswith("hypergrad_") and "kind" not in c]
    first = rows[rows["epoch"] == rows.groupby(["config_id", "arm"])["epoch"].transform("min")]
    grads = first.set_index(["arm", "config_id"])[[f"hypergrad_{n}" for n in names]].astype(float)
    norm = np.sqrt(np.nansum(grads.to_numpy() ** 2, axis=1))
    computed = pd.Series(norm, index=grads.index)[grads.notna().any(axis=1).to_numpy()]
    base = summary[summary["arm"] == NONE].set_index("config_id")
    cells = summary.set_index(["arm", "config_id"])
    out = []
    for (arm, config_id), value in computed.items():
        if arm == NONE or random_control(str(arm)) is None:
            continue  # only the arms that follow the hyper-gradient
        delta = (cells.loc[(arm, config_id), "final_val_acc"] - base.loc[config_id, "final_val_acc"]) * 100
        out.append((arm, config_id, float(value), float(base.loc[config_id, LOG10_LR]), float(delta)))
    return pd.DataFrame(out, columns=["arm", "config_id", "hypergrad_norm", "log10_lr", "final_pp"])


def hypergradient_figure(points: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Change in final validation accuracy against the hyper-gradient's norm (log axis), coloured by
    the sampled log10 lr, one panel per hyper-gradient arm: does a large gradient predict harm?"""
    from ohgw_bench.analysis.plots import grid_panels, save_figure

    arms = sorted(set(points["arm"]))
    if not arms:
        return []
    fig, axes = grid_panels(len(arms), width=4.2, legend_width=1.0)
    for ax in axes[1:]:
        ax.sharey(axes[0])
    scatter = None
    for ax, arm in zip(axes, arms, strict=True):
        rows = points[(points["arm"] == arm) & (points["hypergrad_norm"] > 0)]
        ax.axhline(0.0, color="0.6", linewidth=0.8)
        scatter = ax.scatter(rows["hypergrad_norm"], rows["final_pp"], c=rows["log10_lr"], cmap="viridis", s=18)
        ax.set_xscale("log")
        ax.set_title(f"{arm} − none", fontsize="medium")
        ax.set_xlabel("‖hyper-gradient‖ (search-space units)")
    for ax in axes[:: min(3, len(axes))]:
        ax.set_ylabel("Δ final val acc (pp)")
    if scatter is not None:
        fig.colorbar(scatter, ax=list(axes), label="log10 lr (sampled)")
    out_dir.mkdir(parents=True, exist_ok=True)
    return save_figure(fig, out_dir, HYPERGRAD_FIGURE)


def _fmt(value: float, digits: int = 2) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def format_markdown(
    meta: dict[str, Any], target: float, found: list[PairedComparison], figure: str | None, facts: pd.DataFrame
) -> str:
    spec = meta["spec"]
    code = meta.get("code_version") or {}
    lines = [
        f"# Twin table report: {spec['task']}",
        "",
        f"{spec['configs']} configurations (scrambled Sobol, seed {spec['seed']}) x arms {', '.join(spec['arms'])}, "
        f"{spec['epochs']} of {spec['max_epochs']} epochs each; τ = {target}. "
        f"Built in {_fmt(meta.get('build_wall_seconds', math.nan), 0)} s on {meta.get('device')}, "
        f"git {str(meta.get('git_sha'))[:10]}{' (modified)' if code.get('modified') else ''}.",
        "",
        "Differences are arm − reference in percentage points, paired over configurations (same trial seed); "
        "HL: the Hodges–Lehmann shift with its 95% interval; p: two-sided paired Wilcoxon, Holm: p final "
        "adjusted over every row of this table; epochs to τ saved: median of reference − arm, a curve that never "
        f"reaches τ counted as {spec['epochs'] + 1} epochs.",
        "",
        "| arm | vs | n | Δ best pp (mean / median) | Δ final pp (mean / median) | Δ final pp HL [95%] "
        "| improved (final / best) | p final (Holm) | p best | epochs to τ saved | reached τ (arm / ref) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in found:
        lines.append(
            f"| {c.arm} | {c.reference} | {c.n} | {_fmt(c.best_pp_mean)} / {_fmt(c.best_pp_median)} "
            f"| {_fmt(c.final_pp_mean)} / {_fmt(c.final_pp_median)} "
            f"| {_fmt(c.final_pp_shift)} [{_fmt(c.final_pp_low)}, {_fmt(c.final_pp_high)}] "
            f"| {c.share_final_improved:.0%} / {c.share_best_improved:.0%} "
            f"| {_fmt(c.wilcoxon_p_final, 3)} ({_fmt(c.holm_p_final, 3)}) | {_fmt(c.wilcoxon_p_best, 3)} "
            f"| {_fmt(c.epochs_to_target_median_saved, 1)} | {c.reached_arm} / {c.reached_reference} |"
        )
    if figure:
        lines += ["", f"![benefit against the starting learning rate]({figure})"]
    if not facts.empty:
        lines += [
            "",
            *mechanism_markdown(facts),
            "",
            f"![the step and its effect by starting learning rate]({MECHANISM_FIGURE}.png)",
        ]
    return "\n".join(lines) + "\n"


def table_report(path: Path | str, out: Path | str | None = None, target: float | None = None) -> list[Path]:
    """Write report.md, report.csv (one row per comparison), cells.csv, mechanism.csv and the figure;
    return the paths."""
    from ohgw_bench.core.registry import get_task

    rows, meta = read_table(path)
    path = Path(path)
    directory = path.parent if path.suffix == ".parquet" else path
    out_dir = Path(out) if out is not None else directory / "report"
    task = get_task(meta["spec"]["task"])
    tau = task.target if target is None else target
    summary = cell_summary(rows, tau, int(meta["spec"]["epochs"]))
    found = comparisons(summary)
    out_dir.mkdir(parents=True, exist_ok=True)
    figures = benefit_figure(summary, out_dir)
    figures += hypergradient_figure(hypergradient_benefit(rows, summary), out_dir)
    png = next((p.name for p in figures if p.suffix == ".png"), None)
    lr = task.space[LOG10_LR]
    edges = lr_bin_edges(lr.low, lr.high)
    facts = mechanism_facts(summary, task.space.names, edges)
    figures += mechanism_figure(facts, edges, out_dir)
    (out_dir / REPORT_MD).write_text(format_markdown(meta, tau, found, png, facts), encoding="utf-8")
    pd.DataFrame([asdict(c) for c in found]).to_csv(out_dir / REPORT_CSV, index=False)
    summary.to_csv(out_dir / CELLS_CSV, index=False)
    facts.to_csv(out_dir / MECHANISM_CSV, index=False)
    return [out_dir / REPORT_MD, out_dir / REPORT_CSV, out_dir / CELLS_CSV, out_dir / MECHANISM_CSV, *figures]
