"""What code, packages and device produced a result: pairs are compared only within one of each.

Everything here is read once per process (``functools.cache``): the code and packages a process
runs were loaded once, and a replay sweep asks for provenance thousands of times.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

#: the package folder; git commands run in its checkout
PACKAGE_DIR = Path(__file__).resolve().parent.parent


def git(*args: str) -> str | None:
    """Output of a git command run in the package's checkout; None outside a git checkout."""
    try:
        out = subprocess.run(["git", *args], capture_output=True, text=True, timeout=5, cwd=PACKAGE_DIR)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


@functools.cache
def git_sha() -> str | None:
    return git("rev-parse", "HEAD") or None


@functools.cache
def code_version() -> dict[str, Any] | None:
    """What identifies the code that ran, unchanged by committing results: the git tree hash of the
    package, a hash of pyproject.toml (the pins), and whether either differs from that commit.

    The pathspecs are anchored at the top of the checkout (``:/``): git reads a plain pathspec
    relative to the working directory, which is the package folder here.
    """
    tree = git("rev-parse", "HEAD:ohgw_bench")  # None outside a git checkout
    pins = git("rev-parse", "HEAD:pyproject.toml")
    status = git("status", "--porcelain", "--untracked-files=no", "--", ":/ohgw_bench", ":/pyproject.toml")
    if tree is None or status is None:
        return None
    return {"package_tree": tree, "pyproject": pins, "modified": bool(status)}


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
