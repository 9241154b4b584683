"""Registries of tasks, schedulers and warm starts (timm style: register / list / get).

Plugins register themselves with a decorator on the thing itself, in one file each under
``ohgw_bench/tasks/``, ``ohgw_bench/schedulers/`` and ``ohgw_bench/warmstarts/``. Every module
of those folders is imported on first use (modules whose name starts with ``_`` are helpers,
not plugins); there is no list to keep. Names are leaderboard keys, so registering a name
twice is an error and an unknown name is an error that lists the closest registered names.
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
import pkgutil
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from ohgw_bench.core.specs import SchedulerSpec, TaskSpec, WarmStartSpec, keyword_defaults

S = TypeVar("S", TaskSpec, SchedulerSpec, WarmStartSpec)
F = TypeVar("F", bound=Callable[..., Any])


class UnknownNameError(KeyError):
    """An unregistered name; the message lists close matches."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class Registry(Generic[S]):
    """Name → spec, filled by importing every public module of ``package`` on first use."""

    def __init__(self, kind: str, package: str) -> None:
        self.kind = kind
        self.package = package
        self._specs: dict[str, S] = {}
        self._discovered = False

    def add(self, spec: S) -> S:
        if spec.name in self._specs:
            raise ValueError(f"{self.kind} {spec.name!r} is already registered")
        self._specs[spec.name] = spec
        return spec

    def _discover(self) -> None:
        if self._discovered:
            return
        package = importlib.import_module(self.package)
        for module in pkgutil.iter_modules(package.__path__):
            # helpers start with "_"; sub-packages (a task's data/ and models/) hold no plugins
            if not module.name.startswith("_") and not module.ispkg:
                importlib.import_module(f"{self.package}.{module.name}")
        self._discovered = True

    def names(self, pattern: str = "*") -> list[str]:
        self._discover()
        return sorted(n for n in self._specs if fnmatch.fnmatch(n, pattern))

    def get(self, name: str) -> S:
        self._discover()
        try:
            return self._specs[name]
        except KeyError:
            close = difflib.get_close_matches(name, list(self._specs), n=3, cutoff=0.4)
            hint = f"; closest: {', '.join(close)}" if close else ""
            raise UnknownNameError(
                f"unknown {self.kind} {name!r}{hint} (all: {', '.join(sorted(self._specs))})"
            ) from None


TASKS: Registry[TaskSpec] = Registry("task", "ohgw_bench.tasks")
SCHEDULERS: Registry[SchedulerSpec] = Registry("scheduler", "ohgw_bench.schedulers")
WARM_STARTS: Registry[WarmStartSpec] = Registry("warm start", "ohgw_bench.warmstarts")


def register_task(factory: Callable[[], TaskSpec]) -> Callable[[], TaskSpec]:
    """Decorate a zero-argument function that returns a :class:`TaskSpec` (cheap: no data, no torch)."""
    TASKS.add(factory())
    return factory


def register_scheduler(
    name: str, description: str, *, engine: str = "syne-tune", pauses_trials: bool = False
) -> Callable[[F], F]:
    """Decorate a scheduler factory; its keyword-only parameters are the settings and their defaults."""

    def decorate(factory: F) -> F:
        SCHEDULERS.add(SchedulerSpec(name, description, factory, keyword_defaults(factory), engine, pauses_trials))
        return factory

    return decorate


def register_warm_start(
    name: str,
    description: str,
    *,
    computes: bool = True,
    check: Callable[[Mapping[str, Any]], None] | None = None,
) -> Callable[[F], F]:
    """Decorate a warm start; its keyword-only parameters are its parameters and their defaults, and
    ``check`` (optional) validates their values."""

    def decorate(factory: F) -> F:
        WARM_STARTS.add(WarmStartSpec(name, description, factory, keyword_defaults(factory), computes, check))
        return factory

    return decorate


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
