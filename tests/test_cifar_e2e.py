"""`ohgw-bench run` on a CIFAR-10 task for real: the session's official-format fixture, imported
(``tests/conftest.py``'s ``data_dir``) → warm-worker trials through the real loader, ResNet-20 and the
batched augmentation, with OHGW. The CLI runs in this process; its trials run in worker processes."""

from __future__ import annotations

import pytest

from ohgw_bench.cli import main
from ohgw_bench.core.trajectory import Trajectory

pytestmark = pytest.mark.slow


def test_asha_ohgw_run_on_a_cifar_format_fixture(tmp_path, data_dir, monkeypatch, capsys):
    monkeypatch.setenv("OHGW_BENCH_DATA", str(data_dir.path))
    assert main(["data", "status"]) == 0
    assert "True" in capsys.readouterr().out

    out = tmp_path / "results"
    args = ["run", "--task", "cifar10-resnet20-noisy10", "--opt", "asha+ohgw(eta=0.01)", "--budget", "2ep"]
    assert main([*args, "--workers", "1", "--out", str(out), "--quiet"]) == 0
    traj = Trajectory.read(out / "cifar10-resnet20-noisy10" / "asha+ohgw(eta=0.01)" / "seed-0")
    assert traj.meta.status == "complete"
    assert traj.meta.data_info["fixture"] is True
    assert 0.05 <= traj.meta.data_info["label_noise_realised"] <= 0.15  # recorded realised noise rate
    assert len(traj.events) >= 2
    trial = traj.trials[0]
    assert trial["hypergrad_kind"]["aug_magnitude"] == "finite_difference"
    assert trial["hypergrad_kind"]["log10_lr"] == "exact"
    assert trial["config_used"] != trial["config_sampled"]
    assert 0.0 <= traj.events[0]["val_acc"] <= 1.0
