"""One trial: warm-start the sampled config (once), then train epoch by epoch and report.

``run_trial`` is a plain function so that any backend can call it — syne-tune's
LocalBackend runs it through :mod:`ohgw_bench.execution.backends.subprocess_trial` in a subprocess, a backend
that keeps workers warm could call it directly. The warm-started config x′ is stored in
the checkpoint *before* training starts: a resumed trial (PASHA/DyHPO pause and resume,
and then send the ORIGINAL config) reads x′ back and never warm-starts twice.

:func:`trial_epochs` is the same trial as a generator, for callers that want each epoch as it is
measured and decide between epochs themselves (the per-epoch evaluation of
:mod:`ohgw_bench.execution.evaluation`): ``run_trial`` is that generator handing each report on.
The checkpoint also keeps every report so far, so a resumed caller can read the whole curve back
(:func:`read_checkpoint`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ohgw_bench.core.atomic import atomic_write
from ohgw_bench.core.records import TrialReport, WarmStartRecord, encode_warm_start, to_report
from ohgw_bench.core.space import TrainingHparams
from ohgw_bench.core.specs import TaskSpec
from ohgw_bench.execution.accounting import count_flops, measure
from ohgw_bench.execution.train import Trainer
from ohgw_bench.warmstarts import WarmStartContext, apply_warm_start

CHECKPOINT = "trial.pt"


@dataclass(frozen=True)
class TrialSetup:
    """What a trial needs besides its config (the constants the runner passes)."""

    warm_start: str
    warm_start_params: Mapping[str, Any]
    seed: int  # trial seed: same for the same trial index in every arm of one run seed
    max_epoch: int  # train up to this epoch (the scheduler's resource for this start)
    graphs: bool = True  # CUDA graphs where the task allows them (a run's --no-graphs: False)


def trial_seed(run_seed: int, trial_id: int) -> int:
    return (run_seed * 1_000_003 + trial_id * 7_919 + 12_345) % (2**31 - 1)


@dataclass(frozen=True)
class TrialCheckpoint:
    """What a trial's checkpoint says it has done, read without training anything."""

    warm_start: WarmStartRecord
    reports: tuple[TrialReport, ...]  # every epoch so far; none in a checkpoint of code that did not keep them
    epoch: int  # epochs trained
    diverged: bool  # a resume of it ends at once


def read_checkpoint(checkpoint_dir: Path) -> TrialCheckpoint | None:
    """The checkpoint in ``checkpoint_dir``; None before the trial's first start."""
    path = Path(checkpoint_dir) / CHECKPOINT
    if not path.exists():
        return None
    # plain tensors and containers only, as a resume reads it: a checkpoint must not run code
    state = torch.load(path, map_location="cpu", weights_only=True)
    trainer = state["trainer"]
    return TrialCheckpoint(
        warm_start=WarmStartRecord.from_json(state["record"]),
        reports=tuple(TrialReport(**r) for r in state.get("reports", [])),
        epoch=0 if trainer is None else int(trainer["epoch"]),
        diverged=bool(state.get("diverged", False)),
    )


def _save_atomic(state: dict, path: Path) -> None:
    atomic_write(path, lambda f: torch.save(state, f), durable=False)


_FLOPS_CACHE: dict[tuple, tuple[float, float]] = {}


def _model_flops(
    task: TaskSpec, num_classes: int, in_shape: tuple[int, ...], target_shape: tuple[int, ...] = ()
) -> tuple[float, float]:
    """(training step, eval forward per example) FLOPs, counted once on meta tensors. ``target_shape``:
    one example's targets, ``()`` for a class label, ``(T,)`` for a sequence's next-symbol targets."""
    key = (task.name, num_classes, in_shape, target_shape, task.batch_size)
    if key not in _FLOPS_CACHE:
        model = task.create_model(num_classes).to("meta")
        x = torch.empty((task.batch_size, *in_shape), device="meta")
        y = torch.zeros((task.batch_size, *target_shape), dtype=torch.long, device="meta")
        step = count_flops(lambda: torch.nn.functional.cross_entropy(model(x), y).backward())
        with torch.no_grad():
            fwd = count_flops(lambda: model(x[:1]))
        _FLOPS_CACHE[key] = (step, fwd)
    return _FLOPS_CACHE[key]


_WARM_START_FLOPS_CACHE: dict[tuple, float] = {}


