"""Every subcommand given obviously bad input (issue 23, items 8 and 9): a missing path, a file where a
folder is expected, an empty string, a word where a number goes, and every count and budget past its
stated limit (:mod:`ohgw_bench.core.limits`). Each answers exit 2 and a message on stderr, never a
traceback, and writes nothing. Counts are refused before anything is allocated, so a seed range of a
trillion returns at once: the module's timeout would end a parser that built it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ohgw_bench.cli import main
from ohgw_bench.core.limits import MAX_CONFIGS, MAX_SEED

pytestmark = pytest.mark.timeout(60)  # each case returns in well under a second (the first imports torch)

RUN = ["run", "--task", "digits-cnn", "--opt", "asha", "--budget", "1ep", "--out", "out"]
SWEEP = ["sweep", "--tasks", "digits-cnn", "--opts", "asha", "--seeds", "0", "--budget", "1ep", "--out", "out"]
BUILD = ["table", "build", "--task", "digits-cnn", "--arms", "none", "--configs", "2", "--epochs", "1", "--out", "t"]
HUGE = "9" * 400
#: the table export's words, the table and --out given by each case (argparse takes the last --out)
EXPORT = ["table", "export", "--format", "syne-tune", "--out", "x"]
#: a bare word that is neither a folder nor a committed table's name (results/<name>-table)
NOT_A_TABLE = "'nope' is not a table: no such folder, and no committed table of that name (committed: mnist1d-cnn"
#: 17 distinct arms: with MAX_CONFIGS configurations, more cells than a table may hold
MANY_ARMS = ",".join(["none", *(f"ohgw(eta={k})" for k in range(1, 17))])

CASES = {
    # ------------------------------------------------------------------ run
    "run seed word": ([*RUN, "--seed", "abc"], "invalid int value: 'abc'"),
    "run seed negative": ([*RUN, "--seed", "-1"], f"--seed must be in [0, {MAX_SEED}]"),
    "run seed 2**32": ([*RUN, "--seed", str(2**32)], f"--seed must be in [0, {MAX_SEED}]"),
    "run budget empty": ([*RUN, "--budget", ""], "bad budget ''"),
    "run budget overflows": ([*RUN, "--budget", HUGE + "s"], "more than the limit of 720h of tuner wall clock"),
    "run budget epochs": ([*RUN, "--budget", "1000001ep"], "more than the limit of 1000000ep"),
    "run budget device": ([*RUN, "--budget", "8761dev-h"], "more than the limit of 8760dev-h"),
    "run workers word": ([*RUN, "--workers", "two"], "invalid int value: 'two'"),
    "run workers huge": ([*RUN, "--workers", "1000000000"], "--workers 1000000000 is more than"),
    "run threads zero": ([*RUN, "--threads", "0"], "--threads must be a positive integer"),
    "run threads huge": ([*RUN, "--threads", "1000"], "--threads 1000 is more than"),
    "run trials per gpu huge": ([*RUN, "--trials-per-gpu", "100000"], "--trials-per-gpu 100000 is more than"),
    "run out empty": ([*RUN, "--out", ""], "expected a path, got an empty string"),
    "run out a file": ([*RUN, "--out", "afile.txt"], "afile.txt is a file, not a folder"),
    "run out below a file": ([*RUN, "--out", "afile.txt/x"], "is not a folder this user can write"),
    "run configs-from missing": ([*RUN, "--configs-from", "nope/t"], "not an ohgw-bench table"),
    "run configs-from unknown name": ([*RUN, "--configs-from", "nope"], f"--configs-from nope: {NOT_A_TABLE}"),
    "run configs-from empty": ([*RUN, "--configs-from", ""], "expected a path, got an empty string"),
    "run backend missing table": ([*RUN, "--backend", "table:nope/t"], "not an ohgw-bench table"),
    "run backend unknown name": ([*RUN, "--backend", "table:nope"], f"--backend table:nope: {NOT_A_TABLE}"),
    # ------------------------------------------------------------------ show, data
    "show missing": (["show", "nope"], "holds no meta.json"),
    "show a file": (["show", "afile.txt"], "holds no meta.json"),
    "show empty": (["show", ""], "expected a path, got an empty string"),
    "data import missing": (["data", "import", "nope", "--data-dir", "d"], "no such file or folder"),
    "data import empty": (["data", "import", "", "--data-dir", "d"], "expected a path, got an empty string"),
    "data status data-dir a file": (["data", "status", "--data-dir", "afile.txt"], "is a file, not a folder"),
    "data import data-dir a file": (["data", "import", "adir", "--data-dir", "afile.txt"], "is a file, not a folder"),
    # ------------------------------------------------------------------ reports
    "leaderboard missing": (["leaderboard", "nope"], "nope does not exist"),
    "leaderboard empty": (["leaderboard", ""], "expected a path, got an empty string"),
    "leaderboard no runs": (["leaderboard", "adir"], "holds no run folder"),
    "leaderboard foreign parquet": (["leaderboard", "foreign.parquet"], "foreign.parquet is not a run summary"),
    "leaderboard target word": (["leaderboard", "adir", "--target", "abc"], "'abc' is not a number"),
    "leaderboard plan word": (["leaderboard", "adir", "--plan", "abc"], "invalid float value: 'abc'"),
    "leaderboard out a folder": (["leaderboard", "adir", "--out", "adir"], "is a folder; give a file name"),
    "leaderboard out below a file": (["leaderboard", "adir", "--out", "afile.txt/x.md"], "is a file, not a folder"),
    "agreement missing": (["agreement", "nope", "nope"], "nope does not exist"),
    "agreement empty": (["agreement", "", "adir"], "expected a path, got an empty string"),
    "agreement out below a file": (["agreement", "adir", "adir", "--out", "afile.txt/x.md"], "is a file, not a"),
    "summary missing": (["summary", "nope"], "nope does not exist"),
    "summary no leaderboard": (["summary", "adir"], "adir holds no study folder with a leaderboard.csv"),
    "summary figures a file": (["summary", "adir", "--figures", "afile.txt"], "afile.txt is a file, not a folder"),
    "summary preregistration missing": (["summary", "adir", "--preregistration", "nope.toml"], "does not exist"),
    "summary out below a file": (["summary", "adir", "--out", "afile.txt/x.md"], "is a file, not a folder"),
    "bias missing": (["bias", "nope"], "nope does not exist"),
    "bias out below a file": (["bias", "adir", "--out", "afile.txt/x.md"], "is a file, not a folder"),
    "plot missing": (["plot", "nope"], "nope does not exist"),
    "plot empty": (["plot", ""], "expected a path, got an empty string"),
    "plot out a file": (["plot", "adir", "--out", "afile.txt"], "afile.txt is a file, not a folder"),
    "plot out below a file": (["plot", "adir", "--out", "afile.txt/f"], "is not a folder this user can write"),
    # ------------------------------------------------ sweep (--dry-run: a case let through starts nothing)
    "sweep spec missing": (["sweep", "nope", "--dry-run"], "cannot read sweep spec nope"),
    "sweep spec a folder": (["sweep", "adir", "--dry-run"], "cannot read sweep spec adir"),
    "sweep spec empty": (["sweep", "", "--dry-run"], "expected a path, got an empty string"),
    "sweep seeds word": ([*SWEEP, "--seeds", "abc", "--dry-run"], "bad seed 'abc'"),
    "sweep seeds trillion": ([*SWEEP, "--seeds", "0-999999999999", "--dry-run"], f"is more than {MAX_SEED}"),
    "sweep seeds too many": ([*SWEEP, "--seeds", f"0-{MAX_SEED}", "--dry-run"], "more than 100,000 seeds"),
    "sweep seed too long": ([*SWEEP, "--seeds", "9" * 5000, "--dry-run"], f"is more than {MAX_SEED}"),
    "sweep seed 2**32": ([*SWEEP, "--seeds", str(2**32), "--dry-run"], f"seed 4294967296 is more than {MAX_SEED}"),
    "sweep grid too large": (
        [*SWEEP, "--opts", "asha,asha+ohgw,asha+random", "--seeds", "0-49999", "--dry-run"],
        "the grid has 150,000 runs",
    ),
    "sweep workers huge": ([*SWEEP, "--workers", "100000", "--dry-run"], "--workers 100000 is more than"),
    "sweep dask workers zero": ([*SWEEP, "--n-dask-workers", "0", "--dry-run"], "must be a positive integer"),
    "sweep dask workers huge": ([*SWEEP, "--n-dask-workers", "1000", "--dry-run"], "--n-dask-workers 1000 is more"),
    "sweep threads huge": ([*SWEEP, "--threads", "1000", "--dry-run"], "--threads 1000 is more than"),
    "sweep budget huge": ([*SWEEP, "--budget", "721h", "--dry-run"], "more than the limit of 720h"),
    "sweep out a file": ([*SWEEP, "--out", "afile.txt", "--dry-run"], "is not a folder"),
    "sweep out empty": ([*SWEEP, "--out", "", "--dry-run"], "expected a path, got an empty string"),
    "sweep configs-from empty": ([*SWEEP, "--configs-from", "", "--dry-run"], "expected a path, got an empty"),
    "sweep tasks empty": ([*SWEEP, "--tasks", "", "--dry-run"], "tasks is empty"),
    "sweep backend unknown name": ([*SWEEP, "--backend", "table:nope", "--dry-run"], NOT_A_TABLE),
    "sweep configs-from unknown name": ([*SWEEP, "--configs-from", "nope", "--dry-run"], NOT_A_TABLE),
    # ------------------------------------------------------------------ table build, report, verify
    "build configs word": ([*BUILD, "--configs", "abc"], "invalid int value: 'abc'"),
    "build configs zero": ([*BUILD, "--configs", "0"], "--configs must be a positive integer"),
    "build configs huge": ([*BUILD, "--configs", "1000000000"], f"is more than {MAX_CONFIGS:,}"),
    "build cells too many": (
        [*BUILD, "--configs", str(MAX_CONFIGS), "--arms", MANY_ARMS],
        "--configs x --arms 1114112 is more than",
    ),
    "build seed negative": ([*BUILD, "--seed", "-1"], f"--seed must be in [0, {MAX_SEED}]"),
    "build seed huge": ([*BUILD, "--seed", str(2**40)], f"--seed must be in [0, {MAX_SEED}]"),
    "build dask workers huge": ([*BUILD, "--n-dask-workers", "1000"], "--n-dask-workers 1000 is more than"),
    "build threads huge": ([*BUILD, "--threads", "1000"], "--threads 1000 is more than"),
    "build epochs word": ([*BUILD, "--epochs", "x"], "invalid int value: 'x'"),
    "build out a file": ([*BUILD, "--out", "afile.txt"], "afile.txt is a file, not a folder"),
    "build out below a file": ([*BUILD, "--out", "afile.txt/t"], "is not a folder this user can write"),
    "build out empty": ([*BUILD, "--out", ""], "expected a path, got an empty string"),
    "report missing": (["table", "report", "nope"], "not an ohgw-bench table"),
    "report empty": (["table", "report", ""], "expected a path, got an empty string"),
    "report out a file": (["table", "report", "adir", "--out", "afile.txt"], "afile.txt is a file, not a folder"),
    "select missing": (["table", "select", "nope"], "cannot read nope as a table report"),
    "verify missing": (["table", "verify", "nope"], "not an ohgw-bench table"),
    "export missing": ([*EXPORT, "nope/t"], "not an ohgw-bench table"),
    "export not a table": ([*EXPORT, "adir"], "adir holds no meta.json: not an ohgw-bench table"),
    "export unknown name": ([*EXPORT, "nope"], NOT_A_TABLE),
    "export empty": ([*EXPORT, ""], "expected a path, got an empty string"),
    "export format unknown": ([*EXPORT, "mnist1d-cnn", "--format", "csv"], "invalid choice: 'csv'"),
    "export format missing": (["table", "export", "mnist1d-cnn", "--out", "x"], "required: --format"),
    "export out missing": (["table", "export", "mnist1d-cnn", "--format", "syne-tune"], "required: --out"),
    "export out a file": ([*EXPORT, "mnist1d-cnn", "--out", "afile.txt"], "afile.txt is a file, not a folder"),
    "export out below a file": ([*EXPORT, "mnist1d-cnn", "--out", "afile.txt/x"], "is not a folder this user can"),
    "export out not empty": ([*EXPORT, "mnist1d-cnn", "--out", "."], "already holds files; pass --overwrite"),
    "export overwrite other files": (
        [*EXPORT, "mnist1d-cnn", "--out", ".", "--overwrite"],
        "holds files that are not an export's (adir, afile.txt, foreign.parquet)",
    ),
    "verify cells zero": (["table", "verify", "adir", "--cells", "0"], "--cells must be a positive integer"),
    "verify threads zero": (["table", "verify", "adir", "--threads", "0"], "--threads must be a positive integer"),
    "verify threads huge": (["table", "verify", "adir", "--threads", "1000"], "--threads 1000 is more than"),
}


def _files(root: Path) -> set[Path]:
    return set(root.rglob("*"))


@pytest.mark.parametrize("argv, message", list(CASES.values()), ids=list(CASES))
def test_bad_input_exits_2_with_a_message_and_writes_nothing(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile.txt").write_text("not a folder")
    (tmp_path / "adir").mkdir()
    pd.DataFrame({"a": [1, 2], "b": [3, 4]}).to_parquet(tmp_path / "foreign.parquet")
    before = _files(tmp_path)
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse's own refusals
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err, err
    assert "Traceback" not in err
    assert _files(tmp_path) == before  # nothing written


def test_a_replay_refuses_more_simulated_workers_than_its_limit(twin_table, tmp_path, capsys):
    """A replay's workers are simulated, yet bounded: syne-tune's simulator asks for a trial per free worker."""
    argv = ["run", "--task", "digits-cnn", "--opt", "asha", "--backend", f"table:{twin_table}", "--budget", "1ep"]
    assert main([*argv, "--workers", "1000000000", "--out", str(tmp_path / "out")]) == 2
    assert "--workers 1000000000 is more than 256 (simulated workers of a replay)" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
