"""Continuous search spaces in *search-space coordinates*.

Every hyper-gradient and every warm-start step lives in these coordinates
(log10 learning rate, log10 weight decay, momentum, augmentation magnitude, label
smoothing), so a step of η_h means the same thing for every scheduler and the bounds
used for clipping are exactly the scheduler's bounds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# The five coordinates of the study.
LOG10_LR = "log10_lr"
LOG10_WD = "log10_wd"
MOMENTUM = "momentum"
AUG_MAGNITUDE = "aug_magnitude"
LABEL_SMOOTHING = "label_smoothing"


@dataclass(frozen=True)
class Hyperparameter:
    """One continuous hyperparameter: a closed interval sampled uniformly by schedulers."""

    name: str
    low: float
    high: float
    description: str

    def __post_init__(self) -> None:
        if not self.low < self.high:
            raise ValueError(f"{self.name}: low {self.low} must be below high {self.high}")

    def clip(self, value: float) -> tuple[float, bool]:
        """Clip to the bounds; say whether clipping happened."""
        clipped = min(max(value, self.low), self.high)
        return clipped, clipped != value


@dataclass(frozen=True)
class SearchSpace:
    hyperparameters: tuple[Hyperparameter, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(h.name for h in self.hyperparameters)

    def __getitem__(self, name: str) -> Hyperparameter:
        for h in self.hyperparameters:
            if h.name == name:
                return h
        raise KeyError(f"no hyperparameter {name!r} in space {self.names}")

    def clip(self, config: Mapping[str, float]) -> tuple[dict[str, float], dict[str, bool]]:
        values, flags = {}, {}
        for h in self.hyperparameters:
            values[h.name], flags[h.name] = h.clip(float(config[h.name]))
        return values, flags

    def to_syne_tune(self) -> dict:
        """Syne Tune domains: uniform in search-space coordinates (log scale is built in)."""
        from syne_tune.config_space import uniform

        return {h.name: uniform(h.low, h.high) for h in self.hyperparameters}

    def to_configspace(self, seed: int | None = None) -> Any:
        """A ConfigSpace ``ConfigurationSpace`` (DEHB's, SMAC's, CARP-S's) over the same coordinates and
        bounds: every hyperparameter a uniform float, each description in its ``meta``. The coordinates are
        already log10 for the learning rate and weight decay, so none is marked ``log``: a sampled value
        is exactly what ``objective_function`` and the suite's schedulers take."""
        import ConfigSpace as CS

        cs = CS.ConfigurationSpace(seed=seed)
        cs.add(
            [
                CS.UniformFloatHyperparameter(h.name, h.low, h.high, meta={"description": h.description})
                for h in self.hyperparameters
            ]
        )
        return cs

    def to_optuna(self) -> dict[str, Any]:
        """Optuna distributions (``optuna.distributions.FloatDistribution``), one per coordinate, uniform
        over the same bounds (``log=False``: the coordinates are already log10 where it matters), for
        ``study.ask(fixed_distributions=...)`` or ``trial.suggest_float(name, d.low, d.high)``. Optuna is
        imported only here: it is not a dependency of the suite."""
        from optuna.distributions import FloatDistribution

        return {h.name: FloatDistribution(h.low, h.high) for h in self.hyperparameters}

    def as_json(self) -> dict[str, Any]:
        """The space as a table's meta.json records it: names, bounds and descriptions, in order."""
        return {
            "coordinates": COORDINATES,
            "hyperparameters": [
                {"name": h.name, "low": h.low, "high": h.high, "description": h.description}
                for h in self.hyperparameters
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SearchSpace:
        """The space :meth:`as_json` recorded; ValueError (KeyError, TypeError) when it is not one."""
        return cls(
            tuple(
                Hyperparameter(str(h["name"]), float(h["low"]), float(h["high"]), str(h["description"]))
                for h in data["hyperparameters"]
            )
        )


#: what the recorded bounds are bounds of (a table's meta.json says so beside them)
COORDINATES = (
    "search-space coordinates: each hyperparameter uniform on [low, high]; a name that starts with log10_ is "
    "already the log10 of its natural value (log10_lr: the learning rate's), so no log scale is applied on top"
)


@dataclass(frozen=True)
class TrainingHparams:
    """Natural-unit values the training loop uses, decoded from search-space coordinates."""

    lr: float
    weight_decay: float
    momentum: float
    aug_magnitude: float
    label_smoothing: float

    @classmethod
    def from_config(cls, config: Mapping[str, float]) -> TrainingHparams:
        return cls(
            lr=10.0 ** float(config[LOG10_LR]),
            weight_decay=10.0 ** float(config[LOG10_WD]),
            momentum=float(config[MOMENTUM]),
            aug_magnitude=float(config[AUG_MAGNITUDE]),
            label_smoothing=float(config[LABEL_SMOOTHING]),
        )


def study_space(
    *,
    lr: tuple[float, float] = (-3.0, 0.0),
    wd: tuple[float, float] = (-6.0, -2.0),
    momentum: tuple[float, float] = (0.0, 0.99),
    magnitude: tuple[float, float] = (0.0, 1.0),
    smoothing: tuple[float, float] = (0.0, 0.3),
) -> SearchSpace:
    """The 5-dimensional space of the study with task-specific bounds."""
    return SearchSpace(
        (
            Hyperparameter(LOG10_LR, *lr, "log10 of the SGD learning rate"),
            Hyperparameter(LOG10_WD, *wd, "log10 of the L2 weight decay"),
            Hyperparameter(MOMENTUM, *momentum, "SGD (heavy-ball) momentum"),
            Hyperparameter(AUG_MAGNITUDE, *magnitude, "augmentation magnitude"),
            Hyperparameter(LABEL_SMOOTHING, *smoothing, "label smoothing epsilon"),
        )
    )
