"""Committed tables by name: ``results/<name>-table`` of the repository, found from the package's place
(not the working folder), listed by ``ohgw-bench list tables``, and taken by ``--backend table:NAME``;
a path that exists is always a path, and a bare word that is neither is refused with the names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ohgw_bench.cli import main
from ohgw_bench.core.named_tables import UnknownTable, committed_table_paths, committed_tables, resolve_table
from ohgw_bench.core.table_format import read_meta
from ohgw_bench.core.trajectory import run_dir
from tests.helpers import ROOT

COMMITTED = ROOT / "results" / "mnist1d-cnn-table"


def test_the_committed_tables_are_named_by_their_folders():
    paths = committed_table_paths()
    assert paths["mnist1d-cnn"] == COMMITTED and paths["mnist1d-cnn-dev"] == ROOT / "results" / "mnist1d-cnn-dev-table"
    assert all(p.name == f"{name}-table" and p.parent == ROOT / "results" for name, p in paths.items())
    table = next(t for t in committed_tables() if t.name == "mnist1d-cnn")
    spec = read_meta(COMMITTED)["spec"]
    assert (table.task, table.configs, table.arms, table.epochs) == (
        spec["task"],
        spec["configs"],
        tuple(spec["arms"]),
        spec["epochs"],
    )


def test_a_name_resolves_from_any_working_folder_and_a_path_stays_a_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resolve_table("mnist1d-cnn") == COMMITTED
    assert resolve_table(str(COMMITTED)) == COMMITTED
    (tmp_path / "mnist1d-cnn").mkdir()  # an existing folder is taken as the path it is
    assert resolve_table("mnist1d-cnn") == Path("mnist1d-cnn")
    assert resolve_table("tables/missing") == Path("tables/missing")  # a path: its reader says what it lacks


def test_an_unknown_name_is_refused_with_the_names():
    with pytest.raises(
        UnknownTable, match=r"no committed table of that name \(committed: mnist1d-cnn, mnist1d-cnn-dev"
    ):
        resolve_table("mnist1d")


def test_list_tables_prints_each_committed_table(capsys):
    assert main(["list", "tables"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("tables:\n") and "digits-cnn" not in out
    line = next(line for line in out.splitlines() if line.split()[:1] == ["mnist1d-cnn"])
    assert "mnist1d-cnn: 128 configs x 5 arms x 27 epochs" in line and line.endswith(str(COMMITTED))
    assert "arms none, ohgw(eta=1), random(eta=1), ohgw(eta=3), random(eta=3)" in out
    assert main(["list"]) == 0
    everything = capsys.readouterr().out
    assert everything.endswith(out) and "digits-cnn" in everything  # all four kinds, tables last


def test_a_replay_on_a_named_table_from_another_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    args = ["run", "--task", "mnist1d-cnn", "--opt", "asha", "--seed", "0", "--budget", "4ep", "--quiet"]
    assert main([*args, "--backend", "table:mnist1d-cnn", "--out", "out"]) == 0
    meta = json.loads((run_dir(tmp_path / "out", "mnist1d-cnn", "asha", 0) / "meta.json").read_text())
    assert meta["backend"] == "table" and meta["table"]["path"] == str(COMMITTED)
    assert meta["table"]["sha256"] == read_meta(COMMITTED)["table_sha256"]


def test_a_sweep_spec_takes_names_for_its_tables(tmp_path, monkeypatch):
    from ohgw_bench.execution.sweep.spec import build_spec

    monkeypatch.chdir(tmp_path)
    grid = {"tasks": "mnist1d-cnn", "opts": "asha", "seeds": "0", "budget": "1ep", "out": "out"}
    assert build_spec(**grid, backend="table:mnist1d-cnn").backend == f"table:{COMMITTED}"
    assert build_spec(**grid, configs_from="mnist1d-cnn").configs_from == COMMITTED
