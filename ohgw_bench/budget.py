"""Budgets in one of the three clocks: tuner wall-clock (``120s``, ``10m``, ``3h``) or
epochs summed over trials (``500ep``)."""
from __future__ import annotations

import re
from dataclasses import dataclass

_BUDGET = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|ep)\s*$")
_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0}


@dataclass(frozen=True)
class Budget:
    amount: float
    clock: str  # "tuner_seconds" or "epochs"

    @classmethod
    def parse(cls, text: str) -> "Budget":
        match = _BUDGET.match(text)
        if not match:
            raise ValueError(
                f"bad budget {text!r}: use a positive number with a unit, e.g. 120s, 10m, 3h or 500ep"
            )
        value, unit = float(match.group(1)), match.group(2)
        if value <= 0:
            raise ValueError(f"bad budget {text!r}: must be positive")
        if unit == "ep":
            return cls(value, "epochs")
        return cls(value * _SECONDS[unit], "tuner_seconds")

    def exhausted(self, tuner_seconds: float, epochs_total: float) -> bool:
        used = tuner_seconds if self.clock == "tuner_seconds" else epochs_total
        return used >= self.amount

    def __str__(self) -> str:
        return f"{self.amount:g}ep" if self.clock == "epochs" else f"{self.amount:g}s"
