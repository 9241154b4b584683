"""Sweep engine without Dask: spec files and flags, validation before anything starts,
per-run locks, and what a re-run does with what it finds in a run folder."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ohgw_bench.cli import main
from ohgw_bench.core.trajectory import run_dir, write_json_atomic
from ohgw_bench.execution.plan import RunRequest
from ohgw_bench.execution.runlock import RunLock, lock_path
from ohgw_bench.execution.sweep.records import ATTEMPT_META
from ohgw_bench.execution.sweep.run import inspect_run, move_aside
from ohgw_bench.execution.sweep.spec import RunKey, SweepError, build_spec, parse_seeds, validate_runs


def _spec(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sweep.toml"
    path.write_text(text)
    return path


GOOD = """\
tasks = ["digits-cnn"]
opts = ["asha", "asha+ohgw(steps=2)"]
seeds = "0-2"
budget = "8s"
workers = 1
out = "{out}"
"""


def test_grid_from_file_and_flag_override(tmp_path):
    spec = build_spec(_spec(tmp_path, GOOD.format(out=tmp_path / "res")))
    assert spec.tasks == ("digits-cnn",)
    assert spec.opts == ("asha", "asha+ohgw(steps=2)")
    assert spec.seeds == (0, 1, 2)
    assert len(spec.runs()) == 6
    assert spec.out == (tmp_path / "res").resolve()
    spec = build_spec(_spec(tmp_path, GOOD.format(out=tmp_path / "res")), seeds="4,7-8", budget="3ep")
    assert spec.seeds == (4, 7, 8) and spec.budget == "3ep"


def test_flags_only_with_parenthesised_opts(tmp_path):
    spec = build_spec(
        tasks="digits-cnn",
        opts="asha(reduction_factor=2)+ohgw(eta=3e-4,steps=2),asha+gauss",
        seeds="0",
        out=str(tmp_path),
    )
    assert spec.opts == ("asha(reduction_factor=2)+ohgw(eta=0.0003,steps=2)", "asha+gauss")


def test_a_seeds_arms_run_back_to_back_and_take_turns_first(tmp_path):
    spec = build_spec(_spec(tmp_path, GOOD.format(out=tmp_path / "res")))
    assert [(r.optimizer, r.seed) for r in spec.runs()] == [
        ("asha", 0),
        ("asha+ohgw(steps=2)", 0),
        ("asha+ohgw(steps=2)", 1),
        ("asha", 1),
        ("asha", 2),
        ("asha+ohgw(steps=2)", 2),
    ]


def test_seeds_by_scheduler_gives_all_arms_of_a_scheduler_the_same_seeds(tmp_path):
    opts = '"asha+ohgw(steps=2)", "pasha", "pasha+gauss"]'
    text = GOOD.format(out=tmp_path / "res").replace('"asha+ohgw(steps=2)"]', opts)
    spec = build_spec(_spec(tmp_path, text + 'seeds_by_scheduler = { pasha = "1" }\n'))
    seeds = {o: sorted(r.seed for r in spec.runs() if r.optimizer == o) for o in spec.opts}
    assert seeds == {"asha": [0, 1, 2], "asha+ohgw(steps=2)": [0, 1, 2], "pasha": [1], "pasha+gauss": [1]}
    with pytest.raises(SweepError, match=r"sweep.toml:7: seeds_by_scheduler: no optimizer in opts uses 'dyhpo'"):
        build_spec(_spec(tmp_path, text + 'seeds_by_scheduler = { dyhpo = "0-3" }\n'))
    with pytest.raises(SweepError, match="seeds_by_scheduler must be a table"):
        build_spec(_spec(tmp_path, text + 'seeds_by_scheduler = "0-3"\n'))
    with pytest.raises(SweepError, match="seeds_by_scheduler.pasha: bad seed"):
        build_spec(_spec(tmp_path, text + 'seeds_by_scheduler = { pasha = "x" }\n'))


@pytest.mark.parametrize(
    "text, expected",
    [
        ("0-3", [0, 1, 2, 3]),
        ("5", [5]),
        ("0,2,5-6", [0, 2, 5, 6]),
        (7, [7]),
        ([1, "3-4"], [1, 3, 4]),
    ],
)
def test_parse_seeds(text, expected):
    assert parse_seeds(text) == expected


@pytest.mark.parametrize(
    "text, message",
    [
        ("3-1", "empty seed range"),
        ("0,0", "listed twice"),
        ("-1", "bad seed"),
        ("a", "bad seed"),
        (True, "seeds"),
    ],
)
def test_bad_seeds(text, message):
    with pytest.raises(SweepError, match=message):
        parse_seeds(text)


@pytest.mark.parametrize(
    "text, line, message",
    [
        (
            'tasks = ["digits-cnn"]\nopts = ["asha"]\nseeds = "0"\nbuget = "8s"\n',
            4,
            "unknown key 'buget'; did you mean 'budget'",
        ),
        ('tasks = ["digits-cnn"]\nopts = ["asha"]\nseeds = "0"\n[cluster]\nn = 2\n', 4, "unknown key 'cluster'"),
        (
            'tasks = ["digits-cnn"]\nopts = [\n  "asha",\n  "ashaa+ohgw",\n]\nseeds = "0"\n',
            4,
            "unknown scheduler 'ashaa'; closest: asha",
        ),
        (
            'tasks = ["digits-cnn"]\nopts = ["asha+ohgww"]\nseeds = "0"\n',
            2,
            "unknown warm start 'ohgww'; closest: ohgw",
        ),
        ('tasks = ["digit-cnn"]\nopts = ["asha"]\nseeds = "0"\n', 1, "unknown task 'digit-cnn'; closest: digits-cnn"),
        ('tasks = ["digits-cnn"]\nopts = ["asha+ohgw(stpes=2)"]\nseeds = "0"\n', 2, "unknown parameter 'stpes'"),
        ('tasks = ["digits-cnn"]\nopts = []\nseeds = "0"\n', 2, "opts is empty, so the grid has no runs"),
        ('tasks = ["digits-cnn"]\nopts = ["asha"]\nseeds = []\n', 3, "seeds is empty"),
        ('tasks = ["digits-cnn"]\nopts = ["asha"]\nseeds = "0"\nbudget = "8 parsecs"\n', 4, "bad budget"),
        ('tasks = ["digits-cnn"]\nopts = ["asha"]\nseeds = "0"\nbudget = 8\n', 4, "budget must be a string"),
        ('tasks = ["digits-cnn"]\nopts = ["asha"]\nseeds = "0"\nworkers = 0\n', 4, "workers .* must be a positive"),
        ('tasks = ["digits-cnn"]\nopts = ["asha", "asha+none"]\nseeds = "0"\n', 2, "same optimizer"),
    ],
)
def test_bad_spec_names_the_line(tmp_path, text, line, message):
    path = _spec(tmp_path, text)
    with pytest.raises(SweepError, match=message) as info:
        build_spec(path, out=str(tmp_path / "res"))
    assert str(info.value).startswith(f"{path}:{line}: ")


def test_bad_toml_and_missing_keys(tmp_path):
    with pytest.raises(SweepError, match="not valid TOML.*line 2"):
        build_spec(_spec(tmp_path, 'tasks = ["digits-cnn"]\nopts = asha\n'))
    with pytest.raises(SweepError, match="no seeds given"):
        build_spec(_spec(tmp_path, 'tasks = ["digits-cnn"]\nopts = ["asha"]\n'))
    with pytest.raises(SweepError, match="^--opts: opts: unknown scheduler 'nope'"):
        build_spec(tasks="digits-cnn", opts="asha,nope", seeds="0")


def test_every_run_is_prepared(tmp_path):
    spec = build_spec(tasks="digits-cnn", opts="asha,asha+ohgw", seeds="0-1", budget="3ep", out=str(tmp_path / "r"))
    runs = validate_runs(spec)
    assert [r.label for r in runs][:2] == ["digits-cnn / asha / seed 0", "digits-cnn / asha+ohgw / seed 0"]
    assert not (tmp_path / "r").exists()  # validation writes nothing


def test_cli_bad_spec_exits_2_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "res"
    path = _spec(tmp_path, f'tasks = ["digits-cnn"]\nopts = ["asha", "ashaa"]\nseeds = "0-3"\nout = "{out}"\n')
    assert main(["sweep", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:2:" in err and "closest: asha" in err
    assert not out.exists()
    assert main(["sweep", "--tasks", "digits-cnn", "--opts", "asha", "--seeds", "", "--out", str(out)]) == 2
    assert "seeds is empty" in capsys.readouterr().err
    assert not out.exists()


def test_cli_dry_run_lists_the_grid(tmp_path, capsys):
    assert (
        main(
            [
                "sweep",
                "--tasks",
                "digits-cnn",
                "--opts",
                "asha,asha+ohgw",
                "--seeds",
                "0-1",
                "--budget",
                "3ep",
                "--out",
                str(tmp_path / "r"),
                "--dry-run",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "4 runs: 4 to run, 0 already complete" in out
    assert not (tmp_path / "r").exists()


# --------------------------------------------------------------------------- locks


def test_fresh_lock_is_exclusive_and_released(tmp_path):
    path = tmp_path / "locks" / "seed-0.lock"
    first = RunLock(path, heartbeat_every=0.05)
    assert first.acquire()
    data = json.loads(path.read_text())
    assert data["pid"] == os.getpid() and data["host"] == socket.gethostname()
    second = RunLock(path)
    assert not second.acquire()
    assert second.holder is not None and second.holder.pid == os.getpid()
    deadline = time.time() + 30  # wait for the heartbeat thread to rewrite the lock once
    while json.loads(path.read_text())["heartbeat"] <= data["heartbeat"]:
        assert time.time() < deadline, "the heartbeat never rewrote the lock"
        time.sleep(0.01)
    assert json.loads(path.read_text())["token"] == data["token"]
    first.release()
    assert not path.exists()
    assert second.acquire()
    second.release()


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_lock_of_a_dead_process_is_taken_over(tmp_path):
    path = tmp_path / "seed-0.lock"
    path.write_text(
        json.dumps({"pid": _dead_pid(), "host": socket.gethostname(), "heartbeat": time.time(), "token": "old"})
    )
    lock = RunLock(path)
    assert lock.acquire()
    assert lock.took_over is not None and lock.took_over.token == "old"
    assert json.loads(path.read_text())["token"] == lock.token
    lock.release()


def test_lock_with_old_heartbeat_is_taken_over_even_from_another_host(tmp_path):
    path = tmp_path / "seed-0.lock"
    path.write_text(json.dumps({"pid": 1, "host": "elsewhere", "heartbeat": time.time() - 120, "token": "old"}))
    lock = RunLock(path, stale_after=60)
    assert lock.acquire()
    lock.release()
    path.write_text(json.dumps({"pid": 1, "host": "elsewhere", "heartbeat": time.time(), "token": "fresh"}))
    assert not RunLock(path, stale_after=60).acquire()  # a live-looking lock on another host is respected


def test_lock_lost_to_a_takeover_is_noticed(tmp_path):
    path = tmp_path / "seed-0.lock"
    lock = RunLock(path, heartbeat_every=0.05)
    assert lock.acquire()
    write_json_atomic(path, {"pid": 1, "host": "elsewhere", "heartbeat": time.time(), "token": "thief"})
    deadline = time.time() + 5
    while not lock.lost and time.time() < deadline:
        time.sleep(0.05)
    assert lock.lost
    lock.release()
    assert json.loads(path.read_text())["token"] == "thief"  # not ours: left alone


def test_a_live_process_keeps_its_lock_however_old_its_heartbeat(tmp_path):
    """On this host a live pid decides: a heartbeat that could not be written does not free the lock."""
    from ohgw_bench.execution.runlock import proc_start_time

    path = tmp_path / "seed-0.lock"
    old = {"pid": os.getpid(), "host": socket.gethostname(), "pid_start": proc_start_time(os.getpid())}
    path.write_text(json.dumps({**old, "heartbeat": time.time() - 1000, "token": "live"}))
    other = RunLock(path, stale_after=60)
    assert not other.acquire() and other.holder is not None and other.holder.token == "live"


def test_a_failed_heartbeat_write_is_retried_and_the_lock_kept(tmp_path, monkeypatch):
    import ohgw_bench.execution.runlock as runlock

    real_write, calls = runlock.write_json_atomic, []

    def flaky(path, payload):
        calls.append(path)
        if len(calls) == 1:
            raise OSError(28, "No space left on device")
        return real_write(path, payload)

    monkeypatch.setattr(runlock, "write_json_atomic", flaky)
    path = tmp_path / "seed-0.lock"
    lock = RunLock(path, stale_after=0.01, heartbeat_every=0.05)
    assert lock.acquire()
    first = json.loads(path.read_text())["heartbeat"]
    deadline = time.time() + 30  # the failed beat, then a good one
    while json.loads(path.read_text())["heartbeat"] <= first:
        assert time.time() < deadline, "the heartbeat stopped after one failed write"
        time.sleep(0.01)
    assert lock.beat_failures == 1 and not lock.lost and lock.owned()
    second = RunLock(path, stale_after=0.01)  # a second sweep: the heartbeat is "old", the pid alive
    assert not second.acquire()
    lock.release()
    assert not path.exists()


def test_a_run_that_lost_its_lock_writes_no_final_record(tmp_path, twin_table):
    """A taken-over lock means the folder may be another run's: the run raises, and its meta.json
    stays what it wrote at the start (no final record written over someone else's)."""
    from ohgw_bench.core.run_meta import RunMeta
    from ohgw_bench.execution.runner import LockLost, execute_run
    from tests.conftest import plan_run
    from tests.helpers import twin

    plan = plan_run(twin.TASK, "asha", seed=0, budget="3ep", workers=1, out=tmp_path, backend=f"table:{twin_table}")
    with pytest.raises(LockLost, match="taken over"):
        execute_run(plan, owns_folder=lambda: False)
    meta = RunMeta.from_json(json.loads((plan.directory / "meta.json").read_text()))
    assert meta.status == "running" and meta.ended_at is None


# --------------------------------------------------------------------------- resumption


def _fake_run(directory: Path, status: str, truncated: bool = False) -> None:
    directory.mkdir(parents=True)
    write_json_atomic(
        directory / "meta.json",
        {
            "schema_version": 1,
            "status": status,
            "task": "digits-cnn",
            "optimizer": "asha",
            "seed": 0,
            "budget": {"amount": 10, "clock": "epochs"},
        },
    )
    (directory / "trials.jsonl").write_text("")
    (directory / "events.jsonl").write_text('{"trial_id": 0}\n' + ('{"trial_id"' if truncated else ""))


def test_inspect_run_states(tmp_path):
    assert inspect_run(tmp_path / "none") == "absent"
    _fake_run(tmp_path / "ok", "complete")
    assert inspect_run(tmp_path / "ok") is None
    _fake_run(tmp_path / "cut", "complete", truncated=True)
    assert "truncated" in inspect_run(tmp_path / "cut")
    _fake_run(tmp_path / "run", "running")
    assert "interrupted" in inspect_run(tmp_path / "run")
    _fake_run(tmp_path / "fail", "failed")
    assert "failed" in inspect_run(tmp_path / "fail")
    (tmp_path / "bare").mkdir()
    assert "no meta.json" in inspect_run(tmp_path / "bare")


def test_broken_attempts_move_out_of_the_results_tree(tmp_path):
    from ohgw_bench.core.trajectory import find_runs

    run = RunKey("digits-cnn", "asha", 0)
    for n in (1, 2):
        _fake_run(run_dir(tmp_path, "digits-cnn", "asha", 0), "running")
        moved = move_aside(tmp_path, run, "interrupted")
        assert moved == tmp_path / "_attempts" / "digits-cnn" / "asha" / "seed-0" / f"attempt-{n}"
        assert (moved / ATTEMPT_META).exists() and (moved / "events.jsonl").exists()
        assert json.loads((moved / "attempt.json").read_text())["reason"] == "interrupted"
    assert not run_dir(tmp_path, "digits-cnn", "asha", 0).exists()
    assert list(find_runs(tmp_path)) == []  # loaders never take an attempt for a run


def test_lock_path_layout(tmp_path):
    assert (
        lock_path(tmp_path, "digits-cnn", "asha+ohgw", 3)
        == tmp_path / "_locks" / "digits-cnn" / "asha+ohgw" / "seed-3.lock"
    )


# --------------------------------------------------------------------------- run_one without Dask


def test_run_one_leaves_a_run_locked_elsewhere_alone(tmp_path):
    from ohgw_bench.execution.plan import RunRequest
    from ohgw_bench.execution.sweep.records import BUSY
    from ohgw_bench.execution.sweep.run import run_one

    _fake_run(run_dir(tmp_path, "digits-cnn", "asha", 0), "running")  # another sweep is writing it
    held = RunLock(lock_path(tmp_path, "digits-cnn", "asha", 0))
    assert held.acquire()
    try:
        outcome = run_one(RunRequest.parse("digits-cnn", "asha", "1ep", tmp_path, seed=0, workers=1))
    finally:
        held.release()
    assert outcome.state == BUSY and f"pid {os.getpid()}" in outcome.detail
    assert (run_dir(tmp_path, "digits-cnn", "asha", 0) / "meta.json").exists()  # not moved aside
    assert not (tmp_path / "_attempts").exists()


def test_run_one_skips_a_complete_run(tmp_path):
    from ohgw_bench.execution.sweep.records import SKIPPED
    from ohgw_bench.execution.sweep.run import run_one

    _fake_run(run_dir(tmp_path, "digits-cnn", "asha", 0), "complete")  # 10 epochs, one worker
    outcome = run_one(RunRequest.parse("digits-cnn", "asha", "10ep", tmp_path, seed=0, workers=1))
    assert outcome.state == SKIPPED
    assert not lock_path(tmp_path, "digits-cnn", "asha", 0).exists()  # released


# --------------------------------------------------------------------------- progress


def test_plain_progress_lines_table_and_summary(tmp_path):
    import io

    from rich.console import Console

    from ohgw_bench.execution.sweep.progress import SweepProgress, format_summary
    from ohgw_bench.execution.sweep.records import FAILED, RunOutcome, SweepResult

    runs = [RunKey("digits-cnn", "asha", s) for s in range(3)]
    buf = io.StringIO()
    progress = SweepProgress(runs, mode="plain", budget_seconds=100.0, stream=buf)
    progress.start(runs[0], time.time())
    # 2 queued runs of ~budget + the running one, on 1 slot
    assert "2 queued, 1 running" in buf.getvalue() and "ETA 5m00s" in buf.getvalue()
    ok = RunOutcome(runs[0], "done", "/r/0", t_enter=0.0, t_run_start=1.0, t_run_end=11.0, t_exit=12.0)
    bad = RunOutcome(
        runs[1],
        FAILED,
        "/r/1",
        detail="RuntimeError: boom",
        t_enter=12.0,
        t_run_start=12.5,
        t_run_end=13.0,
        t_exit=13.0,
    )
    progress.finish(ok)
    progress.finish(bad)
    lines = buf.getvalue().splitlines()
    assert lines[1].startswith("[1/3] done") and "in 10s" in lines[1]
    assert lines[2].startswith("[2/3] failed") and "RuntimeError: boom" in lines[2]
    console = Console(record=True, width=120)
    console.print(progress._table())
    text = console.export_text()
    assert "1 queued, 0 running, 1 done, 1 failed" in text and "RuntimeError: boom" in text
    summary = format_summary(SweepResult([ok, bad], seconds=13.0))
    assert "1 done, 1 failed" in summary and "no record in /r/1" in summary  # a summary names only files that exist
    (tmp_path / "sweep-error.txt").write_text("Traceback ...")
    recorded = dataclasses.replace(bad, directory=str(tmp_path))
    assert f"see {tmp_path / 'sweep-error.txt'}\n" in format_summary(SweepResult([ok, recorded])) + "\n"
    assert SweepResult([ok, bad]).exit_code == 1 and SweepResult([ok]).exit_code == 0
    assert SweepResult([ok], interrupted="received SIGTERM").exit_code == 1


def test_a_sweep_says_how_many_runs_and_how_long_before_they_start():
    import io

    from ohgw_bench.execution.sweep.progress import SweepProgress

    runs = [RunKey("digits-cnn", "asha", s) for s in range(1000)]
    buf = io.StringIO()
    progress = SweepProgress(runs, mode="quiet", budget_seconds=120.0, stream=buf)
    progress.slots = 4
    progress.announce(990, 10)  # 248 waves of 4 runs at 120 s each
    assert buf.getvalue() == (
        "sweep: 990 runs to run (10 already complete), 4 at a time; about 8h16m (2m00s budget per run) "
        "plus each run's start-up\n"
    )
    buf.truncate(0)
    SweepProgress(runs, mode="quiet", stream=buf).announce(3, 0)  # an epoch budget: no wall time known
    assert "3 runs to run (0 already complete), 1 at a time; how long: shown once the first run ends" in buf.getvalue()


def test_orphan_trials_of_a_dead_attempt_are_ended_before_it_moves(tmp_path):
    """The attempt recorded the orphan (pid and start time) when it started it; the bystander, whose
    command line names the attempt's folder as the orphan's does, was never recorded."""
    from ohgw_bench.execution.lifeline import processes_file, record_process

    run = RunKey("digits-cnn", "asha", 0)
    directory = run_dir(tmp_path, "digits-cnn", "asha", 0)
    _fake_run(directory, "running")
    config = directory / ".work" / "trials" / "1" / "config.json"
    orphan = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", str(config)])
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", str(config)])
    processes_file(directory).parent.mkdir(parents=True)
    record_process(processes_file(directory), orphan.pid, "trial")
    try:
        moved = move_aside(tmp_path, run, "interrupted")
        assert orphan.wait(timeout=15) != 0  # terminated, not finished
        assert json.loads((moved / "attempt.json").read_text())["orphan_trials_ended"] == [orphan.pid]
        assert bystander.poll() is None
    finally:
        for proc in (orphan, bystander):
            if proc.poll() is None:
                proc.kill()
            proc.wait()
