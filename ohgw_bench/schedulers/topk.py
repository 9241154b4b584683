"""``topk-1ep``: the one-epoch top-k baseline ("Is one epoch all you need for multi-fidelity HPO?",
Egele et al., arXiv 2307.15422): sample ``n_first`` configurations, train each for one epoch, and
train only the best ``k`` of them (by validation accuracy after that epoch) on to the task's maximum
epochs. The paper finds that it matches multi-fidelity HPO at a fraction of the compute on common
benchmarks, so any claim that a warm start speeds up ASHA or PASHA should also beat it.

As a syne-tune 0.13 ``FIFOScheduler`` with its random searcher, it samples exactly what
``random-search`` samples with the same seed and ``search_options`` (a twin table's
``restrict_configurations``, so it replays with ``--backend table:PATH``), and it runs through the
same runner and backends as ASHA and PASHA. Every trial starts with ``epochs`` = the maximum and is
PAUSED at its epoch-1 report, so the best k resume from their checkpoints instead of training again.
Once all ``n_first`` trials of a batch have reported, the best k are queued for resumption (best
first) and the batch's last reporter, if it is not among them, is stopped at that report. The other
losers stay paused and are never resumed; the run stops them when it ends, as it does PASHA's.

The bookkeeping (:class:`TopKBatches`) is plain Python, so it is tested without syne-tune; the
scheduler class is built on first use, so ``ohgw-bench list`` imports no scheduler library.
"""

from __future__ import annotations

import functools
import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

from ohgw_bench.core.registry import register_scheduler
from ohgw_bench.core.specs import MAX_RESOURCE_ATTR, RESOURCE_ATTR, TaskSpec
from ohgw_bench.schedulers.syne_tune import SearchOptions, common_settings

Decision = Literal["continue", "pause", "stop"]
#: the report that ranks a trial: the one after its first epoch
SCREEN_EPOCH = 1


def validate_topk_settings(task: TaskSpec, n_first: int, k: int) -> None:
    """Raise ValueError saying what to change when the settings cannot make a top-k run."""
    for name, value in (("n_first", n_first), ("k", k)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"topk-1ep: {name}={value!r} must be a positive integer")
    if k > n_first:
        raise ValueError(
            f"topk-1ep: k={k} must be at most n_first={n_first} (it keeps the best k of the n_first "
            "configurations trained for one epoch); lower k or raise n_first"
        )
    if task.max_epochs <= SCREEN_EPOCH:
        raise ValueError(
            f"topk-1ep: {task.name} has max_epochs={task.max_epochs}; the baseline needs more than "
            f"{SCREEN_EPOCH} epoch to continue its best configurations"
        )


@dataclass
class _Batch:
    """``size`` trials started one after another, ranked together once all of them have reported."""

    size: int
    members: list[int] = field(default_factory=list)
    scores: dict[int, float] = field(default_factory=dict)  # trial_id -> epoch-1 score; -inf: not rankable

    @property
    def full(self) -> bool:
        return len(self.members) >= self.size

    @property
    def screened(self) -> bool:
        return len(self.scores) >= self.size


class TopKBatches:
    """Which batch each trial belongs to, what to decide at its reports, and whom to resume next.

    Higher scores are better. A trial that failed or diverged before its epoch-1 report is ranked
    last and never resumed (its loss is no longer finite, so a resume would end at once), so a batch
    with fewer than ``k`` usable trials resumes fewer. Ties go to the earlier trial (the smaller id),
    so the same reports always resume the same trials.
    """

    def __init__(self, n_first: int, k: int) -> None:
        self.n_first, self.k = n_first, k
        self.batches: list[_Batch] = []
        self._batch_of: dict[int, _Batch] = {}
        self._to_resume: deque[int] = deque()  # winners waiting for a worker, best first
        self.resumed: set[int] = set()  # winners handed back to the tuner to train to the end
        self.dropped: set[int] = set()  # losers: never resumed

    def add(self, trial_id: int) -> None:
        """A trial started: it joins the open batch, or opens the next one when that is full.
        Batches overlap when workers are many: the next one starts while the last trials of the
        previous one still train their first epoch, so no worker waits for a ranking."""
        if not self.batches or self.batches[-1].full:
            self.batches.append(_Batch(self.n_first))
        batch = self.batches[-1]
        batch.members.append(trial_id)
        self._batch_of[trial_id] = batch

    def screening(self, trial_id: int) -> bool:
        """True while ``trial_id`` has not given its epoch-1 score yet."""
        batch = self._batch_of.get(trial_id)
        return batch is not None and trial_id not in batch.scores

    def screen(self, trial_id: int, score: float) -> Decision:
        """Record ``trial_id``'s epoch-1 score (NaN or -inf: not rankable): pause it until its batch
        is ranked, or stop it when that ranking, made now, leaves it out."""
        batch = self._batch_of[trial_id]
        batch.scores[trial_id] = score if math.isfinite(score) else -math.inf
        if batch.screened:
            self._rank(batch)
        return "stop" if trial_id in self.dropped else "pause"

    def failed(self, trial_id: int) -> None:
        """A trial failed: if it had not been ranked, its batch ranks without it."""
        if self.screening(trial_id):
            self.screen(trial_id, -math.inf)
        if trial_id in self._to_resume:
            self._to_resume.remove(trial_id)

    def decide(self, trial_id: int) -> Decision:
        """A report after the first: resumed winners train on; anything else goes no further."""
        if trial_id in self.resumed:
            return "continue"
        return "stop" if trial_id in self.dropped else "pause"

    def next_to_resume(self) -> int | None:
        """The best winner not yet resumed (it leaves the queue), or None."""
        if not self._to_resume:
            return None
        trial_id = self._to_resume.popleft()
        self.resumed.add(trial_id)
        return trial_id

    def _rank(self, batch: _Batch) -> None:
        usable = [t for t in batch.members if batch.scores[t] > -math.inf]
        winners = sorted(usable, key=lambda t: (-batch.scores[t], t))[: self.k]
        self._to_resume.extend(winners)
        self.dropped.update(t for t in batch.members if t not in winners)


