"""A table's files and the one record type they hold.

``<out>/`` of ``ohgw-bench table build``:

* ``meta.json``     what was asked (``spec``), the configurations, provenance, the build's sessions and
                    status (``building`` | ``complete``); replaced atomically.
* ``cells.jsonl``   one :class:`CellRecord` per finished (configuration, arm) cell, appended and flushed
                    as each cell finishes: the crash-safe store a resumed build reads back.
* ``table.parquet`` the cells compiled to one row per (configuration, arm, epoch), written once every
                    cell is in. Columns are flat (one per hyperparameter), as tabular benchmarks and
                    syne-tune's ``BlackboxTabular`` expect; the JSONL keeps the nested record.

What a table promises is checked before it is used (issue 23 item 6): every field of meta.json has its
SHA-256 in ``field_sha256`` (:func:`read_meta` names a field that no longer matches), ``table.parquet``
has its SHA-256 in ``table_sha256``, the rows must hold exactly the task's promised arms, configurations,
seeds and epochs (:func:`check_rows`), and every line of ``cells.jsonl`` must be one cell of the table,
once (:func:`read_cells`). The digests are not a signature: anyone can recompute them. They catch a
meta.json edited by hand or by another tool, which is what a relabelled task or a forged device was;
the rows are checked against the meta whatever the digests say.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import pandas as pd

from ohgw_bench.core.atomic import atomic_write
from ohgw_bench.core.records import EpochRecord, WarmStartRecord
from ohgw_bench.core.trajectory import TABLE_CELLS, JsonlAppender, write_json_atomic

TABLE_SCHEMA_VERSION = 1
KIND = "ohgw-bench twin table"
META = "meta.json"
CELLS = TABLE_CELLS
TABLE = "table.parquet"
BUILDING, COMPLETE = "building", "complete"
#: meta.json's {field: SHA-256 of its canonical JSON}, for every other field (written by :func:`write_meta`)
FIELD_SHA256 = "field_sha256"


class TableDamage(ValueError):
    """A table's file is damaged, or does not hold what its meta.json promises: the message names the
    file (and line or field). Raised before anything is written."""


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


CELL_FIELDS = frozenset(f.name for f in fields(CellRecord))


@dataclass(frozen=True)
class CellSlot:
    """What a table promises of one cell: its configuration's trial seed and sampled values, and its epochs."""

    seed: int
    values: dict[str, float]
    epochs: int


def cell_slots(spec: TableSpec, configs: list[dict[str, Any]]) -> dict[tuple[int, str], CellSlot]:
    """Every cell of a table, from its spec and its configurations (meta.json's ``configs`` entries)."""
    return {
        (int(c["config_id"]), arm): CellSlot(int(c["seed"]), dict(c["values"]), spec.epochs)
        for c in configs
        for arm in spec.arms
    }


def meta_slots(meta: Mapping[str, Any]) -> dict[tuple[int, str], CellSlot]:
    return cell_slots(TableSpec.from_json(meta["spec"]), list(meta["configs"]))


@dataclass(frozen=True)
class CellsFile:
    """``cells.jsonl`` read and checked against the table's cells.

    A line cut off by a crash can only be the last one: the client writes each cell as one line and
    flushes it before counting the cell as done, so such a *torn* tail (no newline, not valid JSON, the
    start of a JSON object) is a cell that was never stored; it is not a record and is left out. A last
    record that is complete but lacks its newline (the crash came between the two) is a stored cell.
    Anything else that is not one cell of the table, once, is damage (:class:`TableDamage`)."""

    path: Path
    cells: dict[tuple[int, str], CellRecord]
    torn_line: int | None  # the number of a torn last line, None when there is none
    stored_bytes: int  # the file's length up to the end of its last record (where a torn tail starts)
    needs_newline: bool  # the last record is complete but has no newline


def read_cells(directory: Path, meta: Mapping[str, Any]) -> CellsFile:
    """The cells of the table described by ``meta`` (its meta.json); TableDamage names the line."""
    return scan_cells(Path(directory) / CELLS, meta_slots(meta))


