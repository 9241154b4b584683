"""syne-tune's own simulator on a twin table exported as a syne-tune blackbox: ASHA as the suite's
`asha` runs it, timed by the suite's simulator clock, so it makes the suite's replay's decisions
(tests/table/test_export.py checks that on a small table). Needs fastparquet (the test extra has it).

    .venv/bin/python examples/syne_tune_replay.py [--table mnist1d-cnn] [--arm 'ohgw(eta=1)'] [--budget 600]
"""

from __future__ import annotations

import argparse
import os
import tempfile

from syne_tune import Tuner
from syne_tune.blackbox_repository.blackbox_tabular import deserialize  # reads Parquet with fastparquet
from syne_tune.blackbox_repository.simulated_tabular_backend import UserBlackboxBackend
from syne_tune.optimizer.baselines import ASHA

from ohgw_bench.execution.simulator_clock import simulator_clock
from ohgw_bench.table.export import export_syne_tune


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default="mnist1d-cnn", help="a committed table's name or a table's folder")
    parser.add_argument("--arm", default="ohgw(eta=1)", help="one of the table's arms")
    parser.add_argument("--seed", type=int, default=0, help="the scheduler's seed")
    parser.add_argument("--budget", type=float, default=600.0, help="simulated seconds")
    args = parser.parse_args(argv)
    scratch = tempfile.mkdtemp(prefix="syne-tune-replay-")
    os.environ["SYNETUNE_FOLDER"] = scratch  # where syne-tune's Tuner keeps its files
    out = export_syne_tune(args.table, os.path.join(scratch, "blackbox")).out
    blackbox = deserialize(str(out))[args.arm]  # one blackbox per arm
    epochs = int(max(blackbox.fidelity_values))
    clock = simulator_clock()
    backend = UserBlackboxBackend(
        blackbox,
        elapsed_time_attr="trial_seconds",
        max_resource_attr="epochs",
        seed=args.seed,
        simulator_config=clock.simulator_config,
    )
    configs = blackbox.hyperparameters.to_dict("records")  # the table's configurations, the only ones it holds
    scheduler = ASHA(
        {**blackbox.configuration_space, "epochs": epochs},
        metric="val_acc",
        mode="max",
        resource_attr="epoch",
        max_resource_attr="epochs",
        type="stopping",
        points_to_evaluate=[],
        random_seed=args.seed,
        search_options={"restrict_configurations": configs, "allow_duplicates": True},
    )
    tuner = Tuner(
        trial_backend=backend,
        scheduler=scheduler,
        n_workers=2,
        stop_criterion=lambda status: clock.now() >= args.budget,
        sleep_time=clock.sleep_time,
        callbacks=[clock.callback],
        save_tuner=False,
    )
    tuner.run()
    status = tuner.tuning_status
    best = status.overall_metric_statistics.max_metrics.get("val_acc")
    print(f"{args.arm} on {args.table}: {status.num_trials_started} trials, best val_acc {best}, {clock.now():.0f} s")


if __name__ == "__main__":
    main()
