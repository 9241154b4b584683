"""A twin table answers the per-epoch evaluation interface with its rows, and a benchmark switches between
training and the table with one argument."""

from __future__ import annotations

import math
import re

import pytest
import torch

from ohgw_bench.execution.backends.table import ReplayTable, open_table
from ohgw_bench.execution.benchmark import arm_label, open_benchmark
from ohgw_bench.execution.table_evaluation import evaluate_in_table, evaluate_table
from tests.helpers import twin

MEASURED = ("val_acc", "val_loss", "test_acc", "train_loss", "trial_flops")


def cell_rows(table_dir, config_id: int, arm: str):
    frame = open_table(str(table_dir)).frame
    return frame[(frame["config_id"] == config_id) & (frame["arm"] == arm)].sort_values("epoch")


@pytest.mark.parametrize("arm", [twin.ARMS[0], twin.OHGW])
def test_the_tables_answers_are_its_rows(twin_table, arm):
    rows = cell_rows(twin_table, 2, arm)
    evaluation = evaluate_table(twin_table, 2, warm_start=arm)
    assert evaluation.max_epochs == twin.EPOCHS and evaluation.seed == int(rows["seed"].iloc[0])
    assert [r.epoch for r in evaluation.train_to(2)] == [1, 2]
    assert [r.epoch for r in evaluation.epochs()] == list(range(3, twin.EPOCHS + 1))
    for name in (*MEASURED, "trial_seconds"):  # the recorded cumulative seconds are the virtual time
        assert [getattr(r, name) for r in evaluation.curve] == rows[name].tolist()
    assert all(math.isnan(r.test_loss) and not r.diverged for r in evaluation.curve)
    record = evaluation.warm_start
    first = rows.iloc[0]
    assert record.config_used == {k: float(first[f"used_{k}"]) for k in evaluation.config}
    assert record.seconds == first["warm_start_seconds"] < evaluation.curve[0].trial_seconds
    assert (record.config_used != record.config_sampled) == (arm == twin.OHGW)


def test_a_configuration_is_found_by_its_coordinates(twin_table):
    table = open_table(str(twin_table))
    config = table.configs(tuple(table.meta["configs"][0]["values"]))[3]
    by_values = evaluate_table(twin_table, config, warm_start=twin.OHGW)
    assert by_values.config_id == 3 and by_values.config == config
    assert by_values.train_to(twin.EPOCHS) == evaluate_table(twin_table, 3, warm_start=twin.OHGW).train_to(twin.EPOCHS)


def test_a_checkpointed_table_evaluation_resumes_as_a_live_one_does(twin_table, tmp_path):
    """An optimizer that resumes promoted configurations is charged the same epochs on the table as live."""
    folder = tmp_path / "cell"
    with evaluate_table(twin_table, 1, warm_start=twin.OHGW, checkpoint_dir=folder) as first:
        first.train_to(2)
    later = evaluate_table(twin_table, 1, warm_start=twin.OHGW, checkpoint_dir=folder)
    assert later.curve == first.curve and later.epochs_trained == 0
    assert later.at(4) == later.curve[-1] and [r.epoch for r in later.curve] == [1, 2, 3, 4]
    assert later.epochs_trained == 2 and later.curve == evaluate_table(twin_table, 1, twin.OHGW).train_to(4)
    with pytest.raises(ValueError, match="holds the evaluation of .* give each configuration, seed and warm start"):
        evaluate_table(twin_table, 2, warm_start=twin.OHGW, checkpoint_dir=folder)


