"""``ohgw-bench table build``: train every (configuration, arm) cell once, on Dask, resumably.

* Every arm of configuration i trains with trial seed ``trial_seed(seed, i)`` — the seed trial i of
  a real run with run seed ``seed`` gets — so the arms share initialisation, batches and
  augmentation draws (common random numbers) and differ only by the warm start.
* A cell is one call of :func:`ohgw_bench.execution.objective.objective_function` in a Dask worker process
  (LocalCluster, one thread per worker, ``threads`` torch threads per cell). The client appends
  each finished cell to ``cells.jsonl`` (flushed per line), so a crash loses only the cells being
  trained; running the same command again trains exactly the missing cells. A lock on the folder
  (the sweep's :class:`~ohgw_bench.execution.runlock.RunLock`) keeps a second build out.
* A resumed build must match the first one's spec, code version (uncommitted changes included:
  ``code_version.changes_sha256``), package versions and device: a table's curves are compared within
  one code version and one device type.
* Before a resumed build writes anything it reads what is there: meta.json must be what a build wrote
  (its field digests, :func:`ohgw_bench.core.table_format.read_meta`) and every line of cells.jsonl one
  cell of this table, once; damage is refused (exit 2) naming the file and line. Only a line cut off by
  a crash at the very end is dropped, and a last record without its newline gets one
  (:class:`~ohgw_bench.core.table_format.CellStore`).
* When every cell is in, the cells are compiled to ``table.parquet`` and meta.json says
  ``complete``. A cell that raises is reported and the build goes on; the table stays
  ``building`` and the exit code says so.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ohgw_bench.core import limits
from ohgw_bench.core.fidelity import Fidelity
from ohgw_bench.core.names import OptimizerNameError, WarmStartName, parse_warm_start_name, split_top_level
from ohgw_bench.core.provenance import utc_now
from ohgw_bench.core.records import EpochRecord
from ohgw_bench.core.registry import UnknownNameError, get_task
from ohgw_bench.core.table_format import (
    BUILDING,
    CELLS,
    COMPLETE,
    META,
    CellRecord,
    CellSlot,
    CellStore,
    TableDamage,
    TableSpec,
    cell_slots,
    cells_frame,
    read_meta,
    scan_cells,
    write_meta,
    write_table,
)
from ohgw_bench.core.table_space import FIDELITY, SPACE
from ohgw_bench.execution.interrupt import INTERRUPTS, reason
from ohgw_bench.execution.plan import RunRefused, check_writable_folder
from ohgw_bench.execution.simulator_clock import DISPATCH_SECONDS
from ohgw_bench.table.configs import TableConfig, sobol_configs
from ohgw_bench.table.progress import BuildProgress

LOCK = "build.lock"
#: what a table's seconds mean, recorded in meta.json beside its space and fidelity (other tools read the table)
CLOCK = {
    "trial_seconds": "cumulative seconds of the trial at the end of each epoch, counted from before its warm start: "
    "warm_start_seconds plus the training and evaluation of every epoch so far",
    "epoch_seconds": "the epoch's share of trial_seconds; epoch 1's excludes warm_start_seconds",
    "replay": f"virtual time: a replay (--backend table:) charges each epoch its epoch_seconds, a trial's first "
    f"epoch also its warm_start_seconds, and {DISPATCH_SECONDS * 1000:g} ms per start, stop and report, but not the "
    "scheduler's own compute (ohgw_bench.execution.simulator_clock.simulator_clock)",
}


class TableError(ValueError):
    """The build cannot start as asked (bad input, or a folder holding another table); nothing was written."""


@dataclass(frozen=True)
class BuildPlan:
    spec: TableSpec
    arms: tuple[WarmStartName, ...]
    configs: tuple[TableConfig, ...]
    out: Path
    n_workers: int  # Dask worker processes (cells at a time)
    threads: int  # torch threads per cell


@dataclass
class BuildResult:
    trained: int = 0  # cells trained by this session
    skipped: int = 0  # cells already in cells.jsonl
    failures: list[tuple[str, str]] = field(default_factory=list)  # (cell label, traceback)
    seconds: float = 0.0
    complete: bool = False
    repairs: list[str] = field(default_factory=list)  # what opening cells.jsonl mended (a crash's tail)
    interrupted: str | None = None  # why the build stopped early (Ctrl-C, SIGTERM)


def parse_arms(text: str) -> tuple[WarmStartName, ...]:
    """``'none,ohgw(eta=1),random(eta=1)'`` → parsed arms, each once (by canonical label)."""
    try:
        arms = tuple(parse_warm_start_name(part) for part in split_top_level(text) if part)
    except (OptimizerNameError, UnknownNameError) as err:
        raise TableError(f"--arms: {err}") from None
    labels = [a.label for a in arms]
    if not arms:
        raise TableError("--arms names no warm start")
    if len(set(labels)) != len(labels):
        raise TableError(f"--arms names an arm twice: {', '.join(labels)}")
    return arms


def prepare_build(
    task: str,
    arms: str,
    configs: int,
    seed: int = 0,
    epochs: int | None = None,
    out: Path | str = "tables",
    n_workers: int | None = None,
    threads: int = 1,
) -> BuildPlan:
    """Check every input before anything is written; TableError says what is wrong."""
    from ohgw_bench.warmstarts import validate_params

    try:
        task_spec = get_task(task)
    except UnknownNameError as err:
        raise TableError(str(err)) from None
    task_spec.check_data()
    parsed = parse_arms(arms)
    for arm in parsed:
        try:
            validate_params(arm.name, dict(arm.params))
        except ValueError as err:
            raise TableError(f"--arms: {err}") from None
    epochs = task_spec.max_epochs if epochs is None else epochs
    if not 1 <= epochs <= task_spec.max_epochs:
        raise TableError(f"--epochs {epochs} must be in [1, {task_spec.max_epochs}] for {task_spec.name}")
    _check_counts(configs, len(parsed), seed, n_workers, threads)
    try:
        drawn = sobol_configs(task_spec.space, configs, seed)
    except ValueError as err:
        raise TableError(str(err)) from None
    out = Path(out)
    try:
        check_writable_folder(out, "--out")
    except RunRefused as err:
        raise TableError(str(err)) from None
    spec = TableSpec(task_spec.name, tuple(a.label for a in parsed), configs, seed, epochs, task_spec.max_epochs)
    if (out / META).exists():
        _check_previous(out, spec, drawn)
    elif out.is_dir() and any(out.iterdir()):
        raise TableError(f"--out {out} is a non-empty folder that holds no table; use a new or empty folder")
    cells = len(drawn) * len(parsed)
    workers = n_workers or max(1, min(cells, (os.cpu_count() or 1) // threads, limits.max_dask_workers()))
    return BuildPlan(spec, parsed, tuple(drawn), out, workers, threads)


def _check_previous(out: Path, spec: TableSpec, configs: list[TableConfig]) -> None:
    """The table already in ``out`` is this command's, undamaged (meta.json and every line of cells.jsonl);
    TableError names what is not, before anything is written."""
    try:
        meta = read_meta(out)
    except TableDamage as err:
        raise TableError(f"--out {out} holds a damaged table: {err}") from None
    except ValueError as err:
        raise TableError(f"--out {out} holds something else: {err}") from None
    try:
        previous = TableSpec.from_json(meta["spec"])
    except (KeyError, TypeError) as err:
        raise TableError(f"--out {out} holds something else: its meta.json has no table spec ({err!r})") from None
    if previous != spec:
        raise TableError(
            f"--out {out} holds a table built with {previous}; this command asks for {spec}. "
            "Use another --out, or repeat the original command to finish that table"
        )
    try:
        scan_cells(out / CELLS, plan_slots(spec, configs))
    except TableDamage as err:
        raise TableError(f"--out {out} holds a damaged table: {err}") from None


def _configs_json(configs: tuple[TableConfig, ...] | list[TableConfig]) -> list[dict[str, Any]]:
    """meta.json's ``configs``: each configuration's id, trial seed and values."""
    return [{"config_id": c.config_id, "seed": c.seed, "values": c.values} for c in configs]


def plan_slots(
    spec: TableSpec, configs: tuple[TableConfig, ...] | list[TableConfig]
) -> dict[tuple[int, str], CellSlot]:
    """Every cell the build will hold, with what each must carry (the plan's, not what a meta.json says)."""
    return cell_slots(spec, _configs_json(configs))


def _check_counts(configs: int, arms: int, seed: int, n_workers: int | None, threads: int) -> None:
    """Each count of a build against its limit (:mod:`ohgw_bench.core.limits`), before the sample is drawn."""
    from ohgw_bench.execution.dask_cluster import check_dask_workers

    limits.check_count("--configs", configs, limits.MAX_CONFIGS, "configurations of one table", TableError)
    limits.check_count(
        "--configs x --arms", configs * arms, limits.MAX_CELLS, "cells of one table, read whole on a resume", TableError
    )
    limits.check_seed("--seed", seed, TableError)
    limits.check_count("--threads", threads, limits.max_threads(), "the CPU cores here: more only contend", TableError)
    if n_workers is not None:
        check_dask_workers(n_workers, TableError)


def train_cell(task: str, config: TableConfig, arm: WarmStartName, epochs: int, threads: int) -> CellRecord:
    """Train one cell in this process (a Dask worker): the configuration after ``arm``'s warm start."""
    import torch

    from ohgw_bench.execution.objective import objective_function

    torch.set_num_threads(threads)
    started = time.perf_counter()
    result = objective_function(
        get_task(task), config.values, epochs, seed=config.seed, warm_start=arm.name, warm_start_params=dict(arm.params)
    )
    return CellRecord.of(
        config_id=config.config_id,
        arm=arm.label,
        seed=config.seed,
        warm_start=result.warm_start,
        curve=tuple(EpochRecord.of(r) for r in result.curve),
        diverged=result.diverged,
        wall_seconds=time.perf_counter() - started,
        worker=f"{socket.gethostname()}:{os.getpid()}",
    )


def _provenance(task: str) -> dict[str, Any]:
    """What a table's curves are only comparable within: code, packages, device; and the data."""
    from ohgw_bench.core.provenance import code_version, device_name, git_sha, package_versions

    return {
        "git_sha": git_sha(),
        "code_version": code_version(),
        "versions": package_versions(),
        "device": device_name(),
        "data_info": get_task(task).load_data().info,
    }


#: what identifies the code (``modified`` follows from ``changes_sha256``); a meta.json written before the
#: digest existed lacks ``changes_sha256`` and reads as None, "no uncommitted change", as its ``modified`` said
CODE_KEYS = ("package_tree", "pyproject", "changes_sha256")


def _check_same_provenance(out: Path, previous: dict[str, Any], now: dict[str, Any]) -> None:
    """TableError naming the first field in which this session's code, packages or device differ from the table's."""
    code = lambda p: {f"code_version.{k}": (p.get("code_version") or {}).get(k) for k in CODE_KEYS}  # noqa: E731
    old_versions, new_versions = previous.get("versions") or {}, now.get("versions") or {}
    compared = {
        **{k: (v, code(now)[k]) for k, v in code(previous).items()},
        **{f"versions.{k}": (old_versions.get(k), new_versions.get(k)) for k in {**old_versions, **new_versions}},
        "device": (previous.get("device"), now.get("device")),
    }
    for name, (old, new) in compared.items():
        if old != new:
            raise TableError(
                f"{out} was started with {name} {_shown(name, old)}, this build has {_shown(name, new)}: one table "
                "holds one code version (uncommitted changes included), one set of package versions and one "
                "device type; use another --out, or rebuild with the code the table was started with"
            )


def _shown(name: str, value: Any) -> str:
    if name == "code_version.changes_sha256":
        return "None (no uncommitted change)" if value is None else f"{value} (uncommitted changes)"
    return repr(value)


def _start_meta(plan: BuildPlan, session: dict[str, Any]) -> dict[str, Any]:
    """meta.json at the start of a session: new, or the previous sessions' one checked and extended."""
    provenance = _provenance(plan.spec.task)
    sessions: list[dict[str, Any]] = []
    if (plan.out / META).exists():
        try:
            previous = read_meta(plan.out)
        except ValueError as err:  # changed since prepare_build read it
            raise TableError(f"{plan.out} holds a damaged table: {err}") from None
        _check_same_provenance(plan.out, previous, provenance)
        sessions = list(previous.get("sessions", []))
    return {
        "spec": plan.spec.as_json(),
        "status": BUILDING,
        "configs": _configs_json(plan.configs),
        "seeds": {"configs": "scrambled Sobol (scipy.stats.qmc) seeded with spec.seed", "trial": "trial_seed(seed, i)"},
        SPACE: get_task(plan.spec.task).space.as_json(),
        FIDELITY: Fidelity.epochs(plan.spec.epochs).as_json(),
        "clock": CLOCK,
        **provenance,
        "cells_total": len(plan.configs) * len(plan.arms),
        "cells_done": 0,
        "sessions": [*sessions, session],
        "created_at": sessions[0]["started_at"] if sessions else session["started_at"],
    }


def build_table(plan: BuildPlan, quiet: bool = False) -> BuildResult:
    """Train the missing cells and compile the table when all are in. Ctrl-C (or SIGTERM, under
    :func:`~ohgw_bench.execution.interrupt.sigterm_like_ctrl_c`) ends the training, not the build: the
    finished cells are kept, meta.json records the session's end, the lock is released, and the result
    says it was ``interrupted``."""
    from ohgw_bench.execution.runlock import RunLock

    t0 = time.perf_counter()
    lock = RunLock(plan.out / LOCK)
    try:
        plan.out.mkdir(parents=True, exist_ok=True)
        acquired = lock.acquire()
    except OSError as err:  # e.g. a folder no one may create (checked before, but the system has the last word)
        raise TableError(f"--out {plan.out}: cannot create the table's folder or its lock: {err}") from None
    if not acquired:
        holder = lock.holder.describe() if lock.holder else "another process"
        raise TableError(f"{plan.out} is being built by {holder} (lock {lock.path})")
    result = BuildResult()
    session: dict[str, Any] = {"started_at": utc_now(), "ended_at": None, "wall_seconds": None, "cells_trained": 0}
    store: CellStore | None = None
    meta: dict[str, Any] = {}
    started = False
    try:
        meta = _start_meta(plan, session)  # checks what is there; writes nothing
        meta["n_dask_workers"], meta["threads_per_cell"] = plan.n_workers, plan.threads
        store = _open_store(plan, result)
        meta["cells_done"] = len(store.cells)
        write_meta(plan.out, meta)
        started = True  # from here on, meta.json records this session however it ends
        todo = [(c, a) for c in plan.configs for a in plan.arms if (c.config_id, a.label) not in store.cells]
        result.skipped = meta["cells_total"] - len(todo)
        progress = BuildProgress(meta["cells_total"], result.skipped, quiet=quiet)
        if todo:
            try:
                _train_cells(
                    plan, todo, store, progress, result, lock.token[:8], lambda: _mark_cell(plan, meta, result)
                )
            except INTERRUPTS as err:  # the finished cells are stored; the summary says how to resume
                result.interrupted = reason(err)
            meta["cells_done"] = len(store.cells)
        if len(store.cells) == meta["cells_total"]:
            frame = cells_frame(list(store.cells.values()), get_task(plan.spec.task).space.names)
            meta["table_sha256"] = write_table(frame, plan.out)
            meta["status"] = COMPLETE
            result.complete = True
    finally:
        result.seconds = time.perf_counter() - t0
        if store is not None:
            store.close()
        if started:
            session.update(ended_at=utc_now(), wall_seconds=result.seconds, cells_trained=result.trained)
            sessions = meta["sessions"]
            meta["build_wall_seconds"] = sum(_session_seconds(s) for s in sessions)
            meta["interrupted_sessions"] = sum(s["ended_at"] is None for s in sessions)
            if store is not None:
                walls = sorted(c.wall_seconds for c in store.cells.values())
                meta["cell_wall_seconds_median"] = walls[len(walls) // 2] if walls else None
                meta["cells_done"] = len(store.cells)
            meta["failed_cells"] = [label for label, _ in result.failures]
            write_meta(plan.out, meta)
        lock.release()
    return result


def _mark_cell(plan: BuildPlan, meta: dict[str, Any], result: BuildResult) -> None:
    """After each stored cell, the session's count and time of its last cell in meta.json: a session that
    is killed (SIGKILL, power) before it can record its end still shows how long it trained."""
    meta["sessions"][-1].update(cells_trained=result.trained, last_cell_at=utc_now())
    write_meta(plan.out, meta)


def _session_seconds(session: dict[str, Any]) -> float:
    """A session's wall time; for one killed before its end, from its start to its last stored cell."""
    if session.get("wall_seconds") is not None:
        return float(session["wall_seconds"])
    if session.get("last_cell_at"):
        start, last = (dt.datetime.fromisoformat(session[k]) for k in ("started_at", "last_cell_at"))
        return max(0.0, (last - start).total_seconds())
    return 0.0


def _open_store(plan: BuildPlan, result: BuildResult) -> CellStore:
    """The table's cells, read and checked under the lock (the folder may have changed since
    :func:`prepare_build` looked); what was mended is noted in ``result``."""
    try:
        store = CellStore(plan.out, plan_slots(plan.spec, plan.configs))
    except TableDamage as err:
        raise TableError(f"{plan.out} holds a damaged table: {err}") from None
    if store.dropped_torn_line is not None:
        result.repairs.append(
            f"dropped {store.path}:{store.dropped_torn_line}, a line cut off by a crash (its cell is trained again)"
        )
    if store.completed_last_line:
        result.repairs.append(f"ended {store.path}'s last record, complete but cut off before its newline, with one")
    return store


def _train_cells(
    plan: BuildPlan,
    todo: list[tuple[TableConfig, WarmStartName]],
    store: CellStore,
    progress: BuildProgress,
    result: BuildResult,
    token: str,
    on_cell: Callable[[], None],
) -> None:
    """Train ``todo`` on a LocalCluster; the client (this process) appends each finished cell, so a cell is
    stored once even when Dask re-runs it after a worker died. A cell that raises is recorded in ``result``."""
    from distributed import Client, as_completed

    from ohgw_bench.execution.dask_cluster import IgnoreSigterm, local_cluster

    logging.getLogger("distributed").setLevel(logging.WARNING)  # its INFO chatter would bury the progress
    with (
        local_cluster(min(plan.n_workers, len(todo))) as cluster,
        Client(cluster) as client,
    ):
        client.register_plugin(IgnoreSigterm())  # a job's SIGTERM is for this process to handle
        futures = {
            client.submit(
                train_cell,
                plan.spec.task,
                config,
                arm,
                plan.spec.epochs,
                plan.threads,
                pure=False,
                key=f"ohgw-cell {config.config_id} {arm.label} {token}",
                retries=0,
                priority=len(todo) - position,  # Dask runs higher priority first: a configuration's arms together
            ): (config, arm)
            for position, (config, arm) in enumerate(todo)
        }
        for future in as_completed(futures):
            config, arm = futures[future]
            label = f"config {config.config_id} x {arm.label}"
            if future.status == "error":
                err = future.exception()
                result.failures.append((label, "".join(traceback.format_exception(err))))
                progress.cell_failed(label, f"{type(err).__name__}: {err}")
                continue
            cell = future.result()
            store.add(cell)
            result.trained += 1
            on_cell()
            progress.cell_done(cell)


def format_result(plan: BuildPlan, result: BuildResult) -> str:
    """The final lines of a build."""
    from ohgw_bench.core.budget import format_seconds
    from ohgw_bench.core.table_format import TABLE

    lines = [
        f"table {plan.out}: {result.trained} cells trained, {result.skipped} already done, "
        f"{len(result.failures)} failed, in {format_seconds(result.seconds)}",
        *result.repairs,
    ]
    if result.interrupted:
        lines.append(f"interrupted ({result.interrupted}): the cells in training were dropped")
    if result.complete:
        lines.append(f"complete: {plan.out / TABLE} and {plan.out / META}")
    else:
        lines.append(f"incomplete: finished cells are in {plan.out / CELLS}; run the same command again to resume")
    for label, tb in result.failures:
        lines.append(f"failed {label}:\n{tb}")
    return "\n".join(lines)
