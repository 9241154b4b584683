"""CIFAR-10: fixed splits loaded from the local cache that :mod:`ohgw_bench.tasks.data.cifar10_import`
writes once from the official files. Nothing downloads at run time. :func:`load_cifar10` turns
the cache into :class:`DataSplits`:

* 45,000 train / 5,000 val, stratified with the module constant :data:`SPLIT_SEED`
  (same split for every run); 10,000 test, always with clean labels.
* ``label_noise=r``: every train AND val label is replaced with probability ``r`` by a
  uniformly chosen different class (:data:`NOISE_SEED`, fixed); the realised rate is
  recorded in ``info["label_noise_realised"]``.
* A smaller imported fixture (tests build these in the official on-disk format) is split
  90/10 with the same stratified procedure.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ohgw_bench.tasks.data.store import DataError, default_data_dir

CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
NUM_CLASSES = 10
REAL_TRAIN_SIZE = 50_000
VAL_FRACTION = 0.1  # 50,000 → 45,000 / 5,000 (exactly: 500 of each class's 5,000)
SPLIT_SEED = 20_240_101  # fixed for every run: the val split is part of the task definition
NOISE_SEED = 20_240_102  # fixed: the noisy task has one set of noisy labels
CACHE_FORMAT_VERSION = 1

MISSING_MESSAGE = (
    "CIFAR-10 is not imported in {data_dir} (no {cache}). Import the official "
    "cifar-10-python.tar.gz (or its extracted cifar-10-batches-py/ folder) with "
    "`ohgw-bench data import PATH`, or fetch it with `ohgw-bench data download cifar10` "
    "(needs internet). To keep the data elsewhere, set $OHGW_BENCH_DATA for `run` and `sweep`, "
    "or pass --data-dir to the `data` commands."
)


def cache_path(data_dir: Path | str | None = None) -> Path:
    return Path(data_dir if data_dir is not None else default_data_dir()).expanduser() / "cifar10" / "cifar10.npz"


# ---------------------------------------------------------------------------- parsing


def require_cifar10(data_dir: Path | str | None = None) -> Path:
    """The cache path, or DataError saying how to import CIFAR-10 (cheap: nothing is read)."""
    path = cache_path(data_dir)
    if not path.is_file():
        raise DataError(MISSING_MESSAGE.format(data_dir=path.parent.parent, cache=path))
    return path


def _open_cache(data_dir: Path | str | None) -> tuple[Path, Any, dict]:
    path = require_cifar10(data_dir)
    try:
        npz = np.load(path, allow_pickle=False)
        meta = json.loads(str(npz["meta"]))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as e:
        raise DataError(
            f"{path}: unreadable CIFAR-10 cache ({type(e).__name__}: {e}); re-run `ohgw-bench data import PATH`"
        ) from e
    return path, npz, meta


def cifar10_status(data_dir: Path | str | None = None) -> dict[str, Any]:
    """What is imported: path, present, train/test sizes, whether md5 was verified at import."""
    path = cache_path(data_dir)
    status: dict[str, Any] = {"dataset": "cifar10", "path": str(path), "present": path.is_file()}
    if not status["present"]:
        return status
    _, npz, meta = _open_cache(data_dir)
    npz.close()
    status.update(
        n_train=meta["n_train"],
        n_test=meta["n_test"],
        md5_verified=meta["md5_verified"],
        source=meta["source"],
        imported_at=meta["imported_at"],
        full_size=meta["n_train"] == REAL_TRAIN_SIZE,
    )
    return status


def split_indices(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Train/val indices into the 50,000 training images: 90/10 stratified, fixed seed."""
    from ohgw_bench.core.splits import stratified_split

    train_idx, val_idx = stratified_split(labels, (1.0 - VAL_FRACTION, VAL_FRACTION), SPLIT_SEED)
    return train_idx, val_idx


def load_cifar10(label_noise: float = 0.0, data_dir: str | Path | None = None):
    """Fixed CIFAR-10 splits as :class:`~ohgw_bench.core.splits.DataSplits` (uint8 NCHW)."""
    import torch

    from ohgw_bench.core.splits import DataSplits
    from ohgw_bench.tasks.data.noise import noisy_split_labels

    path, npz, meta = _open_cache(data_dir)
    with npz:
        try:
            pool_x, pool_y = npz["train_x"], npz["train_y"].astype(np.int64)
            test_x, test_y = npz["test_x"], npz["test_y"].astype(np.int64)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as e:
            raise DataError(
                f"{path}: unreadable CIFAR-10 cache ({type(e).__name__}: {e}); re-run `ohgw-bench data import PATH`"
            ) from e
    train_idx, val_idx = split_indices(pool_y)  # stratified on the CLEAN labels
    info: dict[str, Any] = {
        "dataset": "cifar10",
        "cache": str(path),
        "source": meta["source"],
        "md5_verified": meta["md5_verified"],
        "fixture": len(pool_y) != REAL_TRAIN_SIZE,
        "split_seed": SPLIT_SEED,
        "n_train": int(len(train_idx)),
        "n_val": int(len(val_idx)),
        "n_test": int(len(test_y)),
        "class_names": meta["class_names"],
        "label_noise": float(label_noise),
        "label_noise_realised": 0.0,
    }
    labels, noise_info = noisy_split_labels(pool_y, label_noise, NUM_CLASSES, NOISE_SEED, train_idx, val_idx)
    info.update(noise_info)
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a))  # noqa: E731
    return DataSplits(
        train_x=t(pool_x[train_idx]),
        train_y=t(labels[train_idx]),
        val_x=t(pool_x[val_idx]),
        val_y=t(labels[val_idx]),
        test_x=t(test_x),
        test_y=t(test_y),
        num_classes=NUM_CLASSES,
        info=info,
    )
