"""Fashion-MNIST (Xiao et al. 2017): fixed splits loaded from the local cache that
:mod:`ohgw_bench.tasks.data.fashion_mnist_import` writes once from the official IDX files. Nothing
downloads at run time. :func:`load_fashion_mnist` turns the cache into :class:`DataSplits`:

* from the 60,000 training images, stratified with :data:`SPLIT_SEED`: :data:`N_TRAIN` to train on and
  :data:`N_VAL` for validation (disjoint; the other 47,000 are unused, so that a full-fidelity trial costs about
  what an ``mnist1d-cnn`` trial costs: docs/tasks.md has the timings);
* from the 10,000 ``t10k`` images, stratified with :data:`TEST_SEED`: :data:`N_TEST` for the test
  split, always with clean labels;
* ``label_noise=r``: every train AND validation label is replaced with probability ``r`` by a
  uniformly chosen different class (:data:`NOISE_SEED`, fixed; drawn over the whole 60,000 before the
  split, as for CIFAR-10); the realised rates go to ``info``;
* a smaller imported fixture (tests build these in the official on-disk format) is split in the same
  proportions with the same procedure.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ohgw_bench.tasks.data.store import DataError, default_data_dir

if TYPE_CHECKING:
    import torch

NUM_CLASSES = 10
CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
REAL_TRAIN_SIZE, REAL_TEST_SIZE = 60_000, 10_000
N_TRAIN, N_VAL, N_TEST = 3_000, 4_000, 4_000
SPLIT_SEED = 20_261_202  # fixed for every run: the splits are part of the task definition
TEST_SEED = 20_261_203
NOISE_SEED = 20_261_204  # fixed: the noisy task has one set of noisy labels
CACHE_FORMAT_VERSION = 1
#: the mean and standard deviation of the 60,000 training images' pixels on the [0, 1] scale
FASHION_MEAN, FASHION_STD = (0.2860,), (0.3530,)

MISSING_MESSAGE = (
    "Fashion-MNIST is not imported in {data_dir} (no {cache}). Get the four official IDX files "
    "(train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
    "t10k-labels-idx1-ubyte.gz) from the Debian package `dataset-fashion-mnist` "
    "(`apt-get install dataset-fashion-mnist` puts them in /usr/share/datasets/fashion-mnist/) or from "
    "the official release at https://github.com/zalandoresearch/fashion-mnist, then import the folder "
    "holding them with `ohgw-bench data import PATH`. To keep the data elsewhere, set $OHGW_BENCH_DATA "
    "for `run` and `sweep`, or pass --data-dir to the `data` commands."
)


def cache_path(data_dir: Path | str | None = None) -> Path:
    root = Path(data_dir if data_dir is not None else default_data_dir()).expanduser()
    return root / "fashion-mnist" / "fashion-mnist.npz"


def require_fashion_mnist(data_dir: Path | str | None = None) -> Path:
    """The cache path, or DataError saying where to get Fashion-MNIST and how to import it (cheap)."""
    path = cache_path(data_dir)
    if not path.is_file():
        raise DataError(MISSING_MESSAGE.format(data_dir=path.parent.parent, cache=path))
    return path


def _read_cache(data_dir: Path | str | None, arrays: bool) -> tuple[Path, dict, dict[str, np.ndarray]]:
    path = require_fashion_mnist(data_dir)
    try:
        with np.load(path, allow_pickle=False) as npz:
            meta = json.loads(str(npz["meta"]))
            got = {k: npz[k] for k in ("train_x", "train_y", "test_x", "test_y")} if arrays else {}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as e:
        raise DataError(
            f"{path}: unreadable Fashion-MNIST cache ({type(e).__name__}: {e}); re-run `ohgw-bench data import PATH`"
        ) from e
    return path, meta, got


def fashion_mnist_status(data_dir: Path | str | None = None) -> dict[str, Any]:
    """What is imported: path, present, sizes, and what the files' SHA-256 sums were checked against."""
    path = cache_path(data_dir)
    status: dict[str, Any] = {"dataset": "fashion-mnist", "path": str(path), "present": path.is_file()}
    if not status["present"]:
        return status
    _, meta, _ = _read_cache(data_dir, arrays=False)
    status.update(
        n_train=meta["n_train"],
        n_test=meta["n_test"],
        sha256_checked=meta["sha256_checked"],
        source=meta["source"],
        imported_at=meta["imported_at"],
        full_size=meta["n_train"] == REAL_TRAIN_SIZE and meta["n_test"] == REAL_TEST_SIZE,
    )
    return status


