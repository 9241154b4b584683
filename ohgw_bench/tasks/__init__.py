"""Tasks, one file each, each registering itself with ``@register_task`` (see :class:`~ohgw_bench.specs.TaskSpec`)."""
