"""A task's fidelity as a record other tools can read: the number of epochs a configuration trains.

The suite's schedulers get it as syne-tune's ``epochs`` (``MAX_RESOURCE_ATTR``); other tools get it here,
with the same bounds, as a ConfigSpace hyperparameter or an Optuna distribution (SMAC's and CARP-S's
budget, an Optuna pruner's steps)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class Fidelity:
    """An integer budget in ``[low, high]``: the ``epochs`` that ``objective_function`` takes."""

    name: str
    low: int
    high: int
    description: str

    #: what the epochs fidelity is
    EPOCHS: ClassVar[str] = "training epochs; the cosine schedule spans the task's max_epochs whatever a call trains"

    def __post_init__(self) -> None:
        if not 1 <= self.low <= self.high:
            raise ValueError(f"{self.name}: bounds [{self.low}, {self.high}] must satisfy 1 <= low <= high")

    @classmethod
    def epochs(cls, max_epochs: int) -> Fidelity:
        """Epochs 1 to ``max_epochs``: the cosine schedule spans ``max_epochs`` whatever a call trains, so a
        call with fewer epochs returns the prefix of a full call's curve."""
        return cls("epochs", 1, max_epochs, cls.EPOCHS)

    def to_configspace(self) -> Any:
        """A ConfigSpace ``UniformIntegerHyperparameter`` over the same bounds (not part of the search space:
        a multi-fidelity optimizer takes it as its budget's bounds)."""
        import ConfigSpace as CS

        return CS.UniformIntegerHyperparameter(self.name, self.low, self.high, meta={"description": self.description})

    def to_optuna(self) -> Any:
        """An Optuna ``IntDistribution`` over the same bounds (imported only here)."""
        from optuna.distributions import IntDistribution

        return IntDistribution(self.low, self.high)

    def as_json(self) -> dict[str, Any]:
        """The fidelity as a table's meta.json records it."""
        return {"name": self.name, "low": self.low, "high": self.high, "type": "integer"}
