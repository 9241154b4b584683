"""Warm workers (the default backend): same trajectories as syne-tune's LocalBackend, and no
process of a run outlives it, however the run ends. A run is its own ``ohgw-bench`` process where
that process is what is tested (killed, signalled, busy), and runs in this process otherwise."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ohgw_bench.cli import main
from ohgw_bench.core.registry import get_scheduler
from ohgw_bench.core.trajectory import TRIALS, Trajectory, read_jsonl, read_meta, run_dir
from ohgw_bench.execution.runlock import RunLock, lock_path, pid_alive
from tests.conftest import plan_run

pytestmark = pytest.mark.slow

CLI = [sys.executable, "-m", "ohgw_bench.cli"]
#: the folder names below hold spaces, quotes and non-ASCII letters on purpose
ODD = "out dir 'é ü'"


def _run_argv(out: Path, opt: str, budget: str, *extra: str, seed: int = 0) -> list[str]:
    """`ohgw-bench run` on digits-cnn, quiet."""
    args = ["--task", "digits-cnn", "--opt", opt, "--seed", str(seed), "--budget", budget, "--out", str(out)]
    return [*CLI, "run", *args, "--quiet", *extra]


def _run(out: Path, opt: str, budget: str, *extra: str, seed: int = 0) -> int:
    """`ohgw-bench run` in this process; its exit code."""
    return main(_run_argv(out, opt, budget, *extra, seed=seed)[len(CLI) :])


def _start(out: Path, opt: str, budget: str, *extra: str, seed: int = 0) -> subprocess.Popen:
    argv = _run_argv(out, opt, budget, *extra, seed=seed)
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rfind(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return [p for p in found if pid_alive(p, None)]


def _cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _worker_pids(run_pid: int) -> list[int]:
    return [p for p in _descendants(run_pid) if "ohgw_bench.execution.backends.workers.worker" in _cmdline(p)]


def _wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _events(directory: Path) -> list[dict]:
    path = directory / "events.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]


def _all_gone(pids: list[int]) -> bool:
    return not any(pid_alive(p, None) for p in pids)


# ---------------------------------------------------------------------- same decisions as LocalBackend


#: The budgets are the shortest that hold what each scheduler does (seed 0, one worker): PASHA's first
#: pause and resume (trial 1: epoch 1, paused, resumed to 3) and DyHPO's first resume of a trial after
#: another one ran (trial 0: epochs 4-6). LocalBackend pays a process start (~4 s) per start and resume,
#: so each epoch of budget past them is seconds of test. (ASHA, stopping, is not here: on one worker its
#: first trial trains alone, promoted at every rung, for 27 epochs before a second trial starts, so a
#: short budget shows only the per-epoch reports that these two show as well.)
@pytest.mark.parametrize("opt,budget", [("pasha", "4ep")])  # pause and resume: the hardest case
def test_workers_and_subprocess_backends_give_identical_trajectories(tmp_path, opt, budget):
    """One worker, fixed seed, an epoch budget: the same trials, configs, decisions and val_acc at
    every epoch. LocalBackend may deliver a few results past an epoch budget in its last batch
    (its trials report asynchronously), so the comparison covers the budget's epochs."""
    out = tmp_path / "out"  # LocalBackend cannot take odd paths (see the last test)
    dirs = {}
    for backend in ("workers", "subprocess"):
        assert _run(out / backend, opt, budget, "--workers", "1", "--backend", backend) == 0
        dirs[backend] = run_dir(out / backend, "digits-cnn", opt, 0)
    n = int(budget[:-2])
    trajectories = {b: Trajectory.read(d) for b, d in dirs.items()}
    keys = {
        b: [(e["trial_id"], e["epoch"], e["val_acc"], e["train_loss"]) for e in t.events][:n]
        for b, t in trajectories.items()
    }
    assert len(keys["workers"]) == n
    assert keys["workers"] == keys["subprocess"]
    reported = {e[0] for e in keys["workers"]}
    configs = {
        b: {t["trial_id"]: (t["config_sampled"], t["status"]) for t in tr.trials if t["trial_id"] in reported}
        for b, tr in trajectories.items()
    }
    assert configs["workers"] == configs["subprocess"]
    assert read_meta(dirs["workers"]).backend == "workers"
    assert read_meta(dirs["subprocess"]).backend == "subprocess"
    if get_scheduler(opt).pauses_trials:  # a trial was paused and resumed within the compared epochs
        for backend, directory in dirs.items():
            lines = [(t["trial_id"], t["status"]) for t in read_jsonl(directory / TRIALS).records]
            resumed = {t for i, (t, s) in enumerate(lines) if s == "paused" and (t, "running") in lines[i:]}
            last_epoch = {t: e for t, e, _, _ in keys[backend]}
            assert any(last_epoch.get(t, 0) > 1 for t in resumed), (backend, lines)


