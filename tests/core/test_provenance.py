"""``code_version_of``: the code version of a git checkout tells committed code from uncommitted edits,
and tells two different sets of edits apart (issue 23 item 3). Each test makes a checkout of its own."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from ohgw_bench.core.provenance import code_version_of

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def _git(checkout: Path, *args: str) -> None:
    identity = ["-c", "user.name=test", "-c", "user.email=test@example.invalid", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", *identity, *args], cwd=checkout, check=True, capture_output=True)


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A committed checkout holding ``ohgw_bench/train.py``, ``pyproject.toml`` and a results file."""
    root = tmp_path / "repo"
    (root / "ohgw_bench").mkdir(parents=True)
    (root / "ohgw_bench" / "train.py").write_text("LR = 0.1\n")
    (root / "pyproject.toml").write_text('[project]\nname = "x"\n')
    (root / "results").mkdir()
    (root / "results" / "r.csv").write_text("a\n")
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "initial")
    return root


def test_a_clean_checkout_is_unmodified_and_has_no_changes_digest(checkout: Path) -> None:
    version = code_version_of(checkout)
    assert version is not None
    assert version["modified"] is False and version["changes_sha256"] is None
    assert len(version["package_tree"]) == 40 and len(version["pyproject"]) == 40
    assert code_version_of(checkout / "ohgw_bench") == version  # any folder of the checkout: pathspecs are anchored


def test_an_edited_package_file_is_modified_and_its_digest_names_the_edit(checkout: Path) -> None:
    clean = code_version_of(checkout)
    (checkout / "ohgw_bench" / "train.py").write_text("LR = 0.2\n")
    edited = code_version_of(checkout)
    assert edited is not None and clean is not None
    assert edited["modified"] is True and edited["changes_sha256"] is not None
    assert edited["package_tree"] == clean["package_tree"]  # the commit is the same: only the digest tells them apart
    (checkout / "ohgw_bench" / "train.py").write_text("LR = 0.3\n")
    other = code_version_of(checkout)
    assert other is not None and other["changes_sha256"] not in (None, edited["changes_sha256"])
    _git(checkout, "add", "ohgw_bench/train.py")  # staged is still uncommitted
    assert code_version_of(checkout) == other
    _git(checkout, "commit", "-q", "-m", "edit")
    committed = code_version_of(checkout)
    assert committed is not None and committed["modified"] is False and committed["changes_sha256"] is None
    assert committed["package_tree"] != clean["package_tree"]


def test_edited_pins_and_new_package_files_are_modifications_and_results_are_not(checkout: Path) -> None:
    (checkout / "results" / "r.csv").write_text("b\n")
    (checkout / "results" / "new.csv").write_text("c\n")
    assert code_version_of(checkout)["modified"] is False  # type: ignore[index]
    (checkout / "pyproject.toml").write_text('[project]\nname = "y"\n')
    pins = code_version_of(checkout)
    assert pins is not None and pins["modified"] is True
    subprocess.run(["git", "checkout", "--", "pyproject.toml"], cwd=checkout, check=True)
    (checkout / "ohgw_bench" / "plugin.py").write_text("X = 1\n")  # untracked: the registry would import it
    plugin = code_version_of(checkout)
    assert plugin is not None and plugin["modified"] is True and plugin["changes_sha256"] != pins["changes_sha256"]


def test_outside_a_git_checkout_there_is_no_code_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))  # even if tmp_path lies in a checkout
    assert code_version_of(tmp_path) is None
