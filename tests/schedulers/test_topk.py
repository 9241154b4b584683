"""``topk-1ep``, the one-epoch top-k baseline: its bookkeeping alone, its syne-tune scheduler driven in
process, and whole runs on the session's twin table (replayed, and trained for real on the table's
configurations: the winners resume from their checkpoints, so both make the same reports)."""

from __future__ import annotations

import dataclasses
import math
import re
from datetime import datetime
from pathlib import Path

import pytest

from ohgw_bench.cli import EXIT_BAD_INPUT, main
from ohgw_bench.core.registry import get_scheduler, get_task
from ohgw_bench.core.trajectory import EVENTS, TRIALS, read_jsonl, run_dir
from ohgw_bench.execution.plan import make_scheduler, scheduler_config_space
from ohgw_bench.schedulers.topk import TopKBatches, make_topk_one_epoch, validate_topk_settings
from tests.conftest import plan_run
from tests.helpers import twin

TASK = get_task(twin.TASK)
#: the twin table's settings (tests/helpers/twin.py): one batch is 4 + 2 x 4 = 12 epochs
N_FIRST, K = 4, 2
OPT = twin.scheduler_of("topk-1ep")
assert OPT == f"topk-1ep(k={K},n_first={N_FIRST})"


# ---------------------------------------------------------------- the bookkeeping alone


def _batches(n_first: int, k: int, trials: int) -> TopKBatches:
    batches = TopKBatches(n_first, k)
    for trial_id in range(trials):
        batches.add(trial_id)
    return batches


def _resumed(batches: TopKBatches) -> list[int]:
    order = []
    while (trial_id := batches.next_to_resume()) is not None:
        order.append(trial_id)
    return order


def test_a_batch_pauses_until_its_last_report_then_resumes_its_best_k_best_first():
    batches = _batches(4, 2, 4)
    assert [batches.screen(t, s) for t, s in zip(range(3), (0.5, 0.9, 0.1), strict=True)] == ["pause"] * 3
    assert batches.next_to_resume() is None  # nothing is ranked before the whole batch has reported
    assert batches.screen(3, 0.7) == "pause"  # the last reporter is a winner: paused, then resumed
    assert _resumed(batches) == [1, 3]
    assert batches.dropped == {0, 2}
    assert [batches.decide(t) for t in range(4)] == ["stop", "continue", "stop", "continue"]


def test_the_last_reporter_is_stopped_at_once_when_it_loses():
    batches = _batches(2, 1, 2)
    assert batches.screen(0, 0.8) == "pause"
    assert batches.screen(1, 0.3) == "stop"
    assert _resumed(batches) == [0]


def test_ties_go_to_the_earlier_trial():
    batches = _batches(3, 1, 3)
    for trial_id in (2, 1, 0):  # reported in reverse: the order of reports does not decide
        batches.screen(trial_id, 0.5)
    assert _resumed(batches) == [0]


def test_trials_start_the_next_batch_once_one_is_full_and_batches_rank_on_their_own():
    batches = _batches(2, 1, 5)
    assert [b.members for b in batches.batches] == [[0, 1], [2, 3], [4]]
    batches.screen(2, 0.1)
    batches.screen(3, 0.2)  # the second batch is ranked first: it reported first
    batches.screen(0, 0.9)
    assert _resumed(batches) == [3]
    assert batches.screening(1) and batches.screening(4) and not batches.screening(0)


@pytest.mark.parametrize("bad", [math.nan, -math.inf])
def test_an_unrankable_score_never_wins_even_when_the_batch_has_too_few(bad):
    batches = _batches(3, 2, 3)
    for trial_id, score in zip(range(3), (bad, 0.2, bad), strict=True):
        batches.screen(trial_id, score)
    assert _resumed(batches) == [1]
    assert batches.dropped == {0, 2}


def test_a_failed_trial_is_ranked_without_and_a_failed_winner_is_not_resumed():
    batches = _batches(2, 1, 4)
    batches.screen(0, 0.4)
    batches.failed(1)  # before its first report: its batch ranks without it
    batches.screen(2, 0.9)
    batches.screen(3, 0.1)
    batches.failed(0)  # a winner that fails while waiting for a worker
    assert _resumed(batches) == [2]


