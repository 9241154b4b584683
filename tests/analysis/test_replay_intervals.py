"""Replay intervals that count the table: replays on bootstrap resamples of a table's configurations
widen the replayed leaderboard's intervals, more for a table of fewer configurations.

The replays are real (syne-tune's simulator on the committed mnist1d-cnn table, a few seconds of CPU
in all); the widening itself is checked on hand-worked numbers in tests/analysis/test_estimation.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from ohgw_bench.analysis.leaderboard import build_leaderboard, leaderboard
from ohgw_bench.analysis.results import summarize_runs
from ohgw_bench.cli import main
from ohgw_bench.core.trajectory import run_dir
from ohgw_bench.execution.backends.table import open_table, resampled
from tests.helpers import twin

COMMITTED = Path(__file__).resolve().parents[2] / "results" / "mnist1d-cnn-table"
TASK, ARM, OPTS = "mnist1d-cnn", "ohgw(eta=1)", ("asha", "asha+ohgw(eta=1)")
SEEDS, RESAMPLES, BUDGET = range(12), range(5), "30s"
pytestmark = pytest.mark.slow


def _replay(table: Path, out: Path, resample: int | None = None) -> Path:
    extra = [] if resample is None else ["--table-resample", str(resample)]
    folder = out / ("table" if resample is None else f"resample-{resample}")
    for opt in OPTS:
        for seed in SEEDS:
            args = ["run", "--task", TASK, "--opt", opt, "--seed", str(seed), "--budget", BUDGET, "--workers", "2"]
            assert main([*args, "--backend", f"table:{table}", *extra, "--out", str(folder), "--quiet"]) == 0
    return folder


def _rows(table: Path, out: Path) -> tuple[pd.Series, pd.Series]:
    """The OHGW row without and with the resampled tables."""
    own = summarize_runs(_replay(table, out))
    resamples = pd.concat([summarize_runs(_replay(table, out, b)) for b in RESAMPLES])
    plain, counted = (build_leaderboard(s).set_index("arm").loc[ARM] for s in (own, pd.concat([own, resamples])))
    # one folder may hold a key on the table and on each resample: they are different runs
    assert len(summarize_runs(out)) == len(own) + len(resamples) == (1 + len(RESAMPLES)) * len(SEEDS) * len(OPTS)
    return plain, counted


@pytest.fixture(scope="module")
def rows(tmp_path_factory) -> dict[str, tuple[pd.Series, pd.Series]]:
    out = tmp_path_factory.mktemp("replay-intervals")
    small = twin.sub_table(COMMITTED, 4, out / "small-table")
    return {"full": _rows(COMMITTED, out / "full"), "small": _rows(small, out / "small")}


def test_a_table_of_fewer_configurations_gives_wider_intervals(rows):
    width = {k: counted.speedup_high / counted.speedup_low for k, (_, counted) in rows.items()}
    assert width["small"] > width["full"]
    for plain, counted in rows.values():  # counting the table never narrows an interval or lowers p
        assert counted.speedup_low <= plain.speedup_low and counted.speedup_high >= plain.speedup_high
        assert counted.p_value >= plain.p_value and counted.n_tables == len(RESAMPLES)
        assert counted.speedup_hl == plain.speedup_hl  # the estimate is the table's own
    assert rows["small"][1].table_sd_log_speedup > rows["full"][1].table_sd_log_speedup


def test_a_resample_replays_only_its_drawn_configurations(tmp_path):
    table = open_table(str(COMMITTED))
    names = ("aug_magnitude", "label_smoothing", "log10_lr", "log10_wd", "momentum")
    drawn = resampled(table.configs(names), 3)
    assert len(drawn) == len(table.configs(names)) and resampled(table.configs(names), 3) == drawn
    assert len({json.dumps(c, sort_keys=True) for c in drawn}) < len(drawn)  # with replacement: repeats
    args = ["run", "--task", TASK, "--opt", OPTS[1], "--budget", "20s", "--table-resample", "3"]
    assert main([*args, "--backend", f"table:{COMMITTED}", "--out", str(tmp_path), "--quiet"]) == 0
    directory = run_dir(tmp_path, TASK, OPTS[1], 0)
    trials = [json.loads(line) for line in (directory / "trials.jsonl").read_text().splitlines()]
    allowed = {json.dumps(c, sort_keys=True) for c in drawn}
    assert trials and all(json.dumps(t["config_sampled"], sort_keys=True) in allowed for t in trials)
    meta = json.loads((directory / "meta.json").read_text())
    assert meta["table"]["resample"] == 3 and meta["clock_source"].endswith(" resample 3")


def test_resample_rows_are_not_leaderboard_rows_of_their_own(tmp_path):
    """A folder holding only resampled replays ranks nothing (they widen a replay's rows, they are not one)."""
    args = ["run", "--task", TASK, "--opt", "asha", "--budget", "5s", "--table-resample", "0"]
    assert main([*args, "--backend", f"table:{COMMITTED}", "--out", str(tmp_path), "--quiet"]) == 0
    assert "No complete run to rank" in leaderboard(tmp_path)
