"""Where imported datasets live, and the one error type for missing or corrupt data.

Nothing here downloads: datasets are imported once from a local file into
``default_data_dir()`` and read from there at run time.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ohgw_bench.core.errors import DataError  # noqa: F401  (the one error type; re-exported)

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
