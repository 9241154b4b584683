"""A leaderboard as Markdown (a heading per task × scheduler), CSV (one flat file, raw numbers,
times in seconds) or LaTeX (a booktabs table per task × scheduler). What each column means is in
docs/statistics.md."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ohgw_bench.analysis.pairing import NONE
from ohgw_bench.analysis.stats import (
    ALPHA,
    CHECK,
    CROSS,
    DASH,
    LEVEL,
    MAX_SD_INFLATION,
    MAX_TEST_DROP_PP,
    MIN_T_REDUCTION,
    RULED_OUT_SPEEDUP,
    TUPLE_SHARE,
    ZERO_METHOD,
)
from ohgw_bench.analysis.tuples import across_tuples

MIXED_MARK = "†"  # an arm ranked with --allow-mixed
UNRESOLVED_MARK = "*"  # a success mark the test split cannot back at 0.2 pp


@dataclass(frozen=True)
class TimeUnit:
    """A display unit for T@τ: ``name`` in headers, ``seconds`` per unit, ``long`` in captions."""

    name: str
    seconds: float
    long: str


_UNITS = (TimeUnit("s", 1.0, "seconds"), TimeUnit("min", 60.0, "minutes"), TimeUnit("h", 3600.0, "hours"))


def time_unit(seconds: float) -> TimeUnit:
    """s below 120 s, min below 120 min, else h: the reference value then reads as 1–120 units.

    NaN (nothing reached, nothing to scale by) gives seconds.
    """
    if not math.isfinite(seconds) or seconds < 120:
        return _UNITS[0]
    return _UNITS[1] if seconds < 120 * 60 else _UNITS[2]


def _table_unit(rows: pd.DataFrame) -> TimeUnit:
    """One unit per task × scheduler table, from the none row's median T@τ tuner (else the largest median)."""
    none = rows.loc[rows["warm_start"] == NONE, "T_tuner_s_median"].to_numpy(float)
    medians = none[np.isfinite(none)]
    if not medians.size:
        medians = rows["T_tuner_s_median"].to_numpy(float)
        medians = medians[np.isfinite(medians)]
    return time_unit(float(medians.max()) if medians.size else math.nan)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _sig(value: float, signed: bool = False) -> str:
    """3 significant digits without an exponent for numbers ≥ 1 (1234 → 1230, 0.01234 → 0.0123)."""
    value = float(value) + 0.0  # no "-0"
    text = f"{value:+.3g}" if signed else f"{value:.3g}"
    if "e+" in text:
        text = f"{round(value, 2 - math.floor(math.log10(abs(value)))):{'+' if signed else ''}.0f}"
    return text


def _num(value: Any, fmt: str) -> str:
    if _missing(value):
        return DASH
    if isinstance(value, float) and math.isinf(value):
        return "∞"
    return fmt.format(value)


def _iqr(row: pd.Series, name: str, scale: float = 1.0) -> str:
    """``median [q25, q75]`` of a clock, divided by ``scale`` (seconds per display unit)."""
    median, q25, q75 = (row[f"{name}_{s}"] for s in ("median", "q25", "q75"))
    if _missing(median):
        return DASH
    return f"{_sig(median / scale)} [{_sig(q25 / scale)}, {_sig(q75 / scale)}]"


def _is_none_row(row: pd.Series) -> bool:
    return bool(row["warm_start"] == NONE)


def _unresolved(row: pd.Series) -> bool:
    """The test split is too small to resolve the accuracy criterion (one example > 0.2 pp)."""
    value = row["test_resolves_criterion"]
    return not _missing(value) and not bool(value)


def _mark(row: pd.Series) -> str:
    mark = str(row["success"])
    return mark + UNRESOLVED_MARK if mark in (CHECK, CROSS) and _unresolved(row) else mark


def _delta_cell(row: pd.Series) -> str:
    """``+0.05 pp (+2 ex.)``: the accuracy change and what it is in test examples (pp only without n_test)."""
    if _is_none_row(row) or _missing(row["delta_test_acc_pp"]):
        return DASH
    text = f"{float(row['delta_test_acc_pp']) + 0.0:+.2f} pp"
    examples = row["delta_test_acc_examples"]
    return text if _missing(examples) else f"{text} ({_sig(examples, signed=True)} ex.)"


