"""Figures of a results folder (``ohgw-bench plot PATH --out DIR``), PNG and PDF each.

* ``anytime``   best validation accuracy so far vs tuner time: median and IQR band over seeds
  per warm-start arm, one panel per task × scheduler. Each run's incumbent is a step function
  of tuner time (undefined before its first report), read on a common grid.
* ``t_at_tau``  T@τ (tuner clock, censored at the budget used) per seed: a box per arm, the
  seeds as points (hollow = τ never reached), thin lines joining the same seed across arms.
* ``dpsi``      Δψ = config_used − config_sampled of every trial, one subplot per search-space
  dimension, a box per warm-start arm (the ``none`` arm is left out: its Δψ is 0).
* ``eta``       only when one task × scheduler holds ``ohgw`` arms with at least two distinct
  ``warm_start_params["eta"]``: per-seed speed-up T_none / T_arm vs η_h (log axis), medians
  per η_h and a LOWESS fit on log10 η_h (statsmodels) when there are ≥ 3 distinct values.
  An ``ohgw`` arm without an explicit eta (``asha+ohgw``) counts at the registered default.

Grayscale-safe: arms differ by line style, marker and hatch as well as colour. A figure that
the data cannot support is skipped with a logged warning saying why; nothing raises for a
single arm, a single seed or a missing ``none`` arm.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["plot_all", "FORMATS"]

log = logging.getLogger(__name__)

FORMATS = ("png", "pdf")
_LINESTYLES = ("-", "--", ":", "-.", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 3)))
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
_HATCHES = ("", "//", "\\\\", "xx", "..", "oo", "--", "++")
_GRID_POINTS = 300


def _style(i: int) -> dict[str, Any]:
    import matplotlib

    colors = matplotlib.colormaps["viridis"](np.linspace(0.0, 0.85, 8))
    return {
        "color": colors[(i * 3) % 8],
        "linestyle": _LINESTYLES[i % len(_LINESTYLES)],
        "marker": _MARKERS[i % len(_MARKERS)],
        "hatch": _HATCHES[i % len(_HATCHES)],
    }


def _arm_order(labels: Any) -> list[str]:
    labels = sorted(set(labels))
    return (["none"] if "none" in labels else []) + [x for x in labels if x != "none"]


def _time_unit(seconds_max: float) -> tuple[float, str]:
    if seconds_max >= 3 * 3600:
        return 3600.0, "h"
    if seconds_max >= 3 * 60:
        return 60.0, "min"
    return 1.0, "s"


def _grid_panels(n: int, width: float = 4.6, height: float = 3.4):
    import matplotlib.pyplot as plt

    ncols = min(3, n)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])


def _scheduler_panels(frame: pd.DataFrame, figure: str, why_empty: str) -> tuple[Any, list] | None:
    """A figure with one panel per task × scheduler: (fig, [(ax, ((task, scheduler), group))]);
    None, with a warning, when ``frame`` is empty."""
    if frame.empty:
        log.warning("skipping figure '%s': %s", figure, why_empty)
        return None
    groups = list(frame.groupby(["task", "scheduler_key"], sort=True))
    fig, axes = _grid_panels(len(groups))
    return fig, list(zip(axes, groups, strict=True))


def _style_boxes(parts: dict[str, Any], first_style: int = 0) -> None:
    for i, box in enumerate(parts["boxes"]):
        style = _style(first_style + i)
        box.set_facecolor((*style["color"][:3], 0.25))
        box.set_hatch(style["hatch"])


def _save(fig: Any, out_dir: Path, name: str) -> list[Path]:
    import matplotlib.pyplot as plt

    paths = []
    fig.tight_layout()
    for fmt in FORMATS:
        path = out_dir / f"{name}.{fmt}"
        # No creation date in the PDF: regenerating the same figure gives the same bytes.
        fig.savefig(path, dpi=150, metadata={"CreationDate": None} if fmt == "pdf" else None)
        paths.append(path)
    plt.close(fig)
    return paths


def _quantiles(matrix: np.ndarray, qs: tuple[float, ...]) -> list[np.ndarray]:
    """Column quantiles ignoring NaN; NaN where a column has no value (no warning)."""
    out = [np.full(matrix.shape[1], math.nan) for _ in qs]
    has = np.isfinite(matrix).any(axis=0)
    if has.any():
        values = np.nanpercentile(matrix[:, has], qs, axis=0)
        for row, q in zip(out, values, strict=True):
            row[has] = q
    return out


def _step_on_grid(times: np.ndarray, values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    order = np.argsort(times, kind="stable")
    times, values = times[order], np.fmax.accumulate(values[order])
    index = np.searchsorted(times, grid, side="right") - 1
    out = np.where(index >= 0, values[np.clip(index, 0, None)], math.nan)
    return out


# --------------------------------------------------------------------------- figures


def _plot_anytime(df: pd.DataFrame, out_dir: Path, target: float | None = None) -> list[Path]:
    if (found := _scheduler_panels(df, "anytime", "no events")) is None:
        return []
    fig, panels = found
    unit, unit_name = _time_unit(float(df["tuner_seconds"].max()))
    for ax, ((task, scheduler), group) in panels:
        grid = np.linspace(0.0, float(group["tuner_seconds"].max()), _GRID_POINTS)
        for i, label in enumerate(_arm_order(group["warm_start_label"])):
            style = _style(i)
            curves = []
            for _, run in group[group["warm_start_label"] == label].groupby("run_dir"):
                curves.append(
                    _step_on_grid(
                        run["tuner_seconds"].to_numpy(float), run["best_val_acc_so_far"].to_numpy(float), grid
                    )
                )
            q25, median, q75 = _quantiles(np.vstack(curves), (25, 50, 75))
            ax.plot(
                grid / unit,
                median,
                drawstyle="steps-post",
                color=style["color"],
                linestyle=style["linestyle"],
                marker=style["marker"],
                markevery=max(1, _GRID_POINTS // 8),
                label=f"{label} (n={len(curves)})",
            )
            ax.fill_between(
                grid / unit,
                q25,
                q75,
                step="post",
                facecolor=style["color"],
                alpha=0.18,
                hatch=style["hatch"] or None,
                edgecolor=style["color"],
                linewidth=0.0,
            )
        targets = [target] if target is not None else group["target"].dropna().unique()
        if len(targets) == 1:
            ax.axhline(targets[0], color="black", linewidth=0.8, linestyle=(0, (2, 2)), label=f"τ = {targets[0]:g}")
        ax.set_title(f"{task} × {scheduler}")
        ax.set_xlabel(f"tuner time ({unit_name})")
        ax.set_ylabel("best validation accuracy so far")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    return _save(fig, out_dir, "anytime")


def _plot_t_at_tau(summary: pd.DataFrame, out_dir: Path) -> list[Path]:
    if (found := _scheduler_panels(summary, "t_at_tau", "no run with events")) is None:
        return []
    fig, panels = found
    unit, unit_name = _time_unit(float(summary["T_tuner_seconds_cens"].max()))
    for ax, ((task, scheduler), group) in panels:
        arms = _arm_order(group["warm_start_label"])
        boxes = [group.loc[group["warm_start_label"] == a, "T_tuner_seconds_cens"].to_numpy(float) / unit for a in arms]
        parts = ax.boxplot(
            boxes,
            positions=range(len(arms)),
            widths=0.5,
            patch_artist=True,
            showfliers=False,
            medianprops={"color": "black", "linewidth": 1.5},
        )
        _style_boxes(parts)
        by_seed = group.pivot_table(
            index="seed", columns="warm_start_label", values="T_tuner_seconds_cens", aggfunc="first"
        ).reindex(columns=arms)
        for _, values in by_seed.iterrows():
            ax.plot(range(len(arms)), values.to_numpy(float) / unit, color="0.6", linewidth=0.7, zorder=1)
        for i, arm in enumerate(arms):
            style = _style(i)
            runs = group[group["warm_start_label"] == arm]
            for reached, face in ((True, style["color"]), (False, "white")):
                sel = runs[runs["reached"].astype(bool) == reached]
                ax.scatter(
                    np.full(len(sel), i),
                    sel["T_tuner_seconds_cens"].to_numpy(float) / unit,
                    marker=style["marker"],
                    facecolors=face,
                    edgecolors=style["color"],
                    zorder=3,
                    label=None if reached else ("not reached (at budget)" if i == 0 else None),
                )
        ax.set_xticks(range(len(arms)), arms, rotation=20, ha="right")
        ax.set_title(f"{task} × {scheduler}")
        ax.set_ylabel(f"T@τ, tuner time ({unit_name})")
        ax.grid(axis="y", alpha=0.3)
        if (~group["reached"].astype(bool)).any():
            ax.legend(fontsize="small")
    return _save(fig, out_dir, "t_at_tau")


def _dpsi_frame(summary: pd.DataFrame) -> pd.DataFrame:
    from ohgw_bench.results import trial_dpsi
    from ohgw_bench.trajectory import Trajectory

    rows = []
    multi_task = summary["task"].nunique() > 1
    for _, run in summary[summary["warm_start"] != "none"].iterrows():
        directory = Path(str(run["run_dir"]))
        if not (directory / "meta.json").exists():
            continue
        arm = f"{run['task']}: {run['warm_start_label']}" if multi_task else str(run["warm_start_label"])
        for trial in Trajectory.read(directory).trials:
            rows += [{"arm": arm, "dim": dim, "dpsi": delta} for dim, delta in trial_dpsi(trial).items()]
    return pd.DataFrame(rows, columns=["arm", "dim", "dpsi"])


def _plot_dpsi(summary: pd.DataFrame, out_dir: Path) -> list[Path]:
    if summary.empty:
        log.warning("skipping figure 'dpsi': no run")
        return []
    frame = _dpsi_frame(summary)
    if frame.empty:
        log.warning("skipping figure 'dpsi': no warm-started trial with numeric sampled/used configs")
        return []
    dims = sorted(frame["dim"].unique())
    fig, axes = _grid_panels(len(dims), width=4.0, height=3.2)
    for ax, dim in zip(axes, dims, strict=True):
        sub = frame[frame["dim"] == dim]
        arms = sorted(sub["arm"].unique())
        parts = ax.boxplot(
            [sub.loc[sub["arm"] == a, "dpsi"].to_numpy(float) for a in arms],
            positions=range(len(arms)),
            widths=0.55,
            patch_artist=True,
            medianprops={"color": "black", "linewidth": 1.5},
        )
        _style_boxes(parts, first_style=1)  # style 0 is the none arm's elsewhere
        ax.axhline(0.0, color="black", linewidth=0.6)
        ax.set_xticks(range(len(arms)), arms, rotation=20, ha="right")
        ax.set_title(f"Δψ: {dim}")
        ax.set_ylabel("used − sampled")
        ax.grid(axis="y", alpha=0.3)
    return _save(fig, out_dir, "dpsi")


def _default_eta() -> float:
    """η_h of an ``ohgw`` arm whose name does not set it: the registered default (torch-free)."""
    from ohgw_bench.registry import get_warm_start

    return float(get_warm_start("ohgw").defaults["eta"])


def _eta_points(summary: pd.DataFrame) -> dict[tuple[str, str], pd.DataFrame]:
    """Per task × scheduler: per-seed speed-ups of each ohgw arm with an explicit eta."""
    from ohgw_bench.leaderboard import _ratios, pair_runs

    out = {}
    for (task, scheduler), group in summary.groupby(["task", "scheduler_key"], sort=True):
        ohgw = group[group["warm_start"] == "ohgw"].copy()
        if ohgw["eta"].isna().any():  # e.g. plain ``asha+ohgw``: meta holds only the params given
            ohgw.loc[ohgw["eta"].isna(), "eta"] = _default_eta()
        none = group[group["warm_start"] == "none"]
        if ohgw["eta"].nunique() < 2 or none.empty:
            continue
        rows = []
        for _label, runs in ohgw.groupby("warm_start_label"):
            pairs = pair_runs(none, runs)
            if pairs.empty:
                continue
            ratio = _ratios(
                pairs["T_tuner_seconds_cens_none"].to_numpy(float),
                pairs["T_tuner_seconds_cens_arm"].to_numpy(float),
                pairs["reached_none"].to_numpy(bool),
                pairs["reached_arm"].to_numpy(bool),
            )
            for eta, r in zip(pairs["eta_arm"], ratio, strict=True):
                if np.isfinite(r) and r > 0:
                    rows.append({"eta": float(eta), "speedup": float(r)})
        points = pd.DataFrame(rows, columns=["eta", "speedup"])
        if points["eta"].nunique() >= 2:
            out[(task, scheduler)] = points
    return out


def _plot_eta(summary: pd.DataFrame, out_dir: Path) -> list[Path]:
    from statsmodels.nonparametric.smoothers_lowess import lowess

    if summary.empty or "eta" not in summary:
        log.warning("skipping figure 'eta': no run")
        return []
    panels = _eta_points(summary)
    if not panels:
        log.warning(
            "skipping figure 'eta': no task × scheduler holds a 'none' arm and ohgw arms with "
            "at least two distinct warm_start_params['eta'] values paired over seeds"
        )
        return []
    fig, axes = _grid_panels(len(panels))
    for ax, ((task, scheduler), points) in zip(axes, panels.items(), strict=True):
        x = np.log10(points["eta"].to_numpy(float))
        y = points["speedup"].to_numpy(float)
        ax.scatter(10**x, y, marker="o", facecolors="white", edgecolors="0.3", label="per seed", zorder=3)
        medians = points.groupby("eta")["speedup"].median()
        ax.plot(
            medians.index, medians.to_numpy(), linestyle="none", marker="D", color="black", label="median", zorder=4
        )  # above the open per-seed circles
        if points["eta"].nunique() >= 3:
            fit = lowess(y, x, frac=0.8, return_sorted=True)
            ax.plot(10 ** fit[:, 0], fit[:, 1], color="black", linestyle="--", label="LOWESS")
        else:
            log.warning("figure 'eta', %s × %s: only two η_h values, no LOWESS fit", task, scheduler)
        ax.axhline(1.0, color="0.5", linewidth=0.8, linestyle=":")
        ax.set_xscale("log")
        ax.set_xlabel("η_h")
        ax.set_ylabel("speed-up T_none / T_ohgw (tuner clock)")
        ax.set_title(f"{task} × {scheduler}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    return _save(fig, out_dir, "eta")


def plot_all(
    path: Path | str, out_dir: Path | str, target: float | None = None, include_incomplete: bool = False
) -> list[Path]:
    """Write every figure the results under ``path`` support into ``out_dir``.

    Returns the written files (``<name>.png`` and ``<name>.pdf`` per figure, names as in the
    module docstring). ``target`` overrides each run's τ for the T@τ and η_h figures.
    """
    import matplotlib

    matplotlib.use("Agg")
    from ohgw_bench.results import load_results, summarize_runs

    out_dir = Path(out_dir)
    df = load_results(path, include_incomplete=include_incomplete)
    if df.empty:
        raise ValueError(f"no complete runs under {path} (nothing to plot; run folders hold a meta.json)")
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = summarize_runs(df, target=target)
    written: list[Path] = []
    written += _plot_anytime(df, out_dir, target)
    written += _plot_t_at_tau(summary, out_dir)
    written += _plot_dpsi(summary, out_dir)
    written += _plot_eta(summary, out_dir)
    return written
