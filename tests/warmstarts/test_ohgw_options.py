"""OHGW's options (dims, max_step, normalize, longer horizons), mirrored by the random control, and the
control's equal magnitudes at the bounds (issue 24 items 1 and 2), on a tiny model and context."""

from __future__ import annotations

import math
import random
import re

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from ohgw_bench.cli import EXIT_BAD_INPUT, main
from ohgw_bench.core.names import OptimizerNameError, parse_optimizer_name, parse_warm_start_name
from ohgw_bench.core.space import study_space
from ohgw_bench.core.splits import DataSplits
from ohgw_bench.warmstarts import WarmStartContext, apply_warm_start, validate_params
from ohgw_bench.warmstarts.ohgw import SHORT_NAMES, StepRule, equal_magnitude_control, parse_dims

SPACE = study_space()
NAMES = SPACE.names
RANGE = {h.name: h.high - h.low for h in SPACE.hyperparameters}
INTERIOR = {"log10_lr": -1.5, "log10_wd": -4.0, "momentum": 0.5, "aug_magnitude": 0.5, "label_smoothing": 0.15}
# every dimension on a bound (momentum and the magnitude at the top, the others where it matters)
AT_BOUNDS = {"log10_lr": 0.0, "log10_wd": -6.0, "momentum": 0.99, "aug_magnitude": 1.0, "label_smoothing": 0.0}


def tiny_context(seed: int = 0) -> WarmStartContext:
    """A 1-d CNN on random signals: the warm start's code path at a fraction of a task's cost."""
    g = torch.Generator().manual_seed(100)
    n, length, classes = 96, 16, 3
    x = torch.randn(n, 1, length, generator=g)
    y = torch.randint(0, classes, (n,), generator=g)
    data = DataSplits(x[:64], y[:64], x[64:], y[64:], x[64:], y[64:], classes)
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Conv1d(1, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(4, classes)
    )

    def train_inputs(x_raw, magnitude, gen):
        return x_raw + magnitude * torch.randn(x_raw.shape, generator=gen)

    return WarmStartContext(model, data, SPACE, train_inputs, lambda x_raw: x_raw, 16, seed, torch.device("cpu"))


def moved(out, config) -> dict[str, float]:
    """The realised step: config_used − config_sampled."""
    return {k: out.config_used[k] - config[k] for k in NAMES}


# ---------------------------------------------------------------- names: canonical and validated


@pytest.mark.parametrize(
    "text, canonical",
    [
        ("asha+ohgw(dims=lr)", "asha+ohgw(dims=lr)"),
        ("asha+ohgw(dims=log10_lr)", "asha+ohgw(dims=lr)"),  # the full name is the same dimension
        ("asha+ohgw(dims=log10_wd+lr)", "asha+ohgw(dims=lr+wd)"),  # the space's order
        ("asha+ohgw( dims = smoothing + aug_magnitude )", "asha+ohgw(dims=magnitude+smoothing)"),
        ("asha+ohgw(dims=lr+wd+momentum+magnitude+smoothing)", "asha+ohgw"),  # all five is the default
        ("asha+ohgw(dims=all,max_step=1,normalize=false)", "asha+ohgw"),  # defaults drop out
        ("asha+random(max_step=0.25,normalize=true,eta=0.1)", "asha+random(eta=0.1,max_step=0.25,normalize=true)"),
        ("asha+ohgw(horizon=4)", "asha+ohgw(horizon=4)"),
    ],
)
def test_option_names_are_canonical(text, canonical):
    name = parse_optimizer_name(text)
    assert name.canonical == canonical
    assert parse_optimizer_name(name.canonical) == name


def test_the_scheduler_part_ends_at_the_top_level_plus():
    name = parse_optimizer_name("asha(reduction_factor=2)+random(dims=lr+wd)")
    assert (name.scheduler, name.warm_start) == ("asha", "random")
    assert dict(name.warm_start_params) == {"dims": "lr+wd"}
    assert parse_warm_start_name("ohgw(dims=wd+lr)").label == "ohgw(dims=lr+wd)"  # a table's arm label


