"""Figures of a results folder (``ohgw-bench plot PATH --out DIR``), PNG and PDF each.

* ``anytime``   best validation accuracy so far vs tuner time: median and IQR band over seeds
  per warm-start arm, one panel per task × scheduler. Each run's incumbent is a step function
  of tuner time (undefined before its first report), read on a common grid. The y-axis zooms
  to where the arms differ near τ (a dashed line): from below τ and the lowest median at a
  quarter of the time axis to just above the best final median.
* ``t_at_tau``  paired T@τ (tuner clock) against ``none``: one panel per task × scheduler ×
  arm, a point per seed run by both arms (x: ``none``, y: the arm), the diagonal y = x (points
  below it: the arm was faster), hollow points where a run never reached τ and is drawn at its
  budget used. The title gives n and the median per-pair speed-up T_none / T_arm (censoring
  rule of :func:`ohgw_bench.analysis.stats.censored_pair_values`). Axes are shared, log when the
  values span more than a decade.
* ``dpsi``      Δψ = config_used − config_sampled of every trial, one subplot per search-space
  dimension, a box per warm-start arm (the ``none`` arm is left out: its Δψ is 0).
* ``eta``       only when one task × scheduler holds ``ohgw`` arms with at least two distinct
  ``warm_start_params["eta"]``: per-seed speed-up T_none / T_arm vs η_h (log axis), medians
  per η_h and a LOWESS fit on log10 η_h (statsmodels) when there are ≥ 3 distinct values.
  An ``ohgw`` arm without an explicit eta counts at the η_h its meta.json's settings record.
* ``survival``  the share of each arm's trials (pooled over seeds) that trained at least e epochs,
  against e on log axes, one panel per task × scheduler: how far the scheduler promoted the
  configurations each warm start produced (:func:`survival_table` gives the numbers).

Every arm of a study keeps one colour, marker, line style and hatch in all figures and panels
(:func:`arm_styles`); ``none`` is always black circles on a solid line. Colours are Okabe–Ito
(colour-blind safe) and the other cues keep arms apart in grayscale. Legends sit outside the
axes. A figure that the data cannot support is skipped with a logged warning saying why;
nothing raises for a single arm, a single seed or a missing ``none`` arm.

Figures are built on :class:`matplotlib.figure.Figure` with an Agg canvas, never through
pyplot: no global backend switch and no figure registry to leak.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "FORMATS",
    "ArmStyle",
    "anytime_figure",
    "arm_styles",
    "dpsi_figure",
    "eta_figure",
    "plot_all",
    "t_at_tau_figure",
]

log = logging.getLogger(__name__)

FORMATS = ("png", "pdf")
_GRID_POINTS = 300

#: Okabe & Ito (2008) without black, which is kept for ``none``; yellow last (weakest on white).
_PALETTE = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#f0e442")
#: One more marker than colours (8 and 7 are coprime): (colour, marker) pairs repeat only after 56 arms.
_MARKERS = ("s", "^", "D", "v", "P", "X", "*", "<")
_LINESTYLES: tuple[str | tuple[int, tuple[int, ...]], ...] = ("--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)))
_HATCHES = ("//", "\\\\", "xx", "..", "oo", "++", "--", "||")
_NONE = "none"

#: Anytime zoom: how far below τ the y-axis starts at least.
_TAU_MARGIN = 0.01
#: Anytime zoom: the median value read at this fraction of the time axis bounds the y-axis from below.
_ZOOM_AT = 0.25


@dataclass(frozen=True)
class ArmStyle:
    """How one warm-start arm is drawn in every figure of a study."""

    color: str
    marker: str
    linestyle: str | tuple[int, tuple[int, ...]]
    hatch: str


_NONE_STYLE = ArmStyle(color="#000000", marker="o", linestyle="-", hatch="")


def _natural_key(label: str) -> tuple[tuple[float, str], ...]:
    """Sort key reading numbers as numbers, so ``ohgw(eta=3e-4)`` < ``ohgw(eta=1e-3)`` < ``ohgw(eta=10)``."""
    tokens = re.split(r"(\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)", label)
    return tuple((float(tok), "") if i % 2 else (0.0, tok) for i, tok in enumerate(tokens))


def _arm_order(labels: Iterable[str]) -> list[str]:
    """``none`` first, then the other labels in natural order (the order of styles and legends)."""
    unique = sorted(set(labels), key=_natural_key)
    return ([_NONE] if _NONE in unique else []) + [x for x in unique if x != _NONE]


def arm_styles(labels: Iterable[str]) -> dict[str, ArmStyle]:
    """One style per arm label, assigned over the *whole* study so that a panel holding only
    some arms still draws each one as every other figure does.

    ``none`` is black circles; the k-th other label (natural order) gets palette colour k mod 7
    and marker k mod 8, so colours are distinct for up to 7 other arms and (colour, marker)
    pairs for up to 56.
    """
    styles = {}
    for k, label in enumerate(x for x in _arm_order(labels) if x != _NONE):
        styles[label] = ArmStyle(
            color=_PALETTE[k % len(_PALETTE)],
            marker=_MARKERS[k % len(_MARKERS)],
            linestyle=_LINESTYLES[k % len(_LINESTYLES)],
            hatch=_HATCHES[k % len(_HATCHES)],
        )
    styles[_NONE] = _NONE_STYLE
    return styles


def _style_of(styles: dict[str, ArmStyle], label: str) -> ArmStyle:
    """The study's style of ``label``; a clear error when a figure was handed styles of another study."""
    if label not in styles:
        raise KeyError(f"arm {label!r} has no style; build the styles from every arm of the study (arm_styles)")
    return styles[label]


