"""Replay a twin table with syne-tune's own simulator: the real schedulers, the recorded curves.

A run with ``--backend table:PATH`` builds, for its warm-start arm, a syne-tune ``BlackboxTabular``
from the table's rows and hands it to ``UserBlackboxBackend`` (a ``SimulatorBackend``), so the
scheduler, the tuner loop and the pause/resume bookkeeping are syne-tune's; only training is
looked up. Choices, each recorded in the run's meta.json:

* the scheduler samples only the table's configurations (``restrict_configurations``), with
  duplicates allowed, so a long budget never runs dry (a repeat replays the same curve);
* ``--table-resample B`` replays on the B-th bootstrap resample of the table's configurations
  (as many, drawn with replacement; a configuration drawn twice is sampled twice as often): the
  replayed leaderboard's intervals then count the table's finite set of curves
  (docs/statistics.md, *Replay intervals*);
* simulated time charges each epoch its recorded seconds, plus the warm start's seconds on a
  trial's first epoch, which is how a real trial spends them, and 1 ms per start, stop and report;
  the scheduler's own compute is not charged (it would be the replaying machine's, not the table's):
  the public :func:`~ohgw_bench.execution.simulator_clock.simulator_clock`, for replays outside the suite too;
* ``--configs-from PATH`` runs a *real* run restricted the same way, each configuration training
  with the table's trial seed: with one worker it makes the decisions the replay makes
  (``tests/execution/backends/test_table.py``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ohgw_bench.core.names import parse_warm_start_name
from ohgw_bench.core.records import WARM_START_KEY, WarmStartRecord, encode_warm_start, none_if_nan
from ohgw_bench.core.registry import get_task
from ohgw_bench.core.space import SearchSpace
from ohgw_bench.core.specs import MAX_RESOURCE_ATTR, RESOURCE_ATTR, TaskSpec
from ohgw_bench.core.table_format import read_table
from ohgw_bench.core.table_space import table_space
from ohgw_bench.execution.simulator_clock import simulator_clock

ELAPSED = "elapsed"  # the simulated seconds since a trial started, the backend's clock attribute
# Numeric per-epoch columns a replayed result carries, under the names a real trial reports.
_EPOCH_METRICS = {"val_acc": "val_acc", "val_loss": "val_loss", "test_acc": "test_acc", "train_loss": "train_loss"}


class ReplayRefused(ValueError):
    """A table cannot be replayed as asked; nothing was written."""


@dataclass(frozen=True)
class ReplayTable:
    """A complete table, read once per process."""

    path: Path
    frame: pd.DataFrame
    meta: dict[str, Any]
    _ids: dict[frozenset, int] = field(init=False, repr=False)  # {configuration's items: its config_id}

    def __post_init__(self) -> None:
        ids = {_items(c["values"], c["values"]): int(c["config_id"]) for c in self.meta["configs"]}
        object.__setattr__(self, "_ids", ids)

    @property
    def sha256(self) -> str:
        return str(self.meta["table_sha256"])

    @property
    def task(self) -> str:
        return str(self.meta["spec"]["task"])

    @property
    def arms(self) -> tuple[str, ...]:
        return tuple(self.meta["spec"]["arms"])

    @property
    def epochs(self) -> int:
        return int(self.meta["spec"]["epochs"])

    @property
    def space(self) -> SearchSpace:
        """The space the table's configurations were drawn from (recorded, or its task's for an older table)."""
        return table_space(self.meta, self.path)

    def configs(self, names: tuple[str, ...]) -> list[dict[str, float]]:
        """The configurations in config_id order, as the scheduler's ``restrict_configurations``."""
        return [{k: float(c["values"][k]) for k in names} for c in self.meta["configs"]]

    def config_id_of(self, config: Mapping[str, Any], names: tuple[str, ...]) -> int | None:
        """The id of the table's configuration with ``config``'s coordinates (equal up to float noise:
        a value that went through text or float32); None for a configuration not in the table."""
        exact = self._ids.get(_items(config, names))
        if exact is not None:  # the scheduler samples the table's own values
            return exact
        for c in self.meta["configs"]:
            if all(math.isclose(float(config[k]), float(c["values"][k]), rel_tol=1e-12, abs_tol=1e-15) for k in names):
                return int(c["config_id"])
        return None

    def seed_of(self, config: dict[str, Any], names: tuple[str, ...]) -> int:
        """The trial seed the table trained ``config`` with; ReplayRefused for a configuration not in it."""
        config_id = self.config_id_of(config, names)
        if config_id is None:
            raise ReplayRefused(f"configuration {config} is not one of the table's ({self.path})")
        return next(int(c["seed"]) for c in self.meta["configs"] if int(c["config_id"]) == config_id)


