"""Figures are written (PNG + PDF, non-empty), insufficient data skips a figure with a reason, and
figures of a study with several arms per scheduler read well: checked on the matplotlib objects."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from ohgw_bench.analysis.plots import (
    ArmStyle,
    anytime_figure,
    arm_styles,
    dpsi_figure,
    eta_figure,
    plot_all,
    t_at_tau_figure,
)
from ohgw_bench.analysis.results import load_results, summarize_runs
from tests.helpers.synthetic import crossing_events, trial, write_run

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _check(paths: list[Path], names: set[str]) -> None:
    assert {p.stem for p in paths} == names
    for path in paths:
        data = path.read_bytes()
        assert len(data) > 0
        if path.suffix == ".png":
            assert data.startswith(PNG_MAGIC)
        else:
            assert path.suffix == ".pdf" and data.startswith(b"%PDF")


def test_all_figures_with_three_eta_values(tmp_path: Path) -> None:
    # The third eta comes from a plain ``asha+ohgw`` arm (no eta in its name): meta.json's settings
    root = tmp_path / "results"
    reach_none = [30, 40, 50, None, 60]
    for seed, t in enumerate(reach_none):
        write_run(root, "digits-cnn", "asha", seed, crossing_events(t, 90))
        for k, eta in enumerate((1e-4, 3e-4, None)):
            t_arm = None if t is None else t * (0.6 + 0.15 * k)
            step = 1e-3 if eta is None else eta
            trials = [
                trial(
                    i,
                    {"lr": -2.0, "wd": -4.0},
                    {"lr": -2.0 + step * 100 * (i + 1), "wd": -4.0 - step * 10},
                    peak=200,
                    train_peak=100,
                    name="ohgw",
                )
                for i in range(3)
            ]
            name = "asha+ohgw" if eta is None else f"asha+ohgw(eta={eta:g})"
            write_run(
                root,
                "digits-cnn",
                name,
                seed,
                crossing_events(t_arm, 90),
                trials=trials,
                warm_start_params={} if eta is None else {"eta": eta},
                warm_start_settings={"eta": 1e-3 if eta is None else eta},
            )
    out = tmp_path / "figures"
    paths = plot_all(root, out)
    _check(paths, {"anytime", "t_at_tau", "dpsi", "eta", "survival"})
    assert all(p.parent == out for p in paths)
    etas = summarize_runs(root).query("warm_start == 'ohgw'")["eta"]
    assert sorted(etas.unique()) == [1e-4, 3e-4, 1e-3]


def test_runs_without_recorded_settings_are_left_out_of_the_eta_figure(tmp_path: Path) -> None:
    """A run too old to record its settings has no η_h: it is not guessed from today's default."""
    root = tmp_path / "results"
    for seed in range(3):
        write_run(root, "t", "asha", seed, crossing_events(40, 90))
        write_run(root, "t", "asha+ohgw(eta=0.001)", seed, crossing_events(20, 90), warm_start_params={"eta": 1e-3})
        write_run(root, "t", "asha+ohgw", seed, crossing_events(30, 90))
    assert "eta" not in {p.stem for p in plot_all(root, tmp_path / "figures")}  # one known η_h: no figure


