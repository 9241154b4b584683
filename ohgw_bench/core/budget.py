"""Budgets in any of the three clocks: tuner wall clock (``120s``, ``10m``, ``3h``),
device time = wall clock × workers (``600dev-s``, ``30dev-m``, ``8dev-h``; GPU-hours on a
GPU) and epochs summed over trials (``500ep``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ohgw_bench.core.limits import MAX_BUDGET_DEVICE_SECONDS, MAX_BUDGET_EPOCHS, MAX_BUDGET_SECONDS

_BUDGET = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|dev-s|dev-m|dev-h|ep)\s*$")
_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0}
_UNIT = {"tuner_seconds": "s", "device_seconds": "dev-s", "epochs": "ep"}
_LIMITS = {
    "tuner_seconds": (MAX_BUDGET_SECONDS, f"{MAX_BUDGET_SECONDS / 3600:.0f}h of tuner wall clock"),
    "device_seconds": (MAX_BUDGET_DEVICE_SECONDS, f"{MAX_BUDGET_DEVICE_SECONDS / 3600:.0f}dev-h of device time"),
    "epochs": (MAX_BUDGET_EPOCHS, f"{MAX_BUDGET_EPOCHS:.0f}ep summed over trials"),
}


def _quoted(text: str, keep: int = 40) -> str:
    """``text`` for a message, cut short when a pasted number runs on."""
    return repr(text) if len(text) <= keep else repr(text[:keep]) + f"... ({len(text)} characters)"


@dataclass(frozen=True)
class Budget:
    amount: float  # seconds for the two time clocks, epochs for the epoch clock
    clock: str  # "tuner_seconds", "device_seconds" or "epochs"

    @classmethod
    def parse(cls, text: str) -> Budget:
        match = _BUDGET.match(text)
        if not match:
            raise ValueError(
                f"bad budget {_quoted(text)}: use a positive number with a unit, e.g. 120s, 10m, 3h (tuner wall "
                "clock), 8dev-h (device time = wall x workers) or 500ep (epochs summed over trials)"
            )
        value, unit = float(match.group(1)), match.group(2)
        if value <= 0:
            raise ValueError(f"bad budget {_quoted(text)}: must be positive")
        if unit == "ep":
            budget = cls(value, "epochs")
        elif unit.startswith("dev-"):
            budget = cls(value * _SECONDS[unit[4:]], "device_seconds")
        else:
            budget = cls(value * _SECONDS[unit], "tuner_seconds")
        budget.check_limit(text)
        return budget

    def check_limit(self, text: str) -> None:
        """ValueError when this budget passes its clock's limit (:mod:`ohgw_bench.core.limits`)."""
        limit, shown = _LIMITS[self.clock]
        if not self.amount <= limit:  # also inf, from a number too long for a float
            raise ValueError(
                f"bad budget {_quoted(text)}: more than the limit of {shown} "
                "(past it a missing unit or an extra digit is likelier than a plan)"
            )

    def used(self, tuner_seconds: float, epochs_total: float, workers: int) -> float:
        """How much of this budget's clock is spent."""
        return {"tuner_seconds": tuner_seconds, "device_seconds": tuner_seconds * workers, "epochs": epochs_total}[
            self.clock
        ]

    def exhausted(self, tuner_seconds: float, epochs_total: float, workers: int) -> bool:
        return self.used(tuner_seconds, epochs_total, workers) >= self.amount

    def in_clock(self, clock: str, workers: int) -> float | None:
        """This budget in ``clock``: the two time clocks convert through the number of workers;
        None where it does not bound that clock (a time budget in epochs, or the reverse)."""
        if clock == self.clock:
            return self.amount
        per_wall_second = {"tuner_seconds": 1.0, "device_seconds": float(workers)}
        if clock in per_wall_second and self.clock in per_wall_second:
            return self.amount / per_wall_second[self.clock] * per_wall_second[clock]
        return None

    @property
    def unit(self) -> str:
        return _UNIT[self.clock]

    def __str__(self) -> str:
        return f"{self.amount:g}{self.unit}"


def format_seconds(seconds: float | None) -> str:
    """``42s``, ``3m05s``, ``2h07m``; ``-`` when unknown."""
    if seconds is None or seconds != seconds:
        return "-"
    whole = max(0, int(round(seconds)))
    h, rest = divmod(whole, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m" if h else (f"{m}m{s:02d}s" if m else f"{s}s")
