"""The largest counts and budgets the suite accepts, each with why.

A number past one of these is a typo or a plan that would exhaust the machine (``--seeds
0-999999999999`` once ran out of memory, ``--threads 1000`` made a 4-epoch run take 170 s), so it is
refused with exit 2 and a message naming the limit, before anything is allocated or written. The
limits that depend on the machine (cores, memory) are functions; the others are constants.
"""

from __future__ import annotations

import os

#: A run seed seeds the schedulers' numpy ``RandomState``, which takes 0 ... 2**32 - 1.
MAX_SEED = 2**32 - 1

#: Seeds in one list (``--seeds``, a spec's ``seeds`` or ``seeds_by_scheduler``): paired statistics
#: settle long before this (the committed replay study uses 1,000).
MAX_SEEDS = 100_000

#: Runs in one sweep (tasks x optimizers x seeds): each is a Dask task, a folder and a lock; the
#: committed replay study is 6,150.
MAX_RUNS = 100_000

#: Configurations of a twin table: 2**16 scrambled Sobol points (the committed table has 128); the
#: sample is allocated whole before the first cell trains.
MAX_CONFIGS = 2**16

#: Cells (configurations x arms) of a twin table: every resume reads ``cells.jsonl`` whole.
MAX_CELLS = 2**20

#: Budgets: a month of tuner wall clock, a year of device time (8,760 dev-h: a month on 12 GPUs), a
#: million epochs summed over trials (a replay of that takes about ten minutes of CPU). Past these a
#: missing unit or an extra digit is likelier than a plan, and a replay would never end.
MAX_BUDGET_SECONDS = 30 * 24 * 3600.0
MAX_BUDGET_DEVICE_SECONDS = 365 * 24 * 3600.0
MAX_BUDGET_EPOCHS = 1_000_000.0

#: Concurrent trials of a real run per CPU core: each is a process holding the task's data.
WORKERS_PER_CORE = 4

#: Concurrent trials of a replay: simulated, but syne-tune's simulator asks the scheduler for a trial
#: for every free worker at once (``--workers 1000000000`` never got past that).
MAX_SIMULATED_WORKERS = 256

#: Dask workers of a local cluster per CPU core, and the memory each needs: Dask's nanny gives each
#: worker an equal share of the machine's memory and ends one that passes 95 % of it, and a worker
#: holds torch and the task's data (a digits-cnn table cell peaks at 0.8 GiB in its worker).
DASK_WORKERS_PER_CORE = 4
DASK_WORKER_MEMORY_BYTES = 2 * 2**30


def cpu_cores() -> int:
    """Logical CPUs of this machine (at least 1)."""
    return os.cpu_count() or 1


def max_threads() -> int:
    """Torch threads per trial or cell: more than the cores only contend for them."""
    return cpu_cores()


def max_workers() -> int:
    """Concurrent trials of one real run on this machine."""
    return WORKERS_PER_CORE * cpu_cores()


def total_memory_bytes() -> int | None:
    """Physical memory of this machine; None where the OS does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def max_dask_workers() -> int:
    """Local Dask workers this machine can hold: by cores, and by memory where it is known."""
    by_cores = DASK_WORKERS_PER_CORE * cpu_cores()
    memory = total_memory_bytes()
    return by_cores if memory is None else max(1, min(by_cores, memory // DASK_WORKER_MEMORY_BYTES))


def check_count(what: str, value: int, limit: int, why: str, error: type[ValueError] = ValueError) -> None:
    """Raise ``error`` naming ``what`` and the limit unless ``value`` is an integer in [1, ``limit``]."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise error(f"{what} must be a positive integer, got {value!r}")
    if value > limit:
        raise error(f"{what} {value} is more than {limit:,} ({why})")


def check_seed(what: str, value: int, error: type[ValueError] = ValueError) -> None:
    """Raise ``error`` naming ``what`` unless ``value`` is an integer in [0, :data:`MAX_SEED`]."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise error(f"{what} must be an integer, got {value!r}")
    if not 0 <= value <= MAX_SEED:
        raise error(f"{what} must be in [0, {MAX_SEED}] (seeds of numpy's RandomState), got {value}")
