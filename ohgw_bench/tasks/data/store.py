"""Where imported datasets live, and the one error type for missing or corrupt data.

Nothing here downloads: datasets are imported once from a local file into
``default_data_dir()`` and read from there at run time.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
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


#: no dataset member the suite reads is larger (CIFAR-10's batches are 31 MB): a bigger one is refused
#: before it is read, so a crafted archive cannot make an import hold gigabytes in memory
MAX_MEMBER_BYTES = 256 << 20


def read_tar_members(source: Path, wanted: Callable[[tuple[str, ...]], bool], hint: str) -> dict[str, bytes]:
    """The regular files of the gzip tarball ``source`` whose path parts ``wanted`` accepts, by base name.
    A corrupt, truncated or oversized archive is a :class:`DataError` ending with ``hint``."""
    import tarfile
    import zlib

    files: dict[str, bytes] = {}
    try:
        with tarfile.open(source, "r:gz") as tar:
            for member in tar:
                parts = Path(member.name).parts
                if not (member.isfile() and parts and wanted(parts)):
                    continue
                if member.size > MAX_MEMBER_BYTES:
                    raise DataError(f"{source}: {member.name} is {member.size:,} bytes, more than any dataset file")
                f = tar.extractfile(member)
                assert f is not None  # a regular file always has a file object
                files[parts[-1]] = f.read()
    except (tarfile.TarError, EOFError, zlib.error, OSError) as e:
        raise DataError(
            f"{source}: cannot read as a gzip tar archive (format error: {type(e).__name__}: {e}); "
            f"the file is corrupt or truncated{hint}"
        ) from e
    return files
