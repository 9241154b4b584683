"""The committed twin tables by name: ``--backend table:mnist1d-cnn`` is ``results/mnist1d-cnn-table``.

A committed table is a folder ``results/<name>-table`` of the repository that holds a table's meta.json.
The folder is found from this package's own place (``<repository>/ohgw_bench/core/``), not from the
working folder, so a name means the same table wherever the command runs; an installed copy of the
package without the repository has no committed tables. A path that exists is always taken as a path.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ohgw_bench.core.table_format import META

#: the repository's committed results, beside the package
RESULTS = Path(__file__).resolve().parents[2] / "results"
SUFFIX = "-table"


class UnknownTable(ValueError):
    """Neither an existing path nor the name of a committed table; the message lists the names."""


@dataclass(frozen=True)
class NamedTable:
    """A committed table as ``ohgw-bench list tables`` shows it (from its meta.json, digests checked)."""

    name: str
    path: Path
    task: str
    configs: int
    arms: tuple[str, ...]
    epochs: int


def committed_table_paths(results: Path = RESULTS) -> dict[str, Path]:
    """{name: folder} of the committed tables, by name; cheap (no file is read but the folder listing)."""
    if not results.is_dir():
        return {}
    found = (p for p in results.iterdir() if p.name.endswith(SUFFIX) and (p / META).is_file())
    return dict(sorted((p.name[: -len(SUFFIX)], p) for p in found))


def committed_tables(results: Path = RESULTS) -> tuple[NamedTable, ...]:
    """The committed tables with what their meta.json says (ValueError naming a damaged one)."""
    from ohgw_bench.core.table_format import TableSpec, read_meta

    tables = []
    for name, path in committed_table_paths(results).items():
        spec = TableSpec.from_json(read_meta(path)["spec"])
        tables.append(NamedTable(name, path, spec.task, spec.configs, spec.arms, spec.epochs))
    return tuple(tables)


def resolve_table(text: str, results: Path = RESULTS) -> Path:
    """The table folder ``text`` means: an existing path as it is, else a committed table's name;
    UnknownTable for a bare word that is neither (a path with a folder in it is left to the reader,
    which says what it lacks)."""
    path = Path(text)
    if path.exists():
        return path
    named = committed_table_paths(results)
    if text in named:
        return named[text]
    if len(path.parts) == 1 and path.suffix != ".parquet":
        listed = ", ".join(named) if named else f"none: {results} holds no <name>{SUFFIX} table folder"
        raise UnknownTable(
            f"{text!r} is not a table: no such folder, and no committed table of that name (committed: {listed}); "
            "give a table's folder or one of those names (`ohgw-bench list tables`)"
        )
    return path
