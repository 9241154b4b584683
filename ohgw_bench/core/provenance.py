"""What code, packages and device produced a result: pairs are compared only within one of each.

Everything here is read once per process (``functools.cache``): the code and packages a process
runs were loaded once, and a replay sweep asks for provenance thousands of times.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

#: the package folder; git commands run in its checkout
PACKAGE_DIR = Path(__file__).resolve().parent.parent


def git(*args: str, checkout: Path = PACKAGE_DIR) -> str | None:
    """Output of a git command run in ``checkout`` (the package's, unless told); None outside a git checkout."""
    out = _git_bytes(checkout, *args)
    return None if out is None else out.decode("utf-8", errors="replace").strip()


def _git_bytes(checkout: Path, *args: str) -> bytes | None:
    """Raw output of a git command (a binary diff is not text); None when git fails or is missing."""
    try:
        out = subprocess.run(["git", *args], capture_output=True, timeout=5, cwd=checkout)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


@functools.cache
def git_sha() -> str | None:
    return git("rev-parse", "HEAD") or None


#: what "the code" is: the package and its pins, anchored at the top of the checkout (``:/``), since git
#: reads a plain pathspec relative to the working directory
CODE_PATHS = (":/ohgw_bench", ":/pyproject.toml")


@functools.cache
def code_version() -> dict[str, Any] | None:
    """The code version of the checkout this package was imported from (read once per process)."""
    return code_version_of(PACKAGE_DIR.parent)


def code_version_of(checkout: Path) -> dict[str, Any] | None:
    """What identifies the code in ``checkout`` (a folder of a git checkout holding ``ohgw_bench/`` and
    ``pyproject.toml``), unchanged by committing results: the git tree hash of the package, the blob
    hash of pyproject.toml (the pins), whether either differs from that commit (``modified``), and a
    digest of those differences (``changes_sha256``, None when there are none).

    ``modified`` alone would let two different sets of uncommitted edits pass as one code version;
    the digest tells them apart, so whatever compares code versions can compare it too. It covers the
    staged and unstaged changes to tracked files (``git diff HEAD --binary``) and the untracked files
    git does not ignore (a new plugin module is picked up by the registry). None outside a git checkout.
    """
    tree = git("rev-parse", "HEAD:ohgw_bench", checkout=checkout)
    pins = git("rev-parse", "HEAD:pyproject.toml", checkout=checkout)
    diff = _git_bytes(checkout, "diff", "HEAD", "--binary", "--no-ext-diff", "--", *CODE_PATHS)
    others = ("ls-files", "--others", "--exclude-standard", "--full-name", "-z", "--", *CODE_PATHS)
    untracked = _git_bytes(checkout, *others)
    if tree is None or diff is None or untracked is None:
        return None
    changes = _changes_sha256(checkout, diff, sorted(n for n in untracked.split(b"\0") if n))
    return {"package_tree": tree, "pyproject": pins, "modified": changes is not None, "changes_sha256": changes}


def _changes_sha256(checkout: Path, diff: bytes, untracked: list[bytes]) -> str | None:
    """SHA-256 of the diff and of each untracked file's name and content; None when both are empty."""
    if not diff and not untracked:
        return None
    top = git("rev-parse", "--show-toplevel", checkout=checkout)
    digest = hashlib.sha256(diff)
    for name in untracked:  # --full-name: relative to the top of the checkout
        path = Path(top or checkout) / os.fsdecode(name)
        digest.update(b"\0untracked\0" + name + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest() if path.is_file() else b"(not a file)")
    return digest.hexdigest()


@functools.cache
def package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for pkg in ("ohgw-bench", "python", "torch", "syne-tune", "dehb", "numpy"):
        try:
            found[pkg] = platform.python_version() if pkg == "python" else version(pkg)
        except PackageNotFoundError:
            found[pkg] = "missing"
    return found


@functools.cache
def device_name() -> str:
    import torch

    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return f"cpu: {cpu_model()} ({os.cpu_count()} cores, {platform.machine()})"


def cpu_model() -> str:
    """The CPU's model name (Linux), so pairs can be checked for one device type."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown model"


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
