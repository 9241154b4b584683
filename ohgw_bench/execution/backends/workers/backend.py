"""syne-tune ``TrialBackend`` on warm workers (the default ``--backend workers``).

The tuner sees an ordinary backend; underneath, trial starts and resumes are jobs for a
:class:`~ohgw_bench.execution.backends.workers.pool.WorkerPool`. A trial waits at every report for its
decision. syne-tune only tells a backend about pauses and stops, so every report that is
still waiting when the tuner next fetches results got "continue": it is released then.
``fetch_status_results`` blocks (up to ``poll_timeout``) until a worker says something,
so the tuner can run with ``sleep_time=0`` and answers a report within its own loop time
instead of a fixed polling interval.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

from syne_tune.backend.trial_backend import TrialBackend
from syne_tune.backend.trial_status import Status, TrialResult

from ohgw_bench.execution.backends.workers.messages import Action, Report, StartTrial, TrialEnded
from ohgw_bench.execution.backends.workers.pool import WorkerPool

POLL_TIMEOUT_S = 0.05
_END_STATUS = {"completed": Status.completed, "failed": Status.failed}


class WarmWorkerBackend(TrialBackend):
    def __init__(self, pool: WorkerPool, trials_dir: Path, poll_timeout: float = POLL_TIMEOUT_S) -> None:
        super().__init__(delete_checkpoints=False, pass_args_as_json=False)
        self.pool = pool
        self.trials_dir = Path(trials_dir)
        self.poll_timeout = poll_timeout
        self._status: dict[int, str] = {}
        self._metrics: dict[int, list[dict[str, Any]]] = {}
        self._ended_at: dict[int, datetime] = {}
        self._errors: dict[int, str] = {}
        self._waiting: set[int] = set()  # trials blocked at a report, awaiting their decision
        self._halt: dict[int, Action] = {}  # paused/stopped while mid-epoch: answer at their next report

    def checkpoint_dir(self, trial_id: int) -> Path:
        return self.trials_dir / str(trial_id) / "checkpoints"

    # ------------------------------------------------------------------ syne-tune's interface
    def _schedule(self, trial_id: int, config: dict[str, Any]) -> None:
        self._status[trial_id] = Status.in_progress
        self._metrics.setdefault(trial_id, [])
        self._halt.pop(trial_id, None)
        self.pool.submit(StartTrial(trial_id, dict(config), str(self.checkpoint_dir(trial_id))))

    def fetch_status_results(self, trial_ids):
        for trial_id in sorted(self._waiting):
            if self._status.get(trial_id) == Status.in_progress:
                self._answer(trial_id, "continue")
        return super().fetch_status_results(trial_ids)

    def _all_trial_results(self, trial_ids: list[int]) -> list[TrialResult]:
        self._pump()
        results = []
        for trial_id in trial_ids:
            known = self._trial_dict[trial_id]
            results.append(
                TrialResult(
                    trial_id=trial_id,
                    config=known.config,
                    creation_time=known.creation_time,
                    status=self._status[trial_id],
                    metrics=list(self._metrics[trial_id]),
                    training_end_time=self._ended_at.get(trial_id),
                )
            )
        return results

    def _pause_trial(self, trial_id: int, result: dict | None) -> None:
        self._halt_trial(trial_id, Status.paused, "pause")

    def _stop_trial(self, trial_id: int, result: dict | None) -> None:
        if self._status.get(trial_id) in (Status.in_progress, Status.paused):
            self._halt_trial(trial_id, Status.stopped, "stop")

    def _resume_trial(self, trial_id: int) -> None:
        self._status[trial_id] = Status.in_progress

    def busy_trial_ids(self) -> list[tuple[int, str]]:
        return [(t, s) for t, s in self._status.items() if s == Status.in_progress]

    def stdout(self, trial_id: int) -> list[str]:
        return []

    def stderr(self, trial_id: int) -> list[str]:
        return self._errors.get(trial_id, "").splitlines(keepends=True)

    def copy_checkpoint(self, src_trial_id: int, tgt_trial_id: int) -> None:
        shutil.copytree(self.checkpoint_dir(src_trial_id), self.checkpoint_dir(tgt_trial_id), dirs_exist_ok=True)

    def delete_checkpoint(self, trial_id: int) -> None:
        shutil.rmtree(self.checkpoint_dir(trial_id), ignore_errors=True)

    def entrypoint_path(self) -> Path:
        return Path(__file__).with_name("worker.py")

    def set_entrypoint(self, entry_point: str) -> None:
        raise NotImplementedError(
            "warm workers run ohgw_bench.execution.trial.run_trial; there is no entry point to set"
        )

    # ------------------------------------------------------------------ ours
    def failed_trial_errors(self) -> dict[int, str]:
        return dict(self._errors)

    def _halt_trial(self, trial_id: int, status: str, action: Action) -> None:
        self._status[trial_id] = status
        if trial_id in self._waiting:
            self._answer(trial_id, action)
        else:
            self._halt[trial_id] = action

    def _answer(self, trial_id: int, action: Action) -> None:
        self._waiting.discard(trial_id)
        self.pool.decide(trial_id, action)

    def _pump(self) -> None:
        """Take in what the workers said; wait briefly only if a trial is training and none spoke."""
        events = self.pool.poll(0.0)
        if not events and any(s == Status.in_progress and t not in self._waiting for t, s in self._status.items()):
            events = self.pool.poll(self.poll_timeout)
        for event in events:
            if isinstance(event, Report):
                self._on_report(event)
            elif isinstance(event, TrialEnded):
                self._on_end(event)

    def _on_report(self, event: Report) -> None:
        trial_id = event.trial_id
        self._waiting.add(trial_id)
        if trial_id in self._halt:
            self._answer(trial_id, self._halt.pop(trial_id))
        elif self._status.get(trial_id) == Status.in_progress:
            self._metrics[trial_id].append(event.result)
        else:  # paused or stopped already (e.g. by stop_all at the end of the run)
            self._answer(trial_id, "stop")

    def _on_end(self, event: TrialEnded) -> None:
        trial_id = event.trial_id
        self._waiting.discard(trial_id)
        self._halt.pop(trial_id, None)
        if event.status == "failed":
            self._errors[trial_id] = event.error
        if event.status in _END_STATUS and self._status.get(trial_id) == Status.in_progress:
            self._status[trial_id] = _END_STATUS[event.status]
            self._ended_at[trial_id] = datetime.now()
