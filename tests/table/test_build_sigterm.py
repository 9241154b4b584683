"""SIGTERM of a running ``ohgw-bench table build`` is handled like Ctrl-C: the finished cells are kept,
meta.json records the session's end, the lock is released, the summary says how to resume and the exit
code is 1; the same command then trains only the missing cells. A tiny build (digits-cnn, 3
configurations x 2 arms x 3 epochs, one Dask worker) lasts long enough to be caught after its first cell."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ohgw_bench.cli import main
from ohgw_bench.core.table_format import CELLS, read_cells, read_meta
from ohgw_bench.table.build import LOCK

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
N_CELLS = 3 * 2


def _argv(out: Path) -> list[str]:
    spec = ["--task", "digits-cnn", "--arms", "none,ohgw(eta=1)", "--configs", "3", "--epochs", "3"]
    return ["table", "build", *spec, "--n-dask-workers", "1", "--threads", "1", "--out", str(out)]


def _cells_written(out: Path) -> int:
    path = out / CELLS
    return path.read_text().count("\n") if path.exists() else 0


def test_sigterm_stops_a_build_like_ctrl_c_and_the_same_command_resumes(tmp_path, capsys):
    out = tmp_path / "table"
    log, err = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    with open(log, "w") as stdout, open(err, "w") as stderr:
        proc = subprocess.Popen(
            [str(BIN / "ohgw-bench"), *_argv(out)], stdout=stdout, stderr=stderr, start_new_session=True
        )  # the environment (PYTHONPATH too) is inherited, so the child runs this code
        try:
            deadline = time.monotonic() + 240
            while _cells_written(out) < 1:  # the build has started: a cell is in
                assert proc.poll() is None, "the build ended before the signal:\n" + err.read_text()[-3000:]
                assert time.monotonic() < deadline, "no cell was trained in time"
                time.sleep(0.05)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=120) == 1, err.read_text()[-3000:]
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    summary = log.read_text()
    assert "interrupted (received SIGTERM)" in summary and "run the same command again to resume" in summary
    assert "Traceback" not in err.read_text()
    assert not (out / LOCK).exists()  # released
    meta = read_meta(out)
    done = len(read_cells(out, meta).cells)
    assert 1 <= done < N_CELLS and meta["status"] == "building" and meta["cells_done"] == done
    assert meta["sessions"][-1]["ended_at"] and meta["interrupted_sessions"] == 0  # the session was closed

    assert main([*_argv(out), "--quiet"]) == 0  # the same command again, in this process
    again = capsys.readouterr().out
    assert f"{N_CELLS - done} cells trained, {done} already done" in again and "complete:" in again, again
    assert len(read_cells(out, read_meta(out)).cells) == N_CELLS
