"""CIFAR-10 import, cache, splits and label noise, on small files in the official format
(``tests/helpers/cifar.py``; the session's copy is the ``cifar_fixture`` of ``tests/conftest.py``)."""

from __future__ import annotations

import hashlib
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from ohgw_bench.tasks.data import cifar10, cifar10_import
from ohgw_bench.tasks.data.cifar10 import DataError, cifar10_status, load_cifar10, split_indices
from ohgw_bench.tasks.data.cifar10_import import import_cifar10
from ohgw_bench.tasks.data.noise import symmetric_label_noise
from tests.helpers.cifar import N_TEST, PER_BATCH, make_cifar_folder


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture
def official_md5s_are_the_fixture(monkeypatch, tmp_path, cifar_fixture):
    """Pretend the fixture's md5 sums are the official ones, to exercise the verified path. The folder is
    this test's copy (a test may damage it)."""
    tarball = cifar_fixture.tarball
    folder = shutil.copytree(cifar_fixture.folder, tmp_path / "src" / "cifar-10-batches-py")
    sums = {name: _md5(folder / name) for name in cifar10_import.ALL_FILES}
    monkeypatch.setattr(cifar10_import, "ALL_FILES", sums)
    monkeypatch.setattr(cifar10_import, "TARBALL_MD5", _md5(tarball))
    return tarball, folder


def _leftovers(data_dir: Path) -> list[Path]:
    return [p for p in data_dir.rglob("*") if p.is_file()]


def test_import_from_tarball_and_load(tmp_path, cifar_fixture):
    tarball = cifar_fixture.tarball
    data_dir = tmp_path / "store"
    path = import_cifar10(tarball, data_dir, verify_md5=False)
    assert path == data_dir / "cifar10" / "cifar10.npz" and path.is_file()
    status = cifar10_status(data_dir)
    assert status["present"] and status["n_train"] == 5 * PER_BATCH and status["n_test"] == N_TEST
    assert status["md5_verified"] is False and status["full_size"] is False

    d = load_cifar10(data_dir=str(data_dir))
    n = 5 * PER_BATCH
    assert (len(d.train_y), len(d.val_y), len(d.test_y)) == (0.9 * n, 0.1 * n, N_TEST)
    assert d.train_x.shape == (0.9 * n, 3, 32, 32) and d.train_x.dtype == torch.uint8
    assert d.train_y.dtype == torch.int64 and d.num_classes == 10
    assert d.info["class_names"][0] == "airplane" and d.info["fixture"] is True
    # Images stay paired with their labels (the fixture writes label·10 into pixel 0).
    for x, y in ((d.train_x, d.train_y), (d.val_x, d.val_y), (d.test_x, d.test_y)):
        assert torch.equal(x[:, 0, 0, 0].long(), y * 10)
    assert d.info["label_noise"] == 0.0 and d.info["label_noise_realised"] == 0.0


def test_import_from_extracted_folder_matches_tarball(tmp_path, cifar_fixture):
    tarball = cifar_fixture.tarball
    a = load_cifar10(data_dir=import_cifar10(tarball, tmp_path / "a", verify_md5=False).parent.parent)
    folder = cifar_fixture.folder
    for source in (folder, folder.parent):  # the folder itself or the folder holding it
        b = load_cifar10(data_dir=import_cifar10(source, tmp_path / "b", verify_md5=False).parent.parent)
        for name in ("train_x", "train_y", "val_x", "val_y", "test_x", "test_y"):
            assert torch.equal(getattr(a, name), getattr(b, name)), name


def test_verified_import_passes_when_md5s_match(official_md5s_are_the_fixture, tmp_path):
    tarball, folder = official_md5s_are_the_fixture
    import_cifar10(tarball, tmp_path / "t")
    assert cifar10_status(tmp_path / "t")["md5_verified"] is True
    import_cifar10(folder, tmp_path / "f")
    assert cifar10_status(tmp_path / "f")["md5_verified"] is True


def test_md5_mismatch_names_the_file(official_md5s_are_the_fixture, tmp_path, monkeypatch):
    tarball, folder = official_md5s_are_the_fixture
    raw = bytearray((folder / "data_batch_3").read_bytes())
    raw[-100] ^= 0xFF  # one flipped byte inside the image data
    (folder / "data_batch_3").write_bytes(bytes(raw))
    with pytest.raises(DataError, match=r"data_batch_3: md5 mismatch"):
        import_cifar10(folder, tmp_path / "store")
    assert not (tmp_path / "store" / "cifar10" / "cifar10.npz").exists()
    # The real official sums: the fixture tarball is not the official archive.
    monkeypatch.setattr(cifar10_import, "TARBALL_MD5", "c58f30108f718f92721af3b95e74349a")
    with pytest.raises(DataError, match=r"cifar-10-python\.tar\.gz: md5 mismatch"):
        import_cifar10(tarball, tmp_path / "store")


