"""Every registered task honours the task contract: its data, inputs, model, a training step, every
registered warm start and an evaluation all work on a tiny slice (CIFAR-10 from the session's fixture in
the official format). Driven by the registry: a new task file is covered without touching this test."""

from __future__ import annotations

import math

import pytest
import torch

from ohgw_bench.core.registry import get_task, list_tasks, list_warm_starts
from ohgw_bench.core.seeding import seeded_generator
from ohgw_bench.core.space import TrainingHparams
from ohgw_bench.core.splits import DataSplits
from ohgw_bench.execution.train import Trainer
from ohgw_bench.warmstarts import WarmStartContext, apply_warm_start

N = 16


def _tiny(data: DataSplits) -> DataSplits:
    return DataSplits(
        data.train_x[:N],
        data.train_y[:N],
        data.val_x[:N],
        data.val_y[:N],
        data.test_x[:N],
        data.test_y[:N],
        data.num_classes,
        dict(data.info),
    )


@pytest.mark.parametrize("name", list_tasks())
def test_task_contract(name, data_dir, monkeypatch):
    monkeypatch.setenv("OHGW_BENCH_DATA", str(data_dir.path))
    task = get_task(name)
    assert task.space.names == ("log10_lr", "log10_wd", "momentum", "aug_magnitude", "label_smoothing")
    assert 0.0 < task.target < 1.0 and task.max_epochs >= 3 and task.metric == "val_acc"
    data = _tiny(task.load_data())
    assert data.train_y.dtype == torch.int64 and data.num_classes >= 2 and isinstance(data.info, dict)

    # inputs: a float batch of the raw batch's shape; deterministic in the generator; m matters
    gen = lambda: seeded_generator(torch.device("cpu"), 1, 2)  # noqa: E731
    magnitude = task.space["aug_magnitude"].high
    a, b = task.train_inputs(data.train_x, magnitude, gen()), task.train_inputs(data.train_x, magnitude, gen())
    assert a.dtype == torch.float32 and a.shape == data.train_x.shape and torch.equal(a, b)
    assert not torch.equal(a, task.train_inputs(data.train_x, 0.0, gen()))
    assert task.eval_inputs(data.val_x).dtype == torch.float32

    config = {h.name: (h.low + h.high) / 2 for h in task.space.hyperparameters}
    for warm_start in list_warm_starts():
        torch.manual_seed(0)
        model = task.create_model(data.num_classes)
        before = {k: v.clone() for k, v in model.state_dict().items()}
        ctx = WarmStartContext(model, data, task.space, task.train_inputs, task.eval_inputs, 4, 0, torch.device("cpu"))
        outcome = apply_warm_start(warm_start, {}, config, ctx)
        assert set(outcome.config_used) == set(task.space.names), warm_start
        assert all(math.isfinite(v) for v in outcome.config_used.values()), warm_start
        assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items()), warm_start  # w0 untouched

    trainer = Trainer(
        model,
        data,
        TrainingHparams.from_config(config),
        train_inputs=task.train_inputs,
        eval_inputs=task.eval_inputs,
        batch_size=N,
        max_epochs=task.max_epochs,
        seed=0,
    )
    result = trainer.run_epoch()  # one training step on the slice, then validation and test
    assert math.isfinite(result.train_loss) and 0.0 <= result.val_acc <= 1.0 and 0.0 <= result.test_acc <= 1.0
    assert any(not torch.equal(v, model.state_dict()[k]) for k, v in before.items() if v.is_floating_point())