@settings(deadline=None, max_examples=200, database=None)
@given(
    chosen=st.lists(st.sampled_from(NAMES), min_size=1, max_size=5, unique=True),
    full=st.lists(st.booleans(), min_size=5, max_size=5),
    pad=st.sampled_from(["", " "]),
)
def test_any_spelling_of_a_subset_names_one_arm(chosen, full, pad):
    spelled = [k if f else SHORT_NAMES[k] for k, f in zip(chosen, full, strict=False)]
    name = parse_optimizer_name(f"asha+ohgw(dims={pad}{(pad + '+' + pad).join(spelled)}{pad})")
    in_order = [SHORT_NAMES[k] for k in NAMES if k in chosen]
    expected = "asha+ohgw" if len(chosen) == 5 else f"asha+ohgw(dims={'+'.join(in_order)})"
    assert name.canonical == expected
    assert parse_dims(dict(name.warm_start_params).get("dims", "all")) == tuple(k for k in NAMES if k in chosen)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"dims": "nope"}, "dims=nope: unknown dimension 'nope': valid are lr (log10_lr), wd (log10_wd), momentum,"),
        ({"dims": "lr+lr"}, "dimension 'lr' is named twice"),
        ({"dims": "lr+log10_lr"}, "named twice"),
        ({"dims": ("lr",)}, "must be dimension names joined by '+'"),
        ({"dims": "momentum"}, "moves nothing: momentum has no hyper-gradient at horizon 1"),
        ({"dims": "magnitude", "fd_step": 0.0}, "moves nothing: fd_step=0 leaves the magnitude alone"),
        ({"max_step": 0.0}, "max_step=0.0 must be a number in (0, 1]"),
        ({"max_step": 1.5}, "max_step=1.5 must be a number in (0, 1]"),
        ({"max_step": math.nan}, "max_step=nan must be a number in (0, 1]"),
        ({"normalize": 1}, "normalize=1 must be true or false"),
    ],
)
@pytest.mark.parametrize("warm_start", ["ohgw", "random"])
def test_bad_options_are_refused_by_the_plugin(warm_start, params, message):
    with pytest.raises(ValueError, match=f"warm start {warm_start}: .*{re.escape(message)}"):
        validate_params(warm_start, params)


def test_momentum_alone_moves_from_horizon_2():
    validate_params("ohgw", {"dims": "momentum", "horizon": 2})  # no error


@pytest.mark.parametrize(
    "opt, message",
    [
        ("asha+ohgw(dims=nope)", "unknown dimension 'nope': valid are lr (log10_lr)"),
        ("asha+random(dims=lr+nope)", "warm start random: dims=lr+nope: unknown dimension 'nope'"),
        ("asha+ohgw(dims=momentum)", "moves nothing: momentum has no hyper-gradient at horizon 1"),
        ("asha+ohgw(max_step=2)", "max_step=2.0 must be a number in (0, 1]"),
        ("asha+ohgw(normalize=1)", "normalize must be true/false"),
    ],
)
def test_the_cli_refuses_bad_options_with_exit_2(tmp_path, capsys, opt, message):
    code = main(["run", "--task", "digits-cnn", "--opt", opt, "--out", str(tmp_path / "out")])
    assert code == EXIT_BAD_INPUT
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_random_mirrors_every_ohgw_option():
    from ohgw_bench.core.registry import get_warm_start

    defaults = get_warm_start("ohgw").defaults
    assert {"dims", "max_step", "normalize"} <= set(defaults)
    assert dict(get_warm_start("random").defaults) == dict(defaults)


# ---------------------------------------------------------------- the step rule, by hand


def test_the_trust_region_caps_each_dimension_at_its_fraction_of_the_range():
    rule = StepRule(eta=1.0, dims=NAMES, max_step=0.1, normalize=False)
    # ranges: lr 3, wd 4, momentum 0.99 → caps 0.3, 0.4, 0.099
    capped, which = rule.trust_region({"log10_lr": 0.9, "log10_wd": -0.1, "momentum": -0.5}, SPACE)
    assert capped == pytest.approx({"log10_lr": 0.3, "log10_wd": -0.1, "momentum": -0.099})
    assert which == ["log10_lr", "momentum"]
    whole = StepRule(eta=1.0, dims=NAMES, max_step=1.0, normalize=False)
    assert whole.trust_region({"log10_lr": 7.0}, SPACE) == ({"log10_lr": 7.0}, [])