def scan_cells(path: Path, slots: Mapping[tuple[int, str], CellSlot]) -> CellsFile:
    """Read ``path`` (absent: no cell yet), checking each line against ``slots``; writes nothing."""
    data = path.read_bytes() if path.exists() else b""
    *lines, tail = data.split(b"\n")  # a file that ends in a newline leaves an empty tail
    cells: dict[tuple[int, str], CellRecord] = {}
    at: dict[tuple[int, str], int] = {}
    for number, line in enumerate(lines, start=1):
        _store(path, number, _parse_cell(path, number, line, slots), cells, at)
    torn = tail != b"" and _is_torn(tail)
    if tail and not torn:
        _store(path, len(lines) + 1, _parse_cell(path, len(lines) + 1, tail, slots), cells, at)
    return CellsFile(
        path=path,
        cells=cells,
        torn_line=len(lines) + 1 if torn else None,
        stored_bytes=len(data) - len(tail) if torn else len(data),
        needs_newline=bool(tail) and not torn,
    )


def _is_torn(tail: bytes) -> bool:
    """A last line without newline that starts a JSON object but does not parse: cut off mid-write."""
    if not tail.startswith(b"{"):
        return False
    try:
        json.loads(tail)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return True
    return False


def _damage(what: str) -> str:
    return (
        f"{what}. Nothing was changed; repair or delete that line (a deleted cell is trained again by "
        "the next `table build`), or build the table into a new --out"
    )


def _parse_cell(path: Path, number: int, line: bytes, slots: Mapping[tuple[int, str], CellSlot]) -> CellRecord:
    """Line ``number`` as a cell of the table, or TableDamage saying why it is not one."""
    where = f"{path}:{number}"
    try:
        record = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise TableDamage(f"{where}: {_damage(f'not valid JSON ({err})')}") from None
    if not isinstance(record, dict):
        raise TableDamage(f"{where}: {_damage(f'a JSON {type(record).__name__}, not a cell record')}")
    missing, unknown = sorted(CELL_FIELDS - record.keys()), sorted(record.keys() - CELL_FIELDS)
    if missing or unknown:
        listed = "; ".join(f"{k}: {', '.join(v)}" for k, v in (("missing", missing), ("unknown", unknown)) if v)
        raise TableDamage(f"{where}: {_damage(f'not a cell record ({listed})')}")
    try:
        cell = CellRecord.from_json(record)
    except (TypeError, ValueError) as err:  # a curve entry that is not an epoch record
        raise TableDamage(f"{where}: {_damage(f'not a cell record (curve: {err})')}") from None
    problem = _not_in_table(cell, slots)
    if problem:
        raise TableDamage(f"{where}: {_damage(problem)}")
    return cell


def _not_in_table(cell: CellRecord, slots: Mapping[tuple[int, str], CellSlot]) -> str | None:
    """Why ``cell`` is not one of the table's cells; None when it is."""
    well_typed = type(cell.config_id) is int and isinstance(cell.arm, str)  # not True for config 1
    slot = slots.get(cell.key) if well_typed else None
    label = f"cell (config {cell.config_id!r}, arm {cell.arm!r})"
    if slot is None:
        ids = sorted({i for i, _ in slots})
        arms = list(dict.fromkeys(a for _, a in slots))
        span = f"configs {ids[0]}-{ids[-1]}" if ids else "no configuration"
        return f"{label} is not a cell of this table ({span}, arms {', '.join(arms)})"
    if cell.seed != slot.seed:
        return f"{label} has trial seed {cell.seed!r}; the table's configuration has {slot.seed}"
    if cell.config_sampled != slot.values:
        return f"{label} has config_sampled {cell.config_sampled}; the table's configuration is {slot.values}"
    epochs = [getattr(e, "epoch", None) for e in cell.curve]
    trained = len(epochs)
    if not 1 <= trained <= slot.epochs or epochs != list(range(1, trained + 1)):
        return f"{label} does not hold epochs 1-{slot.epochs}"
    if trained < slot.epochs and cell.diverged is not True:
        return f"{label} ends at epoch {trained} of {slot.epochs} without having diverged"
    return None


def _store(
    path: Path,
    number: int,
    cell: CellRecord,
    cells: dict[tuple[int, str], CellRecord],
    at: dict[tuple[int, str], int],
) -> None:
    if cell.key in cells:
        label = f"cell (config {cell.config_id}, arm {cell.arm})"
        raise TableDamage(
            f"{path}:{number}: {_damage(f'{label} is already at line {at[cell.key]}: a cell is stored once')}"
        )
    cells[cell.key], at[cell.key] = cell, number


