"""DEHB through syne-tune's scheduler interface, driven in-process (no trial subprocesses)."""

from __future__ import annotations

import math
import os
from datetime import datetime

import pytest
from syne_tune.backend.trial_status import Trial
from syne_tune.config_space import Domain
from syne_tune.optimizer.scheduler import SchedulerDecision

from ohgw_bench.core.registry import get_task
from ohgw_bench.execution.plan import scheduler_config_space
from ohgw_bench.schedulers._dehb_scheduler import FAILED_FITNESS, DEHBScheduler, validate_dehb_settings
from ohgw_bench.schedulers.dehb import make_dehb
from tests.conftest import plan_run

TASK = get_task("digits-cnn")
NAMES = TASK.space.names


@pytest.fixture(scope="module")
def space(tmp_path_factory) -> dict:
    plan = plan_run("digits-cnn", "asha+ohgw", seed=0, budget="10s", workers=1, out=tmp_path_factory.mktemp("runs"))
    return scheduler_config_space(plan)


def synthetic_acc(config: dict, epoch: int) -> float:
    """Smooth in the config, rising with epochs, inside [0, 1]; best near lr=10^-1.5, momentum 0.9."""
    quality = (
        1.0
        - 0.15 * (config["log10_lr"] + 1.5) ** 2
        - 0.4 * (config["momentum"] - 0.9) ** 2
        - 0.3 * config["label_smoothing"]
    )
    return max(0.0, min(1.0, quality)) * (1.0 - math.exp(-epoch / 6.0))


def start(scheduler: DEHBScheduler, trial_id: int) -> Trial:
    suggestion = scheduler.suggest(trial_id)
    assert suggestion is not None and suggestion.spawn_new_trial_id
    return Trial(trial_id=trial_id, config=suggestion.config, creation_time=datetime.now())


def train(scheduler: DEHBScheduler, trial: Trial, *, complete: bool = True) -> list[str]:
    """Report every epoch up to config['epochs'] like the subprocess trial does; return the decisions."""
    decisions, result = [], None
    told_before = len(scheduler.dehb.history)
    for epoch in range(1, trial.config["epochs"] + 1):
        assert len(scheduler.dehb.history) == told_before  # no tell before the final epoch
        result = {"epoch": epoch, "val_acc": synthetic_acc(trial.config, epoch), "trial_seconds": 0.5 * epoch}
        decisions.append(scheduler.on_trial_result(trial, result))
    assert len(scheduler.dehb.history) == told_before + 1  # told at the final epoch, before completion
    if complete:
        scheduler.on_trial_complete(trial, result)
    return decisions


def run_sequential(scheduler: DEHBScheduler, n: int) -> list[Trial]:
    trials = []
    for trial_id in range(n):
        trial = start(scheduler, trial_id)
        train(scheduler, trial)
        trials.append(trial)
    return trials


def test_suggestions_use_the_fidelity_grid_carry_constants_and_stay_in_bounds(space):
    scheduler = make_dehb(TASK, space, 0, eta=3, min_epochs=1)
    trials = run_sequential(scheduler, 60)
    assert sorted({t.config["epochs"] for t in trials}) == [1, 3, 9, 27]
    constants = {k: v for k, v in space.items() if not isinstance(v, Domain) and k != "epochs"}
    assert {"ohgw_task", "ohgw_warm_start", "ohgw_warm_start_params", "ohgw_seed"} <= set(constants)
    for t in trials:
        assert set(t.config) == set(space)
        assert {k: t.config[k] for k in constants} == constants
        for h in TASK.space.hyperparameters:
            assert isinstance(t.config[h.name], float)
            assert h.low <= t.config[h.name] <= h.high


def test_min_epochs_picks_the_lowest_rung_on_dehbs_grid(space):
    scheduler = make_dehb(TASK, space, 0, eta=3, min_epochs=2)  # 27·3^-k >= 2 → 3, 9, 27
    epochs = {t.config["epochs"] for t in run_sequential(scheduler, 25)}
    assert epochs == {3, 9, 27}


