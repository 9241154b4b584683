"""The local Dask cluster: no allocator trim (it made in-worker training 2.5x slower), TLS that refuses
anyone without its credentials, and a private scratch folder."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ohgw_bench.execution.dask_cluster import SCRATCH_PREFIX, SLOW_ALLOCATOR_SETTING, local_cluster


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


def _scratch() -> str:
    from distributed import get_worker

    return str(get_worker().local_directory)


def test_only_the_clusters_owner_can_connect() -> None:
    """Another local user knows the scheduler's address but not its credentials: refused."""
    import pytest
    from distributed import Client
    from distributed.security import Security

    with local_cluster(1) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tls://")
        port_only = "tcp://" + address.removeprefix("tls://")
        with pytest.raises((OSError, TimeoutError)):  # plain TCP on the same port
            Client(port_only, timeout="3s")
        with pytest.raises((OSError, TimeoutError)):  # TLS with credentials of one's own
            Client(address, security=Security.temporary(), timeout="3s")
        with Client(cluster) as client:  # the owner's cluster object carries the credentials
            assert client.submit(sum, [1, 2], pure=False).result() == 3
            scratch = client.submit(_scratch, pure=False).result()
    private = next(parent for parent in Path(scratch).parents if parent.name.startswith(SCRATCH_PREFIX))
    assert private.parent == Path(tempfile.gettempdir())  # a fresh folder, not /tmp/dask-scratch-space
    assert oct(private.stat().st_mode)[-3:] == "700"
