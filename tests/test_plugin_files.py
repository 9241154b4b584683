"""Adding a task, a scheduler or a warm start is one file each: drop the three files of
``tests/plugin_examples/`` into the plugin folders of a copy of the package, and the CLI lists them
and runs them end to end (warm workers included), with nothing else changed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from ohgw_bench.core.trajectory import Trajectory, run_dir
from tests.helpers import ROOT

pytestmark = pytest.mark.slow
EXAMPLES = ROOT / "tests" / "plugin_examples"


def test_one_file_per_plugin(tmp_path):
    copy = tmp_path / "src"
    shutil.copytree(ROOT / "ohgw_bench", copy / "ohgw_bench", ignore=shutil.ignore_patterns("__pycache__"))
    for name, folder in (("blobs.py", "tasks"), ("halving.py", "schedulers"), ("shrink.py", "warmstarts")):
        shutil.copy(EXAMPLES / name, copy / "ohgw_bench" / folder / name)
    env = {**os.environ, "PYTHONPATH": str(copy)}
    cli = [sys.executable, "-m", "ohgw_bench.cli"]

    # cwd outside the repository: `python -m` puts the working directory first on sys.path
    listed = subprocess.run([*cli, "list"], capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "blobs-mlp" in listed.stdout and "halving" in listed.stdout and "rate=0.1" in listed.stdout

    out = tmp_path / "out"
    proc = subprocess.run(
        [
            *cli,
            "run",
            "--task",
            "blobs-mlp",
            "--opt",
            "halving+shrink(rate=0.5)",
            "--budget",
            "6ep",
            "--workers",
            "1",
            "--out",
            str(out),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    traj = Trajectory.read(run_dir(out, "blobs-mlp", "halving+shrink(rate=0.5)", 0))
    assert traj.meta.status == "complete" and len(traj.events) >= 6
    trial = traj.trials[0]
    assert trial["warm_start"]["note"] == "shrunk by 0.5" and trial["warm_start"]["flops"] == 0
    lr = trial["config_sampled"]["log10_lr"]
    assert trial["config_used"]["log10_lr"] == pytest.approx(0.5 * lr + 0.5 * -1.5)