def _time_unit(seconds_max: float) -> tuple[float, str]:
    """The leaderboard's unit rule applied to an axis' largest value."""
    from ohgw_bench.analysis.render import time_unit

    unit = time_unit(seconds_max)
    return unit.seconds, unit.name


def new_figure(width: float, height: float) -> Figure:
    """A figure on an Agg canvas with constrained layout (which makes room for outside legends)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def grid_panels(
    n: int, width: float = 4.6, height: float = 3.4, legend_width: float = 0.0
) -> tuple[Figure, list[Axes]]:
    """``n`` panels, up to three per row; the unused cells are removed, so ``fig.axes`` are the panels."""
    ncols = min(3, n)
    nrows = math.ceil(n / ncols)
    fig = new_figure(width * ncols + legend_width, height * nrows)
    axes = list(fig.subplots(nrows, ncols, squeeze=False).flat)
    for ax in axes[n:]:
        fig.delaxes(ax)
    return fig, axes[:n]


def legend_outside(fig: Figure, entries: dict[str, Artist], title: str | None = None) -> None:
    """One legend for the whole figure, right of the panels: it never hides data, and because
    styles are per study it reads the same for every panel."""
    if entries:
        fig.legend(
            list(entries.values()), list(entries.keys()), loc="outside right upper", fontsize="small", title=title
        )


def save_figure(fig: Figure, out_dir: Path, name: str) -> list[Path]:
    """Write the figure in every format, each through a temporary file renamed over its path: a figure
    left as a symbolic link is replaced, never written through to what it points at."""
    paths = []
    for fmt in FORMATS:
        path = out_dir / f"{name}.{fmt}"
        _save(fig, path, fmt)
        paths.append(path)
    return paths


def _save(fig: Figure, path: Path, fmt: str) -> None:
    from ohgw_bench.core.atomic import atomic_write

    # No creation date in the PDF: regenerating the same figure gives the same bytes.
    metadata = {"CreationDate": None} if fmt == "pdf" else None
    atomic_write(path, lambda fh: fig.savefig(fh, format=fmt, dpi=150, metadata=metadata), durable=False)


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


def _speedups(pairs: pd.DataFrame) -> np.ndarray:
    """Per-pair T_none / T_arm (tuner clock) of :func:`~ohgw_bench.analysis.pairing.pair_runs` output,
    censoring applied within each pair as the leaderboard does (two censored runs → 1)."""
    from ohgw_bench.analysis.pairing import pair_times
    from ohgw_bench.analysis.stats import censored_pair_values

    a, b = censored_pair_values(*pair_times(pairs))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = a / b
    ratio[a == b] = 1.0  # also 0 / 0
    return ratio


# --------------------------------------------------------------------------- anytime


def _zoom_limits(medians: list[np.ndarray], tau: float | None) -> tuple[float, float] | None:
    """y-limits showing where the arms differ: from min(τ − margin, lowest median at a quarter
    of the time axis) to just above the highest final median (and τ). None without any value."""
    at = int(_ZOOM_AT * (_GRID_POINTS - 1))
    early, final = [], []
    for median in medians:
        finite = np.flatnonzero(np.isfinite(median))
        if finite.size == 0:
            continue
        # A curve that starts after the quarter mark is read at its first value.
        early.append(float(median[finite[finite >= at][0]] if (finite >= at).any() else median[finite[-1]]))
        final.append(float(median[finite[-1]]))
    if not early:
        return None
    low, high = min(early), max(final)
    if tau is not None:
        low, high = min(low, tau - _TAU_MARGIN), max(high, tau)
    span = max(high - low, 2 * _TAU_MARGIN)
    return low - 0.05 * span, high + 0.1 * span


def anytime_figure(df: pd.DataFrame, styles: dict[str, ArmStyle], target: float | None = None) -> Figure | None:
    """Anytime curves from :func:`~ohgw_bench.analysis.results.load_results` events; None (warned) without events."""
    if df.empty:
        log.warning("skipping figure 'anytime': no events")
        return None
    groups = list(df.groupby(["task", "scheduler_key"], sort=True))
    fig, axes = grid_panels(len(groups), legend_width=2.2)
    unit, unit_name = _time_unit(float(df["tuner_seconds"].max()))
    entries: dict[str, Artist] = {}
    for ax, ((task, scheduler), group) in zip(axes, groups, strict=True):
        grid = np.linspace(0.0, float(group["tuner_seconds"].max()), _GRID_POINTS)
        arms = _arm_order(group["warm_start_label"])
        medians, counts = [], []
        for i, label in enumerate(arms):
            style = _style_of(styles, label)
            runs = group[group["warm_start_label"] == label].groupby("run_dir")
            curves = [
                _step_on_grid(run["tuner_seconds"].to_numpy(float), run["best_val_acc_so_far"].to_numpy(float), grid)
                for _, run in runs
            ]
            counts.append(len(curves))
            q25, median, q75 = _quantiles(np.vstack(curves), (25, 50, 75))
            medians.append(median)
            every = max(1, _GRID_POINTS // 8)
            (line,) = ax.plot(
                grid / unit,
                median,
                drawstyle="steps-post",
                color=style.color,
                linestyle=style.linestyle,
                marker=style.marker,
                markevery=(i * every // len(arms), every),  # staggered, so arms' markers do not stack
                label=label,
            )
            ax.fill_between(grid / unit, q25, q75, step="post", color=style.color, alpha=0.15, linewidth=0.0)
            entries.setdefault(label, line)
        taus = [target] if target is not None else list(group["target"].dropna().unique())
        tau = float(taus[0]) if len(taus) == 1 else None
        if tau is not None:
            ax.axhline(tau, color="0.35", linewidth=0.9, linestyle="--")
            ax.annotate(
                f"τ = {tau:g}",
                xy=(0.0, tau),
                xycoords=("axes fraction", "data"),
                xytext=(3, 2),
                textcoords="offset points",
                fontsize="small",
                color="0.35",
            )
        else:
            log.warning("figure 'anytime', %s × %s: runs disagree on τ, no τ line", task, scheduler)
        if (limits := _zoom_limits(medians, tau)) is not None:
            ax.set_ylim(*limits)
        n = f"n = {counts[0]}" if len(set(counts)) == 1 else f"n = {min(counts)}–{max(counts)}"
        ax.set_title(f"{task} × {scheduler} ({n} per arm)")
        ax.set_xlabel(f"tuner time ({unit_name})")
        ax.set_ylabel("best validation accuracy so far")
        ax.grid(alpha=0.3)
    legend_outside(fig, {k: entries[k] for k in _arm_order(entries)}, title="median, IQR band")
    return fig


# --------------------------------------------------------------------------- paired T@τ


def _paired_panels(summary: pd.DataFrame) -> list[tuple[tuple[str, str], str, pd.DataFrame]]:
    """((task, scheduler), arm, pairs) for every non-``none`` arm paired with ``none`` on a seed."""
    from ohgw_bench.analysis.pairing import pair_runs

    panels = []
    for (task, scheduler), group in summary.groupby(["task", "scheduler_key"], sort=True):
        none = group[group["warm_start"] == _NONE]
        others = group[group["warm_start"] != _NONE]
        if none.empty and not others.empty:
            log.warning("figure 't_at_tau', %s × %s: no 'none' arm to pair with", task, scheduler)
            continue
        for arm in _arm_order(others["warm_start_label"]):
            pairs = pair_runs(none, others[others["warm_start_label"] == arm])
            if pairs.empty:
                log.warning("figure 't_at_tau', %s × %s: %s shares no seed with 'none'", task, scheduler, arm)
                continue
            panels.append(((str(task), str(scheduler)), arm, pairs))
    return panels


def _shared_limits(values: np.ndarray) -> tuple[float, float, bool]:
    """Common (low, high, log) for both axes of every panel: log when the values span > 10×."""
    positive = values[np.isfinite(values) & (values > 0)]
    high = float(values[np.isfinite(values)].max())
    if positive.size == values[np.isfinite(values)].size and high / float(positive.min()) > 10:
        return float(positive.min()) / 1.4, high * 1.4, True
    return 0.0, high * 1.06 if high > 0 else 1.0, False


def t_at_tau_figure(summary: pd.DataFrame, styles: dict[str, ArmStyle]) -> Figure | None:
    """Paired T@τ small multiples from :func:`~ohgw_bench.analysis.results.summarize_runs`; None (warned) if no pair."""
    from matplotlib.lines import Line2D

    panels = _paired_panels(summary) if not summary.empty else []
    if not panels:
        log.warning("skipping figure 't_at_tau': no arm shares a seed with a 'none' arm of its task × scheduler")
        return None
    rows = sorted({key for key, _, _ in panels})
    columns = _arm_order(arm for _, arm, _ in panels)  # a column per arm: the same arm lines up
    all_values = np.concatenate(
        [p[f"T_tuner_seconds_cens_{side}"].to_numpy(float) for _, _, p in panels for side in ("none", "arm")]
    )
    unit, unit_name = _time_unit(float(np.nanmax(all_values)))
    low, high, log_axes = _shared_limits(all_values / unit)
    fig = new_figure(3.3 * len(columns) + 2.4, 3.3 * len(rows))
    first: Axes | None = None
    entries: dict[str, Artist] = {}
    for (task, scheduler), arm, pairs in panels:
        index = rows.index((task, scheduler)) * len(columns) + columns.index(arm) + 1
        ax = fig.add_subplot(len(rows), len(columns), index, sharex=first, sharey=first)
        first = first or ax
        style = _style_of(styles, arm)
        x = pairs["T_tuner_seconds_cens_none"].to_numpy(float) / unit
        y = pairs["T_tuner_seconds_cens_arm"].to_numpy(float) / unit
        censored = ~(pairs["reached_none"].to_numpy(bool) & pairs["reached_arm"].to_numpy(bool))
        (diagonal,) = ax.plot([low, high], [low, high], color="0.5", linewidth=0.8, linestyle="--", zorder=1)
        entries.setdefault("y = x (no speed-up)", diagonal)
        ax.scatter(x[~censored], y[~censored], marker=style.marker, color=style.color, alpha=0.85, zorder=3)
        ax.scatter(
            x[censored],
            y[censored],
            marker=style.marker,
            facecolors="none",
            edgecolors=style.color,
            linewidths=1.2,
            zorder=3,
        )
        # Neutral legend markers: each panel's arm is in its title, the legend explains fill only.
        if (~censored).any():
            entries.setdefault("both reached τ", Line2D([], [], linestyle="none", marker="o", color="0.3"))
        if censored.any():
            entries.setdefault(
                "τ not reached (drawn at\nbudget used)",
                Line2D([], [], linestyle="none", marker="o", markerfacecolor="none", markeredgecolor="0.3"),
            )
        ratio = float(np.nanmedian(_speedups(pairs)))
        ax.set_title(f"{arm} vs none\n{task} × {scheduler}: n = {len(pairs)}, median ×{ratio:.2f}", fontsize="medium")
        if log_axes:
            ax.set_xscale("log")
            ax.set_yscale("log")
        ax.set_xlim(low, high)
        ax.set_ylim(low, high)
        ax.set_aspect("equal", adjustable="box")
        ax.set_xlabel(f"T@τ none ({unit_name})")
        ax.set_ylabel(f"T@τ {arm} ({unit_name})")
        ax.grid(alpha=0.3)
    legend_outside(fig, entries, title="per paired seed\n(median ×: T_none / T_arm)")
    return fig


# --------------------------------------------------------------------------- Δψ


def _dpsi_frame(summary: pd.DataFrame) -> pd.DataFrame:
    from ohgw_bench.analysis.results import trial_dpsi
    from ohgw_bench.core.trajectory import Trajectory

    rows = []
    for _, run in summary[summary["warm_start"] != _NONE].iterrows():
        directory = Path(str(run["run_dir"]))
        if not (directory / "meta.json").exists():
            continue
        for trial in Trajectory.read(directory).trials:
            rows += [
                {"task": run["task"], "label": run["warm_start_label"], "dim": dim, "dpsi": delta}
                for dim, delta in trial_dpsi(trial).items()
            ]
    return pd.DataFrame(rows, columns=["task", "label", "dim", "dpsi"])


def dpsi_figure(summary: pd.DataFrame, styles: dict[str, ArmStyle]) -> Figure | None:
    """Δψ boxes per dimension and arm; None (warned) without a warm-started trial that moved a numeric config."""
    if summary.empty:
        log.warning("skipping figure 'dpsi': no run")
        return None
    frame = _dpsi_frame(summary)
    if frame.empty:
        log.warning("skipping figure 'dpsi': no warm-started trial with numeric sampled/used configs")
        return None
    multi_task = frame["task"].nunique() > 1
    dims = sorted(frame["dim"].unique())
    fig, axes = grid_panels(len(dims), width=4.0, height=3.2)
    for ax, dim in zip(axes, dims, strict=True):
        sub = frame[frame["dim"] == dim]
        arms = [(task, label) for task in sorted(sub["task"].unique()) for label in _arm_order(sub["label"])]
        arms = [(t, a) for t, a in arms if ((sub["task"] == t) & (sub["label"] == a)).any()]
        parts = ax.boxplot(
            [sub.loc[(sub["task"] == t) & (sub["label"] == a), "dpsi"].to_numpy(float) for t, a in arms],
            positions=range(len(arms)),
            widths=0.55,
            patch_artist=True,
            medianprops={"color": "black", "linewidth": 1.5},
        )
        for box, (_, label) in zip(parts["boxes"], arms, strict=True):
            style = _style_of(styles, label)
            box.set_facecolor(style.color)
            box.set_alpha(0.6)
            box.set_hatch(style.hatch)
        ax.axhline(0.0, color="black", linewidth=0.6)
        ticks = [f"{t}: {a}" if multi_task else a for t, a in arms]
        ax.set_xticks(range(len(arms)), ticks, rotation=20, ha="right")
        ax.set_title(f"Δψ: {dim}")
        ax.set_ylabel("used − sampled")
        ax.grid(axis="y", alpha=0.3)
    return fig


# --------------------------------------------------------------------------- η_h


def _eta_points(summary: pd.DataFrame) -> dict[tuple[str, str], pd.DataFrame]:
    """Per task × scheduler: per-seed speed-ups (columns arm, eta, speedup) of each ohgw arm."""
    from ohgw_bench.analysis.pairing import pair_runs

    out = {}
    for (task, scheduler), group in summary.groupby(["task", "scheduler_key"], sort=True):
        # η_h comes from meta.json's settings; runs too old to record them are left out, not guessed
        ohgw = group[(group["warm_start"] == "ohgw") & group["eta"].notna()]
        none = group[group["warm_start"] == _NONE]
        if ohgw["eta"].nunique() < 2 or none.empty:
            continue
        rows = []
        for label, runs in ohgw.groupby("warm_start_label"):
            pairs = pair_runs(none, runs)
            for eta, r in zip(pairs["eta_arm"], _speedups(pairs), strict=True):
                if np.isfinite(r) and r > 0:
                    rows.append({"arm": label, "eta": float(eta), "speedup": float(r)})
        points = pd.DataFrame(rows, columns=["arm", "eta", "speedup"])
        if points["eta"].nunique() >= 2:
            out[(str(task), str(scheduler))] = points
    return out


def eta_figure(summary: pd.DataFrame, styles: dict[str, ArmStyle]) -> Figure | None:
    """Speed-up vs η_h per task × scheduler; None (warned) without two paired η_h values."""
    from statsmodels.nonparametric.smoothers_lowess import lowess

    if summary.empty or "eta" not in summary:
        log.warning("skipping figure 'eta': no run")
        return None
    panels = _eta_points(summary)
    if not panels:
        log.warning(
            "skipping figure 'eta': no task × scheduler holds a 'none' arm and ohgw arms with "
            "at least two distinct warm_start_params['eta'] values paired over seeds"
        )
        return None
    fig, axes = grid_panels(len(panels), legend_width=2.2)
    entries: dict[str, Artist] = {}
    for ax, ((task, scheduler), points) in zip(axes, panels.items(), strict=True):
        for arm in _arm_order(points["arm"]):
            style = _style_of(styles, arm)
            sel = points[points["arm"] == arm]
            dots = ax.scatter(
                sel["eta"], sel["speedup"], marker=style.marker, color=style.color, alpha=0.7, zorder=3, label=arm
            )
            entries.setdefault(arm, dots)
        medians = points.groupby("eta")["speedup"].median()
        (median,) = ax.plot(
            medians.index, medians.to_numpy(), linestyle="none", marker="_", markersize=18, color="black", zorder=4
        )  # a wide bar above the per-seed points
        entries.setdefault("median per η_h", median)
        if points["eta"].nunique() >= 3:
            x = np.log10(points["eta"].to_numpy(float))
            fit = lowess(points["speedup"].to_numpy(float), x, frac=0.8, return_sorted=True)
            (curve,) = ax.plot(10 ** fit[:, 0], fit[:, 1], color="black", linestyle="--")
            entries.setdefault("LOWESS", curve)
        else:
            log.warning("figure 'eta', %s × %s: only two η_h values, no LOWESS fit", task, scheduler)
        ax.axhline(1.0, color="0.5", linewidth=0.8, linestyle=":")
        ax.set_xscale("log")
        ax.set_xlabel("η_h")
        ax.set_ylabel("speed-up T_none / T_ohgw (tuner clock)")
        ax.set_title(f"{task} × {scheduler}")
        ax.grid(alpha=0.3)
    arms = {k: entries.pop(k) for k in _arm_order(k for k in entries if k in styles)}
    legend_outside(fig, arms | entries, title="per paired seed")
    return fig


# --------------------------------------------------------------------------- entry point


# --------------------------------------------------------------------------- rung survival


def survival_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per task × scheduler × arm and epoch e: the share of the arm's trials (pooled over seeds) that
    trained at least e epochs, i.e. survived the scheduler's promotions that far (``survival``), with
    the number of trials (``n_trials``)."""
    furthest = df.groupby(["task", "scheduler_key", "warm_start_label", "seed", "trial_id"])["epoch"].max()
    rows = []
    for (task, scheduler, arm), epochs in furthest.groupby(level=[0, 1, 2], sort=True):
        reached = epochs.to_numpy(int)
        for e in range(1, int(reached.max()) + 1):
            rows.append((task, scheduler, arm, e, float((reached >= e).mean()), reached.size))
    return pd.DataFrame(rows, columns=["task", "scheduler", "arm", "epoch", "survival", "n_trials"])


