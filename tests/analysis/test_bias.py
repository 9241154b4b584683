"""The bias check on the final incumbents' hyperparameters, by hand."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from ohgw_bench.analysis.bias import final_config_bias, kl_divergence, render_bias
from ohgw_bench.analysis.results import summarize_runs
from ohgw_bench.cli import main
from tests.helpers.synthetic import crossing_events, trial, write_run


def test_kl_divergence_by_hand():
    # two points each, at opposite ends of [0, 1]: bins 0 and 9 hold 2 + ½, the other eight ½
    p = np.array([2.5] + [0.5] * 9) / 7
    q = p[::-1]
    expected = float(np.sum(p * np.log(p / q)))
    assert kl_divergence(np.array([0.05, 0.05]), np.array([0.95, 0.95]), 0.0, 1.0) == pytest.approx(expected)
    assert kl_divergence(np.array([0.3, 0.6]), np.array([0.3, 0.6]), 0.0, 1.0) == 0.0


def _runs(root: Path) -> Path:
    for seed in range(6):
        for optimizer, lr in (("asha", -2.0), ("asha+ohgw", -1.0)):
            config = {"lr": lr + 0.1 * seed, "wd": -4.0}
            events = crossing_events(30, 90)
            trials = [trial(i, config) for i in {e.get("trial_id", i) for i, e in enumerate(events)}]
            write_run(root, "t", optimizer, seed, events, trials=trials)
    return root


def test_final_config_bias_by_hand(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = final_config_bias(summarize_runs(_runs(tmp_path / "r"))).set_index("dimension")
    lr, wd = table.loc["lr"], table.loc["wd"]
    none_lr, arm_lr = -2.0 + 0.1 * np.arange(6), -1.0 + 0.1 * np.arange(6)
    assert (lr["n_none"], lr["n_arm"], lr["arm"]) == (6, 6, "ohgw")
    assert lr["mean_shift"] == pytest.approx(1.0)
    assert lr["ks_p"] == pytest.approx(stats.ks_2samp(arm_lr, none_lr).pvalue)
    # an unregistered task: bins over the pooled range [-2, -0.5]
    assert lr["kl_divergence"] == pytest.approx(kl_divergence(arm_lr, none_lr, -2.0, -0.5))
    assert wd["mean_shift"] == 0.0 and math.isnan(wd["kl_divergence"])  # one value: no bins to compare
    assert "| t | asha | ohgw | lr | 6 / 6 |" in render_bias(table.reset_index())
    assert lr["ks_p_holm"] == pytest.approx(min(1.0, 2 * lr["ks_p"]))  # two tests: lr's is the smaller p
    assert main(["bias", str(tmp_path / "r"), "--format", "csv"]) == 0
    assert "mean_shift" in capsys.readouterr().out
    assert main(["bias", str(tmp_path / "missing")]) == 2
