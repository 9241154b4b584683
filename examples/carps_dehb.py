"""CARP-S's own DEHB optimizer on a suite task or twin table through the CARP-S adapter: epochs are the
fidelity, and a configuration DEHB promotes resumes from its checkpoint instead of training again.
Needs the optional extra: pip install -e '.[carps]'.

    .venv/bin/python examples/carps_dehb.py [--task digits-cnn] [--trials 3] [--max-epochs 9]
    .venv/bin/python examples/carps_dehb.py --task table:results/mnist1d-cnn-table --trials 10
"""

from __future__ import annotations

import argparse
import tempfile

from carps.optimizers.dehb import DEHBOptimizer
from omegaconf import OmegaConf

from ohgw_bench.execution.carps_objective import OhgwObjective, carps_task


def main(argv: list[str] | None = None) -> OhgwObjective:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="digits-cnn", help="a task, or table:PATH for a twin table")
    parser.add_argument("--trials", type=int, default=3, help="CARP-S's budget in full-fidelity trials")
    parser.add_argument("--max-epochs", type=int, default=None, help="the largest budget (default: all epochs)")
    parser.add_argument("--warm-start", default="ohgw", help="on a table: one of its arms' warm starts")
    parser.add_argument("--eta", type=float, default=1.0, help="the warm start's step (ohgw, random)")
    parser.add_argument("--seed", type=int, default=0, help="DEHB's seed")
    args = parser.parse_args(argv)
    params = {"eta": args.eta} if args.warm_start in ("ohgw", "random") else {}
    with tempfile.TemporaryDirectory(prefix="carps-dehb-") as scratch:
        objective = OhgwObjective(args.task, args.warm_start, params, checkpoint_root=f"{scratch}/checkpoints")
        task = carps_task(objective, n_trials=args.trials, max_epochs=args.max_epochs)
        dehb = OmegaConf.create(
            {"mutation_factor": 0.5, "crossover_prob": 0.5, "strategy": "rand1_bin", "seed": args.seed, "eta": 3}
            | {"output_path": f"{scratch}/dehb"}
        )
        info, value = DEHBOptimizer(task, dehb, expects_fidelities=True).run()
    print(f"incumbent {dict(info.config)}: validation accuracy {1 - value.cost:.4f}")
    print(f"{objective.n_function_calls} evaluations, {objective.epochs_trained} epochs trained or looked up")
    return objective


if __name__ == "__main__":
    main()
