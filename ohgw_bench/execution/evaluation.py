"""A resumable, per-epoch evaluation of one configuration: train it an epoch at a time, decide between
epochs, stop, and continue later at a larger budget without training any epoch twice.

``evaluate(task, config, seed, warm_start=...)`` trains through the trial every backend runs
(:func:`~ohgw_bench.execution.trial.trial_epochs`): the same batches for the same seed, the same warm
start, the same records. So its curve is exactly what
:func:`~ohgw_bench.execution.objective.objective_function` (the one-call form, built on it) returns, and
its numbers compare with the suite's runs. A pruner (Optuna) reads :meth:`EpochEvaluation.epochs`; a
multi-fidelity optimizer (SMAC's Hyperband) calls :meth:`EpochEvaluation.train_to` with its budget, and
with one ``checkpoint_dir`` per configuration a promoted configuration resumes where it stopped.
:class:`EpochEvaluation` is the interface; a twin table answers it too
(:mod:`ohgw_bench.execution.table_evaluation`).
"""

from __future__ import annotations

import json
import numbers
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Generator, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from ohgw_bench.core.limits import check_seed
from ohgw_bench.core.records import TrialReport, WarmStartRecord, from_report, warm_start_from_report
from ohgw_bench.core.trajectory import write_json_atomic

if TYPE_CHECKING:
    from ohgw_bench.core.specs import TaskSpec

#: what an evaluation's checkpoint folder evaluates, written before its first epoch
IDENTITY = "evaluation.json"


def check_config(task: TaskSpec, config: Mapping[str, Any]) -> None:
    """ValueError naming the key unless ``config`` holds exactly the task's coordinates, each a number in
    its bounds: a misspelt key would otherwise train the default of nothing and go unnoticed."""
    names = task.space.names
    valid = f"the space of {task.name}: {', '.join(names)}"
    unknown = [k for k in config if k not in names]
    if unknown:
        raise ValueError(f"config has unknown key(s) {', '.join(map(repr, unknown))} ({valid})")
    missing = [k for k in names if k not in config]
    if missing:
        raise ValueError(f"config lacks {', '.join(missing)} ({valid})")
    for h in task.space.hyperparameters:
        value = config[h.name]
        if isinstance(value, bool) or not isinstance(value, numbers.Real):  # numpy's floats too
            raise ValueError(f"{h.name}={value!r} must be a number in [{h.low}, {h.high}] for {task.name}")
        if not h.low <= float(value) <= h.high:
            raise ValueError(f"{h.name}={value} is outside [{h.low}, {h.high}] for {task.name}")


def check_epochs(value: Any, max_epochs: int, where: str, what: str = "epochs") -> int:
    """``value`` unless it is not an integer in [1, ``max_epochs``] (ValueError naming ``what`` and ``where``)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= max_epochs:
        raise ValueError(f"{what}={value!r} must be an integer in [1, {max_epochs}] for {where}")
    return value


def check_warm_start(warm_start: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """The warm start's parameters, each known to it and in its range (ValueError naming the one that is not)."""
    from ohgw_bench.core.registry import get_warm_start
    from ohgw_bench.warmstarts import validate_params

    checked = dict(params or {})
    unknown = set(checked) - set(get_warm_start(warm_start).defaults)
    if unknown:
        raise ValueError(f"warm start {warm_start} has no parameter(s) {', '.join(sorted(unknown))}")
    validate_params(warm_start, checked)
    return checked


