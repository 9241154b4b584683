"""A table's files and the one record type they hold.

``<out>/`` of ``ohgw-bench table build``:

* ``meta.json``     what was asked (``spec``), the configurations, provenance, the build's sessions and
                    status (``building`` | ``complete``); replaced atomically.
* ``cells.jsonl``   one :class:`CellRecord` per finished (configuration, arm) cell, appended and flushed
                    as each cell finishes: the crash-safe store a resumed build reads back.
* ``table.parquet`` the cells compiled to one row per (configuration, arm, epoch), written once every
                    cell is in. Columns are flat (one per hyperparameter), as tabular benchmarks and
                    syne-tune's ``BlackboxTabular`` expect; the JSONL keeps the nested record.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ohgw_bench.core.atomic import atomic_write
from ohgw_bench.core.records import EpochRecord, WarmStartRecord
from ohgw_bench.core.trajectory import TABLE_CELLS, JsonlAppender, read_jsonl, write_json_atomic

TABLE_SCHEMA_VERSION = 1
KIND = "ohgw-bench twin table"
META = "meta.json"
CELLS = TABLE_CELLS
TABLE = "table.parquet"
BUILDING, COMPLETE = "building", "complete"


@dataclass(frozen=True)
class TableSpec:
    """What a build was asked for; a resumed build must ask for the same."""

    task: str
    arms: tuple[str, ...]  # canonical warm-start labels, e.g. ("none", "ohgw(eta=1)", "random(eta=1)")
    configs: int
    seed: int
    epochs: int  # trained per cell: the task's max epochs, or fewer for a small CI table
    max_epochs: int  # the task's, which the cosine schedule spans whatever ``epochs`` is

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "arms": list(self.arms)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TableSpec:
        return cls(**{**data, "arms": tuple(data["arms"])})


@dataclass(frozen=True)
class CellRecord:
    """One configuration trained under one arm: its curve and what the warm start did and cost."""

    config_id: int
    arm: str  # canonical label
    warm_start: str
    warm_start_params: dict[str, Any]
    seed: int  # trial seed, shared by every arm of this configuration
    config_sampled: dict[str, float]
    config_used: dict[str, float]
    hypergrad: dict[str, float | None]
    hypergrad_kind: dict[str, str]
    clipped: dict[str, bool]
    warm_start_seconds: float
    warm_start_flops: float
    diverged: bool
    curve: tuple[EpochRecord, ...]
    wall_seconds: float  # the cell in its worker, data loading included (not a trial clock)
    worker: str  # host:pid that trained it

    @classmethod
    def of(
        cls,
        config_id: int,
        arm: str,
        seed: int,
        warm_start: WarmStartRecord,
        curve: tuple[EpochRecord, ...],
        diverged: bool,
        wall_seconds: float,
        worker: str,
    ) -> CellRecord:
        """A cell from the in-process objective's result (the table keeps the record's fields flat)."""
        return cls(
            config_id=config_id,
            arm=arm,
            warm_start=warm_start.name,
            warm_start_params=dict(warm_start.params),
            seed=seed,
            config_sampled=warm_start.config_sampled,
            config_used=warm_start.config_used,
            hypergrad=warm_start.hypergrad,
            hypergrad_kind=warm_start.hypergrad_kind,
            clipped=warm_start.clipped,
            warm_start_seconds=warm_start.seconds,
            warm_start_flops=warm_start.flops,
            diverged=diverged,
            curve=curve,
            wall_seconds=wall_seconds,
            worker=worker,
        )

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CellRecord:
        return cls(**{**data, "curve": tuple(EpochRecord(**e) for e in data["curve"])})

    @property
    def key(self) -> tuple[int, str]:
        return self.config_id, self.arm


def read_cells(directory: Path) -> tuple[list[CellRecord], bool]:
    """The finished cells, and whether the file ended in a line cut off by a crash (dropped)."""
    read = read_jsonl(Path(directory) / CELLS)
    return [CellRecord.from_json(r) for r in read.records], read.truncated


class CellStore:
    """Append-only store of finished cells. Opening it drops a truncated last line (rewriting the file
    atomically), so the next append never lands after half a line; hold the table's lock."""

    def __init__(self, directory: Path) -> None:
        self.path = Path(directory) / CELLS
        cells, truncated = read_cells(directory)
        if truncated:
            text = "".join(json.dumps(r, sort_keys=True) + "\n" for r in read_jsonl(self.path).records)
            atomic_write(self.path, lambda fh: fh.write(text.encode("utf-8")))
        self.cells: dict[tuple[int, str], CellRecord] = {c.key: c for c in cells}
        self.dropped_truncated_line = truncated
        self._appender = JsonlAppender(self.path)

    def add(self, cell: CellRecord) -> None:
        if cell.key in self.cells:
            raise ValueError(f"cell {cell.key} is already in {self.path}")
        self._appender.append(cell)
        self.cells[cell.key] = cell

    def close(self) -> None:
        self._appender.close()


