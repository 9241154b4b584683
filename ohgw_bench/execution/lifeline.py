"""Processes that must not outlive the process that started them (Linux).

``PR_SET_PDEATHSIG`` makes the kernel send SIGKILL when the parent dies, however it dies;
a watchdog thread covers what it misses (a parent that died before the call, a pid we were
told to follow that is not our parent, systems without prctl).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from pathlib import Path

from ohgw_bench.execution.runlock import pid_alive

PR_SET_PDEATHSIG = 1
WATCH_EVERY_S = 0.25


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
        if marker in cmdline and pid_alive(int(entry.name), None):
            pids.append(int(entry.name))
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.time() + grace_s
        while time.time() < deadline and any(pid_alive(pid, None) for pid in pids):
            time.sleep(0.05)
        if not any(pid_alive(pid, None) for pid in pids):
            break
    return pids