class EpochEvaluation(ABC):
    """One configuration's learning curve, measured (or looked up) one epoch at a time.

    Epochs are numbered from 1; :attr:`curve` holds every epoch so far, including those a resumed
    evaluation found in its checkpoint, and :attr:`epochs_trained` counts those this object measured
    (trained live, looked up on a table). A curve whose loss stopped being finite ends at that epoch
    (``diverged``), as a trial does: asking for more measures nothing."""

    def __init__(self, max_epochs: int, where: str, curve: tuple[TrialReport, ...] = ()) -> None:
        self.max_epochs = max_epochs
        self.epochs_trained = 0
        self._where = where  # names the task or table in messages
        self._curve = list(curve)
        self._ended = bool(curve) and curve[-1].diverged
        self._closed = False

    @property
    def curve(self) -> tuple[TrialReport, ...]:
        return tuple(self._curve)

    @property
    def epoch(self) -> int:
        """Epochs measured so far (0 before the first)."""
        return len(self._curve)

    @property
    def diverged(self) -> bool:
        return bool(self._curve) and self._curve[-1].diverged

    @property
    @abstractmethod
    def warm_start(self) -> WarmStartRecord | None:
        """What the warm start did and cost; None while it has not run (a live evaluation warm-starts
        at the start of its first epoch)."""

    @abstractmethod
    def _measure(self) -> TrialReport | None:
        """The next epoch's report; None when the curve has no further epoch."""

    def epochs(self, up_to: int | None = None) -> Iterator[TrialReport]:
        """Measure the epochs after :attr:`epoch`, up to ``up_to`` (default: the maximum), yielding each
        report as it is measured. Stopping the iteration between epochs trains no further."""
        last = self.max_epochs if up_to is None else check_epochs(up_to, self.max_epochs, self._where, "up_to")
        if self._closed:
            raise ValueError(f"this evaluation on {self._where} is closed; a new one on its checkpoint_dir resumes it")
        return self._measured(last)  # checked now, not at the first ``next``

    def _measured(self, last: int) -> Iterator[TrialReport]:
        while not self._ended and len(self._curve) < last:
            report = self._measure()
            if report is None:
                self._ended = True
                return
            self._curve.append(report)
            self.epochs_trained += 1
            self._ended = report.diverged
            yield report

    def train_to(self, epoch: int) -> tuple[TrialReport, ...]:
        """Measure up to ``epoch`` and return the new reports (none when the curve is already there)."""
        return tuple(self.epochs(check_epochs(epoch, self.max_epochs, self._where, "epoch")))

    def at(self, epoch: int) -> TrialReport:
        """Epoch ``epoch``'s report, measuring up to it if needed (a multi-fidelity optimizer's budget): the
        last one where the curve ended before it (diverged)."""
        self.train_to(epoch)
        return self._curve[min(epoch, len(self._curve)) - 1]

    def close(self) -> None:
        """Release what the evaluation holds; its checkpoint (where it has one) stays resumable."""
        self._closed = True

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class Evaluation(EpochEvaluation):
    """Live training of one configuration (made by :func:`evaluate`).

    It trains only when asked for an epoch, in one trial that stays open between epochs (the model,
    the optimizer and the data stay in memory; time between epochs is not the trial's). Each epoch's
    checkpoint is saved before its report is handed out, so closing the evaluation after any epoch
    loses nothing: :func:`evaluate` on the same ``checkpoint_dir`` continues from there."""

    def __init__(
        self,
        task: TaskSpec,
        config: dict[str, float],
        seed: int,
        warm_start: str,
        warm_start_params: dict[str, Any],
        device: Any,
        checkpoint_dir: Path,
        scratch: tempfile.TemporaryDirectory | None,
    ) -> None:
        from ohgw_bench.execution.trial import read_checkpoint

        found = read_checkpoint(checkpoint_dir)
        if found is not None and len(found.reports) != found.epoch:
            raise ValueError(
                f"checkpoint_dir {checkpoint_dir} holds {found.epoch} trained epoch(s) but the reports of "
                f"{len(found.reports)}: its checkpoint was written by a version that did not keep them; "
                "evaluate in a new checkpoint_dir"
            )
        super().__init__(task.max_epochs, task.name, found.reports if found is not None else ())
        self.task = task
        self.config = config
        self.seed = seed
        self.checkpoint_dir = checkpoint_dir
        self._warm_start_name = warm_start
        self._params = warm_start_params
        self._device = device
        self._scratch = scratch
        self._record = found.warm_start if found is not None else None
        self._ended = self._ended or (found is not None and found.diverged)
        self._trial: Generator[dict[str, Any], None, None] | None = None

    @property
    def warm_start(self) -> WarmStartRecord | None:
        return self._record

    def _measure(self) -> TrialReport | None:
        if self._trial is None:
            self._trial = self._start()
        flat = next(self._trial, None)
        if flat is None:
            return None
        self._record = warm_start_from_report(flat)
        return from_report(flat)

    def _start(self) -> Generator[dict[str, Any], None, None]:
        """The trial, from this evaluation's checkpoint: the task's data on the device and the warm
        start's FLOP count come first, off the trial's clock, as in a warm worker."""
        import torch

        from ohgw_bench.execution.trial import TrialSetup, count_warm_start_flops, prepare_process, trial_epochs

        device = torch.device(
            self._device if self._device is not None else "cuda" if torch.cuda.is_available() else "cpu"
        )
        data = prepare_process(self.task, device)
        count_warm_start_flops(self.task, data, self._warm_start_name, self._params)
        # the trial is open to the task's maximum; it trains an epoch only when the next one is asked for
        setup = TrialSetup(self._warm_start_name, self._params, seed=self.seed, max_epoch=self.task.max_epochs)
        return trial_epochs(self.task, self.config, setup, self.checkpoint_dir, device, data=data)

    def close(self) -> None:
        """End the trial after its last measured epoch; remove the checkpoint folder if this evaluation
        made it (none was given)."""
        if self._trial is not None:
            self._trial.close()
            self._trial = None
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None
        super().close()


