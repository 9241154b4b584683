"""The selection rule of docs/ablations.md: each of its three rules can reject or reorder an arm, the
fallback fills with plain steps, and the committed pre-registration is what the rule gives on the
committed development table."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pandas as pd
import pytest

from ohgw_bench.analysis.selection import read_selection, select_variants
from ohgw_bench.cli import main

ROOT = Path(__file__).resolve().parents[2]
DEV_REPORT = ROOT / "results" / "mnist1d-cnn-dev-table" / "report" / "report.csv"
PREREGISTRATION = ROOT / "examples" / "preregistration.toml"


def _row(arm: str, reference: str, mean: float, low: float = 0.0, saved: float = 0.0) -> dict:
    return {
        "arm": arm,
        "reference": reference,
        "final_pp_mean": mean,
        "final_pp_shift": mean,
        "final_pp_low": low,
        "final_pp_high": mean + 1,
        "epochs_to_target_median_saved": saved,
    }


def test_harm_and_chance_direction_reject_and_epochs_saved_rank_first():
    report = pd.DataFrame(
        [
            _row("ohgw(eta=1)", "none", 1.0),
            _row("ohgw(eta=3)", "none", 5.0, low=-0.6),  # rule 1: its interval reaches below -0.5 pp
            _row("ohgw(eta=3,max_step=0.1)", "none", 4.0),
            _row("ohgw(eta=3,max_step=0.1)", "random(eta=3,max_step=0.1)", -0.1),  # rule 2: no better than chance
            _row("ohgw(eta=0.1,normalize=true)", "none", 0.5, saved=2.0),  # rule 3: saves epochs, ranks first
            _row("random(eta=1)", "none", 9.0),  # a control is never a candidate
        ]
    )
    selection = select_variants(report)
    assert selection.chosen == ("ohgw(eta=0.1,normalize=true)", "ohgw(eta=1)")
    assert selection.filled == ()
    verdicts = {s.arm: (s.does_not_hurt, s.direction_matters) for s in selection.screened}
    assert verdicts["ohgw(eta=3)"] == (False, True)
    assert verdicts["ohgw(eta=3,max_step=0.1)"] == (True, False)


def test_too_few_passing_arms_are_filled_with_the_best_plain_step():
    report = pd.DataFrame(
        [
            _row("ohgw(eta=1)", "none", 1.0, low=-2.0),
            _row("ohgw(eta=3)", "none", 2.0, low=-2.0),
            _row("ohgw(eta=3,horizon=3)", "none", 3.0, low=-2.0),  # not plain: never a filler
        ]
    )
    selection = select_variants(report)
    assert selection.chosen == ("ohgw(eta=3)", "ohgw(eta=1)")
    assert selection.filled == selection.chosen


def test_the_preregistration_is_the_rule_applied_to_the_committed_development_table():
    registered = tomllib.loads(PREREGISTRATION.read_text())
    arms = tuple(variant["arm"] for variant in registered["variant"])
    selection = read_selection(DEV_REPORT)
    assert arms == selection.chosen
    screened = {s.arm: s for s in selection.screened}
    for variant in registered["variant"]:  # the quoted development figures are the report's
        assert variant["dev_final_pp_hl"] == pytest.approx(screened[variant["arm"]].final_pp_shift, abs=0.005)


def test_select_refuses_what_is_not_a_report(tmp_path, capsys):
    (tmp_path / "report.csv").write_text("a,b\n1,2\n")
    assert main(["table", "select", str(tmp_path)]) == 2
    assert "not a table report (report.csv): no column arm" in capsys.readouterr().err
