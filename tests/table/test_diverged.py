"""A cell whose training diverged ends at that epoch, as its trial did: the store keeps it, the table holds
its rows up to there, and a replay's trial on it reports those epochs and ends, flagged on the last."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from ohgw_bench.cli import main
from ohgw_bench.core.table_format import (
    CellStore,
    cells_frame,
    meta_slots,
    read_cells,
    read_meta,
    write_meta,
    write_table,
)
from ohgw_bench.core.trajectory import run_dir
from ohgw_bench.execution.backends.table import padded
from tests.helpers import twin

DIVERGED_AT = 2


def _diverged_copy(twin_table: Path, out: Path) -> tuple[Path, int]:
    """The twin table with every arm's cell of one configuration cut at epoch DIVERGED_AT and flagged
    diverged, compiled again as the build compiles it. The configuration's id."""
    shutil.copytree(twin_table, out)
    meta = read_meta(out)
    cells = dict(read_cells(out, meta).cells)
    config_id = 0
    for key, cell in list(cells.items()):
        if cell.config_id == config_id:
            cells[key] = dataclasses.replace(cell, curve=cell.curve[:DIVERGED_AT], diverged=True)
    (out / "cells.jsonl").write_text("".join(json.dumps(dataclasses.asdict(c)) + "\n" for c in cells.values()))
    names = tuple(next(iter(cells.values())).config_sampled)
    meta["table_sha256"] = write_table(cells_frame(list(cells.values()), names), out)
    write_meta(out, meta)
    return out, config_id


def _slots(directory: Path):
    return meta_slots(read_meta(directory))


def test_the_store_keeps_a_short_cell_only_if_it_diverged(twin_table, tmp_path):
    out = tmp_path / "t"
    shutil.copytree(twin_table, out)
    cells = read_cells(out, read_meta(out)).cells
    key, cell = next(iter(cells.items()))
    (out / "cells.jsonl").write_text("")
    store = CellStore(out, _slots(out))
    with pytest.raises(ValueError, match=f"ends at epoch {DIVERGED_AT} of {twin.EPOCHS} without having diverged"):
        store.add(dataclasses.replace(cell, curve=cell.curve[:DIVERGED_AT], diverged=False))
    store.add(dataclasses.replace(cell, curve=cell.curve[:DIVERGED_AT], diverged=True))
    store.close()
    assert len(CellStore(out, _slots(out)).cells) == 1  # read back: the short diverged cell is a valid record


def test_a_replay_ends_a_diverged_cells_trial_where_it_diverged(twin_table, tmp_path):
    table, config_id = _diverged_copy(twin_table, tmp_path / "t")
    out = tmp_path / "runs"
    argv = ["run", "--task", twin.TASK, "--opt", twin.ASHA, "--seed", "3", "--budget", "60ep", "--workers", "1"]
    assert main([*argv, "--backend", f"table:{table}", "--out", str(out), "--quiet"]) == 0
    events = [json.loads(x) for x in (run_dir(out, twin.TASK, twin.ASHA, 3) / "events.jsonl").read_text().splitlines()]
    trials = [json.loads(x) for x in (run_dir(out, twin.TASK, twin.ASHA, 3) / "trials.jsonl").read_text().splitlines()]
    cut = {t["trial_id"] for t in trials if t["config_sampled"] == read_meta(table)["configs"][config_id]["values"]}
    assert cut, "the scheduler never sampled the diverged configuration"
    status = {t["trial_id"]: t["status"] for t in trials}  # the last line of each trial is its final status
    for trial_id in cut:
        last = max(e["epoch"] for e in events if e["trial_id"] == trial_id)
        assert last <= DIVERGED_AT
        assert (status[trial_id] == "diverged") == (last == DIVERGED_AT), (trial_id, last, status[trial_id])
    assert any(status[t] == "diverged" for t in cut), "no replayed trial reached the epoch where the cell diverged"
    assert all(s != "diverged" for t, s in status.items() if t not in cut)


def test_padding_leaves_a_table_without_diverged_cells_unchanged(twin_table):
    from ohgw_bench.core.table_format import read_table

    frame, _ = read_table(twin_table)
    arm = frame[frame["arm"] == "none"].sort_values(["config_id", "epoch"]).reset_index(drop=True)
    assert padded(arm, twin.EPOCHS) is arm


def test_the_report_and_a_table_evaluation_read_a_diverged_cell(twin_table, tmp_path):
    import pandas as pd

    from ohgw_bench.execution.table_evaluation import evaluate_table

    table, config_id = _diverged_copy(twin_table, tmp_path / "t")
    assert main(["table", "report", str(table), "--out", str(tmp_path / "report")]) == 0
    cells = pd.read_csv(tmp_path / "report" / "cells.csv")
    cut = cells[cells["config_id"] == config_id]
    assert cut["diverged"].all() and (cut["epochs_trained"] == DIVERGED_AT).all()
    with evaluate_table(table, config_id) as evaluation:
        assert [r.epoch for r in evaluation.train_to(twin.EPOCHS)] == list(range(1, DIVERGED_AT + 1))
        assert evaluation.diverged
