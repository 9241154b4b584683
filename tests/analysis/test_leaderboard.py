"""Leaderboard statistics against numbers computed by hand, the pairing checks, and the three renderings."""

from __future__ import annotations

import io
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ohgw_bench.analysis.leaderboard import build_leaderboard, leaderboard
from ohgw_bench.analysis.pairing import MixedPairError, pair_mismatches
from ohgw_bench.analysis.render import render, time_unit
from ohgw_bench.analysis.results import summarize_runs
from ohgw_bench.analysis.stats import censored_pair_values, rank_biserial, wilcoxon_p, win_rate
from tests.helpers.synthetic import PROVENANCE, crossing_events
from tests.helpers.synthetic import write_trusted_run as write_run

# T@τ (tuner seconds) per seed, None = never reached; budget 100 s, runs end at 90 s, so a
# censored run counts as 100 s. Seed 7 exists only in the ohgw arm (unpaired).
NONE_T = {0: 30, 1: 40, 2: 50, 3: None, 4: 60, 5: 70, 6: 80}
OHGW_T = {0: 20, 1: 20, 2: None, 3: None, 4: 30, 5: 70, 6: 40, 7: 10}


def _events(t_reach: float | None, test_at_reach: float | None = None) -> list[dict]:
    events = crossing_events(t_reach, 90.0)
    if test_at_reach is not None:
        events[1]["test_acc"] = test_at_reach
    return events


@pytest.fixture
def results(tmp_path: Path) -> Path:
    for seed, t in NONE_T.items():
        write_run(tmp_path, "t", "asha", seed, _events(t))
    for seed, t in OHGW_T.items():
        write_run(tmp_path, "t", "asha+ohgw", seed, _events(t))
    return tmp_path


def _row(table: pd.DataFrame, arm: str, task: str = "t", scheduler: str = "asha") -> pd.Series:
    sel = table[(table["task"] == task) & (table["scheduler"] == scheduler) & (table["arm"] == arm)]
    assert len(sel) == 1
    return sel.iloc[0]


