"""Registered tasks (installed as ``ohgw_bench.tasks``). Importing this package registers them."""
from ohgw_bench.tasks import cifar10, digits  # noqa: F401  (registration side effect is the point)
