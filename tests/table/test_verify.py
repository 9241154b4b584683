"""``ohgw-bench table verify``: re-training cells of the session's twin table reproduces their curves."""

from __future__ import annotations

from ohgw_bench.cli import main


def test_table_verify_retrains_cells_and_reproduces_their_curves(twin_table, capsys):
    assert main(["table", "verify", str(twin_table), "--cells", "2"]) == 0
    out = capsys.readouterr().out
    assert "2/2 curves reproduced exactly" in out
    assert main(["table", "verify", str(twin_table), "--cells", "0"]) == 2
