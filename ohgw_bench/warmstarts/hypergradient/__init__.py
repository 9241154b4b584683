"""The lookahead hyper-gradient behind ``ohgw``, public for use in one's own training loop
(docs/hyper-gradient.md). A sub-package, so plugin discovery does not import torch for it."""

from ohgw_bench.warmstarts.hypergradient.lookahead import (
    EXACT,
    FINITE_DIFFERENCE,
    NOT_COMPUTED,
    STRUCTURALLY_ZERO,
    HyperGradient,
    lookahead_hypergradient,
)

__all__ = [
    "EXACT",
    "FINITE_DIFFERENCE",
    "NOT_COMPUTED",
    "STRUCTURALLY_ZERO",
    "HyperGradient",
    "lookahead_hypergradient",
]
