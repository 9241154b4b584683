"""Tables that keep their state (issue 23 items 3 and 6): a re-run of ``table build`` that finds damage
in cells.jsonl refuses (exit 2, naming the file and line) before writing anything; a last record without
its newline is completed, never appended to; a duplicated cell is refused; a meta.json that is not what
its build wrote is refused by the build, replay, ``--configs-from``, ``table report`` and ``table verify``
(naming the field); a table started with one code version refuses a resume with another.

Every case works on a copy of the session's twin table (``tests/helpers/twin.py``) and trains nothing."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from ohgw_bench.cli import main
from ohgw_bench.core.table_format import (
    CELLS,
    FIELD_SHA256,
    META,
    CellRecord,
    CellStore,
    TableDamage,
    meta_slots,
    read_cells,
    read_meta,
    read_table,
    scan_cells,
    write_meta,
)
from ohgw_bench.execution.backends.table import open_table
from tests.helpers import ROOT, twin

N_CELLS = twin.N_CONFIGS * len(twin.ARMS)


def _copy(twin_table: Path, tmp_path: Path) -> Path:
    out = tmp_path / "table"
    shutil.copytree(twin_table, out)
    return out


def _files(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` and its bytes: what "nothing was written" compares."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _lines(out: Path) -> list[str]:
    return (out / CELLS).read_text(encoding="utf-8").splitlines(keepends=True)


def _record(line: str) -> dict:
    return json.loads(line)


def _dump(record: dict) -> str:
    return json.dumps(record, sort_keys=True) + "\n"


def _edit_line(number: int, edit: Callable[[dict], dict]) -> Callable[[list[str]], list[str]]:
    def apply(lines: list[str]) -> list[str]:
        lines[number - 1] = _dump(edit(_record(lines[number - 1])))
        return lines

    return apply


def _without(key: str) -> Callable[[dict], dict]:
    return lambda r: {k: v for k, v in r.items() if k != key}


# ----------------------------------------------------------------------------- damage in cells.jsonl


DAMAGE = {
    "not-json": (lambda lines: [*lines[:2], "{not json\n", *lines[3:]], 3, "not valid JSON"),
    "torn-then-appended": (  # the old bug: a torn line, then the next record on the same line
        lambda lines: [*lines[:3], lines[3][:40] + lines[4], *lines[5:]],
        4,
        "not valid JSON",
    ),
    "blank-line": (lambda lines: [*lines[:4], "\n", *lines[4:]], 5, "not valid JSON"),
    "not-an-object": (lambda lines: [*lines[:1], "[1, 2]\n", *lines[2:]], 2, "a JSON list, not a cell record"),
    "missing-field": (_edit_line(2, _without("seed")), 2, "not a cell record (missing: seed)"),
    "unknown-field": (_edit_line(2, lambda r: {**r, "colour": "red"}), 2, "unknown: colour"),
    "bad-curve": (_edit_line(6, lambda r: {**r, "curve": [{"epoch": 1}]}), 6, "not a cell record (curve:"),
    "unknown-config": (_edit_line(3, lambda r: {**r, "config_id": 99}), 3, "is not a cell of this table"),
    "unknown-arm": (_edit_line(3, lambda r: {**r, "arm": "ohgw(eta=9)"}), 3, "is not a cell of this table"),
    "other-seed": (_edit_line(4, lambda r: {**r, "seed": r["seed"] + 1}), 4, "has trial seed"),
    "other-config": (
        _edit_line(4, lambda r: {**r, "config_sampled": {**r["config_sampled"], "momentum": 0.5}}),
        4,
        "has config_sampled",
    ),
    "short-curve": (
        _edit_line(5, lambda r: {**r, "curve": r["curve"][:-1]}),
        5,
        f"ends at epoch {twin.EPOCHS - 1} of {twin.EPOCHS} without having diverged",
    ),
    "shuffled-curve": (
        _edit_line(5, lambda r: {**r, "curve": r["curve"][::-1]}),
        5,
        f"does not hold epochs 1-{twin.EPOCHS}",
    ),
    "duplicated-cell": (lambda lines: [*lines, lines[0]], N_CELLS + 1, "is already at line 1: a cell is stored once"),
    "duplicate-without-newline": (
        lambda lines: [*lines, lines[1].rstrip("\n")],
        N_CELLS + 1,
        "is already at line 2",
    ),
    "garbage-tail": (lambda lines: [*lines, "garbage"], N_CELLS + 1, "not valid JSON"),
}


@pytest.mark.parametrize("damage", list(DAMAGE), ids=list(DAMAGE))
def test_a_rerun_that_finds_damage_refuses_naming_the_line_and_writes_nothing(twin_table, tmp_path, capsys, damage):
    out = _copy(twin_table, tmp_path)
    change, line, message = DAMAGE[damage]
    (out / CELLS).write_text("".join(change(_lines(out))), encoding="utf-8")
    before = _files(out)
    assert main([*twin.build_argv(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"{out / CELLS}:{line}: " in err and message in err, err
    assert "Nothing was changed" in err and "Traceback" not in err
    assert _files(out) == before  # meta.json still says complete: report, verify and replay still read it
    read_table(out)
    with pytest.raises(TableDamage, match=f"{CELLS}:{line}: "):
        read_cells(out, read_meta(out))


def test_table_verify_refuses_damaged_cells(twin_table, tmp_path, capsys):
    out = _copy(twin_table, tmp_path)
    lines = _lines(out)
    (out / CELLS).write_text("".join([*lines, lines[0]]), encoding="utf-8")
    assert main(["table", "verify", str(out), "--cells", "1"]) == 2
    assert f"{out / CELLS}:{N_CELLS + 1}: " in capsys.readouterr().err
    (out / CELLS).write_text("".join(lines[:-1]), encoding="utf-8")
    assert main(["table", "verify", str(out), "--cells", "1"]) == 2
    assert f"holds {N_CELLS - 1} cells; the complete table has {N_CELLS}" in capsys.readouterr().err


# ----------------------------------------------------------------------------- the end of cells.jsonl


def test_a_last_record_without_its_newline_is_completed_by_a_rerun(twin_table, tmp_path, capsys):
    out = _copy(twin_table, tmp_path)
    text = (out / CELLS).read_text(encoding="utf-8")
    (out / CELLS).write_text(text.rstrip("\n"), encoding="utf-8")
    assert main([*twin.build_argv(out), "--quiet"]) == 0
    summary = capsys.readouterr().out
    assert f"0 cells trained, {N_CELLS} already done" in summary, summary
    assert "last record, complete but cut off before its newline, with one" in summary
    assert (out / CELLS).read_text(encoding="utf-8") == text  # the record kept, one newline added
    read_table(out)


def test_a_store_opened_on_a_record_without_newline_appends_on_a_new_line(twin_table, tmp_path):
    out = _copy(twin_table, tmp_path)
    lines = _lines(out)
    last = CellRecord.from_json(_record(lines[-1]))
    (out / CELLS).write_text("".join(lines[:-2]) + lines[-2].rstrip("\n"), encoding="utf-8")
    slots = meta_slots(read_meta(out))
    store = CellStore(out, slots)
    assert store.completed_last_line and store.dropped_torn_line is None and len(store.cells) == N_CELLS - 1
    store.add(last)
    store.close()
    found = scan_cells(out / CELLS, slots)
    assert len(found.cells) == N_CELLS and found.torn_line is None and not found.needs_newline
    assert (out / CELLS).read_text(encoding="utf-8").count("\n") == N_CELLS


def test_a_torn_last_line_is_a_crash_tail_cut_off_in_place(twin_table, tmp_path):
    """Only the bytes after the last complete record go; every stored record stays byte for byte."""
    out = _copy(twin_table, tmp_path)
    lines = _lines(out)
    kept = "".join(lines[:-1])
    (out / CELLS).write_text(kept + lines[-1][:25], encoding="utf-8")
    slots = meta_slots(read_meta(out))
    found = scan_cells(out / CELLS, slots)
    assert (found.torn_line, found.stored_bytes, len(found.cells)) == (N_CELLS, len(kept.encode()), N_CELLS - 1)
    CellStore(out, slots).close()
    assert (out / CELLS).read_text(encoding="utf-8") == kept


# ----------------------------------------------------------------------------- meta.json's promises


def _forge(out: Path, edit: Callable[[dict], None]) -> None:
    """Edit meta.json by hand, as an adversary or another tool would (its digests left as they were)."""
    meta = json.loads((out / META).read_text(encoding="utf-8"))
    edit(meta)
    (out / META).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")


FORGED: dict[str, tuple[Callable[[dict], None], str]] = {
    "task": (lambda m: m["spec"].update(task="mnist1d-cnn"), "field spec.task is not what the build wrote"),
    "device": (lambda m: m.update(device="NVIDIA H100 80GB HBM3"), "field device is not what the build wrote"),
    "code": (lambda m: m["code_version"].update(package_tree="0" * 40), "field code_version.package_tree"),
    "seed": (lambda m: m["configs"][2].update(seed=7), "field configs[2] is not what the build wrote"),
    "epochs": (lambda m: m["spec"].update(epochs=4), "field spec.epochs"),
    "arms": (lambda m: m["spec"]["arms"].pop(), "field spec.arms"),
    "removed": (lambda m: m.pop("data_info"), "field data_info"),
    "added": (lambda m: m.update(note="trust me"), "field note was added after the build wrote meta.json"),
}


@pytest.mark.parametrize("forged", list(FORGED), ids=list(FORGED))
def test_a_forged_meta_is_refused_by_every_reader_naming_the_field(twin_table, tmp_path, capsys, forged):
    out = _copy(twin_table, tmp_path)
    edit, message = FORGED[forged]
    _forge(out, edit)
    before = _files(out)
    runs = tmp_path / "runs"
    task = "mnist1d-cnn" if forged == "task" else twin.TASK  # what the relabelled table claims to be
    run = ["run", "--task", task, "--opt", f"asha+{twin.OHGW}", "--budget", "5ep", "--workers", "1", "--out", str(runs)]
    commands = {
        "replay": [*run, "--backend", f"table:{out}"],
        "configs-from": [*run, "--configs-from", str(out)],
        "report": ["table", "report", str(out), "--out", str(tmp_path / "report")],
        "verify": ["table", "verify", str(out), "--cells", "1"],
        "build": [*twin.build_argv(out), "--quiet"],
    }
    for name, argv in commands.items():
        assert main(argv) == 2, name
        err = capsys.readouterr().err
        assert message in err and str(out / META) in err and "Traceback" not in err, (name, err)
    assert not runs.exists() and not (tmp_path / "report").exists()
    assert _files(out) == before


def test_promises_the_rows_contradict_are_refused_even_with_recomputed_digests(twin_table, tmp_path):
    """Whoever rewrites meta.json through the build's own writer gets fresh digests; the rows still say
    what the table holds."""
    out = _copy(twin_table, tmp_path)
    meta = read_meta(out)
    cases = {
        "spec.arms promises": {**meta, "spec": {**meta["spec"], "arms": meta["spec"]["arms"][:-1]}},
        "spec.epochs promises": {**meta, "spec": {**meta["spec"], "epochs": twin.EPOCHS - 1}},
        "configs[2].seed is 7": {
            **meta,
            "configs": [{**c, "seed": 7} if i == 2 else c for i, c in enumerate(meta["configs"])],
        },
        "table_sha256": {**meta, "table_sha256": "0" * 64},
    }
    for message, forged in cases.items():
        write_meta(out, forged)
        assert read_meta(out)[FIELD_SHA256]  # the digests match what was written
        with pytest.raises(TableDamage, match=message.replace("[", r"\[").replace("]", r"\]")):
            read_table(out)


def test_a_table_written_before_the_digests_still_reads_replays_and_reports(twin_table, tmp_path, capsys):
    out = _copy(twin_table, tmp_path)
    _forge(out, lambda m: m.pop(FIELD_SHA256))
    read_table(out)
    assert open_table(str(out)).task == twin.TASK
    assert main(["table", "report", str(out), "--out", str(tmp_path / "report")]) == 0
    assert (tmp_path / "report" / "report.md").exists()


def test_the_committed_table_reads_as_it_was_built():
    """results/mnist1d-cnn-table predates the digests: its rows are checked against its meta.json, its
    cells against its configurations, and it is accepted as it is (its files are unchanged)."""
    folder = ROOT / "results" / "mnist1d-cnn-table"
    frame, meta = read_table(folder)
    assert FIELD_SHA256 not in meta and len(frame) == 128 * 5 * 27
    cells = read_cells(folder, meta)
    assert len(cells.cells) == meta["cells_total"] and cells.torn_line is None and not cells.needs_newline
    assert open_table(str(folder)).sha256 == meta["table_sha256"]


# ----------------------------------------------------------------------------- the code a resume runs


def _code_version_now(monkeypatch: pytest.MonkeyPatch, changes: str | None) -> None:
    """This process's code version, as the build records it, with ``changes`` as its uncommitted changes."""
    import ohgw_bench.core.provenance as provenance

    version = {**(provenance.code_version() or {}), "modified": changes is not None, "changes_sha256": changes}
    monkeypatch.setattr(provenance, "code_version", lambda: version)