def warm_start_flops(
    task: TaskSpec,
    num_classes: int,
    in_shape: tuple[int, ...],
    space,
    name: str,
    params: Mapping[str, Any],
    target_shape: tuple[int, ...] = (),
) -> float:
    """FLOPs of one warm start, counted on meta tensors (the same code path, no compute), once
    per process and (task, warm start, parameters, shape): a warm worker counts them before its
    first trial, off every trial's clock."""
    import json

    from ohgw_bench.core.registry import get_warm_start
    from ohgw_bench.core.splits import DataSplits

    if not get_warm_start(name).computes:
        return 0.0
    key = (task.name, num_classes, in_shape, target_shape, name, json.dumps(dict(params), sort_keys=True))
    if key not in _WARM_START_FLOPS_CACHE:
        n = task.batch_size
        meta_x = torch.empty((n, *in_shape), device="meta")
        meta_y = torch.zeros((n, *target_shape), dtype=torch.long, device="meta")
        data = DataSplits(meta_x, meta_y, meta_x, meta_y, meta_x, meta_y, num_classes)
        ctx = WarmStartContext(
            task.create_model(num_classes).to("meta"),
            data,
            space,
            train_inputs=lambda x, m, g: x,
            eval_inputs=lambda x: x,
            batch_size=n,
            seed=0,
            device=torch.device("meta"),
        )
        config = {h.name: (h.low + h.high) / 2 for h in space.hyperparameters}
        _WARM_START_FLOPS_CACHE[key] = count_flops(lambda: apply_warm_start(name, params, config, ctx))
    return _WARM_START_FLOPS_CACHE[key]


_DEVICE_WARM = False


def _first_device_use(model: torch.nn.Module, data, eval_inputs: Callable, batch_size: int) -> None:
    """One throwaway float32 forward/backward on a copy of the model, once per process. The first
    CUDA work of a process pays for cuBLAS/cuDNN set-up and kernel choice (1.7 s against 28 ms for
    the warm start itself on an H200), and the CPU's first convolutions pay for their kernels'
    set-up too; that is the process's cost, never the warm start's or an epoch's."""
    import copy

    import torch.nn.functional as F

    global _DEVICE_WARM
    if _DEVICE_WARM:
        return
    scratch = copy.deepcopy(model)
    x = eval_inputs(data.val_x[:batch_size])
    F.cross_entropy(scratch(x), data.val_y[:batch_size]).backward()
    if x.device.type == "cuda":
        torch.cuda.synchronize()
    _DEVICE_WARM = True


def prepare_process(task: TaskSpec, device: torch.device):
    """What a warm worker pays once instead of per trial: the task's data on the device, the first
    device work, the model's FLOP count. Returns the data for :func:`run_trial`."""
    data = task.load_data().to(device)
    model = task.create_model(data.num_classes).to(device)
    _first_device_use(model, data, task.eval_inputs, task.batch_size)
    _model_flops(task, data.num_classes, tuple(data.train_x.shape[1:]), tuple(data.train_y.shape[1:]))
    return data


def count_warm_start_flops(task: TaskSpec, data, warm_start: str, params: Mapping[str, Any]) -> None:
    """Count a warm start's FLOPs before any trial's clock starts (a warm worker: before it says
    Ready), so that :func:`run_trial` finds them counted: counting is bookkeeping, not work."""
    shapes = tuple(data.train_x.shape[1:]), tuple(data.train_y.shape[1:])
    warm_start_flops(task, data.num_classes, shapes[0], task.space, warm_start, params, shapes[1])


def _graphs_for(task: TaskSpec, setup: TrialSetup, num_classes: int, device: torch.device):
    """This process's compiled step for the task's model on CUDA; None (eager) on the CPU, or where
    the task or the run turned graphs off."""
    from ohgw_bench.execution.graphs import CUDA_GRAPHS, graphed_training

    if device.type != "cuda" or not (task.graphs and setup.graphs):
        return None
    return graphed_training((task.name, num_classes, str(device)), CUDA_GRAPHS)


def run_trial(
    task: TaskSpec,
    config: Mapping[str, float],
    setup: TrialSetup,
    checkpoint_dir: Path,
    report: Callable[..., None],
    device: torch.device | None = None,
    data=None,
) -> None:
    """Warm-start (first start only), train to ``setup.max_epoch`` and report every epoch.

    ``data``: the task's splits already on ``device`` (a warm worker loads them once).
    ``trial_seconds`` counts the trial's own work: time spent inside ``report`` (a warm
    worker waits there for the scheduler's decision) is left out. An exception raised by
    ``report`` (a paused or stopped trial) ends the trial; its checkpoint holds that epoch."""
    with contextlib.closing(trial_epochs(task, config, setup, checkpoint_dir, device, data)) as epochs:
        for flat in epochs:
            report(**flat)


