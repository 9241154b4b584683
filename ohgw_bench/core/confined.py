"""Paths below a results folder that cannot lead out of it.

A run removes, moves aside and writes folders below ``--out``. If one of the folders between
``--out`` and the run folder (or the run folder itself) were a symbolic link, ``shutil.rmtree``,
``os.rename`` and every write would act on whatever the link points to, outside ``--out``. So every
such place asks :func:`confined` first and refuses with :class:`EscapesOut`, having touched nothing.
``--out`` itself may be a link: the user named it.

A check cannot close the race with a process that plants a link right after it; it closes every
link already there, which is what a results folder shared with others, or a mistaken ``ln -s``, has.
"""

from __future__ import annotations

import os
from pathlib import Path


class EscapesOut(ValueError):
    """A path below ``--out`` is, or passes through, a symbolic link, or is not below ``--out`` at all."""


def confined(out: Path | str, path: Path | str) -> Path:
    """``path``, after checking that it lies below ``out`` through real folders only; else
    :class:`EscapesOut` naming the link. Parts that do not exist yet are fine: they will be made as
    real folders."""
    out, path = Path(out), Path(path)
    try:
        parts = path.relative_to(out).parts
    except ValueError:
        raise EscapesOut(f"{path} is not below --out {out}; refusing to touch it") from None
    if ".." in parts:
        raise EscapesOut(f"{path} climbs out of --out {out} ('..'); refusing to touch it")
    current = out
    for part in parts:
        current = current / part
        if current.is_symlink():
            raise EscapesOut(
                f"{current} is a symbolic link (to {os.readlink(current)}): refusing to remove, move or write "
                f"{path} through it, outside --out {out}; nothing was touched. Replace the link by a real "
                "folder, or give --out the folder it points to"
            )
        if not current.exists():
            break  # nothing below a missing folder exists yet
    resolved, root = path.resolve(), out.resolve()
    if not resolved.is_relative_to(root):
        raise EscapesOut(f"{path} resolves to {resolved}, outside --out {root}; refusing to touch it")
    return path
