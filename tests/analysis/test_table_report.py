"""The twin-table report: paired comparisons of arms over configurations, censored epochs to τ, and
the report's files, on hand-made summaries and on the session's twin table (``tests/helpers/twin.py``)."""

from __future__ import annotations

import pandas as pd
import pytest

from ohgw_bench.analysis.table_report import cell_summary, compare, random_control, table_report
from ohgw_bench.core.table_format import read_table
from tests.helpers.twin import ARMS, EPOCHS, N_CONFIGS, NOOP, OHGW, RANDOM


@pytest.fixture
def table_dir(twin_table):
    return twin_table


def test_random_control_pairs_an_ohgw_arm_with_its_equal_size_random_arm():
    assert random_control("ohgw(eta=1)") == "random(eta=1)"
    assert random_control("ohgw") == "random"
    assert random_control("gauss(sigma=0)") is None and random_control("none") is None


def test_paired_comparison_signs_and_censoring():
    rows = []
    for config_id in range(4):
        for arm, best, final, reached in (("none", 0.90, 0.88, 3), ("a", 0.91, 0.89, 2)):
            rows.append(
                {
                    "config_id": config_id,
                    "arm": arm,
                    "best_val_acc": best,
                    "final_val_acc": final,
                    "epochs_to_target": reached if config_id else 4,
                    "reached": bool(config_id),
                }
            )
    summary = pd.DataFrame(rows)
    c = compare(summary, "a", "none")
    assert c.n == 4 and c.best_pp_mean == pytest.approx(1.0) and c.final_pp_median == pytest.approx(1.0)
    assert c.share_final_improved == 1.0 and c.share_best_improved == 1.0
    assert c.epochs_to_target_median_saved == 1.0  # 3 configs one epoch sooner, one censored tie
    assert (c.reached_arm, c.reached_reference) == (3, 3)
    assert c.wilcoxon_p_final == pytest.approx(0.125)  # 4 positive differences: the smallest two-sided p
    assert c.final_pp_shift == pytest.approx(1.0)  # every difference is +1 pp
    # four pairs cannot reach p < 0.05 (smallest p 0.125), so the 95% interval is unbounded
    assert (c.final_pp_low, c.final_pp_high) == (-float("inf"), float("inf"))
    flipped = compare(summary, "none", "a")
    assert flipped.best_pp_mean == pytest.approx(-1.0) and flipped.share_best_improved == 0.0


def test_cell_summary_epochs_to_target_is_censored(table_dir):
    rows, _ = read_table(table_dir)
    summary = cell_summary(rows, target=1.01, epochs=EPOCHS)  # unreachable
    assert not summary["reached"].any() and (summary["epochs_to_target"] == EPOCHS + 1).all()
    summary = cell_summary(rows, target=0.0, epochs=EPOCHS)  # reached at once
    assert summary["reached"].all() and (summary["epochs_to_target"] == 1).all()
    assert len(summary) == N_CONFIGS * len(ARMS) and (summary["best_val_acc"] >= summary["final_val_acc"]).all()


def test_report_writes_markdown_csv_and_figure(table_dir, tmp_path):
    written = table_report(table_dir, tmp_path / "report")
    names = {p.name for p in written}
    assert {"report.md", "report.csv", "cells.csv", "benefit_vs_log10_lr.png", "benefit_vs_log10_lr.pdf"} <= names
    assert {"mechanism.csv", "benefit_vs_hypergradient.png", "benefit_vs_hypergradient.pdf"} <= names
    assert {"mechanism_by_log10_lr.png", "mechanism_by_log10_lr.pdf"} <= names
    report = pd.read_csv(tmp_path / "report" / "report.csv")
    # every arm against none, then OHGW against its random control; arms in label order
    others = sorted(a for a in ARMS if a != "none")
    assert list(zip(report["arm"], report["reference"], strict=True)) == [(a, "none") for a in others] + [
        (OHGW, RANDOM)
    ]
    assert {NOOP, OHGW, RANDOM} <= set(others)
    noop = report.set_index(["arm", "reference"]).loc[(NOOP, "none")]
    assert noop["best_pp_mean"] == 0 and noop["final_pp_mean"] == 0 and noop["wilcoxon_p_final"] == 1.0
    assert (report["n"] == N_CONFIGS).all()
    # Holm over the whole family: never below the raw p, and the smallest p scaled by the family's size
    assert (report["holm_p_final"] >= report["wilcoxon_p_final"] - 1e-12).all()
    smallest = report["wilcoxon_p_final"].idxmin()
    assert report.loc[smallest, "holm_p_final"] == pytest.approx(
        min(1.0, len(report) * report["wilcoxon_p_final"].min())
    )
    assert (report["final_pp_low"] <= report["final_pp_shift"]).all()
    assert (report["final_pp_shift"] <= report["final_pp_high"]).all()
    text = (tmp_path / "report" / "report.md").read_text()
    assert f"| {OHGW} | {RANDOM} | {N_CONFIGS} |" in text and "benefit_vs_log10_lr.png" in text
    assert "mechanism_by_log10_lr.png" in text and "p final (Holm)" in text
    facts = pd.read_csv(tmp_path / "report" / "mechanism.csv")
    assert set(facts["arm"]) == set(others) and "What the step did, by starting learning rate" in text
    per_arm = facts[facts["dimension"] == "log10_lr"].groupby("arm")["n"].sum()
    assert (per_arm == N_CONFIGS).all()  # every configuration in exactly one bin


def test_hypergradient_benefit_pairs_each_hypergradient_cell_with_none(table_dir):
    """One point per configuration of each arm that follows the hyper-gradient (not its random
    control, which moves by the same magnitudes): its gradient's norm and its change against none."""
    import numpy as np

    from ohgw_bench.analysis.table_report import hypergradient_benefit

    rows, meta = read_table(table_dir)
    summary = cell_summary(rows, 0.5, int(meta["spec"]["epochs"]))
    points = hypergradient_benefit(rows, summary)
    assert set(points["arm"]) == {OHGW} and len(points) == N_CONFIGS
    first = rows[(rows["arm"] == OHGW) & (rows["epoch"] == 1)].set_index("config_id")
    grads = first[[c for c in first.columns if c.startswith("hypergrad_") and "kind" not in c]].astype(float)
    expected = np.sqrt(np.nansum(grads.to_numpy() ** 2, axis=1))
    assert points.set_index("config_id").loc[grads.index, "hypergrad_norm"].to_numpy() == pytest.approx(expected)
    final = summary.pivot(index="config_id", columns="arm", values="final_val_acc")
    delta = (final[OHGW] - final["none"]) * 100
    assert points.set_index("config_id")["final_pp"].to_numpy() == pytest.approx(
        delta.loc[points["config_id"]].to_numpy()
    )