def trial_epochs(
    task: TaskSpec,
    config: Mapping[str, float],
    setup: TrialSetup,
    checkpoint_dir: Path,
    device: torch.device | None = None,
    data=None,
) -> Generator[dict[str, Any], None, None]:
    """:func:`run_trial` as a generator: yields each epoch's flat report (:func:`~ohgw_bench.core.records.to_report`)
    once its checkpoint is saved. Nothing runs before the first ``next``, and the time the caller
    keeps the generator suspended is not the trial's; closing it between epochs pauses the trial
    (a later start from the same ``checkpoint_dir`` resumes)."""
    started = time.perf_counter()
    device = device or torch.device("cuda" if torch.cuda.is_available() else "cpu")
    checkpoint_dir = Path(checkpoint_dir)
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = checkpoint_dir / CHECKPOINT
    if data is None:
        data = task.load_data().to(device)
    in_shape = tuple(data.train_x.shape[1:])
    target_shape = tuple(data.train_y.shape[1:])
    step_flops, fwd_flops = _model_flops(task, data.num_classes, in_shape, target_shape)
    torch.manual_seed(setup.seed)
    model = task.create_model(data.num_classes)

    if ckpt_path.exists():  # resume: keep x′ and its record, never warm-start again
        # plain tensors and containers only: a results folder may be shared, and a checkpoint must not run code
        state = torch.load(ckpt_path, map_location=device, weights_only=True)
        record = WarmStartRecord.from_json(state["record"])
    else:
        model.to(device)
        if device.type == "cuda":
            _first_device_use(model, data, task.eval_inputs, task.batch_size)
        ctx = WarmStartContext(
            model, data, task.space, task.train_inputs, task.eval_inputs, task.batch_size, setup.seed, device
        )
        measured = measure(lambda: apply_warm_start(setup.warm_start, setup.warm_start_params, config, ctx), device)
        outcome = measured.result
        record = WarmStartRecord(
            name=setup.warm_start,
            params=dict(setup.warm_start_params),
            config_sampled={k: float(config[k]) for k in task.space.names},
            config_used=outcome.config_used,
            hypergrad=outcome.hypergrad,
            hypergrad_kind=outcome.hypergrad_kind,
            clipped=outcome.clipped,
            seconds=measured.seconds,
            flops=warm_start_flops(
                task, data.num_classes, in_shape, task.space, setup.warm_start, setup.warm_start_params, target_shape
            ),
            peak_mem_bytes=measured.peak_mem_bytes,
            note=outcome.note,
        )
        state = {
            "record": record.to_json(),
            "trainer": None,
            "trial_seconds": 0.0,
            "trial_flops": record.flops,
            "reports": [],
        }
        _save_atomic(state, ckpt_path)

    hparams = TrainingHparams.from_config(record.config_used)
    trainer = Trainer(
        model,
        data,
        hparams,
        train_inputs=task.train_inputs,
        eval_inputs=task.eval_inputs,
        batch_size=task.batch_size,
        max_epochs=task.max_epochs,
        seed=setup.seed,
        eval_batch_size=task.eval_batch_size,
        device=device,
        graphs=_graphs_for(task, setup, data.num_classes, device),
    )
    if state["trainer"] is not None:
        trainer.load_state_dict(state["trainer"])
    seconds_before = state["trial_seconds"] + (time.perf_counter() - started)
    epoch_flops = step_flops * trainer.steps_per_epoch + fwd_flops * (len(data.val_y) + len(data.test_y))

    if state.get("diverged"):
        return  # resumed after it diverged: nothing left to train or report
    encoded = encode_warm_start(record)
    session_start = time.perf_counter()
    reporting = 0.0  # seconds spent inside report(), not the trial's work
    while trainer.epoch < setup.max_epoch:
        if trainer.epoch == 0 and not record.train_step_peak_mem_bytes:
            epoch = measure(trainer.run_epoch, device)
            record = dataclasses.replace(record, train_step_peak_mem_bytes=epoch.peak_mem_bytes)
            state["record"] = record.to_json()
            encoded = encode_warm_start(record)
            result = epoch.result
        else:
            result = trainer.run_epoch()
        state["trial_flops"] += epoch_flops
        # A loss that is no longer finite never recovers: the trial reports what it measured
        # this epoch, flagged, and ends (a resume of it ends at once).
        state["diverged"] = not (math.isfinite(result.train_loss) and math.isfinite(result.val_loss))
        trial_seconds = seconds_before + (time.perf_counter() - session_start - reporting)
        # compilation (the first trial of a process on CUDA) is in trial_seconds, and also said apart
        compile_seconds = state.get("compile_seconds", 0.0) + trainer.compile_seconds
        trial_report = TrialReport(
            epoch=result.epoch,
            val_acc=result.val_acc,
            val_loss=result.val_loss,
            test_acc=result.test_acc,
            test_loss=result.test_loss,
            train_loss=result.train_loss,
            trial_seconds=trial_seconds,
            trial_flops=state["trial_flops"],
            compile_seconds=compile_seconds,
            diverged=state["diverged"],
        )
        # a checkpoint written before reports were kept (an older run's) holds none of its earlier epochs
        state["reports"] = [*state.get("reports", []), dataclasses.asdict(trial_report)]
        _save_atomic(
            {
                **state,
                "trainer": trainer.state_dict(),
                "trial_seconds": trial_seconds,
                "compile_seconds": compile_seconds,
            },
            ckpt_path,
        )
        before_report = time.perf_counter()
        yield to_report(trial_report, encoded)
        reporting += time.perf_counter() - before_report
        if state["diverged"]:
            return
