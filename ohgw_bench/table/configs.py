"""The configurations of a table: a seeded scrambled Sobol sample of the task's space.

Sobol rather than uniform draws so that a table of 128 configurations covers the 5-d space
evenly (the per-configuration answer is plotted against the starting point). Points are drawn
as the first ``n`` of a ``2**m`` block, which is what ``Sobol.random(n)`` returns too, without
its power-of-two warning; so a table's configurations are a prefix of a larger table's with the
same seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ohgw_bench.core.space import SearchSpace
from ohgw_bench.execution.trial import trial_seed


@dataclass(frozen=True)
class TableConfig:
    """One configuration of the table and the trial seed all of its arms train with."""

    config_id: int
    values: dict[str, float]  # search-space coordinates, the space's order
    seed: int  # trial_seed(table seed, config_id): the seed a real run's trial config_id gets


def sobol_configs(space: SearchSpace, n: int, seed: int) -> list[TableConfig]:
    """``n`` configurations from a scrambled Sobol sequence seeded with ``seed``, scaled to the bounds."""
    from scipy.stats import qmc

    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"--configs must be a positive integer, got {n!r}")
    if seed < 0:
        raise ValueError(f"--seed must be non-negative, got {seed}")
    sampler = qmc.Sobol(d=len(space.hyperparameters), scramble=True, seed=seed)
    unit = sampler.random_base2(max(0, math.ceil(math.log2(n))))[:n]
    points = qmc.scale(unit, [h.low for h in space.hyperparameters], [h.high for h in space.hyperparameters])
    return [
        TableConfig(i, {h.name: float(points[i, j]) for j, h in enumerate(space.hyperparameters)}, trial_seed(seed, i))
        for i in range(n)
    ]
