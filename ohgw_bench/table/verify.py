"""``ohgw-bench table verify``: re-train a few cells and say how close the table is to a fresh run here.

The curves should come back identical (same code, seed and thread count); the seconds say how
far this machine's pace, now, is from the build's, which is what a replay's clock rests on.
"""

from __future__ import annotations

import random
import statistics
from dataclasses import dataclass
from pathlib import Path

from ohgw_bench.core import limits
from ohgw_bench.core.names import parse_warm_start_name
from ohgw_bench.core.table_format import CELLS, TableDamage, read_cells, read_table
from ohgw_bench.table.build import train_cell
from ohgw_bench.table.configs import TableConfig


@dataclass(frozen=True)
class CellCheck:
    config_id: int
    arm: str
    max_abs_val_acc_diff: float  # over the epochs: 0.0 when the curve is reproduced exactly
    seconds_ratio: float  # fresh / recorded trial seconds at the last epoch


def verify_table(path: Path | str, n_cells: int = 4, seed: int = 0, threads: int = 1) -> list[CellCheck]:
    """Re-train ``n_cells`` cells drawn at random (``seed``) in this process, one after another."""
    limits.check_count("--cells", n_cells, limits.MAX_CELLS, "cells of one table")
    limits.check_count("--threads", threads, limits.max_threads(), "the CPU cores here: more only contend")
    _, meta = read_table(path)  # refuses an incomplete table, or one that is not what its build wrote
    folder = Path(path).parent if Path(path).suffix == ".parquet" else Path(path)
    cells = list(read_cells(folder, meta).cells.values())  # refuses damage, naming the line
    if len(cells) != meta["cells_total"]:
        raise TableDamage(f"{folder / CELLS} holds {len(cells)} cells; the complete table has {meta['cells_total']}")
    chosen = random.Random(seed).sample(sorted(cells, key=lambda c: c.key), min(n_cells, len(cells)))
    checks = []
    for cell in chosen:
        config = TableConfig(cell.config_id, cell.config_sampled, cell.seed)
        fresh = train_cell(meta["spec"]["task"], config, parse_warm_start_name(cell.arm), len(cell.curve), threads)
        diffs = [abs(a.val_acc - b.val_acc) for a, b in zip(fresh.curve, cell.curve, strict=True)]
        ratio = fresh.curve[-1].trial_seconds / cell.curve[-1].trial_seconds
        checks.append(CellCheck(cell.config_id, cell.arm, max(diffs), ratio))
    return checks


def format_checks(checks: list[CellCheck]) -> str:
    lines = [f"{'config':>6}  {'arm':<16} {'max |d val_acc|':>15}  {'seconds fresh/table':>19}"]
    lines += [
        f"{c.config_id:>6}  {c.arm:<16} {c.max_abs_val_acc_diff:>15.2e}  {c.seconds_ratio:>19.3f}" for c in checks
    ]
    same = sum(c.max_abs_val_acc_diff == 0.0 for c in checks)
    lines.append(
        f"{same}/{len(checks)} curves reproduced exactly; median time ratio "
        f"{statistics.median(c.seconds_ratio for c in checks):.3f} (1 = this machine's pace now equals the build's)"
    )
    return "\n".join(lines)
