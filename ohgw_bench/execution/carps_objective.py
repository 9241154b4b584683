"""CARP-S (``carps`` 1.1.0, the optional ``carps`` extra): the suite's tasks and twin tables as a
CARP-S ``ObjectiveFunction`` and ``Task``, epochs as the fidelity.

CARP-S optimizers hand every trial the same seed and never fill ``TrialInfo.checkpoint``, so a
configuration promoted to a larger budget would train again from scratch. The adapter keeps one
checkpoint folder per configuration, seed and warm start under ``checkpoint_root`` (or uses the
trial's own ``checkpoint`` when an optimizer passes one) and resumes there: a promotion trains only
the epochs it adds, as in the suite's own pause-and-resume schedulers. Importing this module imports
carps; nothing else in the suite does.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from carps.objective_functions.objective_function import ObjectiveFunction
from carps.utils.task import FidelitySpace, InputSpace, OptimizationResources, OutputSpace, Task, TaskMetadata
from carps.utils.trials import StatusType, TrialInfo, TrialValue
from ConfigSpace import ConfigurationSpace

from ohgw_bench.execution.benchmark import Benchmark, open_benchmark

CONFIG_ID = "config_id"  # a table's only coordinate: it answers for its own configurations


class OhgwObjective(ObjectiveFunction):
    """``1 − validation accuracy`` at ``TrialInfo.budget`` epochs of a task (live) or a twin table."""

    def __init__(
        self,
        benchmark: str | Benchmark,
        warm_start: str = "none",
        warm_start_params: Mapping[str, Any] | None = None,
        checkpoint_root: Path | str | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.benchmark = open_benchmark(benchmark) if isinstance(benchmark, str) else benchmark
        self.warm_start, self.warm_start_params = warm_start, dict(warm_start_params or {})
        self._scratch = None if checkpoint_root is not None else tempfile.TemporaryDirectory(prefix="ohgw-carps-")
        self.checkpoint_root = Path(checkpoint_root if checkpoint_root is not None else self._scratch.name)  # type: ignore[union-attr]
        self._configspace = self._space(seed)
        self.epochs_trained = 0  # epochs this objective trained (or looked up), over all trials

    def _space(self, seed: int) -> ConfigurationSpace:
        if self.benchmark.table is None:
            return self.benchmark.space.to_configspace(seed=seed)
        from ConfigSpace import UniformIntegerHyperparameter

        cs = ConfigurationSpace(seed=seed)
        cs.add(UniformIntegerHyperparameter(CONFIG_ID, 0, len(self.benchmark.configs) - 1))
        return cs

    @property
    def configspace(self) -> ConfigurationSpace:
        return self._configspace

    def _checkpoint(self, trial_info: TrialInfo, config: Mapping[str, Any], seed: int) -> Path:
        if trial_info.checkpoint:
            return Path(trial_info.checkpoint)
        key = json.dumps([sorted(config.items()), seed, self.warm_start, sorted(self.warm_start_params.items())])
        return self.checkpoint_root / hashlib.sha256(key.encode()).hexdigest()[:16]

    def _evaluate(self, trial_info: TrialInfo) -> TrialValue:
        config = dict(trial_info.config)
        seed = None if self.benchmark.table is not None else int(trial_info.seed or 0)
        epochs = self.benchmark.max_epochs if trial_info.budget is None else int(round(trial_info.budget))
        target: Mapping[str, float] | int = int(config[CONFIG_ID]) if self.benchmark.table is not None else config
        folder = self._checkpoint(trial_info, config, seed or 0)
        with self.benchmark.evaluate(
            target,
            seed=seed,
            warm_start=self.warm_start,
            warm_start_params=self.warm_start_params,
            checkpoint_dir=folder,
        ) as evaluation:
            before = evaluation.epochs_trained
            report = evaluation.at(epochs)
            self.epochs_trained += evaluation.epochs_trained - before
        seconds = report.trial_seconds
        return TrialValue(
            cost=1.0 - report.val_acc,
            time=seconds,
            virtual_time=seconds if self.benchmark.table is not None else 0.0,
            status=StatusType.SUCCESS,
            additional_info={"epoch": report.epoch, "test_acc": report.test_acc, "diverged": report.diverged},
        )


def carps_task(objective: OhgwObjective, n_trials: int, n_workers: int = 1, max_epochs: int | None = None) -> Task:
    """A CARP-S ``Task`` over ``objective``: its space, epochs 1..``max_epochs`` (default: the task's or
    table's maximum) as the fidelity, one objective."""
    bench = objective.benchmark
    top = bench.max_epochs if max_epochs is None else max_epochs
    if not 1 <= top <= bench.max_epochs:
        raise ValueError(f"max_epochs={top} must be in [1, {bench.max_epochs}] for {bench.name}")
    fidelity = FidelitySpace(is_multifidelity=True, fidelity_type="epochs", min_fidelity=1, max_fidelity=top)
    return Task(
        name=f"ohgw-bench/{bench.name}/{objective.warm_start}",
        objective_function=objective,
        input_space=InputSpace(configuration_space=objective.configspace, fidelity_space=fidelity),
        output_space=OutputSpace(n_objectives=1, objectives=("quality",)),
        optimization_resources=OptimizationResources(n_trials=n_trials, n_workers=n_workers),
        metadata=TaskMetadata(
            dimensions=len(list(objective.configspace.values())),
            domain="ML",
            objective_function_approximation="real" if bench.table is None else "tabular",
            has_virtual_time=bench.table is not None,
            deterministic=True,
        ),
    )
