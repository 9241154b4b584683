"""The one parser of composed optimizer names.

Grammar: ``<scheduler>[(k=v,...)][+<warmstart>[(k=v,...)]]``, for example ``asha``,
``asha+ohgw``, ``asha(reduction_factor=2)+ohgw(steps=3,eta=3e-4)``, ``pasha+random``.
Parameters are checked against the registered spec's defaults (unknown keys and values
of the wrong type are errors) and the canonical form — sorted keys, values that differ
from nothing else in spelling — is the leaderboard key and the results folder name. A value is
text, a number or true/false; a ``+`` inside the parentheses belongs to a value
(``ohgw(dims=lr+wd)``), since a name splits on ``+`` only outside parentheses.
A text setting with several spellings has a :class:`TextSetting` default that gives its one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_PART = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_\-]*)\s*(?:\((.*)\))?\s*$")


class OptimizerNameError(ValueError):
    """A malformed composed name or a bad parameter in it."""


class TextSetting(str):
    """The default of a text setting that can be spelled more than one way (``ohgw(dims=lr+wd)`` and
    ``ohgw(dims=log10_wd+lr)`` name one setting). A plugin subclasses it and overrides
    :meth:`canonical`; every value given for the setting is replaced by its canonical spelling, so
    that one setting has one canonical name (a results folder, a leaderboard key)."""

    @classmethod
    def canonical(cls, text: str) -> str:
        """The one spelling of ``text``; ValueError, with a message saying why, if it names nothing."""
        return text


Params = tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class OptimizerName:
    scheduler: str
    scheduler_params: Params
    warm_start: str  # "none" when the name has no "+..." part
    warm_start_params: Params

    @property
    def canonical(self) -> str:
        text = self.scheduler + _format_params(self.scheduler_params)
        if self.warm_start != "none" or self.warm_start_params:
            text += "+" + self.warm_start + _format_params(self.warm_start_params)
        return text

    @property
    def warm_start_label(self) -> str:
        """The warm-start arm as it appears in a leaderboard row, e.g. ``ohgw(steps=3)``."""
        return self.warm_start + _format_params(self.warm_start_params)

    def __str__(self) -> str:
        return self.canonical


def split_top_level(text: str, sep: str = ",") -> list[str]:
    """Split on ``sep`` outside parentheses: ``"asha+ohgw(eta=1,steps=2),pasha"`` → 2 parts."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise OptimizerNameError(f"unbalanced ')' in {text!r}")
        if ch == sep and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    if depth != 0:
        raise OptimizerNameError(f"unbalanced '(' in {text!r}")
    parts.append("".join(current))
    return [p.strip() for p in parts]


def scheduler_key(optimizer: str) -> str:
    """The optimizer name without its warm-start part: ``asha(reduction_factor=2)+ohgw`` → ``asha(reduction_factor=2)``.

    The arms of one scheduler key are paired with each other (the leaderboard) and take turns
    running first (the sweep's order).
    """
    return split_top_level(optimizer, "+")[0]


