"""The one check every removal, move and write below --out asks first (ohgw_bench.core.confined)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ohgw_bench.core.confined import EscapesOut, confined


def _tree(tmp_path: Path) -> tuple[Path, Path]:
    out, outside = tmp_path / "out", tmp_path / "outside"
    (out / "task" / "opt").mkdir(parents=True)
    outside.mkdir()
    return out, outside


def test_real_folders_and_folders_not_made_yet_pass(tmp_path):
    out, _ = _tree(tmp_path)
    assert confined(out, out / "task" / "opt" / "seed-0") == out / "task" / "opt" / "seed-0"
    assert confined(out, out / "new" / "deeper" / "seed-1") == out / "new" / "deeper" / "seed-1"


def test_out_itself_may_be_a_link(tmp_path):
    out, _ = _tree(tmp_path)
    (tmp_path / "results").symlink_to(out)
    assert confined(tmp_path / "results", tmp_path / "results" / "task" / "opt" / "seed-0")


@pytest.mark.parametrize("linked", ["task", "task/opt", "task/opt/seed-0"])
def test_a_link_anywhere_below_out_is_refused_naming_it(tmp_path, linked):
    out, outside = tmp_path / "out", tmp_path / "outside"
    outside.mkdir()
    link = out / linked
    link.parent.mkdir(parents=True)
    link.symlink_to(outside, target_is_directory=True)
    with pytest.raises(EscapesOut, match=f"{link} is a symbolic link \\(to {outside}\\).*nothing was touched"):
        confined(out, out / "task" / "opt" / "seed-0")


def test_a_dangling_link_is_refused_too(tmp_path):
    out, _ = _tree(tmp_path)
    (out / "task" / "opt" / "seed-0").symlink_to(tmp_path / "nowhere")
    with pytest.raises(EscapesOut, match="symbolic link"):
        confined(out, out / "task" / "opt" / "seed-0")


def test_paths_not_below_out_are_refused(tmp_path):
    out, outside = _tree(tmp_path)
    with pytest.raises(EscapesOut, match="is not below --out"):
        confined(out, outside / "seed-0")
    with pytest.raises(EscapesOut, match="climbs out"):
        confined(out, out / "task" / ".." / ".." / "outside")
