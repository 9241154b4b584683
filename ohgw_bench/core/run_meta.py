"""meta.json of a run, as one frozen record: the runner builds it once
(:func:`ohgw_bench.execution.meta.run_meta`), replaces it as the run ends, and every reader gets
it back typed through :meth:`RunMeta.from_json`, which checks the schema."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from typing import Any

from ohgw_bench.core.records import RunStatus

SCHEMA_VERSION = 1

#: keys every meta.json has, whatever its status, and their JSON types
REQUIRED = {"schema_version": int, "task": str, "optimizer": str, "seed": int, "status": str, "budget": dict}
#: written only once they are known (as the run ends, or fails)
_LATE = ("tuner_seconds", "epochs_total", "trials", "error", "traceback", "backend_info")


@dataclass(frozen=True)
class RunMeta:
    """A run's keys (task, optimizer, seed, budget), settings with their defaults filled in, where and
    with what it ran (versions, code, device, placement), its status and, once it ended, its totals."""

    schema_version: int
    task: str
    optimizer: str  # the canonical composed name: the leaderboard key
    seed: int
    status: RunStatus
    budget: dict[str, Any]  # {"amount": float, "clock": "tuner_seconds" | "device_seconds" | "epochs"}
    scheduler: str = ""
    scheduler_params: dict[str, Any] = field(default_factory=dict)
    warm_start: str = "none"
    warm_start_params: dict[str, Any] = field(default_factory=dict)
    warm_start_label: str = "none"
    scheduler_settings: dict[str, Any] = field(default_factory=dict)  # every setting, defaults filled in
    warm_start_settings: dict[str, Any] = field(default_factory=dict)
    seeds: dict[str, Any] = field(default_factory=dict)
    workers: int = 1
    threads_per_trial: int | None = None
    backend: str = "workers"
    clock_source: str = "real"  # "table <sha256>" for a replay: replays and real runs never pair
    table: dict[str, Any] | None = None
    target: float | None = None
    max_epochs: int | None = None
    metric: str = "val_acc"
    versions: dict[str, str] = field(default_factory=dict)
    git_sha: str | None = None
    code_version: dict[str, Any] | None = None
    device: str | None = None
    replayed_on: str | None = None
    cuda_visible_devices: str | None = None
    gpus_rotated: list[int] | None = None
    placement: dict[str, Any] | None = None
    graphs: bool = False
    data_info: dict[str, Any] | None = None
    started_at: str | None = None
    ended_at: str | None = None
    tuner_seconds: float | None = None
    epochs_total: int | None = None
    trials: int | None = None
    error: str | None = None
    traceback: str | None = None
    backend_info: dict[str, Any] | None = None
    #: keys this version does not know (a newer or older schema revision), kept as read
    extra: dict[str, Any] = field(default_factory=dict)

    def replace(self, **changes: Any) -> RunMeta:
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        for key in _LATE:
            if data[key] is None:
                del data[key]
        return {**self.extra, **data}

    @classmethod
    def from_json(cls, data: Any, where: str = "meta.json") -> RunMeta:
        """ValueError naming ``where`` unless ``data`` is a meta.json of this schema."""
        if not isinstance(data, dict):
            raise ValueError(f"{where} is damaged (not a JSON object)")
        wrong = [k for k, kind in REQUIRED.items() if not isinstance(data.get(k), kind)]
        budget = data.get("budget")
        if isinstance(budget, dict) and not {"amount", "clock"} <= set(budget):
            wrong.append("budget.amount/clock")
        if data.get("status") not in {s.value for s in RunStatus}:
            wrong.append("status")
        if wrong:
            raise ValueError(f"{where} is damaged or from another tool: missing or mistyped {', '.join(wrong)}")
        if data["schema_version"] != SCHEMA_VERSION:
            raise ValueError(f"{where}: schema_version {data['schema_version']} is not {SCHEMA_VERSION}")
        known = {f.name for f in fields(cls)} - {"extra"}
        return cls(
            **{k: v for k, v in data.items() if k in known},
            extra={k: v for k, v in data.items() if k not in known},
        ).replace(status=RunStatus(data["status"]))