def test_paired_statistics_by_hand(results: Path) -> None:
    table = build_leaderboard(summarize_runs(results))
    assert table["arm"].tolist() == ["none", "ohgw"]
    none, arm = _row(table, "none"), _row(table, "ohgw")

    # Pairs: seeds 0..6. Censored values: 100 s.
    t_none = np.array([30, 40, 50, 100, 60, 70, 80], float)
    t_arm = np.array([20, 20, 100, 100, 30, 70, 40], float)
    assert (arm["n"], arm["n_runs"], arm["n_censored"], arm["n_censored_none"]) == (7, 8, 2, 1)
    assert (none["n"], none["n_censored"]) == (7, 1)

    # Medians and IQR (linear interpolation) in tuner seconds, over paired seeds only (seed 7 left out).
    # none sorted 30 40 50 60 70 80 100 → median 60, q25 45, q75 75.
    # ohgw sorted 20 20 30 40 70 100 100 → median 40, q25 25, q75 85.
    assert (none["T_tuner_s_median"], none["T_tuner_s_q25"], none["T_tuner_s_q75"]) == pytest.approx((60, 45, 75))
    assert (arm["T_tuner_s_median"], arm["T_tuner_s_q25"], arm["T_tuner_s_q75"]) == pytest.approx((40, 25, 85))
    assert arm["T_device_s_median"] == pytest.approx(40)  # one worker
    # Epochs: reached at the 2nd event (2 epochs), censored runs used 3.
    assert arm["T_epochs_median"] == 2.0 and arm["T_epochs_q75"] == pytest.approx(2.5)
    assert arm["T_reduction"] == pytest.approx(1 - 40 / 60)

    # Speed-up: ratios 1.5, 2, .5, 1 (both censored), 2, 1, 2 → median 1.5.
    assert arm["speedup"] == pytest.approx(1.5)
    # Win rate: wins at seeds 0, 1, 4, 6; loss at 2; ties (both censored; equal T) at 3 and 5.
    assert arm["win_rate"] == pytest.approx(5 / 7)
    # d = T_none − T_arm = 10, 20, −50, 0, 30, 0, 40. |d| ranks: the zeros 1.5 each, 10→3, 20→4, 30→5,
    # 40→6, 50→7; zsplit gives each zero rank half to R+ and half to R−: R+ = 18 + 1.5, R− = 7 + 1.5.
    assert arm["rank_biserial"] == pytest.approx((19.5 - 8.5) / 28)
    d = t_none - t_arm
    assert arm["p_value"] == pytest.approx(stats.wilcoxon(d, zero_method="zsplit").pvalue)
    # Incumbent test accuracy: .91 when τ reached, .84 otherwise; only seed 2 differs (−7 pp).
    assert arm["delta_test_acc_pp"] == pytest.approx(0.0)
    assert arm["incumbent_test_acc_median"] == pytest.approx(0.91)
    assert arm["best_val_acc_median"] == pytest.approx(0.92)
    assert arm["success"] == "✗"  # p is far from 0.05 with these pairs
    assert none["success"] == "—" and none["speedup"] == 1.0

    # Hodges–Lehmann on log ratios: the median of the 28 Walsh averages of log(1.5, 2, .5, 1, 2, 1, 2);
    # with 7 pairs the 95 % interval drops c = 2 averages at each end (P(T+ ≤ 2) = 3/128 ≤ 2.5 %).
    logs = np.log(t_none / t_arm)
    walsh = sorted((logs[i] + logs[j]) / 2 for i in range(7) for j in range(i, 7))
    assert len(walsh) == 28
    assert arm["speedup_hl"] == pytest.approx(math.exp((walsh[13] + walsh[14]) / 2))
    assert (arm["speedup_low"], arm["speedup_high"]) == pytest.approx((math.exp(walsh[2]), math.exp(walsh[25])))
    assert arm["verdict"] == "inconclusive"  # the criterion fails and the interval reaches past 1.176×
    assert none["verdict"] == "—" and none["speedup_hl"] == 1.0 and math.isnan(none["p_holm"])
    # the seed's spread check: SD of the pairs' censoring-adjusted T@τ, arm over none
    assert arm["T_sd_ratio"] == pytest.approx(np.std(t_arm, ddof=1) / np.std(t_none, ddof=1))
    assert arm["spread_not_inflated"] == bool(arm["T_sd_ratio"] <= 1.1)
    # one test in this leaderboard: Holm leaves its p alone
    assert arm["p_holm"] == pytest.approx(arm["p_value"])
    # test accuracy: only seed 2 differs (−7 pp), so the Walsh averages are 0 (21), −3.5 (6), −7 (1)
    assert arm["delta_test_acc_pp_hl"] == pytest.approx(0.0)
    assert arm["delta_test_acc_pp_low"] == pytest.approx(-3.5) and arm["delta_test_acc_pp_high"] == pytest.approx(0.0)


def test_success_needs_speed_significance_and_no_accuracy_drop(tmp_path: Path) -> None:
    # 8 seeds, the arm always ~half the time: exact two-sided p = 2 / 2^8 < 0.05.
    for seed in range(8):
        write_run(tmp_path, "t", "asha", seed, _events(40 + seed, test_at_reach=0.900))
        # Distinct differences, so scipy's exact distribution applies.
        write_run(tmp_path, "t", "asha+ohgw", seed, _events(20 + seed / 2, test_at_reach=0.899))  # −0.1 pp
        write_run(tmp_path, "t", "asha+random", seed, _events(20 + seed / 2, test_at_reach=0.897))  # −0.3 pp
        write_run(tmp_path, "t", "asha+gauss", seed, _events(36 + 1.1 * seed, test_at_reach=0.900))  # ~8 % faster
    table = build_leaderboard(summarize_runs(tmp_path))
    ohgw, rnd, gauss = _row(table, "ohgw"), _row(table, "random"), _row(table, "gauss")
    assert ohgw["p_value"] == pytest.approx(2 / 2**8)
    assert ohgw["delta_test_acc_pp"] == pytest.approx(-0.1)
    assert ohgw["win_rate"] == 1.0 and ohgw["rank_biserial"] == 1.0
    assert ohgw["success"] == "✓"
    assert rnd["delta_test_acc_pp"] == pytest.approx(-0.3) and rnd["success"] == "✗"
    assert gauss["p_value"] < 0.05 and gauss["T_reduction"] < 0.15 and gauss["success"] == "✗"


