"""``ohgw-bench table export PATH --format syne-tune``: a twin table as a syne-tune blackbox repository entry.

syne-tune's blackbox repository keeps several tasks over one shared ``hyperparameters.parquet``; a twin
table's arms train the same configurations, so its arms are those tasks. The files are the ones syne-tune
0.13's ``syne_tune.blackbox_repository.blackbox_tabular.deserialize`` reads (the layout is unchanged to 0.16):

* ``hyperparameters.parquet``    the configurations in config_id order, one column per coordinate;
* ``objectives_evaluations.npy`` float64, arms × configurations × 1 seed × epochs × objectives;
* ``fidelities_values.npy``      the epochs, 1 to the table's;
* ``metadata.json``              ``objectives_names``, ``task_names`` (the arms), the repository's
                                 ``metric_default``, ``metric_elapsed_time`` and ``resource_attr``, and what
                                 the table is (``ohgw_bench``: its SHA-256, task, trial seeds, space, clock);
* ``configspace.json``, ``fidelityspace.json``: syne-tune domains, uniform over the search-space coordinates
  (log10 where the name says so: no log scale on top) and ``randint(1, epochs)`` for ``epoch``.

They are written here rather than by syne-tune's ``serialize()``: that writes the Parquet file with
fastparquet (not a dependency of the suite) and stores the objectives as float32, which would round the
recorded seconds the replay clock runs on and the accuracies the schedulers compare. Reading them with
``deserialize`` needs fastparquet, as syne-tune's repository always does.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ohgw_bench.core.named_tables import UnknownTable, resolve_table
from ohgw_bench.core.specs import RESOURCE_ATTR
from ohgw_bench.core.table_format import read_table
from ohgw_bench.core.table_space import table_fidelity, table_space
from ohgw_bench.execution.plan import RunRefused, check_writable_folder
from ohgw_bench.table.build import CLOCK

FORMATS = ("syne-tune",)
HYPERPARAMETERS = "hyperparameters.parquet"
OBJECTIVES = "objectives_evaluations.npy"
FIDELITIES = "fidelities_values.npy"
METADATA = "metadata.json"
CONFIGSPACE = "configspace.json"
FIDELITYSPACE = "fidelityspace.json"
FILES = (HYPERPARAMETERS, OBJECTIVES, FIDELITIES, METADATA, CONFIGSPACE, FIDELITYSPACE)
#: per-epoch columns of the table, exported under their own names
PER_EPOCH = ("val_acc", "val_loss", "test_acc", "train_loss", "trial_seconds", "epoch_seconds", "trial_flops")
#: per-cell columns, repeated at every epoch (a blackbox holds only per-fidelity values)
PER_CELL = ("warm_start_seconds", "warm_start_flops", "diverged")
METRIC, ELAPSED = "val_acc", "trial_seconds"


class ExportRefused(ValueError):
    """The export cannot be written as asked; nothing was written."""


@dataclass(frozen=True)
class Export:
    """What an export wrote."""

    out: Path
    arms: tuple[str, ...]
    configs: int
    epochs: int
    objectives: tuple[str, ...]


def objective_names(names: tuple[str, ...]) -> tuple[str, ...]:
    """The exported objectives: per-epoch metrics, per-cell costs, and ``used_<name>``, the configuration
    each arm trained after its warm start."""
    return (*PER_EPOCH, *PER_CELL, *(f"used_{n}" for n in names))


def blackbox_arrays(frame: pd.DataFrame, arms: tuple[str, ...], names: tuple[str, ...]) -> tuple[pd.DataFrame, Any]:
    """(hyperparameters, objectives): the configurations in config_id order, and the values shaped
    arms × configurations × 1 seed × epochs × objectives, as float64."""
    rows = frame.sort_values(["arm", "config_id", "epoch"])
    n_configs, n_epochs = frame["config_id"].nunique(), int(frame["epoch"].max())
    columns = list(objective_names(names))
    per_arm = []
    for arm in arms:
        values = rows.loc[rows["arm"] == arm, columns].to_numpy(dtype=np.float64)
        per_arm.append(values.reshape(n_configs, 1, n_epochs, len(columns)))
    first = frame[(frame["arm"] == arms[0]) & (frame["epoch"] == 1)].sort_values("config_id")
    return first[list(names)].reset_index(drop=True), np.stack(per_arm)


def check_out(out: Path, overwrite: bool) -> None:
    """ExportRefused unless ``out`` can take the export: new, empty, or (``overwrite``) a previous export."""
    try:
        check_writable_folder(out, "--out")
    except RunRefused as err:
        raise ExportRefused(str(err)) from None
    held = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    if held and not overwrite:
        raise ExportRefused(f"--out {out} already holds files; pass --overwrite to replace a previous export")
    others = [name for name in held if name not in FILES]
    if others:
        raise ExportRefused(
            f"--out {out} holds files that are not an export's ({', '.join(others)}); --overwrite replaces only a "
            "previous export: choose another --out"
        )


def export_syne_tune(table: Path | str, out: Path | str, overwrite: bool = False) -> Export:
    """Write the table at ``table`` (a folder, its table.parquet, or a committed table's name) as a syne-tune
    blackbox into ``out``. Everything is checked before anything is written: the table (digests, rows, the
    space its configurations lie in) and the folder (:func:`check_out`)."""
    from ohgw_bench.execution.plan import quiet_syne_tune

    try:
        folder = resolve_table(str(table))
        frame, meta = read_table(folder)
        space, fidelity = table_space(meta, folder), table_fidelity(meta)
    except (UnknownTable, FileNotFoundError) as err:
        raise ExportRefused(str(err)) from None
    out = Path(out)
    check_out(out, overwrite)
    quiet_syne_tune()
    from syne_tune.config_space import config_space_to_json_dict, randint

    arms, names = tuple(meta["spec"]["arms"]), space.names
    hyperparameters, objectives = blackbox_arrays(frame, arms, names)
    metadata = {
        "objectives_names": list(objective_names(names)),
        "task_names": list(arms),
        "metric_default": METRIC,
        "metric_elapsed_time": ELAPSED,
        "resource_attr": RESOURCE_ATTR,
        "ohgw_bench": {
            "table_sha256": meta["table_sha256"],
            "task": meta["spec"]["task"],
            "spec": meta["spec"],
            "mode": "max",
            "trial_seeds": [int(c["seed"]) for c in meta["configs"]],
            "space": space.as_json(),
            "fidelity": fidelity.as_json(),
            "clock": meta.get("clock", CLOCK),  # an older table's seconds meant the same, unrecorded
            "elapsed_time": f"{ELAPSED}: cumulative, the warm start included; a replay charges it as virtual time",
        },
    }
    files: dict[str, Any] = {
        HYPERPARAMETERS: lambda path: hyperparameters.to_parquet(path, index=False, compression="gzip"),
        OBJECTIVES: lambda path: np.save(path, objectives, allow_pickle=False),
        FIDELITIES: lambda path: np.save(path, np.arange(fidelity.low, fidelity.high + 1), allow_pickle=False),
        METADATA: lambda path: _write_json(path, metadata),
        CONFIGSPACE: lambda path: _write_json(path, config_space_to_json_dict(space.to_syne_tune())),
        FIDELITYSPACE: lambda path: _write_json(
            path, config_space_to_json_dict({RESOURCE_ATTR: randint(fidelity.low, fidelity.high)})
        ),
    }
    _write_files(out, files)
    return Export(out, arms, len(hyperparameters), fidelity.high, objective_names(names))


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2) + "\n", encoding="utf-8")


def _write_files(out: Path, files: dict[str, Any]) -> None:
    """Write every file in a staging folder beside ``out``, then move each into ``out``: an export that
    fails while writing leaves ``out`` as it was."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.export-", dir=out.parent))
    try:
        for name, write in files.items():
            write(staging / name)
        out.mkdir(exist_ok=True)
        for name in files:
            os.replace(staging / name, out / name)
    finally:
        shutil.rmtree(staging, ignore_errors=False)
