"""The verdict across tasks: every committed leaderboard under a results root, one row per
task × scheduler × arm, and the pre-registered variants checked on every held-out twin table.

It reads what the other commands wrote (``leaderboard.csv`` of each study folder, ``report/report.csv``
of each twin table, ``examples/preregistration.toml``), so the summary is computed from committed
files and never retrains or replays anything. Real studies and replays stay apart: a replay's
tuples count the table's configurations, a real study's the world, and mixing them in one share
would weigh the same task twice.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ohgw_bench.analysis.pairing import NONE
from ohgw_bench.analysis.tuples import across_tuples

LEADERBOARD_CSV = "leaderboard.csv"
RUNS_PARQUET = "runs.parquet"
TABLE_REPORT_CSV = Path("report") / "report.csv"
REAL, REPLAY = "real", "replay"

#: the columns a leaderboard CSV must hold for the summary (a foreign CSV is refused by name)
NEEDED_COLUMNS = (
    "task",
    "scheduler",
    "arm",
    "warm_start",
    "n",
    "speedup_hl",
    "speedup_low",
    "speedup_high",
    "T_reduction",
    "p_value",
    "p_holm",
    "delta_test_acc_pp",
    "spread_not_inflated",
    "success",
    "verdict",
)


class SummaryInputError(ValueError):
    """A results root that holds no leaderboard, or a file that is not what its name says."""


@dataclass(frozen=True)
class Study:
    """One committed leaderboard: its folder, whether it is a replay, and its rows."""

    folder: Path
    kind: str
    board: pd.DataFrame


def _kind(folder: Path) -> str:
    """A replay is a study whose runs' clock came from a twin table (``clock_source`` ``table …``)."""
    runs = folder / RUNS_PARQUET
    if not runs.is_file():
        return REAL
    sources = pd.read_parquet(runs, columns=["clock_source"])["clock_source"].astype(str)
    return REPLAY if sources.str.startswith("table").all() else REAL


def read_studies(root: Path) -> list[Study]:
    """Every ``*/leaderboard.csv`` one level under ``root``, in folder order."""
    studies = []
    for path in sorted(Path(root).glob(f"*/{LEADERBOARD_CSV}")):
        board = pd.read_csv(path)
        missing = [c for c in NEEDED_COLUMNS if c not in board.columns]
        if missing:
            raise SummaryInputError(f"{path} is not a leaderboard of ohgw-bench (no column {', '.join(missing)})")
        studies.append(Study(path.parent, _kind(path.parent), board))
    if not studies:
        raise SummaryInputError(f"{root} holds no study folder with a {LEADERBOARD_CSV} (run `ohgw-bench leaderboard`)")
    return studies


def tuple_rows(studies: Iterable[Study]) -> pd.DataFrame:
    """One row per study × task × scheduler × warm-start arm (the ``none`` rows are the reference)."""
    frames = []
    for study in studies:
        arms = study.board[(study.board["warm_start"] != NONE) & (study.board["n"] > 0)].copy()
        arms.insert(0, "kind", study.kind)
        arms.insert(0, "study", study.folder.name)
        frames.append(arms)
    return pd.concat(frames, ignore_index=True)


def tuple_shares(rows: pd.DataFrame) -> pd.DataFrame:
    """Per kind (real / replay) and arm, the share of tuples meeting each of the seed's criteria."""
    frames = []
    for kind, group in rows.groupby("kind", sort=True):
        shares = across_tuples(group)
        shares.insert(0, "kind", kind)
        frames.append(shares)
    return pd.concat(frames, ignore_index=True)


@dataclass(frozen=True)
class Hypothesis:
    """One pre-registered variant's hypothesis on final accuracy, checked on one held-out table."""

    table: str
    arm: str
    reference: str
    n: int
    shift_pp: float
    low_pp: float
    high_pp: float
    epochs_saved_median: float

    @property
    def held(self) -> bool:
        """Positive as stated: the 95 % interval of the paired shift lies above 0."""
        return self.low_pp > 0


def read_preregistration(path: Path) -> list[dict[str, Any]]:
    """The variants of ``examples/preregistration.toml``: their arms and stated hypotheses."""
    with open(path, "rb") as fh:
        spec = tomllib.load(fh)
    variants = spec.get("variant")
    if not isinstance(variants, list) or not all(isinstance(v, dict) and "arm" in v for v in variants):
        raise SummaryInputError(f"{path}: no [[variant]] entries with an `arm`")
    return variants


