"""Progress of a table build: one line per finished cell, with an ETA from this session's throughput.

Throughput (cells finished / seconds since the session started) already accounts for the number of
Dask workers, and cells of one table cost about the same, so remaining / throughput is the ETA.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from ohgw_bench.core.budget import format_seconds
from ohgw_bench.core.table_format import CellRecord


class BuildProgress:
    """Counts cells, prints a line per finished or failed cell (``quiet`` prints nothing)."""

    def __init__(self, total: int, done_before: int, quiet: bool = False, stream: TextIO | None = None) -> None:
        self.total = total
        self.done_before = done_before
        self.done_now = 0
        self.failed = 0
        self.t0 = time.perf_counter()
        self.quiet = quiet
        self.stream = stream or sys.stderr

    def eta(self) -> float | None:
        """Seconds until the last cell ends; None before the first cell of this session finished."""
        if not self.done_now:
            return None
        remaining = self.total - self.done_before - self.done_now - self.failed
        return remaining * (time.perf_counter() - self.t0) / self.done_now

    def status(self) -> str:
        done = self.done_before + self.done_now
        failed = f", {self.failed} failed" if self.failed else ""
        return (
            f"{done}/{self.total} cells{failed} | elapsed {format_seconds(time.perf_counter() - self.t0)} "
            f"| ETA {format_seconds(self.eta())}"
        )

    def cell_done(self, cell: CellRecord) -> None:
        self.done_now += 1
        best = max(e.val_acc for e in cell.curve)
        flag = " (diverged)" if cell.diverged else ""
        self._print(
            f"config {cell.config_id} x {cell.arm}: {format_seconds(cell.wall_seconds)}, best val_acc {best:.4f}{flag}"
        )

    def cell_failed(self, label: str, error: str) -> None:
        self.failed += 1
        self._print(f"FAILED {label}: {error}")

    def _print(self, text: str) -> None:
        if not self.quiet:
            print(f"[{self.status()}] {text}", file=self.stream, flush=True)
