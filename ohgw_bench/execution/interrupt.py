"""Ctrl-C and SIGTERM, one way for every long command (``run``, ``sweep``, ``table build``).

Batch schedulers end a job with SIGTERM (Slurm sends SIGKILL about 30 s later), and Python's default
for SIGTERM is to die on the spot: runs left ``running``, no ``ended_at``, no summary, locks left
behind. Under :func:`sigterm_like_ctrl_c` SIGTERM raises :class:`Terminated` instead, which the
commands handle exactly as they handle Ctrl-C's ``KeyboardInterrupt`` (catch :data:`INTERRUPTS`): mark
what was running, release the locks, print the summary, exit non-zero.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator


class Interrupted(BaseException):
    """The work was asked to stop (Ctrl-C, SIGTERM, or the sweep it belongs to stopping). A
    ``BaseException``, as ``KeyboardInterrupt`` is, so that ``except Exception`` handlers let it through."""


class Terminated(Interrupted):
    """SIGTERM reached this process, handled like Ctrl-C."""


#: what a command catches to stop cleanly
INTERRUPTS: tuple[type[BaseException], ...] = (KeyboardInterrupt, Interrupted)


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated("received SIGTERM")


@contextlib.contextmanager
def sigterm_like_ctrl_c() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` in the main thread; the previous handler
    comes back after it."""
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def reason(err: BaseException) -> str:
    """What stopped the work, for messages and records: "interrupted (Ctrl-C)" or the signal's words."""
    if isinstance(err, KeyboardInterrupt):
        return "interrupted (Ctrl-C)"
    return str(err) or type(err).__name__
