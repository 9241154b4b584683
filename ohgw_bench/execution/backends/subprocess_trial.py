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
from pathlib import Path


def main() -> None:
    from ohgw_bench.execution.backends.trial_config import RUN_PID_ENV, TASK_KEY, THREADS_KEY, trial_setup
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

    from ohgw_bench.core.registry import get_task
    from ohgw_bench.execution.trial import count_warm_start_flops, prepare_process, run_trial

    torch.set_num_threads(int(config.get(THREADS_KEY, 1)))
    checkpoint_dir = Path(args.st_checkpoint_dir)
    setup = trial_setup(config, int(checkpoint_dir.parent.name))
    task = get_task(config[TASK_KEY])
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    # Paid by every trial process, as by a warm worker once: not the trial's own work.
    data = prepare_process(task, device)
    count_warm_start_flops(task, data, setup.warm_start, setup.warm_start_params)
    run_trial(task, config, setup, checkpoint_dir, Reporter(), device, data=data)


if __name__ == "__main__":
    main()
