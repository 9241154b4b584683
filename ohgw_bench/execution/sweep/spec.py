"""Sweep specs: a TOML file and/or flags → a validated grid of runs (tasks × opts × seeds).

Keys ``tasks``, ``opts``, ``seeds``, ``seeds_by_scheduler``, ``budget``, ``workers``, ``out`` and
nothing else; a flag overrides the file's key. ``seeds_by_scheduler`` (file only) gives every arm of
one scheduler its own seeds, e.g. ``{ pasha = "0-15" }``: arms of a scheduler always share seeds,
so they stay paired. Every run of the grid is validated with
:func:`ohgw_bench.execution.runner.prepare_run` before anything starts; a bad value is a
:class:`SweepError` naming the file and line (or the flag) and, for an unknown name, the
closest registered names.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ohgw_bench.core.budget import Budget
from ohgw_bench.core.limits import MAX_RUNS, MAX_SEED, MAX_SEEDS

if TYPE_CHECKING:
    from ohgw_bench.execution.plan import RunRequest

SPEC_KEYS = (
    "tasks",
    "opts",
    "seeds",
    "seeds_by_scheduler",
    "budget",
    "workers",
    "out",
    "backend",
    "threads",
    "graphs",
    "configs_from",
    "table_resample",
)
DEFAULT_BUDGET = "120s"
DEFAULT_WORKERS = 1
DEFAULT_OUT = "results"


class SweepError(ValueError):
    """Bad sweep input (spec file, flags, cluster); raised before anything is written."""


@dataclass(frozen=True)
class RunKey:
    task: str
    optimizer: str  # canonical composed name
    seed: int

    @property
    def label(self) -> str:
        return f"{self.task} / {self.optimizer} / seed {self.seed}"


@dataclass(frozen=True)
class SweepSpec:
    tasks: tuple[str, ...]
    opts: tuple[str, ...]  # canonical names
    seeds: tuple[int, ...]
    budget: str
    workers: int
    out: Path  # absolute
    seeds_by_scheduler: tuple[tuple[str, tuple[int, ...]], ...] = ()
    backend: str = "workers"  # or table:PATH, a replay (execution.plan.BACKENDS)
    threads: int | None = None  # torch threads per trial, as `run --threads`
    graphs: bool = True  # CUDA graphs where the task allows them, as `run` without --no-graphs
    configs_from: Path | None = None  # a twin table whose configurations real runs train, as `run --configs-from`
    table_resample: int | None = None  # replays on this resample of the table, as `run --table-resample`

    @property
    def replay(self) -> bool:
        from ohgw_bench.execution.plan import BACKEND_PREFIX

        return self.backend.startswith(BACKEND_PREFIX)

    @functools.cached_property
    def parsed_budget(self) -> Budget:
        return Budget.parse(self.budget)

    def request(self, run: RunKey) -> RunRequest:
        """What one run of the grid asks for (the spec's values were checked when it was built)."""
        from ohgw_bench.execution.plan import RunRequest

        return RunRequest.parse(
            run.task,
            run.optimizer,
            self.parsed_budget,
            self.out,
            backend=self.backend,
            configs_from=self.configs_from,
            seed=run.seed,
            workers=self.workers,
            threads=self.threads,
            graphs=self.graphs,
            table_resample=self.table_resample,
        )

    def seeds_of(self, optimizer: str) -> tuple[int, ...]:
        """The seeds of one optimizer: its scheduler's own seeds if the spec gives them."""
        from ohgw_bench.core.names import parse_optimizer_name

        return dict(self.seeds_by_scheduler).get(parse_optimizer_name(optimizer).scheduler, self.seeds)

    def runs(self) -> list[RunKey]:
        """The grid, seed by seed: all arms of one seed run back to back, so drift in machine
        speed during a long sweep falls on every arm of a pair alike.

        Within a seed the optimizers run in blocks of one scheduler key
        (:func:`ohgw_bench.core.names.scheduler_key`: the name without its warm-start part),
        and each block's arms are rotated by one for every seed that block has run before.
        So among a scheduler's arms, each runs first equally often (±1) over that scheduler's
        seeds, however many schedulers, arms and seeds the grid has (rotating across *all*
        optimizers would not: with several schedulers, most shifts leave a block whole and its
        first arm, ``none``, first). The blocks' order rotates by one from seed to seed too.
        Tasks: for each seed, every task in turn runs all of its arms.
        """
        from ohgw_bench.core.names import scheduler_key

        per_opt = {o: set(self.seeds_of(o)) for o in self.opts}  # sets: the grid is built in linear time
        blocks: dict[str, list[str]] = {}
        for o in self.opts:
            blocks.setdefault(scheduler_key(o), []).append(o)
        keys = list(blocks)
        turns = dict.fromkeys(keys, 0)  # seeds each block has run so far
        all_seeds = list(dict.fromkeys(s for o in self.opts for s in self.seeds_of(o)))
        runs = []
        for k, seed in enumerate(all_seeds):
            shift = k % len(keys)
            order: list[str] = []
            for key in keys[shift:] + keys[:shift]:
                arms = blocks[key]
                if not any(seed in per_opt[o] for o in arms):
                    continue
                turn = turns[key] % len(arms)
                turns[key] += 1
                order += [o for o in arms[turn:] + arms[:turn] if seed in per_opt[o]]
            runs += [RunKey(t, o, seed) for t in self.tasks for o in order]
        return runs


class Where:
    """Where each value came from, for error messages: ``spec.toml:3`` or ``--seeds``."""

    def __init__(self, path: Path | None = None, text: str = "") -> None:
        self.path = path
        self.lines = text.splitlines()
        self.flags: set[str] = set()

    def key_line(self, key: str) -> int | None:
        pattern = re.compile(rf"""^\s*(?:\[+\s*)?(?:{re.escape(key)}|"{re.escape(key)}"|'{re.escape(key)}')\s*[=.\]]""")
        for number, line in enumerate(self.lines, start=1):
            if pattern.match(line):
                return number
        return None

    def __call__(self, key: str, item: Any = None) -> str:
        if key in self.flags or self.path is None:
            return f"--{key}"
        line = self.key_line(key)
        if line is not None and isinstance(item, str):
            quoted = (f'"{item}"', f"'{item}'")
            for number in range(line, len(self.lines) + 1):
                if any(q in self.lines[number - 1] for q in quoted):
                    line = number
                    break
        return f"{self.path}:{line}" if line is not None else f"{self.path}"


def parse_seeds(text: str | int | Sequence[Any], where: str = "--seeds") -> list[int]:
    """``"0-31"``, ``"0,2,5-7"``, ``7`` or ``[0, 1, "4-6"]`` → a list of distinct seeds, in order.

    Linear in the text: a range is sized before it is built, so ``0-999999999999`` is refused at once
    (at most :data:`~ohgw_bench.core.limits.MAX_SEEDS` seeds, each at most ``MAX_SEED``)."""
    seeds: list[int] = []
    seen: set[int] = set()
    for item in _seed_items(text, where):
        lo, hi = _seed_range(item, where)
        if len(seeds) + (hi - lo + 1) > MAX_SEEDS:
            raise SweepError(
                f"{where}: more than {MAX_SEEDS:,} seeds (at {_short(item)}); paired statistics settle long "
                "before that: use fewer"
            )
        for value in range(lo, hi + 1):
            if value in seen:
                raise SweepError(f"{where}: seed {value} is listed twice")
            seen.add(value)
            seeds.append(value)
    return seeds


def _seed_items(text: str | int | Sequence[Any], where: str) -> list[Any]:
    """The comma-separated (or listed) items of a seeds value."""
    if isinstance(text, bool):
        raise SweepError(f"{where}: seeds must be integers or ranges like 0-31, got {text!r}")
    if isinstance(text, int):
        return [text]
    if isinstance(text, str):
        return [part.strip() for part in text.split(",")] if text.strip() else []
    if isinstance(text, (list, tuple)):
        return list(text)
    raise SweepError(f"{where}: seeds must be a list, a range like 0-31 or an integer, got {_short(text)}")


_SEED_ITEM = re.compile(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?")


def _seed_range(item: Any, where: str) -> tuple[int, int]:
    """One item → (first, last) seed, each checked against ``MAX_SEED`` before a range is built."""
    if isinstance(item, bool) or not isinstance(item, (int, str)):
        raise SweepError(f"{where}: bad seed {_short(item)}: use integers or ranges like 0-31")
    if isinstance(item, int):
        lo = hi = _seed_value(item, where)
        return lo, hi
    match = _SEED_ITEM.fullmatch(item)
    if not match:
        raise SweepError(f"{where}: bad seed {_short(item)}: use non-negative integers or ranges like 0-31")
    lo = _seed_value(match.group(1), where)
    hi = _seed_value(match.group(2), where) if match.group(2) is not None else lo
    if hi < lo:
        raise SweepError(f"{where}: empty seed range {_short(item)} (end before start)")
    return lo, hi


def _seed_value(value: int | str, where: str) -> int:
    """A seed in [0, MAX_SEED]; digits are counted before they are converted (a long one is refused cheaply)."""
    if isinstance(value, str) and len(value.lstrip("0")) > len(str(MAX_SEED)):
        raise SweepError(f"{where}: seed {_short(value)} is more than {MAX_SEED} (seeds of numpy's RandomState)")
    number = int(value)
    if number < 0:
        raise SweepError(f"{where}: seeds must be non-negative, got {number}")
    if number > MAX_SEED:
        raise SweepError(f"{where}: seed {number} is more than {MAX_SEED} (seeds of numpy's RandomState)")
    return number


def _short(value: Any, keep: int = 40) -> str:
    """``repr(value)`` for a message, cut short when pasted text runs on."""
    text = repr(value)
    return text if len(text) <= keep else f"{text[:keep]}... ({len(text)} characters)"


def _names(value: Any, key: str, where: Where, split: Callable[[str], list[str]]) -> list[str]:
    if isinstance(value, str):
        return [v for v in split(value) if v] if value.strip() else []
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value]
    raise SweepError(f"{where(key)}: {key} must be a list of strings (or one comma-separated string), got {value!r}")


def read_spec_file(path: Path | str) -> tuple[dict[str, Any], Where]:
    """Parse a sweep spec (TOML); unknown keys are an error naming the key and its line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise SweepError(f"cannot read sweep spec {path}: {err.strerror or err}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise SweepError(f"{path}: not valid TOML: {err}") from None
    where = Where(path, text)
    for key in data:
        if key not in SPEC_KEYS:
            import difflib

            close = difflib.get_close_matches(key, SPEC_KEYS, n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise SweepError(f"{where(key)}: unknown key {key!r}{hint} (allowed: {', '.join(SPEC_KEYS)})")
    return data, where


def build_spec(spec_path: Path | str | None = None, **flags: Any) -> SweepSpec:
    """Combine a spec file and flags (a flag overrides the file's key); validate names and values."""
    return spec_and_where(spec_path, **flags)[0]


def spec_and_where(
    spec_path: Path | str | None = None,
    *,
    tasks: str | None = None,
    opts: str | None = None,
    seeds: str | None = None,
    budget: str | None = None,
    workers: int | None = None,
    out: Path | str | None = None,
    backend: str | None = None,
    threads: int | None = None,
    graphs: bool | None = None,
    configs_from: Path | str | None = None,
    table_resample: int | None = None,
) -> tuple[SweepSpec, Where]:
    """:func:`build_spec`, and where each value came from (for the messages of later checks)."""
    from ohgw_bench.core.budget import Budget
    from ohgw_bench.core.names import (
        OptimizerNameError,
        parse_optimizer_name,
        split_top_level,
    )
    from ohgw_bench.core.registry import UnknownNameError, get_task
    from ohgw_bench.execution.plan import BACKEND_PREFIX, RunRefused, parse_backend, table_path

    data, where = read_spec_file(spec_path) if spec_path is not None else ({}, Where())
    flags = {
        "tasks": tasks,
        "opts": opts,
        "seeds": seeds,
        "budget": budget,
        "workers": workers,
        "out": out,
        "backend": backend,
        "threads": threads,
        "graphs": graphs,
        "configs_from": configs_from,
        "table_resample": table_resample,
    }
    for key, value in flags.items():
        if value is not None:
            data[key] = value
            where.flags.add(key)
    for key in ("tasks", "opts", "seeds"):
        if key not in data:
            source = f" (in {spec_path} or as --{key})" if spec_path is not None else f" (--{key})"
            raise SweepError(f"no {key} given{source}")

    task_names: list[str] = []
    for name in _names(data["tasks"], "tasks", where, lambda s: [p.strip() for p in s.split(",")]):
        try:
            canonical = get_task(name).name
        except UnknownNameError as err:
            raise SweepError(f"{where('tasks', name)}: tasks: {err}") from None
        if canonical in task_names:
            raise SweepError(f"{where('tasks', name)}: task {name!r} is listed twice")
        task_names.append(canonical)

    opt_names: list[str] = []
    try:
        raw_opts = _names(data["opts"], "opts", where, split_top_level)
    except OptimizerNameError as err:
        raise SweepError(f"{where('opts')}: opts: {err}") from None
    for name in raw_opts:
        try:
            canonical = parse_optimizer_name(name).canonical
        except (UnknownNameError, OptimizerNameError) as err:
            raise SweepError(f"{where('opts', name)}: opts: {err}") from None
        if canonical in opt_names:
            raise SweepError(
                f"{where('opts', name)}: opts: {name!r} names the same optimizer as an earlier entry ({canonical!r})"
            )
        opt_names.append(canonical)

    seed_list = parse_seeds(data["seeds"], where("seeds"))
    by_scheduler = _seeds_by_scheduler(data.get("seeds_by_scheduler", {}), opt_names, where)
    _check_grid_size(task_names, opt_names, seed_list, dict(by_scheduler), where)

    budget_text = data.get("budget", DEFAULT_BUDGET)
    if not isinstance(budget_text, str):
        raise SweepError(
            f'{where("budget")}: budget must be a string with a unit (e.g. "120s", "500ep"), got {budget_text!r}'
        )
    try:
        Budget.parse(budget_text)
    except ValueError as err:
        raise SweepError(f"{where('budget')}: {err}") from None

    n_workers = data.get("workers", DEFAULT_WORKERS)
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
        raise SweepError(
            f"{where('workers')}: workers (concurrent trials per run) must be a positive integer, got {n_workers!r}"
        )

    out_value = data.get("out", DEFAULT_OUT)
    if not isinstance(out_value, (str, Path)) or not str(out_value).strip():
        raise SweepError(f"{where('out')}: out must be a folder path, got {out_value!r}")
    out_path = Path(out_value).expanduser().resolve()
    if out_path.exists() and not out_path.is_dir():
        raise SweepError(f"{where('out')}: out {out_path} exists and is not a folder")

    backend_value = data.get("backend", "workers")
    if not isinstance(backend_value, str) or not backend_value.strip():
        raise SweepError(
            f"{where('backend')}: backend must be workers, subprocess or table:PATH, got {backend_value!r}"
        )
    try:
        replayed = parse_backend(backend_value)
    except RunRefused as err:
        raise SweepError(f"{where('backend')}: {err}") from None
    if replayed is not None:  # relative to the working folder, like ``out``
        backend_value = BACKEND_PREFIX + str(replayed.expanduser().resolve())

    n_threads = data.get("threads")
    if n_threads is not None and (isinstance(n_threads, bool) or not isinstance(n_threads, int) or n_threads < 1):
        raise SweepError(
            f"{where('threads')}: threads (torch threads per trial) must be a positive integer, got {n_threads!r}"
        )
    graphs_value = data.get("graphs", True)
    if not isinstance(graphs_value, bool):
        raise SweepError(f"{where('graphs')}: graphs must be true or false, got {graphs_value!r}")
    configs_value = data.get("configs_from")
    if configs_value is not None and (not isinstance(configs_value, (str, Path)) or not str(configs_value).strip()):
        raise SweepError(f"{where('configs_from')}: configs_from must be a twin table's folder, got {configs_value!r}")
    try:  # a path relative to the working folder, like ``out``, or a committed table's name
        named = None if configs_value is None else table_path(str(Path(configs_value).expanduser()), "configs_from ")
    except RunRefused as err:
        raise SweepError(f"{where('configs_from')}: {err}") from None
    configs_path = None if named is None else named.resolve()
    resample = data.get("table_resample")
    if resample is not None and (isinstance(resample, bool) or not isinstance(resample, int) or resample < 0):
        raise SweepError(f"{where('table_resample')}: table_resample must be a non-negative integer, got {resample!r}")
    if resample is not None and replayed is None:
        raise SweepError(
            f"{where('table_resample')}: table_resample resamples a replayed table: it needs backend table:PATH"
        )

    for key, values in (("tasks", task_names), ("opts", opt_names), ("seeds", seed_list)):
        if not values:
            raise SweepError(f"{where(key)}: {key} is empty, so the grid has no runs")
    spec = SweepSpec(
        tuple(task_names),
        tuple(opt_names),
        tuple(seed_list),
        budget_text,
        n_workers,
        out_path,
        by_scheduler,
        backend_value.strip(),
        threads=n_threads,
        graphs=graphs_value,
        configs_from=configs_path,
        table_resample=resample,
    )
    return spec, where


def _seeds_by_scheduler(value: Any, opt_names: list[str], where: Where) -> tuple[tuple[str, tuple[int, ...]], ...]:
    from ohgw_bench.core.names import parse_optimizer_name

    key = "seeds_by_scheduler"
    if not isinstance(value, dict):
        raise SweepError(f'{where(key)}: {key} must be a table like {{ pasha = "0-15" }}, got {value!r}')
    used = {parse_optimizer_name(o).scheduler for o in opt_names}
    pairs = []
    for scheduler, seeds in value.items():
        if scheduler not in used:
            raise SweepError(
                f"{where(key)}: {key}: no optimizer in opts uses {scheduler!r} "
                f"(schedulers in opts: {', '.join(sorted(used))})"
            )
        seed_list = parse_seeds(seeds, f"{where(key)}: {key}.{scheduler}")
        if not seed_list:
            raise SweepError(f"{where(key)}: {key}.{scheduler} is empty")
        pairs.append((scheduler, tuple(seed_list)))
    return tuple(pairs)


def _check_grid_size(
    tasks: list[str], opts: list[str], seeds: list[int], by_scheduler: dict[str, tuple[int, ...]], where: Where
) -> None:
    """Refuse a grid of more than :data:`~ohgw_bench.core.limits.MAX_RUNS` runs before it is built."""
    from ohgw_bench.core.names import parse_optimizer_name

    per_task = sum(len(by_scheduler.get(parse_optimizer_name(o).scheduler, seeds)) for o in opts)
    n_runs = len(tasks) * per_task
    if n_runs > MAX_RUNS:
        raise SweepError(
            f"{where('seeds')}: the grid has {n_runs:,} runs ({len(tasks)} tasks x {len(opts)} optimizers x their "
            f"seeds), more than {MAX_RUNS:,} (each is a Dask task, a folder and a lock); split it into several sweeps"
        )


def validate_runs(spec: SweepSpec, where: Callable[[str, Any], str] | None = None) -> list[RunKey]:
    """prepare_run the grid (names, budget, workers, scheduler settings); write nothing; return its runs.

    What prepare_run checks does not depend on a run's seed once the seed is in range (the parse checked
    every seed), so it prepares the first run of each task x optimizer: a sweep of thousands of seeds
    starts in a second (prepare_run takes a few milliseconds)."""
    from ohgw_bench.core.errors import DataError
    from ohgw_bench.core.names import OptimizerNameError
    from ohgw_bench.core.registry import UnknownNameError
    from ohgw_bench.execution.plan import prepare_run

    runs = spec.runs()
    prepared: set[tuple[str, str]] = set()
    for run in runs:
        if (run.task, run.optimizer) in prepared:
            continue
        prepared.add((run.task, run.optimizer))
        try:
            # overwrite=True: an existing folder is the sweep's business (skip or resume), not an error.
            prepare_run(spec.request(run), overwrite=True)
        except DataError as err:
            raise SweepError(f"task {run.task}: {err}") from None
        except (UnknownNameError, OptimizerNameError, ValueError) as err:
            place = f"{where('opts', run.optimizer)}: " if where else ""
            raise SweepError(f"{place}run {run.label} is invalid: {err}") from None
    return runs
