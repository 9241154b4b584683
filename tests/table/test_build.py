"""Twin tables on digits-cnn: the session's tiny real table (``tests/helpers/twin.py``: 6 configurations x
an arm per registered warm start x 5 epochs) built on a Dask LocalCluster, resumed after a simulated
crash, and refused when asked to change.

``gauss(sigma=0)`` is in the table on purpose: it leaves the configuration as sampled, so with common
random numbers its curves must equal the ``none`` curves exactly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from ohgw_bench.cli import main
from ohgw_bench.core.registry import get_task
from ohgw_bench.core.table_format import CELLS, TABLE, read_cells, read_meta, read_table, write_meta
from ohgw_bench.execution.objective import objective_function
from ohgw_bench.execution.runlock import RunLock
from ohgw_bench.execution.trial import trial_seed
from ohgw_bench.table.build import LOCK, TableError, build_table, parse_arms, prepare_build
from ohgw_bench.table.configs import sobol_configs
from tests.helpers import twin

TASK, LABELS, N_CONFIGS, EPOCHS, SEED = twin.TASK, twin.ARMS, twin.N_CONFIGS, twin.EPOCHS, twin.SEED
OHGW, RANDOM, NOOP = twin.OHGW, twin.RANDOM, twin.NOOP
N_CELLS = N_CONFIGS * len(LABELS)


@pytest.fixture
def table_dir(twin_table) -> Path:
    return twin_table


# ----------------------------------------------------------------------------- configurations and arms


def test_sobol_configs_are_seeded_in_bounds_and_prefix_stable():
    space = get_task(TASK).space
    a, b = sobol_configs(space, 5, seed=3), sobol_configs(space, 5, seed=3)
    assert a == b
    assert sobol_configs(space, 8, seed=3)[:5] == a  # a larger table with the same seed extends this one
    assert sobol_configs(space, 5, seed=4)[0].values != a[0].values
    for c in a:
        assert all(h.low <= c.values[h.name] <= h.high for h in space.hyperparameters)
        assert c.seed == trial_seed(3, c.config_id)
    assert len({c.values["log10_lr"] for c in a}) == 5
    with pytest.raises(ValueError, match="positive integer"):
        sobol_configs(space, 0, seed=0)


def test_arms_parse_to_canonical_labels_and_bad_arms_are_refused():
    assert [a.label for a in parse_arms("none, ohgw(eta=1.0) ,random(eta=1,steps=1)")] == [
        "none",
        "ohgw(eta=1)",
        "random(eta=1)",
    ]
    with pytest.raises(TableError, match="twice"):
        parse_arms("ohgw(eta=1),ohgw(eta=1.0)")
    with pytest.raises(TableError, match="closest: ohgw"):
        parse_arms("none,ohgv")
    with pytest.raises(TableError, match="unknown parameter 'sigma'"):
        parse_arms("ohgw(sigma=1)")
    with pytest.raises(TableError, match="eta=-1.0 must be"):
        prepare_build(TASK, "ohgw(eta=-1)", 2, 0, 1, "unused")
    with pytest.raises(TableError, match="--epochs 28"):
        prepare_build(TASK, "none", 2, 0, 28, "unused")


# ----------------------------------------------------------------------------- the build


def test_every_cell_is_in_the_table_with_shared_trial_seeds(table_dir):
    rows, meta = read_table(table_dir)
    assert len(rows) == N_CONFIGS * len(LABELS) * EPOCHS
    assert set(rows["arm"]) == set(LABELS)
    seeds = rows.groupby("config_id")["seed"].unique()
    assert all(list(s) == [trial_seed(SEED, i)] for i, s in seeds.items())
    assert (rows["epoch_seconds"] > 0).all() and (rows["trial_seconds"] > 0).all()
    assert rows.groupby(["config_id", "arm"])["epoch"].apply(list).map(lambda e: e == list(range(1, EPOCHS + 1))).all()
    space = get_task(TASK).space.names
    none = rows[rows["arm"] == "none"]
    assert all((none[k] == none[f"used_{k}"]).all() for k in space)
    assert (none["warm_start_flops"] == 0).all()
    ohgw = rows[(rows["arm"] == OHGW) & (rows["epoch"] == 1)].set_index("config_id")
    rand = rows[(rows["arm"] == RANDOM) & (rows["epoch"] == 1)].set_index("config_id")
    assert (ohgw["warm_start_flops"] > 0).all() and (ohgw["warm_start_seconds"] > 0).all()
    assert (ohgw["used_log10_lr"] != ohgw["log10_lr"]).all()  # eta=1 moves the learning rate
    assert ohgw["hypergrad_log10_lr"].notna().all()
    assert (ohgw["hypergrad_kind_momentum"] == "structurally_zero").all()
    # the random control: the OHGW step's magnitude per dimension (where neither was clipped)
    for k in space:
        free = ~(ohgw[f"clipped_{k}"] | rand[f"clipped_{k}"])
        step_o = (ohgw[f"used_{k}"] - ohgw[k]).abs()[free]
        step_r = (rand[f"used_{k}"] - rand[k]).abs()[free]
        assert step_o.to_numpy() == pytest.approx(step_r.to_numpy(), rel=1e-9, abs=1e-12), k


def test_common_random_numbers_make_a_no_op_warm_start_reproduce_none_exactly(table_dir):
    rows, _ = read_table(table_dir)
    cols = ["config_id", "epoch", "val_acc", "val_loss", "train_loss", "test_acc"]
    none = rows[rows["arm"] == "none"][cols].reset_index(drop=True)
    noop = rows[rows["arm"] == NOOP][cols].reset_index(drop=True)
    pd.testing.assert_frame_equal(none, noop)
    ohgw = rows[rows["arm"] == OHGW][cols].reset_index(drop=True)
    assert not none["train_loss"].equals(ohgw["train_loss"])  # a warm start that moves the config does differ


def test_a_cell_equals_a_fresh_objective_call(table_dir):
    """A fresh call of the first epochs reproduces the cell's curve up to there (the seed fixes the
    batches and the cosine schedule spans the task's epochs: ``tests/execution/test_objective.py``)."""
    import torch

    cells = read_cells(table_dir, read_meta(table_dir)).cells
    cell = cells[(1, OHGW)]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the table's cells ran
    try:
        fresh = objective_function(
            get_task(TASK),
            cell.config_sampled,
            3,
            seed=cell.seed,
            warm_start="ohgw",
            warm_start_params={"eta": 1.0},
        )
    finally:
        torch.set_num_threads(threads)
    assert fresh.config_used == cell.config_used
    assert [e.val_acc for e in fresh.curve] == [e.val_acc for e in cell.curve[:3]]
    assert [e.train_loss for e in fresh.curve] == [e.train_loss for e in cell.curve[:3]]


