"""One way to start a local Dask cluster for sweeps and table builds: private to its owner.

* **Only its owner can talk to it.** A plain ``LocalCluster`` listens on 127.0.0.1 without
  authentication, so any local user could connect and run code on its workers as the sweep's
  user. This one uses TLS with credentials made for it alone (``Security.temporary()``: a
  self-signed key and certificate held in memory, required on both sides of every connection);
  only a ``Client`` given the cluster object (which carries them) can connect.
* **A scratch folder nobody else controls.** Dask's default ``/tmp/dask-scratch-space`` is a
  predictable path that another user can pre-create with symlinks in it; the workers here use a
  fresh folder from :func:`tempfile.mkdtemp` (mode 0700), removed with the cluster.
* **No allocator trim.** Dask's nanny exports ``MALLOC_TRIM_THRESHOLD_=65536`` into its workers
  (and into this process's environment) by default, so that workers hand freed memory back to the
  OS. For a trial that trains in the worker itself (a table cell), glibc then returns and re-maps
  the training step's buffers on every batch: measured on this project's 2-core CPU, a 5-epoch
  mnist1d-cnn cell took 8.6 s with it (4.2 s of it in the kernel) against 3.0 s without. The
  cluster here keeps Dask's other thread settings and leaves glibc's own trim threshold alone.

A cluster of your own (``--scheduler-address``) is yours to secure: docs/sweeps.md.
"""

from __future__ import annotations

import shutil
import signal
import tempfile
import weakref
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

from ohgw_bench.core import limits

SLOW_ALLOCATOR_SETTING = "MALLOC_TRIM_THRESHOLD_"
SCRATCH_PREFIX = "ohgw-bench-dask-"


class IgnoreSigterm(WorkerPlugin):
    """A local worker ignores SIGTERM; its sweep or build decides. A batch scheduler's SIGTERM reaches
    every process of the job: the workers would die with their runs half-written while the sweep's own
    process, which handles SIGTERM like Ctrl-C, asks them to stop cleanly. Dask's nanny still ends a
    worker (a stop message, then SIGKILL), and its memory monitor follows an ignored SIGTERM with SIGKILL."""

    name = "ohgw-ignore-sigterm"

    def setup(self, worker: Any) -> None:  # in the worker's main thread, where its event loop runs
        signal.signal(signal.SIGTERM, signal.SIG_IGN)


def check_dask_workers(n_workers: int, error: type[ValueError] = ValueError) -> None:
    """``--n-dask-workers`` against what this machine holds (:func:`ohgw_bench.core.limits.max_dask_workers`):
    past it Dask's nanny splits the memory so thin that it ends every worker."""
    limits.check_count(
        "--n-dask-workers",
        n_workers,
        limits.max_dask_workers(),
        f"{limits.DASK_WORKERS_PER_CORE} per CPU core and {limits.DASK_WORKER_MEMORY_BYTES / 2**30:.0f} GiB of "
        "memory each, here: Dask gives each worker an equal share of the memory and ends one that passes it",
        error,
    )


def local_cluster(n_workers: int) -> Any:
    """A TLS-secured ``LocalCluster`` of ``n_workers`` processes, one thread each, no dashboard, no
    allocator trim, with a private scratch folder. Connect with ``Client(cluster)``."""
    import dask
    from distributed import LocalCluster
    from distributed.security import Security

    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {})
    environ.pop(SLOW_ALLOCATOR_SETTING, None)
    scratch = tempfile.mkdtemp(prefix=SCRATCH_PREFIX)  # 0700, a name nobody could predict
    settings = {"distributed.nanny.pre-spawn-environ": environ, "temporary-directory": scratch}
    try:
        with dask.config.set(settings):
            cluster = LocalCluster(
                n_workers=n_workers,
                processes=True,
                threads_per_worker=1,
                dashboard_address=None,
                protocol="tls://",
                security=Security.temporary(),
                local_directory=scratch,
            )
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    weakref.finalize(cluster, shutil.rmtree, scratch, True)
    return cluster