def test_every_trial_is_told_once_and_the_incumbent_improves(space):
    scheduler = make_dehb(TASK, space, 0, eta=3, min_epochs=1)
    dehb = scheduler.dehb
    decisions = []
    inc_after_9 = None
    accs = []
    for trial_id in range(60):
        trial = start(scheduler, trial_id)
        decisions += train(scheduler, trial)
        accs.append(synthetic_acc(trial.config, trial.config["epochs"]))
        assert len(dehb.history) == trial_id + 1  # told at the final epoch, not again on complete
        if trial_id == 8:
            inc_after_9 = dehb.inc_score
    assert set(decisions) == {SchedulerDecision.CONTINUE}
    assert dehb._tell_counter == dehb._ask_counter == 60
    assert dehb.inc_score < inc_after_9  # fitness is -val_acc: lower is better
    assert dehb.inc_score == pytest.approx(-max(accs))
    costs = [row[3] for row in dehb.history]
    assert costs[0] == pytest.approx(0.5 * scheduler._epochs[0])  # trial_seconds is the cost


def test_concurrent_suggestions_before_any_result(space):
    scheduler = make_dehb(TASK, space, 0, eta=3, min_epochs=1)
    running = [start(scheduler, i) for i in range(30)]  # more than the first rung's 27 slots
    assert len({tuple(t.config[n] for n in NAMES) for t in running}) == 30
    for t in reversed(running):
        train(scheduler, t)
    assert len(scheduler.dehb.history) == 30
    more = [start(scheduler, 30 + i) for i in range(5)]
    for t in more:
        train(scheduler, t)
    assert len(scheduler.dehb.history) == 35


def test_failed_trials_are_told_and_dehb_keeps_asking(space):
    scheduler = make_dehb(TASK, space, 0, eta=3, min_epochs=1)
    first_rung = [start(scheduler, i) for i in range(27)]
    assert {t.config["epochs"] for t in first_rung} == {1}
    for t in first_rung:  # every trial of the first rung fails (with +inf DEHB's next ask would raise)
        scheduler.on_trial_error(t)
        scheduler.on_trial_error(t)  # a second notice is ignored
    assert [row[2] for row in scheduler.dehb.history] == [FAILED_FITNESS] * 27
    promoted = start(scheduler, 27)
    assert promoted.config["epochs"] == 3
    train(scheduler, promoted)
    assert len(scheduler.dehb.history) == 28


def test_a_trial_that_ends_short_is_told_its_last_result(space):
    scheduler = make_dehb(TASK, space, 0, eta=3, min_epochs=2)
    trial = start(scheduler, 0)
    assert trial.config["epochs"] == 3
    result = {"epoch": 1, "val_acc": 0.4, "trial_seconds": 2.0}
    assert scheduler.on_trial_result(trial, result) == SchedulerDecision.CONTINUE
    assert scheduler.dehb.history == []
    scheduler.on_trial_complete(trial, result)
    assert [(row[2], row[3]) for row in scheduler.dehb.history] == [(-0.4, 2.0)]


def test_same_seed_same_configs(space):
    def first_configs(seed: int) -> list[tuple]:
        scheduler = make_dehb(TASK, space, seed, eta=3, min_epochs=1)
        return [tuple(t.config[n] for n in NAMES) + (t.config["epochs"],) for t in run_sequential(scheduler, 10)]

    a = first_configs(0)
    assert a == first_configs(0)
    assert a != first_configs(1)


def test_dehb_writes_nothing_into_the_working_directory(space, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    scheduler = make_dehb(TASK, space, 0, eta=3, min_epochs=1)
    run_sequential(scheduler, 5)
    assert os.listdir(tmp_path) == []
    assert not scheduler.output_path.startswith(str(tmp_path))


@pytest.mark.parametrize(
    "eta, min_epochs, hint",
    [
        (1, 1, "eta=1 must be an integer >= 2"),
        (0, 1, "eta=0 must be an integer >= 2"),
        (3, 0, "min_epochs=0 must be an integer >= 1"),
        (3, 27, "lower min_epochs to at most 26"),
        (3, 40, "lower min_epochs to at most 26"),
    ],
)
def test_invalid_settings_say_what_to_change(space, eta, min_epochs, hint):
    with pytest.raises(ValueError, match=hint):
        validate_dehb_settings(TASK, eta, min_epochs)
    with pytest.raises(ValueError, match=hint):
        make_dehb(TASK, space, 0, eta=eta, min_epochs=min_epochs)


def test_space_without_the_task_domains_is_refused():
    with pytest.raises(ValueError, match="lacks domains"):
        make_dehb(TASK, {"epochs": 27}, 0, eta=3, min_epochs=1)


def test_metric_and_mode(space):
    scheduler = make_dehb(TASK, space, 0, eta=3, min_epochs=1)
    assert scheduler.metric_names() == ["val_acc"]
    assert scheduler.metric_mode() == "max"
