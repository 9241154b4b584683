"""The standardized record of a run (schema v1) — written as results arrive, read back anywhere.

Layout under ``<out>/<task>/<optimizer>/seed-<k>/``:

* ``meta.json``    run keys, budget, versions, status; replaced atomically (temp + rename).
* ``trials.jsonl`` one line per trial state change; the *last* line of a trial_id wins
  (a line is appended when a trial first reports and again when it finishes), so the file
  stays append-only and a crash never leaves a trial without its sampled/used configs.
* ``events.jsonl`` one line per reported epoch, with the run's running totals.

Every line of a real run is flushed on write; a reader tolerates a truncated last line (a crash mid-write)
but not damage anywhere else, nor a meta.json that says complete beside missing trajectory files
(:class:`MissingTrajectory`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ohgw_bench.core.atomic import atomic_write
from ohgw_bench.core.records import RunStatus, TrialStatus, WarmStartRecord
from ohgw_bench.core.run_meta import RunMeta

META = "meta.json"
TRIALS = "trials.jsonl"
EVENTS = "events.jsonl"
TABLE_CELLS = "cells.jsonl"  # marks a twin table's folder (ohgw_bench.core.table_format.CELLS)


@dataclass(frozen=True)
class TrialRecord:
    """A line of trials.jsonl: the trial's warm-start record, laid out as the schema has it."""

    trial_id: int
    config_sampled: dict[str, float]
    config_used: dict[str, float]
    hypergrad: dict[str, float | None]
    hypergrad_kind: dict[str, str]  # exact | finite_difference | structurally_zero | not_computed
    clipped: dict[str, bool]
    # name, params, note, seconds, flops, peak_mem_bytes and train_step_peak_mem_bytes (the same
    # memory measure for the trial's first training epoch)
    warm_start: dict[str, Any]
    status: TrialStatus
    seed: int = 0

    @classmethod
    def of(cls, trial_id: int, record: WarmStartRecord, status: TrialStatus, seed: int) -> TrialRecord:
        return cls(
            trial_id=trial_id,
            config_sampled=record.config_sampled,
            config_used=record.config_used,
            hypergrad=record.hypergrad,
            hypergrad_kind=record.hypergrad_kind,
            clipped=record.clipped,
            warm_start={k: getattr(record, k) for k in _WARM_START_KEYS},
            status=status,
            seed=seed,
        )


_WARM_START_KEYS = ("name", "params", "seconds", "flops", "peak_mem_bytes", "train_step_peak_mem_bytes", "note")


@dataclass(frozen=True)
class EventRecord:
    trial_id: int
    epoch: int
    val_acc: float
    val_loss: float
    test_acc: float
    train_loss: float
    tuner_seconds: float
    trial_seconds: float
    epochs_total: float
    flops_total: float
    warm_start_flops_total: float = 0.0
    warm_start_seconds_total: float = 0.0
    #: seconds of this trial spent compiling its step (CUDA graphs, first trial of a worker), cumulative;
    #: already inside ``trial_seconds``
    trial_compile_seconds: float = 0.0


def run_dir(out: Path | str, task: str, optimizer: str, seed: int) -> Path:
    return Path(out) / task / optimizer / f"seed-{seed}"


def write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    """Replace ``path`` so that readers see either the old or the new file, never half."""
    text = json.dumps(payload, indent=2, sort_keys=True, default=_json_default) + "\n"
    atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))


def _json_default(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):  # our records: flat fields, or records nested in them
        return vars(value)
    if hasattr(value, "item"):  # numpy / torch scalars
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


_LINE_ENCODER = json.JSONEncoder(sort_keys=True, default=_json_default)  # built once: a replay writes ~15k lines


class JsonlAppender:
    """Append-only JSON lines, one flush per line unless ``flush_each`` is False (a replay writes
    thousands of lines a second; unflushed, a crash can cut only the last line, which readers drop)."""

    def __init__(self, path: Path, flush_each: bool = True) -> None:
        self.path = path
        self.flush_each = flush_each
        self._fh = open(path, "a", encoding="utf-8")

    def append(self, record: Any) -> None:
        self._fh.write(_LINE_ENCODER.encode(record) + "\n")  # a record (dataclass) or a dict
        if self.flush_each:
            self._fh.flush()

    def close(self) -> None:
        self._fh.close()


@dataclass
class JsonlRead:
    records: list[dict[str, Any]] = field(default_factory=list)
    truncated: bool = False  # the last line was cut off mid-write and was dropped


def read_jsonl(path: Path) -> JsonlRead:
    """Read JSON lines, dropping a truncated *last* line; damage elsewhere is an error."""
    result = JsonlRead()
    if not path.exists():
        return result
    lines = path.read_text(encoding="utf-8").split("\n")
    # A complete file ends with "\n", so the final split element is "".
    tail = lines.pop()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            result.records.append(json.loads(line))
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}:{number}: damaged line ({err})") from None
    if tail.strip():
        try:
            result.records.append(json.loads(tail))
        except json.JSONDecodeError:
            result.truncated = True
    return result


def latest_per_trial(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Collapse trials.jsonl to the last line of each trial_id, in first-seen order."""
    latest: dict[int, dict[str, Any]] = {}
    for rec in records:
        latest[rec["trial_id"]] = rec
    return list(latest.values())


def read_meta(directory: Path) -> RunMeta:
    """meta.json, checked against its schema; ValueError naming the file when it is damaged."""
    path = Path(directory) / META
    with open(path, encoding="utf-8") as fh:
        try:
            data = json.load(fh)
        except json.JSONDecodeError as err:
            raise ValueError(f"{path} is damaged (not JSON: {err})") from None
    return RunMeta.from_json(data, where=str(path))


class MissingTrajectory(ValueError):
    """A meta.json says ``complete`` but a trajectory file is missing: the run is not complete (its folder
    was emptied or removed while it ran, or the files were deleted since)."""


@dataclass
class Trajectory:
    """A run read back from disk."""

    directory: Path
    meta: RunMeta
    trials: list[dict[str, Any]]
    events: list[dict[str, Any]]
    truncated: bool

    @classmethod
    def read(cls, directory: Path | str) -> Trajectory:
        directory = Path(directory)
        if not (directory / META).exists():
            raise FileNotFoundError(f"{directory} holds no {META}: not an ohgw-bench run folder")
        meta = read_meta(directory)
        if meta.status == RunStatus.COMPLETE:  # a run still running may not have written them yet
            missing = [name for name in (TRIALS, EVENTS) if not (directory / name).is_file()]
            if missing:
                raise MissingTrajectory(
                    f"{directory}: {META} says complete but {' and '.join(missing)} is missing, so it is not a "
                    "complete run (was the folder emptied while it ran, or the files deleted since?)"
                )
        trials = read_jsonl(directory / TRIALS)
        events = read_jsonl(directory / EVENTS)
        return cls(
            directory, meta, latest_per_trial(trials.records), events.records, trials.truncated or events.truncated
        )


def find_runs(root: Path | str) -> Iterator[Path]:
    """Every run folder (one holding meta.json) under ``root``, sorted. A twin table's folder holds a
    meta.json too, beside its ``cells.jsonl``: it is not a run (a study keeps its table next to its runs)."""
    root = Path(root)
    if (root / META).exists() and not (root / TABLE_CELLS).exists():
        yield root
        return
    yield from sorted(p.parent for p in root.rglob(META) if not (p.parent / TABLE_CELLS).exists())
