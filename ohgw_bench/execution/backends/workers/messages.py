"""What a run and its warm workers say to each other over a pipe (pickled, torch-free).

Pickle is safe here and only here: the pipe is a socket pair between a run and the worker
processes it started itself, never a file or a port that anyone else can write to. What is read
back from disk is never unpickled as it is: checkpoints load with ``weights_only=True``, and
CIFAR-10's official pickles go through an unpickler that builds only plain data.

The protocol is a strict conversation per trial: the run sends :class:`StartTrial`; the
worker answers every :class:`Report` by *waiting* for a :class:`Decision`, so a pause or
stop takes effect before the next epoch starts; a trial ends with :class:`TrialEnded`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Action = Literal["continue", "pause", "stop"]
EndStatus = Literal["completed", "paused", "stopped", "failed"]


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker prepares for before its first trial: the constants every trial's config
    carries (task, threads, warm start, ...; ``backends/trial_config.py``), decoded by the same
    functions that decode each trial's setup, so the worker and its trials cannot disagree. Its GPU
    comes from the environment the pool starts it with (``CUDA_VISIBLE_DEVICES``), which must be
    set before torch is imported."""

    constants: dict[str, Any]


@dataclass(frozen=True)
class Ready:
    pid: int
    startup_seconds: float


@dataclass(frozen=True)
class StartTrial:
    """Start or resume (the checkpoint decides which) ``trial_id`` with syne-tune's ``config``."""

    trial_id: int
    config: dict[str, Any]
    checkpoint_dir: str


@dataclass(frozen=True)
class Report:
    trial_id: int
    result: dict[str, Any]


@dataclass(frozen=True)
class Decision:
    trial_id: int
    action: Action


@dataclass(frozen=True)
class TrialEnded:
    trial_id: int
    status: EndStatus
    error: str = ""
    #: seconds each report waited for its decision (report-to-decision latency, seen by the trial)
    decision_waits: tuple[float, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Shutdown:
    pass