def _parse_value(text: str) -> Any:
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def _format_value(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        # ":g" keeps only 6 significant digits, so sigma=1000001 printed as 1e+06 and two different
        # settings shared one canonical name (leaderboard key, results folder): fall back to repr,
        # the shortest exact spelling. -0.0 printed as "-0", which reads back as 0: print 0.
        if value == 0:
            return "0"
        text = f"{value:g}"
        return text if float(text) == value else repr(value)
    return str(value)


def _format_params(params: Params) -> str:
    if not params:
        return ""
    return "(" + ",".join(f"{k}={_format_value(v)}" for k, v in params) + ")"


def _parse_part(text: str, whole: str) -> tuple[str, dict[str, Any]]:
    match = _PART.match(text)
    if not match:
        raise OptimizerNameError(
            f"malformed optimizer name {whole!r}: expected <scheduler>[(k=v,...)][+<warmstart>[(k=v,...)]]"
        )
    name, inner = match.group(1), match.group(2)
    params: dict[str, Any] = {}
    if inner is not None and inner.strip():
        for item in split_top_level(inner):
            key, eq, value = item.partition("=")
            if not eq or not key.strip() or not value.strip():
                raise OptimizerNameError(f"malformed parameter {item!r} in {whole!r}: expected key=value")
            if key.strip() in params:
                raise OptimizerNameError(f"parameter {key.strip()!r} given twice in {whole!r}")
            params[key.strip()] = _parse_value(value.strip())
    return name, params


def _check_params(kind: str, name: str, params: dict[str, Any], defaults: Mapping[str, Any]) -> Params:
    checked = []
    for key in sorted(params):
        if key not in defaults:
            allowed = ", ".join(sorted(defaults)) or "none"
            raise OptimizerNameError(f"unknown parameter {key!r} for {kind} {name!r} (allowed: {allowed})")
        value, default = params[key], defaults[key]
        if isinstance(default, TextSetting):
            value = _spelled(kind, name, key, type(default), value)
            if value != default:
                checked.append((key, value))
            continue
        if isinstance(default, bool) != isinstance(value, bool):
            raise OptimizerNameError(f"{kind} {name}: {key} must be true/false, got {value!r}")
        if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
            try:
                value = float(value)
            except OverflowError:  # an int literal past float range, e.g. eta=1 followed by 400 zeros
                raise OptimizerNameError(f"{kind} {name}: {key} is too large for a number") from None
        if isinstance(default, int) and not isinstance(default, bool) and isinstance(value, float):
            raise OptimizerNameError(f"{kind} {name}: {key} must be an integer, got {value!r}")
        if isinstance(default, (int, float)) and isinstance(value, str):
            raise OptimizerNameError(f"{kind} {name}: {key} must be a number, got {value!r}")
        if value != default or isinstance(value, bool) != isinstance(default, bool):
            checked.append((key, value))  # a value equal to its default is dropped: one name per configuration
    return tuple(checked)


def _spelled(kind: str, name: str, key: str, setting: type[TextSetting], value: Any) -> TextSetting:
    """``value`` in the canonical spelling of ``setting``; a number or a boolean is read back as the
    text it was written as, so that the plugin's message names what the user wrote."""
    text = value if isinstance(value, str) else _format_value(value)
    try:
        return setting(setting.canonical(text))
    except ValueError as err:
        raise OptimizerNameError(f"{kind} {name}: {key}={text}: {err}") from None


def parse_optimizer_name(text: str) -> OptimizerName:
    """Parse and validate against the registries; raises OptimizerNameError or UnknownNameError."""
    from ohgw_bench.core.registry import get_scheduler, get_warm_start

    parts = split_top_level(text, sep="+")
    if len(parts) not in (1, 2) or not all(parts):
        raise OptimizerNameError(
            f"malformed optimizer name {text!r}: expected <scheduler>[(k=v,...)][+<warmstart>[(k=v,...)]]"
        )
    sched_name, sched_params = _parse_part(parts[0], text)
    sched = get_scheduler(sched_name)
    ws_name, ws_params = ("none", {}) if len(parts) == 1 else _parse_part(parts[1], text)
    ws = get_warm_start(ws_name)
    return OptimizerName(
        scheduler=sched.name,
        scheduler_params=_check_params("scheduler", sched.name, sched_params, sched.defaults),
        warm_start=ws.name,
        warm_start_params=_check_params("warm start", ws.name, ws_params, ws.defaults),
    )


@dataclass(frozen=True)
class WarmStartName:
    """A warm-start arm on its own, e.g. ``ohgw(eta=1)``: the part after ``+`` of an optimizer name."""

    name: str
    params: Params

    @property
    def label(self) -> str:
        """Canonical spelling (sorted keys, defaults left out), the arm's key in tables and reports."""
        return self.name + _format_params(self.params)

    def __str__(self) -> str:
        return self.label


def parse_warm_start_name(text: str) -> WarmStartName:
    """Parse ``<warmstart>[(k=v,...)]`` with the same grammar and checks as :func:`parse_optimizer_name`."""
    from ohgw_bench.core.registry import get_warm_start

    name, params = _parse_part(text, text)
    spec = get_warm_start(name)
    return WarmStartName(spec.name, _check_params("warm start", spec.name, params, spec.defaults))
