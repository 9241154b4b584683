"""Pairs compare the digest of uncommitted changes (issue 23 item 3): two runs of the same commit with
different local edits are not one code version; a record without the digest reads as clean."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ohgw_bench.analysis.leaderboard import build_leaderboard
from ohgw_bench.analysis.pairing import MixedPairError, pair_mismatches
from ohgw_bench.analysis.results import summarize_runs
from tests.helpers.synthetic import PROVENANCE, crossing_events
from tests.helpers.synthetic import write_trusted_run as write_run

CLEAN = {**PROVENANCE["code_version"], "modified": False, "changes_sha256": None}
EDITED = {**PROVENANCE["code_version"], "modified": True, "changes_sha256": "5" * 64}
OTHER_EDIT = {**EDITED, "changes_sha256": "6" * 64}


#: the pair fields that are not provenance, equal on both sides
SAME_RUN_SHAPE = {"budget_amount": 100.0, "budget_clock": "tuner_seconds", "workers": 1}


def _code(version: dict) -> dict[str, object]:
    return {**{k: json.dumps(v) for k, v in PROVENANCE.items()}, **SAME_RUN_SHAPE, "code_version": json.dumps(version)}


def test_the_changes_digest_is_compared_and_none_means_clean() -> None:
    old = PROVENANCE["code_version"]  # recorded before the digest existed: no key
    assert "changes_sha256" not in old
    assert pair_mismatches(_code(old), _code(CLEAN)) == []
    assert pair_mismatches(_code(EDITED), _code(EDITED)) == []
    for a, b in ((CLEAN, EDITED), (EDITED, OTHER_EDIT), (old, EDITED)):
        found = pair_mismatches(_code(a), _code(b))
        assert [(m.field, m.none_value, m.arm_value) for m in found] == [
            ("code_version.changes_sha256", a.get("changes_sha256"), b["changes_sha256"])
        ]


def test_the_leaderboard_refuses_a_pair_whose_arm_ran_other_local_edits(tmp_path: Path) -> None:
    for seed in range(3):
        write_run(tmp_path, "t", "asha", seed, crossing_events(40, 90.0))
        arm = {"code_version": EDITED} if seed == 1 else None
        write_run(tmp_path, "t", "asha+ohgw", seed, crossing_events(20, 90.0), meta=arm)
    with pytest.raises(MixedPairError) as caught:
        build_leaderboard(summarize_runs(tmp_path))
    assert caught.value.mismatch.field == "code_version.changes_sha256" and caught.value.seed == 1
    assert "none: none (no uncommitted change)" in str(caught.value) and "5" * 64 in str(caught.value)
