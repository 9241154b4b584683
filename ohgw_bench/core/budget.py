"""Budgets in any of the three clocks: tuner wall clock (``120s``, ``10m``, ``3h``),
device time = wall clock × workers (``600dev-s``, ``30dev-m``, ``8dev-h``; GPU-hours on a
GPU) and epochs summed over trials (``500ep``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_BUDGET = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|dev-s|dev-m|dev-h|ep)\s*$")
_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0}
_UNIT = {"tuner_seconds": "s", "device_seconds": "dev-s", "epochs": "ep"}


@dataclass(frozen=True)
class Budget:
    amount: float  # seconds for the two time clocks, epochs for the epoch clock
    clock: str  # "tuner_seconds", "device_seconds" or "epochs"

    @classmethod
    def parse(cls, text: str) -> Budget:
        match = _BUDGET.match(text)
        if not match:
            raise ValueError(
                f"bad budget {text!r}: use a positive number with a unit, e.g. 120s, 10m, 3h (tuner wall "
                "clock), 8dev-h (device time = wall x workers) or 500ep (epochs summed over trials)"
            )
        value, unit = float(match.group(1)), match.group(2)
        if value <= 0:
            raise ValueError(f"bad budget {text!r}: must be positive")
        if unit == "ep":
            return cls(value, "epochs")
        if unit.startswith("dev-"):
            return cls(value * _SECONDS[unit[4:]], "device_seconds")
        return cls(value * _SECONDS[unit], "tuner_seconds")

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
