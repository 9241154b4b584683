"""The per-epoch evaluation: objective_function's curve an epoch at a time, stopped and resumed without
training an epoch twice."""

from __future__ import annotations

import json
import re

import pytest
import torch

from ohgw_bench.core.records import from_report
from ohgw_bench.core.registry import get_task
from ohgw_bench.execution.evaluation import IDENTITY, evaluate
from ohgw_bench.execution.objective import objective_function
from ohgw_bench.execution.train import Trainer
from ohgw_bench.execution.trial import CHECKPOINT, TrialSetup, run_trial

TASK = get_task("digits-cnn")
CONFIG = {"log10_lr": -1.0, "log10_wd": -4.0, "momentum": 0.9, "aug_magnitude": 0.3, "label_smoothing": 0.1}
#: what a report measures (the same batches give the same numbers); its seconds are the clock's
MEASURED = ("epoch", "val_acc", "val_loss", "test_acc", "test_loss", "train_loss", "trial_flops", "diverged")
ARMS = {"none": {}, "ohgw": {"eta": 1.0}}


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread: the machine is shared, and two-thread reductions would only add contention."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def trained_epochs(monkeypatch) -> list[int]:
    """The epochs the trainer ran, in order, whoever asked for them."""
    ran: list[int] = []
    real = Trainer.run_epoch

    def counted(self):
        result = real(self)
        ran.append(result.epoch)
        return result

    monkeypatch.setattr(Trainer, "run_epoch", counted)
    return ran


def measured(curve) -> list[tuple]:
    return [tuple(getattr(r, name) for name in MEASURED) for r in curve]


@pytest.mark.parametrize("warm_start", sorted(ARMS))
def test_the_curve_is_objective_functions(warm_start, tmp_path):
    """Same seed, same batches: each epoch yielded as measured is objective_function's epoch and a backend's
    trial's (run_trial's), exactly."""
    whole = objective_function(TASK, CONFIG, 3, seed=7, warm_start=warm_start, warm_start_params=ARMS[warm_start])
    flat: list[dict] = []
    setup = TrialSetup(warm_start, ARMS[warm_start], seed=7, max_epoch=3)
    run_trial(TASK, CONFIG, setup, tmp_path / "trial", lambda **r: flat.append(r), torch.device("cpu"))
    assert measured(whole.curve) == measured(from_report(r) for r in flat)
    with evaluate(TASK, CONFIG, seed=7, warm_start=warm_start, warm_start_params=ARMS[warm_start]) as evaluation:
        assert evaluation.warm_start is None and evaluation.curve == ()  # nothing runs before it is asked
        yielded = []
        for report in evaluation.epochs(up_to=3):
            assert evaluation.curve[-1] == report  # handed out once measured, and kept
            yielded.append(report)
        assert measured(yielded) == measured(whole.curve)
        assert evaluation.curve == tuple(yielded)
        record = evaluation.warm_start
    assert record is not None
    assert record.config_used == whole.config_used and record.hypergrad == whole.warm_start.hypergrad
    assert (record.config_used != CONFIG) == (warm_start == "ohgw")


def test_train_to_in_steps_trains_each_epoch_once(tmp_path, trained_epochs):
    with evaluate(TASK, CONFIG, seed=3, checkpoint_dir=tmp_path / "steps") as steps:
        assert [r.epoch for r in steps.train_to(1)] == [1]
        assert [r.epoch for r in steps.train_to(3)] == [2, 3]
        assert steps.train_to(2) == ()  # already there: nothing to train
        assert steps.at(2) == steps.curve[1] and steps.at(3) == steps.curve[-1]
        assert trained_epochs == [1, 2, 3] and steps.epochs_trained == 3
    with evaluate(TASK, CONFIG, seed=3) as once:
        once.train_to(3)
    assert trained_epochs == [1, 2, 3, 1, 2, 3]
    assert measured(steps.curve) == measured(once.curve)


def test_a_closed_evaluation_resumes_from_its_checkpoint_dir(tmp_path, trained_epochs):
    folder = tmp_path / "config-0"
    first = evaluate(TASK, CONFIG, seed=4, warm_start="ohgw", warm_start_params={"eta": 1.0}, checkpoint_dir=folder)
    first.train_to(2)
    first.close()
    assert (folder / CHECKPOINT).exists()  # a checkpoint it was given stays
    with pytest.raises(ValueError, match="is closed; a new one on its checkpoint_dir resumes it"):
        first.train_to(3)

    later = evaluate(TASK, CONFIG, seed=4, warm_start="ohgw", warm_start_params={"eta": 1.0}, checkpoint_dir=folder)
    assert later.curve == first.curve and later.warm_start == first.warm_start  # read back, nothing trained
    assert [r.epoch for r in later.train_to(4)] == [3, 4]
    assert later.warm_start == first.warm_start  # the warm start ran once, before epoch 1
    later.close()
    assert trained_epochs == [1, 2, 3, 4] and later.epochs_trained == 2

    straight = objective_function(TASK, CONFIG, 4, seed=4, warm_start="ohgw", warm_start_params={"eta": 1.0})
    assert measured(later.curve) == measured(straight.curve)
    assert later.curve[-1].trial_seconds > first.curve[-1].trial_seconds  # the trial's clock goes on


