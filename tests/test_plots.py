"""Figures are written (PNG + PDF, non-empty) and insufficient data skips a figure with a reason."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from synthetic import crossing_events, trial, write_run  # noqa: E402

from ohgw_bench.plots import plot_all  # noqa: E402

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


def test_all_figures_with_three_eta_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The third eta comes from a plain ``asha+ohgw`` arm (no eta in its params): the default.
    import ohgw_bench.plots

    asked = []
    monkeypatch.setattr(ohgw_bench.plots, "_default_eta", lambda: asked.append(1) or 1e-3)
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
            )
    out = tmp_path / "figures"
    paths = plot_all(root, out)
    _check(paths, {"anytime", "t_at_tau", "dpsi", "eta"})
    assert all(p.parent == out for p in paths)
    assert asked  # the default was looked up for the plain arm


def test_single_arm_single_seed_skips_with_reasons(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    write_run(tmp_path / "r", "digits-cnn", "asha", 0, crossing_events(None, 90))
    with caplog.at_level(logging.WARNING, logger="ohgw_bench.plots"):
        paths = plot_all(tmp_path / "r", tmp_path / "out")
    _check(paths, {"anytime", "t_at_tau"})
    reasons = caplog.text
    assert "skipping figure 'dpsi'" in reasons and "skipping figure 'eta'" in reasons


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
    with caplog.at_level(logging.WARNING, logger="ohgw_bench.plots"):
        paths = plot_all(root, tmp_path / "out")
    assert "eta" in {p.stem for p in paths}
    assert "no LOWESS fit" in caplog.text
