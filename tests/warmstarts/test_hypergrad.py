"""The hyper-gradient against central finite differences in float64, and its guarantees."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ohgw_bench.warmstarts.hypergradient.lookahead import (
    EXACT,
    FINITE_DIFFERENCE,
    NOT_COMPUTED,
    STRUCTURALLY_ZERO,
    _Functional,
    _lookahead_loss,
    lookahead_hypergradient,
)

CONFIG = {"log10_lr": -0.7, "log10_wd": -2.3, "momentum": 0.8, "label_smoothing": 0.15}


def tiny_bn_cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Conv2d(4, 6, 3, padding=1),
        nn.BatchNorm2d(6),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(6, 5),
    ).double()


def batches(n_train: int = 2):
    g = torch.Generator().manual_seed(1)
    make = lambda: (
        torch.randn(12, 1, 6, 6, generator=g, dtype=torch.float64),  # noqa: E731
        torch.randint(0, 5, (12,), generator=g),
    )
    return [make() for _ in range(n_train)], make()


def augment(x: torch.Tensor, m: float) -> torch.Tensor:
    """Deterministic, smooth-in-m stand-in for an augmentation (fixed noise pattern)."""
    noise = torch.sin(torch.arange(x.numel(), dtype=x.dtype)).view_as(x)
    return x + m * noise


def finite_difference(model, train, val, config, key, horizon, h=1e-5):
    f = _Functional(model)

    def loss(cfg):
        return float(_lookahead_loss(f, train[:horizon], val[0], val[1], cfg))

    plus, minus = dict(config), dict(config)
    plus[key] += h
    minus[key] -= h
    return (loss(plus) - loss(minus)) / (2 * h)


@pytest.mark.parametrize("horizon", [1, 2, 3, 4])
def test_exact_components_match_finite_differences(horizon):
    """Horizons 3 and 4 (the answer to the short-horizon bias) unroll like horizon 2: the same check."""
    model = tiny_bn_cnn()
    train, val = batches(max(2, horizon))
    hg = lookahead_hypergradient(model, train, val, CONFIG, horizon=horizon)
    assert hg.finite
    keys = ["log10_lr", "log10_wd", "label_smoothing"] + (["momentum"] if horizon >= 2 else [])
    for key in keys:
        assert hg.kinds[key] == EXACT
        fd = finite_difference(model, train, val, CONFIG, key, horizon)
        assert abs(fd) > 1e-8, f"{key}: finite difference is zero, test would be vacuous"
        rel = abs(hg.values[key] - fd) / abs(fd)
        assert rel <= 1e-4, f"horizon {horizon} {key}: analytic {hg.values[key]} vs fd {fd} (rel {rel:.2e})"


def test_first_order_equals_double_backward_at_horizon_1():
    model = tiny_bn_cnn()
    train, val = batches()
    fast = lookahead_hypergradient(model, train, val, CONFIG, horizon=1)
    ref = lookahead_hypergradient(model, train, val, CONFIG, horizon=1, exact_first_order=False)
    for key in ("log10_lr", "log10_wd", "label_smoothing"):
        assert fast.values[key] == pytest.approx(ref.values[key], rel=1e-9, abs=1e-14)


@pytest.mark.parametrize("horizon", [3, 4])
def test_longer_horizons_use_every_batch(horizon):
    """A k-step lookahead trains on k batches: changing the last one changes the hyper-gradient,
    and batches past the horizon are ignored."""
    model = tiny_bn_cnn()
    train, val = batches(horizon + 1)
    base = lookahead_hypergradient(model, train, val, CONFIG, horizon=horizon)
    last = lookahead_hypergradient(model, [*train[: horizon - 1], train[horizon]], val, CONFIG, horizon=horizon)
    extra = lookahead_hypergradient(model, train[:horizon], val, CONFIG, horizon=horizon)
    assert base.values["log10_lr"] != last.values["log10_lr"]
    assert base.values == extra.values


def test_a_horizon_needs_that_many_batches():
    model = tiny_bn_cnn()
    train, val = batches(2)
    with pytest.raises(ValueError, match="horizon 3 needs that many training batches, got 2"):
        lookahead_hypergradient(model, train, val, CONFIG, horizon=3)


def test_momentum_is_structurally_zero_at_horizon_1_and_not_at_2():
    model = tiny_bn_cnn()
    train, val = batches()
    h1 = lookahead_hypergradient(model, train, val, CONFIG, horizon=1)
    h2 = lookahead_hypergradient(model, train, val, CONFIG, horizon=2)
    assert h1.kinds["momentum"] == STRUCTURALLY_ZERO and h1.values["momentum"] == 0.0
    assert h2.kinds["momentum"] == EXACT and h2.values["momentum"] != 0.0


def test_magnitude_by_central_finite_difference_is_flagged():
    model = tiny_bn_cnn()
    train, val = batches()
    config = {**CONFIG, "aug_magnitude": 0.3}
    hg = lookahead_hypergradient(model, train, val, config, augment=augment, fd_step=1e-4)
    assert hg.kinds["aug_magnitude"] == FINITE_DIFFERENCE
    assert any("central finite difference" in n for n in hg.notes)
    f = _Functional(model)

    def loss(m):
        return float(_lookahead_loss(f, [(augment(train[0][0], m), train[0][1])], val[0], val[1], config))

    expected = (loss(0.3 + 1e-6) - loss(0.3 - 1e-6)) / 2e-6
    assert hg.values["aug_magnitude"] == pytest.approx(expected, rel=1e-4)


def test_weights_and_buffers_are_bit_identical_after_the_warm_start_passes():
    model = tiny_bn_cnn()
    model[1].running_mean.add_(0.25)  # non-trivial buffers
    before = {k: v.clone() for k, v in model.state_dict().items()}
    train, val = batches()
    lookahead_hypergradient(model, train, val, CONFIG, horizon=2)
    lookahead_hypergradient(model, train, val, CONFIG, horizon=1)
    after = model.state_dict()
    for key, value in before.items():
        assert torch.equal(value, after[key]), f"{key} changed"
    assert all(p.grad is None for p in model.parameters())


def test_diverging_lookahead_is_reported_not_finite():
    model = tiny_bn_cnn().float()
    train, val = batches()
    train = [(x.float(), y) for x, y in train]
    val = (val[0].float(), val[1])
    with torch.no_grad():
        model[-1].weight.mul_(1e37)  # float32 logits overflow once the lookahead step lands
    hg = lookahead_hypergradient(model, train, val, {**CONFIG, "log10_lr": 2.0}, horizon=1)
    assert not hg.finite


def test_magnitude_difference_turns_one_sided_at_a_bound():
    model = tiny_bn_cnn()
    train, val = batches()
    config = {**CONFIG, "aug_magnitude": 0.0}
    hg = lookahead_hypergradient(model, train, val, config, augment=augment, fd_step=1e-4, magnitude_bounds=(0.0, 1.0))
    assert any("one-sided" in n for n in hg.notes)
    f = _Functional(model)

    def loss(m):
        return float(_lookahead_loss(f, [(augment(train[0][0], m), train[0][1])], val[0], val[1], config))

    assert hg.values["aug_magnitude"] == pytest.approx((loss(1e-4) - loss(0.0)) / 1e-4, rel=1e-9)


def test_a_step_away_from_the_bounds_is_central_even_when_its_halves_differ_in_float():
    model = tiny_bn_cnn()
    train, val = batches()
    assert (0.1 + 0.05) - 0.1 != 0.1 - (0.1 - 0.05)  # the float trap the label once fell into
    hg = lookahead_hypergradient(
        model, train, val, {**CONFIG, "aug_magnitude": 0.1}, augment=augment, fd_step=0.05, magnitude_bounds=(0.0, 1.0)
    )
    assert any("central finite difference" in n for n in hg.notes)


def test_a_magnitude_without_its_finite_difference_still_sets_the_lookahead():
    """magnitude_fd=False (dims holding the magnitude still): the lookahead trains at the config's
    magnitude, so every other component is the one the full computation gives."""
    model = tiny_bn_cnn()
    train, val = batches()
    config = {**CONFIG, "aug_magnitude": 0.3}
    full = lookahead_hypergradient(model, train, val, config, augment=augment, fd_step=1e-4)
    held = lookahead_hypergradient(model, train, val, config, augment=augment, fd_step=1e-4, magnitude_fd=False)
    at_zero = lookahead_hypergradient(model, train, val, {**config, "aug_magnitude": 0.0}, augment=augment)
    assert held.kinds["aug_magnitude"] == NOT_COMPUTED
    for key in ("log10_lr", "log10_wd", "label_smoothing"):
        assert held.values[key] == full.values[key]
        assert held.values[key] != at_zero.values[key]  # the magnitude did enter the lookahead
