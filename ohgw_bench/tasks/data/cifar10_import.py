"""CIFAR-10's one-time import: the official files in, the local cache out.

``ohgw-bench data import PATH`` (→ :func:`import_cifar10`) reads the official
``cifar-10-python.tar.gz`` or its extracted ``cifar-10-batches-py/`` folder, verifies the
official md5 sums, parses the pickled batches with an unpickler that builds nothing but plain
data, and writes one ``<data_dir>/cifar10/cifar10.npz`` (uint8 images ``[N, 3, 32, 32]``, uint8
labels, and a JSON ``meta`` string) through a temp file + rename, so a corrupt input never
leaves a half-written cache. :mod:`ohgw_bench.tasks.data.cifar10` loads it.
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import pickle
import tempfile
from pathlib import Path

import numpy as np

from ohgw_bench.core.atomic import atomic_write
from ohgw_bench.tasks.data.cifar10 import CACHE_FORMAT_VERSION, NUM_CLASSES, cache_path
from ohgw_bench.tasks.data.store import DataError, md5_bytes, md5_file, read_tar_members

URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
TARBALL_NAME = "cifar-10-python.tar.gz"
BASE_FOLDER = "cifar-10-batches-py"
# Official md5 sums (the same numbers torchvision's CIFAR10 class checks).
TARBALL_MD5 = "c58f30108f718f92721af3b95e74349a"
TRAIN_FILES = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
}
TEST_FILES = {"test_batch": "40351d587109b95175f43aff81a1287e"}
META_FILE = ("batches.meta", "5ff9c542aee3614f3951f8cda6e48888")
ALL_FILES = {**TRAIN_FILES, **TEST_FILES, META_FILE[0]: META_FILE[1]}


class _BatchUnpickler(pickle.Unpickler):
    """The batches are pickles; allow only what a dict of numpy arrays/lists needs, so a
    hostile file given with ``verify_md5=False`` cannot run code."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"disallowed global {module}.{name}")
        return super().find_class(module, name)


def _unpickle(raw: bytes, name: str) -> dict:
    try:
        obj = _BatchUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except (
        pickle.UnpicklingError,
        EOFError,
        ValueError,
        TypeError,
        AttributeError,
        ImportError,
        IndexError,
        KeyError,
        MemoryError,
    ) as e:
        raise DataError(
            f"{name}: not a valid CIFAR-10 python batch (format error: "
            f"{type(e).__name__}: {e}); the file is corrupt or truncated"
        ) from e
    if not isinstance(obj, dict):
        raise DataError(
            f"{name}: not a valid CIFAR-10 python batch (format error: expected a dict, got {type(obj).__name__})"
        )
    return obj


def _parse_batch(raw: bytes, name: str) -> tuple[np.ndarray, np.ndarray]:
    obj = _unpickle(raw, name)
    if b"data" not in obj or b"labels" not in obj:
        raise DataError(
            f"{name}: not a valid CIFAR-10 python batch (format error: keys "
            f"{sorted(obj)!r}, expected b'data' and b'labels')"
        )
    data = obj[b"data"]
    labels = np.asarray(obj[b"labels"])
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        desc = f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise DataError(
            f"{name}: not a valid CIFAR-10 python batch (format error: b'data' is {desc}, expected uint8 [N, 3072])"
        )
    if (
        labels.shape != (data.shape[0],)
        or not np.issubdtype(labels.dtype, np.integer)
        or (labels.size and (labels.min() < 0 or labels.max() >= NUM_CLASSES))
    ):
        raise DataError(
            f"{name}: not a valid CIFAR-10 python batch (format error: b'labels' "
            f"must be {data.shape[0]} integers in [0, {NUM_CLASSES}))"
        )
    # Rows are 1024 R, 1024 G, 1024 B values, each a row-major 32×32 plane → NCHW directly.
    return data.reshape(-1, 3, 32, 32), labels.astype(np.uint8)


def _parse_meta(raw: bytes, name: str) -> list[str]:
    obj = _unpickle(raw, name)
    names = obj.get(b"label_names")
    if not isinstance(names, list) or len(names) != NUM_CLASSES:
        raise DataError(
            f"{name}: not a valid CIFAR-10 batches.meta (format error: "
            f"b'label_names' must be a list of {NUM_CLASSES} names)"
        )
    return [n.decode() if isinstance(n, bytes) else str(n) for n in names]