def test_a_normalized_step_has_length_eta_and_is_steepest_in_range_scaled_coordinates():
    rule = StepRule(eta=0.2, dims=NAMES, max_step=1.0, normalize=True)
    grads = {"log10_lr": 2.0, "log10_wd": -1.0, "label_smoothing": 30.0}
    delta = rule.delta(grads, SPACE)
    z = {k: d / RANGE[k] for k, d in delta.items()}
    assert math.hypot(*z.values()) == pytest.approx(0.2, rel=1e-12)

    # no other step of that length in z lowers the linear model sum(g·Δψ) further
    def decrease(step_z):
        return sum(grads[k] * RANGE[k] * step_z[k] for k in grads)

    rng = random.Random(0)
    for _ in range(200):
        other = {k: rng.gauss(0, 1) for k in grads}
        scale = 0.2 / math.hypot(*other.values())
        assert decrease(z) <= decrease({k: v * scale for k, v in other.items()}) + 1e-12


def test_a_normalized_step_is_as_long_at_every_scale_of_the_gradient():
    rule = StepRule(eta=0.1, dims=NAMES, max_step=1.0, normalize=True)
    for scale in (1e-200, 1e-6, 1.0, 1e6, 1e200):  # squares of 1e200 would overflow a plain norm
        delta = rule.delta({"log10_lr": 3.0 * scale, "log10_wd": 1.0 * scale}, SPACE)
        assert math.hypot(*(d / RANGE[k] for k, d in delta.items())) == pytest.approx(0.1, rel=1e-12)


def test_a_normalized_step_of_a_zero_gradient_stays_put():
    rule = StepRule(eta=0.1, dims=NAMES, max_step=1.0, normalize=True)
    assert rule.delta({"log10_lr": 0.0, "log10_wd": 0.0}, SPACE) == {"log10_lr": 0.0, "log10_wd": 0.0}


def test_masked_dimensions_get_no_step():
    rule = StepRule(eta=0.5, dims=("log10_lr",), max_step=1.0, normalize=True)
    assert rule.delta({"log10_lr": -1.0, "log10_wd": 5.0}, SPACE) == {"log10_lr": 0.5 * RANGE["log10_lr"]}


# ---------------------------------------------------------------- the options, end to end


def test_dims_moves_only_the_named_dimensions_and_records_the_rest():
    full = apply_warm_start("ohgw", {"eta": 0.05}, INTERIOR, tiny_context())
    masked = apply_warm_start("ohgw", {"eta": 0.05, "dims": "lr+smoothing"}, INTERIOR, tiny_context())
    step = moved(masked, INTERIOR)
    for key in ("log10_wd", "momentum", "aug_magnitude"):
        assert step[key] == 0.0 and not masked.clipped[key]
    for key in ("log10_lr", "label_smoothing"):
        assert masked.hypergrad[key] == full.hypergrad[key]  # the same lookahead behind it
        assert step[key] == pytest.approx(-0.05 * full.hypergrad[key], rel=1e-9)
        assert step[key] != 0.0
    assert masked.hypergrad["log10_wd"] == full.hypergrad["log10_wd"]  # masked, still recorded
    assert masked.hypergrad_kind["log10_wd"] == "exact"
    # the magnitude's finite difference costs two lookaheads: skipped when the magnitude cannot move
    assert masked.hypergrad_kind["aug_magnitude"] == "not_computed" and masked.hypergrad["aug_magnitude"] is None
    assert full.hypergrad_kind["aug_magnitude"] == "finite_difference"
    assert "only log10_lr, label_smoothing move (dims)" in masked.note


def test_random_with_dims_moves_the_same_dimensions_by_the_same_amounts():
    for seed in range(4):
        ohgw = apply_warm_start("ohgw", {"eta": 0.05, "dims": "wd"}, INTERIOR, tiny_context(seed))
        rand = apply_warm_start("random", {"eta": 0.05, "dims": "wd"}, INTERIOR, tiny_context(seed))
        d_ohgw, d_rand = moved(ohgw, INTERIOR), moved(rand, INTERIOR)
        assert d_ohgw["log10_wd"] != 0.0
        for key in NAMES:
            assert abs(d_rand[key]) == pytest.approx(abs(d_ohgw[key]), rel=1e-12, abs=1e-15)
            if key != "log10_wd":
                assert d_rand[key] == 0.0


