"""The sweep's order: a seed's arms run back to back, and within a scheduler each arm runs first
equally often (±1), whatever the number of schedulers, arms and seeds (issue 22, item 6).

The property is checked on many grids of :meth:`SweepSpec.runs`, then end to end: a tiny real sweep
on the replay backend with one Dask worker, whose runs must start in that order.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest

from ohgw_bench.core.trajectory import run_dir
from ohgw_bench.execution.sweep.spec import RunKey, SweepSpec

SCHEDULERS = ("asha", "pasha", "dyhpo")
WARM_STARTS = ("", "+ohgw(eta=1)", "+random(eta=1)", "+gauss")


def _key(optimizer: str) -> str:
    """The scheduler key, written here independently of the package: everything before a top-level '+'."""
    depth = 0
    for i, ch in enumerate(optimizer):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "+" and depth == 0:
            return optimizer[:i]
    return optimizer


def _spec(opts: Sequence[str], seeds: Sequence[int], tasks: Sequence[str] = ("digits-cnn",), **kw) -> SweepSpec:
    return SweepSpec(tuple(tasks), tuple(opts), tuple(seeds), "10s", 1, Path("/nonexistent"), **kw)


def _first_counts(runs: Sequence[RunKey]) -> dict[tuple[str, str], Counter[str]]:
    """Per (task, scheduler key), the pairs' unit: how often each arm ran first among its arms of one seed."""
    first: dict[tuple[str, str, int], str] = {}
    for run in runs:
        first.setdefault((run.task, _key(run.optimizer), run.seed), run.optimizer)
    counts: dict[tuple[str, str], Counter[str]] = {}
    for (task, key, _), optimizer in first.items():
        counts.setdefault((task, key), Counter())[optimizer] += 1
    return counts


def _check_order(spec: SweepSpec) -> None:
    runs = spec.runs()
    # every run of the grid exactly once
    grid = {(t, o, s) for t in spec.tasks for o in spec.opts for s in spec.seeds_of(o)}
    assert len(runs) == len(grid) and {(r.task, r.optimizer, r.seed) for r in runs} == grid
    # a seed's runs back to back: its positions form one contiguous stretch
    for seed in {r.seed for r in runs}:
        where = [i for i, r in enumerate(runs) if r.seed == seed]
        assert where == list(range(where[0], where[-1] + 1)), f"seed {seed} is split: {where}"
    # within a scheduler key, each arm first equally often (±1); an arm never first still counts as 0
    counts = _first_counts(runs)
    for (_, key), counter in counts.items():
        arms = [o for o in spec.opts if _key(o) == key]
        firsts = [counter[o] for o in arms]
        assert max(firsts) - min(firsts) <= 1, f"{key}: {dict(zip(arms, firsts, strict=True))}"


@pytest.mark.parametrize("n_schedulers", [1, 2, 3])
@pytest.mark.parametrize("n_arms", [2, 3, 4])
def test_each_arm_of_a_scheduler_runs_first_equally_often(n_schedulers, n_arms):
    opts = [s + w for s in SCHEDULERS[:n_schedulers] for w in WARM_STARTS[:n_arms]]
    for n_seeds in range(1, 18):
        _check_order(_spec(opts, range(n_seeds)))
        _check_order(_spec(opts, [3 * s + 7 for s in range(n_seeds)]))  # seeds need not be 0..n-1


def test_unequal_arms_interleaved_opts_several_tasks_and_seeds_by_scheduler():
    # the study: 3 schedulers x (none, ohgw, random), 32 ASHA seeds and 16 for the others
    opts = [s + w for s in SCHEDULERS for w in WARM_STARTS[:3]]
    spec = _spec(opts, range(32), seeds_by_scheduler=(("pasha", tuple(range(16))), ("dyhpo", tuple(range(16, 32)))))
    _check_order(spec)
    counts = _first_counts(spec.runs())
    assert sorted(counts["digits-cnn", "asha"].values()) == [10, 11, 11]  # 32 = 11 + 11 + 10
    assert sorted(counts["digits-cnn", "pasha"].values()) == [5, 5, 6]
    # schedulers with different numbers of arms, named in an interleaved order, with parameters
    opts = ["asha", "pasha", "asha(reduction_factor=2)", "pasha+ohgw(eta=1)", "asha+ohgw(eta=1)"]
    opts += ["asha(reduction_factor=2)+ohgw(eta=1,steps=2)", "asha+random(eta=1)", "asha+gauss"]
    for n_seeds in range(1, 18):
        _check_order(_spec(opts, range(n_seeds), tasks=("digits-cnn", "mnist1d-cnn")))
        _check_order(_spec(opts, range(n_seeds), seeds_by_scheduler=(("pasha", tuple(range(0, 2 * n_seeds, 2))),)))


def test_one_scheduler_rotates_by_one_from_seed_to_seed():
    opts = ["asha", "asha+ohgw(eta=1)", "asha+random(eta=1)"]
    firsts = [r.optimizer for i, r in enumerate(_spec(opts, range(6)).runs()) if i % 3 == 0]
    assert firsts == opts + opts


@pytest.fixture
def table(twin_table) -> Path:
    """The session's twin table (tests/helpers/twin.py): it holds the none, ohgw(eta=1) and random(eta=1) arms."""
    return twin_table


def test_a_replayed_sweep_starts_its_runs_in_turns(table, tmp_path):
    """Two schedulers (3 and 2 arms), 6 seeds, one Dask worker: runs start in grid order.

    ``started_at`` in meta.json has a resolution of one second and a replayed run takes well under
    one, so it cannot order the runs by itself. The order comes from the sweep's own record, each
    run's ``t_run_start`` (``time.time()`` as the worker starts it); ``started_at`` must agree with
    it (never decrease along it)."""
    from ohgw_bench.execution.sweep.records import DONE
    from ohgw_bench.execution.sweep.run import run_sweep
    from ohgw_bench.execution.sweep.spec import build_spec

    opts = "asha,asha+ohgw(eta=1),asha+random(eta=1),asha(reduction_factor=2),asha(reduction_factor=2)+ohgw(eta=1)"
    spec = build_spec(
        tasks="digits-cnn", opts=opts, seeds="0-5", budget="6ep", backend=f"table:{table}", out=str(tmp_path)
    )
    result = run_sweep(spec, n_dask_workers=1)
    assert len(result.outcomes) == 30 and all(o.state == DONE for o in result.outcomes), result.outcomes
    started = sorted(result.outcomes, key=lambda o: o.t_run_start)
    order = [o.run for o in started]
    assert order == spec.runs()  # one worker: start order is submission order is grid order
    stamps = [
        json.loads((run_dir(spec.out, *key) / "meta.json").read_text())["started_at"]
        for key in [(r.task, r.optimizer, r.seed) for r in order]
    ]
    assert stamps == sorted(stamps)  # ISO 8601 UTC strings of one format sort as times
    counts = _first_counts(order)
    assert sorted(counts["digits-cnn", "asha"].values()) == [2, 2, 2]
    assert sorted(counts["digits-cnn", "asha(reduction_factor=2)"].values()) == [3, 3]
