"""MNIST-1D (Greydanus 2020), generated offline and deterministically by the ``mnist1d`` package.

The generator's own arguments are kept (templates, padding, shear, translation, correlated
and i.i.d. noise, 40 samples per sequence) except the number of examples: 24,000, split
stratified into 16,000 train / 4,000 validation / 4,000 test, so one validation or test
example is 0.025 pp. Generation takes about 7 s; the result is cached once per generator
configuration in the data folder (``$OHGW_BENCH_DATA``, default ``~/.cache/ohgw-bench``) as
``mnist1d/mnist1d-<hash>.npz``, written atomically, and its SHA-256 goes to ``data_info``.

The generator draws from NumPy's global RNG (it calls ``np.random.seed``); we restore the
caller's global state afterwards so that generating data changes nothing else.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ohgw_bench.core.atomic import atomic_write
from ohgw_bench.tasks.data.store import default_data_dir

if TYPE_CHECKING:
    import torch

N_TRAIN, N_VAL, N_TEST = 16_000, 4_000, 4_000
GENERATOR_SEED = 42  # the package's default seed
SPLIT_SEED = 20261126
#: overrides of ``mnist1d.data.get_dataset_args()``; everything else stays the package's default
GENERATOR_OVERRIDES: dict[str, Any] = {
    "num_samples": N_TRAIN + N_VAL + N_TEST,
    "train_split": 1.0,
    "seed": GENERATOR_SEED,
}


def generator_args() -> dict[str, Any]:
    from mnist1d.data import get_dataset_args

    args = get_dataset_args(as_dict=True)
    args.update(GENERATOR_OVERRIDES)
    args.pop("url", None)  # never downloaded
    return args


def _generate(args: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    from mnist1d.data import make_dataset
    from mnist1d.utils import ObjectView

    state = np.random.get_state()
    try:
        dataset = make_dataset(ObjectView(dict(args, url="")))
    finally:
        np.random.set_state(state)
    return dataset["x"].astype(np.float32), dataset["y"].astype(np.int64)


def cache_file(args: dict[str, Any], data_dir: Path | str | None = None) -> Path:
    key = hashlib.sha256(json.dumps(args, sort_keys=True).encode()).hexdigest()[:16]
    root = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    return root / "mnist1d" / f"mnist1d-{key}.npz"


def load_mnist1d_arrays(data_dir: Path | str | None = None) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """All 24,000 sequences ``[N, 40]`` (float32) and labels, generating and caching them on first use."""
    args = generator_args()
    path = cache_file(args, data_dir)
    if not path.exists():
        x, y = _generate(args)

        def write(f) -> None:
            buffer = io.BytesIO()
            np.savez(buffer, x=x, y=y)
            f.write(buffer.getvalue())

        atomic_write(path, write)
    with np.load(path) as arrays:
        x, y = arrays["x"], arrays["y"]
    digest = hashlib.sha256(x.tobytes() + y.tobytes()).hexdigest()
    return x, y, {"generator_args": args, "sha256": digest, "cache": str(path)}


def load_mnist1d_splits(data_dir: Path | str | None = None):
    """Fixed stratified splits as :class:`~ohgw_bench.core.splits.DataSplits`: float ``[N, 1, 40]`` inputs."""
    import torch

    from ohgw_bench.core.splits import DataSplits, stratified_split

    x, y, info = load_mnist1d_arrays(data_dir)
    train, val, test = stratified_split(y, (N_TRAIN, N_VAL, N_TEST), seed=SPLIT_SEED)
    take = lambda idx: (torch.from_numpy(x[idx]).unsqueeze(1), torch.from_numpy(y[idx]))  # noqa: E731
    (trx, try_), (vax, vay), (tex, tey) = take(train), take(val), take(test)
    info = {
        "source": "mnist1d package (generated offline)",
        **info,
        "split_seed": SPLIT_SEED,
        "n_train": len(try_),
        "n_val": len(vay),
        "n_test": len(tey),
    }
    return DataSplits(trx, try_, vax, vay, tex, tey, num_classes=10, info=info)


def mnist1d_augment(x: torch.Tensor, magnitude: float, generator: torch.Generator) -> torch.Tensor:
    """Batched 1-D transforms after MNIST-1D's own: per-sample shift (±4 samples·m), stretch
    (1 ± 0.2·m) about the centre, and additive Gaussian noise (σ = 0.1·m), resampled by linear
    interpolation with zeros outside. Draws come from ``generator`` only; m = 0 is the identity."""
    import torch

    n, _, length = x.shape
    device = x.device
    u = torch.rand((n, 2), generator=generator, device=device) * 2 - 1
    noise = torch.randn(x.shape, generator=generator, device=device)
    if magnitude == 0:
        return x
    shift = 4.0 * magnitude * u[:, :1]
    scale = 1.0 + 0.2 * magnitude * u[:, 1:]
    centre = (length - 1) / 2
    pos = (torch.arange(length, device=device, dtype=x.dtype) - centre) / scale + centre - shift  # [n, L]
    left = pos.floor()
    frac = (pos - left).unsqueeze(1)
    idx0, idx1 = left.long(), left.long() + 1

    def gather(idx: torch.Tensor) -> torch.Tensor:
        inside = ((idx >= 0) & (idx < length)).unsqueeze(1)
        return torch.gather(x, 2, idx.clamp(0, length - 1).unsqueeze(1)) * inside

    return (1 - frac) * gather(idx0) + frac * gather(idx1) + 0.1 * magnitude * noise
