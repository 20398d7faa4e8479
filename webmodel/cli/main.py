"""``webmodel``: the command line.

Every command validates its inputs (scenario file, options) before doing any work; a bad input
prints what is wrong, naming the field, and exits with status 2. An output that cannot be
written (no such folder, no permission, a full disk) exits with status 3, checked before the
work where it can be (``run --series``).
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from webmodel.cli.argtypes import non_negative_float, non_negative_int, positive_int, unit_float
from webmodel.coalition.budget import add_budget_option
from webmodel.coalition.scenario import Scenario, ScenarioError, load_scenario
from webmodel.coalition.topology import TOPOLOGIES

EXIT_BAD_INPUT = 2
EXIT_OUTPUT = 3


class InputError(Exception):
    """A command-line input is wrong; the message says which and why."""


# --- helpers ----------------------------------------------------------------------------------


def _disruption(text: str):
    from webmodel.coalition.disruptions import DisruptionError, parse_disruption

    try:
        return parse_disruption(text)
    except DisruptionError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _add_scenario_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--scenario",
        metavar="FILE",
        help="scenario TOML file, or a built-in one by name: default, us_155mm (default: default)",
    )
    p.add_argument(
        "--firms",
        type=positive_int,
        metavar="N",
        help="scale the scenario to about N firms, same proportions",
    )
    p.add_argument("--seed", type=int, default=1, metavar="S", help="random seed (default 1)")


def _add_run_options(p: argparse.ArgumentParser, steps: int, surge: float) -> None:
    p.add_argument(
        "--steps",
        type=positive_int,
        default=steps,
        metavar="N",
        help=f"weeks to simulate (default {steps})",
    )
    p.add_argument(
        "--surge",
        type=non_negative_float,
        default=surge,
        metavar="FACTOR",
        help=f"factor on final demand from --surge-start on (default {surge:g})",
    )
    p.add_argument(
        "--surge-start",
        type=positive_int,
        default=10,
        metavar="STEP",
        help="first week of surged demand (default 10)",
    )
    p.add_argument(
        "--rationing",
        choices=("proportional", "priority"),
        help="how a short supplier shares output (default: the scenario's)",
    )
    p.add_argument(
        "--disrupt",
        action="append",
        default=[],
        type=_disruption,
        metavar="KIND[:TARGET]@START+DUR",
        help="add a disruption (repeatable), e.g. assembly:USA@12+8, state:KOR@10+20, "
        "random:0.2@10+8~4 (linear recovery over 4 weeks); see docs/disruptions.md",
    )
    levers = p.add_argument_group("policy levers (default: the scenario's; see docs/levers.md)")
    levers.add_argument(
        "--capacity-headroom",
        type=non_negative_float,
        metavar="SHARE",
        help="extra capacity on every firm, e.g. 0.2 = +20%%",
    )
    levers.add_argument(
        "--border-delay",
        type=non_negative_int,
        metavar="WEEKS",
        help="weeks every cross-border shipment waits (FMS / export licensing)",
    )
    levers.add_argument(
        "--cyber-hardening",
        type=unit_float,
        metavar="P",
        help="chance a firm resists its IT vendor's outage",
    )
    levers.add_argument(
        "--suppliers-per-input",
        type=positive_int,
        metavar="K",
        help="suppliers per input in the production web",
    )
    levers.add_argument(
        "--coproduction-share",
        type=unit_float,
        metavar="SHARE",
        help="share of allied assembly kept in the allies",
    )
    levers.add_argument(
        "--contracting",
        choices=("topology", "lowest-cost", "best-value"),
        help="single sourcing by lowest cost, or best-value multi-sourcing, in every "
        "topology (default: hub-and-spokes single, web multi)",
    )
    levers.add_argument(
        "--stockpile-weeks",
        type=non_negative_float,
        metavar="WEEKS",
        help="each state's end-item stockpile, in weeks of demand",
    )
    levers.add_argument(
        "--subtier-visibility",
        action="store_true",
        default=None,
        help="buyers see every maker when they look for a substitute",
    )


def _load(args: argparse.Namespace) -> Scenario:
    scenario = load_scenario(args.scenario)
    if getattr(args, "firms", None):
        scenario = scenario.scaled(args.firms)
    return scenario


def _model(
    scenario: Scenario,
    args: argparse.Namespace,
    topology: str | None,
    web_ness: float | None,
    network=None,
):
    from webmodel.core.model import CoalitionModel

    return CoalitionModel(
        scenario=scenario,
        topology=topology or "production-web",
        web_ness=web_ness,
        surge=args.surge,
        surge_start=args.surge_start,
        steps=args.steps,
        rationing=args.rationing,
        disruptions=args.disrupt,
        capacity_headroom=args.capacity_headroom,
        border_delay=args.border_delay,
        cyber_hardening=args.cyber_hardening,
        suppliers_per_input=args.suppliers_per_input,
        coproduction_share=args.coproduction_share,
        contracting=args.contracting,
        stockpile_weeks=args.stockpile_weeks,
        subtier_visibility=args.subtier_visibility,
        network=network,
        rng=args.seed,
    )


def _check_budget(
    scenario: Scenario, args: argparse.Namespace, topology: str, web_ness: float | None
) -> None:
    """The run's projected size against the budget, before anything is wired."""
    from webmodel.coalition.budget import check_run

    check_run(
        scenario,
        getattr(args, "allow_large", False),
        topology=topology,
        web_ness=web_ness,
        steps=args.steps,
        suppliers_per_input=getattr(args, "suppliers_per_input", None),
        border_delay=getattr(args, "border_delay", None),
    )


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.1f}"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:5.1f}%"


