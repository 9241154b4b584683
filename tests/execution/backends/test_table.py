"""Replaying a twin table in syne-tune's simulator (``--backend table:PATH``), against real runs
restricted to the same table.

The table is the session's (``tests/helpers/twin.py``): real and small, 6 digits-cnn configurations x
an arm per warm start x 5 epochs, built on Dask with one torch thread per cell, so a real run with
``--threads 1`` trains bit for bit the same curves. With one worker and a fixed scheduler seed, the
replay must then make the real run's decisions: the same trials in the same order, the same reports,
promotions, pauses and stops, and the same T@τ in the epoch clock."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from ohgw_bench.analysis.leaderboard import build_leaderboard
from ohgw_bench.analysis.pairing import MixedPairError
from ohgw_bench.analysis.results import summarize_runs
from ohgw_bench.cli import main
from ohgw_bench.core.table_format import TABLE, read_table
from ohgw_bench.core.trajectory import read_meta, run_dir
from ohgw_bench.execution.backends.table import open_table
from ohgw_bench.execution.simulator_clock import DISPATCH_SECONDS
from tests.helpers import twin

TASK, ARM, EPOCHS = twin.TASK, twin.OHGW, twin.EPOCHS


@pytest.fixture
def table(twin_table) -> Path:
    return twin_table


def _run(out: Path, opt: str, *backend: str, seed: int = 3, budget: str = "30ep", workers: int = 1) -> Path:
    args = ["run", "--task", TASK, "--opt", opt, "--seed", str(seed), "--budget", budget]
    assert main([*args, "--workers", str(workers), *backend, "--out", str(out), "--quiet"]) == 0
    return run_dir(out, TASK, opt, seed)


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _decisions(directory: Path) -> tuple[list, list, list]:
    events = _jsonl(directory / "events.jsonl")
    trials = _jsonl(directory / "trials.jsonl")
    reports = [(e["trial_id"], e["epoch"], e["val_acc"], e["epochs_total"]) for e in events]
    statuses = [(t["trial_id"], t["status"]) for t in trials]  # the trial file's lines, in order: every decision
    configs = sorted({(t["trial_id"], json.dumps(t["config_used"], sort_keys=True), t["seed"]) for t in trials})
    return reports, statuses, configs


@pytest.mark.parametrize("opt, real_run", [(twin.ASHA, "real_asha_run"), (twin.PASHA, "real_pasha_run")])
def test_replay_makes_the_real_runs_decisions(table, tmp_path, request, opt, real_run):
    """The real runs are the session's (tests/conftest.py; the contract tests read them too)."""
    real = request.getfixturevalue(real_run)
    seed, budget = twin.REAL_RUNS[opt]
    replay = _run(tmp_path / "replay", opt, "--backend", f"table:{table}", seed=seed, budget=budget)
    assert _decisions(replay) == _decisions(real)
    statuses = {s for _, s in _decisions(real)[1]}
    assert ("stopped" if opt.startswith("asha") else "paused") in statuses  # the scheduler did decide something
    t_real, t_replay = (float(summarize_runs(d, target=0.9)["T_epochs"].iloc[0]) for d in (real, replay))
    assert t_real == t_replay and t_real > 0  # T@τ in the epoch clock, reached in both


def test_replay_clock_is_the_recorded_training_time(table, tmp_path):
    """One worker, stopping ASHA: each report lands at the trial's recorded seconds (warm start included)
    after the previous trial's last report, plus 1 ms per stop, start and report."""
    directory = _run(tmp_path, f"asha+{ARM}", "--backend", f"table:{table}", budget="20ep")
    events = _jsonl(directory / "events.jsonl")
    frame, _ = read_table(table)
    rows = frame[frame["arm"] == ARM].set_index(["config_id", "epoch"])
    trials = {t["trial_id"]: t for t in _jsonl(directory / "trials.jsonl")}
    configs = open_table(str(table)).meta["configs"]
    start = 0.0
    for previous, event in zip([None, *events], events, strict=False):
        config = trials[event["trial_id"]]["config_sampled"]
        config_id = next(c["config_id"] for c in configs if c["values"] == config)
        recorded = rows.loc[(config_id, event["epoch"]), "trial_seconds"]
        if previous is not None and previous["trial_id"] != event["trial_id"]:
            start = previous["tuner_seconds"]
        assert event["trial_seconds"] == pytest.approx(recorded)
        waited = event["tuner_seconds"] - start  # the recorded seconds plus a few 1 ms dispatches
        assert recorded < waited < recorded + 10 * DISPATCH_SECONDS


def test_replay_totals_sum_each_trials_last_report(table, tmp_path):
    """The running FLOP and warm-start totals of events.jsonl, kept incrementally, equal the sum over
    trials of the table's cumulative values at each trial's last report so far."""
    directory = _run(tmp_path, f"asha+{ARM}", "--backend", f"table:{table}", budget="40ep", workers=2)
    frame, _ = read_table(table)
    rows = frame[frame["arm"] == ARM].set_index(["config_id", "epoch"])
    configs = open_table(str(table)).meta["configs"]
    config_of = {
        t["trial_id"]: next(c["config_id"] for c in configs if c["values"] == t["config_sampled"])
        for t in _jsonl(directory / "trials.jsonl")
    }
    last_epoch: dict[int, int] = {}
    for event in _jsonl(directory / "events.jsonl"):
        last_epoch[event["trial_id"]] = event["epoch"]
        at = [(config_of[t], e) for t, e in last_epoch.items()]
        assert event["flops_total"] == pytest.approx(sum(rows.loc[k, "trial_flops"] for k in at), rel=1e-12)
        ws = sum(rows.loc[k, "warm_start_flops"] for k in at)
        assert event["warm_start_flops_total"] == pytest.approx(ws, rel=1e-12) and ws > 0
    assert len(last_epoch) > 2


