"""DEHB (the AutoML group's ``dehb`` 0.1.2, ask/tell) as a syne-tune 0.13 ``TrialScheduler``
(registered as ``dehb`` in :mod:`ohgw_bench.schedulers.dehb`).

DEHB then runs through the same runner, LocalBackend and trajectory as syne-tune's own
schedulers: every ``suggest`` is one ``dehb.ask()``; the trial trains from scratch for
``epochs`` = the job's fidelity (DEHB does not continue trials across rungs); the result
at that final epoch is one ``dehb.tell()``.

Settings (:func:`ohgw_bench.schedulers.dehb.make_dehb`): ``eta`` (default 3) and ``min_epochs`` (default 1). DEHB's
fidelity grid is ``max_epochs · eta^-k`` for k = 0, 1, ... down to the smallest value
that is still >= ``min_epochs`` (its ``_pre_compute_fidelity_spacing``); so digits-cnn
(27 epochs) with the defaults gets rungs 1, 3, 9, 27 epochs, and ``min_epochs=2`` gets
3, 9, 27. Non-integer rungs (e.g. eta=2 → 13.5) are rounded to whole epochs.

Facts about dehb 0.1.2 this relies on (checked against its source):

* Asynchrony: ``ask()`` may be called many times before any ``tell()``; each job
  registers with a Successive-Halving bracket, and when every active bracket waits for
  results DEHB opens a new bracket. So syne-tune's ``n_workers`` concurrent trials need
  no serialisation here. ``n_workers=1`` only means "no Dask cluster of its own".
* Every ``ask`` must be answered by exactly one ``tell``: a bracket whose job is never
  told waits forever (DEHB keeps opening new brackets around it). Hence failed trials are
  told too, with :data:`FAILED_FITNESS`.
* Failures: ``+inf`` is accepted by ``tell`` but DEHB treats inf-fitness individuals as
  "never evaluated" when promoting within its first brackets, and if every individual
  of a lower rung is inf, ``_get_promotion_candidate`` indexes an empty array and ask()
  raises IndexError. A finite value worse than any real result avoids that: fitness is
  ``-val_acc`` ∈ [-1, 0], so a failed trial is told ``FAILED_FITNESS = 1.0``.
* The constructor calls loguru's ``logger.configure(handlers=[stdout])`` (only dehb uses
  loguru in this environment) and adds a file sink ``<output_path>/dehb.log``. Its own
  switch is the ``log_level`` keyword (default WARNING, so ask/tell write nothing in
  normal operation; its warnings, e.g. "History not saved", still show).
  ``output_path`` is a private temporary folder, removed with the scheduler;
  ``save_freq="end"`` because state is only saved by ``run()``, which we never call
  (our trajectory is the record of the run; DEHB's in-memory ``history`` stays available
  as ``scheduler.dehb.history``).
"""

from __future__ import annotations

import math
import tempfile
from typing import Any

from syne_tune.backend.trial_status import Trial
from syne_tune.config_space import Domain
from syne_tune.optimizer.scheduler import SchedulerDecision, TrialScheduler, TrialSuggestion

from ohgw_bench.core.specs import MAX_RESOURCE_ATTR, RESOURCE_ATTR, TaskSpec

DEFAULT_ETA = 3
DEFAULT_MIN_EPOCHS = 1
#: Told for a failed trial (fitness = -val_acc lies in [-1, 0]); see the module docstring.
FAILED_FITNESS = 1.0
DEHB_LOG_LEVEL = "WARNING"


def validate_dehb_settings(task: TaskSpec, eta: int, min_epochs: int) -> None:
    """Raise ValueError saying what to change when the settings cannot make a DEHB run."""
    if isinstance(eta, bool) or not isinstance(eta, int) or eta < 2:
        raise ValueError(
            f"dehb: eta={eta!r} must be an integer >= 2 (the reduction factor "
            f"between rungs); use e.g. dehb(eta={DEFAULT_ETA})"
        )
    if isinstance(min_epochs, bool) or not isinstance(min_epochs, int) or min_epochs < 1:
        raise ValueError(
            f"dehb: min_epochs={min_epochs!r} must be an integer >= 1; use e.g. dehb(min_epochs={DEFAULT_MIN_EPOCHS})"
        )
    if min_epochs >= task.max_epochs:
        raise ValueError(
            f"dehb: min_epochs={min_epochs} must be below the maximum fidelity of "
            f"{task.name} ({task.max_epochs} epochs), DEHB needs at least two fidelities; "
            f"lower min_epochs to at most {task.max_epochs - 1}"
        )