def test_meta_records_provenance_and_the_build(table_dir):
    import hashlib

    meta = read_meta(table_dir)
    assert meta["status"] == "complete" and meta["cells_done"] == meta["cells_total"] == N_CELLS
    assert meta["spec"] == {
        "task": TASK,
        "arms": list(LABELS),
        "configs": N_CONFIGS,
        "seed": SEED,
        "epochs": EPOCHS,
        "max_epochs": 27,
    }
    assert LABELS[0] == "none" and {OHGW, RANDOM, NOOP} <= set(LABELS)
    assert [c["seed"] for c in meta["configs"]] == [trial_seed(SEED, i) for i in range(N_CONFIGS)]
    assert meta["table_sha256"] == hashlib.sha256((table_dir / TABLE).read_bytes()).hexdigest()
    assert meta["versions"]["torch"] and meta["device"].startswith("cpu") and meta["data_info"]
    assert meta["code_version"]["package_tree"] and meta["git_sha"]
    assert meta["build_wall_seconds"] > 0 and meta["interrupted_sessions"] == 0 and len(meta["sessions"]) == 1
    assert meta["cell_wall_seconds_median"] > 0 and meta["failed_cells"] == []
    assert not (table_dir / LOCK).exists()


def test_a_crashed_build_resumes_and_trains_only_the_missing_cells(table_dir, tmp_path, capsys):
    """The user's way: the original ``ohgw-bench table build`` command again, then ``table report``."""
    out = tmp_path / "resumed"
    shutil.copytree(table_dir, out)
    lines = (out / CELLS).read_text().splitlines(keepends=True)
    lost = [json.loads(line) for line in lines[-2:]]
    # a crash: the last cell never written, the one before cut off mid-line
    (out / CELLS).write_text("".join(lines[:-2]) + lines[-2][: len(lines[-2]) // 2])
    (out / TABLE).unlink()
    killed = {"started_at": "2026-01-01T00:00:00+00:00", "ended_at": None, "wall_seconds": None}
    killed |= {"cells_trained": N_CELLS - 2, "last_cell_at": "2026-01-01T00:01:40+00:00"}  # as _mark_cell left it
    write_meta(out, {**read_meta(out), "status": "building", "sessions": [killed]})
    with pytest.raises(ValueError, match="not complete"):
        read_table(out)

    assert main([*twin.build_argv(out), "--quiet"]) == 0
    summary = capsys.readouterr().out
    assert "complete:" in summary and f"2 cells trained, {N_CELLS - 2} already done" in summary, summary
    assert f"dropped {out / CELLS}:{N_CELLS - 1}, a line cut off by a crash" in summary, summary
    read = read_cells(out, read_meta(out))
    assert read.torn_line is None and not read.needs_newline and len(read.cells) == N_CELLS
    again = read.cells
    for old in lost:  # retrained with the same seed: the same curve
        assert [e.val_acc for e in again[(old["config_id"], old["arm"])].curve] == [e["val_acc"] for e in old["curve"]]
    meta = read_meta(out)
    assert len(meta["sessions"]) == 2 and meta["sessions"][1]["cells_trained"] == 2
    assert meta["sessions"][1]["last_cell_at"] and meta["interrupted_sessions"] == 1
    # the killed session counts from its start to its last stored cell (100 s), the resume its own wall time
    assert meta["build_wall_seconds"] == pytest.approx(100.0 + meta["sessions"][1]["wall_seconds"])

    result = build_table(twin.build_plan(out), quiet=True)  # complete: nothing to train
    assert (result.trained, result.skipped, result.complete) == (0, N_CELLS, True)
    assert main(["table", "report", str(out / TABLE), "--out", str(tmp_path / "r")]) == 0
    assert (tmp_path / "r" / "report.md").exists()


def test_a_different_spec_or_a_held_lock_is_refused(table_dir, tmp_path):
    with pytest.raises(TableError, match="repeat the original command"):
        twin.build_plan(table_dir, configs=N_CONFIGS + 1)
    with pytest.raises(TableError, match="repeat the original command"):
        twin.build_plan(table_dir, arms=("none", OHGW))
    (tmp_path / "junk.txt").write_text("x")
    with pytest.raises(TableError, match="non-empty folder"):
        twin.build_plan(tmp_path)
    out = tmp_path / "locked"
    plan = twin.build_plan(out)
    with RunLock(out / LOCK):
        with pytest.raises(TableError, match="is being built by"):
            build_table(plan, quiet=True)
    assert not (out / "meta.json").exists()


# ----------------------------------------------------------------------------- the command line


def test_cli_refuses_bad_input_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "bad"
    args = ["table", "build", "--task", TASK, "--configs", "2", "--out", str(out)]
    assert main([*args, "--arms", "none,ohgw(eta=x)"]) == 2
    assert "must be a number" in capsys.readouterr().err
    assert main([*args, "--arms", "none", "--epochs", "0"]) == 2
    assert not out.exists()
    assert main(["table", "report", str(tmp_path)]) == 2
    assert "not an ohgw-bench table" in capsys.readouterr().err
