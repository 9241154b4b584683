"""Replace a file so that readers, and a crash at any moment, see the old or the new file, never half."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO


def atomic_write(path: Path | str, write: Callable[[IO[bytes]], object], durable: bool = True) -> Path:
    """Write ``path`` through a temp file in the same folder, then rename over it.

    A failure (or a kill) mid-write leaves at most a stray ``*.tmp`` file that is removed on
    error, never a half-written ``path``; an existing ``path`` stays intact. ``durable``
    also flushes the data to disk before the rename, so it survives a power loss; trial
    checkpoints, rewritten every epoch and needed only across process restarts, skip that.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; results follow the umask like any file
        with os.fdopen(fd, "wb") as f:
            write(f)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    """The process umask, read without changing it (Linux); 0o022 where it cannot be read."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass  # not Linux: fall through to the common default
    return 0o022
