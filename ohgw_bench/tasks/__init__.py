"""Tasks, one file each, each registering itself with ``@register_task``.

The contract is :class:`~ohgw_bench.core.specs.TaskSpec`; ``data/`` and ``models/`` hold what the task files use.
"""
