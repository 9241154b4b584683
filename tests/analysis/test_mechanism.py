"""The table report's mechanism facts, on cells whose answers are known by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from ohgw_bench.analysis.mechanism import lr_bin_edges, mechanism_facts, mechanism_markdown


def _cell(config_id, arm, lr, used_lr, final, diverged=False, wd=-4.0, used_wd=-4.0):
    return {
        "config_id": config_id,
        "arm": arm,
        "final_val_acc": final,
        "diverged": diverged,
        "log10_lr": lr,
        "used_log10_lr": used_lr,
        "log10_wd": wd,
        "used_log10_wd": used_wd,
    }


def test_bin_edges_are_the_decades_and_minus_one_half():
    assert lr_bin_edges(-4.0, 0.0) == [-4.0, -3.0, -2.0, -1.0, -0.5, 0.0]
    assert lr_bin_edges(-2.5, -1.5) == [-2.5, -2.0, -1.5]


def test_shares_steps_and_losses_by_hand():
    cells = [
        # low lr: both steps raise lr a little; accuracy +1 and +3 pp
        _cell(0, "none", -3.5, -3.5, 0.90),
        _cell(0, "ohgw", -3.5, -3.49, 0.91),
        _cell(1, "none", -3.2, -3.2, 0.80),
        _cell(1, "ohgw", -3.2, -3.17, 0.83, used_wd=-4.1),
        # high lr: both steps lower lr; one falls 50 pp and one diverges
        _cell(2, "none", -0.3, -0.3, 0.98),
        _cell(2, "ohgw", -0.3, -1.3, 0.48),
        _cell(3, "none", -0.1, -0.1, 0.97),
        _cell(3, "ohgw", -0.1, -0.6, 0.97, diverged=True),
    ]
    facts = mechanism_facts(pd.DataFrame(cells), ("log10_lr", "log10_wd"), [-4.0, -3.0, -0.5, 0.0])
    lr = facts[facts["dimension"] == "log10_lr"].set_index("lr_bin")
    assert list(lr.index) == ["[-4, -3)", "[-0.5, 0)"]  # the empty middle bin is left out
    low, high = lr.loc["[-4, -3)"], lr.loc["[-0.5, 0)"]
    assert (low["n"], low["share_raised"], low["share_lowered"]) == (2, 1.0, 0.0)
    assert low["median_step"] == pytest.approx(0.02)
    assert low["final_pp_mean"] == pytest.approx(2.0) and low["n_lost_10pp"] == 0
    assert (high["share_raised"], high["share_lowered"], high["share_diverged"]) == (0.0, 1.0, 0.5)
    assert high["median_step"] == pytest.approx(-0.75)
    assert high["final_pp_median"] == pytest.approx(-25.0) and high["n_lost_10pp"] == 1
    wd = facts[facts["dimension"] == "log10_wd"].set_index("lr_bin").loc["[-4, -3)"]
    assert (wd["share_raised"], wd["share_lowered"]) == (0.0, 0.5)
    text = "\n".join(mechanism_markdown(facts))
    assert "| ohgw | [-0.5, 0) | 2 | 0% | 100% | -0.750 | 50% | -25.00 / -25.00 | 1 |" in text