def test_replayed_run_names_its_table_and_never_pairs_with_a_real_run(table, tmp_path, real_asha_run):
    seed, budget = twin.REAL_RUNS[twin.ASHA]
    none = _run(tmp_path, "asha", "--backend", f"table:{table}", seed=seed, budget=budget)
    meta = read_meta(none)
    sha = open_table(str(table)).sha256
    assert meta.backend == "table" and meta.clock_source == f"table {sha}"
    assert meta.table["sha256"] == sha and meta.table["arm"] == "none"
    assert meta.device == open_table(str(table)).meta["device"] and meta.replayed_on
    assert meta.max_epochs == EPOCHS
    shutil.copytree(real_asha_run, run_dir(tmp_path, TASK, twin.ASHA, seed))  # a real run of the other arm
    with pytest.raises(MixedPairError, match="clock_source"):
        build_leaderboard(summarize_runs(tmp_path))


def test_replay_sweep_on_dask_and_its_leaderboard(table, tmp_path, capsys):
    out = tmp_path / "sweep"
    code = main(
        ["sweep", "--tasks", TASK, "--opts", f"asha,asha+{ARM}", "--seeds", "0-3", "--budget", "60s"]
        + ["--workers", "2", "--backend", f"table:{table}", "--out", str(out), "--quiet"]
    )
    assert code == 0
    summary = summarize_runs(out)
    assert len(summary) == 8 and (summary["status"] == "complete").all()
    assert summary["used_tuner_seconds"].min() > 50  # simulated seconds: the last report came near the 60 s budget
    board = build_leaderboard(summary)
    assert set(board["arm"]) == {"none", ARM}
    assert int(board.loc[board["arm"] == ARM, "n"].iloc[0]) == 4  # every seed paired


@pytest.mark.parametrize(
    "args, message",
    [
        (["--opt", "dehb"], "cannot be limited to a table's configurations"),
        (["--opt", "asha+random(eta=2)"], "has no arm 'random(eta=2)'"),
        (["--opt", "asha+ohgw(eta=2)"], "has no arm 'ohgw(eta=2)'"),
        (["--task", "mnist1d-cnn"], "is for task digits-cnn, not mnist1d-cnn"),
    ],
)
def test_bad_replays_are_refused_and_write_nothing(table, tmp_path, capsys, args, message):
    base = {"--task": TASK, "--opt": "asha", "--budget": "10ep", "--out": str(tmp_path / "out")}
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    argv = ["run", *[x for kv in base.items() for x in kv], "--backend", f"table:{table}"]
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_an_incomplete_or_changed_table_is_refused(table, tmp_path, capsys):
    changed = tmp_path / "changed"
    shutil.copytree(table, changed)
    frame = pd.read_parquet(changed / TABLE)
    frame.loc[0, "val_acc"] = 1.0
    frame.to_parquet(changed / TABLE, index=False)
    out = tmp_path / "out"
    argv = ["run", "--task", TASK, "--opt", "asha", "--budget", "5ep", "--out", str(out)]
    assert main([*argv, "--backend", f"table:{changed}"]) == 2
    assert "does not match the SHA-256" in capsys.readouterr().err
    (changed / TABLE).unlink()
    assert main([*argv, "--backend", f"table:{changed}"]) == 2
    assert "not complete" in capsys.readouterr().err
    assert main([*argv, "--backend", "table:"]) == 2
    assert "needs the table's folder" in capsys.readouterr().err
    assert not out.exists()


def test_a_table_folder_is_not_a_run_folder(table):
    from ohgw_bench.core.trajectory import find_runs

    assert list(find_runs(table)) == [] and table not in list(find_runs(table.parent))


def test_table_runs_without_workers_take_the_documented_default(table, tmp_path, monkeypatch):
    """Without --workers a run counts its GPUs (one worker without a GPU); a replay trains nothing, so
    it counts none and takes one worker; --configs-from trains for real and counts them."""
    import ohgw_bench.execution.gpus as gpus

    counted: list[int] = []
    real_count = gpus.visible_gpu_count
    monkeypatch.setattr(gpus, "visible_gpu_count", lambda: counted.append(1) or real_count())
    base = ["run", "--task", TASK, "--opt", f"asha+{ARM}", "--seed", "0", "--quiet"]
    assert main([*base, "--budget", "6ep", "--backend", f"table:{table}", "--out", str(tmp_path / "replay")]) == 0
    assert read_meta(run_dir(tmp_path / "replay", TASK, f"asha+{ARM}", 0)).workers == 1 and not counted
    assert main([*base, "--budget", "2ep", "--configs-from", str(table), "--out", str(tmp_path / "real")]) == 0
    meta = read_meta(run_dir(tmp_path / "real", TASK, f"asha+{ARM}", 0))
    from ohgw_bench.core.registry import get_task
    from ohgw_bench.execution.plan import max_workers

    expected, _ = gpus.choose_workers(real_count(), get_task(TASK).trials_per_gpu, max_workers())
    assert counted and meta.workers == expected  # 1 on a machine without a GPU
