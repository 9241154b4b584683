"""Seconds per epoch of a task on one CPU thread: the hot path's Trainer at the centre of the space,
four epochs (train, then evaluate validation and test), median of epochs 2-4.

    PYTHONPATH=. python scripts/epoch_seconds.py shakespeare-charlm
"""

from __future__ import annotations

import statistics
import sys
import time

import torch

from ohgw_bench.core.registry import get_task
from ohgw_bench.core.space import TrainingHparams
from ohgw_bench.execution.train import Trainer


def main(name: str) -> None:
    torch.set_num_threads(1)
    task = get_task(name)
    data = task.load_data()
    config = {h.name: (h.low + h.high) / 2 for h in task.space.hyperparameters}
    torch.manual_seed(0)
    trainer = Trainer(
        task.create_model(data.num_classes),
        data,
        TrainingHparams.from_config(config),
        train_inputs=task.train_inputs,
        eval_inputs=task.eval_inputs,
        batch_size=task.batch_size,
        max_epochs=task.max_epochs,
        seed=0,
        eval_batch_size=task.eval_batch_size,
    )
    times = []
    for _ in range(4):
        started = time.perf_counter()
        trainer.run_epoch()
        times.append(time.perf_counter() - started)
    print(f"{name}: epoch seconds {[round(t, 3) for t in times]}, median of 2-4 {statistics.median(times[1:]):.3f}")


if __name__ == "__main__":
    main(sys.argv[1])
