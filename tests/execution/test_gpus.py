"""GPU assignment without GPUs: the rules, syne-tune's real LocalBackend rotating over the GPUs a
run may use, and a real LocalCluster whose workers get their shares of the GPUs."""

from __future__ import annotations

import os

import pytest

from ohgw_bench.execution.gpus import VISIBLE, gpus_for_worker, gpus_to_rotate, make_local_backend
from ohgw_bench.execution.sweep.run import PinWorkersToGpus
from tests.helpers import ROOT

ENTRY = ROOT / "ohgw_bench" / "execution" / "backends" / "subprocess_trial.py"


@pytest.mark.parametrize(
    "env, n_visible, expected",
    [
        ({}, 0, None),  # no GPU
        ({}, 1, None),  # one GPU: nothing to rotate over
        ({}, 4, [0, 1, 2, 3]),  # all of the machine's GPUs
        ({VISIBLE: "3,5"}, 2, [3, 5]),  # only those the run may use, by physical index
        ({VISIBLE: " 6 "}, 1, None),
        ({VISIBLE: "GPU-8f2c1e,GPU-77aa01"}, 2, None),  # UUIDs can't be indexed: trials inherit them
        ({VISIBLE: "MIG-1a2b"}, 1, None),
    ],
)
def test_gpus_to_rotate(env, n_visible, expected):
    assert gpus_to_rotate(env, n_visible) == expected


def test_workers_split_the_gpus_and_share_them_when_there_are_more_workers():
    gpus = [0, 1, 2, 3, 4, 5, 6, 7]
    assert [gpus_for_worker(i, 2, gpus) for i in range(2)] == [[0, 2, 4, 6], [1, 3, 5, 7]]
    assert [gpus_for_worker(i, 8, gpus) for i in range(8)] == [[g] for g in gpus]
    assert [gpus_for_worker(i, 3, [4, 6]) for i in range(3)] == [[4], [6], [4]]


def test_local_backend_rotates_over_the_visible_gpus_and_writes_nothing_in_the_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    backend = make_local_backend(ENTRY, [3, 5])
    assigned = []
    for trial_id in range(3):
        env: dict[str, str] = {}
        backend._allocate_gpu(trial_id, env)  # what LocalBackend does when it starts a trial
        assigned.append(env[VISIBLE])
        if trial_id == 0:
            backend._deallocate_gpu(0)  # trial 0 ends: its GPU is free again
    # A free GPU first, the least used among them: physical indices, never 0 or 1.
    assert assigned == ["3", "5", "3"]
    assert list(tmp_path.iterdir()) == []  # no std.out from an nvidia-smi probe


def test_without_gpus_to_rotate_trials_inherit_the_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    backend = make_local_backend(ENTRY, None)
    env = {VISIBLE: "GPU-8f2c1e"}
    backend._prepare_for_schedule()
    backend._allocate_gpu(0, env)
    assert env == {VISIBLE: "GPU-8f2c1e"} and not backend.rotate_gpus
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_local_cluster_workers_get_their_share_of_the_gpus():
    from distributed import Client, LocalCluster

    with (
        LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        client.register_plugin(PinWorkersToGpus([4, 6, 7], 2))
        seen = client.run(lambda dask_worker: (dask_worker.name, os.environ.get(VISIBLE)))
    assert sorted(seen.values()) == [(0, "4,7"), (1, "6")]
