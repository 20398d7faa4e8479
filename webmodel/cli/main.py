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

from webmodel.cli.argtypes import bounded, non_negative_int, positive_int
from webmodel.cli.options import add_parameter_options, configuration, parameter_values
from webmodel.coalition.budget import add_budget_option
from webmodel.coalition.parameters import SPECS
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
        "--seed", type=non_negative_int, default=1, metavar="S", help="random seed >= 0 (default 1)"
    )


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


def warn(args: argparse.Namespace, text: str, kind: str = "warning") -> None:
    """A warning (or a note) on stderr, naming the command (stdout stays clean for --json)."""
    print(f"webmodel {args.command}: {kind}: {text}", file=sys.stderr)


def _load(args: argparse.Namespace) -> Scenario:
    """The scenario, scaled to ``--firms`` if given (saying what was built: every firm group
    keeps at least one firm, so a small ``--firms`` builds more)."""
    scenario = load_scenario(args.scenario)
    if getattr(args, "firms", None):
        scaled = scenario.scaled(args.firms)
        built = scaled.n_firms
        groups = len(scaled.firm_groups)
        text = (
            f"--firms {args.firms}: built {built} firms in {groups} firm groups "
            f"(scenario {scenario.name} has {scenario.n_firms})"
        )
        if built != args.firms:
            text += (
                f"; {abs(built - args.firms)} {'more' if built > args.firms else 'fewer'} than "
                "asked: each group keeps its proportion, rounded, and at least one firm"
            )
        warn(args, text, "warning" if built != args.firms else "note")
        scenario = scaled
    return scenario


def check_shocks(args: argparse.Namespace, model) -> None:
    """Warn, naming the option, about a shock that would silently change nothing: a surge or
    a disruption starting after the horizon, a disruption hitting no firm in this wiring
    (e.g. ``assembly:AUS`` in hub-and-spokes, where end items are assembled in the hub)."""
    steps = model.steps_planned
    if model.surge != 1.0 and model.surge_start > steps:
        warn(
            args,
            f"--surge-start {model.surge_start} is after the horizon (--steps {steps}): "
            "the surge never starts",
        )
    for d in model.disruptions:
        spec = d.disruption.spec
        if d.disruption.start > steps:
            warn(
                args,
                f"--disrupt {spec}: starts in week {d.disruption.start}, after the horizon "
                f"(--steps {steps}); it has no effect",
            )
        elif d.firms is not None and len(d.firms) == 0:
            warn(
                args,
                f"--disrupt {spec}: hits 0 firms in {model.topology} (no firm of that kind "
                "there); it has no effect",
            )


def _short(label: str) -> str:
    """A configuration's column heading: "A" for "A: web_ness=0.3", a wiring's name as is."""
    return label.split(":", 1)[0][:22]


def end_item_lines(balances: dict[str, dict], demanded_by: dict[str, dict]) -> list[str]:
    """Per end item (never added across end items) and per state: demanded once, then each
    configuration's delivered and fill; the last column B - A when there are two."""
    labels = list(balances)
    first = demanded_by[labels[0]]
    head = f"  {'units over the run':22} {'demanded':>10}"
    for label in labels:
        head += f" | {_short(label):>14} {'fill':>7}"
    if len(labels) == 2:
        diff = "web - hub" if labels == list(TOPOLOGIES) else "B - A"
        head += f" | {diff:>10}"
    lines = [head, "  " + "-" * (len(head) - 2)]

    def row(name: str, cells: list[dict]) -> str:
        text = f"  {name:22} {_fmt(cells[0]['demanded']):>10}"
        for c in cells:
            text += f" | {_fmt(c['delivered']):>14} {_pct(c['fill_rate']):>7}"
        if len(cells) == 2:
            text += f" | {cells[1]['delivered'] - cells[0]['delivered']:>+10,.0f}"
        return text

    for item in first["by_end_item"]:
        lines.append(row(item, [demanded_by[k]["by_end_item"][item] for k in labels]))
        for state, per_item in first["by_state_end_item"].items():
            if item in per_item:
                cells = [demanded_by[k]["by_state_end_item"][state][item] for k in labels]
                lines.append(row(f"  {state}", cells))
    lines.append(
        "  (each end item in its own units: shells and interceptors are never added up; "
        "fill = delivered / demanded)"
    )
    return lines


