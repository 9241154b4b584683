"""Hand-written run folders in the trajectory schema (v1), for the results/leaderboard/plot tests.

Only the standard library and json: the files are written exactly as the runner would,
so the readers are tested against the on-disk format rather than against themselves.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def _split_optimizer(optimizer: str) -> tuple[str, str, str]:
    """``asha+ohgw(eta=0.0003)`` → (scheduler ``asha``, warm start ``ohgw``, label ``ohgw(eta=0.0003)``)."""
    head, plus, tail = optimizer.partition("+")
    scheduler = head.split("(")[0]
    if not plus:
        return scheduler, "none", "none"
    return scheduler, tail.split("(")[0], tail


def write_run(
    root: Path,
    task: str,
    optimizer: str,
    seed: int,
    events: Sequence[dict[str, Any]],
    *,
    trials: Sequence[dict[str, Any]] | None = None,
    status: str = "complete",
    workers: int = 1,
    target: float = 0.9,
    budget: tuple[float, str] = (100.0, "tuner_seconds"),
    warm_start_params: dict[str, Any] | None = None,
    warm_start_settings: dict[str, Any] | None = None,
    truncate_events: bool = False,
) -> Path:
    """Write one run folder and return it.

    ``events``: dicts with at least ``val_acc`` and ``tuner_seconds``; the rest defaults to
    trial_id = index, epoch = 1, test_acc = val_acc − 0.01, epochs_total = index + 1,
    flops_total = (index + 1)·1e9, warm-start totals 0. ``trials``: full trial dicts; by
    default one trivial trial per distinct trial_id.
    ``warm_start_settings``: the parameters with defaults filled in, as the runner records them
    (left out by default, as in runs too old to record them).
    ``truncate_events`` appends half a JSON line, as a crash mid-write would.
    """
    scheduler, warm_start, label = _split_optimizer(optimizer)
    directory = Path(root) / task / optimizer / f"seed-{seed}"
    directory.mkdir(parents=True, exist_ok=True)
    meta = {
        "schema_version": 1,
        "task": task,
        "optimizer": optimizer,
        "scheduler": scheduler,
        "warm_start": warm_start,
        "warm_start_label": label,
        "warm_start_params": dict(warm_start_params or {}),
        **({} if warm_start_settings is None else {"warm_start_settings": warm_start_settings}),
        "seed": seed,
        "budget": {"amount": budget[0], "clock": budget[1]},
        "workers": workers,
        "target": target,
        "max_epochs": 9,
        "status": status,
        "started_at": "2026-01-01T00:00:00Z",
        "ended_at": None if status == "running" else "2026-01-01T01:00:00Z",
    }
    (directory / "meta.json").write_text(json.dumps(meta, indent=2))
    full_events = []
    for i, ev in enumerate(events):
        row = {
            "trial_id": i,
            "epoch": 1,
            "val_loss": 1.0 - ev["val_acc"],
            "test_acc": ev["val_acc"] - 0.01,
            "train_loss": 0.5,
            "trial_seconds": 1.0,
            "epochs_total": float(i + 1),
            "flops_total": (i + 1) * 1e9,
            "warm_start_flops_total": 0.0,
            "warm_start_seconds_total": 0.0,
        }
        row.update(ev)
        full_events.append(row)
    with open(directory / "events.jsonl", "w") as fh:
        for row in full_events:
            fh.write(json.dumps(row, sort_keys=True) + "\n")
        if truncate_events:
            fh.write('{"trial_id": 99, "epoch": 1, "val_a')
    if trials is None:
        ids = sorted({row["trial_id"] for row in full_events})
        trials = [trial(t) for t in ids]
    with open(directory / "trials.jsonl", "w") as fh:
        for row in trials:
            fh.write(json.dumps(row, sort_keys=True) + "\n")
    return directory


def trial(
    trial_id: int,
    sampled: dict[str, float] | None = None,
    used: dict[str, float] | None = None,
    peak: int = 0,
    train_peak: int = 0,
    name: str = "none",
    flops: float | None = None,
) -> dict[str, Any]:
    sampled = dict(sampled or {"lr": -2.0, "wd": -4.0})
    used = dict(used or sampled)
    return {
        "trial_id": trial_id,
        "config_sampled": sampled,
        "config_used": used,
        "hypergrad": {k: 0.0 for k in sampled},
        "hypergrad_kind": {k: "exact" for k in sampled},
        "clipped": {k: False for k in sampled},
        "warm_start": {
            "name": name,
            "params": {},
            "seconds": 0.0,
            "flops": (1e6 if peak else 0.0) if flops is None else flops,
            "peak_mem_bytes": peak,
            "train_step_peak_mem_bytes": train_peak,
            "note": "",
        },
        "status": "completed",
    }


def crossing_events(t_reach: float | None, t_end: float, tau: float = 0.9) -> list[dict[str, Any]]:
    """Three events: below τ at t/3, at τ+0.02 at ``t_reach`` (or below τ if None), one more at ``t_end``."""
    if t_reach is None:
        return [
            {"val_acc": 0.5, "tuner_seconds": t_end / 3},
            {"val_acc": tau - 0.05, "tuner_seconds": t_end / 2},
            {"val_acc": tau - 0.1, "tuner_seconds": t_end},
        ]
    return [
        {"val_acc": 0.5, "tuner_seconds": t_reach / 3},
        {"val_acc": tau + 0.02, "tuner_seconds": t_reach},
        {"val_acc": tau - 0.1, "tuner_seconds": t_end},
    ]


# What the runner records about the code, packages and device that ran (``run_meta``); the same for every
# fabricated run unless a test says otherwise, so that pairs are trusted.
PROVENANCE: dict[str, Any] = {
    "code_version": {"package_tree": "1" * 40, "pyproject": "2" * 40, "modified": False},
    "versions": {
        "ohgw-bench": "0.1.0",
        "python": "3.11.9",
        "torch": "2.3.1",
        "syne-tune": "0.13.0",
        "dehb": "0.1.2",
        "numpy": "1.26.4",
    },
    "device": "cpu: AMD EPYC 7B13 (2 cores, x86_64)",
}


def write_trusted_run(
    root: Path, task: str, optimizer: str, seed: int, events: list[dict], meta: dict[str, Any] | None = None, **kw: Any
) -> Path:
    """:func:`write_run` plus :data:`PROVENANCE`, with ``meta``'s top-level keys replacing any of it."""
    directory = write_run(root, task, optimizer, seed, events, **kw)
    path = directory / "meta.json"
    record = json.loads(path.read_text())
    record.update(copy.deepcopy(PROVENANCE))
    record.update(meta or {})
    path.write_text(json.dumps(record, indent=2))
    return directory
