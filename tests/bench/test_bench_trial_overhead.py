"""Per-trial orchestration overhead: what a trial start or resume costs besides training.

Run:  .venv/bin/python -m pytest tests/bench/test_bench_trial_overhead.py --benchmark-only -o addopts=""

A one-epoch rung of digits-cnn three ways, side by side: the epoch trained in-process; a
trial on a warm worker (the default backend: a job sent over a pipe to a process that
already holds torch and the data, answered at its report with "continue"); and a trial as
syne-tune's LocalBackend runs it (a fresh Python process running ohgw_bench/execution/backends/subprocess_trial.py:
imports, data load, model build, checkpoint I/O, one epoch). Start = no checkpoint (warm
start ``none``, so only orchestration is measured); resume = continue from the epoch-1
checkpoint to epoch 2.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path

import torch
from benchutil import interleaved, report

from ohgw_bench.core.registry import get_task
from ohgw_bench.core.space import TrainingHparams
from ohgw_bench.execution.backends.trial_config import THREADS_KEY
from ohgw_bench.execution.backends.workers.messages import Report, StartTrial, TrialEnded
from ohgw_bench.execution.backends.workers.pool import WorkerPool
from ohgw_bench.execution.plan import scheduler_config_space
from ohgw_bench.execution.runner import worker_spec
from ohgw_bench.execution.train import Trainer
from tests.conftest import plan_run

ENTRY = Path(__file__).resolve().parents[2] / "ohgw_bench" / "execution" / "backends" / "subprocess_trial.py"


def _trial_process(config_path: Path, checkpoint_dir: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            str(ENTRY),
            "--st_config_json_filename",
            str(config_path),
            "--st_checkpoint_dir",
            str(checkpoint_dir),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )


def _on_worker(pool: WorkerPool, trial_id: int, config: dict, checkpoint_dir: Path) -> None:
    """One trial through the warm pool, answering every report with "continue" at once."""
    pool.submit(StartTrial(trial_id, config, str(checkpoint_dir)))
    while True:
        for event in pool.poll(1.0):
            if isinstance(event, Report):
                pool.decide(trial_id, "continue")
            elif isinstance(event, TrialEnded):
                assert event.status == "completed", event.error
                return


def test_trial_start_and_resume_overhead(benchmark, capsys, tmp_path):
    plan = plan_run("digits-cnn", "asha", seed=0, budget="10s", workers=1, out=tmp_path / "unused")
    config = {k: v for k, v in scheduler_config_space(plan).items() if not hasattr(v, "sample")}
    config.update(
        {
            "log10_lr": -1.0,
            "log10_wd": -4.0,
            "momentum": 0.9,
            "aug_magnitude": 0.3,
            "label_smoothing": 0.1,
            "ohgw_threads": 1,
        }
    )
    start_cfg, resume_cfg = tmp_path / "start.json", tmp_path / "resume.json"
    start_cfg.write_text(json.dumps({**config, "epochs": 1}))
    resume_cfg.write_text(json.dumps({**config, "epochs": 2}))
    resume_ckpt = tmp_path / "resume" / "0" / "checkpoints"
    _trial_process(start_cfg, resume_ckpt)  # the epoch-1 checkpoint every resume starts from
    saved = resume_ckpt.parent / "saved"
    shutil.copytree(resume_ckpt, saved)

    task = get_task("digits-cnn")
    torch.set_num_threads(1)
    data = task.load_data()
    hparams = TrainingHparams.from_config(config)

    def in_process_epoch():
        trainer = Trainer(
            task.create_model(10),
            data,
            hparams,
            train_inputs=task.train_inputs,
            eval_inputs=task.eval_inputs,
            batch_size=task.batch_size,
            max_epochs=task.max_epochs,
            seed=0,
        )
        trainer.run_epoch()

    counter = {"n": 0}

    def fresh_dir() -> Path:
        counter["n"] += 1
        return tmp_path / "start" / str(counter["n"]) / "checkpoints"

    def reset_resume_checkpoint() -> None:
        shutil.rmtree(resume_ckpt)
        shutil.copytree(saved, resume_ckpt)

    def process_resume():
        reset_resume_checkpoint()
        _trial_process(resume_cfg, resume_ckpt)

    def worker_resume():
        reset_resume_checkpoint()
        _on_worker(pool, 0, {**config, "epochs": 2}, resume_ckpt)

    spec = worker_spec(plan)
    pool = WorkerPool(1, dataclasses.replace(spec, constants={**spec.constants, THREADS_KEY: 1}), tmp_path / "workers")
    pool.start()
    try:
        benchmark.group = "trial orchestration, digits-cnn one-epoch rung, 1 thread"
        med = interleaved(
            benchmark,
            {
                "epoch": in_process_epoch,
                "worker start": lambda: _on_worker(pool, counter["n"], {**config, "epochs": 1}, fresh_dir()),
                "worker resume": worker_resume,
                "process start": lambda: _trial_process(start_cfg, fresh_dir()),
                "process resume": process_resume,
            },
            rounds=7,
        )
    finally:
        pool.close()
    epoch = med["epoch"]
    lines = [f"in-process epoch (train + val + test eval): {epoch:6.3f} s"]
    for kind in ("worker start", "worker resume", "process start", "process resume"):
        overhead = med[kind] - epoch
        benchmark.extra_info[f"{kind} overhead seconds"] = overhead
        lines.append(
            f"trial {kind:<14}, one epoch: {med[kind]:6.3f} s  -> overhead {overhead:+6.3f} s = "
            f"{overhead / med[kind]:+.0%} of the rung, training {epoch / med[kind]:.0%}"
        )
    benchmark.extra_info["epoch_seconds"] = epoch
    report(capsys, lines)