def owed_lines(balances: dict[str, dict]) -> list[str]:
    """ "Owed at the end" per end item, reconciled with demanded - delivered: the difference
    is the growth of the goods in transit (shipped, not yet arrived)."""
    lines = ["  owed at the end (ordered by the states, not yet shipped), per end item:"]
    for label, balance in balances.items():
        for item, b in balance.items():
            gap = b["demanded"] - b["delivered"]
            transit = b["in_transit_end"] - b["in_transit_start"]
            who = f"{_short(label)}, " if len(balances) > 1 else ""
            if b["owed_end"] < 0.5 and abs(gap) < 0.5:
                lines.append(f"    {who}{item}: nothing owed; what was demanded arrived")
                continue
            lines.append(
                f"    {who}{item}: {_fmt(b['owed_end'])} owed = {_fmt(gap)} demanded - delivered,"
                f" less {_fmt(transit)} more in transit than at the start "
                f"({_fmt(b['in_transit_end'])} vs {_fmt(b['in_transit_start'])})"
            )
    return lines


def metric_lines(metrics: dict[str, dict], reasons: dict[str, dict], balances) -> list[str]:
    """Each metric by its label and unit, a reason where it does not apply, then what each
    means (and how the fill rate follows from the table)."""
    from webmodel.core.labels import label_of
    from webmodel.core.metrics import METRIC_NAMES

    labels = list(metrics)
    width = max(len(label_of(name).heading()) for name in METRIC_NAMES)
    head = f"  {'metric (unit)':{width}}" + "".join(f" {_short(label):>22}" for label in labels)
    lines = [head]
    missing: list[str] = []
    for name in METRIC_NAMES:
        meta = label_of(name)
        cells = []
        for label in labels:
            value = metrics[label][name]
            if value is None:
                why = reasons[label][name]
                if why not in missing:
                    missing.append(why)
                cells.append(f"n/a [{missing.index(why) + 1}]")
            else:
                cells.append(meta.show(value))
        lines.append(f"  {meta.heading():{width}}" + "".join(f" {c:>22}" for c in cells))
    for k, why in enumerate(missing, 1):
        lines.append(f"    [{k}] does not apply: {why}")
    lines.append("\n  what the metrics mean (formulas in docs/metrics.md):")
    for name in METRIC_NAMES:
        meta = label_of(name)
        lines.append(f"    {meta.label} [{name}]: {meta.definition}")
    for label in labels:
        served = {item: b["served"] / b["demanded"] for item, b in balances[label].items()}
        parts = ", ".join(f"{item} {100 * v:.1f} %" for item, v in served.items())
        who = f" ({_short(label)})" if len(labels) > 1 else ""
        lines.append(
            f"    fill rate{who} = mean of {parts}: received (deliveries, plus stockpile "
            "draws) over demanded, each end item counting equally"
        )
    return lines


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
    from webmodel.core.metrics import compute_metrics, missing_reasons
    from webmodel.core.structure import structure_report
    from webmodel.io.output import (
        check_writable,
        end_item_balance,
        rounded,
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
    model = _model(scenario, args, network)
    check_shocks(args, model)
    structure = structure_report(model.network)  # the wiring as built, before re-sourcing
    model.run()
    elapsed = time.perf_counter() - start
    result = totals(model)
    metrics = compute_metrics(model)
    balance = end_item_balance(model)
    if args.series:
        write_parquet_atomic(series_table(model), args.series)
    if args.json:
        payload = {
            "params": run_params(model),
            "totals": result,
            "end_items": balance,
            "metrics": metrics,
            "not_applicable": missing_reasons(model),
            "structure": structure,
            "seconds": round(elapsed, 4),
        }
        print(json.dumps(rounded(payload)))
        return 0
    p = run_params(model)
    print(
        f"webmodel run: scenario {p['scenario']}, {p['topology']} (web_ness {p['web_ness']:g}), "
        f"{p['firms']} firms, {p['links']} links"
    )
    surge = (
        f"demand x{p['surge']:g} from week {p['surge_start']}" if p["surge"] != 1 else "no surge"
    )
    print(f"  {p['steps']} weeks, {surge}, seed {p['seed']}, {elapsed:.2f} s")
    for d in model.disruptions:
        print(f"  disruption: {describe_disruption(d)}")
    print()
    label = p["topology"]
    for line in end_item_lines({label: balance}, {label: result}):
        print(line)
    print()
    for line in owed_lines({label: balance}):
        print(line)
    for line in service_lines({"": result}):
        print(line)
    print()
    for line in metric_lines({label: metrics}, {label: missing_reasons(model)}, {label: balance}):
        print(line)
    print("\n  wiring at baseline (docs/metrics.md, Structure):")
    for line in _structure_lines({"": structure}):
        print(line)
    if args.series:
        print(f"  series written to {args.series}")
    return 0


def describe_disruption(scheduled) -> str:
    """A scheduled disruption in words, after its spec: "assembly:USA@12+8: USA end-item
    assembly down, weeks 12–19 (15 firms down)" (the words are the app's, core.labels)."""
    from webmodel.core.labels import disruption_in_words

    d = scheduled.disruption
    if d.kind in ("state", "border"):
        hit = "trade links closed"
    else:
        hit = f"{0 if scheduled.firms is None else len(scheduled.firms)} firms down"
    return f"{d.spec}: {disruption_in_words(d)} ({hit})"


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


def _configurations(args: argparse.Namespace) -> list[tuple[str, dict]]:
    """The two sides of ``compare``: the two wirings by default, else ``--a`` and ``--b``
    (each the common options with its own settings on top)."""
    if args.a is None and args.b is None:
        return [(topology, {"topology": topology, "web_ness": None}) for topology in TOPOLOGIES]
    from webmodel.cli.options import describe

    return [
        (f"{side}: {describe(settings) if settings else 'the common options'}", settings or {})
        for side, settings in (("A", args.a), ("B", args.b))
    ]


def compare_series(models: dict[str, object]):
    """One table of both sides' weekly series, a ``configuration`` column first; the Parquet
    metadata carries each side's parameters (provenance)."""
    import pyarrow as pa

    from webmodel.core.recorder import VARIABLES
    from webmodel.io.output import provenance, run_params, series_table

    tables = []
    for label, model in models.items():
        table = series_table(model).replace_schema_metadata(None)
        column = pa.array([label] * table.num_rows, pa.string())
        tables.append(table.add_column(0, "configuration", column))
    meta = provenance(
        configurations={label: run_params(m) for label, m in models.items()},
        variables={k: v[1] for k, v in VARIABLES.items()},
    )
    return pa.concat_tables(tables).replace_schema_metadata(meta)


def cmd_compare(args: argparse.Namespace) -> int:
    from webmodel.core.metrics import compute_metrics, missing_reasons
    from webmodel.core.structure import structure_report
    from webmodel.io.output import (
        check_writable,
        end_item_balance,
        rounded,
        run_params,
        totals,
        write_parquet_atomic,
    )

    if args.series and Path(args.series).suffix != ".parquet":
        raise InputError(f"--series: must name a .parquet file, got {args.series!r}")
    scenario = _load(args)
    if args.series:
        check_writable(args.series, "--series")  # before the work, not after it
    configurations = _configurations(args)
    for _, fixed in configurations:
        settings = {"topology": "production-web", "web_ness": None, **fixed}
        _check_budget(scenario, args, settings["topology"], settings["web_ness"])
    models, structures = {}, {}
    for label, fixed in configurations:
        model = _model(scenario, args, **fixed)
        check_shocks(args, model)
        structures[label] = structure_report(model.network)
        models[label] = model.run()
    result = {label: totals(m) for label, m in models.items()}
    balances = {label: end_item_balance(m) for label, m in models.items()}
    metrics = {label: compute_metrics(m) for label, m in models.items()}
    reasons = {label: missing_reasons(m) for label, m in models.items()}
    if args.series:
        write_parquet_atomic(compare_series(models), args.series)
    if args.json:
        payload = {
            label: {
                "params": run_params(m),
                "totals": result[label],
                "end_items": balances[label],
                "metrics": metrics[label],
                "not_applicable": reasons[label],
                "structure": structures[label],
            }
            for label, m in models.items()
        }
        print(json.dumps(rounded(payload)))
        return 0
    labels = list(models)
    first = models[labels[0]]
    print(
        f"webmodel compare: scenario {scenario.name}, {first.network.n_firms} firms, "
        f"{args.steps} weeks, demand x{args.surge:g} from week {args.surge_start}, "
        f"seed {args.seed}"
    )
    if args.a is None and args.b is None:
        print("Same firms, same capacity, same seed; only the wiring differs.")
    else:
        for label in labels:
            m = models[label]
            print(f"  {label} -> {m.topology}, web_ness {m.web_ness:g}")
        print("Same scenario, same seed; only the settings above differ.")
    for d in first.disruptions:
        print(f"  disruption: {describe_disruption(d)}")
    print()
    for line in end_item_lines(balances, result):
        print(line)
    print()
    for line in owed_lines(balances):
        print(line)
    for line in service_lines(result):
        print(line)
    print()
    for line in metric_lines(metrics, reasons, balances):
        print(line)
    print("\n  wiring at baseline (docs/metrics.md, Structure):")
    for line in _structure_lines(structures):
        print(line)
    if args.series:
        print(f"\n  series of both sides written to {args.series}")
    return 0


def cmd_network(args: argparse.Namespace) -> int:
    from webmodel.core.model import CoalitionModel
    from webmodel.io.netio import write_network

    if Path(args.out).suffix not in (".graphml", ".json"):
        raise InputError(f"--out: must end in .graphml or .json, got {args.out!r}")
    scenario = _load(args)
    from webmodel.coalition.budget import check_run

    check_run(
        scenario, getattr(args, "allow_large", False), topology=args.topology,
        web_ness=args.web_ness, steps=1,
    )  # fmt: skip
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
    from webmodel.analysis.bench import (
        HEAVY_DISRUPTIONS,
        bench_heavy,
        bench_startup,
        fit_step_cost,
        format_report,
        run_bench,
    )

    sizes = tuple((f, args.steps or s) for f, s in _parse_sizes(args.sizes, "--sizes"))
    heavy_size = None if args.heavy == "none" else _parse_sizes(args.heavy, "--heavy")
    if heavy_size is not None and len(heavy_size) != 1:
        raise InputError(f"--heavy: expected one FIRMS:STEPS or none, got {args.heavy!r}")

    def say(what: str) -> None:
        if not args.json:
            print(f"  done: {what}", file=sys.stderr)

    rows = run_bench(
        sizes,
        seed=args.seed,
        max_reference_s=args.max_reference_seconds,
        progress=lambda r: say(f"{r.firms} firms"),
        disruptions=tuple(d.spec for d in args.disrupt),
    )
    cost = fit_step_cost(rows)
    heavy = None
    if heavy_size is not None:
        ((firms, steps),) = heavy_size
        heavy = bench_heavy(firms, steps, args.seed, HEAVY_DISRUPTIONS)
        say("disruption-heavy")
    startup = None if args.no_startup else bench_startup()
    if args.json:
        from webmodel.analysis.bench import CLOCK_NOTE

        report = {
            "clock": CLOCK_NOTE,
            "rows": [r.as_dict() for r in rows],
            "step_cost": cost.as_dict() if cost else None,
            "disruption_heavy": heavy.as_dict() if heavy else None,
            "startup": startup.as_dict() if startup else None,
        }
        print(json.dumps(report))
    else:
        print(format_report(rows, cost, heavy, startup))
    return 0


def _parse_sizes(text: str, option: str) -> list[tuple[int, int]]:
    sizes = []
    for part in text.split(","):
        firms, _, steps = part.strip().partition(":")
        try:
            size = (int(firms), int(steps) if steps else 200)
        except ValueError:
            size = (0, 0)
        if min(size) <= 0:
            raise InputError(
                f"{option}: expected FIRMS[:STEPS],... of positive integers like "
                f"200,2000,10000:500, got {text!r}"
            )
        sizes.append(size)
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
    add_budget_option(run)
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
    compare.add_argument(
        "--series",
        metavar="FILE.parquet",
        help="write both sides' per-week series as one Parquet table (a configuration column; "
        "each side's parameters in its metadata)",
    )
    compare.add_argument(
        "--a",
        type=configuration,
        metavar="NAME=VALUE,...",
        help="compare two chosen configurations instead of the two wirings: side A's settings "
        "on top of the common options, e.g. --a web_ness=0.3 --b web_ness=1,stockpile_weeks=4 "
        "(any parameter of docs/levers.md, topology and web_ness included)",
    )
    compare.add_argument(
        "--b", type=configuration, metavar="NAME=VALUE,...", help="side B's settings (see --a)"
    )
    add_budget_option(compare)
    compare.set_defaults(func=cmd_compare)

    network = sub.add_parser(
        "network",
        help="export a wired network as GraphML or JSON",
        description="Wire the scenario and export the network.",
    )
    _add_scenario_options(network)
    add_parameter_options(network, ["topology", "web_ness", "firms"])
    network.add_argument("--out", required=True, metavar="FILE.graphml|FILE.json")
    add_budget_option(network)
    network.set_defaults(func=cmd_network)

    bench = sub.add_parser(
        "bench",
        help="what a run costs; the array engine against the reference",
        description="Time the array engine and the per-agent reference on the same networks "
        "(CPU seconds, in this process), fit the step's cost per link and per step, time a "
        "disruption-heavy case and the start-up of `webmodel run --steps 1`.",
    )
    bench.add_argument(
        "--sizes",
        default="200:200,2000:200,10000:500",
        metavar="LIST",
        help="FIRMS[:STEPS],... (default 200:200,2000:200,10000:500)",
    )
    bench.add_argument("--steps", type=positive_int, help="override the steps of every size")
    bench.add_argument("--seed", type=non_negative_int, default=1, help="random seed >= 0")
    bench.add_argument(
        "--max-reference-seconds",
        type=bounded(float, 0, None, "a number of seconds >= 0"),
        default=60.0,
        metavar="S",
        help="skip the reference where it would take longer, CPU seconds (default 60; "
        "0: never run it)",
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
        "--heavy",
        default="10000:500",
        metavar="FIRMS:STEPS",
        help="size of the disruption-heavy case (x1.5 surge, random:0.1@20+10, "
        "state:KOR@30+20; default 10000:500), or none",
    )
    bench.add_argument(
        "--no-startup",
        action="store_true",
        help="do not time the start-up of `webmodel run --steps 1` in a new process",
    )
    bench.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object: clock, rows (per size), step_cost (fit), "
        "disruption_heavy, startup",
    )
    bench.set_defaults(func=cmd_bench)

    # Commands that live beside their subsystems.
    from webmodel.cli.app import register as register_app
    from webmodel.cli.discover import register as register_discover
    from webmodel.cli.exposure import register as register_exposure
    from webmodel.cli.findings import register as register_findings
    from webmodel.cli.parameters import register as register_parameters
    from webmodel.cli.robust import register as register_robust
    from webmodel.cli.sweep import register as register_sweep

    register_sweep(sub)
    register_findings(sub)
    register_app(sub)
    register_parameters(sub)
    register_exposure(sub)
    register_discover(sub)
    register_robust(sub)
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