def test_a_diverged_cell_ends_early_as_a_trial_does(twin_table):
    """A diverged cell holds its epochs up to the one whose loss stopped being finite: the curve ends there,
    flagged, and asking for more measures nothing."""
    table = open_table(str(twin_table))
    frame = table.frame
    cut = (frame["config_id"] == 1) & (frame["arm"] == "none")
    frame = frame[~cut | (frame["epoch"] <= 2)].copy()
    frame.loc[cut & (frame["epoch"] <= 2), "diverged"] = True
    diverged = ReplayTable(table.path, frame.reset_index(drop=True), table.meta)
    evaluation = evaluate_in_table(diverged, 1, "none")
    assert [(r.epoch, r.diverged) for r in evaluation.train_to(twin.EPOCHS)] == [(1, False), (2, True)]
    assert evaluation.diverged and evaluation.train_to(twin.EPOCHS) == () and list(evaluation.epochs()) == []
    assert evaluation.at(twin.EPOCHS) == evaluation.curve[-1]  # a budget past the end: the last epoch measured


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"config": 99}, "has no config_id 99; it holds 0-5"),
        ({"config": "values"}, "is not one of the 6 configurations of the table at"),
        ({"warm_start": "ohgw"}, "has no arm 'ohgw'; it holds none, "),
        ({"seed": 12345}, "trained configuration 0 with trial seed"),
        ({"config": {"log10_lr": -1.0}}, "config lacks log10_wd"),
    ],
)
def test_what_the_table_cannot_answer_is_refused(twin_table, kwargs, message):
    config = kwargs.pop("config", 0)
    if config == "values":  # a configuration of the space, not of the table
        values = dict(open_table(str(twin_table)).meta["configs"][0]["values"])
        config = {**values, "momentum": values["momentum"] / 2}
    with pytest.raises(ValueError, match=re.escape(message)):
        evaluate_table(twin_table, config, **kwargs)


def test_an_epoch_past_the_table_is_refused(twin_table):
    with pytest.raises(ValueError, match=re.escape(f"epoch=6 must be an integer in [1, {twin.EPOCHS}] for the table")):
        evaluate_table(twin_table, 0).train_to(6)


@pytest.mark.parametrize(("warm_start", "params"), [("none", {}), ("ohgw", {"eta": 1.0})])
def test_live_training_gives_the_tables_curve(twin_table, warm_start, params):
    """The table was built by objective_function with one torch thread: the live evaluation of one of its
    configurations with its trial seed measures the same numbers, and the code differs by one argument."""
    before = torch.get_num_threads()
    torch.set_num_threads(twin.THREADS)
    curves = {}
    try:
        for name in (twin.TASK, f"table:{twin_table}"):
            bench = open_benchmark(name)
            config, seed = bench_config(twin_table, 4)
            with bench.evaluate(config, seed=seed, warm_start=warm_start, warm_start_params=params) as evaluation:
                curves[name] = [tuple(getattr(r, m) for m in MEASURED) for r in evaluation.epochs(up_to=twin.EPOCHS)]
                assert evaluation.warm_start is not None and evaluation.warm_start.config_sampled == config
    finally:
        torch.set_num_threads(before)
    assert curves[twin.TASK] == curves[f"table:{twin_table}"]


def bench_config(table_dir, config_id: int) -> tuple[dict[str, float], int]:
    entry = open_table(str(table_dir)).meta["configs"][config_id]
    return dict(entry["values"]), int(entry["seed"])


def test_the_benchmark_says_what_each_side_holds(twin_table):
    live, table = open_benchmark(twin.TASK), open_benchmark(f"table:{twin_table}")
    assert live.space == table.space and live.max_epochs == 27 and table.max_epochs == twin.EPOCHS
    assert table.arms == twin.ARMS and live.arms is None
    assert table.configs[0] == bench_config(twin_table, 0)[0] and len(table.configs) == twin.N_CONFIGS
    with pytest.raises(ValueError, match="trains live: any configuration in its space can be evaluated"):
        live.configs  # noqa: B018
    with pytest.raises(ValueError, match="trains live: pass a configuration, not 0"):
        live.evaluate(0)
    assert table.evaluate(0).seed == bench_config(twin_table, 0)[1]  # seed None: the recorded one


@pytest.mark.parametrize(
    ("warm_start", "params", "label"),
    [
        ("none", None, "none"),
        ("ohgw", {"eta": 1}, "ohgw(eta=1)"),
        ("ohgw", {"eta": 1e-3}, "ohgw"),
        ("gauss", {"sigma": 0.0}, "gauss(sigma=0)"),
        ("ohgw", {"eta": 0.5, "steps": 2}, "ohgw(eta=0.5,steps=2)"),
    ],
)
def test_arm_labels_are_the_tables_spelling(warm_start, params, label):
    assert arm_label(warm_start, params) == label
