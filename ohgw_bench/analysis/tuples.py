"""The seed's bar across experiment tuples: in what share of task × scheduler pairs each criterion
holds for a warm-start arm, against "success in at least 75 % of experiment tuples"."""

from __future__ import annotations

import pandas as pd

from ohgw_bench.analysis.pairing import NONE
from ohgw_bench.analysis.stats import ALPHA, CHECK, MAX_TEST_DROP_PP, MIN_T_REDUCTION

#: the seed's criteria, each checked per experiment tuple (task × scheduler × arm) by :func:`across_tuples`
TUPLE_CRITERIA = {
    "speed": lambda b: b["T_reduction"] >= MIN_T_REDUCTION,
    "p": lambda b: (b["p_value"] < ALPHA) & (b["speedup_hl"] > 1),  # significant, and in the arm's favour
    "accuracy": lambda b: b["delta_test_acc_pp"] >= -MAX_TEST_DROP_PP,
    "spread": lambda b: b["spread_not_inflated"].fillna(False).astype(bool),
    "criterion": lambda b: b["success"] == CHECK,
}


def across_tuples(board: pd.DataFrame) -> pd.DataFrame:
    """Per warm-start arm, over every task × scheduler it was paired in: how many tuples, and the share
    in which each criterion holds (``speed``: median T@τ ≥ 15 % lower; ``p``: p < 0.05 with the
    arm faster; ``accuracy``:
    Δ test acc ≥ −0.2 pp; ``spread``: SD of T@τ ≤ 1.1 × none's; ``criterion``: all of the first three),
    to hold against the seed's bar of 75 % of tuples."""
    arms = board[(board["warm_start"] != NONE) & (board["n"] > 0)]
    rows = []
    for label, group in arms.groupby("arm", sort=True):
        rows.append(
            {"arm": label, "tuples": len(group), **{k: float(f(group).mean()) for k, f in TUPLE_CRITERIA.items()}}
        )
    return pd.DataFrame(rows, columns=["arm", "tuples", *TUPLE_CRITERIA])