def evaluate(
    task: TaskSpec,
    config: Mapping[str, float],
    seed: int = 0,
    warm_start: str = "none",
    warm_start_params: Mapping[str, Any] | None = None,
    device: Any = None,
    checkpoint_dir: Path | str | None = None,
) -> Evaluation:
    """An evaluation of ``config`` (the task's search-space coordinates) with trial seed ``seed`` after
    ``warm_start``, nothing trained yet. ``checkpoint_dir``: where its checkpoint lives, one folder per
    (configuration, seed, warm start); a folder that holds one continues it. None: a temporary folder,
    removed on :meth:`~Evaluation.close`. Raises ValueError, naming what is wrong, on a config with a
    missing, unknown or out-of-bounds key, a seed outside [0, 2**32 - 1], an unknown warm-start
    parameter, or a checkpoint_dir that holds another evaluation."""
    check_seed("seed", seed)
    check_config(task, config)
    params = check_warm_start(warm_start, warm_start_params)
    values = {k: float(config[k]) for k in task.space.names}
    identity = _identity(task, values, seed, warm_start, params)
    scratch = None
    if checkpoint_dir is None:
        scratch = tempfile.TemporaryDirectory(prefix="ohgw-evaluation-")
        folder = Path(scratch.name)
    else:
        folder = Path(checkpoint_dir)
    claim_checkpoint_dir(folder, identity)
    return Evaluation(task, values, seed, warm_start, params, device, folder, scratch)


def _identity(
    task: TaskSpec, config: dict[str, float], seed: int, warm_start: str, params: dict[str, Any]
) -> dict[str, Any]:
    """What a checkpoint folder evaluates, as its evaluation.json reads back."""
    record = {"task": task.name, "config": config, "seed": seed, "warm_start": warm_start, "warm_start_params": params}
    return json.loads(json.dumps(record, sort_keys=True))


def claim_checkpoint_dir(folder: Path, identity: dict[str, Any]) -> None:
    """Write ``folder``'s evaluation.json, or check that the one there is ``identity`` (JSON values):
    resuming another configuration's checkpoint would continue its weights under this configuration's name."""
    from ohgw_bench.execution.trial import CHECKPOINT

    path = folder / IDENTITY
    if path.exists():
        found = json.loads(path.read_text(encoding="utf-8"))
        if found != identity:
            raise ValueError(
                f"checkpoint_dir {folder} holds the evaluation of {found}, not of {identity}: "
                "give each configuration, seed and warm start a folder of its own"
            )
        return
    if (folder / CHECKPOINT).exists():
        raise ValueError(
            f"checkpoint_dir {folder} holds a trial checkpoint but no {IDENTITY}: it is not an evaluation's "
            "(a run's trial?); evaluate in a new checkpoint_dir"
        )
    folder.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, identity)