def _interval(row: pd.Series, name: str, fmt: str, suffix: str = "") -> str:
    """``estimate [low, high]`` of the columns ``name`` / ``name_low`` / ``name_high`` (estimate only
    where the interval is undefined; ∞ where too few pairs bound it)."""
    estimate = row[name]
    if _missing(estimate):
        return DASH
    text = fmt.format(float(estimate) + 0.0) + suffix
    base = name.removesuffix("_hl")
    low, high = row[f"{base}_low"], row[f"{base}_high"]
    if _missing(low) or _missing(high):
        return text
    return f"{text} [{_num(float(low) + 0.0, fmt)}, {_num(float(high) + 0.0, fmt)}]"


def _speedup_cell(row: pd.Series) -> str:
    return _interval(row, "speedup_hl", "{:.2f}", "×")


def _detectable_note(rows: pd.DataFrame) -> str | None:
    """One line per table: the smallest speed-up each arm's n pairs detect at 80 % power."""
    arms = rows[~rows["warm_start"].eq(NONE) & rows["detectable_speedup"].notna()]
    if arms.empty:
        return None
    parts = [
        f"{r['arm']} {_num(float(r['detectable_speedup']), '{:.2f}×')} (n = {int(r['n'])})" for _, r in arms.iterrows()
    ]
    return (
        "Smallest speed-up these pairs detect with 80 % power (simulated from each arm's observed spread; "
        "docs/statistics.md): " + ", ".join(parts) + "."
    )


def _table_note(rows: pd.DataFrame) -> str | None:
    """A replay with resampled tables: its intervals and p count the table's finite set of curves."""
    arms = rows[~rows["warm_start"].eq(NONE) & rows["n_tables"].notna()] if "n_tables" in rows else rows.iloc[0:0]
    if arms.empty:
        return None
    parts = [
        f"{r['arm']} {_num(float(r['table_sd_log_speedup']), '{:.3f}')} ({int(r['n_tables'])} tables)"
        for _, r in arms.iterrows()
    ]
    return (
        "Intervals and p count the table: they add the spread of the estimates over replays on bootstrap "
        "resamples of its configurations (normal approximation; docs/statistics.md, Replay intervals). "
        "Between-table SD of the log speed-up: " + ", ".join(parts) + "."
    )


def _spread_note(rows: pd.DataFrame) -> str | None:
    """The seed's spread check, one line per table: each arm's SD of T@τ over none's."""
    arms = rows[~rows["warm_start"].eq(NONE) & rows["T_sd_ratio"].notna()]
    if arms.empty:
        return None
    parts = [f"{r['arm']} {float(r['T_sd_ratio']):.2f}" for _, r in arms.iterrows()]
    return f"SD of T@τ over none's (at most {MAX_SD_INFLATION:.1f} passes): " + ", ".join(parts) + "."


def _mixed(row: pd.Series) -> bool:
    return isinstance(row["mixed"], str) and bool(row["mixed"])


@dataclass(frozen=True)
class _Column:
    header: str  # "{unit}" becomes the table's time unit
    cell: Callable[[pd.Series, TimeUnit], str]


