"""SIGTERM of a running ``ohgw-bench sweep`` (how a batch scheduler ends a job at its wall time) is handled
like Ctrl-C: the running run stops and is marked failed with the reason, the queued runs never start, the
summary says so, every lock is released, the exit code is 1; the same command then finishes the sweep.

The sweep replays the session's twin table (no training), with a large epoch budget so that each run
lasts a couple of seconds: time enough to catch one running after another has completed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ohgw_bench.cli import main
from ohgw_bench.core.trajectory import find_runs, read_meta
from tests.helpers import twin

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
OPTS = ("asha", f"asha+{twin.OHGW}")
SEEDS = range(5)


def _argv(table: Path, out: Path) -> list[str]:
    return [
        "sweep",
        "--tasks",
        twin.TASK,
        "--opts",
        ",".join(OPTS),
        "--seeds",
        f"{SEEDS[0]}-{SEEDS[-1]}",
        "--budget",
        "4000ep",  # about two seconds of replay per run
        "--backend",
        f"table:{table}",
        "--out",
        str(out),
        "--n-dask-workers",
        "1",
    ]


def _statuses(out: Path) -> dict[Path, str]:
    """Each run folder's status; meta.json is written atomically, so a file that exists is whole."""
    return {meta.parent: json.loads(meta.read_text())["status"] for meta in out.glob(f"{twin.TASK}/*/seed-*/meta.json")}


def _wait_for(ready: Callable[[], bool], proc: subprocess.Popen, log: Path, seconds: float = 240.0) -> None:
    """Poll until ``ready()``; fail if the process ends first or time runs out."""
    deadline = time.monotonic() + seconds
    while not ready():
        assert proc.poll() is None, "the sweep ended before the signal:\n" + log.read_text()[-3000:]
        assert time.monotonic() < deadline, "no run completed and another started in time"
        time.sleep(0.05)


def _group_ends(pgid: int, seconds: float = 30.0) -> bool:
    """True once no process of the sweep's process group (its Dask workers among them) is left."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def test_sigterm_stops_a_sweep_like_ctrl_c_and_the_same_command_resumes(twin_table, tmp_path, capsys):
    out = tmp_path / "res"
    argv = _argv(twin_table, out)
    log, err = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    with open(log, "w") as stdout, open(err, "w") as stderr:
        proc = subprocess.Popen(
            [str(BIN / "ohgw-bench"), *argv], stdout=stdout, stderr=stderr, start_new_session=True
        )  # the environment (PYTHONPATH too) is inherited, so the child runs this code
        try:
            _wait_for(lambda: {"complete", "running"} <= set(_statuses(out).values()), proc, err)
            proc.send_signal(signal.SIGTERM)  # to the sweep's own process, as `kill PID` does
            assert proc.wait(timeout=120) == 1, err.read_text()[-3000:]
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    summary = log.read_text()
    assert "interrupted (received SIGTERM)" in summary and "run the same command again" in summary, summary
    assert f"sweep: {len(OPTS) * len(SEEDS)} runs to run (0 already complete), 1 at a time" in err.read_text()
    assert "Traceback" not in err.read_text()
    statuses = _statuses(out)
    assert "running" not in statuses.values(), statuses  # every run it started is marked
    stopped = [d for d, s in statuses.items() if s == "failed"]
    for directory in stopped:
        meta = read_meta(directory)
        assert "SIGTERM" in (meta.error or "") and meta.ended_at, (directory, meta.error)
    assert len(stopped) <= 1 and "complete" in statuses.values()
    assert f"{len(stopped)} failed" in summary, summary
    assert list((out / "_locks").rglob("*.lock")) == []  # every lock released
    assert _group_ends(proc.pid), "processes of the sweep outlived it"

    completed = {d: read_meta(d).started_at for d, s in statuses.items() if s == "complete"}
    assert main(argv) == 0  # the same command again, in this process
    again = capsys.readouterr().out
    assert f"{len(completed)} skipped" in again, again
    if stopped:
        assert "restarted 1 interrupted/failed run" in again, again
    expected = {out / twin.TASK / opt / f"seed-{s}" for opt in OPTS for s in SEEDS}
    assert set(find_runs(out)) == expected
    assert all(read_meta(d).status == "complete" for d in expected)
    assert all(read_meta(d).started_at == started for d, started in completed.items())  # not run again
    assert list((out / "_locks").rglob("*.lock")) == []