@dataclass
class Pool:
    pool: Any
    plan: Any
    pids: list[int]


@pytest.fixture(scope="module")
def warm_pool(tmp_path_factory):
    """A WorkerPool of two warm workers for a pasha run, started the way a run inside a sweep starts it:
    with Dask's MALLOC_TRIM_THRESHOLD_ (and a marker variable) in its environment. Closed at the end of
    the module; no worker outlives the close."""
    from ohgw_bench.execution.backends.workers.pool import WorkerPool
    from ohgw_bench.execution.runner import worker_spec

    root = tmp_path_factory.mktemp("pool")
    plan = plan_run("digits-cnn", "pasha", seed=0, budget="10ep", workers=2, out=root)
    pool = WorkerPool(2, worker_spec(plan), root / "workers")
    pids: list[int] = []
    try:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
            env.setenv("OHGW_TEST_MARKER", "kept")
            pool.start()
        pids = pool.pids()
        yield Pool(pool, plan, pids)
    finally:
        pool.close()
    assert len(pids) == 2 and _all_gone(pids)


def test_resume_runs_on_another_worker_and_continues_its_epochs(warm_pool, tmp_path):
    """Through syne-tune's own TrialBackend calls: trial 0 pauses on worker 0, trial 1 takes
    worker 0, and the resumed trial 0 continues on worker 1 from its checkpoint."""
    from syne_tune.backend.trial_status import Status

    from ohgw_bench.execution.backends.workers.backend import WarmWorkerBackend
    from ohgw_bench.execution.plan import scheduler_config_space

    pool = warm_pool.pool
    space = scheduler_config_space(warm_pool.plan)
    config = {k: (v.sample() if hasattr(v, "sample") else v) for k, v in space.items()}
    backend = WarmWorkerBackend(pool, tmp_path / "trials")

    def next_result(trial_id: int) -> dict:
        def got():
            _, results = backend.fetch_status_results([trial_id])
            return results

        return _wait_for(got, 60, f"a result of trial {trial_id}")[0][1]

    first = backend.start_trial({**config, "epochs": 1})
    assert pool.workers[0].trial_id == first.trial_id
    assert next_result(first.trial_id)["epoch"] == 1
    backend.pause_trial(first.trial_id)
    _wait_for(lambda: pool.poll(0.05) is not None and pool.workers[0].trial_id is None, 30, "worker 0 to be free")
    second = backend.start_trial({**config, "epochs": 3})
    assert pool.workers[0].trial_id == second.trial_id
    backend.resume_trial(first.trial_id, {**config, "epochs": 2})
    assert pool.workers[1].trial_id == first.trial_id
    resumed = next_result(first.trial_id)
    assert resumed["epoch"] == 2  # continued from the checkpoint, not retrained from scratch
    backend.fetch_status_results([first.trial_id])  # releases the last report: the trial completes
    status = _wait_for(
        lambda: backend.fetch_status_results([first.trial_id])[0][first.trial_id][1] == Status.completed,
        30,
        "trial 0 to complete",
    )
    assert status


# ---------------------------------------------------------------------- no process outlives its run


def test_sigkill_of_the_run_ends_its_workers_and_a_rerun_holds_only_its_own_trials(tmp_path):
    out = tmp_path / ODD
    run = _start(out, "asha", "300s", "--workers", "2")
    directory = run_dir(out, "digits-cnn", "asha", 0)
    _wait_for(lambda: len(_events(directory)) >= 3, 120, "the run's first events")
    workers = _worker_pids(run.pid)
    assert len(workers) == 2
    # the run recorded each worker it started, so that a later attempt ends them, and only them
    from ohgw_bench.execution.lifeline import processes_file, recorded_processes
    from ohgw_bench.execution.runlock import proc_start_time

    records = recorded_processes(directory)
    assert {(r["pid"], r["start_time"], r["role"]) for r in records} == {
        (p, proc_start_time(p), "worker") for p in workers
    }, processes_file(directory).read_text()
    run.kill()
    run.wait()
    _wait_for(lambda: _all_gone(workers), 5, "the workers to die with their run")
    before = {(e["trial_id"], e["epoch"]) for e in _events(directory)}

    assert _run(out, "asha", "3ep", "--workers", "2", "--overwrite") == 0  # in this process
    traj = Trajectory.read(directory)
    assert traj.meta.status == "complete" and traj.meta.budget["amount"] == 3
    per_trial: dict[int, list[int]] = {}
    for e in traj.events:
        per_trial.setdefault(e["trial_id"], []).append(e["epoch"])
    assert all(epochs == list(range(1, len(epochs) + 1)) for epochs in per_trial.values())
    assert [e["epochs_total"] for e in traj.events] == list(range(1, len(traj.events) + 1))
    assert len(before) >= 3  # the killed run had written events; none of its processes wrote after


