"""Property-based tests (hypothesis) of the optimizer-name grammar, the budget parser and the
CLI's refusal of bad names: arbitrary text never crashes them, generated valid names round-trip
through their canonical form, and a name that does not parse makes ``run`` exit 2 writing nothing."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ohgw_bench.cli import EXIT_BAD_INPUT, main
from ohgw_bench.core.budget import Budget
from ohgw_bench.core.limits import MAX_BUDGET_DEVICE_SECONDS, MAX_BUDGET_EPOCHS, MAX_BUDGET_SECONDS
from ohgw_bench.core.names import OptimizerName, OptimizerNameError, parse_optimizer_name
from ohgw_bench.core.registry import UnknownNameError, get_scheduler, get_warm_start, list_schedulers, list_warm_starts

# database=None: no saved examples to replay; the bugs these properties found are pinned with @example.
FAST = settings(deadline=None, max_examples=300, database=None)

SCHEDULERS = list_schedulers()
WARM_STARTS = list_warm_starts()
PARAM_KEYS = sorted(
    {k for n in SCHEDULERS for k in get_scheduler(n).defaults}
    | {k for n in WARM_STARTS for k in get_warm_start(n).defaults}
)

# ---------------------------------------------------------------- arbitrary text

# Pieces that make text near the grammar, so that random text reaches the parameter checks and
# not only the "malformed" branch: real names and keys, the grammar's punctuation, quotes, numbers
# in odd spellings (huge, non-finite, signed zero, underscores, non-ASCII digits), unicode.
_TOKENS = st.sampled_from(
    SCHEDULERS
    + WARM_STARTS
    + PARAM_KEYS
    + ["(", ")", "+", "=", ",", "'", '"', " ", "\t", "\n", "()", "(=)", "=,", ",,", "++", "))", "(("]
    + [
        "1",
        "-1",
        "0",
        "-0",
        "-0.0",
        "1.5",
        "3e-4",
        "1e+3",
        "1_000",
        "1e400",
        "-1e400",
        "nan",
        "inf",
        "-inf",
        "Infinity",
        "true",
        "False",
        "0x10",
        "\u0663",
        "\u00bd",
        "é",
        "名前",
        "\u00a0",
        "\u2003",
    ]
)
_HUGE_INT = st.integers(min_value=300, max_value=400).map(lambda n: "1" + "0" * n)  # near float max
NEAR_GRAMMAR = st.lists(st.one_of(_TOKENS, _HUGE_INT, st.text(max_size=3)), max_size=14).map("".join)
# Well-shaped names, mostly with the spec's own keys, whose values are anything: reaches every
# branch of the value checks (type mismatches, promotion of an int to a float, odd literals).
_ODD_VALUE = st.one_of(_TOKENS, _HUGE_INT, st.text(max_size=6))


@st.composite
def _odd_part(draw, names, get):
    name = draw(st.sampled_from(names))
    keys = sorted(get(name).defaults) or PARAM_KEYS
    items = draw(st.lists(st.tuples(st.sampled_from(keys) | st.text(max_size=4), _ODD_VALUE), max_size=2))
    return name + ("(" + ",".join(f"{k}={v}" for k, v in items) + ")" if items else "")


ODD_VALUES = st.builds(
    lambda s, w: s + (f"+{w}" if w else ""),
    _odd_part(SCHEDULERS, get_scheduler),
    st.none() | _odd_part(WARM_STARTS, get_warm_start),
)
ANY_TEXT = st.one_of(st.text(), NEAR_GRAMMAR, ODD_VALUES)


@FAST
@given(ANY_TEXT)
@example("asha+ohgw(eta=1" + "0" * 400 + ")")  # an int literal beyond float range for a float parameter
def test_arbitrary_text_parses_or_raises_documented_errors(text):
    """parse_optimizer_name's docstring: it raises OptimizerNameError or UnknownNameError, nothing else."""
    try:
        name = parse_optimizer_name(text)
    except (OptimizerNameError, UnknownNameError):
        return
    assert isinstance(name, OptimizerName)
    # Whatever parses has a canonical form that parses to itself.
    assert parse_optimizer_name(name.canonical).canonical == name.canonical


# ---------------------------------------------------------------- names from the grammar

