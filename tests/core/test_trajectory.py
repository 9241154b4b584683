"""Trajectory v1: write, read back, survive a crash mid-line."""

from __future__ import annotations

import json
import re

import pytest

from ohgw_bench.core.trajectory import (
    EVENTS,
    META,
    TRIALS,
    EventRecord,
    JsonlAppender,
    Trajectory,
    TrialRecord,
    find_runs,
    read_jsonl,
    write_json_atomic,
)


def _trial(trial_id: int, status: str) -> TrialRecord:
    return TrialRecord(
        trial_id=trial_id,
        config_sampled={"log10_lr": -1.0},
        config_used={"log10_lr": -1.01},
        hypergrad={"log10_lr": 10.0},
        hypergrad_kind={"log10_lr": "exact"},
        clipped={"log10_lr": False},
        warm_start={"name": "ohgw", "seconds": 0.1},
        status=status,
    )


def _event(trial_id: int, epoch: int, acc: float) -> EventRecord:
    return EventRecord(
        trial_id=trial_id,
        epoch=epoch,
        val_acc=acc,
        val_loss=1.0,
        test_acc=acc,
        train_loss=1.0,
        tuner_seconds=float(epoch),
        trial_seconds=float(epoch),
        epochs_total=epoch,
        flops_total=1e6,
    )


def _write_run(tmp_path):
    write_json_atomic(
        tmp_path / META,
        {
            "schema_version": 1,
            "status": "complete",
            "task": "t",
            "optimizer": "o",
            "seed": 0,
            "budget": {"amount": 10, "clock": "epochs"},
        },
    )
    trials, events = JsonlAppender(tmp_path / TRIALS), JsonlAppender(tmp_path / EVENTS)
    trials.append(_trial(0, "running"))
    events.append(_event(0, 1, 0.5))
    events.append(_event(0, 2, 0.7))
    trials.append(_trial(0, "completed"))
    trials.close()
    events.close()


def test_round_trip(tmp_path):
    run = tmp_path / "task" / "opt" / "seed-0"
    run.mkdir(parents=True)
    _write_run(run)
    traj = Trajectory.read(run)
    assert traj.meta.status == "complete"
    assert [t["status"] for t in traj.trials] == ["completed"]  # last line of a trial wins
    assert traj.trials[0]["config_used"] == {"log10_lr": -1.01}
    assert [e["val_acc"] for e in traj.events] == [0.5, 0.7]
    assert not traj.truncated
    assert list(find_runs(tmp_path)) == [run]


def test_lines_are_visible_before_close(tmp_path):
    writer = JsonlAppender(tmp_path / EVENTS)
    writer.append(_event(3, 1, 0.1))
    assert json.loads((tmp_path / EVENTS).read_text())["trial_id"] == 3  # flushed per line
    writer.close()


def test_unflushed_lines_read_as_a_prefix_until_closed(tmp_path):
    """A replay does not flush each line: what is on disk before close is whole lines plus at most
    a cut last line, which the reader drops; after close every line is there."""
    writer = JsonlAppender(tmp_path / EVENTS, flush_each=False)
    for epoch in range(1, 2001):
        writer.append(_event(0, epoch, epoch / 2000))
    before = read_jsonl(tmp_path / EVENTS)
    assert [e["epoch"] for e in before.records] == list(range(1, len(before.records) + 1))
    assert len(before.records) < 2000  # still buffered
    writer.close()
    assert [e["epoch"] for e in read_jsonl(tmp_path / EVENTS).records] == list(range(1, 2001))


def test_truncated_last_line_is_dropped_and_reported(tmp_path):
    _write_run(tmp_path)
    with open(tmp_path / EVENTS, "a") as fh:
        fh.write('{"trial_id": 0, "epoch": 3, "val_a')  # crash mid-write
    traj = Trajectory.read(tmp_path)
    assert traj.truncated
    assert len(traj.events) == 2


def test_damage_before_the_last_line_is_an_error(tmp_path):
    (tmp_path / EVENTS).write_text('{"a": 1}\n{"broken\n{"a": 2}\n')
    with pytest.raises(ValueError, match=":2: damaged line"):
        read_jsonl(tmp_path / EVENTS)


def test_atomic_meta_leaves_no_temp_files(tmp_path):
    write_json_atomic(tmp_path / META, {"x": 1})
    write_json_atomic(tmp_path / META, {"x": 2})
    assert json.loads((tmp_path / META).read_text()) == {"x": 2}
    assert [p.name for p in tmp_path.iterdir()] == [META]


def test_not_a_run_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="not an ohgw-bench run folder"):
        Trajectory.read(tmp_path)


@pytest.mark.parametrize(
    "text,problem",
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"schema_version": 1, "status": "complete"}', "missing or mistyped task, optimizer, seed, budget"),
        (
            '{"schema_version": 1, "status": "failed", "task": "t", "optimizer": "o", "seed": 0, "budget": "120s"}',
            "missing or mistyped budget",
        ),
    ],
)
def test_a_damaged_meta_json_is_named_in_the_error(tmp_path, text, problem):
    from ohgw_bench.core.trajectory import read_meta

    (tmp_path / META).write_text(text)
    with pytest.raises(ValueError, match=f"{tmp_path / META}.*{re.escape(problem)}"):
        read_meta(tmp_path)
