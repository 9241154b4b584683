"""scikit-learn's bundled handwritten digits (1,797 real 8×8 images): the CPU default task.

The split is fixed (60/20/20, stratified, split seed below) so every run and every arm
sees the same train/validation/test images.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ohgw_bench.core.splits import DataSplits, stratified_split

SPLIT_SEED = 20240611
# Pixel statistics of the training split on the [0, 1] scale (measured once; the
# normalisation only needs to be roughly right and fixed).
DIGITS_MEAN = (0.3051,)
DIGITS_STD = (0.3752,)


def digits_file() -> Path:
    """scikit-learn's own copy of the data, found without importing scikit-learn: the import costs
    a warm worker more than a second at start-up, and ``load_digits`` only parses this file."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("the digits task reads scikit-learn's bundled digits; install scikit-learn")
    return Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz"


def load_digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """Images (n, 8, 8) with pixels 0..16 and integer labels, as ``sklearn.datasets.load_digits``
    returns them (a test checks that they are equal)."""
    table = np.loadtxt(digits_file(), delimiter=",")
    return table[:, :-1].reshape(-1, 8, 8), table[:, -1].astype("int64")


def load_digits_splits() -> DataSplits:
    pixels, target = load_digits_arrays()
    # Raw pixels are 0..16; store as uint8 on the usual 0..255 scale.
    images = torch.from_numpy((pixels * 16.0).clip(0, 255).astype("uint8")).unsqueeze(1)
    labels = torch.from_numpy(target)
    train, val, test = stratified_split(target, (0.6, 0.2, 0.2), seed=SPLIT_SEED)
    take = lambda idx: (images[torch.from_numpy(idx)], labels[torch.from_numpy(idx)])  # noqa: E731
    (trx, try_), (vax, vay), (tex, tey) = take(train), take(val), take(test)
    return DataSplits(
        trx,
        try_,
        vax,
        vay,
        tex,
        tey,
        num_classes=10,
        info={"source": "sklearn.datasets.load_digits", "n_train": len(try_), "n_val": len(vay), "n_test": len(tey)},
    )


def digits_augment(x: torch.Tensor, magnitude: float, generator: torch.Generator) -> torch.Tensor:
    """Batched random affine on the device: rotation ±20°·m, scale 1±0.2·m, shift ±1.5 px·m.

    Per-sample parameters are drawn as tensors from ``generator``, so one call is a
    handful of kernels whatever the batch size, and the draw is reproducible.
    """
    x = x.float() / 255.0
    n = x.shape[0]
    u = torch.rand(n, 4, generator=generator, device=x.device) * 2.0 - 1.0
    angle = u[:, 0] * (math.pi / 9.0) * magnitude
    scale = 1.0 + u[:, 1] * 0.2 * magnitude
    shift = u[:, 2:] * (1.5 / (x.shape[-1] / 2.0)) * magnitude  # pixels → [-1, 1] grid units
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, padding_mode="zeros", align_corners=False)
