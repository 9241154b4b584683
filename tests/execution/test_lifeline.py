"""Orphan trials are found by what their run recorded, never by a command line (issue 23, item 5): a
resume signals a process only when the run recorded its pid with its start time, on this host and boot,
and it is this user's. A reused pid, a bystander whose command line names the run, another user's
process and a record someone else planted are left alone."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ohgw_bench.execution.lifeline import end_orphan_trials, processes_file, record_process

NOBODY = 65534


@pytest.fixture
def spawn() -> Iterator:
    """Start sleeping processes (``python -c sleep`` with extra arguments, or a given command); all are
    killed at the end of the test, whatever it did to them."""
    started: list[subprocess.Popen] = []

    def start(*args: str, command: list[str] | None = None, **kw) -> subprocess.Popen:
        argv = command or [sys.executable, "-c", "import time; time.sleep(120)", *args]
        started.append(subprocess.Popen(argv, **kw))
        return started[-1]

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def _run_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "out" / "digits-cnn" / "asha" / "seed-0"
    processes_file(directory).parent.mkdir(parents=True)
    return directory


def _edit_records(directory: Path, **changes) -> None:
    path = processes_file(directory)
    records = [{**json.loads(line), **changes} for line in path.read_text().splitlines()]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def test_a_recorded_orphan_is_ended(tmp_path, spawn):
    directory = _run_dir(tmp_path)
    orphan = spawn()
    record_process(processes_file(directory), orphan.pid, "trial")
    record = json.loads(processes_file(directory).read_text())
    assert record["pid"] == orphan.pid and record["uid"] == os.getuid() and record["start_time"]
    assert end_orphan_trials(directory) == [orphan.pid]
    assert orphan.wait(timeout=15) == -signal.SIGTERM


def test_a_bystander_whose_command_line_names_the_run_is_not_signalled(tmp_path, spawn):
    """What the old substring match killed: any process mentioning ``<run>/.work/``."""
    directory = _run_dir(tmp_path)
    bystander = spawn(str(directory.resolve() / ".work" / "trials" / "1" / "config.json"))
    orphan = spawn()
    record_process(processes_file(directory), orphan.pid, "worker")
    assert end_orphan_trials(directory) == [orphan.pid]
    assert orphan.wait(timeout=15) == -signal.SIGTERM
    assert bystander.poll() is None


def test_a_reused_pid_is_not_signalled(tmp_path, spawn):
    """The record's process is gone and its pid now belongs to another process: the start times differ."""
    directory = _run_dir(tmp_path)
    other = spawn()
    record_process(processes_file(directory), other.pid, "trial")
    _edit_records(directory, start_time="1")  # the recorded process started at another time
    assert end_orphan_trials(directory, grace_s=0.5) == []
    assert other.poll() is None


@pytest.mark.parametrize("changes", [{"host": "another-host"}, {"boot_id": "another-boot"}, {"uid": NOBODY}])
def test_a_record_of_another_host_boot_or_user_is_not_signalled(tmp_path, spawn, changes):
    directory = _run_dir(tmp_path)
    proc = spawn()
    record_process(processes_file(directory), proc.pid, "trial")
    _edit_records(directory, **changes)
    assert end_orphan_trials(directory, grace_s=0.5) == []
    assert proc.poll() is None


@pytest.mark.skipif(os.getuid() != 0, reason="starting another user's process needs root")
def test_another_users_process_is_not_signalled_even_when_recorded(tmp_path, spawn):
    """A record that names a process of another user (forged, or a pid that went to that user) with its
    true start time: the process is not this user's, so it is left alone (root could signal it)."""
    directory = _run_dir(tmp_path)
    theirs = spawn(command=["sleep", "120"], user=NOBODY)
    record_process(processes_file(directory), theirs.pid, "trial")
    assert end_orphan_trials(directory, grace_s=0.5) == []
    assert theirs.poll() is None


def test_a_record_that_is_not_this_users_own_file_is_not_read(tmp_path, spawn):
    directory = _run_dir(tmp_path)
    proc = spawn()
    elsewhere = tmp_path / "planted.jsonl"
    record_process(elsewhere, proc.pid, "trial")
    processes_file(directory).symlink_to(elsewhere)  # a link: not a record this run wrote
    assert end_orphan_trials(directory, grace_s=0.5) == []
    if os.getuid() == 0:  # a regular file owned by someone else
        processes_file(directory).unlink()
        record_process(processes_file(directory), proc.pid, "trial")
        os.chown(processes_file(directory), NOBODY, NOBODY)
        assert end_orphan_trials(directory, grace_s=0.5) == []
    assert proc.poll() is None


def test_no_record_no_signal(tmp_path):
    assert end_orphan_trials(tmp_path / "no-such-run") == []


def test_the_subprocess_backend_records_each_trial_process_it_starts(tmp_path):
    """syne-tune's LocalBackend starts every trial (start and resume) in its ``_schedule``; the run is told
    each process's pid right there, and records it."""
    from ohgw_bench.execution.gpus import make_local_backend

    script = tmp_path / "trial.py"
    script.write_text("import time\ntime.sleep(120)\n")
    told: list[int] = []
    backend = make_local_backend(script, None, on_start=told.append)
    backend.set_path(str(tmp_path / "trials"))
    trial = backend.start_trial(config={"x": 1})
    process = backend.trial_subprocess[trial.trial_id]
    try:
        assert told == [process.pid]
    finally:
        process.kill()
        process.wait()