def _started_with(out: Path, changes: str | None, keep_key: bool = True) -> None:
    """Make the table's meta.json say it was built with ``changes`` (as a build would write it)."""
    import ohgw_bench.core.provenance as provenance

    meta = read_meta(out)
    code = {**(provenance.code_version() or {}), "modified": changes is not None, "changes_sha256": changes}
    if not keep_key:
        code.pop("changes_sha256")
    write_meta(out, {**meta, "code_version": code})


@pytest.mark.parametrize(
    "table_changes, now_changes",
    [(None, "a" * 64), ("a" * 64, None), ("a" * 64, "b" * 64)],
    ids=["clean-table-modified-code", "modified-table-clean-code", "other-edits"],
)
def test_a_resume_with_other_uncommitted_changes_is_refused(
    twin_table, tmp_path, capsys, monkeypatch, table_changes, now_changes
):
    out = _copy(twin_table, tmp_path)
    _started_with(out, table_changes)
    before = _files(out)
    _code_version_now(monkeypatch, now_changes)
    assert main([*twin.build_argv(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "was started with code_version.changes_sha256" in err and "Traceback" not in err, err
    assert f"this build has {now_changes}" in err or "this build has None (no uncommitted change)" in err
    assert _files(out) == before


def test_a_table_recorded_before_the_changes_digest_reads_as_clean(twin_table, tmp_path, capsys, monkeypatch):
    out = _copy(twin_table, tmp_path)
    _started_with(out, None, keep_key=False)
    _code_version_now(monkeypatch, None)
    assert main([*twin.build_argv(out), "--quiet"]) == 0
    assert f"0 cells trained, {N_CELLS} already done" in capsys.readouterr().out
    _code_version_now(monkeypatch, "c" * 64)
    assert main([*twin.build_argv(out), "--quiet"]) == 2
    assert "code_version.changes_sha256 None (no uncommitted change)" in capsys.readouterr().err


@pytest.mark.parametrize(
    "name, patch, message",
    [
        ("device_name", lambda: "NVIDIA H100 80GB HBM3", "was started with device 'cpu"),
        ("package_versions", lambda: {"torch": "0.0.1"}, "was started with versions."),
    ],
    ids=["device", "versions"],
)
def test_a_resume_on_another_device_or_packages_is_refused_naming_the_field(
    twin_table, tmp_path, capsys, monkeypatch, name, patch, message
):
    import ohgw_bench.core.provenance as provenance

    out = _copy(twin_table, tmp_path)
    before = _files(out)
    monkeypatch.setattr(provenance, name, patch)
    assert main([*twin.build_argv(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err, err
    assert _files(out) == before