@functools.cache
def _scheduler_class() -> type:
    """The syne-tune scheduler, defined on first use (importing syne-tune takes seconds)."""
    from syne_tune.backend.trial_status import Trial
    from syne_tune.optimizer.scheduler import SchedulerDecision
    from syne_tune.optimizer.schedulers import FIFOScheduler

    to_syne_tune = {
        "continue": SchedulerDecision.CONTINUE,
        "pause": SchedulerDecision.PAUSE,
        "stop": SchedulerDecision.STOP,
    }

    class TopKOneEpochScheduler(FIFOScheduler):
        """FIFO random search whose trials pause after one epoch; :class:`TopKBatches` decides."""

        def __init__(self, config_space: dict[str, Any], *, n_first: int, k: int, **kwargs: Any) -> None:
            super().__init__(config_space, **kwargs)
            self.topk = TopKBatches(n_first, k)

        def _promote_trial(self, new_trial_id: str) -> tuple[str | None, dict | None]:
            """Resume a winner before sampling anything new. Its config already says ``epochs`` =
            the maximum, so it is resumed unchanged (None) and trains on from its checkpoint."""
            trial_id = self.topk.next_to_resume()
            return (None, {}) if trial_id is None else (str(trial_id), None)

        def on_trial_add(self, trial: Trial) -> None:
            super().on_trial_add(trial)
            self.topk.add(trial.trial_id)

        def on_trial_result(self, trial: Trial, result: dict[str, Any]) -> str:
            super().on_trial_result(trial, result)  # the searcher's bookkeeping; it always continues
            trial_id = trial.trial_id
            if not self.topk.screening(trial_id):
                return to_syne_tune[self.topk.decide(trial_id)]
            epoch = int(result[RESOURCE_ATTR])
            if epoch != SCREEN_EPOCH:
                raise RuntimeError(f"topk-1ep: trial {trial_id} first reported epoch {epoch}, not {SCREEN_EPOCH}")
            return to_syne_tune[self.topk.screen(trial_id, self._score(result))]

        def on_trial_error(self, trial: Trial) -> None:
            super().on_trial_error(trial)
            self.topk.failed(trial.trial_id)

        def _score(self, result: dict[str, Any]) -> float:
            """Higher is better; a diverged trial's accuracy does not count (its resume would end at once)."""
            if result.get("diverged"):
                return -math.inf
            value = float(result[self.metric])
            return value if self.mode == "max" else -value

    return TopKOneEpochScheduler


@register_scheduler(
    "topk-1ep",
    "one-epoch top-k baseline: n_first configs train one epoch, the best k go on to the end (pause/resume)",
    pauses_trials=True,
)
def make_topk_one_epoch(
    task: TaskSpec,
    config_space: dict,
    seed: int,
    search_options: SearchOptions = None,
    *,
    n_first: int = 27,
    k: int = 3,
):
    """Batches of ``n_first`` random configurations, each trained for one epoch; the best ``k`` of
    each batch resume to ``task.max_epochs``. Defaults: 27 one-epoch trials are the first rung of
    one ASHA bracket at ASHA's defaults (reduction factor 3, grace period 1) on the 27-epoch tasks,
    and k=3 keeps the ninth of them that ASHA trains to 9 epochs, so one batch costs
    27 + 3 * (max_epochs - 1) epochs (105 on mnist1d-cnn, against 81 for that ASHA bracket).

    When a batch's k have been handed out and budget remains, the next batch starts: the baseline
    repeats until the budget ends (a batch cut short by the budget is not completed). With several
    workers the next batch starts as soon as a worker is free, so batches overlap; winners always
    take a free worker before a new configuration does."""
    validate_topk_settings(task, n_first, k)
    scheduler_class = _scheduler_class()
    return scheduler_class(
        config_space,
        n_first=n_first,
        k=k,
        max_resource_attr=MAX_RESOURCE_ATTR,
        **common_settings(task, seed, search_options),
    )
