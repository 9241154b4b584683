"""Registered schedulers (installed as ``ohgw_bench.optimizers``). Importing registers them.

A syne-tune factory is ``f(task, config_space, seed, **settings) -> TrialScheduler``; the
config space holds the task's domains plus constants the trial reads (``epochs`` is the
maximum resource attribute).
"""
from ohgw_bench.optimizers import syne_tune_schedulers  # noqa: F401