def _items(config: Mapping[str, Any], names: Any) -> frozenset:
    return frozenset((k, float(config[k])) for k in names)


@cache
def open_table(path: str) -> ReplayTable:
    """The complete table at ``path`` (its folder or table.parquet), checked before use by
    :func:`~ohgw_bench.core.table_format.read_table`: meta.json's fields against their recorded digests,
    table.parquet against its recorded SHA-256, and its rows against what meta.json promises."""
    folder = Path(path)
    folder = folder.parent if folder.suffix == ".parquet" else folder
    try:
        frame, meta = read_table(folder)
        table_space(meta, folder)  # every configuration inside the space the table promises
    except (OSError, ValueError) as err:
        raise ReplayRefused(f"table {path}: {err}") from None
    return ReplayTable(folder.resolve(), frame, meta)


def check_replayable(table: ReplayTable, task: TaskSpec, arm_label: str, scheduler: Any) -> None:
    """ReplayRefused unless this table holds ``arm_label`` for ``task`` and ``scheduler`` (a SchedulerSpec)
    can be restricted to its configurations: its factory takes ``search_options``."""
    import inspect

    if table.task != task.name:
        raise ReplayRefused(f"table {table.path} is for task {table.task}, not {task.name}")
    if arm_label not in table.arms:
        raise ReplayRefused(
            f"table {table.path} has no arm {arm_label!r}; it holds {', '.join(table.arms)} "
            "(the warm start of --opt must be one of them, with the same parameters)"
        )
    if "search_options" not in inspect.signature(scheduler.factory).parameters:
        raise ReplayRefused(
            f"{scheduler.name} cannot be limited to a table's configurations (it proposes its own, e.g. dehb by "
            "differential evolution over the continuous space); run it with real training instead"
        )


def replay_task(task: TaskSpec, table: ReplayTable) -> TaskSpec:
    """The task as the scheduler sees it on this table: its maximum resource is the table's epochs
    (a CI table may hold fewer epochs than the task; the recorded cosine still spans the task's)."""
    import dataclasses

    return task if table.epochs == task.max_epochs else dataclasses.replace(task, max_epochs=table.epochs)


#: salt of the resampling generator: resample B of every table draws from the stream (salt, B)
_RESAMPLE_SALT = 0x7AB1E


def resampled(configs: list[dict[str, float]], resample: int | None) -> list[dict[str, float]]:
    """``configs`` (None), or its bootstrap resample number ``resample``: as many configurations,
    drawn with replacement by a generator that depends on ``resample`` only, in drawn order."""
    if resample is None:
        return configs
    draw = np.random.default_rng([_RESAMPLE_SALT, resample]).integers(0, len(configs), size=len(configs))
    return [configs[i] for i in draw]


def search_options(table: ReplayTable, task: TaskSpec, resample: int | None = None) -> dict[str, Any]:
    """The scheduler's restriction to the table's configurations (or to its resample ``resample``)."""
    return {"restrict_configurations": resampled(table.configs(task.space.names), resample), "allow_duplicates": True}


def padded(arm: pd.DataFrame, epochs: int) -> pd.DataFrame:
    """One arm's rows with every cell at ``epochs`` epochs: a diverged cell, which ends at the epoch where
    it diverged, repeats its last row (BlackboxTabular needs every fidelity of every configuration; a
    replay never hands those rows out, :func:`trained_epochs`), flagged diverged only on its last real
    epoch, as its trial reported it. A table without diverged cells comes back unchanged."""
    counts = arm.groupby("config_id")["epoch"].transform("size")
    if (counts == epochs).all():
        return arm
    arm = arm.copy()
    arm["diverged"] = arm["diverged"] & (arm["epoch"] == counts)
    fill = []
    for _, rows in arm[counts < epochs].groupby("config_id"):
        last = rows.iloc[[-1]]
        fill += [last.assign(epoch=e) for e in range(int(last["epoch"].iloc[0]) + 1, epochs + 1)]
    return pd.concat([arm, *fill]).sort_values(["config_id", "epoch"]).reset_index(drop=True)


def trained_epochs(arm: pd.DataFrame) -> dict[int, int]:
    """{config_id: epochs its cell trained}: the table's epochs, or fewer for a diverged cell."""
    return {int(k): int(v) for k, v in arm.groupby("config_id")["epoch"].max().items()}


