"""The table report's mechanism facts, on cells whose answers are known by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from ohgw_bench.analysis.mechanism import lr_bin_edges, mechanism_facts, mechanism_figure, mechanism_markdown


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


def test_mechanism_figure_draws_each_arm_and_dashes_each_control_in_its_arms_colour(tmp_path):
    cells = []
    for config_id, lr in enumerate((-3.5, -2.5, -0.2)):
        cells.append(_cell(config_id, "none", lr, lr, 0.9))
        cells.append(_cell(config_id, "ohgw(eta=3)", lr, lr - 0.1, 0.91))
        cells.append(_cell(config_id, "random(eta=3)", lr, lr + 0.1, 0.89))
        cells.append(_cell(config_id, "gauss(sigma=0.1)", lr, lr, 0.9))
    edges = [-4.0, -3.0, -2.0, -0.5, 0.0]
    facts = mechanism_facts(pd.DataFrame(cells), ("log10_lr", "log10_wd"), edges)
    written = mechanism_figure(facts, edges, tmp_path)
    assert {p.name for p in written} == {"mechanism_by_log10_lr.png", "mechanism_by_log10_lr.pdf"}
    assert all(p.stat().st_size > 0 for p in written)
    assert mechanism_figure(facts.iloc[0:0], edges, tmp_path) == []


def test_mechanism_figure_lines(monkeypatch, tmp_path):
    """What the figure draws: per panel one line per arm at the bins it has, the control dashed in
    the colour of its OHGW arm, and the last panel the accuracy change."""
    from ohgw_bench.analysis import plots

    drawn = {}
    monkeypatch.setattr(plots, "save_figure", lambda fig, out_dir, name: drawn.setdefault("fig", fig) and [])
    cells = []
    for config_id, lr in enumerate((-3.5, -0.2)):
        cells.append(_cell(config_id, "none", lr, lr, 0.9))
        cells.append(_cell(config_id, "ohgw(eta=3)", lr, lr - 0.1, 0.92))
        cells.append(_cell(config_id, "random(eta=3)", lr, lr + 0.2, 0.89))
    edges = [-4.0, -3.0, -0.5, 0.0]
    mechanism_figure(mechanism_facts(pd.DataFrame(cells), ("log10_lr", "log10_wd"), edges), edges, tmp_path)
    axes = drawn["fig"].axes
    assert [ax.get_title() for ax in axes] == ["log10_lr", "log10_wd", "final validation accuracy"]
    lines = {ln.get_label(): ln for ln in axes[0].get_lines() if not ln.get_label().startswith("_")}
    ohgw, control = axes[0].get_lines()[1:3]  # after the zero line
    assert list(ohgw.get_xdata()) == [0, 2] and list(ohgw.get_ydata()) == pytest.approx([-0.1, -0.1])
    assert list(control.get_ydata()) == pytest.approx([0.2, 0.2])
    assert control.get_linestyle() == "--" and ohgw.get_linestyle() == "-"
    assert control.get_color() == ohgw.get_color()
    assert list(axes[2].get_lines()[1].get_ydata()) == pytest.approx([2.0, 2.0])
    assert not lines  # unlabelled lines: the legend is the figure's, outside the panels
