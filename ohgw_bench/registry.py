"""Registries of tasks, schedulers and warm starts (timm style: register / list / create).

Names are leaderboard keys, so registering a name twice is an error and an unknown
name is an error that lists the closest registered names.
"""
from __future__ import annotations

import difflib
import fnmatch
import importlib
from typing import Generic, TypeVar

from ohgw_bench.specs import SchedulerSpec, TaskSpec, WarmStartSpec

S = TypeVar("S", TaskSpec, SchedulerSpec, WarmStartSpec)


class UnknownNameError(KeyError):
    """An unregistered name; the message lists close matches."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class Registry(Generic[S]):
    """Name → spec. ``populate_from`` is imported on first use so that listing is lazy."""

    def __init__(self, kind: str, populate_from: str) -> None:
        self.kind = kind
        self._populate_from = populate_from
        self._specs: dict[str, S] = {}

    def register(self, spec: S) -> S:
        if spec.name in self._specs:
            raise ValueError(f"{self.kind} {spec.name!r} is already registered")
        self._specs[spec.name] = spec
        return spec

    def _ensure_populated(self) -> None:
        importlib.import_module(self._populate_from)

    def names(self, pattern: str = "*") -> list[str]:
        self._ensure_populated()
        return sorted(n for n in self._specs if fnmatch.fnmatch(n, pattern))

    def get(self, name: str) -> S:
        self._ensure_populated()
        try:
            return self._specs[name]
        except KeyError:
            close = difflib.get_close_matches(name, list(self._specs), n=3, cutoff=0.4)
            hint = f"; closest: {', '.join(close)}" if close else ""
            raise UnknownNameError(
                f"unknown {self.kind} {name!r}{hint} (all: {', '.join(sorted(self._specs))})"
            ) from None


TASKS: Registry[TaskSpec] = Registry("task", "ohgw_bench.tasks")
SCHEDULERS: Registry[SchedulerSpec] = Registry("scheduler", "ohgw_bench.optimizers")
WARM_STARTS: Registry[WarmStartSpec] = Registry("warm start", "ohgw_bench.warmstart")

register_task = TASKS.register
register_scheduler = SCHEDULERS.register
register_warm_start = WARM_STARTS.register


def list_tasks(pattern: str = "*") -> list[str]:
    return TASKS.names(pattern)


def list_schedulers(pattern: str = "*") -> list[str]:
    return SCHEDULERS.names(pattern)


def list_warm_starts(pattern: str = "*") -> list[str]:
    return WARM_STARTS.names(pattern)


def get_task(name: str) -> TaskSpec:
    return TASKS.get(name)


def get_scheduler(name: str) -> SchedulerSpec:
    return SCHEDULERS.get(name)


def get_warm_start(name: str) -> WarmStartSpec:
    return WARM_STARTS.get(name)
