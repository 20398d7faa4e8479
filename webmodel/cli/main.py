"""``webmodel``: the command line.

Every command validates its inputs (scenario file, options) before doing any work; a bad input
prints what is wrong, naming the field, and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from webmodel.cli.argtypes import positive_int
from webmodel.cli.options import add_parameter_options, parameter_values
from webmodel.coalition.parameters import SPECS
from webmodel.coalition.scenario import Scenario, ScenarioError, load_scenario
from webmodel.coalition.topology import TOPOLOGIES

EXIT_BAD_INPUT = 2


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
    p.add_argument("--seed", type=int, default=1, metavar="S", help="random seed (default 1)")


def _add_run_options(p: argparse.ArgumentParser, names: list[str], surge: float) -> None:
    """Every declared parameter in ``names`` as an option (from its declaration), and the
    disruptions to add."""
    add_parameter_options(p, names, defaults={"surge": surge})
    p.add_argument(
        "--disrupt",
        action="append",
        default=[],
        type=_disruption,
        metavar="KIND[:TARGET]@START+DUR",
        help="add a disruption (repeatable), e.g. assembly:USA@12+8, state:KOR@10+20, "
        "random:0.2@10+8~4 (linear recovery over 4 weeks); see docs/disruptions.md",
    )


def _load(args: argparse.Namespace) -> Scenario:
    scenario = load_scenario(args.scenario)
    if getattr(args, "firms", None):
        scenario = scenario.scaled(args.firms)
    return scenario


def _model(scenario: Scenario, args: argparse.Namespace, network=None, **fixed):
    """The model the options describe (``fixed`` overrides them, e.g. compare's topology).
    ``firms`` is not passed: :func:`_load` has scaled the scenario already."""
    from webmodel.core.model import CoalitionModel

    given = {k: v for k, v in parameter_values(args).items() if k != "firms"}
    return CoalitionModel(
        scenario,
        **{**given, **fixed},
        disruptions=args.disrupt,
        network=network,
        rng=args.seed,
    )


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.1f}"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:5.1f}%"


# --- commands ---------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    from webmodel.core.metrics import compute_metrics
    from webmodel.core.structure import structure_report
    from webmodel.io.output import run_params, series_table, totals, write_parquet_atomic

    scenario = _load(args)
    network = None
    if args.network:
        from webmodel.io.netio import read_network

        network = read_network(args.network, scenario)
    if args.series and Path(args.series).suffix != ".parquet":
        raise InputError(f"--series: must name a .parquet file, got {args.series!r}")
    import webmodel.core.model  # noqa: F401  (import Mesa before the clock starts)

    start = time.perf_counter()
    model = _model(scenario, args, network)
    structure = structure_report(model.network)  # the wiring as built, before re-sourcing
    model.run()
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
            "structure": structure,
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
    for line in service_lines({"": result}):
        print(line)
    print("\n  metrics (docs/metrics.md):")
    for name, value in metrics.items():
        shown = "n/a" if value is None else f"{value:.4g}"
        print(f"    {name:22} {shown}")
    print("\n  wiring at baseline (docs/metrics.md, Structure):")
    for line in _structure_lines({"": structure}):
        print(line)
    if args.series:
        print(f"  series written to {args.series}")
    return 0


SERVICE_ROWS = (
    ("fleet availability, baseline", "fleet_availability_baseline", "pct"),
    ("fleet availability, mean", "fleet_availability_mean", "pct"),
    ("fleet availability, lowest", "fleet_availability_min", "pct"),
    ("repair backlog, peak (ships)", "repair_backlog_peak", "num"),
    ("turnaround, peak (weeks)", "turnaround_weeks_peak", "num"),
)


def service_lines(totals_by_label: dict[str, dict]) -> list[str]:
    """The service end items' force-facing metrics (totals["services"]), side by side."""
    first = next(iter(totals_by_label.values()))
    if "services" not in first:
        return []
    labels = list(totals_by_label)
    lines = ["\n  services (docs/services.md): ships waiting for a yard, and the fleet available"]
    if any(labels):
        lines.append(f"    {'':30}" + "".join(f" {label:>16}" for label in labels))
    for item in first["services"]:
        lines.append(f"    {item} (fleet {first['services'][item]['fleet']:g})")
        for text, key, kind in SERVICE_ROWS:
            cells = [t["services"][item][key] for t in totals_by_label.values()]
            shown = [_pct(c) if kind == "pct" else f"{c:.3g}" for c in cells]
            lines.append(f"      {text:28}" + "".join(f" {c:>16}" for c in shown))
    return lines


def _structure_lines(reports: dict[str, dict]) -> list[str]:
    """The structure reports of one or more wirings, side by side, as text lines."""
    labels = list(reports)
    first = reports[labels[0]]
    rows = [
        ("stock in transit (units)", "in_transit", _fmt),
        ("  in weeks of shipments", "in_transit_weeks", lambda x: f"{x:.2f}"),
        ("firms with no contract", "idle_firms", str),
        ("  their share of capacity", "idle_capacity_share", _pct),
        ("spare capacity", "spare_capacity_share", _pct),
        ("units crossing a border", "cross_border_flow_share", _pct),
    ]
    lines = []
    if any(labels):
        lines.append(f"    {'':28}" + "".join(f" {label:>16}" for label in labels))
    for text, key, show in rows:
        lines.append(f"    {text:28}" + "".join(f" {show(r[key]):>16}" for r in reports.values()))
    for state in first["import_share"]:
        cells = [r["import_share"][state] for r in reports.values()]
        lines.append(
            f"    {'inputs imported, ' + state:28}" + "".join(f" {_pct(c):>16}" for c in cells)
        )
    return lines


def cmd_compare(args: argparse.Namespace) -> int:
    from webmodel.core.metrics import METRIC_NAMES, compute_metrics
    from webmodel.core.structure import structure_report
    from webmodel.io.output import run_params, totals

    scenario = _load(args)
    results = {}
    structures = {}
    for topology in TOPOLOGIES:
        model = _model(scenario, args, topology=topology, web_ness=None)
        structures[topology] = structure_report(model.network)
        results[topology] = (model.run(), totals(model))
    hs, web = results["hub-and-spokes"][1], results["production-web"][1]
    if args.json:
        print(
            json.dumps(
                {
                    topo: {
                        "params": run_params(model),
                        "totals": t,
                        "metrics": compute_metrics(model),
                        "structure": structures[topo],
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
    for line in service_lines({"hub-and-spokes": hs, "production-web": web}):
        print(line)
    metrics = {topo: compute_metrics(model) for topo, (model, _) in results.items()}
    print(f"\n  {'metric (docs/metrics.md)':26} {'hub-and-spokes':>16} {'production-web':>16}")
    for name in METRIC_NAMES:
        cells = [metrics[topo][name] for topo in TOPOLOGIES]
        shown = ["n/a" if v is None else f"{v:.4g}" for v in cells]
        print(f"  {name:26} {shown[0]:>16} {shown[1]:>16}")
    print("\n  wiring at baseline (docs/metrics.md, Structure):")
    for line in _structure_lines(structures):
        print(line)
    return 0


def cmd_network(args: argparse.Namespace) -> int:
    from webmodel.core.model import CoalitionModel
    from webmodel.io.netio import write_network

    if Path(args.out).suffix not in (".graphml", ".json"):
        raise InputError(f"--out: must end in .graphml or .json, got {args.out!r}")
    scenario = _load(args)
    # Wired as `webmodel run --seed N` wires it (the model's own wiring stream), so a run on
    # the exported network is the same run.
    network = CoalitionModel(
        scenario, topology=args.topology, web_ness=args.web_ness, steps=1, rng=args.seed
    ).network
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
    run.add_argument(
        "--network", metavar="FILE", help="use the wiring in a GraphML or node-link JSON file"
    )
    _add_run_options(run, list(SPECS), surge=1.0)
    run.add_argument(
        "--json", action="store_true", help="print one JSON object with params and totals"
    )
    run.add_argument(
        "--series", metavar="FILE.parquet", help="write the per-week series as Parquet"
    )
    run.set_defaults(func=cmd_run)

    compare = sub.add_parser(
        "compare",
        help="the main job: both topologies under the same surge, side by side",
        description="Run hub-and-spokes and production web on the same scenario and seed under "
        "a demand surge, and compare deliveries per end item and per state.",
    )
    _add_scenario_options(compare)
    # Both wirings are run, so the wiring itself is not an option here.
    wiring = ("topology", "web_ness")
    _add_run_options(compare, [n for n in SPECS if n not in wiring], surge=2.0)
    compare.add_argument("--json", action="store_true", help="print totals as JSON")
    compare.set_defaults(func=cmd_compare)

    network = sub.add_parser(
        "network",
        help="export a wired network as GraphML or JSON",
        description="Wire the scenario and export the network.",
    )
    _add_scenario_options(network)
    add_parameter_options(network, ["topology", "web_ness", "firms"])
    network.add_argument("--out", required=True, metavar="FILE.graphml|FILE.json")
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
    from webmodel.cli.exposure import register as register_exposure
    from webmodel.cli.findings import register as register_findings
    from webmodel.cli.parameters import register as register_parameters
    from webmodel.cli.sweep import register as register_sweep

    register_sweep(sub)
    register_findings(sub)
    register_app(sub)
    register_parameters(sub)
    register_exposure(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ScenarioError, InputError, ValueError) as err:
        print(f"webmodel {args.command}: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        # Output piped into `head` or similar: stop quietly (Python docs' recipe).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
