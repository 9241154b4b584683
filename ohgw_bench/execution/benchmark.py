"""One argument between live training and a twin table: ``open_benchmark("digits-cnn")`` trains,
``open_benchmark("table:PATH")`` looks the same curves up, and both answer ``.evaluate(config, ...)``
with an :class:`~ohgw_bench.execution.evaluation.EpochEvaluation`, so an optimizer written against one
runs unchanged on the other (HPOBench's surrogate/tabular switch)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ohgw_bench.core.names import parse_warm_start_name
from ohgw_bench.core.registry import get_task
from ohgw_bench.core.space import SearchSpace
from ohgw_bench.core.specs import TaskSpec
from ohgw_bench.execution.backends.table import ReplayTable, open_table
from ohgw_bench.execution.evaluation import EpochEvaluation, check_warm_start, evaluate
from ohgw_bench.execution.table_evaluation import evaluate_in_table

TABLE_PREFIX = "table:"  # as in ``--backend table:PATH``


@dataclass(frozen=True)
class Benchmark:
    """A task trained live, or a twin table of it (``table`` set)."""

    task: TaskSpec
    table: ReplayTable | None = None

    @property
    def name(self) -> str:
        return self.task.name if self.table is None else f"{TABLE_PREFIX}{self.table.path}"

    @property
    def space(self) -> SearchSpace:
        return self.task.space

    @property
    def max_epochs(self) -> int:
        """The largest budget: the task's maximum epochs, or the epochs the table holds."""
        return self.task.max_epochs if self.table is None else self.table.epochs

    @property
    def configs(self) -> tuple[dict[str, float], ...]:
        """A table's configurations in config_id order: the only ones it can answer."""
        if self.table is None:
            raise ValueError(f"{self.name} trains live: any configuration in its space can be evaluated")
        return tuple(self.table.configs(self.space.names))

    @property
    def arms(self) -> tuple[str, ...] | None:
        """A table's warm-start arms (labels); None live, where any registered warm start runs."""
        return None if self.table is None else self.table.arms

    def evaluate(
        self,
        config: Mapping[str, float] | int,
        seed: int | None = None,
        warm_start: str = "none",
        warm_start_params: Mapping[str, Any] | None = None,
        checkpoint_dir: Path | str | None = None,
        device: Any = None,
    ) -> EpochEvaluation:
        """``config`` (coordinates; on a table also its config_id) with trial seed ``seed`` after the warm
        start ``warm_start`` with ``warm_start_params``. ``seed`` None: 0 live, the recorded one on a table.
        ``checkpoint_dir``: where the evaluation resumes from (one folder per configuration, seed and warm
        start); ``device``: live training's."""
        if self.table is None:
            if not isinstance(config, Mapping):
                raise ValueError(f"{self.name} trains live: pass a configuration, not {config!r}")
            return evaluate(
                self.task, config, 0 if seed is None else seed, warm_start, warm_start_params, device, checkpoint_dir
            )
        return evaluate_in_table(self.table, config, arm_label(warm_start, warm_start_params), seed, checkpoint_dir)


def arm_label(warm_start: str, params: Mapping[str, Any] | None = None) -> str:
    """The canonical arm label of a warm start and its parameters, e.g. ``ohgw(eta=1)`` for
    ``("ohgw", {"eta": 1.0})`` (defaults left out, as a table's arms are spelled)."""
    checked = check_warm_start(warm_start, params)
    if not checked:
        return parse_warm_start_name(warm_start).label
    text = ",".join(f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in checked.items())
    return parse_warm_start_name(f"{warm_start}({text})").label


def open_benchmark(name: str) -> Benchmark:
    """``"<task>"`` (live training) or ``"table:PATH"`` (a twin table's folder); ValueError for a table
    that cannot be read, UnknownNameError (listing close names) for an unknown task."""
    if name.startswith(TABLE_PREFIX):
        path = name[len(TABLE_PREFIX) :]
        if not path:
            raise ValueError("table:PATH needs the table's folder after 'table:'")
        table = open_table(path)
        return Benchmark(get_task(table.task), table)
    return Benchmark(get_task(name))
