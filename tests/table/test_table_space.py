"""What a table's meta.json says about its space, fidelity and clock: recorded by new builds (the session's
twin table), covered by the field digests, and read back; for the committed tables, built before meta.json
recorded them, the registered task's space, which their configurations lie in. A configuration outside
the space a table claims is refused."""

from __future__ import annotations

import copy
import json
import shutil

import pytest

from ohgw_bench.core.named_tables import committed_table_paths
from ohgw_bench.core.registry import get_task
from ohgw_bench.core.table_format import META, TableDamage, read_meta, read_table
from ohgw_bench.core.table_space import table_fidelity, table_space
from ohgw_bench.execution.backends.table import open_table
from ohgw_bench.table.build import CLOCK
from tests.helpers import twin


def test_a_new_table_records_its_space_fidelity_and_clock(twin_table):
    meta = read_meta(twin_table)
    space = get_task(twin.TASK).space
    assert meta["space"] == space.as_json() and "log10" in meta["space"]["coordinates"]
    assert meta["fidelity"] == {"name": "epochs", "low": 1, "high": twin.EPOCHS, "type": "integer"}
    assert meta["clock"] == CLOCK and "warm start" in meta["clock"]["trial_seconds"]
    assert {"space.hyperparameters", "fidelity.high", "clock.trial_seconds"} <= set(meta["field_sha256"])
    assert table_space(meta, twin_table) == space
    assert (table_fidelity(meta).low, table_fidelity(meta).high) == (1, twin.EPOCHS)
    assert open_table(str(twin_table)).space == space


def test_an_edited_space_is_refused_by_its_digest(twin_table, tmp_path):
    changed = tmp_path / "table"
    shutil.copytree(twin_table, changed)
    meta = json.loads((changed / META).read_text())
    meta["space"]["hyperparameters"][0]["high"] = 5.0
    (changed / META).write_text(json.dumps(meta))
    with pytest.raises(TableDamage, match="field space.hyperparameters is not what the build wrote"):
        read_table(changed)


@pytest.mark.parametrize("name", sorted(committed_table_paths()))
def test_a_committed_table_reads_with_its_tasks_space(name):
    """The reference table was built before meta.json recorded a space: it reads, and its space is the
    registered task's (a committed table built since records that space itself)."""
    path = committed_table_paths()[name]
    frame, meta = read_table(path)
    if name == "mnist1d-cnn":
        assert not {"space", "fidelity", "clock"} & set(meta)  # the committed file is as it was built
    assert table_space(meta, path) == get_task(meta["spec"]["task"]).space
    assert (table_fidelity(meta).low, table_fidelity(meta).high) == (1, meta["spec"]["epochs"])


def test_a_configuration_outside_the_claimed_space_is_refused(twin_table):
    meta = read_meta(twin_table)
    outside = copy.deepcopy(meta)
    outside["space"]["hyperparameters"][0]["high"] = -2.9  # log10_lr: every configuration above it is out
    with pytest.raises(TableDamage, match=r"has log10_lr=.*, outside \[-3.0, -2.9\] of the space"):
        table_space(outside, twin_table)
    older = {k: v for k, v in copy.deepcopy(meta).items() if k != "space"}  # an older table: the task's space
    older["configs"][2]["values"]["momentum"] = 1.5
    with pytest.raises(TableDamage, match=r"configuration 2 has momentum=1.5, outside .* registered space"):
        table_space(older, twin_table)
    older["configs"][2]["values"] = {"lr": 0.1}
    with pytest.raises(TableDamage, match=r"configuration 2 has hyperparameters \['lr'\]"):
        table_space(older, twin_table)