def test_pure_helpers() -> None:
    assert win_rate(
        [10, 10, 100, 10], [5, 10, 100, 100], [True, True, False, True], [True, True, False, False]
    ) == pytest.approx((1 + 0.5 + 0.5 + 0) / 4)
    assert rank_biserial([1, -2, 3]) == pytest.approx((1 + 3 - 2) / 6)
    assert math.isnan(rank_biserial([]))
    assert math.isnan(win_rate([], [], [], []))
    assert math.isnan(wilcoxon_p([2.5])) and math.isnan(wilcoxon_p([]))  # one pair: nothing to test
    assert wilcoxon_p([1, 2, 3, 4, 5, 6]) < 0.05
    # A censored value is raised to its partner's: never ahead of a reached run; two censored tie.
    a, b = censored_pair_values(
        [50, 80, 30, 40], [90, 60, 20, 10], [False, False, True, True], [False, True, False, True]
    )
    assert a.tolist() == [90, 80, 30, 40] and b.tolist() == [90, 60, 30, 10]


def test_arm_without_none_and_several_groups(tmp_path: Path) -> None:
    write_run(tmp_path, "t", "pasha+ohgw", 0, _events(30))  # nothing to pair with
    write_run(tmp_path, "u", "asha", 0, _events(30), workers=4)
    write_run(tmp_path, "u", "asha+ohgw", 0, _events(15), workers=4)
    table = build_leaderboard(summarize_runs(tmp_path))
    lonely = _row(table, "ohgw", scheduler="pasha")
    assert lonely["n"] == 0 and lonely["success"] == "✗" and math.isnan(lonely["p_value"])
    u = _row(table, "ohgw", task="u")
    assert u["n"] == 1 and u["T_device_s_median"] == pytest.approx(4 * 15)


def test_renderings_parse(results: Path) -> None:
    for seed in range(3):
        write_run(results, "u", "pasha", seed, _events(30))
        write_run(results, "u", "pasha+ohgw", seed, _events(20))
        write_run(results, "u", "pasha+random", seed, _events(25))
    table = build_leaderboard(summarize_runs(results))
    assert len(table) == 5  # t×asha: none, ohgw; u×pasha: none, ohgw, random

    csv = render(table, "csv")
    back = pd.read_csv(io.StringIO(csv))
    assert back.shape == table.shape and back.columns.tolist() == table.columns.tolist()
    assert back["p_value"].iloc[1] == pytest.approx(table["p_value"].iloc[1])
    # Holm over the leaderboard's three tests, by hand: sorted p times 3, 2, 1, then running maxima
    p = table["p_value"].to_numpy(float)
    tested = np.flatnonzero(~np.isnan(p))
    order = tested[np.argsort(p[tested])]
    expected = np.maximum.accumulate(np.minimum(1.0, p[order] * np.array([3, 2, 1])))
    assert table["p_holm"].to_numpy(float)[order] == pytest.approx(expected)
    assert set(table["verdict"]) <= {"—", "success", "ruled out", "inconclusive"}

    md = render(table, "md")
    headings = [line for line in md.splitlines() if line.startswith("## ")]
    assert headings == ["## t × asha", "## u × pasha", "## Across tuples"]
    assert "speed-up [95% CI]" in md and "p Holm" in md and "verdict" in md
    assert md.count("Smallest speed-up these pairs detect with 80 % power") == 2
    per_tuple, across = md.split("## Across tuples")
    table_lines = [line for line in per_tuple.splitlines() if line.startswith("|")]
    assert len(table_lines) == 2 * 2 + 5  # header + separator per group, one line per row
    assert [line.split(" | ")[:2] for line in across.splitlines() if line.startswith("| ") and "%" in line] == [
        ["| ohgw", "2"],
        ["| random", "1"],
    ]
    assert all(line.count("|") == table_lines[0].count("|") for line in table_lines)

    tex = render(table, "tex")
    # a table per task × scheduler, then the tuples table (a header and one row per arm: ohgw, random)
    assert tex.count("\\begin{tabular}") == 3 and tex.count("\\end{tabular}") == 3
    per_tuple, across = tex.split("tab:leaderboard-across-tuples")
    rows = [line for line in per_tuple.splitlines() if line.rstrip().endswith("\\\\")]
    assert len(rows) == 2 + 5  # one header per tabular plus the data rows
    assert [line.split(" & ")[:2] for line in across.splitlines() if line.endswith("\\\\")][1:] == [
        ["ohgw", "2"],
        ["random", "1"],
    ]
    assert "\\checkmark" in tex or "$\\times$" in tex
    assert "p_{\\mathrm{Holm}}" in tex and "Verdict" in tex

    assert leaderboard(results, fmt="md") == md
    with pytest.raises(ValueError, match="unknown leaderboard format"):
        render(table, "html")


