"""`ohgw-bench run` on a CIFAR-10 task for real: official-format fixture → import → subprocess
trials through the real loader, ResNet-20 and the batched augmentation, with OHGW."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from test_cifar_data import make_cifar_tarball

from ohgw_bench.core.trajectory import Trajectory
from ohgw_bench.tasks.data.cifar10 import import_cifar10

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-m", "ohgw_bench.cli"]


def test_asha_ohgw_run_on_a_cifar_format_fixture(tmp_path):
    data_dir = tmp_path / "data"
    import_cifar10(make_cifar_tarball(tmp_path), data_dir, verify_md5=False)  # test-only bypass of the sums
    env = {**os.environ, "OHGW_BENCH_DATA": str(data_dir)}
    status = subprocess.run([*CLI, "data", "status"], capture_output=True, text=True, env=env, timeout=120)
    assert status.returncode == 0 and "True" in status.stdout

    out = tmp_path / "results"
    proc = subprocess.run(
        [
            *CLI,
            "run",
            "--task",
            "cifar10-resnet20-noisy10",
            "--opt",
            "asha+ohgw(eta=0.01)",
            "--budget",
            "2ep",
            "--workers",
            "1",
            "--out",
            str(out),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    traj = Trajectory.read(out / "cifar10-resnet20-noisy10" / "asha+ohgw(eta=0.01)" / "seed-0")
    assert traj.meta["status"] == "complete"
    assert traj.meta["data_info"]["fixture"] is True
    assert 0.05 <= traj.meta["data_info"]["label_noise_realised"] <= 0.15  # recorded realised noise rate
    assert len(traj.events) >= 2
    trial = traj.trials[0]
    assert trial["hypergrad_kind"]["aug_magnitude"] == "finite_difference"
    assert trial["hypergrad_kind"]["log10_lr"] == "exact"
    assert trial["config_used"] != trial["config_sampled"]
    assert 0.0 <= traj.events[0]["val_acc"] <= 1.0
