"""The search space and fidelity of a twin table, as its readers and exports need them.

A table built since meta.json records them (``space``, ``fidelity``) is read from there. One built before
(the committed ``results/*-table``) records neither: its space is the registered task's, which its
configurations were drawn from, and its fidelity is epochs 1 to ``spec.epochs``. Either way every
configuration of meta.json must lie inside the space, under exactly its names, or the table is refused:
an export or a replay must never promise bounds the table's own configurations break."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ohgw_bench.core.fidelity import Fidelity
from ohgw_bench.core.space import SearchSpace
from ohgw_bench.core.table_format import META, TableDamage

SPACE, FIDELITY = "space", "fidelity"


def table_space(meta: Mapping[str, Any], directory: Path | str) -> SearchSpace:
    """The space ``meta`` records, else its task's registered one; TableDamage when a configuration
    lies outside it (or the recorded space is not one)."""
    where = Path(directory) / META
    if SPACE in meta:
        try:
            space = SearchSpace.from_json(meta[SPACE])
        except (KeyError, TypeError, ValueError) as err:
            raise TableDamage(f"{where}: {SPACE} is not a search space ({err!r})") from None
        source = f"the space {where} records"
    else:
        from ohgw_bench.core.registry import get_task

        space = get_task(str(meta["spec"]["task"])).space
        source = f"the registered space of {meta['spec']['task']} ({where} records none: built before it did)"
    for config in meta["configs"]:
        _check_inside(space, config, source, where)
    return space


def _check_inside(space: SearchSpace, config: Mapping[str, Any], source: str, where: Path) -> None:
    values, label = config["values"], f"configuration {config['config_id']}"
    if set(values) != set(space.names):
        raise TableDamage(f"{where}: {label} has hyperparameters {sorted(values)}, not those of {source}")
    for h in space.hyperparameters:
        if not h.low <= float(values[h.name]) <= h.high:
            raise TableDamage(
                f"{where}: {label} has {h.name}={values[h.name]}, outside [{h.low}, {h.high}] of {source}"
            )


def table_fidelity(meta: Mapping[str, Any]) -> Fidelity:
    """The epochs a table holds: recorded, or (a table built before meta.json recorded it) 1 to ``spec.epochs``."""
    recorded = meta.get(FIDELITY)
    if recorded is None:
        return Fidelity.epochs(int(meta["spec"]["epochs"]))
    try:
        return Fidelity(str(recorded["name"]), int(recorded["low"]), int(recorded["high"]), Fidelity.EPOCHS)
    except (KeyError, TypeError, ValueError) as err:
        raise TableDamage(f"meta.json: {FIDELITY} is not a fidelity ({err!r})") from None
