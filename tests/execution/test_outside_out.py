"""Nothing outside --out is removed, moved or written through a symbolic link below it (issue 23, item 5):
``run --overwrite``, a sweep's resume and move-aside, and the runner itself refuse a run folder, or a
folder between --out and it, that is a link, and touch nothing; reports and figures replace a link
rather than write through it."""

from __future__ import annotations

from pathlib import Path

import pytest

from ohgw_bench.cli import main
from ohgw_bench.core.confined import EscapesOut
from ohgw_bench.core.trajectory import run_dir
from ohgw_bench.execution.plan import RunRefused, RunRequest
from ohgw_bench.execution.sweep.spec import RunKey
from tests.conftest import plan_run
from tests.helpers.synthetic import crossing_events, write_trusted_run

TASK, OPT, SEED = "digits-cnn", "asha", 0
RUN = ["--task", TASK, "--opt", OPT, "--seed", str(SEED), "--budget", "1ep", "--workers", "1", "--quiet"]
SWEEP = ["--tasks", TASK, "--opts", OPT, "--seeds", str(SEED), "--budget", "1ep", "--workers", "1", "--quiet"]
#: what is a link, below --out, and where it sits: the run folder, a folder above it, the locks, the attempts
LINKS = {
    "run folder": f"{TASK}/{OPT}/seed-{SEED}",
    "task folder": TASK,
    "locks": "_locks",
    "attempts": "_attempts",
}


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _linked(tmp_path: Path, where: str) -> tuple[Path, Path, dict[str, bytes]]:
    """``out`` with ``LINKS[where]`` a link to ``outside``, a folder holding a sentinel file and, for the
    run and task links, a run folder's files (a failed run: one a resume would move aside or remove)."""
    out, outside = tmp_path / "out", tmp_path / "outside"
    outside.mkdir()
    (outside / "sentinel.txt").write_text("not the benchmark's\n")
    below = {"run folder": outside, "task folder": outside / OPT / f"seed-{SEED}"}.get(where)
    if below is not None:
        below.mkdir(parents=True, exist_ok=True)
        meta = '{"schema_version": 1, "task": "digits-cnn", "optimizer": "asha", "seed": 0, "status": "failed", '
        (below / "meta.json").write_text(meta + '"budget": {"amount": 1, "clock": "epochs"}}\n')
        (below / "events.jsonl").write_text("")
    link = out / LINKS[where]
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(outside, target_is_directory=True)
    return out, outside, _snapshot(outside)


def _untouched(out: Path, outside: Path, before: dict[str, bytes], where: str) -> None:
    assert _snapshot(outside) == before
    link = out / LINKS[where]
    assert link.is_symlink()
    made = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    assert made == sorted({*(str(Path(*Path(LINKS[where]).parts[:i])) for i in range(1, 4)), LINKS[where]}), made


@pytest.mark.parametrize("where", ["run folder", "task folder", "locks"])
def test_run_overwrite_refuses_a_linked_folder_and_touches_nothing(tmp_path, capsys, where):
    out, outside, before = _linked(tmp_path, where)
    assert main(["run", *RUN, "--out", str(out), "--overwrite"]) == 2
    err = capsys.readouterr().err
    assert f"{out / LINKS[where]} is a symbolic link (to {outside})" in err and "nothing was touched" in err
    _untouched(out, outside, before, where)


@pytest.mark.parametrize("where", ["run folder", "task folder", "locks", "attempts"])
def test_a_sweep_refuses_a_linked_folder_and_touches_nothing(tmp_path, capsys, where):
    out, outside, before = _linked(tmp_path, where)
    for dry in ([], ["--dry-run"]):
        assert main(["sweep", *SWEEP, "--out", str(out), *dry]) == 2
        err = capsys.readouterr().err
        assert f"{out / LINKS[where]} is a symbolic link (to {outside})" in err
        _untouched(out, outside, before, where)


@pytest.mark.parametrize("where", ["run folder", "task folder", "locks", "attempts"])
def test_a_link_made_after_the_sweeps_checks_is_refused_where_the_run_executes(tmp_path, where):
    """The worker's own checks, for a link that appeared after sweep_main looked: ``run_one`` reports the run
    refused, ``move_aside`` raises; neither takes the lock, ends a process or moves a file."""
    from ohgw_bench.execution.sweep.records import FAILED
    from ohgw_bench.execution.sweep.run import move_aside, run_one

    out, outside, before = _linked(tmp_path, where)
    outcome = run_one(RunRequest.parse(TASK, OPT, "1ep", out, seed=SEED, workers=1))
    assert outcome.state == FAILED and outcome.detail.startswith("refused: ") and "symbolic link" in outcome.detail
    if where != "locks":  # moving aside takes no lock
        with pytest.raises(EscapesOut, match="symbolic link"):
            move_aside(out, RunKey(TASK, OPT, SEED), "interrupted")
    _untouched(out, outside, before, where)


def test_the_runner_checks_again_right_before_it_removes(tmp_path):
    """A plan prepared before the link appeared (prepare_run saw none): execute_run refuses before it ends a
    process, removes the old folder or writes a file."""
    from ohgw_bench.execution.runner import execute_run

    plan = plan_run(TASK, OPT, seed=SEED, budget="1ep", workers=1, out=tmp_path / "out", overwrite=True)
    out, outside, before = _linked(tmp_path, "run folder")
    with pytest.raises(RunRefused, match="symbolic link"):
        execute_run(plan)
    _untouched(out, outside, before, "run folder")


def test_leaderboard_out_replaces_a_link_instead_of_writing_through_it(tmp_path, capsys):
    for opt in ("asha", "asha+ohgw"):
        for seed in range(3):
            write_trusted_run(tmp_path / "runs", "t", opt, seed, crossing_events(30.0 + seed, 100.0))
    outside = tmp_path / "outside.md"
    outside.write_text("not the benchmark's\n")
    link = tmp_path / "LEADERBOARD.md"
    link.symlink_to(outside)
    assert main(["leaderboard", str(tmp_path / "runs"), "--out", str(link)]) == 0
    assert outside.read_text() == "not the benchmark's\n"
    assert not link.is_symlink() and "asha" in link.read_text()


def test_a_figure_replaces_a_link_instead_of_writing_through_it(tmp_path):
    import matplotlib.pyplot as plt

    from ohgw_bench.analysis.plots import FORMATS, save_figure

    outside = tmp_path / "outside.png"
    outside.write_bytes(b"not the benchmark's")
    (tmp_path / "figures").mkdir()
    for fmt in FORMATS:
        (tmp_path / "figures" / f"curves.{fmt}").symlink_to(outside)
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    written = save_figure(fig, tmp_path / "figures", "curves")
    plt.close(fig)
    assert outside.read_bytes() == b"not the benchmark's"
    assert all(p.is_file() and not p.is_symlink() and p.stat().st_size > 100 for p in written)


def test_run_dir_layout_is_what_the_links_above_name():
    assert run_dir("o", TASK, OPT, SEED) == Path("o") / LINKS["run folder"]