def _objectives(arm: pd.DataFrame, names: tuple[str, ...]) -> tuple[list[str], np.ndarray]:
    """Per-epoch values of one arm, shaped (configs, 1 seed, epochs, objectives) as BlackboxTabular wants."""
    per_trial: dict[str, pd.Series] = {
        "diverged": arm["diverged"].astype(float),
        "config_id": arm["config_id"].astype(float),  # the key of the trial's warm-start record
    }
    columns = {
        **{ours: arm[theirs] for ours, theirs in _EPOCH_METRICS.items()},
        ELAPSED: arm["trial_seconds"],  # the trial clock, from before its warm start to the epoch's end
        "trial_seconds": arm["trial_seconds"],
        "trial_flops": arm["trial_flops"],
        **per_trial,
    }
    n_configs, n_epochs = arm["config_id"].nunique(), int(arm["epoch"].max())
    values = np.stack([np.asarray(v, dtype=float) for v in columns.values()], axis=-1)
    return list(columns), values.reshape(n_configs, 1, n_epochs, len(columns))


def _import_blackbox_repository() -> None:
    """syne-tune's blackbox repository prints and logs notices about optional extras (h5py, YAHPO)
    that a replay does not use, when first imported: import it once with them muted."""
    import contextlib
    import io
    import logging

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            import syne_tune.blackbox_repository.simulated_tabular_backend  # noqa: F401
    finally:
        root.setLevel(level)


def arm_blackbox(table: ReplayTable, task: TaskSpec, arm_label: str, config_space: dict[str, Any]):
    """syne-tune's BlackboxTabular of one arm: fidelity ``epoch`` in 1..table epochs. Built once per
    process and arm (a sweep replays thousands of runs on it; it is only read)."""
    return _arm_blackbox(str(table.path), task.name, arm_label)


@cache
def _arm_blackbox(path: str, task_name: str, arm_label: str) -> Any:
    _import_blackbox_repository()
    from syne_tune.blackbox_repository.blackbox_tabular import BlackboxTabular
    from syne_tune.config_space import randint

    table, names = open_table(path), get_task(task_name).space.names
    arm = table.frame[table.frame["arm"] == arm_label].sort_values(["config_id", "epoch"]).reset_index(drop=True)
    objective_names, values = _objectives(padded(arm, table.epochs), names)
    hyperparameters = arm[arm["epoch"] == 1][list(names)].reset_index(drop=True)
    return BlackboxTabular(
        hyperparameters=hyperparameters,
        configuration_space=table.space.to_syne_tune(),
        fidelity_space={RESOURCE_ATTR: randint(1, table.epochs)},
        objectives_evaluations=values,
        fidelity_values=np.arange(1, table.epochs + 1),
        objectives_names=objective_names,
    )


#: (table path, arm) → {configuration id: its encoded warm-start record}, built once per process
_RECORDS: dict[tuple[str, str], dict[int, str]] = {}
#: (table path, arm) → {configuration id: epochs its cell trained}, built once per process
_TRAINED: dict[tuple[str, str], dict[int, int]] = {}
#: (table path, arm) → {(config items, seed): the curve's results}, filled as replays look them up
_CURVES: dict[tuple[str, str], dict[tuple, list[dict]]] = {}


def _warm_start_records(table: ReplayTable, task: TaskSpec, arm_label: str) -> dict[int, str]:
    """Each configuration's warm-start record in this arm, encoded as a trial reports it (once per
    process: the same for every replay of the arm). Memory was not measured for a table's cells."""
    rows = table.frame[(table.frame["arm"] == arm_label) & (table.frame["epoch"] == 1)]
    return {
        int(row["config_id"]): encode_warm_start(cell_warm_start(row, task.space.names, arm_label, "replayed"))
        for _, row in rows.iterrows()
    }


def cell_warm_start(row: Mapping[str, Any], names: tuple[str, ...], arm_label: str, note: str) -> WarmStartRecord:
    """The warm-start record of a cell, from one of its rows (the table keeps the record's fields flat)."""
    arm = parse_warm_start_name(arm_label)
    return WarmStartRecord(
        name=arm.name,
        params=dict(arm.params),
        config_sampled={k: float(row[k]) for k in names},
        config_used={k: float(row[f"used_{k}"]) for k in names},
        hypergrad={k: none_if_nan(row[f"hypergrad_{k}"]) for k in names},
        hypergrad_kind={k: str(row[f"hypergrad_kind_{k}"]) for k in names},
        clipped={k: bool(row[f"clipped_{k}"]) for k in names},
        seconds=float(row["warm_start_seconds"]),
        flops=float(row["warm_start_flops"]),
        note=note,
    )


