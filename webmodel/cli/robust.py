"""``webmodel robust``: the Pareto front of lever cost against robustness, per wiring."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from webmodel.cli.argtypes import bounded

_workers = bounded(int, 0, None, "an integer >= 0 (0 runs in this process)")
_count = bounded(int, 2, 1000, "an integer in [2, 1000]")


def cmd_robust(args: argparse.Namespace) -> int:
    from webmodel.analysis.robust import robust_settings, search_robust, write_robust
    from webmodel.analysis.sweep import load_experiment
    from webmodel.io.output import check_writable

    experiment = load_experiment(args.experiment)
    settings = robust_settings(
        experiment, generations=args.generations, population=args.population
    )  # every field checked before any run
    out = Path(args.out) if args.out else Path("results") / experiment.name
    check_writable(out / "robust.md", "--out")
    wirings = next((f.levels for f in experiment.factors if f.name == "topology"), None) or [1]
    most = len(wirings) * settings.generations * settings.population * experiment.design.samples
    print(
        f"webmodel robust: {experiment.name}: {len(wirings)} wiring(s) x {settings.generations} "
        f"generations x {settings.population} candidates x {experiment.design.samples} futures "
        f"x {experiment.replicates} replicate(s) = at most {most * experiment.replicates:,} "
        f"runs -> {out}",
        file=sys.stderr,
    )
    log = (lambda m: None) if args.quiet else (lambda m: print(m, file=sys.stderr))
    result = search_robust(
        experiment, out, workers=args.workers, dask=args.dask, dask_local=args.dask_local,
        log=log, generations=args.generations, population=args.population,
    )  # fmt: skip
    path = write_robust(result, out)
    share = result.outside_share
    print(
        f"webmodel robust: {result.runs} runs in {result.loop_seconds:.1f} s "
        f"({result.rate:.1f} runs/s on {result.workers})"
        + (f", {share:.1%} of the time outside the model runs" if share is not None else ""),
        file=sys.stderr,
    )
    for wiring in result.wirings:
        pick = result.cheapest_within(wiring)
        if pick is not None:
            levers = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                               for k, v in pick.levers.items())  # fmt: skip
            print(
                f"  {wiring}: cheapest within {settings.within:.0%} of the best: "
                f"${pick.cost:,.0f}M ({levers})",
                file=sys.stderr,
            )
    print(path)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the robust command to the CLI."""
    p = sub.add_parser(
        "robust",
        help="search lever portfolios for the front of cost vs robustness, per wiring",
        description="NSGA-II (platypus) over an experiment file's levers: each candidate runs in "
        "every future (a Latin hypercube of its uncertainties) through the sweep executors; "
        "writes front.parquet, evaluated.parquet, front.svg/png and robust.md. Run it again "
        "after an interruption to resume. Costs come from the scenario's [costs] "
        "(illustrative defaults). See docs/discovery.md.",
    )
    p.add_argument("experiment", metavar="EXPERIMENT.toml", help="the experiment file")
    p.add_argument("--out", metavar="DIR", help="results folder (default results/<name>)")
    p.add_argument(
        "--workers", type=_workers, metavar="N", help="worker processes (default: one per CPU)"
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument("--dask", metavar="ADDRESS", help="a Dask scheduler's address")
    where.add_argument("--dask-local", action="store_true", help="a Dask LocalCluster here")
    p.add_argument("--generations", type=_count, metavar="G", help="default: the file's [robust]")
    p.add_argument("--population", type=_count, metavar="P", help="default: the file's [robust]")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=cmd_robust)
