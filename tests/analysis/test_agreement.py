"""The replay-versus-real agreement report: the log-rank test by hand, and the report end to end."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ohgw_bench.analysis.agreement import logrank_p
from ohgw_bench.cli import main
from tests.helpers.synthetic import crossing_events
from tests.helpers.synthetic import write_trusted_run as write_run


def _logrank_by_hand(t_a, e_a, t_b, e_b) -> float:
    """Σ (observed − expected) events of sample a over the distinct event times, over its variance."""
    t = np.concatenate([t_a, t_b])
    e = np.concatenate([e_a, e_b])
    group_a = np.r_[np.ones(len(t_a), bool), np.zeros(len(t_b), bool)]
    o_minus_e = var = 0.0
    for time in np.unique(t[e]):
        at_risk = t >= time
        n, n_a = at_risk.sum(), (at_risk & group_a).sum()
        d = ((t == time) & e).sum()
        d_a = ((t == time) & e & group_a).sum()
        o_minus_e += d_a - d * n_a / n
        var += d * (n_a / n) * (1 - n_a / n) * (n - d) / (n - 1) if n > 1 else 0.0
    return float(stats.chi2.sf(o_minus_e**2 / var, 1))


def test_logrank_by_hand():
    t_a, e_a = np.array([3.0, 5.0, 7.0, 9.0, 30.0]), np.array([True, True, True, True, False])
    t_b, e_b = np.array([6.0, 8.0, 12.0, 30.0, 30.0, 30.0]), np.array([True, True, True, False, False, False])
    assert logrank_p(t_a, e_a, t_b, e_b) == pytest.approx(_logrank_by_hand(t_a, e_a, t_b, e_b), rel=1e-9)
    assert logrank_p(t_a, e_a, t_a, e_a) == pytest.approx(1.0)
    assert math.isnan(logrank_p(t_a, ~e_a & False, t_b, e_b & False))  # no event anywhere: nothing to test


def _study(root: Path, shift: float) -> Path:
    for seed in range(8):
        write_run(root, "t", "asha", seed, crossing_events(30 + 4 * seed + shift, 90))
        write_run(root, "t", "asha+ohgw", seed, crossing_events(28 + 4 * seed + shift, 90))
    return root


def test_agreement_report_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    real, replay = _study(tmp_path / "real", 0.0), _study(tmp_path / "replay", 20.0)
    assert main(["agreement", str(real), str(replay), "--format", "csv"]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out)).set_index("arm")
    assert table.loc["none", "T_median_replay"] - table.loc["none", "T_median_real"] == pytest.approx(20.0)
    assert table.loc["none", "logrank_p"] < 0.05  # a replay 20 s slower than reality disagrees
    assert math.isnan(table.loc["ohgw", "logrank_p"]) and table.loc["ohgw", "n_real"] == 8
    out = tmp_path / "AGREEMENT.md"
    assert main(["agreement", str(real), str(real), "--out", str(out)]) == 0
    assert "| t | asha | none | 8 / 8 |" in out.read_text() and "| 1 (1) | " in out.read_text()  # itself: p = 1
    assert main(["agreement", str(real), str(tmp_path / "missing")]) == 2