def test_max_step_caps_every_realised_step():
    out = apply_warm_start("ohgw", {"eta": 1e3, "max_step": 0.05}, INTERIOR, tiny_context())
    step = moved(out, INTERIOR)
    capped = 0
    for key in ("log10_lr", "log10_wd", "aug_magnitude", "label_smoothing"):
        g = out.hypergrad[key]
        assert g is not None and g != 0.0
        expected = min(1e3 * abs(g), 0.05 * RANGE[key])  # the interior config is > 0.05 of a range from a bound
        capped += expected < 1e3 * abs(g)
        assert abs(step[key]) == pytest.approx(expected, rel=1e-9)
        assert math.copysign(1.0, step[key]) == -math.copysign(1.0, g)
    assert capped > 0 and "trust region max_step=0.05 capped" in out.note
    assert not any(out.clipped.values())


@pytest.mark.parametrize("log10_lr", [-2.5, -1.5, -0.5])
def test_normalize_takes_a_step_of_length_eta_at_every_learning_rate(log10_lr):
    config = {**INTERIOR, "log10_lr": log10_lr}
    out = apply_warm_start("ohgw", {"eta": 0.1, "normalize": True}, config, tiny_context())
    z = {k: d / RANGE[k] for k, d in moved(out, config).items()}
    assert math.hypot(*z.values()) == pytest.approx(0.1, rel=1e-9)
    g = {k: out.hypergrad[k] or 0.0 for k in NAMES}  # momentum: structurally zero at horizon 1
    norm = math.sqrt(sum((g[k] * RANGE[k]) ** 2 for k in NAMES))
    for key in NAMES:  # anti-parallel to the range-scaled hyper-gradient
        assert z[key] == pytest.approx(-0.1 * g[key] * RANGE[key] / norm, rel=1e-9, abs=1e-15)


def test_horizon_3_gives_momentum_a_step():
    out = apply_warm_start("ohgw", {"eta": 0.05, "horizon": 3}, INTERIOR, tiny_context())
    assert out.hypergrad_kind["momentum"] == "exact"
    assert out.hypergrad["momentum"] != 0.0
    assert out.config_used["momentum"] == pytest.approx(INTERIOR["momentum"] - 0.05 * out.hypergrad["momentum"])


# ---------------------------------------------------------------- the control at the bounds


def _old_rule(config, ohgw_used, signs):
    """The control before issue 24: OHGW's |Δψ| with a random sign, then clipped to the space."""
    return SPACE.clip({k: config[k] + signs[k] * abs(ohgw_used[k] - config[k]) for k in NAMES})[0]


@pytest.mark.parametrize(
    "start, ohgw_at, sign, expected, reflected",
    [
        (0.0, -0.9, 1.0, -0.9, True),  # at the upper bound, the upward sign leaves the space: reflected
        (0.0, -0.9, -1.0, -0.9, False),  # the downward sign is OHGW's own
        (-0.2, -0.7, 1.0, -0.7, True),  # near the bound: -0.2 + 0.5 = 0.3 is outside
        (-0.2, -0.1, -1.0, -0.3, False),  # the opposite sign fits: -0.2 - 0.1
        (-3.0, -2.0, -1.0, -2.0, True),  # at the lower bound
        (-1.0, -1.0, 1.0, -1.0, False),  # OHGW did not move: neither does the control
    ],
)
def test_the_control_reflects_a_sign_that_would_leave_the_space(start, ohgw_at, sign, expected, reflected):
    config = {**INTERIOR, "log10_lr": start}
    ohgw_used = {**config, "log10_lr": ohgw_at}
    signs = {k: 1.0 for k in NAMES} | {"log10_lr": sign}
    used, where = equal_magnitude_control(config, ohgw_used, SPACE, signs)
    assert used["log10_lr"] == pytest.approx(expected, abs=1e-12)
    assert abs(used["log10_lr"] - start) == pytest.approx(abs(ohgw_at - start), abs=1e-12)
    assert (where == ["log10_lr"]) is reflected
    if reflected:  # the old rule lost magnitude exactly there
        assert abs(_old_rule(config, ohgw_used, signs)["log10_lr"] - start) < abs(ohgw_at - start)