def survival_figure(df: pd.DataFrame, styles: dict[str, ArmStyle]) -> Figure | None:
    """Share of trials that trained at least e epochs against e (log axes), one panel per task ×
    scheduler: a warm start that changes which configurations a scheduler promotes shows here."""
    table = survival_table(df)
    if table.empty:
        return None
    groups = list(table.groupby(["task", "scheduler"], sort=True))
    fig, axes = grid_panels(len(groups), legend_width=1.8)
    entries: dict[str, Artist] = {}
    for ax, ((task, scheduler), rows) in zip(axes, groups, strict=True):
        for arm in _arm_order(rows["arm"]):
            line = rows[rows["arm"] == arm]
            style = _style_of(styles, arm)
            (entries[arm],) = ax.step(
                line["epoch"], line["survival"], where="post", color=style.color, linestyle=style.linestyle
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"{task} × {scheduler}", fontsize="medium")
        ax.set_xlabel("epochs trained (at least)")
        ax.set_ylabel("share of trials")
    legend_outside(fig, entries)
    return fig


def plot_all(
    path: Path | str, out_dir: Path | str, target: float | None = None, include_incomplete: bool = False
) -> list[Path]:
    """Write every figure the results under ``path`` support into ``out_dir``.

    Returns the written files (``<name>.png`` and ``<name>.pdf`` per figure, names as in the
    module docstring). ``target`` overrides each run's τ for every figure.
    """
    from ohgw_bench.analysis.results import load_results, summarize_runs

    out_dir = Path(out_dir)
    df = load_results(path, include_incomplete=include_incomplete)
    if df.empty:
        raise ValueError(f"no complete runs under {path} (nothing to plot; run folders hold a meta.json)")
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = summarize_runs(df, target=target)
    styles = arm_styles(summary["warm_start_label"])
    figures = {
        "anytime": anytime_figure(df, styles, target),
        "t_at_tau": t_at_tau_figure(summary, styles),
        "dpsi": dpsi_figure(summary, styles),
        "eta": eta_figure(summary, styles),
        "survival": survival_figure(df, styles),
    }
    written: list[Path] = []
    for name, fig in figures.items():
        if fig is not None:
            written += save_figure(fig, out_dir, name)
    return written