def test_target_override_changes_the_table(results: Path) -> None:
    # τ = 0.5 is reached by every run at its first event (t/3; censored runs at 30 s).
    table = build_leaderboard(summarize_runs(results, target=0.5))
    arm = _row(table, "ohgw")
    assert arm["n_censored"] == 0
    # First events at t/3: 20/3, 20/3, 30, 30, 10, 70/3, 40/3 → median 40/3 s.
    assert arm["T_tuner_s_median"] == pytest.approx(40 / 3)


def test_both_censored_is_a_tie_even_when_budgets_used_differ(tmp_path: Path) -> None:
    # Epoch budget: the tuner clock of a censored run is its tuner time at exhaustion (90 vs 60 s).
    for seed in range(3):
        write_run(tmp_path, "t", "asha", seed, crossing_events(None, 90.0), budget=(3.0, "epochs"))
        write_run(tmp_path, "t", "asha+ohgw", seed, crossing_events(None, 60.0), budget=(3.0, "epochs"))
    summary = summarize_runs(tmp_path)
    assert sorted(summary["T_tuner_seconds_cens"].unique().tolist()) == [60.0, 90.0]
    arm = _row(build_leaderboard(summary), "ohgw")
    assert arm["win_rate"] == 0.5 and arm["speedup"] == 1.0 and arm["rank_biserial"] == 0.0
    assert arm["p_value"] == pytest.approx(stats.wilcoxon([0.0, 0.0, 0.0], zero_method="zsplit").pvalue)
    assert arm["T_reduction"] == 0.0 and arm["n_censored"] == 3 and arm["success"] == "✗"


# --------------------------------------------------------------------------- pairs you can trust

_OTHER_TORCH = {**PROVENANCE["versions"], "torch": "2.4.0"}


def _three_pairs(root: Path, arm_meta: dict[str, Any] | None = None, none_meta: dict[str, Any] | None = None) -> Path:
    """t × asha, seeds 0–2; ``arm_meta`` / ``none_meta`` change the meta.json of seed 1's ohgw / none run."""
    for seed in range(3):
        write_run(root, "t", "asha", seed, _events(40), meta=none_meta if seed == 1 else None)
        write_run(root, "t", "asha+ohgw", seed, _events(20), meta=arm_meta if seed == 1 else None)
    return root


@pytest.mark.parametrize(
    "arm_meta,none_meta,field,values",
    [
        (
            {"code_version": {**PROVENANCE["code_version"], "package_tree": "3" * 40}},
            None,
            "code_version.package_tree",
            ("1" * 40, "3" * 40),
        ),
        (
            {"code_version": {**PROVENANCE["code_version"], "pyproject": "4" * 40}},
            None,
            "code_version.pyproject",
            ("2" * 40, "4" * 40),
        ),
        ({"code_version": None}, None, "code_version", ("package_tree", "unknown (not recorded)")),
        ({"code_version": None}, {"code_version": None}, "code_version", ("unknown (not recorded)",)),
        ({"versions": _OTHER_TORCH}, None, "versions.torch", ("'2.3.1'", "'2.4.0'")),
        ({"device": "NVIDIA H100 80GB HBM3"}, None, "device", (PROVENANCE["device"], "NVIDIA H100 80GB HBM3")),
    ],
    ids=["package-tree", "pyproject", "code-unknown", "both-code-unknown", "torch", "device"],
)
def test_refuses_a_pair_that_ran_different_code_packages_or_device(
    tmp_path: Path, arm_meta: dict, none_meta: dict | None, field: str, values: tuple[str, ...]
) -> None:
    summary = summarize_runs(_three_pairs(tmp_path, arm_meta, none_meta))
    with pytest.raises(MixedPairError) as caught:
        build_leaderboard(summary)
    message = str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert caught.value.mismatch.field == field and caught.value.seed == 1
    assert f"differ in {field} (" in message
    assert all(part in message for part in ("task 't'", "scheduler 'asha'", "arm 'ohgw'", "seed 1", *values))
    with pytest.raises(MixedPairError, match=re.escape(field)):
        leaderboard(tmp_path, fmt="csv")