def split_indices(train_labels: np.ndarray, test_labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train and validation indices into the training images, test indices into the t10k images."""
    from ohgw_bench.core.splits import stratified_split

    train, val, _ = stratified_split(train_labels, (N_TRAIN, N_VAL, REAL_TRAIN_SIZE - N_TRAIN - N_VAL), SPLIT_SEED)
    test = stratified_split(test_labels, (N_TEST, REAL_TEST_SIZE - N_TEST), TEST_SEED)[0]
    return train, val, test


def load_fashion_mnist(label_noise: float = 0.0, data_dir: str | Path | None = None):
    """Fixed Fashion-MNIST splits as :class:`~ohgw_bench.core.splits.DataSplits` (uint8 ``[N, 1, 28, 28]``)."""
    import torch

    from ohgw_bench.core.splits import DataSplits
    from ohgw_bench.tasks.data.noise import noisy_split_labels

    path, meta, a = _read_cache(data_dir, arrays=True)
    pool_y, test_y = a["train_y"].astype(np.int64), a["test_y"].astype(np.int64)
    train_idx, val_idx, test_idx = split_indices(pool_y, test_y)  # stratified on the CLEAN labels
    info: dict[str, Any] = {
        "dataset": "fashion-mnist",
        "cache": str(path),
        "source": meta["source"],
        "sha256_checked": meta["sha256_checked"],
        "files_sha256": meta["files_sha256"],
        "fixture": meta["n_train"] != REAL_TRAIN_SIZE or meta["n_test"] != REAL_TEST_SIZE,
        "split_seed": SPLIT_SEED,
        "test_seed": TEST_SEED,
        "n_train": int(len(train_idx)),
        "n_val": int(len(val_idx)),
        "n_test": int(len(test_idx)),
        "class_names": list(CLASS_NAMES),
        "label_noise": float(label_noise),
        "label_noise_realised": 0.0,
    }
    labels, noise_info = noisy_split_labels(pool_y, label_noise, NUM_CLASSES, NOISE_SEED, train_idx, val_idx)
    info.update(noise_info)
    t = lambda x: torch.from_numpy(np.ascontiguousarray(x))  # noqa: E731
    return DataSplits(
        train_x=t(a["train_x"][train_idx]),
        train_y=t(labels[train_idx]),
        val_x=t(a["train_x"][val_idx]),
        val_y=t(labels[val_idx]),
        test_x=t(a["test_x"][test_idx]),
        test_y=t(test_y[test_idx]),
        num_classes=NUM_CLASSES,
        info=info,
    )


def fashion_augment(x: torch.Tensor, magnitude: float, generator: torch.Generator) -> torch.Tensor:
    """Batched on the device, at magnitude m in [0, 1]: a horizontal flip with probability m/2, then a random
    affine (rotation ±15°·m, scale 1 ± 0.15·m, shift ±3 px·m; bilinear, zero fill). Float ``[B, 1, 28, 28]``
    on [0, 1]; draws come from ``generator`` only, always the same ones; m = 0 is the identity.

    CIFAR-10's recipe (:func:`~ohgw_bench.tasks.data.augment.cifar_augment`: crop, flip, RandAugment,
    Cutout) was tried first and dropped: its crop, flip, AutoContrast and Equalize act whatever m is, and
    on this small model they cost 4 pp of validation accuracy at m = 0 (docs/tasks.md)."""
    import math

    import torch
    import torch.nn.functional as F

    x = x.float() / 255.0
    n = x.shape[0]
    u = torch.rand(n, 5, generator=generator, device=x.device)
    if magnitude == 0 or n == 0:
        return x
    v = u[:, 1:] * 2.0 - 1.0
    flip = torch.where(u[:, 0] < 0.5 * magnitude, -1.0, 1.0)
    angle = v[:, 0] * (math.pi / 12.0) * magnitude
    scale = 1.0 + v[:, 1] * 0.15 * magnitude
    shift = v[:, 2:] * (3.0 / (x.shape[-1] / 2.0)) * magnitude  # pixels → [-1, 1] grid units
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    # output → input map; the flip negates the input's x coordinate
    row0 = torch.stack([cos * flip, -sin * flip, shift[:, 0]], 1)
    theta = torch.stack([row0, torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, padding_mode="zeros", align_corners=False)
