"""Drive a task's in-process objective with a plain random search (no syne-tune), and compare
the sampled configs with their OHGW warm-started versions on the same trial seed.

    .venv/bin/python examples/objective_function.py [--task digits-cnn] [--n 4] [--epochs 3]
"""

from __future__ import annotations

import argparse
import random

from ohgw_bench.core.registry import get_task
from ohgw_bench.execution.objective import objective_function


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--task", default="digits-cnn")
    parser.add_argument("--n", type=int, default=4, help="configurations to try")
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    task = get_task(args.task)
    rng = random.Random(0)
    for i in range(args.n):
        config = {h.name: rng.uniform(h.low, h.high) for h in task.space.hyperparameters}
        plain = objective_function(task, config, args.epochs, seed=i)
        warm = objective_function(task, config, args.epochs, seed=i, warm_start="ohgw", warm_start_params={"eta": 0.1})
        print(
            f"config {i}: val_acc {plain.val_acc:.4f} (none, {plain.cost_seconds:.2f} s) vs "
            f"{warm.val_acc:.4f} (ohgw eta=0.1, {warm.cost_seconds:.2f} s, "
            f"warm start {warm.warm_start.seconds:.3f} s); "
            f"log10_lr {config['log10_lr']:.4f} -> {warm.config_used['log10_lr']:.4f}"
        )


if __name__ == "__main__":
    main()