_MD_COLUMNS = (
    _Column("arm", lambda r, u: f"{r['arm']} {MIXED_MARK}" if _mixed(r) else str(r["arm"])),
    _Column("n", lambda r, u: str(int(r["n"]))),
    _Column("T@τ tuner ({unit}), median [IQR]", lambda r, u: _iqr(r, "T_tuner_s", u.seconds)),
    _Column("T@τ device ({unit})", lambda r, u: _iqr(r, "T_device_s", u.seconds)),
    _Column("T@τ epochs", lambda r, u: _iqr(r, "T_epochs")),
    _Column("not reached", lambda r, u: str(int(r["n_censored"]))),
    _Column("speed-up [95% CI]", lambda r, u: _speedup_cell(r)),
    _Column("p", lambda r, u: _num(r["p_value"], "{:.3g}")),
    _Column("p Holm", lambda r, u: _num(r["p_holm"], "{:.3g}")),
    _Column("win rate", lambda r, u: _num(r["win_rate"], "{:.2f}")),
    _Column("Δ AUC pp [95% CI]", lambda r, u: DASH if _is_none_row(r) else _interval(r, "delta_auc_pp_hl", "{:+.2f}")),
    _Column("best val acc", lambda r, u: _num(r["best_val_acc_median"], "{:.4f}")),
    _Column("incumbent test acc", lambda r, u: _num(r["incumbent_test_acc_median"], "{:.4f}")),
    _Column("Δ test acc (median)", lambda r, u: _delta_cell(r)),
    _Column(
        "Δ test acc pp [95% CI]",
        lambda r, u: DASH if _is_none_row(r) else _interval(r, "delta_test_acc_pp_hl", "{:+.2f}"),
    ),
    _Column("warm-start compute", lambda r, u: _num(r["ws_compute_share"], "{:.1%}")),
    _Column("warm-start FLOPs", lambda r, u: _num(r["ws_flops_share"], "{:.1%}")),
    _Column("SD(T@τ) ratio", lambda r, u: _num(r["T_sd_ratio"], "{:.2f}")),
    _Column("peak mem ratio", lambda r, u: _num(r["peak_mem_ratio"], "{:.2f}")),
    _Column("diverged trials", lambda r, u: str(int(r["n_diverged"]))),
    _Column("criterion", lambda r, u: _mark(r)),
    _Column("verdict", lambda r, u: str(r["verdict"])),
)
_MD_TUNER, _MD_DEVICE = 2, 3  # the device column is left out where it repeats the tuner column


def _groups(table: pd.DataFrame) -> Iterator[tuple[str, str, pd.DataFrame]]:
    for (task, scheduler), group in table.groupby(["task", "scheduler"], sort=False):
        yield str(task), str(scheduler), group


def _mixed_notes(rows: pd.DataFrame) -> list[tuple[str, int, int, list[str]]]:
    """``(arm, n_mixed, n, fields)`` of each row ranked with mixed pairs."""
    return [
        (str(r["arm"]), int(r["n_mixed"]), int(r["n"]), str(r["mixed"]).split(";"))
        for _, r in rows.iterrows()
        if _mixed(r)
    ]


def _coarse_test_splits(rows: pd.DataFrame) -> list[int]:
    """Test-split sizes of a table too small to resolve the accuracy criterion (one example > 0.2 pp)."""
    sizes = {int(v) for v in rows["n_test"].to_numpy(float) if math.isfinite(v)}
    return sorted(n for n in sizes if 100.0 / n > MAX_TEST_DROP_PP)


def _resolution_note(n_test: int) -> str:
    return (
        f"The test split ({n_test} examples, 1 example = {_sig(100.0 / n_test)} pp) cannot resolve the "
        f"{MAX_TEST_DROP_PP} pp accuracy criterion: the success mark is computed as usual, but one test example "
        "more or less can flip it"
    )