def test_pair_mismatches_lists_every_differing_field_in_order() -> None:
    none = {name: json.dumps(value) for name, value in PROVENANCE.items()}
    none.update(budget_amount=100.0, budget_clock="tuner_seconds", workers=1)
    arm = {**none, "versions": json.dumps(_OTHER_TORCH), "device": "NVIDIA H100 80GB HBM3"}
    assert pair_mismatches(none, none) == []
    assert [m.field for m in pair_mismatches(none, arm)] == ["versions.torch", "device"]
    # ``modified`` is reported in the header, not compared; a missing package version is unknown.
    modified = {**PROVENANCE["code_version"], "modified": True}
    no_dehb = {k: v for k, v in PROVENANCE["versions"].items() if k != "dehb"}
    arm = {**none, "code_version": json.dumps(modified), "versions": json.dumps(no_dehb)}
    assert [(m.field, m.none_value, m.arm_value) for m in pair_mismatches(none, arm)] == [
        ("versions.dehb", "0.1.2", None)
    ]
    assert [m.field for m in pair_mismatches({}, {})] == [
        "code_version",
        "versions",
        "device",
        "budget_amount",
        "budget_clock",
        "workers",
    ]


def test_allow_mixed_ranks_and_marks_the_rows(tmp_path: Path) -> None:
    _three_pairs(tmp_path, {"versions": _OTHER_TORCH, "device": "NVIDIA H100 80GB HBM3"})
    for seed in range(3):
        write_run(tmp_path, "t", "asha+random", seed, _events(30))
    table = build_leaderboard(summarize_runs(tmp_path), allow_mixed=True)
    ohgw, rnd, none = _row(table, "ohgw"), _row(table, "random"), _row(table, "none")
    assert (ohgw["mixed"], ohgw["n_mixed"], ohgw["n"]) == ("versions.torch;device", 1, 3)
    assert (rnd["mixed"], rnd["n_mixed"]) == ("", 0) and (none["mixed"], none["n_mixed"]) == ("", 0)

    md = render(table, "md")
    assert "| ohgw † |" in md and "| random |" in md
    assert "† ohgw: 1 of 3 pairs ran different `versions.torch`, `device` (ranked with --allow-mixed)." in md
    tex = render(table, "tex")
    assert "ohgw$^{\\dagger}$ &" in tex and "random$^{\\dagger}$" not in tex
    assert "ran different \\texttt{versions.torch}, \\texttt{device}" in tex
    back = pd.read_csv(io.StringIO(render(table, "csv")), keep_default_na=False)
    assert back.set_index("arm")["mixed"].to_dict() == {"none": "", "ohgw": "versions.torch;device", "random": ""}
    assert leaderboard(tmp_path, allow_mixed=True) == md


def test_header_says_when_the_code_was_modified_locally(tmp_path: Path) -> None:
    _three_pairs(tmp_path)
    clean = leaderboard(tmp_path)
    assert "modified locally" not in clean and not build_leaderboard(summarize_runs(tmp_path))["code_modified"].any()
    write_run(
        tmp_path, "t", "asha", 2, _events(40), meta={"code_version": {**PROVENANCE["code_version"], "modified": True}}
    )
    md = leaderboard(tmp_path)  # pairs still trusted: ``modified`` is not compared
    header = md.split("## ")[0]
    assert "Code modified locally" in header and "may not be reproducible from the commit" in header
    assert "% Code modified locally" in leaderboard(tmp_path, fmt="tex")


# --------------------------------------------------------------------------- readable tables


def test_time_unit_thresholds() -> None:
    assert [time_unit(s).name for s in (0, 119.9, 120, 7199, 7200, 90_000)] == ["s", "s", "min", "min", "h", "h"]
    assert time_unit(math.nan).name == "s"


