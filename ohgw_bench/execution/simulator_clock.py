"""The suite's simulated clock for syne-tune's simulator, public: what a replay outside the suite passes
to syne-tune to keep the suite's replay timing.

syne-tune's simulator defaults suit its cloud backends, not the suite's warm workers. The suite's replays
(``--backend table:``) differ in three ways, and :func:`simulator_clock` gives each as syne-tune takes it:

* every start, stop and report costs :data:`DISPATCH_SECONDS` (1 ms, a warm worker's dispatch latency),
  not syne-tune's 0.05 s: ``clock.simulator_config``, the backend's ``simulator_config``;
* when every worker is busy the clock jumps to the simulator's next event instead of advancing by
  syne-tune's fixed tuner sleep (5 s, longer than an mnist1d epoch), as a warm worker reacts to each
  result when it arrives: ``clock.callback`` in place of syne-tune's ``SimulatorCallback``, with the
  Tuner's ``sleep_time=clock.sleep_time`` (0);
* the real seconds spent outside the backend (the scheduler's compute, the tuner loop) are not charged:
  they are the replaying machine's, and a replay would then depend on what else that machine was doing.
  The callback turns syne-tune's charge off for the backend it starts with.

A budget in simulated seconds is a stop criterion on ``clock.now()``, as the suite's is. The suite's own
replay builds its backend and tuner from this function, so there is one definition of the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Simulated latency of each start, stop and report. syne-tune's default (0.05 s) is its cloud
#: backends'; a warm worker here starts a trial or passes a report on in about a millisecond
#: (docs/performance.md, decision wait), so a replay charges that.
DISPATCH_SECONDS = 0.001
#: syne-tune's SimulatorConfig delays, each charged DISPATCH_SECONDS
DELAYS = (
    "delay_on_trial_result",
    "delay_complete_after_final_report",
    "delay_complete_after_stop",
    "delay_start",
    "delay_stop",
)


@dataclass(frozen=True)
class SimulatorClock:
    """What syne-tune's simulator and Tuner take to keep the suite's clock (one per tuner run)."""

    simulator_config: Any  # syne-tune's SimulatorConfig: the backend's ``simulator_config``
    callback: Any  # a syne-tune TunerCallback, in place of SimulatorCallback: the Tuner's ``callbacks``
    sleep_time: float = 0.0  # the Tuner's ``sleep_time``: the callback, not a real sleep, moves the clock

    def now(self) -> float:
        """Simulated seconds since the tuner started (0 before it starts): the suite's time budget is
        ``stop_criterion=lambda status: clock.now() >= seconds``."""
        return float(self.callback.now())


def simulator_clock() -> SimulatorClock:
    """The suite's replay clock for one syne-tune simulation: pass ``clock.simulator_config`` to the
    simulator backend (``UserBlackboxBackend``, ``BlackboxRepositoryBackend``), and ``clock.sleep_time``
    and ``[clock.callback]`` (instead of ``SimulatorCallback``) to the ``Tuner``; docs/integrations.md
    shows it on an exported table."""
    from syne_tune.backend.simulator_backend.simulator_backend import SimulatorConfig

    return SimulatorClock(SimulatorConfig(**dict.fromkeys(DELAYS, DISPATCH_SECONDS)), _clock_callback())


def _clock_callback() -> Any:
    """The tuner callback that starts the backend's simulated clock, gives it to the scheduler, and moves it
    to the next simulated event whenever the tuner would sleep. It keeps no results table of its own
    (syne-tune's SimulatorCallback does): the suite's runs write their trajectory from their own callback."""
    from syne_tune.backend.simulator_backend.events import StartEvent
    from syne_tune.backend.simulator_backend.simulator_backend import SimulatorBackend
    from syne_tune.optimizer.schedulers import FIFOScheduler
    from syne_tune.tuner_callback import TunerCallback

    class SimulatedClock(TunerCallback):
        keeper: Any = None

        def on_tuning_start(self, tuner: Any) -> None:
            self.backend = tuner.trial_backend
            if not isinstance(self.backend, SimulatorBackend):
                raise TypeError(f"the simulator clock needs syne-tune's SimulatorBackend, not {type(self.backend)}")
            self.keeper = self.backend.time_keeper
            # syne-tune advances the clock by the real time since the backend was last left, at the start of
            # each backend call; a replay charges only the simulated training and dispatch
            self.backend._advance_by_outside_time = self.keeper.mark_exit
            self.events = self.backend._simulator_state  # syne-tune 0.13's event heap: (time, count, event)
            if isinstance(tuner.scheduler, FIFOScheduler):
                tuner.scheduler.set_time_keeper(self.keeper)
            self.keeper.start_of_time()

        def now(self) -> float:
            return 0.0 if self.keeper is None else float(self.keeper.time())

        def on_tuning_sleep(self, sleep_time: float) -> None:
            # A trial's start shows the tuner nothing (it queues the trial's reports): process it
            # here rather than in a tuner loop of its own, when no other kind of event is due with it.
            while self._start_is_next():
                self.keeper.advance_to(max(self.events.event_heap[0][0], self.keeper.time()))
                self.backend._process_events_until_now()
            now = self.keeper.time()
            heap = self.events.event_heap  # syne-tune replaces the list when it removes events
            self.keeper.advance_to(max(heap[0][0], now + 1e-9) if heap else now + 1e-9)

        def _start_is_next(self) -> bool:
            heap = self.events.event_heap
            if not heap or not isinstance(heap[0][2], StartEvent):
                return False
            due = heap[0][0]
            return all(isinstance(event, StartEvent) for time, _, event in heap if time <= due)

    return SimulatedClock()