def test_a_killed_worker_fails_its_trial_and_is_replaced(tmp_path):
    out = tmp_path / "out"
    run = _start(out, "asha", "8ep", "--workers", "1")
    directory = run_dir(out, "digits-cnn", "asha", 0)
    _wait_for(lambda: len(_events(directory)) >= 1, 120, "the run's first event")
    (victim,) = _worker_pids(run.pid)
    os.kill(victim, signal.SIGKILL)
    replacement = _wait_for(lambda: [p for p in _worker_pids(run.pid) if p != victim], 60, "a new worker")
    _, stderr = run.communicate(timeout=240)
    assert run.returncode == 0, stderr[-3000:]
    traj = Trajectory.read(directory)
    assert traj.meta.status == "complete"
    assert traj.meta.backend_info["workers_replaced"] == 1
    failed = [t for t in traj.trials if t["status"] == "failed"]
    assert len(failed) == 1
    assert "SIGKILL" in (directory / f"trial-{failed[0]['trial_id']}.stderr.txt").read_text()
    assert max(e["epochs_total"] for e in traj.events) >= 8  # the run went on to its budget
    assert _all_gone(replacement)


# ---------------------------------------------------------------------- locks and odd paths


def test_run_on_a_locked_key_exits_2_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "out"
    lock = RunLock(lock_path(out, "digits-cnn", "asha", 0))
    assert lock.acquire()
    try:
        code = _run(out, "asha", "5ep")
    finally:
        lock.release()
    assert code == 2
    assert "is being run by" in capsys.readouterr().err
    assert not run_dir(out, "digits-cnn", "asha", 0).exists()


def test_a_sweep_leaves_a_live_run_alone_and_sigterm_marks_it_failed(tmp_path):
    """One live run, two checks. A sweep that reaches its key (``run_one``) reports it busy and touches
    nothing: the run goes on writing its events. SIGTERM then marks it failed with the reason, ends its
    workers and releases its lock."""
    from ohgw_bench.execution.plan import RunRequest
    from ohgw_bench.execution.sweep.records import BUSY
    from ohgw_bench.execution.sweep.run import run_one

    out = tmp_path / "out"
    run = _start(out, "asha", "300s", "--workers", "2")
    directory = run_dir(out, "digits-cnn", "asha", 0)
    _wait_for(lambda: len(_events(directory)) >= 2, 120, "the run's first events")
    workers = _worker_pids(run.pid)
    assert workers
    outcome = run_one(RunRequest.parse("digits-cnn", "asha", "300s", out, seed=0, workers=2))
    assert outcome.state == BUSY and f"pid {run.pid}" in outcome.detail
    seen = len(_events(directory))
    _wait_for(lambda: len(_events(directory)) > seen, 60, "the run to go on after the sweep looked")
    assert read_meta(directory).status == "running" and not (out / "_attempts").exists()

    run.send_signal(signal.SIGTERM)
    _, stderr = run.communicate(timeout=30)
    assert run.returncode != 0
    assert "SIGTERM" in stderr
    meta = read_meta(directory)
    assert meta.status == "failed" and "SIGTERM" in meta.error
    assert _all_gone(workers)
    assert not lock_path(out, "digits-cnn", "asha", 0).exists()  # released on the way out
    assert not (out / "_attempts").exists()


def test_odd_out_folder_and_working_directory(tmp_path, monkeypatch):
    cwd = tmp_path / "work dir ü"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    assert _run(Path(ODD), "asha+ohgw(eta=0.01)", "6ep", "--workers", "2") == 0
    traj = Trajectory.read(run_dir(cwd / ODD, "digits-cnn", "asha+ohgw(eta=0.01)", 0))
    assert traj.meta.status == "complete" and len(traj.events) >= 6
    assert all(t["status"] != "failed" for t in traj.trials)


def test_subprocess_backend_refuses_paths_it_would_split(tmp_path, capsys):
    assert _run(tmp_path / "a b", "asha", "5ep", "--backend", "subprocess") == 2
    assert "splits its trial command line on spaces" in capsys.readouterr().err
    assert not (tmp_path / "a b").exists()


def test_workers_do_not_inherit_dasks_malloc_trim_threshold(warm_pool):
    """Dask's nanny sets MALLOC_TRIM_THRESHOLD_ for its workers; a run inside a sweep must not pass it on
    to its trials (it doubled an mnist1d epoch). Other variables pass through."""
    for pid in warm_pool.pids:
        env = (Path("/proc") / str(pid) / "environ").read_bytes().split(b"\0")
        assert b"OHGW_TEST_MARKER=kept" in env
        assert not any(item.startswith(b"MALLOC_TRIM_THRESHOLD_=") for item in env)