@pytest.mark.parametrize(
    "scale,unit,cell",
    [(1.0, "s", "40 [35, 45]"), (60.0, "min", "40 [35, 45]"), (360.0, "h", "4 [3.5, 4.5]")],
)
def test_tables_show_t_at_tau_in_the_unit_of_the_none_median(
    tmp_path: Path, scale: float, unit: str, cell: str
) -> None:
    # none reaches τ at 30, 40, 50 (× scale) seconds: median 40 s / 40 min / 4 h; ohgw twice as fast.
    for seed, t in enumerate((30, 40, 50)):
        budget = (100.0 * scale, "tuner_seconds")
        write_run(tmp_path, "t", "asha", seed, crossing_events(t * scale, 90 * scale), budget=budget)
        write_run(tmp_path, "t", "asha+ohgw", seed, crossing_events(t * scale / 2, 90 * scale), budget=budget)
    table = build_leaderboard(summarize_runs(tmp_path))
    assert _row(table, "none")["T_tuner_s_median"] == pytest.approx(40 * scale)  # the CSV stays in seconds
    md = render(table, "md")
    assert f"| T@τ tuner ({unit}), median [IQR] |" in md
    assert f"| none | 3 | {cell} |" in md
    assert "T@τ device" not in md.split("\n## ")[1]  # one worker: the device column would repeat the tuner column
    assert f"$T_\\tau$ ({unit}), median [IQR]" in render(table, "tex")


def test_device_column_is_shown_where_it_differs(tmp_path: Path) -> None:
    for seed in range(3):
        write_run(tmp_path, "t", "asha", seed, _events(40), workers=2)
        write_run(tmp_path, "t", "asha+ohgw", seed, _events(20), workers=2)
    md = render(build_leaderboard(summarize_runs(tmp_path)), "md")
    assert "| T@τ device (s) |" in md and "| none | 3 | 40 [40, 40] | 80 [80, 80] |" in md


def _accuracy_pairs(root: Path, n_test: int | None) -> pd.DataFrame:
    """5 pairs, the arm ~2× faster with incumbent test accuracy 0.1 pp higher; ``n_test`` in data_info."""
    meta = {"data_info": {"n_test": n_test}} if n_test is not None else None
    for seed in range(6):
        write_run(root, "t", "asha", seed, _events(40 + seed, test_at_reach=0.900), meta=meta)
        write_run(root, "t", "asha+ohgw", seed, _events(20 + seed / 2, test_at_reach=0.901), meta=meta)
    return build_leaderboard(summarize_runs(root))


def test_accuracy_change_in_percentage_points_and_test_examples(tmp_path: Path) -> None:
    table = _accuracy_pairs(tmp_path / "known", n_test=2000)
    arm = _row(table, "ohgw")
    assert arm["n_test"] == 2000 and arm["delta_test_acc_pp"] == pytest.approx(0.1)
    assert arm["delta_test_acc_examples"] == pytest.approx(2.0)  # 0.1 pp of 2000 examples
    assert "| +0.10 pp (+2 ex.) |" in render(table, "md")
    assert "& $+0.10$ &" in render(table, "tex")
    assert pd.read_csv(io.StringIO(render(table, "csv")))["delta_test_acc_examples"].tolist() == pytest.approx([0, 2])

    unknown = _accuracy_pairs(tmp_path / "unknown", n_test=None)
    assert math.isnan(_row(unknown, "ohgw")["delta_test_acc_examples"])
    md = render(unknown, "md")
    assert "| +0.10 pp |" in md and "ex.)" not in md


def test_success_mark_is_flagged_when_the_test_split_cannot_resolve_the_criterion(tmp_path: Path) -> None:
    small = _accuracy_pairs(tmp_path / "small", n_test=360)
    arm = _row(small, "ohgw")
    assert arm["success"] == "✓" and arm["test_resolves_criterion"] is not None
    assert not arm["test_resolves_criterion"]  # 1 example = 0.278 pp > 0.2 pp
    md = render(small, "md")
    assert "| ✓* |" in md
    assert "test split (360 examples, 1 example = 0.278 pp) cannot resolve the 0.2 pp accuracy criterion" in md
    tex = render(small, "tex")
    assert "$\\checkmark^{*}$" in tex and "cannot resolve the 0.2 pp accuracy criterion" in tex

    large = _accuracy_pairs(tmp_path / "large", n_test=500)  # 1 example = 0.2 pp: resolvable
    assert bool(_row(large, "ohgw")["test_resolves_criterion"])
    md = render(large, "md")
    assert "| ✓ |" in md and "✓*" not in md and "cannot resolve" not in md