@pytest.mark.parametrize(
    "n_first, k, message",
    [
        (3, 4, "k=4 must be at most n_first=3"),
        (0, 1, "n_first=0 must be a positive integer"),
        (3, 0, "k=0 must be a positive integer"),
        (3, -1, "k=-1 must be a positive integer"),
        (True, 1, "n_first=True must be a positive integer"),
        (2.5, 1, "n_first=2.5 must be a positive integer"),
    ],
)
def test_bad_settings_say_what_to_change(n_first, k, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        validate_topk_settings(TASK, n_first, k)


def test_a_task_of_one_epoch_is_refused():
    with pytest.raises(ValueError, match="needs more than 1 epoch"):
        validate_topk_settings(dataclasses.replace(TASK, max_epochs=1), 4, 2)


def test_run_refuses_k_above_n_first_and_writes_nothing(tmp_path, capsys):
    args = ["run", "--task", twin.TASK, "--opt", "topk-1ep(k=5,n_first=4)", "--budget", "10ep"]
    assert main([*args, "--workers", "1", "--out", str(tmp_path / "runs"), "--quiet"]) == EXIT_BAD_INPUT
    assert "k=5 must be at most n_first=4" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").rglob("*.json*"))


def test_list_shows_it_with_its_defaults(capsys):
    assert main(["list", "optimizers"]) == 0
    (line,) = [line for line in capsys.readouterr().out.splitlines() if line.strip().startswith("topk-1ep ")]
    assert line.endswith("[n_first=27, k=3]")
    assert get_scheduler("topk-1ep").pauses_trials


# ---------------------------------------------------------------- the syne-tune scheduler in process


@pytest.fixture(scope="module")
def space(tmp_path_factory) -> dict:
    plan = plan_run(twin.TASK, "topk-1ep", seed=0, budget="10ep", workers=1, out=tmp_path_factory.mktemp("runs"))
    return scheduler_config_space(plan)


def _start(scheduler, trial_id: int):
    from syne_tune.backend.trial_status import Trial

    suggestion = scheduler.suggest(trial_id)
    assert suggestion is not None and suggestion.spawn_new_trial_id
    trial = Trial(trial_id=trial_id, config=suggestion.config, creation_time=datetime.now())
    scheduler.on_trial_add(trial)
    return trial


def test_the_scheduler_pauses_at_epoch_one_resumes_the_best_from_its_checkpoint_then_samples_again(space):
    from syne_tune.optimizer.scheduler import SchedulerDecision as D

    scheduler = make_topk_one_epoch(TASK, space, seed=0, n_first=3, k=1)
    trials = [_start(scheduler, i) for i in range(3)]
    assert all(t.config["epochs"] == TASK.max_epochs for t in trials)  # a winner trains on unchanged
    scores = (0.5, 0.9, 0.7)
    decisions = [scheduler.on_trial_result(t, {"epoch": 1, "val_acc": s}) for t, s in zip(trials, scores, strict=True)]
    assert decisions == [D.PAUSE, D.PAUSE, D.STOP]  # the last reporter completes the batch and loses
    resume = scheduler.suggest(3)
    assert not resume.spawn_new_trial_id and resume.checkpoint_trial_id == 1 and resume.config is None
    assert scheduler.on_trial_result(trials[1], {"epoch": 2, "val_acc": 0.95}) == D.CONTINUE
    assert scheduler.on_trial_result(trials[0], {"epoch": 2, "val_acc": 0.6}) == D.STOP  # a loser goes no further
    fresh = _start(scheduler, 3)  # the budget remains: a new configuration opens the next batch
    assert fresh.config != trials[1].config
    assert scheduler.on_trial_result(fresh, {"epoch": 1, "val_acc": 0.1}) == D.PAUSE


def test_a_diverged_first_epoch_is_never_resumed(space):
    from syne_tune.optimizer.scheduler import SchedulerDecision as D

    scheduler = make_topk_one_epoch(TASK, space, seed=0, n_first=2, k=1)
    trials = [_start(scheduler, i) for i in range(2)]
    assert scheduler.on_trial_result(trials[0], {"epoch": 1, "val_acc": 0.9, "diverged": 1}) == D.PAUSE
    assert scheduler.on_trial_result(trials[1], {"epoch": 1, "val_acc": 0.2, "diverged": 0}) == D.PAUSE
    assert scheduler.suggest(2).checkpoint_trial_id == 1


def test_it_samples_what_random_search_samples_with_the_same_seed(tmp_path):
    """Common random numbers with ``random-search``: the same searcher, seed and options."""
    proposed = {}
    for opt in ("random-search", OPT):
        plan = plan_run(twin.TASK, opt, seed=4, budget="10ep", workers=1, out=tmp_path)
        scheduler = make_scheduler(plan, scheduler_config_space(plan))
        proposed[opt] = [{k: scheduler.suggest(i).config[k] for k in TASK.space.names} for i in range(5)]
    assert proposed["random-search"] == proposed[OPT]
    assert len({str(c) for c in proposed[OPT]}) == 5


# ---------------------------------------------------------------- whole runs on the twin table


def _run(out: Path, *backend: str, seed: int, budget: str) -> Path:
    args = ["run", "--task", twin.TASK, "--opt", OPT, "--seed", str(seed), "--budget", budget, "--workers", "1"]
    assert main([*args, *backend, "--out", str(out), "--quiet"]) == 0
    return run_dir(out, twin.TASK, OPT, seed)


def _epochs_and_scores(directory: Path) -> tuple[dict[int, list[int]], dict[int, float]]:
    epochs: dict[int, list[int]] = {}
    scores: dict[int, float] = {}
    for event in read_jsonl(directory / EVENTS).records:
        epochs.setdefault(event["trial_id"], []).append(event["epoch"])
        if event["epoch"] == 1:
            scores[event["trial_id"]] = event["val_acc"]
    return epochs, scores


def _statuses(directory: Path) -> dict[int, list[str]]:
    statuses: dict[int, list[str]] = {}
    for line in read_jsonl(directory / TRIALS).records:
        statuses.setdefault(line["trial_id"], []).append(line["status"])
    return statuses


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_replay_resumes_exactly_the_best_k_of_each_batch_and_no_other(twin_table, tmp_path, seed):
    """One worker, two batches (24 epochs = 2 x (4 + 2 x 4)): each batch's 4 trials report epoch 1, its 2
    best by epoch-1 val_acc (ties to the earlier trial) are paused, resumed and report every later epoch
    once, in order, up to the table's 5; the others never report epoch 2."""
    directory = _run(tmp_path, "--backend", f"table:{twin_table}", seed=seed, budget="24ep")
    epochs, scores = _epochs_and_scores(directory)
    statuses = _statuses(directory)
    assert sorted(epochs) == list(range(2 * N_FIRST))  # one worker: batch b holds trials 4b .. 4b+3
    for batch in range(2):
        members = list(range(batch * N_FIRST, (batch + 1) * N_FIRST))
        assert all(epochs[t][0] == 1 for t in members)  # exactly n_first trials screened per batch
        best = sorted(members, key=lambda t: (-scores[t], t))[:K]
        for trial_id in members:
            if trial_id in best:
                assert epochs[trial_id] == list(range(1, twin.EPOCHS + 1))  # resumed, not retrained
                assert statuses[trial_id] == ["running", "paused", "running", "completed"]
            else:
                assert epochs[trial_id] == [1]
                assert statuses[trial_id][-1] == "stopped" and statuses[trial_id].count("running") == 1


def test_a_real_run_on_the_tables_configurations_resumes_from_checkpoints_like_the_replay(twin_table, tmp_path):
    """Warm workers, one worker and one thread, the table's configurations and trial seeds: the winners
    resume from their epoch-1 checkpoints, so the real run reports what the replay looked up, bit for bit,
    in the same order (a winner trained again from scratch would report epoch 1 twice). 11 epochs end the
    run one epoch before the second winner's last: at 12 the budget ends on that trial's final report, which
    the simulator marks completed and the real run stopped (the tuner stops it before its end arrives)."""
    real = _run(tmp_path / "real", "--threads", "1", "--configs-from", str(twin_table), seed=3, budget="11ep")
    replay = _run(tmp_path / "replay", "--backend", f"table:{twin_table}", seed=3, budget="11ep")

    def reports(directory: Path) -> list[tuple]:
        return [(e["trial_id"], e["epoch"], e["val_acc"]) for e in read_jsonl(directory / EVENTS).records]

    assert reports(real) == reports(replay)
    assert _statuses(real) == _statuses(replay)
    epochs, _ = _epochs_and_scores(real)
    assert sorted(len(v) for v in epochs.values()) == [1, 1, twin.EPOCHS - 1, twin.EPOCHS]
    resumed = [t for t, lines in _statuses(real).items() if lines[:3] == ["running", "paused", "running"]]
    assert len(resumed) == K and all(epochs[t][:2] == [1, 2] for t in resumed)
