"""Script that syne-tune's LocalBackend runs for each trial start or resume.

syne-tune passes ``--st_config_json_filename`` (the config, our constants included) and
``--st_checkpoint_dir`` (``<backend path>/<trial_id>/checkpoints``).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

# Keys the runner adds to every config as constants.
TASK_KEY = "ohgw_task"
WARM_START_KEY = "ohgw_warm_start"
WARM_START_PARAMS_KEY = "ohgw_warm_start_params"
SEED_KEY = "ohgw_seed"
THREADS_KEY = "ohgw_threads"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--st_config_json_filename", required=True)
    parser.add_argument("--st_checkpoint_dir", required=True)
    args, _ = parser.parse_known_args()
    config = json.loads(Path(args.st_config_json_filename).read_text())

    import torch
    from syne_tune import Reporter

    from ohgw_bench.optimizers.syne_tune_schedulers import MAX_RESOURCE_ATTR
    from ohgw_bench.registry import get_task
    from ohgw_bench.trial import TrialSetup, run_trial, trial_seed

    torch.set_num_threads(int(config.get(THREADS_KEY, 1)))
    task = get_task(config[TASK_KEY])
    checkpoint_dir = Path(args.st_checkpoint_dir)
    trial_id = int(checkpoint_dir.parent.name)
    setup = TrialSetup(warm_start=config[WARM_START_KEY], warm_start_params=json.loads(config[WARM_START_PARAMS_KEY]),
                       seed=trial_seed(int(config[SEED_KEY]), trial_id), max_epoch=int(config[MAX_RESOURCE_ATTR]))
    run_trial(task, config, setup, checkpoint_dir, Reporter())


if __name__ == "__main__":
    main()
