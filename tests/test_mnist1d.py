"""mnist1d-cnn's data: generated offline by the mnist1d package, deterministic, cached, sized to resolve
0.025 pp, and generated without touching the caller's NumPy random state."""

from __future__ import annotations

import numpy as np
import torch

from ohgw_bench.tasks.data.mnist1d import N_TEST, N_TRAIN, N_VAL, load_mnist1d_splits, mnist1d_augment


def test_splits_sizes_balance_and_provenance(tmp_path):
    state = np.random.get_state()
    data = load_mnist1d_splits(tmp_path)  # generated here, into an empty data folder
    assert np.random.get_state()[1].tolist() == state[1].tolist()  # the global RNG is left as it was
    assert (len(data.train_y), len(data.val_y), len(data.test_y)) == (N_TRAIN, N_VAL, N_TEST) == (16000, 4000, 4000)
    assert data.train_x.shape == (N_TRAIN, 1, 40) and data.train_x.dtype == torch.float32
    for y in (data.val_y, data.test_y):
        assert torch.bincount(y, minlength=10).tolist() == [len(y) // 10] * 10  # stratified
    info = data.info
    assert info["generator_args"]["num_samples"] == 24000 and info["generator_args"]["seed"] == 42
    assert len(info["sha256"]) == 64 and info["n_val"] == 4000

    again = load_mnist1d_splits(tmp_path)  # from the cache
    assert again.info["sha256"] == info["sha256"] and torch.equal(again.val_x, data.val_x)
    fresh = load_mnist1d_splits(tmp_path / "elsewhere")  # generated again: the same bytes
    assert fresh.info["sha256"] == info["sha256"]


def test_augmentation_is_identity_at_zero_and_grows_with_magnitude():
    x = torch.randn(64, 1, 40, generator=torch.Generator().manual_seed(0))
    gen = lambda: torch.Generator().manual_seed(1)  # noqa: E731
    assert torch.equal(mnist1d_augment(x, 0.0, gen()), x)
    small = (mnist1d_augment(x, 0.1, gen()) - x).abs().mean()
    large = (mnist1d_augment(x, 1.0, gen()) - x).abs().mean()
    assert 0 < small < large
    assert torch.equal(mnist1d_augment(x, 0.5, gen()), mnist1d_augment(x, 0.5, gen()))