def _markdown(table: pd.DataFrame) -> str:
    out = [
        "# Leaderboard",
        "",
        "T@τ: time until the incumbent's validation accuracy first reaches τ, median [IQR] over seeds, in the unit "
        "named in each table's header; censored at the budget used when τ was not reached. T@τ device "
        "(= tuner × workers) is shown only where it differs from T@τ tuner. Speed-up: the paired "
        "Hodges–Lehmann estimate of T_none / T_arm (on log T) with the "
        f"{LEVEL:.0%} interval that inverts the signed-rank test; Δ AUC and Δ test acc (arm − none, pp) the same way. "
        f"p: Wilcoxon two-sided, zero_method={ZERO_METHOD}; p Holm: adjusted over every test of this leaderboard. "
        f"Criterion (the seed's) ✓ = median T@τ ≥ {MIN_T_REDUCTION:.0%} lower, p < {ALPHA}, "
        f"median Δ test acc ≥ −{MAX_TEST_DROP_PP} pp (ex. = test examples). Verdict: success (criterion met), "
        f"ruled out (the interval's upper end is below {RULED_OUT_SPEEDUP:.3f}×, a {MIN_T_REDUCTION:.0%} cut), "
        "else inconclusive. Definitions: docs/statistics.md.",
        "",
    ]
    if bool(table["code_modified"].any()):
        out += [
            "**Code modified locally:** some runs ran with uncommitted changes to ohgw_bench/ or pyproject.toml "
            "(meta.json code_version.modified), so these results may not be reproducible from the commit.",
            "",
        ]
    if table.empty:
        out += ["_No complete run to rank (incomplete runs are excluded unless asked for)._", ""]
    for task, scheduler, rows in _groups(table):
        unit = _table_unit(rows)
        cells = [[column.cell(r, unit) for column in _MD_COLUMNS] for _, r in rows.iterrows()]
        keep = [
            i for i in range(len(_MD_COLUMNS)) if i != _MD_DEVICE or any(c[_MD_DEVICE] != c[_MD_TUNER] for c in cells)
        ]
        headers = [_MD_COLUMNS[i].header.format(unit=unit.name) for i in keep]
        taus = rows["target"].dropna().unique()
        out += [f"## {task} × {scheduler}", ""]
        out += [f"τ = {taus[0]:g}; times in {unit.long}.", ""] if len(taus) == 1 else []
        out += [
            "| " + " | ".join(headers) + " |",
            "|" + "|".join("---" if i == 0 else "---:" for i in range(len(headers))) + "|",
        ]
        out += ["| " + " | ".join(row[i].replace("|", "\\|") for i in keep) + " |" for row in cells]
        out.append("")
        for note in (_table_note(rows), _detectable_note(rows)):
            out += [note, ""] if note else []
        for arm, n_mixed, n, fields in _mixed_notes(rows):
            listed = ", ".join(f"`{f}`" for f in fields)
            out += [
                f"{MIXED_MARK} {arm}: {n_mixed} of {n} pairs ran different {listed} (ranked with --allow-mixed).",
                "",
            ]
        for n_test in _coarse_test_splits(rows):
            marks = f"{CHECK}\\{UNRESOLVED_MARK} / {CROSS}\\{UNRESOLVED_MARK}"
            out += [f"\\{UNRESOLVED_MARK} {_resolution_note(n_test)} ({marks}).", ""]
    out += _tuples_markdown(table)
    return "\n".join(out)