# Whitespace the grammar ignores: around names and '+' (regex \s / str.strip) and around keys,
# '=', values and ',' inside the parentheses (str.strip). Newline is left out inside parentheses:
# the part regex's ``(.*)`` does not match it there, so names.py refuses it (a refusal, not a crash).
_SPACE_OUTSIDE = st.text(alphabet=" \t\n\r\x0b\x0c\u00a0\u2003\u3000", max_size=2)
_SPACE_INSIDE = st.text(alphabet=" \t\r\x0b\x0c\u00a0\u2003\u3000", max_size=2)


def _int_spelling(n: int) -> st.SearchStrategy[str]:
    spellings = [str(n), f"{n:_}"]
    if n >= 0:
        spellings.append(f"+{n}")
    return st.sampled_from(spellings)


@st.composite
def _value(draw, default):
    """(text, expected parsed value) of a type-appropriate value for a parameter with ``default``."""
    if isinstance(default, str):  # a text setting: its plugin knows its spellings; the default is one
        return str(default), default
    if isinstance(default, bool):
        value = draw(st.booleans())
        return draw(st.sampled_from([str(value).lower(), str(value), str(value).upper()])), value
    if isinstance(default, int):
        n = draw(st.integers())
        return draw(_int_spelling(n)), n
    # float parameter: a float in any Python spelling, or an integer (promoted to float)
    if draw(st.booleans()):
        n = draw(st.integers(min_value=-(10**20), max_value=10**20))
        return draw(_int_spelling(n)), float(n)
    x = draw(st.floats(allow_nan=False, allow_infinity=False))
    spellings = [repr(x), repr(x).upper(), f"{x:.17e}"]  # all exact: 0.5, 1E-05, 5.00000000000000000e-01
    return draw(st.sampled_from(spellings)), x


@st.composite
def _part(draw, name, defaults, allow_empty_parens=True):
    """Text of ``name[(k=v,...)]`` with a random subset of ``defaults``' keys, and the expected params."""
    keys = draw(st.permutations(sorted(defaults)))[: draw(st.integers(0, len(defaults)))]
    items, expected = [], {}
    for key in keys:
        text, value = draw(_value(defaults[key]))
        sp = [draw(_SPACE_INSIDE) for _ in range(4)]
        items.append(f"{sp[0]}{key}{sp[1]}={sp[2]}{text}{sp[3]}")
        if value != defaults[key]:  # an explicit default names the same configuration as an omitted one
            expected[key] = value
    text = name + draw(_SPACE_OUTSIDE)
    if items:
        text += "(" + ",".join(items) + ")"
    elif allow_empty_parens and draw(st.booleans()):
        text += "(" + draw(_SPACE_INSIDE) + ")"
    return text, expected


@st.composite
def GRAMMAR_NAMES(draw):
    sched = draw(st.sampled_from(SCHEDULERS))
    sched_text, sched_params = draw(_part(sched, get_scheduler(sched).defaults))
    text = draw(_SPACE_OUTSIDE) + sched_text + draw(_SPACE_OUTSIDE)
    ws, ws_params = "none", {}
    if draw(st.booleans()):
        ws = draw(st.sampled_from(WARM_STARTS))
        ws_text, ws_params = draw(_part(ws, get_warm_start(ws).defaults))
        text += "+" + draw(_SPACE_OUTSIDE) + ws_text + draw(_SPACE_OUTSIDE)
    return text, sched, sched_params, ws, ws_params


@FAST
@given(GRAMMAR_NAMES())
@example(("asha+gauss(sigma=1000001)", "asha", {}, "gauss", {"sigma": 1000001.0}))  # was canonical 1e+06
@example(("asha+gauss(sigma=0.1234567)", "asha", {}, "gauss", {"sigma": 0.1234567}))  # was 0.123457
@example(("asha+ohgw(eta=-0.0)", "asha", {}, "ohgw", {"eta": -0.0}))  # signed zero
def test_grammar_names_parse_and_round_trip(case):
    text, sched, sched_params, ws, ws_params = case
    name = parse_optimizer_name(text)
    assert (name.scheduler, name.warm_start) == (sched, ws)
    assert dict(name.scheduler_params) == sched_params
    assert dict(name.warm_start_params) == ws_params
    for params, defaults in (
        (name.scheduler_params, get_scheduler(sched).defaults),
        (name.warm_start_params, get_warm_start(ws).defaults),
    ):
        assert [k for k, _ in params] == sorted(k for k, _ in params)  # canonical key order
        for key, value in params:  # values carry the default's type (ints promoted to float)
            assert type(value) is type(defaults[key]), (key, value)

    canonical = name.canonical
    again = parse_optimizer_name(canonical)
    assert again.canonical == canonical  # canonical form is a fixed point
    assert again == name  # ... and it names the very same settings (it is the results folder)
    assert canonical.strip() == canonical and not any(c.isspace() for c in canonical)


