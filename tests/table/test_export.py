"""``ohgw-bench table export --format syne-tune``: the session's twin table (``tests/helpers/twin.py``) as a
syne-tune blackbox repository entry, loaded by syne-tune 0.13's own ``deserialize``, holding the table's
values exactly, and replayed by syne-tune's own simulator (``UserBlackboxBackend`` and the stock ``Tuner``,
with the suite's public clock) into the decisions the suite's replay makes on the same table and seed."""

from __future__ import annotations

import json
from pathlib import Path

import fastparquet  # noqa: F401  syne-tune's deserialize reads hyperparameters.parquet with it (the test extra)
import numpy as np
import pytest

from ohgw_bench.cli import main
from ohgw_bench.core.registry import get_task
from ohgw_bench.core.table_format import read_meta, read_table
from ohgw_bench.core.trajectory import run_dir
from ohgw_bench.execution.plan import quiet_syne_tune
from ohgw_bench.execution.simulator_clock import simulator_clock
from ohgw_bench.table.export import FILES, objective_names
from tests.helpers import ROOT, twin

TASK, ARM = twin.TASK, twin.OHGW
SEED, BUDGET_S, WORKERS = 3, 20, 2  # two workers: the clock decides which trial reports first


def _export(table: Path | str, out: Path, *extra: str) -> int:
    return main(["table", "export", str(table), "--format", "syne-tune", "--out", str(out), *extra])


def _deserialize(out: Path) -> dict:
    quiet_syne_tune()
    from syne_tune.blackbox_repository.blackbox_tabular import deserialize

    return deserialize(str(out))


