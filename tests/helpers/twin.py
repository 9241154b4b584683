"""The session's twin table: one small real table (digits-cnn), built once by the ``twin_table``
fixture of ``tests/conftest.py`` and read by the table, table-report, replay and contract tests.

It holds an arm for every registered warm start, so a new warm-start file is replayed by the
contract matrix without touching the tests. The computing arms take a step that moves the
configuration (the default eta=1e-3 is a no-op on digits), and ``gauss`` is the no-op
``gauss(sigma=0)``: with common random numbers its curves must equal ``none``'s exactly.
Cells train with one torch thread each, so a real run with ``--threads 1`` (``--configs-from``)
trains bit for bit the same curves."""

from __future__ import annotations

from pathlib import Path

from ohgw_bench.core.registry import list_warm_starts

TASK = "digits-cnn"
SEED, N_CONFIGS, EPOCHS = 5, 6, 5
THREADS = 1
#: the table's arm of a registered warm start (its defaults where not listed)
ARM_OF = {"ohgw": "ohgw(eta=1)", "random": "random(eta=1)", "gauss": "gauss(sigma=0)"}
OHGW, RANDOM, NOOP = ARM_OF["ohgw"], ARM_OF["random"], ARM_OF["gauss"]


def arm_of(warm_start: str) -> str:
    return ARM_OF.get(warm_start, warm_start)


#: a registered scheduler's settings on the table (its defaults where not listed): the table's 5 epochs
#: give PASHA's default reduction factor 3 only two rung levels below the maximum (it needs three), and
#: topk-1ep's default 27 one-epoch trials would outlast a short replay before any is resumed (4 + 2 x 4
#: epochs finish a batch)
SCHEDULER_OF = {"pasha": "pasha(reduction_factor=2)", "topk-1ep": "topk-1ep(k=2,n_first=4)"}


def scheduler_of(scheduler: str) -> str:
    return SCHEDULER_OF.get(scheduler, scheduler)


#: ``none`` first, then the other registered warm starts
ARMS: tuple[str, ...] = ("none", *(arm_of(w) for w in list_warm_starts() if w != "none"))


def build_argv(out: Path) -> list[str]:
    """``ohgw-bench table build``'s arguments for the session table (what :func:`build_plan` plans)."""
    spec = ["--task", TASK, "--arms", ",".join(ARMS), "--configs", str(N_CONFIGS), "--seed", str(SEED)]
    cells = ["--epochs", str(EPOCHS), "--n-dask-workers", "2", "--threads", str(THREADS)]
    return ["table", "build", *spec, *cells, "--out", str(out)]


def build_plan(out: Path, *, arms: tuple[str, ...] = ARMS, configs: int = N_CONFIGS):
    """The build plan of the session table (or, with other ``arms``/``configs``, of one that differs from it)."""
    from ohgw_bench.table.build import prepare_build

    return prepare_build(TASK, ",".join(arms), configs, SEED, EPOCHS, out, n_workers=2, threads=THREADS)


#: The real runs on the table's configurations (``real_asha_run``, ``real_pasha_run`` in
#: tests/conftest.py), one worker (deterministic): (optimizer, seed, budget). ASHA with OHGW is the
#: syne-tune family's real training; PASHA with OHGW a pause/resume scheduler's, long enough for PASHA
#: to raise its maximum resource past its first two rungs (its replay does at 35 epochs).
ASHA = f"asha+{OHGW}"
PASHA = f"{SCHEDULER_OF['pasha']}+{OHGW}"
REAL_RUNS = {ASHA: (3, "20ep"), PASHA: (3, "40ep")}


def sub_table(source: Path, n_configs: int, out: Path) -> Path:
    """A complete table at ``out`` holding the first ``n_configs`` configurations of the one at ``source``
    (its rows and meta.json, the digest recomputed): a smaller table drawn from the same curves."""
    from ohgw_bench.core.table_format import read_table, write_meta, write_table

    frame, meta = read_table(source)
    keep = [c for c in meta["configs"] if c["config_id"] < n_configs]
    out.mkdir(parents=True)
    digest = write_table(frame[frame["config_id"] < n_configs].reset_index(drop=True), out)
    spec = {**meta["spec"], "configs": n_configs}
    cells = n_configs * len(spec["arms"])
    write_meta(
        out, {**meta, "spec": spec, "configs": keep, "table_sha256": digest, "cells_done": cells, "cells_total": cells}
    )
    return out
