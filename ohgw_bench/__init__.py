"""ohgw-bench: does a one-shot hyper-gradient warm start make multi-fidelity HPO faster?

Importing this package is cheap on purpose (no torch, no syne-tune): the CLI's ``list``
command and the results loader must work on machines without a GPU stack warmed up.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "load_results"]


def load_results(path, include_incomplete: bool = False):
    """Load every run under ``path`` as one pandas DataFrame (one row per reported epoch)."""
    from ohgw_bench.analysis.results import load_results as _load

    return _load(path, include_incomplete=include_incomplete)