def _control(arm: str) -> str:
    """The random control of an ``ohgw(...)`` arm: the same step with random signs."""
    return "random" + arm.removeprefix("ohgw")


def check_hypotheses(root: Path, variants: list[dict[str, Any]], development: str) -> list[Hypothesis]:
    """Each variant against ``none`` and against its random control on every table report under ``root``
    that has the variant (the development table, where it was chosen, is left out)."""
    out = []
    for path in sorted(Path(root).glob(f"*/{TABLE_REPORT_CSV}")):
        table = path.parent.parent.name
        if table == development:
            continue
        report = pd.read_csv(path)
        for variant in variants:
            arm = variant["arm"]
            for reference in (NONE, _control(arm)):
                hit = report[(report["arm"] == arm) & (report["reference"] == reference)]
                if hit.empty:
                    continue
                r = hit.iloc[0]
                out.append(
                    Hypothesis(
                        table=table,
                        arm=arm,
                        reference=reference,
                        n=int(r["n"]),
                        shift_pp=float(r["final_pp_shift"]),
                        low_pp=float(r["final_pp_low"]),
                        high_pp=float(r["final_pp_high"]),
                        epochs_saved_median=float(r["epochs_to_target_median_saved"]),
                    )
                )
    return out


def hypotheses_frame(hypotheses: list[Hypothesis]) -> pd.DataFrame:
    columns = ["table", "arm", "reference", "n", "shift_pp", "low_pp", "high_pp", "epochs_saved_median", "held"]
    rows = [{**h.__dict__, "held": h.held} for h in hypotheses]
    return pd.DataFrame(rows, columns=columns)


def _fmt(value: Any, spec: str) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)


def _speedup(row: pd.Series) -> str:
    if pd.isna(row["speedup_low"]):
        return _fmt(row["speedup_hl"], ".2f")
    return f"{row['speedup_hl']:.2f} [{row['speedup_low']:.2f}, {row['speedup_high']:.2f}]"


