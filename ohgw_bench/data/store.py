"""Where imported datasets live, and the one error type for missing or corrupt data.

Nothing here downloads: datasets are imported once from a local file into
``default_data_dir()`` and read from there at run time.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Callable, IO

from ohgw_bench.data.errors import DataError  # noqa: F401  (the one error type; re-exported)

DATA_ENV = "OHGW_BENCH_DATA"


def default_data_dir() -> Path:
    """``$OHGW_BENCH_DATA`` if set, else ``~/.cache/ohgw-bench``."""
    env = os.environ.get(DATA_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "ohgw-bench"


def md5_file(path: Path, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def md5_bytes(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def atomic_write(path: Path, write: Callable[[IO[bytes]], None]) -> Path:
    """Write ``path`` through a temp file in the same folder, then rename over it.

    A failure (or a kill) mid-write leaves at most a stray ``*.tmp`` file that is removed
    on error, never a half-written ``path``; an existing ``path`` stays intact.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