def test_tex_is_a_booktabs_table_of_at_most_eleven_columns(results: Path) -> None:
    for seed in range(3):
        write_run(results, "u", "pasha(reduction_factor=2)", seed, _events(30))
        write_run(results, "u", "pasha(reduction_factor=2)+ohgw", seed, _events(20))
    tex = leaderboard(results, fmt="tex").split("\\label{tab:leaderboard-across-tuples}")[0]  # the tuples table: above
    tex = tex[: tex.rindex("\\begin{table}")]
    header = tex.split("\\begin{table}")[0]
    assert "booktabs" in header and "amssymb" in header
    assert tex.count("\\begin{table}[htbp]") == 2 == tex.count("\\end{table}")
    for command in ("\\toprule", "\\midrule", "\\bottomrule", "\\small", "\\centering"):
        assert tex.splitlines().count(command) == 2, command
    assert "\\hline" not in tex
    specs = re.findall(r"\\begin\{tabular\}\{([^}]*)\}", tex)
    assert len(specs) == 2 and all(len(spec) <= 11 for spec in specs)
    rows = [line for line in tex.splitlines() if line.endswith("\\\\")]
    assert rows and all(line.count(" & ") == len(specs[0]) - 1 for line in rows)
    captions = re.findall(r"\\caption\{(.*)\}$", tex, re.M)
    assert len(captions) == 2 and all("$\\tau = 0.9$" in c and "tuner wall-clock seconds" in c for c in captions)
    assert captions[0].startswith("t $\\times$ asha") and captions[1].startswith(
        "u $\\times$ pasha(reduction\\_factor=2)"
    )
    assert re.findall(r"\\label\{([^}]*)\}", tex) == [
        "tab:leaderboard-t-asha",
        "tab:leaderboard-u-pasha-reduction-factor-2",
    ]


def test_across_tuples_counts_the_share_of_tuples_meeting_each_criterion() -> None:
    from ohgw_bench.analysis.tuples import across_tuples

    columns = ["arm", "warm_start", "n", "T_reduction", "speedup_hl", "p_value", "delta_test_acc_pp"]
    rows = [
        # arm, warm_start, n, T_reduction, HL speed-up, p, Δ test acc; then spread ok, mark
        (("none", "none", 5, 0.0, 1.0, np.nan, 0.0), None, "—"),
        (("ohgw", "ohgw", 5, 0.20, 1.3, 0.01, 0.0), True, "✓"),
        (("ohgw", "ohgw", 5, 0.20, 1.1, 0.20, -0.5), False, "✗"),
        (("ohgw", "ohgw", 5, 0.05, 1.1, 0.01, 0.1), None, "✗"),
        (("ohgw", "ohgw", 5, -0.1, 0.9, 0.01, 0.1), None, "✗"),  # significantly slower: not a p success
        (("ohgw", "ohgw", 0, np.nan, np.nan, np.nan, np.nan), None, "✗"),  # no pairs: not a tuple
        (("gauss", "gauss", 5, 0.30, 1.4, 0.001, 0.0), True, "✓"),
    ]
    board = pd.DataFrame([values for values, _, _ in rows], columns=columns)
    board["spread_not_inflated"] = [spread for _, spread, _ in rows]
    board["success"] = [mark for _, _, mark in rows]
    shares = across_tuples(board).set_index("arm")
    assert shares.loc["ohgw", "tuples"] == 4 and shares.loc["gauss", "tuples"] == 1
    assert shares.loc["ohgw", ["speed", "p", "accuracy", "spread", "criterion"]].tolist() == pytest.approx(
        [2 / 4, 2 / 4, 3 / 4, 1 / 4, 1 / 4]
    )
    assert shares.loc["gauss", "criterion"] == 1.0


def test_peak_memory_is_not_reported_from_a_cpu(tmp_path: Path) -> None:
    """On the CPU the recorded peak is a warm process's resident-memory growth: shown as not measured."""
    trials = [
        {
            "trial_id": 0,
            "status": "completed",
            "config_sampled": {"lr": -2.0},
            "config_used": {"lr": -2.1},
            "warm_start": {"name": "ohgw", "flops": 1e6, "peak_mem_bytes": 300, "train_step_peak_mem_bytes": 100},
        }
    ]
    for device, expected in (("cpu: AMD EPYC 7B13 (2 cores, x86_64)", None), ("cuda: NVIDIA H200", 3.0)):
        root = tmp_path / device.split(":")[0]
        write_run(root, "t", "asha+ohgw", 0, _events(30), meta={"device": device}, trials=trials)
        ratio = summarize_runs(root)["peak_mem_ratio"].iloc[0]
        assert math.isnan(ratio) if expected is None else ratio == pytest.approx(expected), device
