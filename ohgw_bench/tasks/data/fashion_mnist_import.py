"""Fashion-MNIST's one-time import: the four official IDX files in, the local cache out.

``ohgw-bench data import FOLDER`` (→ :func:`import_fashion_mnist`) reads the folder holding
``train-images-idx3-ubyte.gz``, ``train-labels-idx1-ubyte.gz``, ``t10k-images-idx3-ubyte.gz`` and
``t10k-labels-idx1-ubyte.gz``, checks each file's SHA-256, parses it with the strict IDX reader
(:mod:`ohgw_bench.tasks.data.idx`), and writes one ``<data_dir>/fashion-mnist/fashion-mnist.npz``
(uint8 images ``[N, 1, 28, 28]``, uint8 labels, a JSON ``meta`` string) through a temp file + rename,
so a bad input never leaves a half-written cache. :mod:`ohgw_bench.tasks.data.fashion_mnist` loads it.

What is hashed: the decompressed IDX bytes. The two sources ship the same IDX bytes in different
gzip wrappers: the official release's ``.gz`` files (26,421,880, 29,515, 4,422,102 and 5,148 bytes;
md5 sums in the upstream README) carry the original file name in their gzip header, while Debian's
``dataset-fashion-mnist`` re-wrapped them without it (mtime 2020-06-05, no name field), so each is
exactly the name's length + 1 shorter (26,421,856, 29,491, 4,422,079, 5,125 bytes) and its md5
differs. A hash of the ``.gz`` bytes could accept only one of the two; the hash of what they
decompress to (:data:`OFFICIAL_SHA256`, computed from the Debian files) accepts both and nothing else.
"""

from __future__ import annotations

import datetime as _dt
import gzip
import hashlib
import json
import zlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ohgw_bench.core.atomic import atomic_write
from ohgw_bench.tasks.data.fashion_mnist import CACHE_FORMAT_VERSION, NUM_CLASSES, cache_path
from ohgw_bench.tasks.data.idx import parse_idx
from ohgw_bench.tasks.data.store import DataError

TRAIN_IMAGES, TRAIN_LABELS = "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"
TEST_IMAGES, TEST_LABELS = "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"
FILES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)
#: SHA-256 of each official file's decompressed IDX bytes (47,040,016, 60,008, 7,840,016, 10,008 bytes)
OFFICIAL_SHA256: Mapping[str, str] = {
    TRAIN_IMAGES: "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    TRAIN_LABELS: "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    TEST_IMAGES: "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    TEST_LABELS: "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
#: the largest decompressed file accepted (the official train images: 47,040,016 bytes)
MAX_DECOMPRESSED = 48 * 1024 * 1024
SOURCES = (
    "the Debian package `dataset-fashion-mnist` (/usr/share/datasets/fashion-mnist/) or the official "
    "release at https://github.com/zalandoresearch/fashion-mnist"
)


def is_fashion_mnist_folder(path: Path) -> bool:
    """Whether ``path`` is a folder holding any of the four official file names (the CLI's dispatch)."""
    return path.is_dir() and any((path / name).is_file() for name in FILES)


def _decompress(path: Path) -> bytes:
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read(MAX_DECOMPRESSED + 1)
    except (OSError, EOFError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
        raise DataError(
            f"{path}: cannot read as gzip (format error: {type(e).__name__}: {e}); the file is corrupt or truncated"
        ) from e
    if len(raw) > MAX_DECOMPRESSED:
        raise DataError(f"{path}: decompresses to more than {MAX_DECOMPRESSED:,} bytes (not a Fashion-MNIST file)")
    return raw


def import_fashion_mnist(
    source: Path | str, data_dir: Path | str | None = None, *, expected_sha256: Mapping[str, str] | None = None
) -> Path:
    """Import the four official Fashion-MNIST IDX files from the folder ``source``; return the cache path.

    Every file's decompressed SHA-256 is checked against ``expected_sha256``: the official sums
    (:data:`OFFICIAL_SHA256`) when it is None, else the caller's own table (tests pass one for fixtures
    in the official format; the CLI never does; the cache records which). Raises :class:`DataError`
    naming the file on a missing file, a hash mismatch, a truncated gzip or a malformed IDX file; an
    existing cache is then left untouched and no partial one is written.
    """
    official = expected_sha256 is None
    expected = OFFICIAL_SHA256 if expected_sha256 is None else expected_sha256
    source = Path(source).expanduser()
    if not source.is_dir():
        raise DataError(f"{source}: not a folder (expected the folder holding {', '.join(FILES)})")
    missing = [name for name in FILES if not (source / name).is_file()]
    if missing:
        raise DataError(f"{source}: missing {', '.join(missing)}; get the four files from {SOURCES}")
    raw: dict[str, bytes] = {}
    for name in FILES:
        raw[name] = _decompress(source / name)
        got = hashlib.sha256(raw[name]).hexdigest()
        if got != expected[name]:
            raise DataError(
                f"{source / name}: SHA-256 mismatch of the decompressed file (got {got}, expected "
                f"{expected[name]}); the file is corrupt, truncated or not the official Fashion-MNIST "
                f"file from {SOURCES}"
            )
    parsed = {
        TRAIN_IMAGES: parse_idx(raw[TRAIN_IMAGES], str(source / TRAIN_IMAGES), 3, (28, 28)),
        TRAIN_LABELS: parse_idx(raw[TRAIN_LABELS], str(source / TRAIN_LABELS), 1),
        TEST_IMAGES: parse_idx(raw[TEST_IMAGES], str(source / TEST_IMAGES), 3, (28, 28)),
        TEST_LABELS: parse_idx(raw[TEST_LABELS], str(source / TEST_LABELS), 1),
    }
    for images, labels in ((TRAIN_IMAGES, TRAIN_LABELS), (TEST_IMAGES, TEST_LABELS)):
        if len(parsed[images]) != len(parsed[labels]):
            raise DataError(
                f"{source}: {images} holds {len(parsed[images])} images but {labels} {len(parsed[labels])} labels"
            )
        if parsed[labels].max() >= NUM_CLASSES:
            raise DataError(f"{source / labels}: a label of {parsed[labels].max()}, expected 0 to {NUM_CLASSES - 1}")
    meta = {
        "format_version": CACHE_FORMAT_VERSION,
        "dataset": "fashion-mnist",
        "source": str(source),
        "sha256_checked": "official" if official else "caller's table (not the official files)",
        "files_sha256": {name: expected[name] for name in FILES},
        "n_train": int(len(parsed[TRAIN_LABELS])),
        "n_test": int(len(parsed[TEST_LABELS])),
        "imported_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    target = cache_path(data_dir)
    atomic_write(
        target,
        lambda f: np.savez(
            f,
            train_x=parsed[TRAIN_IMAGES][:, None],
            train_y=parsed[TRAIN_LABELS],
            test_x=parsed[TEST_IMAGES][:, None],
            test_y=parsed[TEST_LABELS],
            meta=np.array(json.dumps(meta)),
        ),
    )
    return target