@settings(deadline=None, max_examples=300, database=None)
@given(
    start=st.lists(st.floats(0.0, 1.0), min_size=5, max_size=5),
    there=st.lists(st.floats(0.0, 1.0), min_size=5, max_size=5),
    signs=st.lists(st.sampled_from([-1.0, 1.0]), min_size=5, max_size=5),
)
def test_the_control_always_matches_ohgws_realised_magnitudes_inside_the_space(start, there, signs):
    """For any start and any OHGW point in the space (each a fraction of its range, bounds included)."""
    at = {h.name: h.low + f * (h.high - h.low) for h, f in zip(SPACE.hyperparameters, start, strict=True)}
    ohgw_used = {h.name: h.low + f * (h.high - h.low) for h, f in zip(SPACE.hyperparameters, there, strict=True)}
    used, _ = equal_magnitude_control(at, ohgw_used, SPACE, dict(zip(NAMES, signs, strict=True)))
    for h in SPACE.hyperparameters:
        assert h.low <= used[h.name] <= h.high
        assert abs(used[h.name] - at[h.name]) == pytest.approx(abs(ohgw_used[h.name] - at[h.name]), abs=1e-12)


@pytest.mark.parametrize("params", [{"eta": 0.2, "normalize": True}, {"eta": 1e3, "max_step": 0.1}])
def test_the_control_at_the_bounds_moves_exactly_as_far_as_ohgw(params):
    """Every dimension starts on a bound: a move there can only go inwards, so the control's realised
    step must be OHGW's own wherever OHGW moved, and it is never clipped."""
    reflections = 0
    inward = 0
    for seed in range(8):
        ohgw = apply_warm_start("ohgw", params, AT_BOUNDS, tiny_context(seed))
        rand = apply_warm_start("random", params, AT_BOUNDS, tiny_context(seed))
        d_ohgw, d_rand = moved(ohgw, AT_BOUNDS), moved(rand, AT_BOUNDS)
        for h in SPACE.hyperparameters:
            assert h.low <= rand.config_used[h.name] <= h.high
            assert d_rand[h.name] == d_ohgw[h.name]  # the only step of that size inside the space
            inward += d_ohgw[h.name] != 0.0
        assert not any(rand.clipped.values())
        assert rand.hypergrad == ohgw.hypergrad
        reflections += "reflected at a bound" in rand.note
    assert inward > 0 and reflections > 0  # the bounds were reached and reflection happened


def test_the_control_near_the_bounds_keeps_magnitudes_and_randomises_signs_where_it_can():
    near = {"log10_lr": -0.05, "log10_wd": -5.9, "momentum": 0.95, "aug_magnitude": 0.97, "label_smoothing": 0.02}
    agreements = []
    for seed in range(8):
        ohgw = apply_warm_start("ohgw", {"eta": 0.2, "normalize": True}, near, tiny_context(seed))
        rand = apply_warm_start("random", {"eta": 0.2, "normalize": True}, near, tiny_context(seed))
        d_ohgw, d_rand = moved(ohgw, near), moved(rand, near)
        for key in NAMES:
            assert abs(d_rand[key]) == pytest.approx(abs(d_ohgw[key]), rel=1e-9, abs=1e-15)
            mirror_fits = SPACE[key].low <= near[key] - d_ohgw[key] <= SPACE[key].high
            if d_ohgw[key] != 0.0 and mirror_fits:
                agreements.append(math.copysign(1, d_ohgw[key]) == math.copysign(1, d_rand[key]))
    assert 0 < sum(agreements) < len(agreements)  # where both signs fit, the sign is still random


def test_bad_dims_in_the_parsed_form_never_reach_the_factory():
    with pytest.raises(OptimizerNameError, match="unknown dimension"):
        parse_optimizer_name("asha+ohgw(dims=learning_rate)")