def _tuples_markdown(table: pd.DataFrame) -> list[str]:
    """The closing section: per arm, the share of task × scheduler tuples in which each criterion holds."""
    shares = across_tuples(table)
    if shares.empty:
        return []
    out = [
        "## Across tuples",
        "",
        f"Per arm, the share of its task × scheduler tuples in which each of the seed's criteria holds (the seed "
        f"asks for success in at least {TUPLE_SHARE:.0%}): speed = median T@τ ≥ {MIN_T_REDUCTION:.0%} lower; "
        f"p = p < {ALPHA} with the arm faster; accuracy = median Δ test acc ≥ −{MAX_TEST_DROP_PP} pp; "
        f"spread = SD of T@τ at most {MAX_SD_INFLATION:.1f}× none's; criterion = the first three together (✓).",
        "",
        "| arm | tuples | speed | p | accuracy | spread | criterion |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for _, r in shares.iterrows():
        cells = " | ".join(f"{r[k]:.0%}" for k in ("speed", "p", "accuracy", "spread", "criterion"))
        out.append(f"| {r['arm']} | {int(r['tuples'])} | {cells} |")
    return [*out, ""]


_TEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_TEX_SYMBOLS = {
    CHECK: r"$\checkmark$",
    CROSS: r"$\times$",
    DASH: "---",
    "τ": r"$\tau$",
    "Δ": r"$\Delta$",
    "×": r"$\times$",
    "∞": r"$\infty$",
    "−": "-",
}


def _tex(text: str) -> str:
    """Plain text (names, numbers, marks) as LaTeX: special characters escaped, symbols in math mode."""
    escaped = "".join(_TEX_SPECIAL.get(ch, ch) for ch in text)
    for symbol, replacement in _TEX_SYMBOLS.items():
        escaped = escaped.replace(symbol, replacement)
    return escaped


def _tex_signed(value: Any, fmt: str = "{:+.2f}") -> str:
    """A signed number in math mode, so that its minus is a minus and not a hyphen."""
    return "---" if _missing(value) else "$" + fmt.format(float(value) + 0.0) + "$"


def _tex_p(value: Any) -> str:
    if _missing(value):
        return "---"
    return "$<0.001$" if value < 0.001 else f"{value:.3f}"


def _tex_mark(row: pd.Series) -> str:
    symbol = {CHECK: r"\checkmark", CROSS: r"\times"}.get(str(row["success"]))
    if symbol is None:
        return _tex(str(row["success"]))
    return f"${symbol}^{{{UNRESOLVED_MARK}}}$" if _unresolved(row) else f"${symbol}$"


def _tex_arm(row: pd.Series) -> str:
    return _tex(str(row["arm"])) + (r"$^{\dagger}$" if _mixed(row) else "")


# Eleven columns, the paired statistics of a paper table; the CSV and Markdown have the rest.
_TEX_COLUMNS = (
    _Column("Arm", lambda r, u: _tex_arm(r)),
    _Column("$n$", lambda r, u: str(int(r["n"]))),
    _Column(r"$T_\tau$ ({unit}), median [IQR]", lambda r, u: _tex(_iqr(r, "T_tuner_s", u.seconds))),
    _Column("Not reached", lambda r, u: str(int(r["n_censored"]))),
    _Column("Speed-up [95\\,\\% CI]", lambda r, u: _tex(_speedup_cell(r))),
    _Column("$p$", lambda r, u: _tex_p(r["p_value"])),
    _Column(r"$p_{{\mathrm{{Holm}}}}$", lambda r, u: _tex_p(r["p_holm"])),
    _Column("Win rate", lambda r, u: _tex(_num(r["win_rate"], "{:.2f}"))),
    _Column(
        r"$\Delta$ test acc.\ (pp)", lambda r, u: "---" if _is_none_row(r) else _tex_signed(r["delta_test_acc_pp"])
    ),
    _Column("Criterion", lambda r, u: _tex_mark(r)),
    _Column("Verdict", lambda r, u: _tex(str(r["verdict"]))),
)


def _tex_code(name: str) -> str:
    return r"\texttt{" + _tex(name) + "}"


def _tex_label(*parts: str) -> str:
    return "tab:leaderboard-" + "-".join(re.sub(r"[^A-Za-z0-9]+", "-", p).strip("-").lower() for p in parts)


def _tex_caption(task: str, scheduler: str, rows: pd.DataFrame, unit: TimeUnit) -> str:
    taus = rows["target"].dropna().unique()
    tau = f"$\\tau = {taus[0]:g}$" if len(taus) == 1 else r"$\tau$"
    return (
        f"{_tex(task)} $\\times$ {_tex(scheduler)}: time $T_\\tau$ until the incumbent's validation accuracy "
        f"reaches {tau}, in tuner wall-clock {unit.long} (median [IQR] over seeds; a run that never reached "
        r"$\tau$ counts at its budget used). $n$: seeds paired with \emph{none}; speed-up: paired Hodges--Lehmann "
        r"estimate of $T_\tau^{\mathrm{none}} / T_\tau^{\mathrm{arm}}$ on $\log T_\tau$ with the 95\,\% interval "
        r"that inverts the signed-rank test; $p$: two-sided Wilcoxon signed-rank test, $p_{\mathrm{Holm}}$ "
        r"adjusted over every test of the leaderboard; "
        r"$\Delta$ test acc.: median paired change of the final incumbent's test accuracy. "
        f"$\\checkmark$: median $T_\\tau$ at least {MIN_T_REDUCTION * 100:.0f}\\,\\% lower, $p < {ALPHA}$ and "
        f"$\\Delta \\geq -{MAX_TEST_DROP_PP}$\\,pp. Verdict: success (criterion met), ruled out (the interval "
        f"excludes a {MIN_T_REDUCTION * 100:.0f}\\,\\% cut in $T_\\tau$), else inconclusive."
    )


def _latex(table: pd.DataFrame) -> str:
    out = [
        "% Generated by ohgw-bench leaderboard --format tex; regenerate rather than edit.",
        "% Needs \\usepackage{booktabs} (\\toprule, \\midrule, \\bottomrule) and \\usepackage{amssymb} (\\checkmark).",
    ]
    if bool(table["code_modified"].any()):
        out.append("% Code modified locally (code_version.modified): may not be reproducible from the commit.")
    for task, scheduler, rows in _groups(table):
        unit = _table_unit(rows)
        notes = [
            f"$^{{\\dagger}}${_tex(arm)}: {n_mixed} of {n} pairs ran different {', '.join(map(_tex_code, fields))}."
            for arm, n_mixed, n, fields in _mixed_notes(rows)
        ]
        notes += [f"$^{{{UNRESOLVED_MARK}}}${_tex(_resolution_note(n))}." for n in _coarse_test_splits(rows)]
        notes += [_tex(note) for note in (_table_note(rows), _detectable_note(rows), _spread_note(rows)) if note]
        out += [
            "",
            "\\begin{table}[htbp]",
            "\\centering",
            "\\small",
            f"\\caption{{{_tex_caption(task, scheduler, rows, unit)}}}",
            f"\\label{{{_tex_label(task, scheduler)}}}",
            "\\begin{tabular}{l" + "r" * (len(_TEX_COLUMNS) - 2) + "c}",
            "\\toprule",
            " & ".join(c.header.format(unit=unit.name) for c in _TEX_COLUMNS) + " \\\\",
            "\\midrule",
        ]
        out += [" & ".join(c.cell(r, unit) for c in _TEX_COLUMNS) + " \\\\" for _, r in rows.iterrows()]
        out += ["\\bottomrule", "\\end{tabular}"]
        if notes:
            out += ["", "\\smallskip", "\\footnotesize", *(f"{note}\\par" for note in notes)]
        out.append("\\end{table}")
    out += _tuples_latex(table)
    return "\n".join(out) + "\n"


def _tuples_latex(table: pd.DataFrame) -> list[str]:
    """The Markdown's *Across tuples* section as one more booktabs table."""
    shares = across_tuples(table)
    if shares.empty:
        return []
    caption = (
        "Share of each arm's task $\\times$ scheduler tuples in which each of the seed's criteria holds "
        f"(the seed asks for {TUPLE_SHARE * 100:.0f}\\,\\%): speed, median $T_\\tau$ at least "
        f"{MIN_T_REDUCTION * 100:.0f}\\,\\% lower; $p < {ALPHA}$ with the arm faster; accuracy, "
        f"$\\Delta \\geq -{MAX_TEST_DROP_PP}$\\,pp; spread, SD of $T_\\tau$ at most {MAX_SD_INFLATION:.1f}$\\times$ "
        "none's; criterion, the first three together."
    )
    out = ["", "\\begin{table}[htbp]", "\\centering", "\\small", f"\\caption{{{caption}}}"]
    out += ["\\label{tab:leaderboard-across-tuples}", "\\begin{tabular}{lrrrrrr}", "\\toprule"]
    out.append("Arm & Tuples & Speed & $p$ & Accuracy & Spread & Criterion \\\\")
    out.append("\\midrule")
    for _, r in shares.iterrows():
        cells = " & ".join(f"{r[k] * 100:.0f}\\,\\%" for k in ("speed", "p", "accuracy", "spread", "criterion"))
        out.append(f"{_tex(str(r['arm']))} & {int(r['tuples'])} & {cells} \\\\")
    return [*out, "\\bottomrule", "\\end{tabular}", "\\end{table}"]


def render(table: pd.DataFrame, fmt: str = "md") -> str:
    """The leaderboard as text: ``md`` (heading per task × scheduler), ``csv`` (flat, raw
    numbers, every column, times in seconds) or ``tex`` (a booktabs ``table`` per task × scheduler)."""
    if fmt == "csv":
        return table.to_csv(index=False)
    if fmt == "md":
        return _markdown(table)
    if fmt == "tex":
        return _latex(table)
    raise ValueError(f"unknown leaderboard format {fmt!r}: use md, csv or tex")