class DEHBScheduler(TrialScheduler):
    """Drives ``dehb.DEHB`` by ask/tell from syne-tune's tuner loop (see the module docstring).

    ``config_space`` is the runner's syne-tune space: domains for ``hp_names`` plus constants,
    which every suggestion carries unchanged except ``epochs`` (= the job's fidelity).
    """

    def __init__(
        self,
        config_space: dict[str, Any],
        *,
        cs,
        hp_names: tuple[str, ...],
        metric: str,
        min_epochs: int,
        max_epochs: int,
        eta: int,
        seed: int,
    ) -> None:
        super().__init__(config_space)
        from dehb import DEHB

        missing = [n for n in hp_names if not isinstance(config_space.get(n), Domain)]
        if missing:
            raise ValueError(f"dehb: the config space lacks domains for {missing}")
        self.metric = metric
        self.mode = "max"
        self.hp_names = tuple(hp_names)
        self.min_epochs = min_epochs
        self.max_epochs = max_epochs
        self._tmp = tempfile.TemporaryDirectory(prefix="ohgw-dehb-")  # removed with the scheduler
        self.output_path = self._tmp.name
        self.dehb = DEHB(
            cs=cs,
            min_fidelity=min_epochs,
            max_fidelity=max_epochs,
            eta=eta,
            n_workers=1,
            output_path=self.output_path,
            save_freq="end",
            log_level=DEHB_LOG_LEVEL,
            seed=int(seed),
        )
        self._jobs: dict[int, dict[str, Any]] = {}  # trial_id -> DEHB job from ask()
        self._epochs: dict[int, int] = {}  # trial_id -> epochs it was asked to train
        self._told: set[int] = set()

    def fidelity_to_epochs(self, fidelity: float) -> int:
        return min(max(int(round(float(fidelity))), self.min_epochs), self.max_epochs)

    def _suggest(self, trial_id: int) -> TrialSuggestion | None:
        job = self.dehb.ask()
        epochs = self.fidelity_to_epochs(job["fidelity"])
        self._jobs[trial_id] = job
        self._epochs[trial_id] = epochs
        config = {k: v for k, v in self.config_space.items() if not isinstance(v, Domain)}
        config.update({name: float(job["config"][name]) for name in self.hp_names})
        config[MAX_RESOURCE_ATTR] = epochs
        return TrialSuggestion.start_suggestion(config)

    def _job(self, trial: Trial) -> dict[str, Any]:
        try:
            return self._jobs[trial.trial_id]
        except KeyError:
            raise KeyError(f"dehb: trial {trial.trial_id} was not suggested by this scheduler") from None

    def _tell(self, trial: Trial, fitness: float, cost: float, info: dict[str, Any]) -> None:
        if trial.trial_id in self._told:
            return
        self._told.add(trial.trial_id)
        # DEHB updates its population from the job's ORIGINAL vector (the sampled config);
        # the warm-started config_used is recorded by the trial itself, never fed back here.
        self.dehb.tell(self._job(trial), {"fitness": fitness, "cost": cost, "info": info})
        # run() drops finished brackets after each round of tells; ask/tell must do it itself
        # or they pile up (private in dehb 0.1.2, which is pinned).
        self.dehb._clean_inactive_brackets()

    def _tell_result(self, trial: Trial, result: dict[str, Any]) -> None:
        val_acc = float(result[self.metric])
        cost = float(result.get("trial_seconds", 1.0))
        epoch = int(result.get(RESOURCE_ATTR, -1))
        info = {
            "trial_id": int(trial.trial_id),
            "epochs": self._epochs[trial.trial_id],
            "epoch_reached": epoch,
            "val_acc": val_acc,
            "failed": False,
        }
        if not math.isfinite(val_acc):
            info["failed"] = True
            self._tell(trial, FAILED_FITNESS, cost, info)
        else:
            self._tell(trial, -val_acc, cost, info)  # DEHB minimises

    def on_trial_result(self, trial: Trial, result: dict[str, Any]) -> str:
        self._job(trial)
        if int(result[RESOURCE_ATTR]) >= self._epochs[trial.trial_id]:
            # The trial's final epoch: it exits by itself right after this report.
            self._tell_result(trial, result)
        return SchedulerDecision.CONTINUE

    def on_trial_complete(self, trial: Trial, result: dict[str, Any]) -> None:
        # Normally already told at its final epoch; a trial that ended short is told its last result.
        self._tell_result(trial, result)

    def on_trial_error(self, trial: Trial) -> None:
        self._tell(
            trial,
            FAILED_FITNESS,
            1.0,
            {
                "trial_id": int(trial.trial_id),
                "epochs": self._epochs.get(trial.trial_id, -1),
                "epoch_reached": -1,
                "val_acc": float("nan"),
                "failed": True,
            },
        )

    def metric_names(self) -> list[str]:
        return [self.metric]

    def metric_mode(self) -> str:
        return self.mode