def test_official_md5_constants():
    # Facts about the official files (the numbers torchvision's CIFAR10 class checks).
    from torchvision.datasets import CIFAR10

    assert cifar10_import.TARBALL_MD5 == CIFAR10.tgz_md5
    assert {**cifar10_import.TRAIN_FILES, **cifar10_import.TEST_FILES} == dict(CIFAR10.train_list + CIFAR10.test_list)
    assert cifar10_import.META_FILE == (CIFAR10.meta["filename"], CIFAR10.meta["md5"])


def test_truncated_tarball_is_a_clear_error_and_leaves_no_cache(tmp_path, cifar_fixture):
    tarball = cifar_fixture.tarball
    data_dir = tmp_path / "store"
    good = import_cifar10(tarball, data_dir, verify_md5=False)
    before = good.read_bytes()
    truncated = tmp_path / "cifar-10-python-truncated.tar.gz"
    truncated.write_bytes(tarball.read_bytes()[: tarball.stat().st_size // 2])
    with pytest.raises(DataError, match=r"cifar-10-python-truncated\.tar\.gz.*(corrupt or truncated)"):
        import_cifar10(truncated, data_dir, verify_md5=False)
    assert good.read_bytes() == before  # the old cache is intact
    assert _leftovers(data_dir) == [good]  # and no temp file is left behind
    fresh = tmp_path / "fresh"
    with pytest.raises(DataError):
        import_cifar10(truncated, fresh, verify_md5=False)
    assert not fresh.exists() or _leftovers(fresh) == []


def test_truncated_or_malformed_batch_names_the_file(tmp_path):
    folder = make_cifar_folder(tmp_path / "src")
    raw = (folder / "data_batch_2").read_bytes()
    (folder / "data_batch_2").write_bytes(raw[: len(raw) // 3])
    with pytest.raises(DataError, match=r"data_batch_2: not a valid CIFAR-10 python batch \(format"):
        import_cifar10(folder, tmp_path / "store", verify_md5=False)
    (folder / "data_batch_2").write_bytes(pickle.dumps({b"data": np.zeros((4, 100), np.uint8), b"labels": [0] * 4}))
    with pytest.raises(DataError, match=r"data_batch_2: .*uint8 \[N, 3072\]"):
        import_cifar10(folder, tmp_path / "store", verify_md5=False)
    (folder / "data_batch_2").unlink()
    with pytest.raises(DataError, match=r"missing data_batch_2"):
        import_cifar10(folder, tmp_path / "store", verify_md5=False)
    assert not (tmp_path / "store").exists() or _leftovers(tmp_path / "store") == []


def test_pickle_with_code_is_refused(tmp_path):
    folder = make_cifar_folder(tmp_path / "src")

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    (folder / "test_batch").write_bytes(pickle.dumps(Evil()))
    with pytest.raises(DataError, match=r"test_batch: .*disallowed global builtins\.print"):
        import_cifar10(folder, tmp_path / "store", verify_md5=False)


def test_missing_dataset_message_names_both_commands(tmp_path, monkeypatch):
    monkeypatch.setenv("OHGW_BENCH_DATA", str(tmp_path / "empty"))
    assert cifar10.default_data_dir() == tmp_path / "empty"
    assert cifar10_status() == {
        "dataset": "cifar10",
        "path": str(tmp_path / "empty" / "cifar10" / "cifar10.npz"),
        "present": False,
    }
    with pytest.raises(DataError) as err:
        load_cifar10()
    msg = str(err.value)
    assert "ohgw-bench data import PATH" in msg and "ohgw-bench data download cifar10" in msg


def test_default_data_dir_without_env(monkeypatch):
    monkeypatch.delenv("OHGW_BENCH_DATA", raising=False)
    assert cifar10.default_data_dir() == Path.home() / ".cache" / "ohgw-bench"


def test_split_of_full_size_is_exactly_45k_5k_and_stratified():
    labels = np.random.default_rng(0).permutation(np.arange(50_000) % 10)
    train, val = split_indices(labels)
    assert (len(train), len(val)) == (45_000, 5_000)
    assert np.array_equal(np.bincount(labels[val], minlength=10), np.full(10, 500))
    assert np.intersect1d(train, val).size == 0
    assert np.array_equal(np.union1d(train, val), np.arange(50_000))
    again_train, again_val = split_indices(labels)  # fixed seed: the same split every run
    assert np.array_equal(val, again_val) and np.array_equal(train, again_train)


def test_split_of_fixture_is_stratified_90_10(data_dir):
    d = load_cifar10(data_dir=data_dir.path)
    assert np.array_equal(torch.bincount(d.val_y, minlength=10).numpy(), np.full(10, 10))
    assert np.array_equal(torch.bincount(d.train_y, minlength=10).numpy(), np.full(10, 90))


def test_symmetric_noise_rate_and_never_to_itself():
    labels = np.random.default_rng(1).integers(0, 10, 50_000)
    noisy, realised = symmetric_label_noise(labels, 0.1, 10, seed=3)
    assert noisy.dtype == labels.dtype and noisy.shape == labels.shape
    # A flip that could land on the same class would realise ≈ 0.09, not 0.10 (sd ≈ 0.0013).
    assert abs(realised - 0.1) < 0.005
    assert realised == np.mean(noisy != labels)
    again, _ = symmetric_label_noise(labels, 0.1, 10, seed=3)
    assert np.array_equal(noisy, again)
    other, _ = symmetric_label_noise(labels, 0.1, 10, seed=4)
    assert not np.array_equal(noisy, other)
    # Rate 1: every label changes, uniformly over the 9 other classes.
    zeros = np.zeros(90_000, dtype=np.int64)
    flipped, r = symmetric_label_noise(zeros, 1.0, 10, seed=0)
    assert r == 1.0 and (flipped != 0).all()
    counts = np.bincount(flipped, minlength=10)[1:]
    assert np.all(np.abs(counts / 10_000 - 1) < 0.05)
    # Torch in, torch out.
    t, rt = symmetric_label_noise(torch.from_numpy(labels), 0.1, 10, seed=3)
    assert isinstance(t, torch.Tensor) and torch.equal(t, torch.from_numpy(noisy)) and rt == realised
    with pytest.raises(ValueError):
        symmetric_label_noise(labels, 1.5, 10, seed=0)


def test_noisy_load_changes_train_and_val_only(data_dir):
    data_dir = data_dir.path
    clean = load_cifar10(data_dir=data_dir)
    noisy = load_cifar10(label_noise=0.1, data_dir=data_dir)
    assert torch.equal(clean.train_x, noisy.train_x) and torch.equal(clean.val_x, noisy.val_x)
    assert torch.equal(clean.test_y, noisy.test_y)
    changed = torch.cat([clean.train_y != noisy.train_y, clean.val_y != noisy.val_y]).float().mean().item()
    assert noisy.info["label_noise"] == 0.1
    assert noisy.info["label_noise_realised"] == pytest.approx(changed)
    assert 0.07 < changed < 0.13  # 1,000 labels: sd ≈ 0.0095
    assert (noisy.val_y != clean.val_y).any()  # val labels are noisy too
    again = load_cifar10(label_noise=0.1, data_dir=data_dir)
    assert torch.equal(again.train_y, noisy.train_y)  # fixed noise seed


def test_download_failure_is_a_clear_error(tmp_path, monkeypatch):
    import torchvision.datasets

    class Offline:
        def __init__(self, root, train=True, download=False):
            raise OSError("<urlopen error [Errno -3] Temporary failure in name resolution>")

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", Offline)
    with pytest.raises(DataError, match=r"could not download CIFAR-10.*ohgw-bench data import PATH"):
        cifar10_import.download_cifar10(tmp_path)
    assert _leftovers(tmp_path) == []


def test_download_imports_what_torchvision_fetched(tmp_path, monkeypatch, official_md5s_are_the_fixture):
    import torchvision.datasets

    tarball, _ = official_md5s_are_the_fixture

    class FakeCIFAR10:
        def __init__(self, root, train=True, download=False):
            shutil.copy(tarball, Path(root) / "cifar-10-python.tar.gz")

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", FakeCIFAR10)
    path = cifar10_import.download_cifar10(tmp_path / "d")
    assert cifar10_status(tmp_path / "d")["md5_verified"] is True
    assert _leftovers(tmp_path / "d") == [path]


def test_an_import_removes_temp_files_left_by_a_killed_import(tmp_path, cifar_fixture):
    import os
    import time

    data_dir = tmp_path / "data"
    folder = data_dir / "cifar10"
    folder.mkdir(parents=True)
    stale, live = folder / ".cifar10.npz.abc.tmp", folder / ".cifar10.npz.def.tmp"
    stale.write_bytes(b"half")
    live.write_bytes(b"being written")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    import_cifar10(cifar_fixture.tarball, data_dir, verify_md5=False)
    assert not stale.exists() and live.exists()