# --- commands ---------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    from webmodel.coalition.budget import check_network
    from webmodel.core.metrics import compute_metrics
    from webmodel.io.output import (
        check_writable,
        run_params,
        series_table,
        totals,
        write_parquet_atomic,
    )

    if args.series and Path(args.series).suffix != ".parquet":
        raise InputError(f"--series: must name a .parquet file, got {args.series!r}")
    if args.series:
        check_writable(args.series, "--series")  # before the work, not after it
    scenario = _load(args)
    network = None
    if args.network:
        from webmodel.io.netio import read_network

        network = read_network(args.network, scenario)
        check_network(network, args.steps, getattr(args, "allow_large", False))
    else:
        _check_budget(scenario, args, args.topology, args.web_ness)
    import webmodel.core.model  # noqa: F401  (import Mesa before the clock starts)

    start = time.perf_counter()
    model = _model(scenario, args, args.topology, args.web_ness, network).run()
    elapsed = time.perf_counter() - start
    result = totals(model)
    metrics = compute_metrics(model)
    if args.series:
        write_parquet_atomic(series_table(model), args.series)
    if args.json:
        payload = {
            "params": run_params(model),
            "totals": result,
            "metrics": metrics,
            "seconds": round(elapsed, 4),
        }
        print(json.dumps(payload))
        return 0
    p = run_params(model)
    print(
        f"webmodel run: scenario {p['scenario']}, {p['topology']} (web_ness {p['web_ness']:g}), "
        f"{p['firms']} firms, {p['links']} links"
    )
    print(
        f"  {p['steps']} weeks, surge x{p['surge']:g} from week {p['surge_start']}, "
        f"seed {p['seed']}, {elapsed:.2f} s\n"
    )
    print(f"  {'':24} {'demanded':>12} {'delivered':>12} {'fill':>7}")
    rows = [("all end items", result["overall"])]
    rows += [(f"end item {k}", v) for k, v in result["by_end_item"].items()]
    rows += [(f"state {k}", v) for k, v in result["by_state"].items()]
    for label, v in rows:
        print(
            f"  {label:24} {_fmt(v['demanded']):>12} {_fmt(v['delivered']):>12} "
            f"{_pct(v['fill_rate']):>7}"
        )
    print(f"\n  end items owed at the end (backlog): {_fmt(result['final_backlog'])}")
    print("\n  metrics (docs/metrics.md):")
    for name, value in metrics.items():
        shown = "n/a" if value is None else f"{value:.4g}"
        print(f"    {name:22} {shown}")
    if args.series:
        print(f"  series written to {args.series}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from webmodel.core.metrics import METRIC_NAMES, compute_metrics
    from webmodel.io.output import run_params, totals

    scenario = _load(args)
    _check_budget(scenario, args, "production-web", None)  # the larger of the two
    results = {}
    for topology in TOPOLOGIES:
        model = _model(scenario, args, topology, None).run()
        results[topology] = (model, totals(model))
    hs, web = results["hub-and-spokes"][1], results["production-web"][1]
    if args.json:
        print(
            json.dumps(
                {
                    topo: {
                        "params": run_params(model),
                        "totals": t,
                        "metrics": compute_metrics(model),
                    }
                    for topo, (model, t) in results.items()
                }
            )
        )
        return 0
    m = results["production-web"][0]
    print(
        f"webmodel compare: scenario {scenario.name}, {m.network.n_firms} firms, "
        f"{args.steps} weeks, demand x{args.surge:g} from week {args.surge_start}, "
        f"seed {args.seed}"
    )
    print("Same firms, same capacity, same seed; only the wiring differs.\n")
    head = (
        f"  {'':22} {'demanded':>10} | {'hub-and-spokes':>14} {'fill':>6} | "
        f"{'production-web':>14} {'fill':>6} | {'web - hub':>10}"
    )
    print(head)
    print("  " + "-" * (len(head) - 2))

    def row(label: str, a: dict, b: dict) -> None:
        print(
            f"  {label:22} {_fmt(a['demanded']):>10} | {_fmt(a['delivered']):>14} "
            f"{_pct(a['fill_rate']):>6} | {_fmt(b['delivered']):>14} {_pct(b['fill_rate']):>6} | "
            f"{b['delivered'] - a['delivered']:>+10,.0f}"
        )

    for item in hs["by_end_item"]:
        row(item, hs["by_end_item"][item], web["by_end_item"][item])
        for state in hs["by_state_end_item"]:
            if item in hs["by_state_end_item"][state]:
                row(
                    f"  {state}",
                    hs["by_state_end_item"][state][item],
                    web["by_state_end_item"][state][item],
                )
    print(
        f"\n  end items owed at the end: hub-and-spokes {_fmt(hs['final_backlog'])}, "
        f"production web {_fmt(web['final_backlog'])}"
    )
    metrics = {topo: compute_metrics(model) for topo, (model, _) in results.items()}
    print(f"\n  {'metric (docs/metrics.md)':26} {'hub-and-spokes':>16} {'production-web':>16}")
    for name in METRIC_NAMES:
        cells = [metrics[topo][name] for topo in TOPOLOGIES]
        shown = ["n/a" if v is None else f"{v:.4g}" for v in cells]
        print(f"  {name:26} {shown[0]:>16} {shown[1]:>16}")
    return 0


def cmd_network(args: argparse.Namespace) -> int:
    from webmodel.coalition.topology import build_network
    from webmodel.io.netio import write_network

    if Path(args.out).suffix not in (".graphml", ".json"):
        raise InputError(f"--out: must end in .graphml or .json, got {args.out!r}")
    scenario = _load(args)
    from webmodel.coalition.budget import check_run

    check_run(
        scenario, getattr(args, "allow_large", False), topology=args.topology,
        web_ness=args.web_ness, steps=1,
    )  # fmt: skip
    network = build_network(scenario, args.topology, args.web_ness, args.seed)
    write_network(network, args.out)
    print(
        f"wrote {network.topology} network: {network.n_firms} firms, {network.n_links} links, "
        f"{network.link_cross_border.mean():.0%} of links cross a border -> {args.out}"
    )
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from webmodel.analysis.bench import format_rows, run_bench

    sizes = tuple((f, args.steps or s) for f, s in _parse_sizes(args.sizes))
    say = None if args.json else (lambda r: print(f"  done: {r.firms} firms", file=sys.stderr))
    rows = run_bench(
        sizes,
        seed=args.seed,
        max_reference_s=args.max_reference_seconds,
        progress=say,
        disruptions=tuple(d.spec for d in args.disrupt),
    )
    if args.json:
        print(json.dumps([r.as_dict() for r in rows]))
    else:
        print(format_rows(rows))
        print(
            "\nengine = array engine run; reference = per-agent reference run on the same "
            "network;\nratio = reference / engine; build = wiring + agents + engine state."
        )
    return 0


def _parse_sizes(text: str) -> list[tuple[int, int]]:
    sizes = []
    for part in text.split(","):
        firms, _, steps = part.strip().partition(":")
        try:
            sizes.append((int(firms), int(steps) if steps else 200))
        except ValueError:
            raise InputError(
                f"--sizes: expected FIRMS[:STEPS],... like 200,2000,10000:500, got {text!r}"
            ) from None
    return sizes


# --- parser -----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="webmodel",
        description="Agent-based model of allied defense production: "
        "hub-and-spokes vs production web.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = sub.add_parser(
        "run",
        help="run one model and print (or export) what it delivered",
        description="Run one model and summarise deliveries against demand.",
    )
    _add_scenario_options(run)
    run.add_argument("--topology", choices=tuple(TOPOLOGIES), default="production-web")
    run.add_argument(
        "--web-ness",
        type=unit_float,
        metavar="W",
        help="dial in [0, 1] from hub-and-spokes to web (overrides --topology)",
    )
    run.add_argument(
        "--network", metavar="FILE", help="use the wiring in a GraphML or node-link JSON file"
    )
    _add_run_options(run, steps=104, surge=1.0)
    run.add_argument(
        "--json", action="store_true", help="print one JSON object with params and totals"
    )
    run.add_argument(
        "--series", metavar="FILE.parquet", help="write the per-week series as Parquet"
    )
    add_budget_option(run)
    run.set_defaults(func=cmd_run)

    compare = sub.add_parser(
        "compare",
        help="the main job: both topologies under the same surge, side by side",
        description="Run hub-and-spokes and production web on the same scenario and seed under "
        "a demand surge, and compare deliveries per end item and per state.",
    )
    _add_scenario_options(compare)
    _add_run_options(compare, steps=104, surge=2.0)
    compare.add_argument("--json", action="store_true", help="print totals as JSON")
    add_budget_option(compare)
    compare.set_defaults(func=cmd_compare)

    network = sub.add_parser(
        "network",
        help="export a wired network as GraphML or JSON",
        description="Wire the scenario and export the network.",
    )
    _add_scenario_options(network)
    network.add_argument("--topology", choices=tuple(TOPOLOGIES), default="production-web")
    network.add_argument("--web-ness", type=unit_float, metavar="W")
    network.add_argument("--out", required=True, metavar="FILE.graphml|FILE.json")
    add_budget_option(network)
    network.set_defaults(func=cmd_network)

    bench = sub.add_parser(
        "bench",
        help="time the array engine against the reference",
        description="Time the array engine and the per-agent reference on "
        "the same networks, in this process.",
    )
    bench.add_argument(
        "--sizes",
        default="200:200,2000:200,10000:500",
        metavar="LIST",
        help="FIRMS[:STEPS],... (default 200:200,2000:200,10000:500)",
    )
    bench.add_argument("--steps", type=positive_int, help="override the steps of every size")
    bench.add_argument("--seed", type=int, default=1)
    bench.add_argument(
        "--max-reference-seconds",
        type=float,
        default=60.0,
        metavar="S",
        help="skip the reference where it would take longer (default 60)",
    )
    bench.add_argument(
        "--disrupt",
        action="append",
        default=[],
        type=_disruption,
        metavar="KIND[:TARGET]@START+DUR",
        help="time with this disruption active too (repeatable), e.g. random:0.1@20+10",
    )
    bench.add_argument(
        "--json",
        action="store_true",
        help="print a JSON list of {firms, links, steps, engine_s, reference_s, ratio}",
    )
    bench.set_defaults(func=cmd_bench)

    # Commands that live beside their subsystems.
    from webmodel.cli.app import register as register_app
    from webmodel.cli.findings import register as register_findings
    from webmodel.cli.sweep import register as register_sweep

    register_sweep(sub)
    register_findings(sub)
    register_app(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from webmodel.io.output import DamagedFile, OutputError

    try:
        return args.func(args)
    except (ScenarioError, InputError, ValueError) as err:
        print(f"webmodel {args.command}: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        # Output piped into `head` or similar: stop quietly (Python docs' recipe).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (OutputError, DamagedFile) as err:
        print(f"webmodel {args.command}: error: {err}", file=sys.stderr)
        return EXIT_OUTPUT
    except OSError as err:
        if err.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):  # only a write fails so
            raise
        where = f" {err.filename}" if err.filename else ""
        print(f"webmodel {args.command}: error: cannot write{where}: {err}", file=sys.stderr)
        return EXIT_OUTPUT


if __name__ == "__main__":
    sys.exit(main())
