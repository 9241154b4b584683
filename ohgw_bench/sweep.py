"""``ohgw-bench sweep``: the grid tasks × optimizers × seeds, run as Dask tasks, resumable.

Four parts, each testable on its own:

* **Spec** (:func:`build_spec`): a TOML file (keys ``tasks``, ``opts``, ``seeds``, ``budget``,
  ``workers``, ``out`` and nothing else) and/or command-line flags (a flag overrides the
  file's key). Every run of the grid is validated with :func:`ohgw_bench.runner.prepare_run`
  before anything starts; a bad value is a :class:`SweepError` naming the file and line
  (or the flag) and, for an unknown name, the closest registered names.
* **Locks** (:class:`RunLock`): one lock file per run, ``<out>/_locks/<task>/<optimizer>/seed-<k>.lock``,
  created with ``O_CREAT|O_EXCL`` and holding pid, hostname, the process start time and a
  heartbeat that a thread refreshes while the run executes. A lock is *stale* when its
  heartbeat is older than ``stale_after`` seconds, or when it was taken on this host by a
  process that no longer exists (or is a zombie, or whose pid was reused). Two sweeps
  pointed at the same results folder never write the same run; the one that finds a
  fresh lock reports the run as ``busy``.
* **Resumption** (:func:`run_one`, executed inside a Dask worker process under the lock):
  a run whose ``meta.json`` says ``complete`` (and whose JSONL files end cleanly) is
  skipped. Anything else found in the run folder — status ``running`` (its lock was stale,
  so its process is gone), ``failed``, a truncated JSONL file, no ``meta.json`` — is a
  broken attempt: the folder is moved whole to
  ``<out>/_attempts/<task>/<optimizer>/seed-<k>/attempt-<n>/`` with ``attempt.json`` (why
  and when) and its ``meta.json`` renamed to ``attempt-meta.json``, so that results
  loaders (which take every ``meta.json`` below a root as a run) never count it. The run
  then starts again in a fresh folder. Re-running a sweep command therefore runs exactly
  the runs that are missing.
* **Execution** (:func:`run_sweep`): one Dask task per run (``client.submit(run_one, ...,
  pure=False, key=...)``) on a ``LocalCluster`` (worker processes, one thread each) or on
  an existing scheduler. Each run's trials are subprocesses of the Dask worker process
  (syne-tune's LocalBackend uses ``subprocess.Popen``, which daemonic worker processes are
  allowed to do). A run that raises is recorded (``meta.json`` status ``failed`` by the
  runner, plus ``<run dir>/sweep-error.txt`` with the traceback; a run that fails before the
  runner wrote ``meta.json``, e.g. missing data, gets a minimal one); the sweep goes on.

Every Dask worker must have exactly one thread: a run sets process-wide state
(``SYNETUNE_FOLDER``), so two runs must never share a process. With a remote scheduler,
``out`` must be a path every worker and the client see (a shared filesystem).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
import re
import signal
import socket
import sys
import threading
import time
import tomllib
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from ohgw_bench.trajectory import EVENTS, META, SCHEMA_VERSION, TRIALS, read_jsonl, read_meta, run_dir, write_json_atomic

SPEC_KEYS = ("tasks", "opts", "seeds", "budget", "workers", "out")
DEFAULT_BUDGET = "120s"
DEFAULT_WORKERS = 1
DEFAULT_OUT = "results"
LOCKS_DIR = "_locks"
ATTEMPTS_DIR = "_attempts"
ATTEMPT_META = "attempt-meta.json"
SWEEP_ERROR = "sweep-error.txt"
STALE_AFTER_S = 60.0
HEARTBEAT_EVERY_S = 10.0

#: Final states of a run in a sweep, and the live ones before them.
QUEUED, RUNNING, DONE, FAILED, SKIPPED, BUSY = "queued", "running", "done", "failed", "skipped", "busy"


class SweepError(ValueError):
    """Bad sweep input (spec file, flags, cluster); raised before anything is written."""


# =========================================================================== spec


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

    def runs(self) -> list[RunKey]:
        """The grid, tasks × opts × seeds, in that nesting order."""
        return [RunKey(t, o, s) for t in self.tasks for o in self.opts for s in self.seeds]


class _Where:
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
    """``"0-31"``, ``"0,2,5-7"``, ``7`` or ``[0, 1, "4-6"]`` → a list of distinct seeds, in order."""
    items: list[Any]
    if isinstance(text, bool):
        raise SweepError(f"{where}: seeds must be integers or ranges like 0-31, got {text!r}")
    if isinstance(text, int):
        items = [text]
    elif isinstance(text, str):
        items = [part.strip() for part in text.split(",")] if text.strip() else []
    elif isinstance(text, (list, tuple)):
        items = list(text)
    else:
        raise SweepError(f"{where}: seeds must be a list, a range like 0-31 or an integer, got {text!r}")
    seeds: list[int] = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, str)):
            raise SweepError(f"{where}: bad seed {item!r}: use integers or ranges like 0-31")
        if isinstance(item, int):
            values = [item]
        else:
            match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", item)
            if not match:
                raise SweepError(f"{where}: bad seed {item!r}: use non-negative integers or ranges like 0-31")
            lo = int(match.group(1))
            hi = int(match.group(2)) if match.group(2) is not None else lo
            if hi < lo:
                raise SweepError(f"{where}: empty seed range {item!r} (end before start)")
            values = list(range(lo, hi + 1))
        for value in values:
            if value < 0:
                raise SweepError(f"{where}: seeds must be non-negative, got {value}")
            if value in seeds:
                raise SweepError(f"{where}: seed {value} is listed twice")
            seeds.append(value)
    return seeds


def _names(value: Any, key: str, where: _Where, split: Callable[[str], list[str]]) -> list[str]:
    if isinstance(value, str):
        return [v for v in split(value) if v] if value.strip() else []
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value]
    raise SweepError(f"{where(key)}: {key} must be a list of strings (or one comma-separated string), "
                     f"got {value!r}")


def read_spec_file(path: Path | str) -> tuple[dict[str, Any], _Where]:
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
    where = _Where(path, text)
    for key in data:
        if key not in SPEC_KEYS:
            import difflib

            close = difflib.get_close_matches(key, SPEC_KEYS, n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise SweepError(f"{where(key)}: unknown key {key!r}{hint} (allowed: {', '.join(SPEC_KEYS)})")
    return data, where


def build_spec(spec_path: Path | str | None = None, *, tasks: str | None = None, opts: str | None = None,
               seeds: str | None = None, budget: str | None = None, workers: int | None = None,
               out: Path | str | None = None) -> SweepSpec:
    """Combine a spec file and flags (a flag overrides the file's key); validate names and values."""
    from ohgw_bench.budget import Budget
    from ohgw_bench.names import OptimizerNameError, parse_optimizer_name, split_top_level
    from ohgw_bench.registry import UnknownNameError, get_task

    data, where = read_spec_file(spec_path) if spec_path is not None else ({}, _Where())
    flags = {"tasks": tasks, "opts": opts, "seeds": seeds, "budget": budget, "workers": workers, "out": out}
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
            raise SweepError(f"{where('opts', name)}: opts: {name!r} names the same optimizer as an earlier "
                             f"entry ({canonical!r})")
        opt_names.append(canonical)

    seed_list = parse_seeds(data["seeds"], where("seeds"))

    budget_text = data.get("budget", DEFAULT_BUDGET)
    if not isinstance(budget_text, str):
        raise SweepError(f"{where('budget')}: budget must be a string with a unit (e.g. \"120s\", \"500ep\"), "
                         f"got {budget_text!r}")
    try:
        Budget.parse(budget_text)
    except ValueError as err:
        raise SweepError(f"{where('budget')}: {err}") from None

    n_workers = data.get("workers", DEFAULT_WORKERS)
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
        raise SweepError(f"{where('workers')}: workers (concurrent trials per run) must be a positive integer, "
                         f"got {n_workers!r}")

    out_value = data.get("out", DEFAULT_OUT)
    if not isinstance(out_value, (str, Path)) or not str(out_value).strip():
        raise SweepError(f"{where('out')}: out must be a folder path, got {out_value!r}")
    out_path = Path(out_value).expanduser().resolve()
    if out_path.exists() and not out_path.is_dir():
        raise SweepError(f"{where('out')}: out {out_path} exists and is not a folder")

    for key, values in (("tasks", task_names), ("opts", opt_names), ("seeds", seed_list)):
        if not values:
            raise SweepError(f"{where(key)}: {key} is empty, so the grid has no runs")
    return SweepSpec(tuple(task_names), tuple(opt_names), tuple(seed_list), budget_text, n_workers, out_path)


def validate_runs(spec: SweepSpec, where: Callable[[str, Any], str] | None = None) -> list[RunKey]:
    """prepare_run every run of the grid (names, budget, workers, scheduler settings); write nothing."""
    from ohgw_bench.names import OptimizerNameError
    from ohgw_bench.registry import UnknownNameError
    from ohgw_bench.runner import prepare_run

    runs = spec.runs()
    for run in runs:
        try:
            # overwrite=True: an existing folder is the sweep's business (skip or resume), not an error.
            prepare_run(run.task, run.optimizer, run.seed, spec.budget, spec.workers, spec.out, overwrite=True)
        except (UnknownNameError, OptimizerNameError, ValueError) as err:
            place = f"{where('opts', run.optimizer)}: " if where else ""
            raise SweepError(f"{place}run {run.label} is invalid: {err}") from None
    return runs


# =========================================================================== locks


def lock_path(out: Path | str, task: str, optimizer: str, seed: int) -> Path:
    return Path(out) / LOCKS_DIR / task / optimizer / f"seed-{seed}.lock"


def _proc_start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (Linux), to tell a live process from a reused pid."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            stat = fh.read()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2:].split()
    return fields[19] if len(fields) > 19 else None  # field 22 of stat(5); fields[0] is field 3


def _pid_alive(pid: int, start_time: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            stat = fh.read()
    except OSError:
        return True  # no /proc (not Linux): os.kill said it exists
    state = stat[stat.rfind(")") + 2:].split()[0]
    if state in ("Z", "X"):
        return False  # killed, not yet reaped
    return start_time is None or _proc_start_time(pid) == start_time


@dataclass(frozen=True)
class LockHolder:
    pid: int | None
    host: str | None
    heartbeat: float | None
    token: str | None
    sweep: str | None = None

    def describe(self) -> str:
        age = "" if self.heartbeat is None else f", heartbeat {time.time() - self.heartbeat:.0f}s ago"
        return f"pid {self.pid} on {self.host}{age}"


class RunLock:
    """An exclusive, heartbeat-refreshed lock file for one run folder.

    ``acquire()`` returns False (and sets ``holder``) when a fresh lock is held elsewhere;
    a stale lock is taken over. While held, a daemon thread rewrites the heartbeat every
    ``heartbeat_every`` seconds; if it finds the lock no longer ours (taken over after a
    stall longer than ``stale_after``) it sets ``lost``.
    """

    def __init__(self, path: Path, stale_after: float = STALE_AFTER_S, heartbeat_every: float = HEARTBEAT_EVERY_S,
                 sweep_id: str | None = None) -> None:
        self.path = Path(path)
        self.stale_after = stale_after
        self.heartbeat_every = heartbeat_every
        self.sweep_id = sweep_id
        self.token = uuid.uuid4().hex
        self.holder: LockHolder | None = None
        self.took_over: LockHolder | None = None
        self.lost = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- content
    def _payload(self) -> dict[str, Any]:
        pid = os.getpid()
        return {"pid": pid, "host": socket.gethostname(), "pid_start": _proc_start_time(pid),
                "heartbeat": time.time(), "token": self.token, "sweep": self.sweep_id}

    def read(self) -> tuple[LockHolder | None, dict[str, Any] | None]:
        """The lock's holder, or (None, None) when there is no lock file."""
        try:
            raw = self.path.read_text(encoding="utf-8")
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            return None, None
        try:
            data = json.loads(raw)
        except json.JSONDecodeError:
            data = {}  # being written right now, or torn: judged by the file's age below
        holder = LockHolder(pid=data.get("pid"), host=data.get("host"),
                            heartbeat=data.get("heartbeat", mtime), token=data.get("token"),
                            sweep=data.get("sweep"))
        return holder, data

    def is_stale(self, holder: LockHolder, data: dict[str, Any]) -> str | None:
        """Why the lock is stale, or None when it is fresh."""
        age = time.time() - (holder.heartbeat or 0.0)
        if age > self.stale_after:
            return f"heartbeat {age:.0f}s old (> {self.stale_after:.0f}s)"
        if holder.host == socket.gethostname() and isinstance(holder.pid, int):
            if not _pid_alive(holder.pid, data.get("pid_start")):
                return f"pid {holder.pid} on this host is gone"
        return None

    # -- acquire / release
    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(5):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder, data = self.read()
                if holder is None:
                    continue  # released between our open and our read: try again
                reason = self.is_stale(holder, data or {})
                if reason is None:
                    self.holder = holder
                    return False
                if self._remove_if_unchanged(holder.token, reason):
                    self.took_over = holder
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(self._payload(), fh)
                fh.flush()
                os.fsync(fh.fileno())
            self._start_heartbeat()
            return True
        holder, _ = self.read()
        self.holder = holder
        return False

    def _remove_if_unchanged(self, token: str | None, reason: str) -> bool:
        """Remove a stale lock, guarded so that two processes never both take it over."""
        guard = self.path.with_name(self.path.name + ".takeover")
        try:
            fd = os.open(guard, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                if time.time() - guard.stat().st_mtime > self.stale_after:
                    guard.unlink()  # a taker-over died mid-takeover; the next attempt retries
            except FileNotFoundError:
                pass
            time.sleep(0.05)
            return False
        os.close(fd)
        try:
            holder, data = self.read()
            if holder is None or holder.token != token or self.is_stale(holder, data or {}) is None:
                return False
            self.path.unlink()
            return True
        finally:
            guard.unlink()

    def _start_heartbeat(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat {self.path.name}", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat_every):
            holder, _ = self.read()
            if holder is None or holder.token != self.token:
                self.lost = True
                return
            write_json_atomic(self.path, self._payload())

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        holder, _ = self.read()
        if holder is not None and holder.token == self.token:
            self.path.unlink()

    def __enter__(self) -> "RunLock":
        if not self.acquire():
            raise RuntimeError(f"{self.path} is held by {self.holder.describe() if self.holder else 'another process'}")
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()


# =========================================================================== resumption


def inspect_run(directory: Path) -> str | None:
    """None when ``directory`` holds a complete run, "absent" when there is nothing, else why it is broken."""
    if not directory.exists():
        return "absent"
    if not (directory / META).exists():
        return f"no {META}"
    try:
        status = read_meta(directory).get("status")
    except (OSError, json.JSONDecodeError) as err:
        return f"unreadable {META} ({err})"
    for name in (TRIALS, EVENTS):
        try:
            if read_jsonl(directory / name).truncated:
                return f"{name} ends in a truncated line"
        except ValueError as err:
            return f"damaged {name} ({err})"
    if status == "complete":
        return None
    if status == "running":
        return "interrupted (status running, no live process holds its lock)"
    return f"status {status!r}"


def end_orphan_trials(directory: Path, grace_s: float = 10.0) -> list[int]:
    """End the trial processes a dead attempt left behind on this host (Linux), and return their pids.

    When a run's process dies without cleanup (a Dask worker killed by its nanny after
    Ctrl-C, say), trials it had started may live on and keep writing below
    ``<run dir>/.work/``; after the folder is moved aside, a write by path would land in
    the *new* attempt's folder. They are recognised by that path in their command line."""
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    marker = str(Path(directory).resolve() / ".work") + os.sep
    pids = []
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if marker in cmdline and _pid_alive(int(entry.name), None):
            pids.append(int(entry.name))
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.time() + grace_s
        while time.time() < deadline and any(_pid_alive(pid, None) for pid in pids):
            time.sleep(0.05)
        if not any(_pid_alive(pid, None) for pid in pids):
            break
    return pids


def attempts_dir(out: Path | str, task: str, optimizer: str, seed: int) -> Path:
    return Path(out) / ATTEMPTS_DIR / task / optimizer / f"seed-{seed}"


def move_aside(out: Path | str, run: RunKey, reason: str) -> Path:
    """Move a broken run folder to ``<out>/_attempts/.../attempt-<n>/``; return where it went.
    Call it holding the run's lock (so no live sweep process owns the folder)."""
    source = run_dir(out, run.task, run.optimizer, run.seed)
    ended = end_orphan_trials(source)
    parent = attempts_dir(out, run.task, run.optimizer, run.seed)
    parent.mkdir(parents=True, exist_ok=True)
    taken = [int(m.group(1)) for p in parent.iterdir() if (m := re.fullmatch(r"attempt-(\d+)", p.name))]
    target = parent / f"attempt-{max(taken, default=0) + 1}"
    os.rename(source, target)
    if (target / META).exists():
        os.rename(target / META, target / ATTEMPT_META)  # loaders take every meta.json as a run
    write_json_atomic(target / "attempt.json", {"run_dir": str(source), "reason": reason, "moved_at": _now(),
                                               "orphan_trials_ended": ended,
                                               "moved_by": {"pid": os.getpid(), "host": socket.gethostname()}})
    return target




def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class RunOutcome:
    run: RunKey
    state: str  # done | failed | skipped | busy
    directory: str
    detail: str = ""  # error, holder or resume note
    traceback: str = ""
    moved_to: str | None = None
    # wall-clock stamps (time.time()) taken in the worker process, for overhead accounting
    t_enter: float = 0.0
    t_run_start: float | None = None
    t_run_end: float | None = None
    t_exit: float = 0.0
    worker_pid: int = 0


def run_one(task: str, optimizer: str, seed: int, budget: str, workers: int, out: str,
            sweep_id: str | None = None, topic: str | None = None,
            stale_after: float = STALE_AFTER_S, heartbeat_every: float = HEARTBEAT_EVERY_S) -> RunOutcome:
    """One run of a sweep, in the process that executes it (a Dask worker): lock, skip or
    resume, execute, record. Never raises for a failing run: it returns a ``failed`` outcome."""
    t_enter = time.time()
    run = RunKey(task, optimizer, seed)
    directory = run_dir(out, task, optimizer, seed)
    stamps: dict[str, Any] = {"t_enter": t_enter, "worker_pid": os.getpid()}

    def outcome(state: str, **kw: Any) -> RunOutcome:
        return RunOutcome(run=run, state=state, directory=str(directory), t_exit=time.time(), **stamps, **kw)

    lock = RunLock(lock_path(out, task, optimizer, seed), stale_after, heartbeat_every, sweep_id)
    if not lock.acquire():
        holder = lock.holder.describe() if lock.holder else "another process"
        return outcome(BUSY, detail=f"locked by {holder}")
    try:
        reason = inspect_run(directory)
        if reason is None:
            return outcome(SKIPPED, detail="already complete")
        moved = None
        if reason != "absent":
            moved = str(move_aside(out, run, reason))
        from ohgw_bench.runner import execute_run, prepare_run

        plan = prepare_run(task, optimizer, seed, budget, workers, out, overwrite=False)
        if topic is not None:
            from distributed import get_worker

            get_worker().log_event(topic, {"run": dataclasses.asdict(run), "state": RUNNING, "t": time.time()})
        stamps["t_run_start"] = time.time()
        try:
            execute_run(plan)
        except Exception as err:  # recorded (meta.json + sweep-error.txt) and reported by the sweep
            stamps["t_run_end"] = time.time()
            tb = traceback.format_exc()
            directory.mkdir(parents=True, exist_ok=True)
            (directory / SWEEP_ERROR).write_text(tb, encoding="utf-8")
            if not (directory / META).exists():  # it failed before the runner wrote one (e.g. data missing)
                write_json_atomic(directory / META, {
                    "schema_version": SCHEMA_VERSION, "task": task, "optimizer": optimizer, "seed": seed,
                    "budget": budget, "workers": workers, "status": "failed", "started_at": None,
                    "ended_at": _now(), "error": f"{type(err).__name__}: {err}", "traceback": tb})
            return outcome(FAILED, detail=f"{type(err).__name__}: {err}", traceback=tb, moved_to=moved)
        stamps["t_run_end"] = time.time()
        note = f"resumed ({reason}; old attempt in {moved})" if moved else ""
        if lock.lost:
            note = (note + "; " if note else "") + "WARNING: lock was lost during the run"
        return outcome(DONE, detail=note, moved_to=moved)
    finally:
        lock.release()


# =========================================================================== execution


@dataclass
class SweepResult:
    outcomes: list[RunOutcome] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, state: str) -> int:
        return sum(o.state == state for o in self.outcomes)

    @property
    def failed(self) -> list[RunOutcome]:
        return [o for o in self.outcomes if o.state == FAILED]

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


def default_n_dask_workers(spec: SweepSpec, n_runs: int) -> int:
    """One Dask worker per ``workers`` cores (each run spawns ``workers`` trial processes)."""
    return max(1, min(n_runs, (os.cpu_count() or 1) // spec.workers))


def precheck(spec: SweepSpec, runs: Iterable[RunKey]) -> tuple[list[RunKey], list[RunKey]]:
    """Split runs into (to submit, already complete). Done without locks: the worker re-checks."""
    todo, complete = [], []
    for run in runs:
        (complete if inspect_run(run_dir(spec.out, run.task, run.optimizer, run.seed)) is None else todo).append(run)
    return todo, complete


def run_sweep(spec: SweepSpec, runs: Sequence[RunKey] | None = None, *, scheduler_address: str | None = None,
              n_dask_workers: int | None = None, progress: "SweepProgress | None" = None,
              stale_after: float = STALE_AFTER_S, heartbeat_every: float = HEARTBEAT_EVERY_S,
              poll_s: float = 0.25) -> SweepResult:
    """Execute the runs (default: the whole grid) as Dask tasks; return every run's outcome."""
    from distributed import Client, LocalCluster

    # syne-tune's import sets the root logger to INFO; Dask's INFO chatter would bury the progress.
    logging.getLogger("distributed").setLevel(logging.WARNING)
    runs = list(spec.runs() if runs is None else runs)
    started = time.time()
    sweep_id = uuid.uuid4().hex[:10]
    progress = progress or SweepProgress(runs, mode="quiet")
    todo, complete = precheck(spec, runs)
    result = SweepResult()
    for run in complete:
        outcome = RunOutcome(run, SKIPPED, str(run_dir(spec.out, *dataclasses.astuple(run))), "already complete")
        result.outcomes.append(outcome)
        progress.finish(outcome)
    if not todo:
        progress.close(result)
        result.seconds = time.time() - started
        return result

    cluster = None
    if scheduler_address:
        try:
            client = Client(scheduler_address, timeout="20s")
        except (OSError, TimeoutError, ValueError) as err:  # unreachable, or not an address
            raise SweepError(f"--scheduler-address {scheduler_address}: cannot connect "
                             f"({type(err).__name__}: {err})") from None
    else:
        n = n_dask_workers or default_n_dask_workers(spec, len(todo))
        cluster = LocalCluster(n_workers=n, processes=True, threads_per_worker=1, dashboard_address=None)
        client = Client(cluster)
    pending: dict[Any, RunKey] = {}
    try:
        nthreads = client.nthreads()
        crowded = {w: n for w, n in nthreads.items() if n != 1}
        if crowded:
            raise SweepError(f"Dask workers with more than one thread: {crowded}; start them with --nthreads 1 "
                             "(a run sets process-wide state, so two runs must never share a process)")
        topic = f"ohgw-sweep-{sweep_id}"
        started_runs: list[tuple[float, RunKey]] = []
        lock = threading.Lock()

        def on_event(event: tuple[float, dict[str, Any]]) -> None:
            message = event[1]
            with lock:
                started_runs.append((float(message["t"]), RunKey(**message["run"])))

        client.subscribe_topic(topic, on_event)
        progress.slots = max(1, len(nthreads))
        futures = {}
        for run in todo:
            key = f"ohgw-run {run.task} {run.optimizer} seed-{run.seed} {sweep_id}"
            futures[client.submit(run_one, run.task, run.optimizer, run.seed, spec.budget, spec.workers,
                                  str(spec.out), sweep_id, topic, stale_after, heartbeat_every,
                                  pure=False, key=key, retries=0)] = run
        pending.update(futures)
        while pending:
            with lock:
                news, started_runs[:] = list(started_runs), []
            # Finished first: a worker starts its next run right after finishing one, and that
            # start can reach us in the same poll as the finish.
            finished = [f for f in pending if f.done()]
            for future in finished:
                run = pending.pop(future)
                try:
                    outcome = future.result()
                except Exception as err:  # the worker died (KilledWorker) or the task could not run
                    outcome = RunOutcome(run, FAILED, str(run_dir(spec.out, *dataclasses.astuple(run))),
                                         f"{type(err).__name__}: {err}", traceback.format_exc())
                result.outcomes.append(outcome)
                progress.finish(outcome)
            for t, run in news:
                progress.start(run, t)
            progress.refresh()
            if pending:
                time.sleep(poll_s)
        client.unsubscribe_topic(topic)
    finally:
        progress.close(result)
        client.close()
        if cluster is not None:
            cluster.close()
            # Interrupted (Ctrl-C): the workers are gone, but trials they started may not be.
            for run in pending.values():
                end_orphan_trials(run_dir(spec.out, run.task, run.optimizer, run.seed))
    result.seconds = time.time() - started
    return result


def scheduling_gaps(outcomes: Iterable[RunOutcome]) -> dict[str, list[float]]:
    """Per consecutive pair of executed runs on the same worker process: ``dask`` = from one
    task's return to the next task's entry; ``engine`` = from one run's execute_run end to
    the next run's execute_run start (the dask gap plus lock, checks and prepare_run)."""
    by_worker: dict[int, list[RunOutcome]] = {}
    for o in outcomes:
        if o.t_run_start is not None and o.t_run_end is not None:
            by_worker.setdefault(o.worker_pid, []).append(o)
    gaps: dict[str, list[float]] = {"dask": [], "engine": []}
    for items in by_worker.values():
        items.sort(key=lambda o: o.t_enter)
        for prev, nxt in zip(items, items[1:]):
            gaps["dask"].append(nxt.t_enter - prev.t_exit)
            gaps["engine"].append(nxt.t_run_start - prev.t_run_end)
    return gaps


# =========================================================================== progress


def _fmt_seconds(seconds: float | None) -> str:
    if seconds is None or seconds != seconds:
        return "-"
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


class SweepProgress:
    """Run states, ETA and the final summary. ``mode``: ``live`` (rich table on a terminal),
    ``plain`` (a line per state change, for logs), ``quiet`` (nothing until the summary)."""

    MAX_ROWS = 24

    def __init__(self, runs: Sequence[RunKey], mode: str = "auto", budget_seconds: float | None = None,
                 stream: Any = None) -> None:
        self.runs = list(runs)
        self.state = {run: QUEUED for run in self.runs}
        self.started: dict[RunKey, float] = {}
        self.outcomes: dict[RunKey, RunOutcome] = {}
        self.durations: list[float] = []
        self.budget_seconds = budget_seconds
        self.slots = 1
        self.t0 = time.time()
        self.stream = stream or sys.stderr
        self._live = None
        if mode == "auto":
            from rich.console import Console

            mode = "live" if Console(file=self.stream).is_terminal else "plain"
        self.mode = mode
        if mode == "live":
            from rich.console import Console
            from rich.live import Live

            self._live = Live(self._table(), console=Console(file=self.stream), refresh_per_second=2,
                              transient=False)
            self._live.start()

    # -- state changes
    def start(self, run: RunKey, t: float) -> None:
        if self.state.get(run) != QUEUED:
            return
        self.state[run] = RUNNING
        self.started[run] = t
        self._line(run, RUNNING, "")

    def finish(self, outcome: RunOutcome) -> None:
        run = outcome.run
        self.state[run] = outcome.state
        self.outcomes[run] = outcome
        if outcome.t_run_start is not None and outcome.t_run_end is not None:
            self.started.setdefault(run, outcome.t_run_start)
            self.durations.append(outcome.t_exit - outcome.t_enter)
        took = ""
        if outcome.t_run_start is not None and outcome.t_run_end is not None:
            took = f" in {_fmt_seconds(outcome.t_run_end - outcome.t_run_start)}"
        self._line(run, outcome.state, (took + (f" — {outcome.detail}" if outcome.detail else "")).strip())

    def counts(self) -> dict[str, int]:
        counts = {s: 0 for s in (QUEUED, RUNNING, DONE, FAILED, SKIPPED, BUSY)}
        for state in self.state.values():
            counts[state] += 1
        return counts

    def eta(self) -> float | None:
        """Seconds until the last run ends: (queued work + rest of running work) / slots."""
        counts = self.counts()
        if not counts[QUEUED] and not counts[RUNNING]:
            return 0.0
        if self.durations:
            per_run = sum(self.durations) / len(self.durations)
        elif self.budget_seconds is not None:
            per_run = self.budget_seconds
        else:
            return None
        now = time.time()
        running_left = sum(max(per_run - (now - self.started[r]), 0.0)
                           for r, s in self.state.items() if s == RUNNING and r in self.started)
        return (counts[QUEUED] * per_run + running_left) / max(1, self.slots)

    def _status_text(self) -> str:
        c = self.counts()
        return (f"{len(self.runs)} runs: {c[QUEUED]} queued, {c[RUNNING]} running, {c[DONE]} done, "
                f"{c[FAILED]} failed, {c[SKIPPED]} skipped" + (f", {c[BUSY]} busy" if c[BUSY] else "")
                + f" | elapsed {_fmt_seconds(time.time() - self.t0)} | ETA {_fmt_seconds(self.eta())}")

    def _line(self, run: RunKey, state: str, detail: str) -> None:
        if self.mode == "plain":
            done = sum(s not in (QUEUED, RUNNING) for s in self.state.values())
            print(f"[{done}/{len(self.runs)}] {state:<8} {run.label}{(' ' + detail) if detail else ''} | "
                  f"{self._status_text()}", file=self.stream, flush=True)
        self.refresh()

    def _table(self):
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        table = Table(expand=False)
        for column in ("task", "optimizer", "seed", "state", "time", "note"):
            table.add_column(column)
        order = {RUNNING: 0, FAILED: 1, BUSY: 2, QUEUED: 3, DONE: 4, SKIPPED: 5}
        rows = sorted(self.runs, key=lambda r: order[self.state[r]])
        now = time.time()
        style = {RUNNING: "cyan", FAILED: "bold red", DONE: "green", SKIPPED: "dim", BUSY: "yellow", QUEUED: ""}
        for run in rows[: self.MAX_ROWS]:
            state = self.state[run]
            outcome = self.outcomes.get(run)
            if state == RUNNING and run in self.started:
                took = _fmt_seconds(now - self.started[run])
            elif outcome is not None and outcome.t_run_start is not None and outcome.t_run_end is not None:
                took = _fmt_seconds(outcome.t_run_end - outcome.t_run_start)
            else:
                took = ""
            note = (outcome.detail if outcome else "")[:60]
            table.add_row(run.task, run.optimizer, str(run.seed), f"[{style[state]}]{state}[/]" if style[state] else state,
                          took, note)
        if len(rows) > self.MAX_ROWS:
            table.caption = f"... and {len(rows) - self.MAX_ROWS} more"
        return Group(Text(self._status_text()), table)

    def refresh(self) -> None:
        if self._live is not None:
            self._live.update(self._table())

    def close(self, result: SweepResult) -> None:
        if self._live is not None:
            self._live.update(self._table())
            self._live.stop()
            self._live = None


def format_summary(result: SweepResult) -> str:
    """The final lines: counts, failures (with where to look), busy runs."""
    lines = [f"sweep: {len(result.outcomes)} runs in {_fmt_seconds(result.seconds)}: {result.count(DONE)} done, "
             f"{result.count(FAILED)} failed, {result.count(SKIPPED)} skipped (already complete)"
             + (f", {result.count(BUSY)} busy (held by another process)" if result.count(BUSY) else "")]
    resumed = [o for o in result.outcomes if o.moved_to]
    if resumed:
        lines.append(f"restarted {len(resumed)} interrupted/failed run(s); old attempts kept under "
                     f"{ATTEMPTS_DIR}/:")
        lines += [f"  {o.run.label}: {o.moved_to}" for o in resumed]
    if result.failed:
        lines.append("failed runs:")
        for o in result.failed:
            lines.append(f"  {o.run.label}: {o.detail}")
            lines.append(f"    see {Path(o.directory) / SWEEP_ERROR} and {Path(o.directory) / META}")
    busy = [o for o in result.outcomes if o.state == BUSY]
    if busy:
        lines.append("busy runs (another sweep is running them; run this sweep again later to check):")
        lines += [f"  {o.run.label}: {o.detail}" for o in busy]
    return "\n".join(lines)


def sweep_main(spec_path: str | None, *, tasks: str | None, opts: str | None, seeds: str | None,
               budget: str | None, workers: int | None, out: str | None, scheduler_address: str | None,
               n_dask_workers: int | None, dry_run: bool = False, quiet: bool = False) -> int:
    """What ``ohgw-bench sweep`` does after parsing; raises SweepError for bad input."""
    from ohgw_bench.budget import Budget

    if n_dask_workers is not None and n_dask_workers < 1:
        raise SweepError(f"--n-dask-workers must be a positive integer, got {n_dask_workers}")
    if n_dask_workers is not None and scheduler_address:
        raise SweepError("--n-dask-workers sizes a local cluster; it cannot be used with --scheduler-address")
    spec = build_spec(spec_path, tasks=tasks, opts=opts, seeds=seeds, budget=budget, workers=workers, out=out)
    where = read_spec_file(spec_path)[1] if spec_path is not None else _Where()
    for key, value in (("tasks", tasks), ("opts", opts), ("seeds", seeds)):
        if value is not None:
            where.flags.add(key)
    runs = validate_runs(spec, where)
    if dry_run:
        todo, complete = precheck(spec, runs)
        done = set(complete)
        for run in runs:
            print(f"{'skip' if run in done else 'run '}  {run.label}")
        print(f"{len(runs)} runs: {len(todo)} to run, {len(complete)} already complete (dry run: nothing started)")
        return 0
    parsed = Budget.parse(spec.budget)
    progress = SweepProgress(runs, mode="quiet" if quiet else "auto",
                             budget_seconds=parsed.amount if parsed.clock == "tuner_seconds" else None)
    result = run_sweep(spec, runs, scheduler_address=scheduler_address, n_dask_workers=n_dask_workers,
                       progress=progress)
    print(format_summary(result))
    return result.exit_code
