""" "Complete" means complete (issue 23, item 7). A run whose folder vanished or whose trajectory files
went missing fails loudly, and readers never count a complete meta.json beside missing files; a sweep
refuses a key whose complete run had another budget or worker count, and the leaderboard refuses to
pair such runs; a full disk still leaves a readable failed record, or stderr says exactly why not.

Runs here are replays of the session's twin table (no training) or hand-written run folders."""

from __future__ import annotations

import errno
import json
import shutil
import warnings
from pathlib import Path

import pytest

from ohgw_bench.cli import main
from ohgw_bench.core.trajectory import EVENTS, META, TRIALS, MissingTrajectory, Trajectory, read_meta, run_dir
from tests.helpers import twin
from tests.helpers.synthetic import crossing_events, write_run, write_trusted_run

OPT, SEED = "asha", 3


def _replay_argv(out: Path, table: Path, budget: str = "30ep") -> list[str]:
    args = ["run", "--task", twin.TASK, "--opt", OPT, "--seed", str(SEED), "--budget", budget, "--workers", "1"]
    return [*args, "--backend", f"table:{table}", "--out", str(out), "--quiet"]


def _after_reports(monkeypatch, n: int, action) -> None:
    """Call ``action(writer)`` once, right after the run's ``n``-th report was written."""
    from ohgw_bench.execution.writer import TrajectoryWriter

    original, seen = TrajectoryWriter.on_result, [0]

    def on_result(self, *args, **kwargs):
        original(self, *args, **kwargs)
        seen[0] += 1
        if seen[0] == n:
            action(self)

    monkeypatch.setattr(TrajectoryWriter, "on_result", on_result)


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


# --------------------------------------------------------------------------- the run fails loudly


def test_a_run_whose_out_folder_vanished_fails_and_writes_nothing(twin_table, tmp_path, monkeypatch, capsys):
    """The audit's case: --out deleted mid-run once left a folder holding only a complete meta.json."""
    out = tmp_path / "out"
    _after_reports(monkeypatch, 3, lambda writer: shutil.rmtree(out))
    assert main(_replay_argv(out, twin_table)) == 1
    err = capsys.readouterr().err
    assert f"the run folder {run_dir(out, twin.TASK, OPT, SEED)} vanished while the run ran" in err
    assert "nothing was written" in err and "see " not in err
    assert not out.exists()  # not made again for a record without a trajectory


@pytest.mark.parametrize("lost", [EVENTS, TRIALS])
def test_a_run_whose_trajectory_file_went_missing_is_recorded_failed(twin_table, tmp_path, monkeypatch, capsys, lost):
    out = tmp_path / "out"
    directory = run_dir(out, twin.TASK, OPT, SEED)
    _after_reports(monkeypatch, 3, lambda writer: (directory / lost).unlink())
    assert main(_replay_argv(out, twin_table)) == 1
    err = capsys.readouterr().err
    assert f"IncompleteTrajectory: {directory / lost} is missing: the run is not complete" in err
    meta = read_meta(directory)
    assert meta.status == "failed" and meta.error == f"IncompleteTrajectory: {directory / lost} is missing"
    kept = {META, TRIALS, EVENTS} - {lost}
    assert {p.name for p in directory.iterdir()} == kept | {".work"}  # a failed run keeps its work folder
    assert not (directory / ".work" / "reserve").exists()
    with pytest.raises(MissingTrajectory):  # had it been written complete, no reader would count it
        _complete_copy_without(directory, tmp_path, lost)


def _complete_copy_without(directory: Path, tmp_path: Path, lost: str) -> Trajectory:
    """Read a copy of ``directory`` relabelled complete (as the old runner wrote it) with ``lost`` missing."""
    copy = tmp_path / "copy"
    shutil.copytree(directory, copy)
    meta = json.loads((copy / META).read_text())
    (copy / META).write_text(json.dumps({**meta, "status": "complete"}))
    return Trajectory.read(copy)


def _disk_full(monkeypatch, after_lines: int, final_writes_fail: int) -> None:
    """The disk fills up: every trajectory line after the first ``after_lines`` fails with ENOSPC, and so do
    the first ``final_writes_fail`` writes of meta.json after the one made as the run started."""
    import ohgw_bench.execution.runner as runner
    from ohgw_bench.core.trajectory import JsonlAppender

    append, lines = JsonlAppender.append, [0]

    def full_append(self, record):
        lines[0] += 1
        if lines[0] > after_lines:
            raise OSError(errno.ENOSPC, "No space left on device")
        append(self, record)

    write, writes = runner.write_json_atomic, [0]

    def full_write(path, payload):
        writes[0] += 1
        if 2 <= writes[0] <= 1 + final_writes_fail:
            raise OSError(errno.ENOSPC, "No space left on device")
        write(path, payload)

    monkeypatch.setattr(JsonlAppender, "append", full_append)
    monkeypatch.setattr(runner, "write_json_atomic", full_write)