class CellStore:
    """Append-only store of finished cells; hold the table's lock.

    Opening it reads every line first (:func:`scan_cells`: damage is refused before anything is
    written), then makes the file end where its records end: a torn tail is cut off (truncated in
    place, so no stored record is rewritten) and a last record without its newline gets one, so the
    next append never lands on the same line as another record."""

    def __init__(self, directory: Path, slots: Mapping[tuple[int, str], CellSlot]) -> None:
        self.path = Path(directory) / CELLS
        found = scan_cells(self.path, slots)
        if found.torn_line is not None:
            os.truncate(self.path, found.stored_bytes)
        self.cells: dict[tuple[int, str], CellRecord] = dict(found.cells)
        self.dropped_torn_line = found.torn_line
        self.completed_last_line = found.needs_newline
        self._slots = slots
        if found.needs_newline:
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write("\n")
        self._appender = JsonlAppender(self.path)

    def add(self, cell: CellRecord) -> None:
        if cell.key in self.cells:
            raise ValueError(f"cell {cell.key} is already in {self.path}")
        problem = _not_in_table(cell, self._slots)
        if problem:
            raise ValueError(f"{self.path}: {problem}")
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
    """A table's meta.json, its fields checked against their recorded digests (:func:`check_fields`);
    FileNotFoundError when the folder holds none, ValueError (TableDamage) when it is not a table's or
    a field was changed after the build wrote it."""
    path = Path(directory) / META
    if not path.exists():
        raise FileNotFoundError(f"{directory} holds no {META}: not an ohgw-bench table")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise TableDamage(f"{path}: not valid JSON ({err})") from None
    if not isinstance(meta, dict) or meta.get("kind") != KIND:
        raise ValueError(f"{path} is not the meta.json of an ohgw-bench table (kind {KIND!r})")
    if meta.get("schema_version") != TABLE_SCHEMA_VERSION:
        raise ValueError(f"{path}: table schema_version {meta.get('schema_version')} is not {TABLE_SCHEMA_VERSION}")
    check_fields(path, meta)
    return meta


def write_meta(directory: Path, meta: dict[str, Any]) -> None:
    """Replace meta.json, with the digest of each of its fields (``field_sha256``) computed from what is written."""
    payload = {k: v for k, v in meta.items() if k != FIELD_SHA256}
    payload.update(kind=KIND, schema_version=TABLE_SCHEMA_VERSION)
    written = json.loads(json.dumps(payload, default=_json_value))  # the values as a reader will see them
    write_json_atomic(Path(directory) / META, {**written, FIELD_SHA256: field_digests(written)})


def _json_value(value: Any) -> Any:
    """What meta.json's writer turns a non-JSON value into (numpy scalars, paths)."""
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable in a table's meta.json: {type(value).__name__}")


def field_digests(meta: Mapping[str, Any]) -> dict[str, str]:
    """{field: SHA-256 of its canonical JSON} for every field but ``field_sha256``; a dict field is
    digested per key (``spec.task``) and a list per entry (``configs[3]``), so a mismatch names the part."""
    digests: dict[str, str] = {}
    for name, value in meta.items():
        if name == FIELD_SHA256:
            continue
        if isinstance(value, dict) and value:
            parts = {f"{name}.{k}": v for k, v in value.items()}
        elif isinstance(value, list) and value:
            parts = {f"{name}[{i}]": v for i, v in enumerate(value)}
        else:
            parts = {name: value}
        digests.update({part: _sha256_of(v) for part, v in parts.items()})
    return digests


def _sha256_of(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode("utf-8")).hexdigest()


def check_fields(path: Path, meta: Mapping[str, Any]) -> None:
    """TableDamage naming the first field of ``meta`` that is not what the build wrote. A meta.json
    without ``field_sha256`` was written before the digests existed (the committed
    results/mnist1d-cnn-table): it is read as it is, and its rows are still checked (:func:`check_rows`)."""
    recorded = meta.get(FIELD_SHA256)
    if recorded is None:
        return
    if not isinstance(recorded, dict):
        raise TableDamage(f"{path}: {FIELD_SHA256} is not the build's record of digests")
    now = field_digests(meta)
    for name in sorted(recorded.keys() | now.keys()):
        if name not in now:
            change = "is missing, though the build wrote it"
        elif name not in recorded:
            change = "was added after the build wrote meta.json"
        elif recorded[name] != now[name]:
            change = "is not what the build wrote (its SHA-256 differs from the one in field_sha256)"
        else:
            continue
        raise TableDamage(
            f"{path}: field {name} {change}. A table's promises (task, arms, epochs, configurations, seeds, "
            "device, code version) are trusted only as its build recorded them: restore that meta.json, or "
            "build the table again"
        )


