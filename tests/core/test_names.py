"""Registries and the composed-name grammar."""

from __future__ import annotations

import pytest

from ohgw_bench.core.budget import Budget
from ohgw_bench.core.names import OptimizerNameError, parse_optimizer_name, split_top_level
from ohgw_bench.core.registry import (
    UnknownNameError,
    get_task,
    list_schedulers,
    list_tasks,
    list_warm_starts,
    register_task,
)


def test_registered_names():
    assert {"digits-cnn", "cifar10-resnet20", "cifar10-resnet50", "cifar10-resnet20-noisy10"} <= set(list_tasks())
    assert "asha" in list_schedulers()
    assert {"none", "ohgw", "random", "gauss"} <= set(list_warm_starts())
    assert list_tasks("cifar10-*") == ["cifar10-resnet20", "cifar10-resnet20-noisy10", "cifar10-resnet50"]


def test_duplicate_registration_is_an_error():
    with pytest.raises(ValueError, match="already registered"):
        register_task(lambda: get_task("digits-cnn"))


def test_unknown_names_list_closest():
    with pytest.raises(UnknownNameError, match="closest: digits-cnn"):
        get_task("digits-cn")
    with pytest.raises(UnknownNameError, match="closest: asha"):
        parse_optimizer_name("ashaa+ohgw")
    with pytest.raises(UnknownNameError, match="closest: ohgw"):
        parse_optimizer_name("asha+ohg")


@pytest.mark.parametrize(
    "text, canonical, ws, ws_params",
    [
        ("asha", "asha", "none", ()),
        ("asha+ohgw", "asha+ohgw", "ohgw", ()),
        ("asha+ohgw(steps=3)", "asha+ohgw(steps=3)", "ohgw", (("steps", 3),)),
        (
            " asha + ohgw( steps = 3 , eta=3e-4 ) ",
            "asha+ohgw(eta=0.0003,steps=3)",
            "ohgw",
            (("eta", 3e-4), ("steps", 3)),
        ),
        ("asha+gauss(sigma=0.05)", "asha+gauss(sigma=0.05)", "gauss", (("sigma", 0.05),)),
        ("asha(reduction_factor=2)+random", "asha(reduction_factor=2)+random", "random", ()),
        ("asha+ohgw(eta=1)", "asha+ohgw(eta=1)", "ohgw", (("eta", 1.0),)),  # int promoted to the float default
        # explicit defaults name the same configuration as omitted ones: one folder, one leaderboard arm
        ("asha+ohgw(steps=1)", "asha+ohgw", "ohgw", ()),
        ("asha(reduction_factor=3)+ohgw(eta=0.001)", "asha+ohgw", "ohgw", ()),
        ("asha+ohgw(eta=1e-3,steps=2)", "asha+ohgw(steps=2)", "ohgw", (("steps", 2),)),
    ],
)
def test_parse_valid_names(text, canonical, ws, ws_params):
    name = parse_optimizer_name(text)
    assert name.canonical == canonical
    assert name.warm_start == ws
    assert name.warm_start_params == ws_params
    assert parse_optimizer_name(name.canonical) == name  # canonical form round-trips


@pytest.mark.parametrize(
    "text, message",
    [
        ("asha+", "malformed"),
        ("+ohgw", "malformed"),
        ("asha+ohgw+random", "malformed"),
        ("asha+ohgw(steps=3", "unbalanced"),
        ("asha+ohgw(steps)", "key=value"),
        (
            "asha+ohgw(bogus=1)",
            "unknown parameter 'bogus'.*allowed: dims, eta, fd_step, horizon, max_step, normalize, steps",
        ),
        ("asha+ohgw(steps=1.5)", "must be an integer"),
        ("asha+ohgw(eta=fast)", "must be a number"),
        ("asha+ohgw(steps=2,steps=3)", "given twice"),
        ("asha(grace=2)", "unknown parameter 'grace'"),
    ],
)
def test_malformed_names(text, message):
    with pytest.raises(OptimizerNameError, match=message):
        parse_optimizer_name(text)


def test_split_top_level_keeps_commas_inside_parentheses():
    assert split_top_level("asha+ohgw(eta=1e-3,steps=2), pasha ,dehb") == [
        "asha+ohgw(eta=1e-3,steps=2)",
        "pasha",
        "dehb",
    ]


@pytest.mark.parametrize(
    "text, amount, clock",
    [
        ("120s", 120, "tuner_seconds"),
        ("10m", 600, "tuner_seconds"),
        ("3h", 10800, "tuner_seconds"),
        ("1.5h", 5400, "tuner_seconds"),
        ("500ep", 500, "epochs"),
        ("600dev-s", 600, "device_seconds"),
        ("30dev-m", 1800, "device_seconds"),
        ("0.5dev-h", 1800, "device_seconds"),
    ],
)
def test_budget_parse(text, amount, clock):
    b = Budget.parse(text)
    assert (b.amount, b.clock) == (amount, clock)


@pytest.mark.parametrize("text", ["", "10", "10x", "-5s", "0s", "s", "ep5", "10dev", "10dev-ep", "0dev-h"])
def test_bad_budget(text):
    with pytest.raises(ValueError, match="bad budget"):
        Budget.parse(text)


def test_budget_exhausted_uses_its_own_clock():
    assert Budget.parse("10s").exhausted(tuner_seconds=10.0, epochs_total=0, workers=4)
    assert not Budget.parse("10ep").exhausted(tuner_seconds=1e9, epochs_total=9, workers=1)
    assert Budget.parse("10ep").exhausted(tuner_seconds=0.0, epochs_total=10, workers=1)
    # Device time is wall clock × workers: 10 device-seconds with 4 workers last 2.5 s of wall clock.
    device = Budget.parse("10dev-s")
    assert not device.exhausted(tuner_seconds=2.4, epochs_total=0, workers=4)
    assert device.exhausted(tuner_seconds=2.5, epochs_total=0, workers=4)
    assert (
        device.in_clock("tuner_seconds", 4),
        Budget.parse("10s").in_clock("tuner_seconds", 4),
        Budget.parse("10ep").in_clock("tuner_seconds", 4),
    ) == (2.5, 10.0, None)
    assert (Budget.parse("10s").in_clock("device_seconds", 4), device.in_clock("epochs", 4)) == (40.0, None)
    assert [str(Budget.parse(t)) for t in ("2m", "1dev-m", "7ep")] == ["120s", "60dev-s", "7ep"]