def render_summary(rows: pd.DataFrame, shares: pd.DataFrame, hypotheses: pd.DataFrame, figure: str | None) -> str:
    """SUMMARY.md: the tuples, the shares against the seed's 75 %, the pre-registered hypotheses."""
    from ohgw_bench.analysis.stats import TUPLE_SHARE

    out = [
        "# The verdict across tasks",
        "",
        "Generated by `ohgw-bench summary results` from the committed leaderboards (`*/leaderboard.csv`) and",
        "twin-table reports (`*/report/report.csv`); nothing here is typed by hand.",
        "",
        "## Every tuple",
        "",
        "Speed-up = Hodges–Lehmann estimate of the paired ratio of T@τ (none ÷ arm) with its 95 % interval;",
        "p (Holm) and the verdict as in each study's LEADERBOARD.md (docs/statistics.md).",
        "",
    ]
    if figure:
        out += [f"![speed-ups with 95 % intervals]({figure})", ""]
    out += [
        "| study | kind | task | scheduler | arm | n | speed-up [95 %] | p (Holm) | Δ test acc pp | verdict |",
        "|---|---|---|---|---|---:|---|---:|---:|---|",
    ]
    for _, r in rows.iterrows():
        out.append(
            f"| {r['study']} | {r['kind']} | {r['task']} | {r['scheduler']} | {r['arm']} | {int(r['n'])} | "
            f"{_speedup(r)} | {_fmt(r['p_holm'], '.3g')} | {_fmt(r['delta_test_acc_pp'], '+.2f')} | {r['verdict']} |"
        )
    out += [
        "",
        "## Share of tuples meeting each criterion",
        "",
        f"The seed's bar: success in at least {TUPLE_SHARE:.0%} of experiment tuples. Real studies and replays",
        "are counted apart.",
        "",
        "| kind | arm | tuples | speed | p | accuracy | spread | criterion | bar met |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for _, r in shares.iterrows():
        cells = " | ".join(f"{r[k]:.0%}" for k in ("speed", "p", "accuracy", "spread", "criterion"))
        met = "yes" if r["criterion"] >= TUPLE_SHARE else "no"
        out.append(f"| {r['kind']} | {r['arm']} | {int(r['tuples'])} | {cells} | {met} |")
    out += ["", "## Pre-registered variants on the held-out tables", ""]
    if hypotheses.empty:
        out += ["No held-out twin table with the pre-registered arms is committed yet.", ""]
    else:
        out += [
            "Hypothesis (examples/preregistration.toml): the paired HL shift in final validation accuracy is",
            "above 0 against none and against the random control. Held = the 95 % interval lies above 0.",
            "",
            "| table | arm | against | n | shift pp [95 %] | median epochs to τ saved | held |",
            "|---|---|---|---:|---|---:|---|",
        ]
        for _, h in hypotheses.iterrows():
            out.append(
                f"| {h['table']} | {h['arm']} | {h['reference']} | {int(h['n'])} | "
                f"{h['shift_pp']:+.2f} [{h['low_pp']:+.2f}, {h['high_pp']:+.2f}] | "
                f"{h['epochs_saved_median']:g} | {'yes' if h['held'] else 'no'} |"
            )
        out.append("")
    return "\n".join(out)


def forest_figure(rows: pd.DataFrame):
    """One row per tuple: the speed-up estimate with its 95 % interval on a log axis, 1 marked."""
    from ohgw_bench.analysis.plots import new_figure

    labels = [f"{r.study} · {r.scheduler} · {r.arm}" for r in rows.itertuples()]
    fig = new_figure(8.0, 0.8 + 0.28 * len(rows))
    ax = fig.add_subplot()
    y = list(range(len(rows)))[::-1]
    est = rows["speedup_hl"].to_numpy(dtype=float)
    low = rows["speedup_low"].to_numpy(dtype=float)
    high = rows["speedup_high"].to_numpy(dtype=float)
    has = ~(pd.isna(low) | pd.isna(high))
    ax.hlines([v for v, h in zip(y, has, strict=True) if h], low[has], high[has], color="0.3", linewidth=1.5)
    for kind, color in ((REAL, "tab:blue"), (REPLAY, "tab:orange")):
        mine = (rows["kind"] == kind).to_numpy()
        if mine.any():
            ax.scatter(
                est[mine], [v for v, m in zip(y, mine, strict=True) if m], color=color, zorder=3, s=18, label=kind
            )
    ax.axvline(1.0, color="0.5", linestyle="--", linewidth=1)
    ax.set_xscale("log")
    lo = min(est.min(), low[has].min(initial=1.0))
    hi = max(est.max(), high[has].max(initial=1.0))
    ticks = [t for t in (0.5, 0.67, 0.8, 0.9, 1.0, 1.11, 1.25, 1.5, 2.0) if lo / 1.15 <= t <= hi * 1.15]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.minorticks_off()
    ax.set_yticks(y, labels, fontsize="small")
    ax.set_xlabel("speed-up in T@τ (none ÷ arm): HL estimate, 95 % interval")
    ax.legend(loc="lower right", fontsize="small")
    return fig


def summary_report(
    root: Path,
    fmt: str = "md",
    preregistration: Path | None = None,
    figures: Path | None = None,
    out: Path | None = None,
) -> str:
    """The cross-task summary as Markdown (or one CSV row per tuple); with ``figures``, also the forest
    plot there (``forest.png``/``.pdf``), linked from the Markdown relative to ``out``'s folder."""
    import os

    rows = tuple_rows(read_studies(root))
    if fmt == "csv":
        return rows.to_csv(index=False)
    hypotheses: list[Hypothesis] = []
    if preregistration is not None:
        spec_dev = _development_table(preregistration)
        hypotheses = check_hypotheses(root, read_preregistration(preregistration), spec_dev)
    link = None
    if figures is not None:
        from ohgw_bench.analysis.plots import save_figure

        figures.mkdir(parents=True, exist_ok=True)
        png = save_figure(forest_figure(rows), figures, "forest")[0]
        link = os.path.relpath(png, (out.parent if out is not None else Path.cwd()))
    return render_summary(rows, tuple_shares(rows), hypotheses_frame(hypotheses), link)


def _development_table(preregistration: Path) -> str:
    with open(preregistration, "rb") as fh:
        return Path(str(tomllib.load(fh).get("development_table", ""))).name
