"""Which GPUs a run's trials rotate over, and which GPUs each local Dask worker gets.

On its own, syne-tune's LocalBackend rotates trials over *every* GPU that ``nvidia-smi``
lists and sets ``CUDA_VISIBLE_DEVICES`` for each trial itself, ignoring the one a user or a
cluster set for the run. Each run of a sweep would also start its rotation at GPU 0, so
every run's first trial would land on the same card. Here:

* a run rotates over the GPUs visible to it (``gpus_to_use``), or over none when it sees a
  single GPU or GPUs named by UUID/MIG id (its trials then inherit the visible set);
* the sweep's LocalCluster workers split the GPUs between them (:func:`gpus_for_worker`,
  applied by :class:`ohgw_bench.sweep.PinWorkersToGpus`) before they run anything.

syne-tune counts GPUs by running ``nvidia-smi`` with its output sent to a ``std.out`` file
in the current folder; :func:`make_local_backend` passes the count in, so nothing is written.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

VISIBLE = "CUDA_VISIBLE_DEVICES"


def gpus_to_rotate(env: Mapping[str, str], n_visible: int) -> list[int] | None:
    """Physical indices of the GPUs to rotate trials over; None: no rotation."""
    if n_visible == 0:
        return None
    if VISIBLE in env:
        names = [part.strip() for part in env[VISIBLE].split(",") if part.strip()]
        if not all(name.isdigit() for name in names):
            return None  # UUID/MIG names can't be indexed: trials inherit them as they are
        gpus = [int(name) for name in names]
    else:
        gpus = list(range(n_visible))
    return gpus if len(gpus) > 1 else None


def gpus_for_worker(index: int, n_workers: int, gpus: list[int]) -> list[int]:
    """Local Dask worker ``index``'s share: every ``n_workers``-th GPU, or one shared GPU when
    there are more workers than GPUs."""
    return gpus[index::n_workers] if n_workers <= len(gpus) else [gpus[index % len(gpus)]]


def visible_gpus() -> list[int] | None:
    """:func:`gpus_to_rotate` for this process."""
    import torch

    return gpus_to_rotate(os.environ, torch.cuda.device_count() if torch.cuda.is_available() else 0)


def make_local_backend(entry_point: Path, gpus: list[int] | None):
    """syne-tune's LocalBackend rotating over ``gpus`` (None: no rotation)."""
    from syne_tune.backend import LocalBackend

    backend = LocalBackend(
        entry_point=str(entry_point), pass_args_as_json=True, rotate_gpus=gpus is not None, gpus_to_use=gpus
    )
    if gpus is not None:
        # syne-tune indexes the machine's GPUs; given a count, it skips its nvidia-smi probe.
        backend._prepare_for_schedule(num_gpus=max(gpus) + 1)
    return backend
