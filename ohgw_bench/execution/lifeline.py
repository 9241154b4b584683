"""Processes that must not outlive the process that started them (Linux).

``PR_SET_PDEATHSIG`` makes the kernel send SIGKILL when the parent dies, however it dies;
a watchdog thread covers what it misses (a parent that died before the call, a pid we were
told to follow that is not our parent, systems without prctl). A run also records each process
it starts (:func:`record_process`), so that a later attempt can end what a dead one left behind
(:func:`end_orphan_trials`) by what it recorded, never by a guess.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import signal
import socket
import stat
import sys
import threading
import time
from pathlib import Path
from typing import Any

from ohgw_bench.execution.runlock import pid_alive, proc_start_time

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
WATCH_EVERY_S = 0.25
#: a run's record of the trial processes it starts (warm workers, LocalBackend trials), one JSON line each
PROCESSES = "processes.jsonl"


def kill_me_with_parent() -> None:
    """Ask the kernel for SIGKILL when our parent exits (no-op where there is no prctl)."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")


def exit_when_gone(pid: int, every: float = WATCH_EVERY_S) -> threading.Thread:
    """Start a daemon thread that ends this process at once (``os._exit``) when ``pid`` is gone
    or, if ``pid`` is our parent, when we get re-parented."""
    was_parent = os.getppid() == pid

    def watch() -> None:
        while True:
            if (was_parent and os.getppid() != pid) or not pid_alive(pid, None):
                os._exit(1)
            time.sleep(every)

    if (was_parent and os.getppid() != pid) or not pid_alive(pid, None):
        os._exit(1)  # gone before we started watching
    thread = threading.Thread(target=watch, name=f"lifeline to {pid}", daemon=True)
    thread.start()
    return thread


def processes_file(directory: Path | str) -> Path:
    """Where the run in ``directory`` records the trial processes it starts."""
    return Path(directory) / ".work" / PROCESSES


def record_process(path: Path, pid: int, role: str) -> None:
    """Append what identifies process ``pid`` on this host (its start time, user, host and boot) to the
    run's record ``path``, so that a later attempt can end that process and no other, whatever reuses
    its pid and whatever any command line says. Called by the run right after it starts the process."""
    entry = {
        "pid": pid,
        "start_time": proc_start_time(pid),
        "uid": os.getuid(),
        "host": socket.gethostname(),
        "boot_id": _boot_id(),
        "role": role,
    }
    line = (json.dumps(entry, sort_keys=True) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        os.write(fd, line)  # one write of one short line with O_APPEND: lines never interleave
    finally:
        os.close(fd)


def recorded_processes(directory: Path | str) -> list[dict[str, Any]]:
    """The run's records of the processes it started; none when there is no record, or when the record is
    not a regular file of this user (a record planted by someone else must not make us signal anything)."""
    path = processes_file(directory)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return []
    except OSError as err:  # a symbolic link (ELOOP) or unreadable: not a record this run wrote
        log.warning("ignoring the process record %s: %s", path, err)
        return []
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
            log.warning("ignoring the process record %s: not a regular file of user %d", path, os.getuid())
            return []
        text = fh.read().decode("utf-8", "replace")
    records = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # a last line cut off by a crash mid-write names no process we could check
        if isinstance(record, dict):
            records.append(record)
    return records


def end_orphan_trials(directory: Path, grace_s: float = 10.0) -> list[int]:
    """End the trial processes a dead attempt left behind on this host (Linux), and return their pids.

    When a run's process dies without cleanup (a Dask worker killed by its nanny after Ctrl-C, say),
    trials it had started may live on and keep writing below ``<run dir>/.work/``; after the folder is
    moved aside, a write by path would land in the *new* attempt's folder. They are the processes the
    attempt recorded (:func:`record_process`) that are still the same processes: same host and boot,
    same start time, and this user's. Nothing else is signalled, whatever its command line says; where
    a start time cannot be read (no ``/proc``) nothing is."""
    targets = {}
    for record in recorded_processes(directory):
        pid, start = record.get("pid"), record.get("start_time")
        if not isinstance(pid, int) or not isinstance(start, str) or pid == os.getpid():
            continue
        if record.get("host") != socket.gethostname() or record.get("boot_id") != _boot_id():
            continue  # another machine's pid, or one from before a reboot
        if record.get("uid") == os.getuid() and _is_recorded_process(pid, start):
            targets[pid] = start
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid, start in targets.items():
            _signal_if_same(pid, start, sig)
        deadline = time.time() + grace_s
        while time.time() < deadline and any(_is_recorded_process(p, s) for p, s in targets.items()):
            time.sleep(0.05)
        if not any(_is_recorded_process(p, s) for p, s in targets.items()):
            break
    return sorted(targets)


def _is_recorded_process(pid: int, start_time: str) -> bool:
    """Whether ``pid`` is alive, this user's, and started when the record says (not a reused pid)."""
    try:
        owner = os.stat(f"/proc/{pid}").st_uid
    except OSError:  # gone, or no /proc
        return False
    # pid_alive alone trusts a pid it may not signal; the start time is compared here whoever owns it
    return owner == os.getuid() and pid_alive(pid, start_time) and proc_start_time(pid) == start_time


def _signal_if_same(pid: int, start_time: str, sig: int) -> None:
    """Send ``sig`` to ``pid`` only if it still is the recorded process. Through a pidfd, opened before the
    check, the check and the signal refer to one process however soon its pid is reused."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    except OSError:  # no pidfd here (a kernel before 5.3): the check, then the signal by pid
        if _is_recorded_process(pid, start_time):
            with contextlib.suppress(ProcessLookupError):  # it exited between the two
                os.kill(pid, sig)
        return
    try:
        if _is_recorded_process(pid, start_time):
            signal.pidfd_send_signal(fd, sig)
    except ProcessLookupError:
        pass  # it exited after the check: nothing left to end
    finally:
        os.close(fd)


def _boot_id() -> str | None:
    """This boot's id (Linux): a start time counts from boot, so a record from before a reboot names no process."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as fh:
            return fh.read().strip()
    except OSError:
        return None
