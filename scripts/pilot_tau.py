"""A τ pilot: N scrambled-Sobol configurations of a task's space, each trained at full fidelity on ONE CPU
thread; prints each curve's best validation accuracy and first epoch at a few candidate τ, and the share
of configurations that reach each candidate.

    OHGW_BENCH_DATA=DIR PYTHONPATH=. python scripts/pilot_tau.py TASK --configs 8 --seed 0
"""

from __future__ import annotations

import argparse
import json
import time

import torch


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("task")
    parser.add_argument("--configs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--taus", default="")
    parser.add_argument("--out", default="", help="write the configurations and their curves here (JSON)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    from scipy.stats import qmc

    from ohgw_bench.core.registry import get_task
    from ohgw_bench.core.space import TrainingHparams
    from ohgw_bench.execution.train import Trainer

    task = get_task(args.task)
    data = task.load_data()
    hps = task.space.hyperparameters
    unit = qmc.Sobol(d=len(hps), scramble=True, seed=args.seed).random(args.configs)
    curves, configs = [], []
    for k, u in enumerate(unit):
        config = {h.name: h.low + float(v) * (h.high - h.low) for h, v in zip(hps, u, strict=True)}
        torch.manual_seed(k)
        trainer = Trainer(
            task.create_model(data.num_classes),
            data,
            TrainingHparams.from_config(config),
            train_inputs=task.train_inputs,
            eval_inputs=task.eval_inputs,
            batch_size=task.batch_size,
            eval_batch_size=task.eval_batch_size,
            max_epochs=task.max_epochs,
            seed=k,
        )
        t0 = time.perf_counter()
        accs = [trainer.run_epoch().val_acc for _ in range(task.max_epochs)]
        seconds = time.perf_counter() - t0
        curves.append(accs)
        configs.append(config)
        shown = {n: round(v, 3) for n, v in config.items()}
        print(json.dumps({"config": shown, "best": max(accs), "epoch1": accs[0], "s_per_epoch": seconds / len(accs)}))
    if args.out:
        rows = [{"config": c, "val_acc": a} for c, a in zip(configs, curves, strict=True)]
        with open(args.out, "w") as f:
            json.dump({"task": args.task, "seed": args.seed, "runs": rows}, f)
    taus = [float(t) for t in args.taus.split(",")] if args.taus else sorted({round(max(c), 2) for c in curves})
    for tau in taus:
        firsts = [next((e + 1 for e, a in enumerate(c) if a >= tau), None) for c in curves]
        reached = [f for f in firsts if f is not None]
        print(f"tau={tau:.3f}: {len(reached)}/{len(curves)} configurations reach it, first epochs {firsts}")


if __name__ == "__main__":
    main()
