"""A task's τ/max-epochs pilot: N scrambled-Sobol configurations of its space (seed 0) trained at full
fidelity on one CPU thread with the hot path's Trainer; prints each configuration's validation curve,
best validation accuracy and epoch seconds, as JSON lines.

    PYTHONPATH=. python scripts/task_pilot.py shakespeare-charlm --configs 8 [--epochs E]
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from scipy.stats import qmc

from ohgw_bench.core.registry import get_task
from ohgw_bench.core.space import TrainingHparams
from ohgw_bench.execution.train import Trainer


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("task")
    ap.add_argument("--configs", type=int, default=8)
    ap.add_argument("--epochs", type=int, default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    task = get_task(args.task)
    epochs = args.epochs or task.max_epochs
    data = task.load_data()
    hps = task.space.hyperparameters
    points = qmc.Sobol(d=len(hps), scramble=True, seed=0).random(args.configs)
    for i, u in enumerate(points):
        config = {h.name: h.low + float(v) * (h.high - h.low) for h, v in zip(hps, u, strict=True)}
        torch.manual_seed(i)
        trainer = Trainer(
            task.create_model(data.num_classes),
            data,
            TrainingHparams.from_config(config),
            train_inputs=task.train_inputs,
            eval_inputs=task.eval_inputs,
            batch_size=task.batch_size,
            max_epochs=epochs,
            seed=i,
            eval_batch_size=task.eval_batch_size,
        )
        curve, started = [], time.perf_counter()
        for _ in range(epochs):
            curve.append(round(trainer.run_epoch().val_acc, 4))
        seconds = (time.perf_counter() - started) / epochs
        row = {"config": {k: round(v, 4) for k, v in config.items()}, "best_val_acc": max(curve)}
        print(json.dumps({**row, "epoch_seconds": round(seconds, 3), "val_acc": curve}), flush=True)


if __name__ == "__main__":
    main()
