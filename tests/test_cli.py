"""The CLI as a user meets it: listing without torch, bad input → exit 2 and nothing written."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ohgw_bench.cli import main
from ohgw_bench.core.trajectory import write_json_atomic
from tests.conftest import plan_run


def test_list_does_not_import_torch():
    code = (
        "import sys; from ohgw_bench.cli import main; main(['list']); "
        "assert 'torch' not in sys.modules, 'list imported torch'; "
        "assert 'syne_tune' not in sys.modules, 'list imported syne_tune'"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "digits-cnn" in out.stdout and "asha" in out.stdout and "ohgw" in out.stdout


def test_list_one_kind(capsys):
    assert main(["list", "warmstarts"]) == 0
    out = capsys.readouterr().out
    assert "ohgw" in out and "digits-cnn" not in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["--task", "digits-cn", "--opt", "asha"], "closest: digits-cnn"),
        (["--task", "digits-cnn", "--opt", "asah+ohgw"], "closest: asha"),
        (["--task", "digits-cnn", "--opt", "asha+ohgw("], "unbalanced"),
        (["--task", "digits-cnn", "--opt", "asha+ohgw(etaa=1)"], "unknown parameter 'etaa'"),
        (["--task", "digits-cnn", "--opt", "asha", "--budget", "12 parsecs"], "bad budget"),
        (["--task", "digits-cnn", "--opt", "asha+ohgw(steps=0)"], "steps=0 must be an integer >= 1"),
        (["--task", "digits-cnn", "--opt", "asha", "--workers", "0"], "positive integer"),
        (["--task", "digits-cnn", "--opt", "pasha(reduction_factor=9)"], "lower grace_period or reduction_factor"),
        (["--task", "digits-cnn", "--opt", "asha+ohgw(eta=inf)"], "eta=inf must be a finite number"),
        (["--task", "digits-cnn", "--opt", "asha+gauss(sigma=inf)"], "sigma=inf must be a finite number"),
        (["--task", "digits-cnn", "--opt", "asha+ohgw(steps=true)"], "steps"),
        (["--task", "digits-cnn", "--opt", "asha", "--workers", "1000"], "--workers 1000 is more than"),
        (["--task", "digits-cnn", "--opt", "asha", "--backend", "threads"], "or table:PATH, got 'threads'"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, args, message):
    try:
        code = main(["run", *args, "--out", str(tmp_path / "out")])
    except SystemExit as exit_:  # argparse's own refusals
        code = exit_.code
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_complete_run_is_refused_without_overwrite(tmp_path, capsys):
    run = tmp_path / "digits-cnn" / "asha" / "seed-0"
    run.mkdir(parents=True)
    write_json_atomic(run / "meta.json", {"schema_version": 1, "status": "complete"})
    (run / "events.jsonl").write_text('{"x": 1}\n')
    code = main(["run", "--task", "digits-cnn", "--opt", "asha", "--out", str(tmp_path)])
    assert code == 2
    assert "--overwrite" in capsys.readouterr().err
    assert json.loads((run / "meta.json").read_text())["status"] == "complete"
    assert (run / "events.jsonl").read_text() == '{"x": 1}\n'  # nothing lost


def test_missing_cifar_gives_one_clear_message(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("OHGW_BENCH_DATA", str(tmp_path / "empty-cache"))
    code = main(["run", "--task", "cifar10-resnet20", "--opt", "asha", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert "ohgw-bench data import" in err and "ohgw-bench data download cifar10" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_show_rejects_a_non_run_folder(tmp_path, capsys):
    assert main(["show", str(tmp_path)]) == 2
    assert "not an ohgw-bench run folder" in capsys.readouterr().err


def _exit_code(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exit_:
        return int(exit_.code)


@pytest.mark.parametrize(
    "argv,message",
    [
        (["leaderboard", "{empty}"], "holds no run folder"),
        (["plot", "{empty}"], "holds no run folder"),
        (["leaderboard", "{empty}", "--target", "nan"], "must be an accuracy in (0, 1]"),
        (["plot", "{empty}", "--target", "2"], "must be an accuracy in (0, 1]"),
        (["run", "--task", "digits-cnn", "--opt", "asha", "--out", "{file}"], "is a file, not a folder"),
        (
            ["run", "--task", "digits-cnn", "--opt", "asha", "--out", "{file}/sub"],
            "is not a folder this user can write",
        ),
        (
            ["sweep", "--tasks", "digits-cnn", "--opts", "asha", "--seeds", "0", "--out", "{file}/sub"],
            "is not a folder this user can write",
        ),
    ],
)
def test_wrong_folders_and_values_exit_2_and_write_nothing(tmp_path, capsys, argv, message):
    empty, file = tmp_path / "empty", tmp_path / "a-file"
    empty.mkdir()
    file.write_text("x")
    argv = [a.format(empty=empty, file=file) for a in argv]
    assert _exit_code(argv) == 2
    assert message in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a-file", "empty"]


def test_missing_cifar_exits_2_for_run_and_sweep_and_writes_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("OHGW_BENCH_DATA", str(tmp_path / "no-data"))
    out = tmp_path / "out"
    assert _exit_code(["run", "--task", "cifar10-resnet20", "--opt", "asha", "--out", str(out)]) == 2
    assert (
        _exit_code(["sweep", "--tasks", "cifar10-resnet20", "--opts", "asha", "--seeds", "0-1", "--out", str(out)]) == 2
    )
    err = capsys.readouterr().err
    assert err.count("ohgw-bench data import") == 2 and "set $OHGW_BENCH_DATA for `run` and `sweep`" in err
    assert not out.exists() and not (tmp_path / "no-data").exists()


def test_show_on_the_folder_above_runs_says_where_they_are(tmp_path, capsys):
    from tests.helpers.synthetic import write_run

    write_run(tmp_path, "digits-cnn", "asha", 0, [])
    assert main(["show", str(tmp_path / "digits-cnn")]) == 2
    err = capsys.readouterr().err
    assert "is not a run folder" in err and "asha/seed-0" in err


def test_show_on_a_failed_run_names_it(tmp_path, capsys):
    from ohgw_bench.execution.meta import write_failed_meta

    plan = plan_run("digits-cnn", "asha", seed=0, budget="120s", workers=1, out=tmp_path)
    write_failed_meta(plan, RuntimeError("boom"), "Traceback: boom")
    assert main(["show", str(plan.directory)]) == 0
    assert "status: failed" in capsys.readouterr().out


def test_leaderboard_out_must_be_a_file(tmp_path, capsys):
    from tests.helpers.synthetic import write_run

    write_run(tmp_path / "res", "digits-cnn", "asha", 0, [])
    assert main(["leaderboard", str(tmp_path / "res"), "--out", str(tmp_path)]) == 2
    assert "is a folder; give a file name" in capsys.readouterr().err


def test_leaderboard_refuses_pairs_run_on_different_devices_unless_allowed(tmp_path, capsys):
    from tests.helpers.synthetic import crossing_events, write_run

    provenance = {
        "code_version": {"package_tree": "1" * 40, "pyproject": "2" * 40, "modified": False},
        "versions": {"ohgw-bench": "0.1.0", "python": "3.11.9", "torch": "2.3.1"},
        "device": "cpu: AMD EPYC 7B13 (2 cores, x86_64)",
    }
    for seed in range(2):
        for optimizer, t in (("asha", 40.0), ("asha+ohgw", 20.0)):
            meta_path = (
                write_run(tmp_path / "res", "digits-cnn", optimizer, seed, crossing_events(t, 90.0)) / "meta.json"
            )
            device = "NVIDIA H100 80GB HBM3" if (optimizer, seed) == ("asha+ohgw", 1) else provenance["device"]
            meta_path.write_text(json.dumps({**json.loads(meta_path.read_text()), **provenance, "device": device}))
    out = tmp_path / "LEADERBOARD.md"
    assert main(["leaderboard", str(tmp_path / "res"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ohgw-bench: error: task 'digits-cnn', scheduler 'asha', arm 'ohgw', seed 1:")
    assert "differ in device" in err and "'NVIDIA H100 80GB HBM3'" in err and "--allow-mixed" in err
    assert not out.exists()
    assert main(["leaderboard", str(tmp_path / "res"), "--out", str(out), "--allow-mixed"]) == 0
    assert "| ohgw † |" in out.read_text()


def test_plot_keeps_existing_figures_unless_told(tmp_path, capsys):
    from tests.helpers.synthetic import write_run

    write_run(tmp_path / "res", "digits-cnn", "asha", 0, [])
    figures = tmp_path / "res" / "figures"
    figures.mkdir()
    (figures / "committed.png").write_bytes(b"png")
    assert main(["plot", str(tmp_path / "res")]) == 2
    assert "pass --overwrite" in capsys.readouterr().err
    assert [p.name for p in figures.iterdir()] == ["committed.png"]


def test_results_files_follow_the_umask(tmp_path):
    import os

    from ohgw_bench.core.trajectory import META

    write_json_atomic(tmp_path / META, {"x": 1})
    mask = os.umask(0o022)
    os.umask(mask)
    assert (tmp_path / META).stat().st_mode & 0o777 == 0o666 & ~mask


def test_every_option_has_help():
    from ohgw_bench.cli import _parser

    parser = _parser()
    subparsers = next(a for a in parser._actions if a.dest == "command").choices
    for name, sub in subparsers.items():
        for action in sub._actions:
            if action.dest != "help" and not isinstance(action.choices, dict):
                assert action.help, f"{name} {action.option_strings or action.dest} has no help"


def test_results_loader_reads_a_run_that_failed_before_it_started(tmp_path):
    """The sweep's fallback meta.json once wrote its budget as a string; now the runner writes every meta.json."""
    import ohgw_bench
    from ohgw_bench.execution.meta import write_failed_meta

    plan = plan_run("digits-cnn", "asha", seed=0, budget="120s", workers=1, out=tmp_path)
    write_failed_meta(plan, RuntimeError("boom"), "Traceback: boom")
    df = ohgw_bench.load_results(tmp_path, include_incomplete=True)
    assert df.empty and df.attrs["incomplete_runs"][0]["status"] == "failed"


def test_meta_records_a_code_version_that_committing_results_does_not_change(tmp_path):
    """The package's git tree hash identifies the code that ran; results commits leave it as it is."""
    import subprocess as sp

    from ohgw_bench.execution.meta import run_meta

    meta = run_meta(plan_run("digits-cnn", "asha", seed=0, budget="5ep", workers=1, out=tmp_path))
    root = sp.run(["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True).stdout.strip()
    if not root:
        pytest.skip("not a git checkout")
    expected = sp.run(["git", "rev-parse", "HEAD:ohgw_bench"], capture_output=True, text=True, cwd=root).stdout.strip()
    version = meta.code_version
    assert version["package_tree"] == expected and len(expected) == 40
    assert isinstance(version["modified"], bool) and len(version["pyproject"]) == 40
