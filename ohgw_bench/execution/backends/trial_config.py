"""The keys the runner adds to every scheduler config, and the trial setup decoded from them.

Both trial backends (warm workers and syne-tune's LocalBackend) receive only the scheduler's
config, so what a trial needs beyond the hyperparameters travels in it as constants.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
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


def warm_start_of(config: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The warm start and its parameters (as named) that a config carries."""
    return config[WARM_START_KEY], json.loads(config[WARM_START_PARAMS_KEY])


def trial_setup(config: Mapping[str, Any], trial_id: int):
    """The :class:`~ohgw_bench.execution.trial.TrialSetup` encoded in a scheduler's config (both backends)."""
    from ohgw_bench.core.registry import get_task
    from ohgw_bench.core.specs import MAX_RESOURCE_ATTR
    from ohgw_bench.execution.backends.table import open_table
    from ohgw_bench.execution.trial import TrialSetup, trial_seed

    if TABLE_KEY in config:
        seed = open_table(config[TABLE_KEY]).seed_of(dict(config), get_task(config[TASK_KEY]).space.names)
    else:
        seed = trial_seed(int(config[SEED_KEY]), trial_id)
    warm_start, params = warm_start_of(config)
    return TrialSetup(
        warm_start=warm_start,
        warm_start_params=params,
        seed=seed,
        max_epoch=int(config[MAX_RESOURCE_ATTR]),
        graphs=bool(int(config.get(GRAPHS_KEY, 1))),
    )
