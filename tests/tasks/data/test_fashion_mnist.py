"""Fashion-MNIST: the strict IDX reader, the one-time import (hashes checked, the real CLI), the fixed
stratified splits and the 10% symmetric label noise, on the session's official-format fixture
(``tests/helpers/fashion.py``). The official files are read only where Debian's package installed them."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest

from ohgw_bench.cli import main
from ohgw_bench.core.registry import get_task
from ohgw_bench.tasks.data import fashion_mnist_import
from ohgw_bench.tasks.data.fashion_mnist import (
    N_TEST,
    N_TRAIN,
    N_VAL,
    NOISE_SEED,
    fashion_mnist_status,
    load_fashion_mnist,
    require_fashion_mnist,
    split_indices,
)
from ohgw_bench.tasks.data.fashion_mnist_import import FILES, TRAIN_IMAGES, TRAIN_LABELS, import_fashion_mnist
from ohgw_bench.tasks.data.idx import parse_idx, write_idx
from ohgw_bench.tasks.data.noise import symmetric_label_noise
from ohgw_bench.tasks.data.store import DataError
from tests.helpers.fashion import N_TEST as FIXTURE_TEST
from tests.helpers.fashion import N_TRAIN as FIXTURE_TRAIN
from tests.helpers.fashion import fixture_sha256

DEBIAN = Path("/usr/share/datasets/fashion-mnist")


def _copy(fashion_fixture: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(fashion_fixture, tmp_path / "src"))


# ------------------------------------------------------------------------------------------- IDX


def test_idx_round_trip():
    images = np.arange(3 * 28 * 28, dtype=np.uint64).reshape(3, 28, 28).astype(np.uint8)
    assert np.array_equal(parse_idx(write_idx(images), "x", 3, (28, 28)), images)
    labels = np.array([0, 9, 3], np.uint8)
    raw = write_idx(labels)
    assert raw[:8] == bytes([0, 0, 8, 1, 0, 0, 0, 3])  # magic 0x00000801, then the count, big-endian
    assert np.array_equal(parse_idx(raw, "y", 1), labels)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda raw: raw[:3], "shorter than the 4-byte magic"),
        (lambda raw: b"\x01" + raw[1:], "magic number 01000803"),
        (lambda raw: raw[:2] + b"\x0d" + raw[3:], "data type 0x0d, expected 0x08"),
        (lambda raw: raw[:3] + b"\x01" + raw[4:], "1 dimensions, expected 3"),
        (lambda raw: raw[:10], "shorter than its 16-byte header"),
        (lambda raw: raw[:-1], "payload bytes, the header says 1568"),
        (lambda raw: raw + b"\x00", "payload bytes, the header says 1568"),
        (lambda raw: raw[:4] + (0).to_bytes(4, "big") + raw[8:], "0 items"),
        (lambda raw: raw[:4] + (2**31).to_bytes(4, "big") + raw[8:], "items, expected 1 to"),
        (lambda raw: raw[:8] + (27).to_bytes(4, "big") + raw[12:], "item shape (27, 28), expected (28, 28)"),
    ],
)
def test_idx_damage_is_a_data_error_that_names_the_file(mutate, message):
    raw = write_idx(np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(DataError, match="images.idx: not a valid IDX file") as err:
        parse_idx(mutate(raw), "images.idx", 3, (28, 28))
    assert message in str(err.value)


# ---------------------------------------------------------------------------------------- import


def test_import_and_load_the_fixture(tmp_path, fashion_fixture):
    path = import_fashion_mnist(fashion_fixture, tmp_path / "store", expected_sha256=fixture_sha256(fashion_fixture))
    assert path == tmp_path / "store" / "fashion-mnist" / "fashion-mnist.npz"
    status = fashion_mnist_status(tmp_path / "store")
    assert status["present"] and status["n_train"] == FIXTURE_TRAIN and status["n_test"] == FIXTURE_TEST
    assert status["sha256_checked"] != "official" and status["full_size"] is False
    with np.load(path, allow_pickle=False) as npz:  # plain arrays only
        assert npz["train_x"].shape == (FIXTURE_TRAIN, 1, 28, 28) and npz["train_x"].dtype == np.uint8
    d = load_fashion_mnist(data_dir=tmp_path / "store")
    assert d.info["fixture"] is True and d.info["label_noise_realised"] == 0.0
    for x, y in ((d.train_x, d.train_y), (d.val_x, d.val_y), (d.test_x, d.test_y)):
        assert x.dtype.is_floating_point is False and tuple(x.shape[1:]) == (1, 28, 28)
        assert np.array_equal(x[:, 0, 0, 0].numpy(), y.numpy() * 20)  # images stay paired with their labels


def test_the_official_hashes_refuse_the_fixture_and_write_nothing(tmp_path, fashion_fixture):
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte.gz: SHA-256 mismatch") as err:
        import_fashion_mnist(fashion_fixture, tmp_path / "store")
    assert "dataset-fashion-mnist" in str(err.value) and "zalandoresearch/fashion-mnist" in str(err.value)
    assert not (tmp_path / "store").exists() or not any((tmp_path / "store").rglob("*.npz"))


def test_missing_file_names_it_and_both_sources(tmp_path, fashion_fixture):
    src = _copy(fashion_fixture, tmp_path)
    (src / TRAIN_LABELS).unlink()
    with pytest.raises(DataError, match=r"missing train-labels-idx1-ubyte.gz") as err:
        import_fashion_mnist(src, tmp_path / "store", expected_sha256=fixture_sha256(fashion_fixture))
    assert "dataset-fashion-mnist" in str(err.value) and "github.com/zalandoresearch/fashion-mnist" in str(err.value)


def test_truncated_gzip_and_malformed_idx_name_the_file_and_keep_the_old_cache(tmp_path, fashion_fixture):
    store = tmp_path / "store"
    good = import_fashion_mnist(fashion_fixture, store, expected_sha256=fixture_sha256(fashion_fixture))
    before = good.read_bytes()
    src = _copy(fashion_fixture, tmp_path)
    raw = (src / TRAIN_IMAGES).read_bytes()
    (src / TRAIN_IMAGES).write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte.gz: cannot read as gzip"):
        import_fashion_mnist(src, store, expected_sha256=fixture_sha256(fashion_fixture))
    # a well-formed gzip of a damaged IDX file whose hash the caller vouches for: the parser still refuses it
    idx = bytearray(gzip.decompress(raw))
    idx[3] = 1  # one dimension instead of three
    (src / TRAIN_IMAGES).write_bytes(gzip.compress(bytes(idx)))
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte.gz: not a valid IDX file .*1 dimensions"):
        import_fashion_mnist(src, store, expected_sha256=fixture_sha256(src))
    assert good.read_bytes() == before and sorted(p.name for p in store.rglob("*") if p.is_file()) == [good.name]


def test_missing_dataset_message_names_the_import_and_both_sources(tmp_path, capsys):
    with pytest.raises(DataError) as err:
        require_fashion_mnist(tmp_path / "empty")
    msg = str(err.value)
    assert "ohgw-bench data import PATH" in msg and "dataset-fashion-mnist" in msg
    assert "https://github.com/zalandoresearch/fashion-mnist" in msg
    assert fashion_mnist_status(tmp_path / "empty") == {
        "dataset": "fashion-mnist",
        "path": str(tmp_path / "empty" / "fashion-mnist" / "fashion-mnist.npz"),
        "present": False,
    }


# ------------------------------------------------------------------------------------------- CLI


def test_cli_import_and_status(tmp_path, fashion_fixture, capsys, monkeypatch):
    store = tmp_path / "store"
    assert main(["data", "import", str(fashion_fixture), "--data-dir", str(store)]) == 2  # the official hashes
    err = capsys.readouterr().err
    assert "SHA-256 mismatch" in err and "dataset-fashion-mnist" in err and "Traceback" not in err
    assert main(["data", "status", "--data-dir", str(store)]) == 0
    assert "fashion-mnist" in capsys.readouterr().out
    # with the fixture's sums standing in for the official ones, the CLI's own path imports it
    monkeypatch.setattr(fashion_mnist_import, "OFFICIAL_SHA256", fixture_sha256(fashion_fixture))
    assert main(["data", "import", str(fashion_fixture), "--data-dir", str(store)]) == 0
    assert "imported Fashion-MNIST into" in capsys.readouterr().out
    assert main(["data", "status", "--data-dir", str(store)]) == 0
    out = capsys.readouterr().out
    assert f"n_train        {FIXTURE_TRAIN}" in out and "cifar10" in out  # both datasets reported


def test_cli_run_without_the_data_exits_2_naming_the_sources(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("OHGW_BENCH_DATA", str(tmp_path / "no-data"))
    with pytest.raises(DataError, match="dataset-fashion-mnist"):
        get_task("fashion-mnist-cnn-noisy10").check_data()
    out = tmp_path / "out"
    assert main(["run", "--task", "fashion-mnist-cnn", "--opt", "asha", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "ohgw-bench data import" in err and "zalandoresearch/fashion-mnist" in err and "Traceback" not in err
    assert not out.exists()


@pytest.mark.skipif(not DEBIAN.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_the_debian_files_pass_the_official_hashes(tmp_path):
    status_path = import_fashion_mnist(DEBIAN, tmp_path)
    status = fashion_mnist_status(tmp_path)
    assert status_path.is_file() and status["sha256_checked"] == "official" and status["full_size"] is True


# ------------------------------------------------------------------------------- splits and noise


def test_full_size_splits_are_exact_stratified_and_disjoint():
    train_y, test_y = np.arange(60_000) % 10, np.arange(10_000) % 10
    train, val, test = split_indices(train_y, test_y)
    assert (len(train), len(val), len(test)) == (N_TRAIN, N_VAL, N_TEST) and min(N_VAL, N_TEST) >= 4_000
    assert not set(train) & set(val)
    for idx, labels, n in ((train, train_y, N_TRAIN), (val, train_y, N_VAL), (test, test_y, N_TEST)):
        assert np.bincount(labels[idx], minlength=10).tolist() == [n // 10] * 10
    again = split_indices(train_y, test_y)
    assert all(np.array_equal(a, b) for a, b in zip((train, val, test), again, strict=True))  # fixed by seeds


def test_fixture_splits_are_stratified_and_disjoint(data_dir):
    d = load_fashion_mnist(data_dir=data_dir.path)
    for y in (d.train_y, d.val_y, d.test_y):
        counts = np.bincount(y.numpy(), minlength=10)
        assert counts.min() == counts.max() > 0
    train_ids = {bytes(x.numpy().tobytes()) for x in d.train_x}
    assert not train_ids & {bytes(x.numpy().tobytes()) for x in d.val_x}


def test_full_size_noise_rate_on_train_and_val():
    pool = np.arange(60_000) % 10
    train, val, _ = split_indices(pool, np.arange(10_000) % 10)
    noisy, realised = symmetric_label_noise(pool, 0.1, 10, NOISE_SEED)
    assert abs(realised - 0.1) < 0.005
    for idx in (train, val):
        assert abs(np.mean(noisy[idx] != pool[idx]) - 0.1) < 0.015


def test_noisy_load_changes_train_and_val_only(data_dir):
    clean = load_fashion_mnist(data_dir=data_dir.path)
    noisy = load_fashion_mnist(label_noise=0.1, data_dir=data_dir.path)
    assert np.array_equal(noisy.test_y.numpy(), clean.test_y.numpy())  # test labels stay clean
    assert np.array_equal(noisy.train_x.numpy(), clean.train_x.numpy())  # same images, same order
    changed = np.concatenate([noisy.train_y != clean.train_y, noisy.val_y != clean.val_y])
    assert 0.0 < changed.mean() < 0.25
    info = noisy.info
    assert info["label_noise"] == 0.1 and info["noise_seed"] == NOISE_SEED
    assert 0.05 < info["label_noise_realised"] < 0.15
    assert info["label_noise_realised_train"] == float(np.mean((noisy.train_y != clean.train_y).numpy()))
    again = load_fashion_mnist(label_noise=0.1, data_dir=data_dir.path)
    assert np.array_equal(again.train_y.numpy(), noisy.train_y.numpy())  # fixed by the seed
    assert get_task("fashion-mnist-cnn-noisy10").label_noise == 0.1  # type: ignore[attr-defined]


def test_the_official_file_names():
    assert FILES == (
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    )