@pytest.fixture(scope="module")
def exported(twin_table, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("export") / "twin"
    assert _export(twin_table, out) == 0
    return out


def test_deserialize_gives_the_tables_values(twin_table, exported):
    from syne_tune.config_space import randint

    frame, meta = read_table(twin_table)
    blackboxes = _deserialize(exported)
    assert sorted(p.name for p in exported.iterdir()) == sorted(FILES)
    assert list(blackboxes) == list(meta["spec"]["arms"])  # the arms are the tasks
    space = get_task(TASK).space
    names = objective_names(space.names)
    for arm, bb in blackboxes.items():
        assert bb.objectives_names == list(names) and bb.objectives_evaluations.dtype == np.float64
        assert bb.configuration_space == space.to_syne_tune() and bb.fidelity_space == {"epoch": randint(1, 5)}
        assert bb.fidelity_values.tolist() == list(range(1, twin.EPOCHS + 1))
        assert bb.hyperparameters.to_dict("records") == [c["values"] for c in meta["configs"]]
        for config in meta["configs"]:
            rows = frame[(frame["arm"] == arm) & (frame["config_id"] == config["config_id"])].sort_values("epoch")
            for epoch in range(1, twin.EPOCHS + 1):
                got = bb.objective_function(config["values"], fidelity={"epoch": epoch}, seed=0)
                row = rows.iloc[epoch - 1]
                assert {k: float(v) for k, v in got.items()} == {k: float(row[k]) for k in names}
    metadata = json.loads((exported / "metadata.json").read_text())
    ours = metadata["ohgw_bench"]
    assert (metadata["metric_elapsed_time"], metadata["resource_attr"]) == ("trial_seconds", "epoch")
    assert ours["table_sha256"] == meta["table_sha256"] and ours["space"] == meta["space"]
    assert ours["trial_seeds"] == [c["seed"] for c in meta["configs"]] and ours["clock"] == meta["clock"]


def _suite_replay(table: Path, out: Path) -> Path:
    args = ["run", "--task", TASK, "--opt", f"asha+{ARM}", "--seed", str(SEED), "--budget", f"{BUDGET_S}s"]
    assert main([*args, "--workers", str(WORKERS), "--backend", f"table:{table}", "--out", str(out), "--quiet"]) == 0
    return run_dir(out, TASK, f"asha+{ARM}", SEED)


def _syne_tune_replay(exported: Path, suite_clock: bool) -> tuple[list, list, dict]:
    """ASHA as a syne-tune user builds it (the suite's settings: stopping type, grace period 1, reduction
    factor 3, restricted to the table's configurations, duplicates allowed), on syne-tune's own backend and
    Tuner. Returns the reports (trial, epoch, val_acc, simulated time), the trial statuses as the suite's
    trajectory records them, and each trial's configuration."""
    from syne_tune import StoppingCriterion, Tuner
    from syne_tune.backend.simulator_backend.simulator_callback import SimulatorCallback
    from syne_tune.blackbox_repository.simulated_tabular_backend import UserBlackboxBackend
    from syne_tune.optimizer.baselines import ASHA
    from syne_tune.optimizer.scheduler import SchedulerDecision
    from syne_tune.tuner_callback import TunerCallback

    bb = _deserialize(exported)[ARM]
    epochs = int(max(bb.fidelity_values))
    clock = simulator_clock()
    backend = UserBlackboxBackend(
        bb,
        elapsed_time_attr="trial_seconds",
        max_resource_attr="epochs",
        seed=0,
        **({"simulator_config": clock.simulator_config} if suite_clock else {}),
    )
    scheduler = ASHA(
        {**bb.configuration_space, "epochs": epochs},
        metric="val_acc",
        mode="max",
        resource_attr="epoch",
        max_resource_attr="epochs",
        type="stopping",
        grace_period=1,
        reduction_factor=3,
        points_to_evaluate=[],
        random_seed=SEED,
        search_options={"restrict_configurations": bb.hyperparameters.to_dict("records"), "allow_duplicates": True},
    )
    reports: list[tuple] = []
    statuses: list[tuple[int, str]] = []
    configs: dict[int, dict] = {}
    now = clock.now if suite_clock else (lambda: backend.time_keeper.time())

    class Record(TunerCallback):
        def on_trial_result(self, trial, status, result, decision):
            if trial.trial_id not in configs:
                configs[trial.trial_id] = {k: trial.config[k] for k in bb.configuration_space}
                statuses.append((trial.trial_id, "running"))
            reports.append((trial.trial_id, int(result["epoch"]), float(result["val_acc"]), now()))
            if decision == SchedulerDecision.STOP:
                statuses.append((trial.trial_id, "stopped"))

        def on_trial_complete(self, trial, result):
            if (trial.trial_id, "stopped") not in statuses:  # the simulator also completes a trial it stopped
                statuses.append((trial.trial_id, "completed"))

    if suite_clock:
        stop, callbacks, sleep = (lambda status: clock.now() >= BUDGET_S), [clock.callback], clock.sleep_time
    else:
        stop, callbacks, sleep = StoppingCriterion(max_wallclock_time=BUDGET_S), [SimulatorCallback()], 0.0
    Tuner(
        trial_backend=backend,
        scheduler=scheduler,
        stop_criterion=stop,
        n_workers=WORKERS,
        sleep_time=sleep,
        callbacks=[*callbacks, Record()],
        save_tuner=False,
    ).run()
    ended = {t for t, s in statuses if s != "running"}
    statuses += [(t, "stopped") for t in configs if t not in ended]  # the suite stops what runs at the budget
    return reports, statuses, configs


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_syne_tunes_simulator_on_the_export_makes_the_replays_decisions(twin_table, exported, tmp_path, monkeypatch):
    monkeypatch.setenv("SYNETUNE_FOLDER", str(tmp_path / "syne-tune"))
    suite = _suite_replay(twin_table, tmp_path / "suite")
    events, trials = _jsonl(suite / "events.jsonl"), _jsonl(suite / "trials.jsonl")
    reports, statuses, configs = _syne_tune_replay(exported, suite_clock=True)
    assert reports == [(e["trial_id"], e["epoch"], e["val_acc"], e["tuner_seconds"]) for e in events]
    assert statuses == [(t["trial_id"], t["status"]) for t in trials]
    assert configs == {t["trial_id"]: t["config_sampled"] for t in trials}
    last_epoch = {trial: epoch for trial, epoch, _, _ in reports}
    assert {1, twin.EPOCHS} <= set(last_epoch.values()) and len(configs) > 2 * WORKERS  # ASHA stopped some early
    # the comparison can fail: syne-tune's own clock (SimulatorCallback, 0.05 s delays) reports at other times
    theirs, _, _ = _syne_tune_replay(exported, suite_clock=False)
    assert [r[3] for r in theirs[:4]] != [r[3] for r in reports[:4]]


def test_a_committed_table_exports_by_name_with_its_tasks_space(tmp_path, capsys):
    """results/mnist1d-cnn-table records no space (built before meta.json did): the export takes the
    registered task's, which its configurations lie in."""
    table = ROOT / "results" / "mnist1d-cnn-table"
    meta = read_meta(table)
    assert "space" not in meta
    assert _export("mnist1d-cnn", tmp_path / "out") == 0
    assert "wrote" in capsys.readouterr().out
    metadata = json.loads((tmp_path / "out" / "metadata.json").read_text())
    assert metadata["ohgw_bench"]["space"] == get_task("mnist1d-cnn").space.as_json()
    assert metadata["ohgw_bench"]["table_sha256"] == meta["table_sha256"]
    bb = _deserialize(tmp_path / "out")["ohgw(eta=3)"]
    frame, _ = read_table(table)
    last = frame[(frame["arm"] == "ohgw(eta=3)") & (frame["epoch"] == 27)].sort_values("config_id")
    assert bb.objectives_evaluations[:, 0, -1, 0].tolist() == last["val_acc"].tolist()


def test_overwrite_replaces_a_previous_export_only(exported, tmp_path, twin_table, capsys):
    out = tmp_path / "again"
    assert _export(twin_table, out) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert _export(twin_table, out) == 2
    assert "already holds files; pass --overwrite" in capsys.readouterr().err
    assert _export(twin_table, out, "--overwrite") == 0
    assert {p.name: p.read_bytes() for p in out.iterdir()}.keys() == before.keys()
    (out / "notes.txt").write_text("mine")
    assert _export(twin_table, out, "--overwrite") == 2
    assert "holds files that are not an export's (notes.txt)" in capsys.readouterr().err
    assert (out / "notes.txt").read_text() == "mine"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left behind


def test_the_syne_tune_example_replays_a_committed_table(monkeypatch, capsys):
    """``examples/syne_tune_replay.py`` as its docstring runs it, on the committed table by name."""
    from tests.helpers.examples import run_example

    run_example("syne_tune_replay.py", ["--table", "mnist1d-cnn", "--budget", "60"], monkeypatch)
    out = capsys.readouterr().out
    assert "ohgw(eta=1) on mnist1d-cnn:" in out and "best val_acc 0.9" in out