def check_rows(directory: Path, frame: pd.DataFrame, meta: Mapping[str, Any]) -> None:
    """TableDamage unless ``table.parquet``'s rows are the SHA-256 recorded in meta.json and hold exactly
    the cells meta.json promises: its arms and configurations, each with its seed and values, each cell
    with epochs 1 to ``spec.epochs``. What the rows cannot show (task, device, code) rests on the digests."""
    path = Path(directory) / TABLE
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != meta.get("table_sha256"):
        raise TableDamage(f"{path} does not match the SHA-256 in its meta.json (table_sha256; changed since)")
    try:
        spec = TableSpec.from_json(meta["spec"])
        configs = {int(c["config_id"]): c for c in meta["configs"]}
    except (KeyError, TypeError, ValueError) as err:
        raise TableDamage(f"{Path(directory) / META}: spec or configs is not a table's ({err!r})") from None
    if sorted(configs) != list(range(spec.configs)):
        raise TableDamage(f"{Path(directory) / META}: configs does not hold configurations 0-{spec.configs - 1}")
    _check_grid(path, frame, spec, configs)
    _check_configs(path, frame, configs)


def _check_grid(path: Path, frame: pd.DataFrame, spec: TableSpec, configs: Mapping[int, Any]) -> None:
    """Every (configuration, arm) of the spec once, each with epochs 1 to ``spec.epochs`` once, and nothing
    else; a cell whose training diverged holds epochs 1 to the one where it diverged, as its trial
    reported them."""
    arms, ids = set(frame["arm"]), set(frame["config_id"])
    if arms != set(spec.arms):
        raise TableDamage(f"{path} holds arms {sorted(arms)}; meta.json's spec.arms promises {list(spec.arms)}")
    if ids != set(configs):
        raise TableDamage(f"{path} holds {len(ids)} configurations; meta.json's spec.configs promises {spec.configs}")
    cells = frame.groupby(["config_id", "arm"])
    counts, last, diverged = cells["epoch"].size(), cells["epoch"].max(), cells["diverged"].all()
    epochs_ok = (
        frame["epoch"].between(1, spec.epochs).all() and not frame[["config_id", "arm", "epoch"]].duplicated().any()
    )
    short_ok = ((counts == spec.epochs) | diverged).all()
    if not epochs_ok or len(counts) != len(configs) * len(spec.arms) or not (counts == last).all() or not short_ok:
        raise TableDamage(
            f"{path} does not hold epochs 1-{spec.epochs} of each cell once (a diverged cell: up to its last "
            f"epoch): meta.json's spec.epochs promises it"
        )


def _check_configs(path: Path, frame: pd.DataFrame, configs: Mapping[int, Any]) -> None:
    """Each configuration's rows carry its seed and sampled values, as meta.json's ``configs`` says."""
    names = list(next(iter(configs.values()))["values"])
    missing = [n for n in ["seed", *names] if n not in frame.columns]
    if missing:
        raise TableDamage(f"{path} has no column {', '.join(missing)}")
    per_config = frame.groupby("config_id")[["seed", *names]]
    if (per_config.nunique() > 1).any().any():
        raise TableDamage(f"{path}: the rows of a configuration disagree on its seed or values")
    first = per_config.first()
    for config_id, config in configs.items():
        seed = int(first.at[config_id, "seed"])
        values = {n: float(first.at[config_id, n]) for n in names}
        promised = f"meta.json's configs[{config_id}]"
        if seed != config["seed"]:
            raise TableDamage(f"{path}: configuration {config_id} has seed {seed}; {promised}.seed is {config['seed']}")
        if values != config["values"]:
            raise TableDamage(f"{path}: configuration {config_id} is {values}; {promised}.values is {config['values']}")


def read_table(path: Path | str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A complete table: (rows, meta), checked (:func:`read_meta`, :func:`check_rows`) before use.
    ``path`` is the table's folder or its ``table.parquet``."""
    path = Path(path)
    directory = path.parent if path.suffix == ".parquet" else path
    meta = read_meta(directory)
    if meta.get("status") != COMPLETE or not (directory / TABLE).exists():
        done, total = meta.get("cells_done", "?"), meta.get("cells_total", "?")
        raise ValueError(
            f"{directory}: the table is not complete ({done} of {total} cells); run the same "
            "`ohgw-bench table build` command again to finish it"
        )
    frame = pd.read_parquet(directory / TABLE)
    check_rows(directory, frame, meta)
    return frame, meta
