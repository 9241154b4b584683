"""Schedulers, one file per library family, each registering itself with ``@register_scheduler``.

A factory is ``f(task, config_space, seed, *, setting=default, ...) -> syne-tune TrialScheduler``;
the config space holds the task's domains plus constants the trial reads (``epochs`` is the
maximum resource attribute). DEHB is wrapped as a syne-tune scheduler around its ask/tell
interface, so every scheduler shares one runner, backend and trajectory.
"""
