"""Read run folders back as pandas tables: one row per event, or one row per run.

Everything here is *derived* from the trajectory files (see ``trajectory.py``); nothing is
stored by hand. Two entry points:

* :func:`load_results` — one row per reported epoch with the run keys as columns and the
  derived incumbent curve (``best_val_acc_so_far``, ``incumbent_test_acc``) and
  ``device_seconds`` (= ``tuner_seconds`` × ``workers``).
* :func:`summarize_runs` — one row per run: time to target T@τ in the three clocks
  (censored when τ is never reached), AUC of the incumbent curve, accuracies, warm-start
  overhead shares, peak-memory ratio and mean |Δψ| per search-space dimension.

Both carry what the run ran on, copied from ``meta.json`` so that a leaderboard can refuse to
pair runs of different code, packages or hardware: ``code_version`` and ``versions`` (JSON
text, like ``warm_start_params``; None when the run did not record them), ``device`` and
``n_test`` (test-split size from ``data_info``; NaN when unknown).

Incomplete runs
    A run is *complete* when ``meta.json`` says ``status == "complete"`` and neither
    ``trials.jsonl`` nor ``events.jsonl`` ends in a truncated line. Every other run
    (``running``, ``failed``, or a truncated file) is reported with an
    :class:`IncompleteRunWarning` (``warnings.warn``) and listed in
    ``df.attrs["incomplete_runs"]`` (a list of ``{"run_dir", "status", "truncated",
    "reason"}`` dicts). It is left out of the result unless ``include_incomplete=True``.
    A ``complete`` meta.json beside missing trajectory files holds no data at all: it is
    reported the same way and always left out.

Incumbent
    The incumbent after event *i* is the event with the highest ``val_acc`` among events
    0..i in arrival order; a later event only replaces it when it is *strictly* better
    (ties keep the earlier incumbent). NaN ``val_acc`` never becomes incumbent. The test
    accuracy of the incumbent is reported alongside; test accuracy is never used to pick.

Accuracies are fractions in [0, 1], as written by the trial.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ohgw_bench.core.records import RunStatus
from ohgw_bench.core.run_meta import SCHEMA_VERSION, RunMeta
from ohgw_bench.core.trajectory import MissingTrajectory, Trajectory, find_runs

__all__ = [
    "CLOCKS",
    "IncompleteRunWarning",
    "PROVENANCE_COLUMNS",
    "RUN_KEYS",
    "load_results",
    "read_runs",
    "summarize_runs",
    "summarize_trajectory",
]

#: Run keys copied from ``meta.json`` onto every event row (plus ``run_dir``).
RUN_KEYS = ("task", "optimizer", "scheduler", "warm_start", "warm_start_label", "seed", "status", "workers", "target")

#: What the run ran on (see ``_run_columns``): the leaderboard checks pairs against these.
PROVENANCE_COLUMNS = ("code_version", "versions", "device", "clock_source", "table_resample", "n_test")

#: The three clocks: summary column suffix → event column holding the running total.
CLOCKS = {"tuner_seconds": "tuner_seconds", "device_seconds": "device_seconds", "epochs": "epochs_total"}

_EVENT_COLUMNS = (
    "trial_id",
    "epoch",
    "val_acc",
    "val_loss",
    "test_acc",
    "train_loss",
    "tuner_seconds",
    "trial_seconds",
    "epochs_total",
    "flops_total",
    "warm_start_flops_total",
    "warm_start_seconds_total",
)


class IncompleteRunWarning(UserWarning):
    """A run folder that is still running, failed, or has a truncated file."""


# --------------------------------------------------------------------------- reading


def _incomplete_reason(traj: Trajectory) -> str | None:
    status = traj.meta.status.value
    reasons = []
    if status != RunStatus.COMPLETE:
        reasons.append(f"status is {status!r}")
    if traj.truncated:
        reasons.append("a truncated last line was dropped")
    return "; ".join(reasons) or None


def read_runs(path: Path | str, include_incomplete: bool = False) -> tuple[list[Trajectory], list[dict[str, Any]]]:
    """Read every run folder under ``path``.

    Returns ``(kept, incomplete)``: the trajectories to use and one dict per incomplete run
    (kept too when ``include_incomplete``). Warns once per incomplete run.
    Raises ``FileNotFoundError`` when ``path`` holds no run at all and ``ValueError`` when
    two folders hold the same (task, optimizer, seed) on the same clock source (replays of
    different tables, or of a table's resamples, are different runs).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    directories = list(find_runs(path))
    if not directories:
        raise FileNotFoundError(f"{path} holds no run folder (no meta.json below it)")
    kept: list[Trajectory] = []
    incomplete: list[dict[str, Any]] = []
    seen: dict[tuple[Any, Any, Any, Any], Path] = {}
    for directory in directories:
        try:
            traj = Trajectory.read(directory)
        except MissingTrajectory as err:  # no data to rank, even with include_incomplete: reported and left out
            warnings.warn(f"incomplete run {directory}: {err}; excluded", IncompleteRunWarning, stacklevel=3)
            incomplete.append({"run_dir": str(directory), "status": "complete", "truncated": False, "reason": str(err)})
            continue
        key = (traj.meta.task, traj.meta.optimizer, traj.meta.seed, traj.meta.clock_source)
        if key in seen:
            raise ValueError(
                f"two run folders for task={key[0]!r} optimizer={key[1]!r} seed={key[2]!r} "
                f"(clock {key[3]}): {seen[key]} and {directory}"
            )
        seen[key] = directory
        reason = _incomplete_reason(traj)
        if reason is not None:
            action = "included (include_incomplete=True)" if include_incomplete else "excluded"
            warnings.warn(f"incomplete run {directory}: {reason}; {action}", IncompleteRunWarning, stacklevel=3)
            incomplete.append(
                {
                    "run_dir": str(directory),
                    "status": traj.meta.status.value,
                    "truncated": traj.truncated,
                    "reason": reason,
                }
            )
            if not include_incomplete:
                continue
        kept.append(traj)
    return kept, incomplete


def _scheduler_key(meta: RunMeta) -> str:
    """The optimizer name without its warm-start part, e.g. ``asha(reduction_factor=2)``.

    Arms are paired with the ``none`` arm of the *same* scheduler key, so scheduler
    parameters never get mixed up across arms.
    """
    from ohgw_bench.core.names import scheduler_key

    return scheduler_key(meta.optimizer) if meta.optimizer else meta.scheduler


def _run_columns(traj: Trajectory) -> dict[str, Any]:
    meta = traj.meta
    budget = meta.budget
    columns: dict[str, Any] = {key: getattr(meta, key) for key in RUN_KEYS}
    columns["status"] = meta.status.value
    columns["warm_start_label"] = meta.warm_start_label or meta.warm_start  # runs written before labels existed
    columns["workers"] = int(meta.workers or 1)
    columns["target"] = float(meta.target) if meta.target is not None else math.nan
    columns["scheduler_key"] = _scheduler_key(meta)
    columns["run_dir"] = str(traj.directory)
    columns["budget_amount"] = float(budget["amount"]) if budget.get("amount") is not None else math.nan
    columns["budget_clock"] = budget.get("clock")
    columns["truncated"] = traj.truncated
    params = meta.warm_start_params
    # eta_h of the warm start, its default included (``warm_start_settings``); runs written before that
    # field existed give it only when the name set it (NaN otherwise: defaults are not guessed).
    eta = (meta.warm_start_settings or params).get("eta")
    columns["eta"] = float(eta) if isinstance(eta, (int, float)) and not isinstance(eta, bool) else math.nan
    columns["warm_start_params"] = json.dumps(params, sort_keys=True, default=str)
    columns.update(_provenance(meta))
    return columns


def _provenance(meta: RunMeta) -> dict[str, Any]:
    """The ``PROVENANCE_COLUMNS`` of one run; nested records as JSON text so columns stay hashable."""
    code, versions = meta.code_version, meta.versions or None
    n_test = (meta.data_info or {}).get("n_test")
    return {
        "code_version": json.dumps(code, sort_keys=True) if code is not None else None,
        "versions": json.dumps(versions, sort_keys=True) if versions is not None else None,
        "device": meta.device,
        # "real", or "table <sha256>" for a replay; runs written before replays existed were real
        "clock_source": meta.clock_source,
        # the bootstrap resample of the table a replay ran on (--table-resample); NaN: the table itself
        "table_resample": float(resample)
        if isinstance(resample := (meta.table or {}).get("resample"), int)
        else math.nan,
        "n_test": float(n_test) if isinstance(n_test, (int, float)) and not isinstance(n_test, bool) else math.nan,
    }


def _events_frame(traj: Trajectory) -> pd.DataFrame:
    """The events of one run with the derived columns, in arrival order."""
    events = (
        pd.DataFrame(traj.events, columns=list(_EVENT_COLUMNS))
        if traj.events
        else pd.DataFrame({c: pd.Series(dtype=float) for c in _EVENT_COLUMNS})
    )
    for column in _EVENT_COLUMNS:
        if column not in events:
            events[column] = math.nan
    events = events[list(_EVENT_COLUMNS)].astype({c: float for c in _EVENT_COLUMNS if c not in ("trial_id", "epoch")})
    run = _run_columns(traj)
    events.insert(0, "event_index", np.arange(len(events), dtype=int))
    events["device_seconds"] = events["tuner_seconds"] * run["workers"]
    best, incumbent_test, incumbent_trial = _incumbent_curve(
        events["val_acc"].to_numpy(float), events["test_acc"].to_numpy(float), events["trial_id"].to_numpy()
    )
    events["best_val_acc_so_far"] = best
    events["incumbent_test_acc"] = incumbent_test
    events["incumbent_trial_id"] = incumbent_trial
    # the run's columns first, added at once (a column insert per key made this most of a summary's time)
    run_columns = pd.DataFrame({key: [value] * len(events) for key, value in run.items()}, index=events.index)
    return pd.concat([run_columns, events], axis=1)


def _incumbent_curve(val: np.ndarray, test: np.ndarray, trial: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[Any]]:
    best = np.full(len(val), math.nan)
    inc_test = np.full(len(val), math.nan)
    inc_trial: list[Any] = [None] * len(val)
    current, current_test, current_trial = -math.inf, math.nan, None
    for i, value in enumerate(val):
        if not math.isnan(value) and value > current:  # strictly better replaces
            current, current_test, current_trial = value, test[i], trial[i]
        if current > -math.inf:
            best[i], inc_test[i], inc_trial[i] = current, current_test, current_trial
    return best, inc_test, inc_trial


def load_results(path: Path | str, include_incomplete: bool = False) -> pd.DataFrame:
    """Every event under ``path`` as one DataFrame (one row per reported epoch).

    Columns: the run keys (``task, optimizer, scheduler, warm_start, warm_start_label,
    seed, status, workers, target``), ``scheduler_key`` (optimizer name without the warm
    start), ``run_dir``, ``budget_amount``, ``budget_clock``, ``truncated``,
    ``warm_start_params`` (JSON text), ``eta`` (η_h with its default filled in; NaN without one),
    ``code_version`` and ``versions`` (meta.json's records as JSON text; None when absent),
    ``device``, ``n_test`` (test-split size; NaN when unknown),
    ``event_index`` (arrival order within the run), the event fields, and the derived
    ``device_seconds``, ``best_val_acc_so_far``, ``incumbent_test_acc`` and
    ``incumbent_trial_id``.

    Incomplete runs (not ``complete`` or truncated) are warned about
    (:class:`IncompleteRunWarning`), listed in ``df.attrs["incomplete_runs"]`` and
    excluded unless ``include_incomplete``.
    """
    runs, incomplete = read_runs(path, include_incomplete=include_incomplete)
    frames = [_events_frame(traj) for traj in runs]
    if frames:
        df = pd.concat(frames, ignore_index=True)
    else:
        empty = RunMeta(SCHEMA_VERSION, task="", optimizer="", seed=0, status=RunStatus.COMPLETE, budget={})
        df = _events_frame(Trajectory(Path("."), empty, [], [], False)).iloc[0:0]
    df.attrs["incomplete_runs"] = incomplete
    return df


# --------------------------------------------------------------------------- per run


def _first_crossing(events: pd.DataFrame, target: float) -> dict[str, float]:
    """T@τ in each clock: the clock value at the first event whose incumbent reaches τ.

    The clocks are running totals, so in arrival order the first crossing event is also the
    earliest in every clock; taking the minimum over crossing events keeps this true even
    if a writer ever reported totals slightly out of order.
    """
    out = {name: math.nan for name in CLOCKS}
    if math.isnan(target) or events.empty:
        return out
    reached = events["best_val_acc_so_far"].to_numpy(float) >= target
    if not reached.any():
        return out
    first = int(np.argmax(reached))
    for name, column in CLOCKS.items():
        values = events[column].to_numpy(float)[first:]
        out[name] = float(np.nanmin(values)) if np.isfinite(values).any() else math.nan
    return out


def _auc(events: pd.DataFrame) -> float:
    """Area under the incumbent curve over tuner time, divided by the time span.

    The incumbent is a step function of tuner time: 0 before the first report, then
    ``best_val_acc_so_far`` from each event until the next. The span is [0, last event's
    tuner_seconds], so the AUC is a time-averaged accuracy in [0, 1] that also charges the
    time before the first report (warm-start overhead included). A run whose only reports
    happen at time 0 gets its final incumbent value.
    """
    if events.empty:
        return math.nan
    t = events["tuner_seconds"].to_numpy(float)
    y = np.nan_to_num(events["best_val_acc_so_far"].to_numpy(float), nan=0.0)
    order = np.argsort(t, kind="stable")
    t, y = t[order], np.maximum.accumulate(y[order])
    span = t[-1]
    if not np.isfinite(span) or span <= 0:
        return float(y[-1])
    return float(np.sum(y[:-1] * np.diff(t)) / span)


def trial_dpsi(trial: dict[str, Any]) -> dict[str, float]:
    """Δψ = config_used − config_sampled of one trial record, per numeric dimension."""
    sampled, used = trial.get("config_sampled") or {}, trial.get("config_used") or {}
    dpsi = {}
    for dim, value in sampled.items():
        other = used.get(dim)
        if isinstance(value, bool) or isinstance(other, bool):
            continue
        if isinstance(value, (int, float)) and isinstance(other, (int, float)):
            dpsi[dim] = float(other) - float(value)
    return dpsi


def _trial_stats(trials: Iterable[dict[str, Any]], memory_measured: bool = True) -> dict[str, Any]:
    ratios = []
    deltas: dict[str, list[float]] = {}
    n = diverged = 0
    for trial in trials:
        n += 1
        diverged += trial.get("status") == "diverged"
        ws = trial.get("warm_start") or {}
        peak, train_peak = ws.get("peak_mem_bytes"), ws.get("train_step_peak_mem_bytes")
        if peak is not None and train_peak and ws.get("flops"):  # a warm start that computed nothing has no ratio
            ratios.append(float(peak) / float(train_peak))
        for dim, delta in trial_dpsi(trial).items():
            deltas.setdefault(dim, []).append(delta)
    stats: dict[str, Any] = {
        "n_trials": n,
        "n_diverged": diverged,
        "peak_mem_ratio": max(ratios) if ratios and memory_measured else math.nan,
    }
    for dim in sorted(deltas):
        stats[f"mean_abs_dpsi_{dim}"] = float(np.mean(np.abs(deltas[dim])))
    return stats


def summarize_trajectory(
    run: dict[str, Any], events: pd.DataFrame, trials: list[dict[str, Any]] | None, target: float | None = None
) -> dict[str, Any]:
    """One run's summary row. ``run`` holds the run columns, ``events`` its derived events.

    See :func:`summarize_runs` for the columns.
    """
    tau = float(target) if target is not None else float(run.get("target", math.nan))
    row = dict(run)
    row["target"] = tau
    row["n_events"] = len(events)
    crossing = _first_crossing(events, tau)
    row["reached"] = bool(np.isfinite(crossing["tuner_seconds"]))
    last = events.iloc[-1] if len(events) else None
    for name, column in CLOCKS.items():
        used = float(events[column].max()) if len(events) else 0.0
        if math.isnan(used):
            used = 0.0
        budget_here = _budget_in_clock(run, name)
        row[f"used_{name}"] = used
        row[f"T_{name}"] = crossing[name]
        # Censored at the budget: a run that never reached τ counts as the larger of the
        # budget (in this clock, when the budget was given in it) and what it used.
        row[f"T_{name}_cens"] = crossing[name] if row["reached"] else max(used, budget_here)
    row["auc"] = _auc(events)
    row["best_val_acc"] = float(events["val_acc"].max()) if len(events) else math.nan
    row["incumbent_test_acc"] = float(last["incumbent_test_acc"]) if last is not None else math.nan
    if row["reached"]:
        first = int(np.argmax(events["best_val_acc_so_far"].to_numpy(float) >= tau))
        row["test_acc_at_tau"] = float(events["incumbent_test_acc"].iloc[first])
    else:
        row["test_acc_at_tau"] = math.nan
    if last is not None and last["incumbent_trial_id"] is not None:
        of_incumbent = events[events["trial_id"] == last["incumbent_trial_id"]]
        row["final_test_acc"] = float(of_incumbent["test_acc"].iloc[-1])
    else:
        row["final_test_acc"] = math.nan
    if last is not None:
        device = float(last["tuner_seconds"]) * float(run.get("workers", 1))
        flops = float(last["flops_total"])
        row["ws_compute_share"] = float(last["warm_start_seconds_total"]) / device if device > 0 else math.nan
        row["ws_flops_share"] = float(last["warm_start_flops_total"]) / flops if flops > 0 else math.nan
    else:
        row["ws_compute_share"] = row["ws_flops_share"] = math.nan
    if trials is None:
        row.update({"n_trials": math.nan, "peak_mem_ratio": math.nan})
    else:
        # on the CPU the recorded peak is resident-memory growth of a warm process, not the warm start's memory
        row.update(_trial_stats(trials, memory_measured=not str(run.get("device") or "").startswith("cpu")))
        row.update(_incumbent_config(trials, last["incumbent_trial_id"] if last is not None else None))
    return row


def _incumbent_config(trials: list[dict[str, Any]], incumbent: Any) -> dict[str, float]:
    """``incumbent_<dim>``: the configuration (after its warm start) of the run's final incumbent."""
    for trial in trials:
        if incumbent is not None and trial.get("trial_id") == incumbent:
            return {f"incumbent_{k}": float(v) for k, v in (trial.get("config_used") or {}).items()}
    return {}


def _budget_in_clock(run: dict[str, Any], clock: str) -> float:
    """The run's budget in ``clock`` (see :meth:`Budget.in_clock`); 0 where it has none there."""
    from ohgw_bench.core.budget import Budget

    amount, budget_clock = run.get("budget_amount", math.nan), run.get("budget_clock")
    if amount is None or (isinstance(amount, float) and math.isnan(amount)) or budget_clock is None:
        return 0.0
    return Budget(float(amount), budget_clock).in_clock(clock, int(run.get("workers", 1))) or 0.0


def summarize_runs(
    df_or_path: pd.DataFrame | Path | str, target: float | None = None, include_incomplete: bool = False
) -> pd.DataFrame:
    """One row per run.

    ``df_or_path`` is a results root / run folder (read with :func:`read_runs`, so runs
    without any event are kept too) or a DataFrame from :func:`load_results` (trials are
    then read from each ``run_dir`` when it still exists). ``target`` overrides every run's
    τ (default: ``meta.json``'s ``target``).

    Columns: the run columns of :func:`load_results`, ``n_events``, ``n_trials``, ``n_diverged``,
    ``reached`` (τ reached), and for each clock ``c`` in tuner_seconds / device_seconds /
    epochs: ``T_c`` (T@τ, the clock at the FIRST event whose incumbent val_acc ≥ τ; NaN
    when not reached), ``used_c`` (the run's final total), ``T_c_cens`` (= ``T_c`` when
    reached, else the budget used: max(final total, budget amount when the budget was given
    in that clock)); ``auc`` (see :func:`_auc`), ``best_val_acc``, ``incumbent_test_acc``
    (test acc of the end-of-run incumbent, the "final incumbent"), ``test_acc_at_tau``
    (incumbent's test acc at the crossing), ``final_test_acc`` (test acc at the incumbent
    trial's last reported epoch), ``ws_compute_share`` (warm_start_seconds_total /
    (tuner_seconds × workers) at the last event), ``ws_flops_share``
    (warm_start_flops_total / flops_total), ``peak_mem_ratio`` (max over trials of
    warm_start.peak_mem_bytes / train_step_peak_mem_bytes; NaN on the CPU), ``incumbent_<dim>``
    (the final incumbent's configuration after its warm start) and ``mean_abs_dpsi_<dim>``
    (mean over trials of |config_used − config_sampled| per numeric dimension).
    """
    rows = []
    if isinstance(df_or_path, pd.DataFrame):
        df = df_or_path
        run_columns = [
            c
            for c in df.columns
            if c
            in (
                *RUN_KEYS,
                "scheduler_key",
                "run_dir",
                "budget_amount",
                "budget_clock",
                "truncated",
                "eta",
                "warm_start_params",
                *PROVENANCE_COLUMNS,
            )
        ]
        for run_dir, events in df.groupby("run_dir", sort=True):
            events = events.sort_values("event_index", kind="stable") if "event_index" in events else events
            run = events.iloc[0][run_columns].to_dict()
            trials = _read_trials(Path(str(run_dir)))
            rows.append(summarize_trajectory(run, events.reset_index(drop=True), trials, target))
    else:
        runs, _ = read_runs(df_or_path, include_incomplete=include_incomplete)
        for traj in runs:
            rows.append(summarize_trajectory(_run_columns(traj), _events_frame(traj), traj.trials, target))
    summary = pd.DataFrame(rows)
    if not summary.empty:
        summary = summary.sort_values(["task", "scheduler_key", "warm_start_label", "seed"], kind="stable")
    return summary.reset_index(drop=True)


def _read_trials(directory: Path) -> list[dict[str, Any]] | None:
    if not (directory / "meta.json").exists():
        return None
    return Trajectory.read(directory).trials
