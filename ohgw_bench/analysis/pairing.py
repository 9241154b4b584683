"""Pairs: an arm's run and the ``none`` run of the same seed, and the checks that a pair measures the
warm start alone (same code, packages, device and clock). Specified in docs/statistics.md."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ohgw_bench.analysis.stats import shift_estimate

NONE = "none"  # the arm every other arm is paired with

#: The summary columns both runs of a pair must agree on (meta.json's fields, see :func:`pair_mismatches`):
#: what ran, where, on which clock, and for how long with how many concurrent trials (a 12-epoch arm
#: paired with a 4-epoch ``none`` run measures the budget, not the warm start).
PAIR_FIELDS = ("code_version", "versions", "device", "clock_source", "budget_amount", "budget_clock", "workers")
#: what identifies the code; ``modified`` is reported, not compared (``changes_sha256`` tells edits apart)
_CODE_KEYS = ("package_tree", "pyproject", "changes_sha256")
#: code keys whose None means "none" rather than "not recorded": no uncommitted change (runs recorded
#: before the digest existed lack it and read as clean, as their ``modified`` said)
_NONE_IS_CLEAN = frozenset({"changes_sha256"})


# --------------------------------------------------------------------------- statistics


def pair_runs(none_runs: pd.DataFrame, arm_runs: pd.DataFrame) -> pd.DataFrame:
    """Inner join of two arms' run summaries on ``seed``: columns get ``_none`` / ``_arm``."""
    for name, runs in (("none", none_runs), ("arm", arm_runs)):
        duplicated = runs["seed"][runs["seed"].duplicated()]
        if len(duplicated):
            raise ValueError(f"{name} arm has several runs for seed(s) {sorted(duplicated.tolist())}")
    return none_runs.merge(arm_runs, on="seed", suffixes=("_none", "_arm"), how="inner").sort_values("seed")


def pair_times(pairs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(T_none, T_arm, reached_none, reached_arm) of :func:`pair_runs` output, tuner clock, censored
    values as the summary gives them: what every paired statistic of T@τ starts from."""
    return (
        pairs["T_tuner_seconds_cens_none"].to_numpy(float),
        pairs["T_tuner_seconds_cens_arm"].to_numpy(float),
        pairs["reached_none"].to_numpy(bool),
        pairs["reached_arm"].to_numpy(bool),
    )


def paired_shift(pairs: pd.DataFrame, column: str, scale: float) -> dict[str, float]:
    """Hodges–Lehmann estimate and 95 % interval of (arm − none) · scale of a summary column."""
    if f"{column}_arm" not in pairs:
        return {"hl": math.nan, "low": math.nan, "high": math.nan}
    d = (pairs[f"{column}_arm"].to_numpy(float) - pairs[f"{column}_none"].to_numpy(float)) * scale
    hl, low, high = shift_estimate(d)
    return {"hl": hl, "low": low, "high": high}


# --------------------------------------------------------------------------- pairs you can trust


@dataclass(frozen=True)
class Mismatch:
    """One field in which the two runs of a pair differ; None stands for "not recorded"."""

    field: str  # e.g. ``code_version.package_tree``, ``versions.torch``, ``device``
    none_value: Any
    arm_value: Any


class MixedPairError(ValueError):
    """Both runs of a pair must run the same code, packages, device, budget and workers, or their difference
    is not the warm start's."""

    def __init__(self, task: str, scheduler: str, arm: str, seed: int, mismatch: Mismatch) -> None:
        self.task, self.scheduler, self.arm, self.seed, self.mismatch = task, scheduler, arm, seed, mismatch
        super().__init__(
            f"task {task!r}, scheduler {scheduler!r}, arm {arm!r}, seed {seed}: the pair's runs differ in "
            f"{mismatch.field} (none: {_show(mismatch.none_value, mismatch.field)}, "
            f"{arm}: {_show(mismatch.arm_value, mismatch.field)}). "
            "Both runs of a pair must share code_version, versions, device, clock_source, budget and workers; "
            "rerun one side so that they do, "
            "or pass --allow-mixed (allow_mixed=True) to rank them anyway with the rows marked."
        )


def _show(value: Any, field: str = "") -> str:
    if value is None:
        clean = field.startswith("code_version.") and field.split(".", 1)[1] in _NONE_IS_CLEAN
        return "none (no uncommitted change)" if clean else "unknown (not recorded)"
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return repr(value)


def _record(value: Any) -> Any:
    """A provenance value of a summary row as a Python value: JSON text parsed, NaN/None as None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str) and value[:1] in ("{", "["):
        return json.loads(value)
    return value


def pair_mismatches(none_run: Mapping[str, Any], arm_run: Mapping[str, Any]) -> list[Mismatch]:
    """Every :data:`PAIR_FIELDS` entry in which two runs differ, in a fixed order.

    ``none_run`` / ``arm_run`` map each field to the summary's values (JSON text or dicts for
    ``code_version`` and ``versions``). A value that was not recorded is unknown and
    mismatches anything, another unknown included: nothing vouches that the two are the same.
    """
    out: list[Mismatch] = []
    for name in PAIR_FIELDS:
        a, b = _record(none_run.get(name)), _record(arm_run.get(name))
        if name == "clock_source":  # runs written before replays existed were real
            a, b = a or "real", b or "real"
        if isinstance(a, dict) and isinstance(b, dict):
            keys = _CODE_KEYS if name == "code_version" else [*a, *(k for k in b if k not in a)]
            out += [Mismatch(f"{name}.{k}", a.get(k), b.get(k)) for k in keys if _key_differs(name, k, a, b)]
        elif _differ(a, b):
            out.append(Mismatch(name, a, b))
    return out


def _key_differs(name: str, key: str, a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    if name == "code_version" and key in _NONE_IS_CLEAN:
        return a.get(key) != b.get(key)
    return _differ(a.get(key), b.get(key))


def _differ(a: Any, b: Any) -> bool:
    """Unknown (None) differs from anything, itself included."""
    return a is None or b is None or a != b


def _pair_fields(pair: pd.Series, side: str) -> dict[str, Any]:
    return {name: pair.get(f"{name}_{side}") for name in PAIR_FIELDS}


def check_pairs(task: str, scheduler: str, arm: str, pairs: pd.DataFrame, allow_mixed: bool) -> tuple[str, int]:
    """``(mixed, n_mixed)`` of an arm row; raises :class:`MixedPairError` unless ``allow_mixed``."""
    fields: list[str] = []
    n_mixed = 0
    for _, pair in pairs.iterrows():
        found = pair_mismatches(_pair_fields(pair, "none"), _pair_fields(pair, "arm"))
        if not found:
            continue
        if not allow_mixed:
            raise MixedPairError(task, scheduler, arm, int(pair["seed"]), found[0])
        n_mixed += 1
        fields += [m.field for m in found if m.field not in fields]
    return ";".join(fields), n_mixed


def code_modified(runs: pd.DataFrame) -> bool:
    """Whether any run recorded uncommitted changes to the package or its pins."""
    if "code_version" not in runs:
        return False
    return any(isinstance(c := _record(v), dict) and c.get("modified") is True for v in runs["code_version"])


# --------------------------------------------------------------------------- rendering