def test_a_full_disk_still_leaves_a_readable_failed_record(twin_table, tmp_path, monkeypatch, capsys):
    """The first try at the final meta.json fails too; the run frees the space it held and writes it."""
    out = tmp_path / "out"
    directory = run_dir(out, twin.TASK, OPT, SEED)
    _disk_full(monkeypatch, after_lines=4, final_writes_fail=1)
    assert main(_replay_argv(out, twin_table)) == 1
    err = capsys.readouterr().err
    assert f"run failed: OSError: [Errno 28] No space left on device (see {directory / META})" in err
    meta = read_meta(directory)
    assert meta.status == "failed" and meta.error == "OSError: [Errno 28] No space left on device"
    assert meta.ended_at and "No space left" in meta.traceback
    assert not (directory / ".work" / "reserve").exists()  # freed to make room for the record


def test_a_full_disk_that_takes_the_record_too_says_so_on_stderr(twin_table, tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    directory = run_dir(out, twin.TASK, OPT, SEED)
    _disk_full(monkeypatch, after_lines=4, final_writes_fail=2)
    assert main(_replay_argv(out, twin_table)) == 1
    err = capsys.readouterr().err
    assert (
        f"could not write the run's final record {directory / META}: [Errno 28] No space left on device "
        "(even after freeing its reserve); it still says 'running', though the run failed: "
        "OSError: [Errno 28] No space left on device"
    ) in err
    assert read_meta(directory).status == "running"  # what stderr said it would find


def test_a_failure_before_the_run_started_names_the_record_it_could_not_write(tmp_path, monkeypatch):
    import ohgw_bench.execution.meta as meta_module
    from tests.conftest import plan_run

    plan = plan_run(twin.TASK, OPT, seed=SEED, budget="1ep", workers=1, out=tmp_path)

    def full(path, payload):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(meta_module, "write_json_atomic", full)
    with pytest.raises(OSError, match=f"could not record the failure in {plan.directory / META}: No space left"):
        meta_module.write_failed_meta(plan, RuntimeError("damaged data"), "traceback")


# --------------------------------------------------------------------------- readers


def _emptied_run(root: Path, lost: tuple[str, ...] = (EVENTS,)) -> Path:
    directory = write_trusted_run(root, "t", "asha", 9, crossing_events(30.0, 90.0))
    for name in lost:
        (directory / name).unlink()
    return directory


def test_readers_refuse_a_complete_meta_beside_missing_trajectory_files(tmp_path, capsys):
    from ohgw_bench.analysis.results import IncompleteRunWarning, load_results, summarize_runs

    kept = write_trusted_run(tmp_path, "t", "asha", 0, crossing_events(30.0, 90.0))
    emptied = _emptied_run(tmp_path, (TRIALS, EVENTS))
    with pytest.raises(MissingTrajectory, match=f"{emptied}: meta.json says complete but trials.jsonl and events"):
        Trajectory.read(emptied)
    for include in (False, True):  # no data to rank, even when incomplete runs are asked for
        with pytest.warns(IncompleteRunWarning, match=f"incomplete run {emptied}: .*is missing"):
            summary = summarize_runs(tmp_path, include_incomplete=include)
        assert summary["run_dir"].tolist() == [str(kept)]
        with pytest.warns(IncompleteRunWarning):
            events = load_results(tmp_path, include_incomplete=include)
        assert set(events["run_dir"]) == {str(kept)}
        assert [r["run_dir"] for r in events.attrs["incomplete_runs"]] == [str(emptied)]
    assert main(["show", str(emptied)]) == 2
    assert "says complete but trials.jsonl and events.jsonl is missing" in capsys.readouterr().err


def test_the_leaderboard_reports_and_leaves_out_such_a_run(tmp_path, capsys):
    for seed in range(3):
        write_trusted_run(tmp_path, "t", "asha", seed, crossing_events(40.0, 90.0))
        write_trusted_run(tmp_path, "t", "asha+ohgw", seed, crossing_events(20.0, 90.0))
    emptied = _emptied_run(tmp_path)
    assert main(["leaderboard", str(tmp_path), "--format", "csv"]) == 0
    captured = capsys.readouterr()
    assert f"warning: incomplete run {emptied}" in captured.err and "events.jsonl is missing" in captured.err
    import io

    import pandas as pd

    board = pd.read_csv(io.StringIO(captured.out))
    assert board.set_index("arm")["n_runs"].to_dict() == {"none": 3, "ohgw": 3}  # not the emptied none run


def test_a_sweep_resumes_a_complete_meta_beside_missing_files(tmp_path):
    from ohgw_bench.execution.sweep.run import inspect_run

    directory = write_run(tmp_path, "digits-cnn", "asha", 0, crossing_events(3.0, 9.0))
    assert inspect_run(directory) is None
    (directory / TRIALS).unlink()
    assert inspect_run(directory) == "meta.json says complete but trials.jsonl is missing"  # moved aside, re-run


# --------------------------------------------------------------------------- sweeps: other budgets and workers

SWEEP = ["sweep", "--tasks", "digits-cnn", "--opts", "asha", "--seeds", "0,1", "--quiet"]


def _complete_runs(out: Path, budget: tuple[float, str], workers: int = 1) -> dict[str, bytes]:
    for seed in (0, 1):
        write_run(out, "digits-cnn", "asha", seed, crossing_events(3.0, 9.0), budget=budget, workers=workers)
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(
    "budget, workers, flags, found",
    [
        ((8.0, "tuner_seconds"), 1, ["--budget", "1ep", "--workers", "1"], "budget 8s (asked: 1ep)"),
        ((3.0, "epochs"), 1, ["--budget", "3ep", "--workers", "2"], "workers 1 (asked: 2)"),
    ],
    ids=["budget", "workers"],
)
def test_a_sweep_refuses_complete_runs_of_other_settings_and_writes_nothing(
    tmp_path, capsys, budget, workers, flags, found
):
    """Neither skipped as done (the audit's case: a 12-epoch sweep counted 4-epoch runs as its own) nor
    replaced (their results would be lost): refused before anything starts, the runs named."""
    out = tmp_path / "out"
    before = _complete_runs(out, budget, workers)
    for dry in ([], ["--dry-run"]):
        assert main([*SWEEP, *flags, "--out", str(out), *dry]) == 2
        err = capsys.readouterr().err
        assert "2 run(s) in" in err and "are complete with another budget or worker count than this sweep asks" in err
        assert f"digits-cnn / asha / seed 0: {found}" in err and "Nothing was started" in err
        assert {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()} == before
        assert _listing(out) == sorted(
            {*before, "digits-cnn", "digits-cnn/asha", "digits-cnn/asha/seed-0", "digits-cnn/asha/seed-1"}
        )


def test_a_sweep_still_skips_complete_runs_of_its_own_settings(tmp_path, capsys):
    out = tmp_path / "out"
    _complete_runs(out, (3.0, "epochs"))
    assert main([*SWEEP, "--budget", "3ep", "--workers", "1", "--out", str(out), "--dry-run"]) == 0
    assert "2 runs: 0 to run, 2 already complete" in capsys.readouterr().out


def test_the_worker_refuses_such_a_run_too_and_leaves_it_as_it_is(tmp_path):
    """A run completed with other settings after sweep_main looked: ``run_one`` neither skips nor moves it."""
    from ohgw_bench.execution.plan import RunRequest
    from ohgw_bench.execution.sweep.records import FAILED
    from ohgw_bench.execution.sweep.run import run_one

    out = tmp_path / "out"
    before = _complete_runs(out, (8.0, "tuner_seconds"))
    outcome = run_one(RunRequest.parse("digits-cnn", "asha", "1ep", out, seed=0, workers=1))
    assert outcome.state == FAILED
    assert outcome.detail == "refused: complete with other settings (budget 8s (asked: 1ep)); left as it is"
    after = {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    assert after == before and not (out / "_attempts").exists()


# --------------------------------------------------------------------------- the leaderboard's pairs


@pytest.mark.parametrize(
    "arm_meta, field, values",
    [
        ({"budget": {"amount": 12.0, "clock": "epochs"}}, "budget_amount", ("4.0", "12.0")),
        ({"budget": {"amount": 4.0, "clock": "tuner_seconds"}}, "budget_clock", ("'epochs'", "'tuner_seconds'")),
        ({"workers": 2}, "workers", ("1", "2")),
    ],
    ids=["budget", "clock", "workers"],
)
def test_the_leaderboard_refuses_to_pair_runs_of_other_budgets_or_workers(tmp_path, capsys, arm_meta, field, values):
    from ohgw_bench.analysis.leaderboard import build_leaderboard
    from ohgw_bench.analysis.pairing import MixedPairError
    from ohgw_bench.analysis.results import summarize_runs

    for seed in range(3):
        meta = {"budget": {"amount": 4.0, "clock": "epochs"}}
        write_trusted_run(tmp_path, "t", "asha", seed, crossing_events(40.0, 90.0), meta=meta)
        arm = {**meta, **(arm_meta if seed == 1 else {})}
        write_trusted_run(tmp_path, "t", "asha+ohgw", seed, crossing_events(20.0, 90.0), meta=arm)
    with pytest.raises(MixedPairError) as caught:
        build_leaderboard(summarize_runs(tmp_path))
    assert caught.value.mismatch.field == field and caught.value.seed == 1
    assert f"differ in {field} (none: {values[0]}, ohgw: {values[1]})" in str(caught.value)
    assert main(["leaderboard", str(tmp_path)]) == 2
    assert f"differ in {field}" in capsys.readouterr().err
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = build_leaderboard(summarize_runs(tmp_path), allow_mixed=True)
    row = table[table["arm"] == "ohgw"].iloc[0]
    assert (row["mixed"], row["n_mixed"]) == (field, 1)
