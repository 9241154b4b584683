"""An Optuna study through the per-epoch evaluation: TPE proposes, a successive-halving pruner stops
trials between epochs, and a pruned trial has trained only the epochs it was judged on. On a twin table
(``--task table:PATH``) the same study looks the curves up, the recorded seconds as its clock.

    .venv/bin/python examples/optuna_pruning.py [--task digits-cnn] [--trials 20] [--epochs 9]
    .venv/bin/python examples/optuna_pruning.py --task table:results/mnist1d-cnn-table --trials 50
"""

from __future__ import annotations

import argparse

import optuna

from ohgw_bench.execution.benchmark import open_benchmark


def main(argv: list[str] | None = None) -> optuna.Study:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="digits-cnn", help="a task, or table:PATH for a twin table")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=None, help="the largest budget (default: all epochs)")
    parser.add_argument("--warm-start", default="ohgw", help="on a table: one of its arms' warm starts")
    parser.add_argument("--eta", type=float, default=1.0, help="the warm start's step (ohgw, random)")
    parser.add_argument("--seed", type=int, default=0, help="the sampler's seed")
    args = parser.parse_args(argv)
    bench = open_benchmark(args.task)
    epochs = args.epochs or bench.max_epochs
    params = {"eta": args.eta} if args.warm_start in ("ohgw", "random") else {}

    def objective(trial: optuna.Trial) -> float:
        if bench.table is None:  # live: any configuration of the space
            config = {h.name: trial.suggest_float(h.name, h.low, h.high) for h in bench.space.hyperparameters}
        else:  # a table answers only for its own configurations
            config = trial.suggest_int("config_id", 0, len(bench.configs) - 1)
        with bench.evaluate(config, warm_start=args.warm_start, warm_start_params=params) as evaluation:
            for report in evaluation.epochs(up_to=epochs):
                trial.report(report.val_acc, report.epoch)
                trial.set_user_attr("epochs", report.epoch)
                trial.set_user_attr("seconds", report.trial_seconds)
                if report.epoch < epochs and trial.should_prune():
                    raise optuna.TrialPruned()
            return evaluation.curve[-1].val_acc

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=args.seed),
        pruner=optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3),
    )
    study.optimize(objective, n_trials=args.trials)
    pruned = [t for t in study.trials if t.state == optuna.trial.TrialState.PRUNED]
    trained = sum(t.user_attrs.get("epochs", 0) for t in study.trials)
    seconds = sum(t.user_attrs.get("seconds", 0.0) for t in study.trials)
    print(
        f"{len(study.trials)} trials on {bench.name}, {len(pruned)} pruned: {trained} epochs of "
        f"{len(study.trials) * epochs}, {seconds:.1f} trial seconds; best val_acc {study.best_value:.4f} "
        f"with {study.best_params}"
    )
    return study


if __name__ == "__main__":
    main()
