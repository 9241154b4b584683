"""The CLI as a user meets it: listing without torch, bad input → exit 2 and nothing written."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ohgw_bench.cli import main
from ohgw_bench.trajectory import write_json_atomic


def test_list_does_not_import_torch():
    code = ("import sys; from ohgw_bench.cli import main; main(['list']); "
            "assert 'torch' not in sys.modules, 'list imported torch'; "
            "assert 'syne_tune' not in sys.modules, 'list imported syne_tune'")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "digits-cnn" in out.stdout and "asha" in out.stdout and "ohgw" in out.stdout


def test_list_one_kind(capsys):
    assert main(["list", "warmstarts"]) == 0
    out = capsys.readouterr().out
    assert "ohgw" in out and "digits-cnn" not in out


@pytest.mark.parametrize("args, message", [
    (["--task", "digits-cn", "--opt", "asha"], "closest: digits-cnn"),
    (["--task", "digits-cnn", "--opt", "asah+ohgw"], "closest: asha"),
    (["--task", "digits-cnn", "--opt", "asha+ohgw("], "unbalanced"),
    (["--task", "digits-cnn", "--opt", "asha+ohgw(etaa=1)"], "unknown parameter 'etaa'"),
    (["--task", "digits-cnn", "--opt", "asha", "--budget", "12 parsecs"], "bad budget"),
    (["--task", "digits-cnn", "--opt", "asha+ohgw(steps=0)"], "steps=0 must be an integer >= 1"),
    (["--task", "digits-cnn", "--opt", "asha", "--workers", "0"], "positive integer"),
    (["--task", "digits-cnn", "--opt", "pasha(reduction_factor=9)"], "lower grace_period or reduction_factor"),
])
def test_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, args, message):
    code = main(["run", *args, "--out", str(tmp_path / "out")])
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