def test_an_evaluation_removes_the_checkpoint_folder_it_made(trained_epochs):
    with evaluate(TASK, CONFIG, seed=1) as evaluation:
        evaluation.train_to(1)
        folder = evaluation.checkpoint_dir
        assert (folder / CHECKPOINT).exists() and (folder / IDENTITY).exists()
    assert not folder.exists()


def test_stopping_the_iteration_trains_no_further_epoch(trained_epochs):
    """A pruner's loop breaks out after the epoch it prunes: the trial is paused there, not run on."""
    with evaluate(TASK, CONFIG, seed=2) as evaluation:
        for report in evaluation.epochs():
            if report.epoch == 2:
                break
        assert trained_epochs == [1, 2] and evaluation.epoch == 2
        assert [r.epoch for r in evaluation.epochs(up_to=3)] == [3]
    assert trained_epochs == [1, 2, 3]


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"config": {"log10_lr": -1.0}}, "config lacks"),
        ({"config": {**CONFIG, "momentum": 1.5}}, "momentum=1.5 is outside"),
        ({"config": {**CONFIG, "lr": 0.1}}, "unknown key(s) 'lr' (the space of digits-cnn: log10_lr,"),
        ({"config": {**CONFIG, "momentum": "0.9"}}, "momentum='0.9' must be a number"),
        ({"warm_start": "ohgw", "warm_start_params": {"sigma": 1.0}}, "has no parameter(s) sigma"),
        ({"warm_start": "ohgw", "warm_start_params": {"eta": float("inf")}}, "eta=inf must be"),
        ({"seed": -1}, "seed must be in [0, 4294967295] (seeds of numpy's RandomState), got -1"),
        ({"seed": 1.5}, "seed must be an integer, got 1.5"),
    ],
)
def test_bad_arguments_are_refused_as_objective_function_refuses_them(kwargs, message, tmp_path):
    config = kwargs.pop("config", CONFIG)
    with pytest.raises(ValueError, match=re.escape(message)):
        evaluate(TASK, config, checkpoint_dir=tmp_path / "c", **kwargs)
    with pytest.raises(ValueError, match=re.escape(message)):
        objective_function(TASK, config, 1, **kwargs)
    assert not (tmp_path / "c").exists()  # refused before anything is written


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda e: e.train_to(0), "epoch=0 must be an integer in [1, 27] for digits-cnn"),
        (lambda e: e.train_to(28), "epoch=28 must be an integer in [1, 27]"),
        (lambda e: e.train_to(True), "epoch=True must be an integer"),
        (lambda e: e.epochs(up_to=28), "up_to=28 must be an integer in [1, 27]"),
    ],
)
def test_an_epoch_out_of_range_is_refused(call, message, trained_epochs):
    with evaluate(TASK, CONFIG) as evaluation, pytest.raises(ValueError, match=re.escape(message)):
        call(evaluation)
    assert trained_epochs == []


def test_a_checkpoint_dir_holding_another_evaluation_is_refused(tmp_path):
    folder = tmp_path / "c"
    evaluate(TASK, CONFIG, seed=1, checkpoint_dir=folder).close()
    assert json.loads((folder / IDENTITY).read_text())["seed"] == 1
    for other in ({"seed": 2}, {"config": {**CONFIG, "momentum": 0.5}}, {"warm_start": "gauss"}):
        with pytest.raises(ValueError, match="holds the evaluation of .* give each configuration, seed and warm"):
            evaluate(TASK, other.pop("config", CONFIG), checkpoint_dir=folder, **other)


def test_a_trial_checkpoint_that_no_evaluation_wrote_is_refused(tmp_path):
    folder = tmp_path / "run-trial"
    folder.mkdir()
    (folder / CHECKPOINT).write_bytes(b"")
    with pytest.raises(ValueError, match="holds a trial checkpoint but no evaluation.json"):
        evaluate(TASK, CONFIG, checkpoint_dir=folder)


def test_a_checkpoint_without_its_reports_is_refused(tmp_path):
    """A checkpoint written before trials kept their reports cannot give the curve back: refused, not
    resumed with its first epochs missing."""
    folder = tmp_path / "c"
    with evaluate(TASK, CONFIG, checkpoint_dir=folder) as evaluation:
        evaluation.train_to(1)
    state = torch.load(folder / CHECKPOINT, weights_only=True)
    del state["reports"]
    torch.save(state, folder / CHECKPOINT)
    with pytest.raises(ValueError, match="holds 1 trained epoch.s. but the reports of 0"):
        evaluate(TASK, CONFIG, checkpoint_dir=folder)
