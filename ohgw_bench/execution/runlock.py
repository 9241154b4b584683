"""One lock file per run, so that two sweeps on one results folder never write the same run.

``<out>/_locks/<task>/<optimizer>/seed-<k>.lock`` is created with ``O_CREAT|O_EXCL`` and holds
pid, hostname, the process start time and a heartbeat that a thread refreshes while the run
executes. A lock taken on this host is *stale* exactly when its process no longer exists (or is a
zombie, or its pid was reused): a live process keeps its lock however old its heartbeat, since a
heartbeat can fail to be written (a full disk, a network file system's hiccup) while the run goes
on. A lock from another host is stale when its heartbeat is older than ``stale_after`` seconds. A
stale lock is taken over; the run that lost it finds out (:meth:`RunLock.owned`) before its final
writes.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ohgw_bench.core.trajectory import write_json_atomic

log = logging.getLogger(__name__)

LOCKS_DIR = "_locks"
STALE_AFTER_S = 60.0
HEARTBEAT_EVERY_S = 10.0


def lock_path(out: Path | str, task: str, optimizer: str, seed: int) -> Path:
    return Path(out) / LOCKS_DIR / task / optimizer / f"seed-{seed}.lock"


def proc_start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (Linux), to tell a live process from a reused pid."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            stat = fh.read()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None  # field 22 of stat(5); fields[0] is field 3


def pid_alive(pid: int, start_time: str | None) -> bool:
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
    state = stat[stat.rfind(")") + 2 :].split()[0]
    if state in ("Z", "X"):
        return False  # killed, not yet reaped
    return start_time is None or proc_start_time(pid) == start_time


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

    def __init__(
        self,
        path: Path,
        stale_after: float = STALE_AFTER_S,
        heartbeat_every: float = HEARTBEAT_EVERY_S,
        sweep_id: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.stale_after = stale_after
        self.heartbeat_every = heartbeat_every
        self.sweep_id = sweep_id
        self.token = uuid.uuid4().hex
        self.holder: LockHolder | None = None
        self.took_over: LockHolder | None = None
        self.lost = False
        self.beat_failures = 0  # heartbeat writes that failed and were retried
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._made_dirs: list[Path] = []  # folders acquire() created, removed again if left empty

    # -- content
    def _payload(self) -> dict[str, Any]:
        pid = os.getpid()
        return {
            "pid": pid,
            "host": socket.gethostname(),
            "pid_start": proc_start_time(pid),
            "heartbeat": time.time(),
            "token": self.token,
            "sweep": self.sweep_id,
        }

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
        holder = LockHolder(
            pid=data.get("pid"),
            host=data.get("host"),
            heartbeat=data.get("heartbeat", mtime),
            token=data.get("token"),
            sweep=data.get("sweep"),
        )
        return holder, data

    def is_stale(self, holder: LockHolder, data: dict[str, Any]) -> str | None:
        """Why the lock is stale, or None when it is fresh. On this host the process decides, not
        the heartbeat's age (see the module docstring)."""
        if holder.host == socket.gethostname() and isinstance(holder.pid, int):
            if not pid_alive(holder.pid, data.get("pid_start")):
                return f"pid {holder.pid} on this host is gone"
            return None
        age = time.time() - (holder.heartbeat or 0.0)
        if age > self.stale_after:
            return f"heartbeat {age:.0f}s old (> {self.stale_after:.0f}s)"
        return None

    def owned(self) -> bool:
        """Whether the lock file is still this lock's (False once another process took it over)."""
        try:
            holder, _ = self.read()
        except OSError:
            return False
        return holder is not None and holder.token == self.token

    # -- acquire / release
    def acquire(self) -> bool:
        missing = [d for d in [self.path.parent, *self.path.parent.parents] if not d.exists()]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._made_dirs = missing  # deepest first
        for _ in range(5):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileNotFoundError:  # another lock's release removed the then-empty folder
                self.path.parent.mkdir(parents=True, exist_ok=True)
                continue
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
        """Refresh the heartbeat until released. A failed read or write is logged and retried at the
        next beat: one error must not end the heartbeat of a run that goes on."""
        failures = 0
        while not self._stop.wait(self.heartbeat_every):
            try:
                holder, _ = self.read()
                if holder is None or holder.token != self.token:
                    self.lost = True
                    return
                write_json_atomic(self.path, self._payload())
                failures = 0
            except OSError as err:
                failures += 1
                self.beat_failures += 1
                log.warning("heartbeat of %s failed (%d in a row), retrying: %s", self.path, failures, err)

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        holder, _ = self.read()
        if holder is not None and holder.token == self.token:
            self.path.unlink()
        for folder in self._made_dirs:  # a run refused or failed early leaves no empty folders behind
            try:
                folder.rmdir()
            except OSError:
                break  # not empty (another lock, or the run's results): keep it and its parents

    def __enter__(self) -> RunLock:
        if not self.acquire():
            raise RuntimeError(f"{self.path} is held by {self.holder.describe() if self.holder else 'another process'}")
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()