def make_table_backend(table: ReplayTable, task: TaskSpec, arm_label: str, config_space: dict[str, Any]):
    """syne-tune's UserBlackboxBackend on one arm, its results completed with the per-trial fields
    (hyper-gradient kinds, the warm start's note) that a real trial reports and a table keeps as text."""
    _import_blackbox_repository()
    from syne_tune.blackbox_repository.simulated_tabular_backend import UserBlackboxBackend

    key = (str(table.path), arm_label)
    if key not in _RECORDS:
        _RECORDS[key] = _warm_start_records(table, task, arm_label)
    records = _RECORDS[key]
    curves = _CURVES.setdefault((str(table.path), arm_label), {})
    if key not in _TRAINED:
        _TRAINED[key] = trained_epochs(table.frame[table.frame["arm"] == arm_label])
    trained = _TRAINED[key]

    class TableBackend(UserBlackboxBackend):
        @staticmethod
        def _debug_message(*args: Any, **kwargs: Any) -> None:
            """syne-tune formats a debug line for every simulated event, logged or not."""

        def config_objectives(self, config: dict[str, Any], seed: int) -> list[dict]:
            """The curve of ``config``, looked up in the table once per process, configuration and
            fidelity range (a replay starts thousands of trials, a sweep thousands of replays) and
            handed out as fresh dicts (the simulator shifts a resumed trial's clock in place)."""
            key = (tuple(sorted(config.items())), seed)
            results = curves.get(key)
            if results is None:
                results = super().config_objectives(config, seed)
                # a diverged cell's trial reported up to the epoch where it diverged, and ended there
                results = [r for r in results if r[RESOURCE_ATTR] <= trained[int(r["config_id"])]]
                for r in results:
                    r[WARM_START_KEY] = records[int(r["config_id"])]
                curves[key] = results
            return [dict(r) for r in results]

    return TableBackend(
        blackbox=arm_blackbox(table, task, arm_label, config_space),
        elapsed_time_attr=ELAPSED,
        max_resource_attr=MAX_RESOURCE_ATTR,
        seed=0,
        simulator_config=simulator_clock().simulator_config,  # and the tuner its callback (runner.py)
    )


def table_info(table: ReplayTable, arm_label: str, resample: int | None = None) -> dict[str, Any]:
    """What a replayed run's meta.json says about its table."""
    return {
        "resample": resample,
        "path": str(table.path),
        "sha256": table.sha256,
        "arm": arm_label,
        "configs": len(table.meta["configs"]),
        "epochs": table.epochs,
        "built_on": table.meta.get("device"),
        "built_with": table.meta.get("code_version"),
        "sampling": "restrict_configurations, duplicates allowed",
        "clock": "recorded epoch seconds; the warm start's seconds on a trial's first epoch",
    }


def replay_tuner_class() -> Any:
    """syne-tune's Tuner, except that its sleep between polls only advances the simulated clock.
    The stock one also calls ``time.sleep(0)`` each time; a 2,000 s, 4-worker replay polls about
    12,000 times, and on a busy machine each such yield of the CPU cost about a millisecond."""
    from syne_tune import Tuner

    class ReplayTuner(Tuner):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.tuning_status = _replay_status()

        def _sleep(self) -> None:
            for callback in self.callbacks:
                callback.on_tuning_sleep(self.sleep_time)

    return ReplayTuner


def _replay_status() -> Any:
    """syne-tune's TuningStatus, kept to what the tuner loop reads: which trials were seen and
    how many failed. The stock one keeps per-trial metric statistics and a row per trial, and
    counts failures by scanning every trial's status on every poll, quadratic in a replay's
    thousands of trials; the run's trajectory already records all of it. Without statistics, the
    tuner's closing summary (a pandas table of every trial) is skipped too."""
    from syne_tune.backend.trial_status import Status
    from syne_tune.tuning_status import TuningStatus

    class ReplayStatus(TuningStatus):
        def __init__(self) -> None:
            super().__init__(metric_names=[])
            self.failed: set[int] = set()

        def update(self, trial_status_dict: dict, new_results: list) -> None:
            for trial_id, (_trial, status) in trial_status_dict.items():
                self.last_trial_status_seen[trial_id] = status
                if status == Status.failed:
                    self.failed.add(trial_id)
                else:
                    self.failed.discard(trial_id)

        @property
        def num_trials_failed(self) -> int:
            return len(self.failed)

    return ReplayStatus()
