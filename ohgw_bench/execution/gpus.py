"""Which GPUs a run's trials rotate over, and which GPUs each local Dask worker gets.

On its own, syne-tune's LocalBackend rotates trials over *every* GPU that ``nvidia-smi``
lists and sets ``CUDA_VISIBLE_DEVICES`` for each trial itself, ignoring the one a user or a
cluster set for the run. Each run of a sweep would also start its rotation at GPU 0, so
every run's first trial would land on the same card. Here:

* a run rotates over the GPUs visible to it (``gpus_to_use``), or over none when it sees a
  single GPU or GPUs named by UUID/MIG id (its trials then inherit the visible set);
* the sweep's LocalCluster workers split the GPUs between them (:func:`gpus_for_worker`,
  applied by :class:`ohgw_bench.execution.sweep.run.PinWorkersToGpus`) before they run anything;
* a run given no ``--workers`` runs its task's ``trials_per_gpu`` trials on each visible GPU
  (:func:`place_trials`): one small-model trial leaves most of a GPU idle (docs/performance.md).

syne-tune counts GPUs by running ``nvidia-smi`` with its output sent to a ``std.out`` file
in the current folder; :func:`make_local_backend` passes the count in, so nothing is written.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
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


def choose_workers(
    n_gpus: int | None,
    task_trials_per_gpu: int,
    max_workers: int,
    workers: int | None = None,
    trials_per_gpu: int | None = None,
) -> tuple[int, str]:
    """(concurrent trials, what chose them). The user's ``workers`` if given ("workers"); else
    ``trials_per_gpu`` (the user's: "trials_per_gpu", or the task's: "task") on each of ``n_gpus``
    GPUs, at most ``max_workers``; one trial without a GPU ("no GPU"). ``n_gpus`` may be None
    (not counted) only when ``workers`` is given."""
    if workers is not None and trials_per_gpu is not None:
        raise ValueError("give --workers or --trials-per-gpu, not both")
    for name, value in (("--workers", workers), ("--trials-per-gpu", trials_per_gpu)):
        if value is not None and value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value}")
    if workers is not None:
        return workers, "workers"
    if n_gpus is None:
        raise ValueError("choosing the workers by GPU needs the number of GPUs")
    if n_gpus == 0:
        return 1, "no GPU"
    per_gpu = trials_per_gpu if trials_per_gpu is not None else task_trials_per_gpu
    chosen_by = "trials_per_gpu" if trials_per_gpu is not None else "task"
    return max(1, min(n_gpus * per_gpu, max_workers)), chosen_by


def placement(workers: int, n_gpus: int | None, chosen_by: str) -> dict[str, int | str | None]:
    """meta.json's record of where a run's trials sat. Workers go to the GPUs in turn
    (:class:`~ohgw_bench.execution.backends.workers.pool.WorkerPool`), so the fullest GPU holds ⌈workers / gpus⌉."""
    per_gpu = None if n_gpus is None else (-(-workers // n_gpus) if n_gpus else 0)
    return {"workers": workers, "gpus": n_gpus, "trials_per_gpu": per_gpu, "chosen_by": chosen_by}


def visible_gpu_count() -> int:
    """GPUs this process may use (``CUDA_VISIBLE_DEVICES`` applied); 0 without CUDA."""
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def visible_gpus() -> list[int] | None:
    """:func:`gpus_to_rotate` for this process."""
    import torch

    return gpus_to_rotate(os.environ, torch.cuda.device_count() if torch.cuda.is_available() else 0)


def make_local_backend(entry_point: Path, gpus: list[int] | None, on_start: Callable[[int], None] | None = None):
    """syne-tune's LocalBackend rotating over ``gpus`` (None: no rotation). ``on_start`` is told the pid of
    each trial process as it starts (the run records them: see
    :func:`~ohgw_bench.execution.lifeline.record_process`)."""
    from syne_tune.backend import LocalBackend

    class _Recording(LocalBackend):
        def _schedule(self, trial_id: int, config: dict) -> None:
            super()._schedule(trial_id, config)
            if on_start is not None:
                on_start(self.trial_subprocess[trial_id].pid)

    backend = _Recording(
        entry_point=str(entry_point), pass_args_as_json=True, rotate_gpus=gpus is not None, gpus_to_use=gpus
    )
    if gpus is not None:
        # syne-tune indexes the machine's GPUs; given a count, it skips its nvidia-smi probe.
        backend._prepare_for_schedule(num_gpus=max(gpus) + 1)
    return backend
