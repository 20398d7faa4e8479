"""``webmodel sweep`` and ``webmodel report``: the command-line face of sweeps.

Exit status of ``sweep``: 0 every run succeeded; 1 some runs failed (recorded with their errors);
2 the experiment file or an option is wrong, or the results folder is refused (another sweep's,
changed inputs, locked by a running sweep; nothing was written); 3 the results cannot be
written (unwritable folder, full disk) or read back whole; 130 interrupted (finished chunks are
kept: run the same command again to resume).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from webmodel.cli.argtypes import bounded
from webmodel.coalition.budget import add_budget_option

EXIT_RUNS_FAILED = 1
EXIT_INTERRUPTED = 130


_workers = bounded(int, 0, None, "an integer >= 0 (0 runs in this process)")
_positive = bounded(int, 1, None, "an integer >= 1")
_seconds = bounded(float, 0, None, "a number of seconds >= 0")


def cmd_sweep(args: argparse.Namespace) -> int:
    from webmodel.analysis.sweep.executor import open_workers, workers_for
    from webmodel.analysis.sweep.experiment import load_experiment
    from webmodel.analysis.sweep.lock import sweep_lock
    from webmodel.analysis.sweep.plan import build_plan
    from webmodel.analysis.sweep.scheduler import run_sweep
    from webmodel.analysis.sweep.store import MANIFEST, ResultStore
    from webmodel.io.output import check_writable

    experiment = load_experiment(args.experiment)
    plan = build_plan(experiment, allow_large=args.allow_large)
    out = Path(args.out) if args.out else Path("results") / experiment.name
    store = ResultStore(out, plan)
    resumable = False
    if args.fresh:
        store.check_resumable_folder()
    else:
        resumable = store.check_resumable()
    for message in plan.warnings:
        print(f"webmodel sweep: warning: {message}", file=sys.stderr)
    points, runs = plan.n_points, plan.n_runs
    crossed = ""
    if experiment.design.crossed:
        from webmodel.analysis.sweep.design import count_samples

        levels = " x ".join(
            f"{len(f.levels or ())} levels of {f.name}" for f in experiment.crossed_factors
        )
        crossed = f"{count_samples(experiment)} samples x {levels} = "
    print(
        f"webmodel sweep: {experiment.name}: {experiment.design.kind} design, {crossed}"
        f"{points} point"
        f"{'s' if points != 1 else ''} x {experiment.replicates} replicate"
        f"{'s' if experiment.replicates != 1 else ''} = {runs} run{'s' if runs != 1 else ''}"
        f" (about {plan.run_seconds:.2f} s each) -> {out}" + (" (resuming)" if resumable else ""),
        file=sys.stderr,
    )
    if args.dry_run:
        return 0
    check_writable(out / MANIFEST, "--out")
    progress = {"quiet": args.quiet, "every": args.progress_every}
    count = args.workers
    if not (args.dask or args.dask_local):  # a small sweep runs here: workers cost more
        count = workers_for(plan.run_cpu_seconds * runs, runs, args.workers)
        if count == 0 and args.workers is None:
            print(
                f"webmodel sweep: about {plan.run_cpu_seconds * runs:.1f} s of runs: running them "
                "in this process, since starting workers would cost more (--workers N to use N)",
                file=sys.stderr,
            )
    # The lock is taken before the workers start, so that a second writer stops at once.
    with sweep_lock(out), open_workers(count, args.dask, args.dask_local) as workers:
        summary = run_sweep(
            plan,
            out,
            workers,
            chunk_size=args.chunk_size,
            progress=progress,
            fresh=args.fresh,
            cache=not args.no_cache,
        )
    overhead = summary.overhead
    print(
        f"webmodel sweep: {summary.ran} runs in {summary.elapsed:.2f} s "
        f"({summary.rate:.1f} runs/s) on {summary.workers}; summed run time "
        f"{summary.run_seconds:.2f} s"
        + (f", overhead {overhead:+.0%}" if overhead is not None else ""),
        file=sys.stderr,
    )
    if summary.interrupted:
        print(
            f"webmodel sweep: interrupted with {summary.done} of {summary.n_runs} runs recorded; "
            "run the same command again to resume",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    print(
        f"webmodel sweep: {summary.done} runs, {summary.failed} failed: results in {out}",
        file=sys.stderr,
    )
    if summary.failed:
        _show_failures(out, experiment.name)
        return EXIT_RUNS_FAILED
    return 0


def _show_failures(out: Path, name: str, limit: int = 5) -> None:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    runs = pq.ParquetFile(out / "runs" / f"experiment={name}" / "data.parquet").read(
        columns=["run_id", "seed", "status", "error"]
    )
    failed = runs.filter(pc.equal(runs["status"], "failed"))
    for row in failed.slice(0, limit).to_pylist():
        first_line = (row["error"] or "").splitlines()[0] if row["error"] else ""
        print(f"  run {row['run_id']} (seed {row['seed']}): {first_line}", file=sys.stderr)
    if failed.num_rows > limit:
        print(f"  ... and {failed.num_rows - limit} more (see the runs table)", file=sys.stderr)


def cmd_report(args: argparse.Namespace) -> int:
    from webmodel.analysis.report import write_report

    formats = tuple(f.strip() for f in args.formats.split(",") if f.strip())
    heatmap = tuple(args.heatmap.split(",")) if args.heatmap else None
    path = write_report(
        args.results, out=args.out, formats=formats, heatmap=heatmap, metrics=args.metrics
    )
    print(f"webmodel report: wrote {path}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the sweep and report commands to the CLI."""
    sweep = sub.add_parser(
        "sweep",
        help="run an experiment file's sweep (resumable; local processes or Dask)",
        description="Run every run of an experiment file and write tidy Parquet results. "
        "Run it again after an interruption to resume. Exit status: 0 all runs ok, 1 some runs "
        "failed, 2 bad experiment file or option or a refused results folder, 3 results cannot "
        "be written, 130 interrupted. See docs/sweeps.md.",
    )
    sweep.add_argument("experiment", metavar="EXPERIMENT.toml", help="the experiment file")
    sweep.add_argument(
        "--workers",
        type=_workers,
        metavar="N",
        help="worker processes (default: one per CPU, or this process for a sweep of a few "
        "seconds; 0 = in this process, for debugging)",
    )
    sweep.add_argument(
        "--out", metavar="DIR", help="results folder (default results/<experiment name>)"
    )
    where = sweep.add_mutually_exclusive_group()
    where.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="run on the Dask cluster whose scheduler is at ADDRESS (e.g. tcp://host:8786)",
    )
    where.add_argument(
        "--dask-local",
        action="store_true",
        help="run on a Dask LocalCluster on this machine (--workers processes)",
    )
    sweep.add_argument(
        "--chunk-size",
        type=_positive,
        metavar="N",
        help="runs per task (default: chosen for about 2 s of work per task)",
    )
    sweep.add_argument(
        "--dry-run", action="store_true", help="check the experiment and show the plan; run nothing"
    )
    sweep.add_argument(
        "--fresh",
        action="store_true",
        help="remove what an earlier sweep wrote in the results folder and start over",
    )
    sweep.add_argument(
        "--no-cache",
        action="store_true",
        help="build every run's wiring and betweenness afresh (the results are the same; "
        "by default each worker reuses them across its runs)",
    )
    add_budget_option(sweep)
    sweep.add_argument("--quiet", action="store_true", help="no progress output")
    sweep.add_argument(
        "--progress-every",
        type=_seconds,
        default=10.0,
        metavar="S",
        help="seconds between progress lines when not on a terminal (default 10)",
    )
    sweep.set_defaults(func=cmd_sweep)

    report = sub.add_parser(
        "report",
        help="write a Markdown report with tables and figures from a sweep's results",
        description="Summarise a sweep's results: each metric per factor level with its 95% "
        "interval inside the metric's bounds (bootstrap for shares, the median of the runs "
        "that reach it for a time to reach a level), paired differences between topologies "
        "on common seeds with effect sizes and Benjamini-Hochberg control within a stated "
        "family, series with interval bands, metric distributions, a heatmap; Markdown plus "
        "PNG/SVG figures.",
    )
    report.add_argument("results", metavar="RESULTS_DIR", help="a sweep's results folder")
    report.add_argument("--out", metavar="DIR", help="where to write (default RESULTS_DIR/report)")
    report.add_argument(
        "--formats",
        default="png,svg",
        metavar="LIST",
        help="figure formats, comma-separated: png, svg, pdf (default png,svg)",
    )
    report.add_argument(
        "--heatmap",
        metavar="METRIC,FACTOR_X,FACTOR_Y",
        help="the heatmap's metric and factors (default: the first metric over the first two "
        "factors)",
    )
    report.add_argument(
        "--metrics",
        nargs="+",
        metavar="NAME",
        help="metrics to tabulate and plot (default: every per-run metric, not the totals)",
    )
    report.set_defaults(func=cmd_report)
