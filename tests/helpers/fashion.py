"""Small Fashion-MNIST files in the official on-disk format: the four gzip-compressed IDX files with the
official names, magic numbers and dimensions, 600 training and 200 t10k images (60 and 20 of each class),
each image's label written into its first pixel (label·20) so that tests can check that images stay
paired with their labels. Generated deterministically; a few tens of KB (the images are smooth noise)."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np

from ohgw_bench.tasks.data.fashion_mnist_import import FILES, TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS
from ohgw_bench.tasks.data.idx import write_idx

N_TRAIN, N_TEST = 600, 200


def _images_and_labels(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % 10).astype(np.uint8)
    coarse = rng.integers(0, 256, (n, 7, 7), dtype=np.uint8)
    images = np.repeat(np.repeat(coarse, 4, axis=1), 4, axis=2)  # 28×28, compressible
    images[:, 0, 0] = labels * 20
    return images, labels


def fixture_arrays() -> dict[str, np.ndarray]:
    """The four files' arrays, by official file name."""
    train_x, train_y = _images_and_labels(N_TRAIN, 1)
    test_x, test_y = _images_and_labels(N_TEST, 2)
    return {TRAIN_IMAGES: train_x, TRAIN_LABELS: train_y, TEST_IMAGES: test_x, TEST_LABELS: test_y}


def make_fashion_folder(root: Path) -> Path:
    """``root/fashion-mnist/`` holding the four ``*-idx?-ubyte.gz`` files."""
    folder = root / "fashion-mnist"
    folder.mkdir(parents=True)
    for name, array in fixture_arrays().items():
        (folder / name).write_bytes(gzip.compress(write_idx(array), mtime=0))
    return folder


def fixture_sha256(folder: Path) -> dict[str, str]:
    """The SHA-256 table of a fixture folder's decompressed files: what a test passes to the import in
    place of the official sums (the check itself still runs)."""
    return {name: hashlib.sha256(gzip.decompress((folder / name).read_bytes())).hexdigest() for name in FILES}
