"""Sweeps end to end on Dask with real runs (digits-cnn, trials as subprocesses of the Dask
worker process): a LocalCluster, a separately started scheduler + worker, a failing run,
and a sweep SIGKILLed mid-run then re-run with the same command.

Budgets are in epochs so that every run reports events however loaded the machine is. Each run
starts its own warm workers (seconds), so each sweep has the fewest runs that show what it tests
(two arms of one seed), and the completing and the failing runs share one sweep."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from ohgw_bench.cli import main
from ohgw_bench.core.trajectory import find_runs, read_jsonl, read_meta
from ohgw_bench.execution.sweep.progress import SweepProgress
from ohgw_bench.execution.sweep.records import ATTEMPT_META, DONE, FAILED, SKIPPED, SWEEP_ERROR
from ohgw_bench.execution.sweep.run import run_sweep
from ohgw_bench.execution.sweep.spec import build_spec, validate_runs

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
OPTS = "asha,asha+ohgw"


SEEDS = (0,)


def _spec(out: Path, budget: str = "1ep", tasks: str = "digits-cnn", opts: str = OPTS):
    return build_spec(tasks=tasks, opts=opts, seeds=",".join(map(str, SEEDS)), budget=budget, workers=1, out=str(out))


def _check_complete_run(directory: Path) -> None:
    meta = read_meta(directory)
    assert meta.status == "complete", (directory, meta.error)
    events = read_jsonl(directory / "events.jsonl")
    assert not events.truncated and events.records, directory
    # One attempt only: the run's running totals start at 1 and never go back.
    assert [e["epochs_total"] for e in events.records] == list(range(1, len(events.records) + 1)), directory
    seconds = [e["tuner_seconds"] for e in events.records]
    assert seconds == sorted(seconds), directory
    per_trial: dict[int, list[int]] = {}
    for e in events.records:
        per_trial.setdefault(e["trial_id"], []).append(e["epoch"])
    for trial_id, epochs in per_trial.items():  # ASHA stops, never pauses: epochs 1, 2, ... per trial
        assert epochs == list(range(1, len(epochs) + 1)), (directory, trial_id, epochs)
    trial_ids = {t["trial_id"] for t in read_jsonl(directory / "trials.jsonl").records}
    assert set(per_trial) <= trial_ids, directory


def _expected_dirs(out: Path, opts: str = OPTS) -> set[Path]:
    return {out / "digits-cnn" / opt / f"seed-{s}" for opt in opts.split(",") for s in SEEDS}


@dataclass(frozen=True)
class MixedSweep:
    out: Path
    outcomes: dict[str, list]  # by task
    exit_code: int


@pytest.fixture(scope="module")
def mixed_sweep(tmp_path_factory) -> MixedSweep:
    """One sweep on a two-worker LocalCluster, for the two tests below: the two digits-cnn arms, which
    complete, and the same arms on CIFAR-10 with a damaged cache, which exists (so the sweep's up-front
    checks pass) but fails to load in the runs."""
    root = tmp_path_factory.mktemp("mixed-sweep")
    cache = root / "bad-data" / "cifar10" / "cifar10.npz"
    cache.parent.mkdir(parents=True)
    cache.write_bytes(b"not an npz file")
    out = root / "res"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("OHGW_BENCH_DATA", str(root / "bad-data"))
        spec = _spec(out, tasks="cifar10-resnet20,digits-cnn")
        runs = validate_runs(spec)
        result = run_sweep(spec, runs, n_dask_workers=2, progress=SweepProgress(runs, mode="quiet"))
    outcomes: dict[str, list] = {}
    for o in result.outcomes:
        outcomes.setdefault(o.run.task, []).append(o)
    assert len(result.outcomes) == len(runs) == 4
    return MixedSweep(out, outcomes, result.exit_code)


def test_local_cluster_sweep_completes_every_run(mixed_sweep):
    out, done = mixed_sweep.out, mixed_sweep.outcomes["digits-cnn"]
    assert [o.state for o in done] == [DONE] * 2, [o.detail for o in done]
    assert {d for d in find_runs(out) if d.parts[-3] == "digits-cnn"} == _expected_dirs(out)
    for directory in _expected_dirs(out):
        _check_complete_run(directory)
    every = [o for outcomes in mixed_sweep.outcomes.values() for o in outcomes]
    assert len({o.worker_pid for o in every}) == 2  # two Dask worker processes ran them
    assert list((out / "_locks").rglob("*.lock")) == []  # every lock released

    spec = _spec(out)  # the digits-cnn runs again
    runs = validate_runs(spec)
    again = run_sweep(spec, runs, n_dask_workers=1, progress=SweepProgress(runs, mode="quiet"))
    assert [o.state for o in again.outcomes] == [SKIPPED] * len(runs)  # nothing re-run


def test_failing_runs_are_isolated_and_recorded(mixed_sweep):
    failed = mixed_sweep.outcomes["cifar10-resnet20"]
    assert [o.state for o in failed] == [FAILED] * 2
    assert [o.state for o in mixed_sweep.outcomes["digits-cnn"]] == [DONE] * 2  # the sweep went on
    assert mixed_sweep.exit_code == 1
    for opt in OPTS.split(","):
        failed_dir = mixed_sweep.out / "cifar10-resnet20" / opt / "seed-0"
        assert "DataError" in (failed_dir / SWEEP_ERROR).read_text()
        meta = read_meta(failed_dir)  # written by the runner's one meta writer: the same schema as any run
        assert meta.status == "failed" and meta.budget == {"amount": 1.0, "clock": "epochs"}
        assert "DataError" in meta.error


def test_sweep_on_a_separately_started_scheduler_and_worker(tmp_path):
    from distributed import Client

    scheduler_file = tmp_path / "scheduler.json"
    logs = {name: open(tmp_path / f"{name}.log", "w") for name in ("scheduler", "worker")}
    procs = [
        subprocess.Popen(
            [
                str(BIN / "dask"),
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(scheduler_file),
            ],
            stdout=logs["scheduler"],
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
    ]
    try:
        deadline = time.time() + 60
        while not scheduler_file.exists():
            assert procs[0].poll() is None, (tmp_path / "scheduler.log").read_text()
            assert time.time() < deadline, "the scheduler did not write its file"
            time.sleep(0.1)
        procs.append(
            subprocess.Popen(
                [
                    str(BIN / "dask"),
                    "worker",
                    "--scheduler-file",
                    str(scheduler_file),
                    "--nworkers",
                    "1",
                    "--nthreads",
                    "1",
                    "--no-dashboard",
                ],
                stdout=logs["worker"],
                stderr=subprocess.STDOUT,
                cwd=tmp_path,
            )
        )
        with Client(scheduler_file=str(scheduler_file), timeout="30s") as client:
            client.wait_for_workers(1, timeout=120)
            address = client.scheduler.address
        out = tmp_path / "res"
        spec = _spec(out, opts="asha")  # one run shows where runs run
        runs = validate_runs(spec)
        result = run_sweep(spec, runs, scheduler_address=address, progress=SweepProgress(runs, mode="quiet"))
        assert [o.state for o in result.outcomes] == [DONE] * len(runs), [o.detail for o in result.outcomes]
        assert set(find_runs(out)) == _expected_dirs(out, "asha")
        for directory in find_runs(out):
            _check_complete_run(directory)
        assert {o.worker_pid for o in result.outcomes} - {p.pid for p in procs}  # ran in the worker's process
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in reversed(procs):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for fh in logs.values():
            fh.close()


def _statuses(out: Path) -> dict[Path, str]:
    found = {}
    for directory in _expected_dirs(out):
        try:
            found[directory] = read_meta(directory).status
        except (FileNotFoundError, json.JSONDecodeError):
            continue
    return found


def test_killed_sweep_resumes_exactly_the_missing_runs(tmp_path, capsys):
    out = tmp_path / "res"
    cmd = [
        str(BIN / "ohgw-bench"),
        "sweep",
        "--tasks",
        "digits-cnn",
        "--opts",
        OPTS,
        "--seeds",
        ",".join(map(str, SEEDS)),
        "--budget",
        "4ep",  # a run reports for about a second before it completes: time enough to catch it running
        "--workers",
        "1",
        "--out",
        str(out),
        "--n-dask-workers",
        "1",
    ]
    with open(tmp_path / "first.log", "w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 240
        running: Path | None = None
        try:
            while True:
                assert proc.poll() is None, (
                    "the sweep ended before it could be killed:\n" + (tmp_path / "first.log").read_text()[-3000:]
                )
                assert time.time() < deadline, "no run completed and another started in time"
                statuses = _statuses(out)
                running = next(
                    (d for d, s in statuses.items() if s == "running" and read_jsonl(d / "events.jsonl").records), None
                )
                if running is not None and "complete" in statuses.values():
                    break
                time.sleep(0.05)
        finally:
            os.killpg(proc.pid, signal.SIGKILL)  # the sweep, its Dask cluster and the trials
            proc.wait()
    before = _statuses(out)
    assert before[running] == "running"
    completed_before = {d: read_meta(d).started_at for d, s in before.items() if s == "complete"}
    broken_events = read_jsonl(running / "events.jsonl").records

    assert main(cmd[1:]) == 0  # the same command again, in this process
    stdout = capsys.readouterr().out
    assert f"{len(completed_before)} skipped" in stdout, stdout
    assert "restarted 1 interrupted/failed run" in stdout, stdout

    assert set(find_runs(out)) == _expected_dirs(out)  # each run once; attempts are not runs
    for directory in _expected_dirs(out):
        _check_complete_run(directory)
    for directory, started_at in completed_before.items():
        assert read_meta(directory).started_at == started_at  # not re-run
    relative = running.relative_to(out)
    attempt = out / "_attempts" / relative / "attempt-1"
    assert json.loads((attempt / ATTEMPT_META).read_text())["status"] == "running"
    assert "interrupted" in json.loads((attempt / "attempt.json").read_text())["reason"]
    assert read_jsonl(attempt / "events.jsonl").records[: len(broken_events)] == broken_events
    assert not (out / "_attempts" / relative / "attempt-2").exists()
    assert list((out / "_locks").rglob("*.lock")) == []
