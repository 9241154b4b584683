"""A twin table answering the per-epoch evaluation interface (HPOBench's tabular mode): the curve of one
of its configurations under one of its arms, looked up instead of trained.

The reports are the table's rows, and their ``trial_seconds`` is the recorded cumulative trial clock
(the warm start included, as a live trial counts it): the virtual time an optimizer on the table
spends. A table holds each configuration with one trial seed, shared by its arms; another seed, or a
configuration that is not in it, has no answer there and is refused with what to do instead.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ohgw_bench.core.names import parse_warm_start_name
from ohgw_bench.core.records import TrialReport, WarmStartRecord
from ohgw_bench.core.registry import get_task
from ohgw_bench.core.specs import TaskSpec
from ohgw_bench.core.trajectory import write_json_atomic
from ohgw_bench.execution.backends.table import ReplayTable, cell_warm_start, open_table
from ohgw_bench.execution.evaluation import EpochEvaluation, check_config, claim_checkpoint_dir

#: the warm-start record's note of a looked-up cell (a table keeps no note of its own)
NOTE = "from a twin table"
#: the epochs a checkpointed table evaluation has looked up, in its checkpoint_dir
PROGRESS = "table_progress.json"


class TableEvaluation(EpochEvaluation):
    """One cell of a twin table, an epoch at a time (made by :func:`evaluate_table`).

    With a ``checkpoint_dir`` it resumes as a live evaluation does: the epochs an earlier evaluation of
    the cell looked up there are its curve already, and only later ones count as trained, so an optimizer
    that resumes promoted configurations is charged the same epochs and seconds as on live training."""

    def __init__(self, table: ReplayTable, config_id: int, arm: str, checkpoint_dir: Path | None = None) -> None:
        names = get_task(table.task).space.names
        rows = table.frame[(table.frame["config_id"] == config_id) & (table.frame["arm"] == arm)].sort_values("epoch")
        records = rows.to_dict("records")
        # the cell's ``diverged`` is on each of its rows; the curve ends, flagged, at its last one
        last = len(records) - 1
        reports = tuple(_report(row, bool(row["diverged"]) and i == last) for i, row in enumerate(records))
        seed = int(records[0]["seed"])
        held = 0
        if checkpoint_dir is not None:
            identity = {"table_sha256": table.sha256, "config_id": config_id, "arm": arm, "seed": seed}
            claim_checkpoint_dir(checkpoint_dir, identity)
            progress = checkpoint_dir / PROGRESS
            held = int(json.loads(progress.read_text(encoding="utf-8"))["epoch"]) if progress.exists() else 0
        super().__init__(table.epochs, f"the table at {table.path}", reports[:held])
        self.table = table
        self.config_id = config_id
        self.arm = arm
        self.seed = seed
        self.config = {k: float(records[0][k]) for k in names}
        self.checkpoint_dir = checkpoint_dir
        self._record = cell_warm_start(records[0], names, arm, NOTE)
        self._rows = reports

    @property
    def warm_start(self) -> WarmStartRecord:
        return self._record

    def _measure(self) -> TrialReport | None:
        if self.epoch >= len(self._rows):
            return None
        if self.checkpoint_dir is not None:  # saved before the report is handed out, as a trial's checkpoint
            write_json_atomic(self.checkpoint_dir / PROGRESS, {"epoch": self.epoch + 1})
        return self._rows[self.epoch]


def _report(row: Mapping[str, Any], diverged: bool) -> TrialReport:
    """A row as the trial reported it; a table keeps no test loss and no compile seconds."""
    return TrialReport(
        epoch=int(row["epoch"]),
        val_acc=float(row["val_acc"]),
        val_loss=float(row["val_loss"]),
        test_acc=float(row["test_acc"]),
        train_loss=float(row["train_loss"]),
        trial_seconds=float(row["trial_seconds"]),
        trial_flops=float(row["trial_flops"]),
        test_loss=math.nan,
        diverged=diverged,
    )


def evaluate_table(
    table_path: Path | str,
    config: Mapping[str, float] | int,
    warm_start: str = "none",
    seed: int | None = None,
    checkpoint_dir: Path | str | None = None,
) -> TableEvaluation:
    """The table's curve of ``config`` (its coordinates, or its ``config_id``) under the arm ``warm_start``
    (the arm's label, e.g. ``ohgw(eta=1)``). ``seed``: None or the trial seed the table trained the
    configuration with. ``checkpoint_dir``: where it notes the epochs looked up, so that a later evaluation
    there resumes (None: it starts at epoch 1). ValueError, saying what to do, for a table that cannot be
    read, an arm it does not hold, a configuration not in it, any other seed and a checkpoint_dir that
    holds another evaluation."""
    return evaluate_in_table(open_table(str(table_path)), config, warm_start, seed, checkpoint_dir)


def evaluate_in_table(
    table: ReplayTable,
    config: Mapping[str, float] | int,
    warm_start: str = "none",
    seed: int | None = None,
    checkpoint_dir: Path | str | None = None,
) -> TableEvaluation:
    """:func:`evaluate_table` on a table already open."""
    task = get_task(table.task)
    arm = parse_warm_start_name(warm_start).label
    if arm not in table.arms:
        raise ValueError(f"the table at {table.path} has no arm {arm!r}; it holds {', '.join(table.arms)}")
    config_id = _config_id(table, config, task)
    recorded = next(int(c["seed"]) for c in table.meta["configs"] if int(c["config_id"]) == config_id)
    if seed is not None and seed != recorded:
        raise ValueError(
            f"the table at {table.path} trained configuration {config_id} with trial seed {recorded} only: pass "
            f"seed=None (or {recorded}), or train it live with another seed (evaluate on task {task.name})"
        )
    return TableEvaluation(table, config_id, arm, None if checkpoint_dir is None else Path(checkpoint_dir))


def _config_id(table: ReplayTable, config: Mapping[str, float] | int, task: TaskSpec) -> int:
    ids = [int(c["config_id"]) for c in table.meta["configs"]]
    if isinstance(config, int) and not isinstance(config, bool):
        if config not in ids:
            raise ValueError(f"the table at {table.path} has no config_id {config}; it holds {min(ids)}-{max(ids)}")
        return config
    if not isinstance(config, Mapping):
        raise ValueError(f"config must be a mapping of {task.name}'s coordinates or a config_id, got {config!r}")
    check_config(task, config)
    found = table.config_id_of(config, task.space.names)
    if found is None:
        raise ValueError(
            f"configuration {dict(config)} is not one of the {len(ids)} configurations of the table at "
            f"{table.path}: choose one of its configurations (open_benchmark('table:PATH').configs), or train "
            f"it live (evaluate on task {task.name})"
        )
    return found
