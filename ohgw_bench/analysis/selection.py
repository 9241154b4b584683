"""The pre-registered selection rule of docs/ablations.md, applied to a development table's report.

The rule was written before the development table was trained; this module only carries it out,
so that the choice in ``examples/preregistration.toml`` is recomputed from committed files
(``ohgw-bench table select REPORT_CSV``) rather than read off a table by eye."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ohgw_bench.analysis.mechanism import NONE, random_control
from ohgw_bench.core.names import parse_warm_start_name

#: rule 1: the lower end of the 95% HL interval of the final-accuracy shift against none (pp) must exceed this
HARM_FLOOR_PP = -0.5
#: how many arms are pre-registered
N_CHOSEN = 2
_NEEDED = ("arm", "reference", "final_pp_mean", "final_pp_low", "epochs_to_target_median_saved")


@dataclass(frozen=True)
class Screened:
    """One OHGW arm of the development table, as the rule sees it."""

    arm: str
    final_pp_mean: float  # vs none
    final_pp_shift: float  # HL vs none
    final_pp_low: float
    final_pp_high: float
    epochs_saved: float  # median epochs to tau saved vs none
    vs_control_pp_mean: float | None  # mean final pp vs its random control; None without one
    does_not_hurt: bool
    direction_matters: bool  # True where the table has no control (the rule asks only where it has)

    @property
    def passes(self) -> bool:
        return self.does_not_hurt and self.direction_matters


@dataclass(frozen=True)
class Selection:
    screened: tuple[Screened, ...]  # ranked: passing arms first in the rule's order, then the rest
    chosen: tuple[str, ...]
    filled: tuple[str, ...]  # chosen because fewer than N_CHOSEN passed: registered as "does not help"


def _is_plain(arm: str) -> bool:
    name = parse_warm_start_name(arm)
    return name.name == "ohgw" and {key for key, _ in name.params} <= {"eta"}


def select_variants(report: pd.DataFrame) -> Selection:
    """Apply rules 1-3 of docs/ablations.md to a ``table report`` CSV read by pandas."""
    missing = [column for column in _NEEDED if column not in report.columns]
    if missing:
        raise ValueError(f"not a table report (report.csv): no column {', '.join(missing)}")
    rows = {(row.arm, row.reference): row for row in report.itertuples(index=False)}
    screened = []
    for (arm, reference), row in rows.items():
        if reference != NONE or not arm.startswith("ohgw"):
            continue
        control = random_control(arm)
        versus = rows.get((arm, control)) if control else None
        vs_control = None if versus is None else float(versus.final_pp_mean)
        screened.append(
            Screened(
                arm=arm,
                final_pp_mean=float(row.final_pp_mean),
                final_pp_shift=float(row.final_pp_shift),
                final_pp_low=float(row.final_pp_low),
                final_pp_high=float(row.final_pp_high),
                epochs_saved=float(row.epochs_to_target_median_saved),
                vs_control_pp_mean=vs_control,
                does_not_hurt=bool(row.final_pp_low > HARM_FLOOR_PP),
                direction_matters=vs_control is None or vs_control > 0,
            )
        )
    if not screened:
        raise ValueError("the report pairs no ohgw arm with none")
    ranked = sorted(screened, key=lambda s: (not s.passes, -_finite(s.epochs_saved), -s.final_pp_mean, s.arm))
    chosen = [s.arm for s in ranked if s.passes][:N_CHOSEN]
    plain = sorted((s for s in screened if _is_plain(s.arm) and s.arm not in chosen), key=lambda s: -s.final_pp_mean)
    filled = [s.arm for s in plain[: N_CHOSEN - len(chosen)]]
    return Selection(tuple(ranked), tuple(chosen + filled), tuple(filled))


def _finite(value: float) -> float:
    return value if math.isfinite(value) else -math.inf


def read_selection(report_csv: Path | str) -> Selection:
    path = Path(report_csv)
    if path.is_dir():
        path = path / "report.csv"
    try:
        report = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as err:
        raise ValueError(f"cannot read {path} as a table report: {err}") from err
    return select_variants(report)


def format_selection(selection: Selection) -> str:
    """The screening as Markdown: each arm, the two rules, and the ranking key."""
    lines = [
        f"| rank | arm | Δ final pp vs none: mean, HL [95%] | rule 1: low > {HARM_FLOOR_PP} | "
        "Δ final pp vs its random (mean) | rule 2 | epochs to τ saved | chosen |",
        "|---:|---|---:|:---:|---:|:---:|---:|:---:|",
    ]
    for rank, s in enumerate(selection.screened, start=1):
        control = "no control" if s.vs_control_pp_mean is None else f"{s.vs_control_pp_mean:+.2f}"
        mark = "filled" if s.arm in selection.filled else ("yes" if s.arm in selection.chosen else "")
        lines.append(
            f"| {rank if s.passes else '-'} | {s.arm} | {s.final_pp_mean:+.2f}, {s.final_pp_shift:+.2f} "
            f"[{s.final_pp_low:+.2f}, {s.final_pp_high:+.2f}] | {'pass' if s.does_not_hurt else 'fail'} | "
            f"{control} | {'pass' if s.direction_matters else 'fail'} | {s.epochs_saved:g} | {mark} |"
        )
    return "\n".join(lines) + f"\n\nchosen: {', '.join(selection.chosen)}"
