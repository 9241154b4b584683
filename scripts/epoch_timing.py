"""Seconds per epoch (train + validation + test) of tasks on ONE CPU thread, at the midpoint config.

    OHGW_BENCH_DATA=DIR PYTHONPATH=. python scripts/epoch_timing.py mnist1d-cnn fashion-mnist-cnn [--epochs 3]

The first epoch is reported apart (warm-up); the figure is the median of the others.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("tasks", nargs="+")
    parser.add_argument("--epochs", type=int, default=4)
    args = parser.parse_args()
    torch.set_num_threads(1)
    from ohgw_bench.core.registry import get_task
    from ohgw_bench.core.space import TrainingHparams
    from ohgw_bench.execution.train import Trainer

    for name in args.tasks:
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
            eval_batch_size=task.eval_batch_size,
            max_epochs=task.max_epochs,
            seed=0,
        )
        times = []
        for _ in range(args.epochs):
            t0 = time.perf_counter()
            r = trainer.run_epoch()
            times.append(time.perf_counter() - t0)
        n = (len(data.train_y), len(data.val_y), len(data.test_y))
        print(
            f"{name}: train/val/test {n}, first epoch {times[0]:.2f} s, median of the rest "
            f"{statistics.median(times[1:]):.2f} s/epoch; val_acc after {args.epochs}: {r.val_acc:.4f}"
        )


if __name__ == "__main__":
    main()
