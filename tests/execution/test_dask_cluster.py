"""The local Dask cluster must not export Dask's allocator trim, which made in-worker training 2.5x slower."""

from __future__ import annotations

import os

from ohgw_bench.execution.dask_cluster import SLOW_ALLOCATOR_SETTING, local_cluster


def _worker_environ() -> dict[str, str]:
    return {k: os.environ.get(k, "") for k in (SLOW_ALLOCATOR_SETTING, "OMP_NUM_THREADS")}


def test_local_cluster_workers_do_not_trim_the_heap(monkeypatch) -> None:
    from distributed import Client

    monkeypatch.delenv(SLOW_ALLOCATOR_SETTING, raising=False)
    with local_cluster(1) as cluster, Client(cluster) as client:
        seen = client.submit(_worker_environ, pure=False).result()
    assert seen[SLOW_ALLOCATOR_SETTING] == ""
    assert seen["OMP_NUM_THREADS"] == "1"  # Dask's other settings are kept
    assert SLOW_ALLOCATOR_SETTING not in os.environ  # nor leaked into this process
