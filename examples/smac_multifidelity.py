"""SMAC's multi-fidelity facade (Hyperband, budget = epochs) through the checkpointed per-epoch
evaluation: each configuration keeps a checkpoint folder, so one promoted to a larger budget resumes
where it stopped instead of training its first epochs again. On a twin table (``--task table:PATH``) the
same loop looks the curves up.

    .venv/bin/python examples/smac_multifidelity.py [--task digits-cnn] [--trials 30] [--epochs 9]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
from pathlib import Path

from ConfigSpace import ConfigurationSpace
from smac import MultiFidelityFacade, Scenario

from ohgw_bench.execution.benchmark import open_benchmark


def main(argv: list[str] | None = None) -> dict[str, int]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="digits-cnn", help="a task, or table:PATH for a twin table")
    parser.add_argument("--trials", type=int, default=30, help="SMAC's trials: (configuration, budget) pairs")
    parser.add_argument("--epochs", type=int, default=9, help="the largest budget")
    parser.add_argument("--warm-start", default="ohgw", help="on a table: one of its arms' warm starts")
    parser.add_argument("--eta", type=float, default=1.0, help="the warm start's step (ohgw, random)")
    parser.add_argument("--out", type=Path, default=None, help="SMAC's output and the checkpoints (default: temporary)")
    args = parser.parse_args(argv)
    bench = open_benchmark(args.task)
    params = {"eta": args.eta} if args.warm_start in ("ohgw", "random") else {}
    with tempfile.TemporaryDirectory(prefix="smac-") as scratch:
        out = args.out or Path(scratch)
        epochs = {"asked": 0, "trained": 0}

        def train(config, seed: int, budget: float) -> float:
            """SMAC's target function; its ``seed`` is not the trial seed: that is the benchmark's (0 live, the
            one a table recorded), so that live training and the table answer the same question."""
            values = dict(config)
            key = hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:16]
            chosen = values if bench.table is None else int(values["config_id"])
            with bench.evaluate(
                chosen, warm_start=args.warm_start, warm_start_params=params, checkpoint_dir=out / "checkpoints" / key
            ) as evaluation:
                report = evaluation.at(round(budget))  # trains only the epochs the folder does not hold
                epochs["asked"] += round(budget)
                epochs["trained"] += evaluation.epochs_trained
                return 1.0 - report.val_acc

        space = bench.space.to_configspace(seed=0) if bench.table is None else _config_ids(len(bench.configs))
        scenario = Scenario(
            space,
            deterministic=True,
            n_trials=args.trials,
            min_budget=1,
            max_budget=args.epochs,
            output_directory=out / "smac",
            seed=0,
        )
        intensifier = MultiFidelityFacade.get_intensifier(scenario, eta=3)
        smac = MultiFidelityFacade(scenario, train, intensifier=intensifier, overwrite=True, logging_level=40)
        incumbent = smac.optimize()
    print(
        f"{args.trials} trials on {bench.name}: {epochs['trained']} epochs trained for {epochs['asked']} asked "
        f"(promotions resumed); incumbent {dict(incumbent)}"
    )
    return epochs


def _config_ids(n: int) -> ConfigurationSpace:
    """A table's space: which of its configurations (SMAC models the id as an integer)."""
    return ConfigurationSpace({"config_id": (0, n - 1)}, seed=0)


if __name__ == "__main__":
    main()
