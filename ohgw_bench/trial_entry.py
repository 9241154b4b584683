"""Script that syne-tune's LocalBackend (``--backend subprocess``) runs for each trial start or resume.

syne-tune passes ``--st_config_json_filename`` (the config, our constants included) and
``--st_checkpoint_dir`` (``<backend path>/<trial_id>/checkpoints``). The trial follows the
run's process (``RUN_PID_ENV``) and ends itself when the run is gone, so a killed run
leaves no trial behind to write into a later run's folder.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# Keys the runner adds to every config as constants.
TASK_KEY = "ohgw_task"
WARM_START_KEY = "ohgw_warm_start"
WARM_START_PARAMS_KEY = "ohgw_warm_start_params"
SEED_KEY = "ohgw_seed"
THREADS_KEY = "ohgw_threads"
TABLE_KEY = "ohgw_configs_from"  # a twin table's folder: train each configuration with the table's trial seed
GRAPHS_KEY = "ohgw_graphs"  # 1: CUDA graphs where the task allows them; 0: the run's --no-graphs
#: environment variable holding the pid of the run that started the trial
RUN_PID_ENV = "OHGW_BENCH_RUN_PID"


def trial_setup(config: Mapping[str, Any], trial_id: int):
    """The :class:`~ohgw_bench.trial.TrialSetup` encoded in a scheduler's config (both backends)."""
    from ohgw_bench.registry import get_task
    from ohgw_bench.specs import MAX_RESOURCE_ATTR
    from ohgw_bench.table.replay import open_table
    from ohgw_bench.trial import TrialSetup, trial_seed

    if TABLE_KEY in config:
        seed = open_table(config[TABLE_KEY]).seed_of(dict(config), get_task(config[TASK_KEY]).space.names)
    else:
        seed = trial_seed(int(config[SEED_KEY]), trial_id)
    return TrialSetup(
        warm_start=config[WARM_START_KEY],
        warm_start_params=json.loads(config[WARM_START_PARAMS_KEY]),
        seed=seed,
        max_epoch=int(config[MAX_RESOURCE_ATTR]),
        graphs=bool(int(config.get(GRAPHS_KEY, 1))),
    )


def main() -> None:
    from ohgw_bench.execution.lifeline import exit_when_gone, kill_me_with_parent

    kill_me_with_parent()
    if RUN_PID_ENV in os.environ:
        exit_when_gone(int(os.environ[RUN_PID_ENV]))
    parser = argparse.ArgumentParser()
    parser.add_argument("--st_config_json_filename", required=True)
    parser.add_argument("--st_checkpoint_dir", required=True)
    args, _ = parser.parse_known_args()
    config = json.loads(Path(args.st_config_json_filename).read_text())

    import torch
    from syne_tune import Reporter

    from ohgw_bench.registry import get_task
    from ohgw_bench.trial import prepare_process, run_trial

    torch.set_num_threads(int(config.get(THREADS_KEY, 1)))
    checkpoint_dir = Path(args.st_checkpoint_dir)
    setup = trial_setup(config, int(checkpoint_dir.parent.name))
    task = get_task(config[TASK_KEY])
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    # Paid by every trial process, as by a warm worker once: not the trial's own work.
    data = prepare_process(task, device, setup.warm_start, setup.warm_start_params)
    run_trial(task, config, setup, checkpoint_dir, Reporter(), device, data=data)


if __name__ == "__main__":
    main()
