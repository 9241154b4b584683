"""Registered schedulers (installed as ``ohgw_bench.optimizers``). Importing registers them.

A factory is ``f(task, config_space, seed, **settings) -> syne-tune TrialScheduler``; the
config space holds the task's domains plus constants the trial reads (``epochs`` is the
maximum resource attribute). DEHB is wrapped as a syne-tune scheduler around its
ask/tell interface, so every scheduler shares one runner, backend and trajectory.
"""
from ohgw_bench.optimizers import syne_tune_schedulers  # noqa: F401
from ohgw_bench.registry import register_scheduler
from ohgw_bench.specs import SchedulerSpec

register_scheduler(SchedulerSpec(
    "dehb", "differential-evolution Hyperband (dehb 0.1.2 ask/tell), geometric fidelities",
    "ohgw_bench.optimizers.dehb_adapter:make_dehb", defaults={"eta": 3, "min_epochs": 1}, engine="dehb"))
