"""Symmetric label noise: each label is replaced, with probability ``rate``, by a uniformly
chosen *different* class. Deterministic in ``seed``; never maps a label to itself."""

from __future__ import annotations

import numpy as np


def symmetric_label_noise(labels, rate: float, num_classes: int, seed: int):
    """Return ``(noisy_labels, realised_rate)``.

    ``labels`` may be a numpy array or a torch tensor; the result has the same type,
    dtype and device. ``realised_rate`` is the fraction of labels that actually changed
    (≈ ``rate``; exactly the flipped fraction, since a flip always changes the class).
    """
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"label-noise rate must be in [0, 1], got {rate}")
    if rate > 0 and num_classes < 2:
        raise ValueError(f"label noise needs at least 2 classes, got num_classes={num_classes}")
    is_torch = type(labels).__module__.startswith("torch")
    clean = labels.detach().cpu().numpy() if is_torch else np.asarray(labels)
    clean_i64 = clean.astype(np.int64)
    if clean_i64.size and (clean_i64.min() < 0 or clean_i64.max() >= num_classes):
        raise ValueError(f"labels must lie in [0, {num_classes}), got range [{clean_i64.min()}, {clean_i64.max()}]")
    rng = np.random.default_rng(seed)
    flip = rng.random(clean_i64.shape) < rate
    # An offset in 1..K-1 (mod K) picks each of the K-1 other classes with equal probability.
    offset = rng.integers(1, max(num_classes, 2), size=clean_i64.shape)
    noisy = np.where(flip, (clean_i64 + offset) % num_classes, clean_i64).astype(clean.dtype)
    realised = float(np.mean(noisy != clean)) if clean.size else 0.0
    if is_torch:
        import torch

        return torch.from_numpy(noisy).to(labels.device), realised
    return noisy, realised


def noisy_split_labels(
    pool_y: np.ndarray, rate: float, num_classes: int, seed: int, train_idx: np.ndarray, val_idx: np.ndarray
) -> tuple[np.ndarray, dict[str, float | int]]:
    """The pool's labels with symmetric noise drawn over the whole pool before the split, and what a
    task records of it in ``data_info`` (the seed, the realised rate overall and on each split); at rate 0
    the clean labels and nothing to record."""
    if rate <= 0:
        return pool_y, {}
    labels, realised = symmetric_label_noise(pool_y, rate, num_classes, seed)
    return labels, {
        "noise_seed": seed,
        "label_noise_realised": realised,
        "label_noise_realised_train": float(np.mean(labels[train_idx] != pool_y[train_idx])),
        "label_noise_realised_val": float(np.mean(labels[val_idx] != pool_y[val_idx])),
    }