def test_single_arm_single_seed_skips_with_reasons(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    write_run(tmp_path / "r", "digits-cnn", "asha", 0, crossing_events(None, 90))
    with caplog.at_level(logging.WARNING, logger="ohgw_bench.analysis.plots"):
        paths = plot_all(tmp_path / "r", tmp_path / "out")
    _check(paths, {"anytime", "survival"})
    reasons = caplog.text
    for figure in ("t_at_tau", "dpsi", "eta"):
        assert f"skipping figure '{figure}'" in reasons


def test_two_eta_values_plot_without_lowess(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = tmp_path / "r"
    for seed in range(2):
        write_run(root, "t", "pasha", seed, crossing_events(40, 90))
        for eta in (1e-3, 1e-2):
            write_run(
                root,
                "t",
                f"pasha+ohgw(eta={eta:g})",
                seed,
                crossing_events(20 + seed, 90),
                warm_start_params={"eta": eta},
            )
    with caplog.at_level(logging.WARNING, logger="ohgw_bench.analysis.plots"):
        paths = plot_all(root, tmp_path / "out")
    assert "eta" in {p.stem for p in paths}
    assert "no LOWESS fit" in caplog.text


# --------------------------------------------------------------------------- a study with several arms

TAU = 0.97
#: Per scheduler the arms besides ``none``; the two schedulers hold different subsets.
ARMS = {"asha": ("ohgw(eta=1)", "random(eta=1)"), "pasha": ("gauss(sigma=0.1)", "ohgw(eta=1)", "random(eta=1)")}
SPEED = {"ohgw(eta=1)": 0.6, "random(eta=1)": 0.9, "gauss(sigma=0.1)": 1.1}
SEEDS = range(5)
BUDGET = 100.0


def _curve(t_reach: float | None) -> list[dict[str, float]]:
    """0.5 at t = 5, 0.955 from t = 20 (a quarter of the budget: where the anytime zoom starts),
    τ = 0.97 crossed at ``t_reach`` (never if None)."""
    reach = [] if t_reach is None else [{"val_acc": TAU + 0.005, "tuner_seconds": t_reach}]
    last = TAU + 0.01 if t_reach is not None else TAU - 0.005
    return [
        {"val_acc": 0.5, "tuner_seconds": 5.0},
        {"val_acc": 0.955, "tuner_seconds": 20.0},
        *reach,
        {"val_acc": last, "tuner_seconds": BUDGET},
    ]


def _none_reach(seed: int) -> float | None:
    return None if seed == 4 else 40.0 + 5 * seed  # seed 4: none never reaches τ


def _arm_reach(arm: str, seed: int) -> float | None:
    if arm == "random(eta=1)" and seed == 3:
        return None  # the arm never reaches τ
    return SPEED[arm] * (40.0 + 5 * seed)


def _study(root: Path) -> Path:
    for scheduler, arms in ARMS.items():
        for seed in SEEDS:
            write_run(root, "digits-cnn", scheduler, seed, _curve(_none_reach(seed)), target=TAU)
            for arm in arms:
                write_run(root, "digits-cnn", f"{scheduler}+{arm}", seed, _curve(_arm_reach(arm, seed)), target=TAU)
    return root


Study = tuple[pd.DataFrame, pd.DataFrame, dict[str, ArmStyle]]


@pytest.fixture()
def study(tmp_path: Path) -> Study:
    """Events, run summary and arm styles of :func:`_study`."""
    df = load_results(_study(tmp_path / "results"))
    summary = summarize_runs(df)
    return df, summary, arm_styles(summary["warm_start_label"])


def _built(fig: Figure | None) -> Figure:
    assert fig is not None, "the figure was skipped"
    return fig


def _hex(color: Any) -> str:
    return to_hex(color, keep_alpha=False)


def test_arm_styles_are_distinct_and_none_is_neutral() -> None:
    labels = [
        "none",
        "ohgw(eta=0.1)",
        "ohgw(eta=1)",
        "ohgw(eta=10)",
        "random(eta=1)",
        "random(eta=10)",
        "gauss(sigma=0.1)",
        "gauss(sigma=1)",
        "ohgw",
        "mixed",
    ]
    styles = arm_styles(labels)
    assert len({(s.color, s.marker) for s in styles.values()}) == len(labels)
    assert len({s.color for s in arm_styles(labels[:8]).values()}) == 8  # none + the 7 palette colours
    assert (styles["none"].color, styles["none"].marker) == ("#000000", "o")
    assert all(s.color != "#000000" and s.marker != "o" for label, s in styles.items() if label != "none")
    assert arm_styles(reversed(labels)) == styles  # the order the labels come in does not matter


def test_same_arm_same_style_in_every_panel_and_figure(study: Study) -> None:
    df, summary, styles = study
    seen: dict[str, set[tuple[str, str]]] = {}
    only_asha = df[df["scheduler_key"] == "asha"]  # a figure where gauss is absent
    for fig in (_built(anytime_figure(df, styles)), _built(anytime_figure(only_asha, styles))):
        for ax in fig.axes:
            for line in ax.get_lines():
                if line.get_label() in styles:
                    seen.setdefault(line.get_label(), set()).add((_hex(line.get_color()), line.get_marker()))
    assert set(seen) == {"none", *SPEED}
    for label, found in seen.items():
        assert found == {(styles[label].color, styles[label].marker)}, label
    for ax in _built(t_at_tau_figure(summary, styles)).axes:
        arm = ax.get_title().split(" vs none")[0]
        for points in ax.collections:
            assert _hex(points.get_edgecolor()[0]) == styles[arm].color
    dpsi = _built(dpsi_figure(summary, styles))
    boxes = [
        (tick.get_text(), patch)
        for tick, patch in zip(dpsi.axes[0].get_xticklabels(), dpsi.axes[0].patches, strict=True)
    ]
    assert [label for label, _ in boxes] == ["gauss(sigma=0.1)", "ohgw(eta=1)", "random(eta=1)"]
    for label, patch in boxes:
        assert _hex(patch.get_facecolor()) == styles[label].color


def test_legends_stay_outside_the_data(study: Study, tmp_path: Path) -> None:

    df, summary, styles = study
    eta_root = tmp_path / "eta"
    for seed in range(3):
        write_run(eta_root, "t", "asha", seed, crossing_events(40, 90))
        for eta in (1e-4, 1e-3, 1e-2):
            name = f"asha+ohgw(eta={eta:g})"
            write_run(eta_root, "t", name, seed, crossing_events(20 + seed, 90), warm_start_params={"eta": eta})
    eta_summary = summarize_runs(eta_root)
    figures = {
        "anytime": _built(anytime_figure(df, styles)),
        "t_at_tau": _built(t_at_tau_figure(summary, styles)),
        "eta": _built(eta_figure(eta_summary, arm_styles(eta_summary["warm_start_label"]))),
    }
    for name, fig in figures.items():
        fig.canvas.draw()
        assert len(fig.legends) == 1, name
        legend = fig.legends[0].get_window_extent()
        for ax in fig.axes:
            data = ax.get_window_extent()
            apart = legend.x0 >= data.x1 or legend.x1 <= data.x0 or legend.y0 >= data.y1 or legend.y1 <= data.y0
            assert apart, (name, ax.get_title())
    texts = [t.get_text() for t in figures["anytime"].legends[0].get_texts()]
    assert texts == ["none", "gauss(sigma=0.1)", "ohgw(eta=1)", "random(eta=1)"]


def test_anytime_zooms_to_tau(study: Study) -> None:
    df, _, styles = study
    fig = _built(anytime_figure(df, styles))
    assert len(fig.axes) == len(ARMS)
    for ax in fig.axes:
        low, high = ax.get_ylim()
        assert low < TAU < high and high - low < 0.1, ax.get_ylim()
        assert low < 0.955 and high > TAU + 0.01  # the quarter-horizon medians and the final ones are in view
        tau_lines = [line for line in ax.get_lines() if set(line.get_ydata()) == {TAU} and line.get_linestyle() == "--"]
        assert len(tau_lines) == 1
        assert any(text.get_text() == f"τ = {TAU:g}" for text in ax.texts)


def test_paired_panels_per_scheduler_and_arm(study: Study) -> None:
    _, summary, styles = study
    fig = _built(t_at_tau_figure(summary, styles))
    assert len(fig.axes) == sum(len(arms) for arms in ARMS.values())
    titles = [ax.get_title() for ax in fig.axes]
    for scheduler, arms in ARMS.items():
        for arm in arms:
            assert sum(t.startswith(f"{arm} vs none\n") and f"× {scheduler}:" in t for t in titles) == 1
    assert all("n = 5" in t for t in titles)
    # ohgw: 1/0.6 on the four seeds where none reached τ (and 100/36 on seed 4)
    assert all("median ×1.67" in t for t in titles if t.startswith("ohgw(eta=1)"))
    limits = {(ax.get_xlim(), ax.get_ylim()) for ax in fig.axes}
    assert len(limits) == 1  # shared axes
    for ax in fig.axes:
        low, high = ax.get_xlim()
        assert any(list(line.get_xdata()) == list(line.get_ydata()) == [low, high] for line in ax.get_lines())
        filled = [c for c in ax.collections if len(c.get_facecolors())]
        hollow = [c for c in ax.collections if not len(c.get_facecolors())]
        n_censored = 2 if ax.get_title().startswith("random(eta=1)") else 1  # seed 4 (none), seed 3 (random)
        assert sum(len(c.get_offsets()) for c in hollow) == n_censored
        assert sum(len(c.get_offsets()) for c in filled) == len(SEEDS) - n_censored
        for x, y in np.concatenate([c.get_offsets() for c in hollow]):
            assert BUDGET in (x, y)  # a censored run is drawn at its budget


def test_cli_writes_png_and_pdf(tmp_path: Path) -> None:
    from ohgw_bench.cli import main

    out = tmp_path / "figures"
    assert main(["plot", str(_study(tmp_path / "results")), "--out", str(out)]) == 0
    _check(sorted(out.iterdir()), {"anytime", "t_at_tau", "dpsi", "survival"})
    assert len(list(out.iterdir())) == 8


def test_survival_table_by_hand() -> None:
    from ohgw_bench.analysis.plots import survival_table

    # one arm, two seeds: trials trained 1, 3 and 9 epochs (seed 0) and 1 epoch (seed 1)
    rows = [(0, 0, e) for e in (1,)] + [(0, 1, e) for e in (1, 2, 3)] + [(0, 2, e) for e in range(1, 10)]
    rows += [(1, 0, 1)]
    df = pd.DataFrame(rows, columns=["seed", "trial_id", "epoch"]).assign(
        task="t", scheduler_key="asha", warm_start_label="ohgw"
    )
    table = survival_table(df).set_index("epoch")
    assert table["n_trials"].unique().tolist() == [4]
    assert table.loc[[1, 2, 3, 4, 9], "survival"].tolist() == [1.0, 0.5, 0.5, 0.25, 0.25]
