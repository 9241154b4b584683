"""Warm starts on the real digits task: OHGW, its controls, clipping, failure handling."""

from __future__ import annotations

import math

import pytest
import torch

from ohgw_bench.core.registry import get_task
from ohgw_bench.warmstarts import WarmStartContext, apply_warm_start
from ohgw_bench.warmstarts.hypergradient import lookahead_hypergradient
from ohgw_bench.warmstarts.ohgw import _warm_start_batches

TASK = get_task("digits-cnn")
CONFIG = {"log10_lr": -1.2, "log10_wd": -4.0, "momentum": 0.5, "aug_magnitude": 0.5, "label_smoothing": 0.1}


@pytest.fixture(scope="module")
def data():
    return TASK.load_data()


def context(data, seed: int = 3) -> WarmStartContext:
    torch.manual_seed(seed)
    model = TASK.create_model(data.num_classes)
    return WarmStartContext(
        model, data, TASK.space, TASK.train_inputs, TASK.eval_inputs, TASK.batch_size, seed, torch.device("cpu")
    )


def test_ohgw_moves_against_the_hypergradient(data):
    out = apply_warm_start("ohgw", {"eta": 0.05}, CONFIG, context(data))
    assert out.hypergrad_kind["momentum"] == "structurally_zero"
    assert out.hypergrad_kind["aug_magnitude"] == "finite_difference"
    for key in ("log10_lr", "log10_wd", "label_smoothing", "aug_magnitude"):
        assert out.hypergrad[key] != 0.0
        assert out.config_used[key] == pytest.approx(CONFIG[key] - 0.05 * out.hypergrad[key], abs=1e-12)
    assert out.config_used["momentum"] == CONFIG["momentum"]


def test_model_state_is_bit_identical_after_warm_start(data):
    ctx = context(data)
    before = {k: v.clone() for k, v in ctx.model.state_dict().items()}
    apply_warm_start("ohgw", {"horizon": 2, "steps": 2}, CONFIG, ctx)
    for key, value in ctx.model.state_dict().items():
        assert torch.equal(before[key], value), key


def test_random_has_exactly_the_ohgw_magnitudes(data):
    sign_agreements = []
    for seed in range(6):
        ohgw = apply_warm_start("ohgw", {"eta": 0.05}, CONFIG, context(data, seed))
        rand = apply_warm_start("random", {"eta": 0.05}, CONFIG, context(data, seed))
        for key in CONFIG:
            d_ohgw = ohgw.config_used[key] - CONFIG[key]
            d_rand = rand.config_used[key] - CONFIG[key]
            assert abs(d_rand) == pytest.approx(abs(d_ohgw), rel=1e-12, abs=1e-15)
            if d_ohgw != 0.0:
                sign_agreements.append(math.copysign(1, d_ohgw) == math.copysign(1, d_rand))
        assert rand.hypergrad == ohgw.hypergrad  # same compute, recorded
    assert 0 < sum(sign_agreements) < len(sign_agreements)  # signs really are random


def test_three_steps_from_the_same_weights_with_fresh_batches(data):
    ctx = context(data)
    out = apply_warm_start("ohgw", {"eta": 0.05, "steps": 3, "fd_step": 0.0}, CONFIG, ctx)
    psi = dict(CONFIG)
    seen_batches = []
    for step in range(3):
        train, val, augment = _warm_start_batches(ctx, step, 1)
        seen_batches.append(train[0][1])
        coords = {k: v for k, v in psi.items() if k != "aug_magnitude"}
        hg = lookahead_hypergradient(ctx.model, train, val, coords, augment=augment)
        psi = {k: psi[k] - 0.05 * hg.values.get(k, 0.0) for k in psi}
        psi, _ = TASK.space.clip(psi)
    assert out.config_used == pytest.approx(psi, abs=1e-12)
    assert not torch.equal(seen_batches[0], seen_batches[1])  # fresh batches each step
    assert out.hypergrad_kind["aug_magnitude"] == "not_computed"  # fd_step=0 skips the magnitude


def test_clipping_is_recorded(data):
    config = {**CONFIG, "label_smoothing": 0.0, "log10_wd": -6.0}
    out = apply_warm_start("ohgw", {"eta": 1e4}, config, context(data))
    for h in TASK.space.hyperparameters:
        assert h.low <= out.config_used[h.name] <= h.high
    assert any(out.clipped.values())
    for key, was_clipped in out.clipped.items():
        raw = config[key] - 1e4 * (out.hypergrad[key] or 0.0)
        h = TASK.space[key]
        assert was_clipped == (not h.low <= raw <= h.high)


def test_non_finite_hypergradient_leaves_config_unchanged(data):
    ctx = context(data)
    with torch.no_grad():
        ctx.model.head.weight.mul_(1e37)
    out = apply_warm_start("ohgw", {}, {**CONFIG, "log10_lr": 0.0}, ctx)
    assert out.config_used == {**CONFIG, "log10_lr": 0.0}
    assert "non-finite" in out.note


def test_gauss_perturbs_without_hypergradient(data):
    out = apply_warm_start("gauss", {"sigma": 0.05}, CONFIG, context(data))
    assert out.hypergrad == {}
    moved = [abs(out.config_used[k] - CONFIG[k]) for k in CONFIG]
    assert all(m > 0 for m in moved)
    ranges = [TASK.space[k].high - TASK.space[k].low for k in CONFIG]
    assert all(m < 0.05 * r * 6 for m, r in zip(moved, ranges, strict=True))  # within 6 sigma


def test_none_is_identity(data):
    out = apply_warm_start("none", {}, CONFIG, context(data))
    assert out.config_used == CONFIG and not any(out.clipped.values())


def test_random_control_takes_the_same_parameters_and_defaults_as_ohgw():
    """The equal-energy control must compute the very OHGW step it randomises: both factories spell out
    their defaults in their signatures, so they are checked equal here."""
    from ohgw_bench.core.registry import get_warm_start

    assert dict(get_warm_start("random").defaults) == dict(get_warm_start("ohgw").defaults)
