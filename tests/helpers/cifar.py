"""Small CIFAR-10 files in the official on-disk format (``cifar-10-python.tar.gz`` and its extracted
``cifar-10-batches-py/``): the same names, pickle keys and dtypes, 200 images per training batch and
100 test images, each image's label written into its first red pixel (label·10) so that tests can
check that images stay paired with their labels. The session fixtures in ``tests/conftest.py``
build them once; a test that damages the files builds its own copy."""

from __future__ import annotations

import pickle
import tarfile
from pathlib import Path

import numpy as np

PER_BATCH = 200
N_TEST = 100
CLASS_NAMES = [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog", b"horse", b"ship", b"truck"]


def _batch(n: int, seed: int, name: str) -> bytes:
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % 10)  # balanced: 20 of each class per batch
    data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    # Encode the label in the red plane's first pixel so tests can check image/label pairing.
    data[:, 0] = labels * 10
    obj = {
        b"batch_label": name.encode(),
        b"labels": labels.tolist(),
        b"data": data,
        b"filenames": [f"img_{seed}_{i}.png".encode() for i in range(n)],
    }
    return pickle.dumps(obj, protocol=2)


def make_cifar_folder(root: Path) -> Path:
    """``root/cifar-10-batches-py/`` with the official file names, keys and dtypes."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for i in range(1, 6):
        (folder / f"data_batch_{i}").write_bytes(_batch(PER_BATCH, i, f"training batch {i} of 5"))
    (folder / "test_batch").write_bytes(_batch(N_TEST, 99, "testing batch 1 of 1"))
    meta = {b"num_cases_per_batch": PER_BATCH, b"label_names": CLASS_NAMES, b"num_vis": 3072}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    (folder / "readme.html").write_text("<html>fixture</html>")
    return folder


def make_cifar_tarball(root: Path) -> Path:
    """``root/cifar-10-python.tar.gz``, packed from ``root/src/cifar-10-batches-py/``."""
    folder = make_cifar_folder(root / "src")
    tarball = root / "cifar-10-python.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(folder, arcname="cifar-10-batches-py")
    return tarball