def _read_tarball(source: Path, verify_md5: bool) -> dict[str, bytes]:
    if verify_md5:
        got = md5_file(source)
        if got != TARBALL_MD5:
            raise DataError(
                f"{source}: md5 mismatch (got {got}, expected {TARBALL_MD5} for the "
                "official cifar-10-python.tar.gz); the file is corrupt, truncated "
                "or not CIFAR-10"
            )
    files = read_tar_members(
        source, lambda parts: len(parts) >= 2 and parts[-2] == BASE_FOLDER and parts[-1] in ALL_FILES, ""
    )
    missing = sorted(set(ALL_FILES) - set(files))
    if missing:
        raise DataError(
            f"{source}: archive lacks {', '.join(f'{BASE_FOLDER}/{m}' for m in missing)} "
            "(format error: not the official CIFAR-10 python archive)"
        )
    return files


def _read_folder(source: Path) -> tuple[Path, dict[str, bytes]]:
    folder = source if source.name == BASE_FOLDER or not (source / BASE_FOLDER).is_dir() else source / BASE_FOLDER
    missing = [name for name in ALL_FILES if not (folder / name).is_file()]
    if missing:
        raise DataError(
            f"{folder}: missing {', '.join(missing)} (expected the extracted "
            f"{BASE_FOLDER}/ folder of the official CIFAR-10 python archive)"
        )
    return folder, {name: (folder / name).read_bytes() for name in ALL_FILES}


STALE_TEMP_S = 600.0


def _remove_stale_temp_files(target: Path) -> list[Path]:
    """Temp files of imports killed mid-write (older than 10 minutes, so never a live import's)."""
    import time

    stale = (
        [p for p in target.parent.glob(f".{target.name}.*.tmp") if time.time() - p.stat().st_mtime > STALE_TEMP_S]
        if target.parent.is_dir()
        else []
    )
    for p in stale:
        p.unlink(missing_ok=True)
    return stale


def import_cifar10(source: Path | str, data_dir: Path | str | None = None, verify_md5: bool = True) -> Path:
    """Import the official CIFAR-10 python files into ``data_dir``; return the cache path.

    ``source``: ``cifar-10-python.tar.gz`` or the extracted ``cifar-10-batches-py/`` folder
    (or a folder containing it). Every file's official md5 is checked unless
    ``verify_md5=False`` (for test fixtures in the official format). Raises
    :class:`DataError` naming the file on a md5 mismatch, a truncated archive or a
    malformed batch; in every such case an existing cache is left untouched and no
    partial one is written.
    """
    source = Path(source).expanduser()
    if not source.exists():
        raise DataError(
            f"{source}: no such file or folder (expected {TARBALL_NAME} or its extracted {BASE_FOLDER}/ folder)"
        )
    if source.is_dir():
        where, files = _read_folder(source)
        label = lambda name: where / name  # noqa: E731
    else:
        files = _read_tarball(source, verify_md5)
        label = lambda name: f"{source}:{BASE_FOLDER}/{name}"  # noqa: E731
    if verify_md5:
        for name, expected in ALL_FILES.items():
            got = md5_bytes(files[name])
            if got != expected:
                raise DataError(
                    f"{label(name)}: md5 mismatch (got {got}, expected {expected}); "
                    "the file is corrupt, truncated or not the official CIFAR-10 file"
                )
    parts = {name: _parse_batch(files[name], str(label(name))) for name in (*TRAIN_FILES, *TEST_FILES)}
    class_names = _parse_meta(files[META_FILE[0]], str(label(META_FILE[0])))
    train_x = np.concatenate([parts[n][0] for n in TRAIN_FILES])
    train_y = np.concatenate([parts[n][1] for n in TRAIN_FILES])
    test_x, test_y = parts["test_batch"]
    meta = {
        "format_version": CACHE_FORMAT_VERSION,
        "dataset": "cifar10",
        "source": str(source),
        "md5_verified": bool(verify_md5),
        "n_train": int(len(train_y)),
        "n_test": int(len(test_y)),
        "class_names": class_names,
        "imported_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    target = cache_path(data_dir)
    _remove_stale_temp_files(target)
    atomic_write(
        target,
        lambda f: np.savez(
            f, train_x=train_x, train_y=train_y, test_x=test_x, test_y=test_y, meta=np.array(json.dumps(meta))
        ),
    )
    return target


def download_cifar10(data_dir: Path | str | None = None) -> Path:
    """Fetch the official archive with torchvision (needs internet), verify and import it."""
    from torchvision.datasets import CIFAR10

    target_dir = cache_path(data_dir).parent
    target_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target_dir, prefix=".download-") as tmp:
        try:
            CIFAR10(tmp, train=True, download=True)  # downloads, checks md5, extracts
        except (OSError, RuntimeError, ValueError) as e:  # URLError is an OSError
            raise DataError(
                f"could not download CIFAR-10 from {URL} ({type(e).__name__}: {e}). Without "
                f"internet, copy {TARBALL_NAME} to this machine and run `ohgw-bench data import PATH`."
            ) from e
        return import_cifar10(Path(tmp) / TARBALL_NAME, data_dir, verify_md5=True)


# ---------------------------------------------------------------------------- reading