def cells_frame(cells: list[CellRecord], space_names: tuple[str, ...]) -> pd.DataFrame:
    """One row per (configuration, arm, epoch), sorted; the sampled config under the hyperparameters'
    own names, then ``used_*``, ``hypergrad_*``, ``hypergrad_kind_*`` and ``clipped_*``.

    ``epoch_seconds`` is the epoch's share of the trial clock; epoch 1's excludes the warm start
    (a replay charges ``warm_start_seconds`` to a trial's first epoch itself)."""
    rows = []
    for cell in sorted(cells, key=lambda c: c.key):
        per_cell: dict[str, Any] = {
            "config_id": cell.config_id,
            "arm": cell.arm,
            "warm_start": cell.warm_start,
            "seed": cell.seed,
            **{k: cell.config_sampled[k] for k in space_names},
            **{f"used_{k}": cell.config_used[k] for k in space_names},
            **{f"hypergrad_{k}": _nan_if_none(cell.hypergrad.get(k)) for k in space_names},
            **{f"hypergrad_kind_{k}": cell.hypergrad_kind.get(k, "not_computed") for k in space_names},
            **{f"clipped_{k}": bool(cell.clipped.get(k, False)) for k in space_names},
            "warm_start_seconds": cell.warm_start_seconds,
            "warm_start_flops": cell.warm_start_flops,
            "diverged": cell.diverged,
        }
        before = cell.warm_start_seconds
        for e in cell.curve:
            rows.append({**per_cell, **asdict(e), "epoch_seconds": e.trial_seconds - before})
            before = e.trial_seconds
    columns = ["config_id", "arm", "epoch"]
    frame = pd.DataFrame(rows)
    return frame[columns + [c for c in frame.columns if c not in columns]].reset_index(drop=True)


def _nan_if_none(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def write_table(frame: pd.DataFrame, directory: Path) -> str:
    """Write ``table.parquet`` atomically; return its SHA-256 (recorded in meta.json, so a replay can
    name the exact table it ran on)."""
    path = Path(directory) / TABLE
    atomic_write(path, lambda fh: frame.to_parquet(fh, index=False))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_meta(directory: Path) -> dict[str, Any]:
    """A table's meta.json; ValueError when the folder is not a table."""
    path = Path(directory) / META
    if not path.exists():
        raise FileNotFoundError(f"{directory} holds no {META}: not an ohgw-bench table")
    meta = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(meta, dict) or meta.get("kind") != KIND:
        raise ValueError(f"{path} is not the meta.json of an ohgw-bench table (kind {KIND!r})")
    if meta.get("schema_version") != TABLE_SCHEMA_VERSION:
        raise ValueError(f"{path}: table schema_version {meta.get('schema_version')} is not {TABLE_SCHEMA_VERSION}")
    return meta


def write_meta(directory: Path, meta: dict[str, Any]) -> None:
    write_json_atomic(Path(directory) / META, {**meta, "kind": KIND, "schema_version": TABLE_SCHEMA_VERSION})


def read_table(path: Path | str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A complete table: (rows, meta). ``path`` is the table's folder or its ``table.parquet``."""
    path = Path(path)
    directory = path.parent if path.suffix == ".parquet" else path
    meta = read_meta(directory)
    if meta.get("status") != COMPLETE or not (directory / TABLE).exists():
        done, total = meta.get("cells_done", "?"), meta.get("cells_total", "?")
        raise ValueError(
            f"{directory}: the table is not complete ({done} of {total} cells); run the same "
            "`ohgw-bench table build` command again to finish it"
        )
    return pd.read_parquet(directory / TABLE), meta
