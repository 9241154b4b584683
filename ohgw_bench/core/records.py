"""The records that cross a boundary — trial → worker → runner → trajectory, table and analysis —
frozen, and serialised from their fields (CARP-S's TrialInfo/TrialValue are the model).

* :class:`TrialReport`: what a trial reports after each epoch (metrics, its clocks and costs).
* :class:`WarmStartRecord`: what the warm start did to the sampled configuration and what it cost;
  one per trial, the same type in a trial's checkpoint, a run's trajectory, a twin table's cells
  and the in-process objective's result.
* :class:`EpochRecord`: a point of a stored learning curve (a twin table's cells).
* :class:`TrialStatus` and :class:`RunStatus`: the status words of trials.jsonl and meta.json.

syne-tune carries a trial's reports as flat dicts of scalars. :func:`to_report` and
:func:`from_report` are the one place that flattens a report and builds it back, from the
records' fields; nothing else knows the flat form.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any


class TrialStatus(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    STOPPED = "stopped"
    FAILED = "failed"
    DIVERGED = "diverged"  # the loss stopped being finite; final

    @property
    def finished(self) -> bool:
        return self in _FINISHED


_FINISHED = frozenset({TrialStatus.COMPLETED, TrialStatus.STOPPED, TrialStatus.FAILED, TrialStatus.DIVERGED})


class RunStatus(StrEnum):
    RUNNING = "running"
    COMPLETE = "complete"
    FAILED = "failed"


@dataclass(frozen=True)
class TrialReport:
    """One epoch of one trial, as the trial measured it. The seconds and FLOPs are cumulative over
    the trial (warm start included); ``compile_seconds`` (CUDA graphs) is already inside
    ``trial_seconds`` and said apart."""

    epoch: int
    val_acc: float
    val_loss: float
    test_acc: float
    train_loss: float
    trial_seconds: float
    trial_flops: float
    test_loss: float = math.nan  # a twin table does not keep it
    compile_seconds: float = 0.0
    diverged: bool = False


@dataclass(frozen=True)
class WarmStartRecord:
    """The warm start of one trial: the configuration it was given and the one it trained with,
    the hyper-gradient behind the move (``None`` where not computed) and its kind per dimension
    (exact | finite_difference | structurally_zero | not_computed), where it was clipped to the
    bounds, and its cost, charged to the trial that paid it."""

    name: str
    params: dict[str, Any]
    config_sampled: dict[str, float]
    config_used: dict[str, float]
    hypergrad: dict[str, float | None]
    hypergrad_kind: dict[str, str]
    clipped: dict[str, bool]
    seconds: float
    flops: float
    peak_mem_bytes: int = 0
    train_step_peak_mem_bytes: int = 0  # the same memory measure for the trial's first epoch
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WarmStartRecord:
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"a warm-start record has unknown keys {sorted(unknown)}")
        return cls(**data)


@dataclass(frozen=True)
class EpochRecord:
    """A point of a stored learning curve (a twin table's cells keep these)."""

    epoch: int
    val_acc: float
    val_loss: float
    test_acc: float
    train_loss: float
    trial_seconds: float  # cumulative: warm start + training + evaluation so far
    trial_flops: float  # cumulative

    @classmethod
    def of(cls, report: TrialReport) -> EpochRecord:
        return cls(**{f.name: getattr(report, f.name) for f in fields(cls)})


#: the report key that carries a trial's :class:`WarmStartRecord` (as JSON text: reports are scalars)
WARM_START_KEY = "warm_start_record"
_REPORT_FIELDS = tuple((f.name, str(f.type)) for f in fields(TrialReport))  # annotations are text here
_CAST: dict[str, Callable[[Any], Any]] = {"int": int, "float": float, "bool": lambda v: bool(int(v))}


def encode_warm_start(record: WarmStartRecord) -> str:
    """A trial encodes its record once and sends the text with every report."""
    return json.dumps(record.to_json(), sort_keys=True)


def to_report(report: TrialReport, warm_start: str) -> dict[str, Any]:
    """The flat form of a report that syne-tune carries: the report's fields, and the encoded
    warm-start record (:func:`encode_warm_start`) under :data:`WARM_START_KEY`."""
    flat: dict[str, Any] = {name: getattr(report, name) for name, _ in _REPORT_FIELDS}
    flat["diverged"] = int(report.diverged)
    flat[WARM_START_KEY] = warm_start
    return flat


def from_report(result: Mapping[str, Any]) -> TrialReport:
    """The :class:`TrialReport` in a flat result (syne-tune adds keys of its own; they are ignored)."""
    return TrialReport(**{name: _CAST[kind](result[name]) for name, kind in _REPORT_FIELDS if name in result})


def warm_start_from_report(result: Mapping[str, Any]) -> WarmStartRecord:
    return WarmStartRecord.from_json(json.loads(result[WARM_START_KEY]))


def none_if_nan(value: float) -> float | None:
    """Tables store a hyper-gradient that was not computed as NaN (Parquet columns are floats)."""
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)