# ---------------------------------------------------------------- budgets

_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0}
_BUDGET_LIMITS = {
    "tuner_seconds": MAX_BUDGET_SECONDS,
    "device_seconds": MAX_BUDGET_DEVICE_SECONDS,
    "epochs": MAX_BUDGET_EPOCHS,
}


@FAST
@given(
    st.one_of(
        st.text(),
        st.lists(
            st.one_of(
                st.sampled_from(
                    [
                        "1",
                        "0",
                        "12",
                        ".",
                        "-",
                        "+",
                        "e",
                        "5",
                        " ",
                        "\n",
                        "s",
                        "m",
                        "h",
                        "ep",
                        "dev-",
                        "dev-h",
                        "dev-s",
                        "nan",
                        "inf",
                        "\u0663",
                        "_",
                    ]
                ),
                st.text(max_size=2),
            ),
            max_size=8,
        ).map("".join),
    )
)
def test_budget_arbitrary_text_parses_or_raises_value_error(text):
    try:
        budget = Budget.parse(text)
    except ValueError:
        return
    assert budget.clock in ("tuner_seconds", "device_seconds", "epochs")
    assert budget.amount > 0


@FAST
@given(
    whole=st.text(alphabet="0123456789", min_size=1, max_size=12),
    frac=st.one_of(st.none(), st.text(alphabet="0123456789", min_size=1, max_size=8)),
    unit=st.sampled_from(["s", "m", "h", "dev-s", "dev-m", "dev-h", "ep"]),
    pad=st.tuples(_SPACE_OUTSIDE, _SPACE_OUTSIDE, _SPACE_OUTSIDE),
)
def test_budget_generated_valid(whole, frac, unit, pad):
    number = whole if frac is None else f"{whole}.{frac}"
    text = f"{pad[0]}{number}{pad[1]}{unit}{pad[2]}"
    value = float(number)
    if value == 0:
        with pytest.raises(ValueError, match="positive"):
            Budget.parse(text)
        return
    clock, amount = (
        ("epochs", value)
        if unit == "ep"
        else ("device_seconds", value * _SECONDS[unit[4:]])
        if unit.startswith("dev-")
        else ("tuner_seconds", value * _SECONDS[unit])
    )
    if amount > _BUDGET_LIMITS[clock]:  # refused, naming the limit
        with pytest.raises(ValueError, match="more than the limit of"):
            Budget.parse(text)
        return
    budget = Budget.parse(text)
    if unit == "ep":
        assert (budget.amount, budget.clock) == (value, "epochs")
    elif unit.startswith("dev-"):
        assert (budget.amount, budget.clock) == (value * _SECONDS[unit[4:]], "device_seconds")
    else:
        assert (budget.amount, budget.clock) == (value * _SECONDS[unit], "tuner_seconds")
    assert math.isfinite(budget.amount)


# ---------------------------------------------------------------- the CLI


def _does_not_parse(text: str) -> bool:
    try:
        parse_optimizer_name(text)
    except (OptimizerNameError, UnknownNameError, ValueError):
        return True
    return False


@settings(deadline=None, max_examples=25, database=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(ANY_TEXT.filter(_does_not_parse))
def test_cli_run_refuses_unparsable_names_with_exit_2_and_writes_nothing(text):
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "results"
        # "--opt=TEXT" so that a text starting with '-' reaches our parser, not argparse's option lookup.
        code = main(["run", "--task", "digits-cnn", f"--opt={text}", "--out", str(out), "--quiet"])
        assert code == EXIT_BAD_INPUT
        assert not out.exists() and list(Path(tmp).iterdir()) == []
