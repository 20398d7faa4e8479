"""``webmodel exposure`` (a state's foreign dependencies) and ``webmodel stress`` (the
coalition's single points of failure). Method and limits: docs/exposure.md.

Both check their inputs (scenario, state, product, end item) before any model is built; a bad
one is an error naming the option, exit status 2. Heavy imports stay inside the commands.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from webmodel.cli.argtypes import bounded, non_negative_int, positive_int
from webmodel.coalition.parameters import TOPOLOGIES

_workers = bounded(int, 0, None, "an integer >= 0 (0 runs in this process)")


def _scenario_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--scenario",
        metavar="FILE",
        help="scenario TOML file, or a built-in one by name (default: default)",
    )
    p.add_argument("--firms", type=positive_int, metavar="N", help="scale to about N firms")
    p.add_argument(
        "--seed",
        type=int,
        default=1,
        metavar="S",
        help="root seed: the wiring is the one a one-replicate sweep with this root seed builds "
        "(default 1; exposure and stress agree for the same seed)",
    )
    p.add_argument(
        "--topology",
        action="append",
        choices=TOPOLOGIES,
        help="only this wiring (repeatable; default both, to compare them)",
    )


def register(sub: argparse._SubParsersAction) -> None:
    """Add the exposure and stress commands to the CLI."""
    p = sub.add_parser(
        "exposure",
        help="a state's dependency map: foreign shares of its end items' inputs, tier by tier",
        description="For a state and each end item it consumes (and makes), the share of the "
        "input units and value at every tier of the supply tree that are made abroad, by which "
        "states, through which chokepoints, in each wiring (equilibrium flows; "
        "docs/exposure.md).",
    )
    p.add_argument("--state", required=True, metavar="CODE", help="the state, e.g. KOR")
    p.add_argument("--end-item", metavar="NAME", help="only this end item (and the flow figure's)")
    p.add_argument(
        "--role",
        choices=("consumes", "makes", "both"),
        default="both",
        help="the state's demand for the end item, its own assemblers of it, or both",
    )
    _scenario_options(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--parquet", metavar="FILE", help="write every traced flow to FILE (Parquet)")
    p.add_argument(
        "--figure",
        metavar="FILE",
        help="write the state x product heatmap to FILE (.svg and .png) and the end item's "
        "flow diagram beside it (FILE-flow)",
    )
    p.set_defaults(func=cmd_exposure)

    s = sub.add_parser(
        "stress",
        help="single points of failure: each (product, state) group or firm down alone, ranked",
        description="Take down one node at a time ((product, state) groups, or every firm with "
        "--firms-level) in each wiring and rank the nodes by the coalition's loss and each "
        "state's; time-to-survive beside time-to-recover. Runs as a sweep (parallel, Dask, "
        "resumable: run the same command again to resume). docs/exposure.md.",
    )
    _scenario_options(s)
    s.add_argument("--firms-level", action="store_true", help="every firm, not product groups")
    s.add_argument("--product", action="append", metavar="NAME", help="only nodes making NAME")
    s.add_argument("--state", metavar="CODE", help="also rank by this state's loss")
    s.add_argument("--start", type=positive_int, default=10, metavar="WEEK", help="default 10")
    s.add_argument(
        "--duration",
        type=positive_int,
        default=8,
        metavar="WEEKS",
        help="outage length (default 8)",
    )
    s.add_argument(
        "--recovery-weeks",
        type=non_negative_int,
        default=0,
        metavar="WEEKS",
        help="linear recovery after the outage (default 0: back at once); TTR = duration + this",
    )
    s.add_argument("--steps", type=positive_int, default=104, metavar="N", help="default 104")
    s.add_argument(
        "--pairs",
        type=non_negative_int,
        default=0,
        metavar="N",
        help="also every pair of each wiring's top N nodes, down together (N choose 2 runs)",
    )
    s.add_argument("--top", type=positive_int, default=15, metavar="N", help="rows to show")
    s.add_argument("--workers", type=_workers, metavar="N", help="local processes (default: CPUs)")
    where = s.add_mutually_exclusive_group()
    where.add_argument("--dask", metavar="ADDRESS", help="a Dask scheduler, e.g. tcp://host:8786")
    where.add_argument("--dask-local", action="store_true", help="a Dask LocalCluster here")
    s.add_argument("--out", metavar="DIR", help="results folder (default results/stress[-firms])")
    s.add_argument("--json", action="store_true", help="print the ranking as JSON")
    s.add_argument("--quiet", action="store_true", help="no progress output")
    s.set_defaults(func=cmd_stress)


# --- checks before any work -----------------------------------------------------------------


def _scenario(args: argparse.Namespace):
    from webmodel.coalition.scenario import load_scenario

    scenario = load_scenario(args.scenario)
    return scenario.scaled(args.firms) if args.firms else scenario


def _check_name(value: str | None, known: list[str], option: str) -> None:
    if value is not None and value not in known:
        raise ValueError(
            f"{option}: unknown {option.strip('-').replace('-', ' ')} {value!r} "
            f"(known: {', '.join(known)})"
        )


# --- exposure ---------------------------------------------------------------------------------


def cmd_exposure(args: argparse.Namespace) -> int:
    scenario = _scenario(args)
    _check_name(args.state, scenario.state_codes, "--state")
    end_items = [p.name for p in scenario.products if p.name in scenario.bom().end_item_names]
    _check_name(args.end_item, end_items, "--end-item")

    from webmodel.analysis.exposure.dependency import dependency_map, state_report
    from webmodel.analysis.exposure.stress import wiring_seed
    from webmodel.core.model import CoalitionModel

    maps = []
    for topology in args.topology or TOPOLOGIES:
        model = CoalitionModel(scenario=scenario, topology=topology, rng=wiring_seed(args.seed))
        maps.append(dependency_map(model.network, [args.state]))
    report = state_report(maps, args.state)
    for wiring in report["wirings"].values():
        wiring["roots"] = [
            r
            for r in wiring["roots"]
            if (args.end_item in (None, r["end_item"])) and args.role in ("both", r["role"])
        ]
    report["difference"] = _differences(report)
    if args.parquet:
        _write_flows(maps, args.parquet, args)
    if args.figure:
        from webmodel.analysis.exposure.figures import flow_diagram, heatmap, save_svg_png

        save_svg_png(heatmap(maps), args.figure)
        item = args.end_item or next(
            (r["end_item"] for r in next(iter(report["wirings"].values()))["roots"]), end_items[0]
        )
        stem = Path(args.figure).with_suffix("")
        save_svg_png(flow_diagram(maps, args.state, item), f"{stem}-flow.svg")
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        print()
    else:
        print(_exposure_table(report))
    return 0


def _differences(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Per role, end item and tier: the foreign unit share of each wiring, and web - hub."""
    wirings = report["wirings"]
    if set(wirings) != set(TOPOLOGIES):
        return []
    by_key: dict[tuple, dict[str, float]] = {}
    for topology, wiring in wirings.items():
        for root in wiring["roots"]:
            for tier in root["tiers"]:
                key = (root["role"], root["end_item"], tier["tier"])
                by_key.setdefault(key, {})[topology] = tier["foreign_unit_share"]
    out = []
    for (role, item, tier), shares in by_key.items():
        hub, web = shares.get(TOPOLOGIES[0]), shares.get(TOPOLOGIES[1])
        out.append(
            {
                "role": role,
                "end_item": item,
                "tier": tier,
                "hub_and_spokes": hub,
                "production_web": web,
                "web_minus_hub": None if hub is None or web is None else web - hub,
            }
        )
    return out


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


def _exposure_table(report: dict[str, Any]) -> str:
    state = report["state"]
    lines = []
    for topology, wiring in report["wirings"].items():
        inputs = wiring["firm_inputs"]
        lines.append(
            f"{state}, {topology}: its firms buy {_pct(inputs.get('foreign_unit_share'))} of "
            f"their input units ({_pct(inputs.get('foreign_value_share'))} of value) from abroad"
        )
        for root in wiring["roots"]:
            lines.append(f"  {root['role']} {root['end_item']}:")
            lines.append(
                f"    {'tier':>4}  {'units/wk':>9}  {'foreign':>7}  {'value':>6}  "
                f"{'from':<28}  chokepoints (foreign share)"
            )
            for t in root["tiers"]:
                sources = ", ".join(
                    f"{k} {_pct(v)}" for k, v in list(t["foreign_sources"].items())[:3]
                )
                chokes = ", ".join(
                    f"{c['product']} ({_pct(c['foreign_unit_share'])})" for c in t["chokepoints"]
                )
                lines.append(
                    f"    {t['tier']:>4}  {t['units']:>9.1f}  {_pct(t['foreign_unit_share']):>7}  "
                    f"{_pct(t['foreign_value_share']):>6}  {sources or '-':<28}  {chokes or '-'}"
                )
        lines.append("")
    if report["difference"]:
        lines.append("foreign share of input units, web - hub (percentage points):")
        for d in report["difference"]:
            delta = d["web_minus_hub"]
            shown = "-" if delta is None else f"{100 * delta:+.0f}"
            lines.append(
                f"  {d['role']} {d['end_item']} tier {d['tier']}: hub {_pct(d['hub_and_spokes'])}"
                f", web {_pct(d['production_web'])} ({shown})"
            )
    return "\n".join(lines)


def _write_flows(maps, path: str, args: argparse.Namespace) -> None:
    import pyarrow as pa

    from webmodel.analysis.exposure.dependency import flows_table_columns
    from webmodel.io.output import provenance, write_parquet_atomic

    meta = provenance(
        command="exposure",
        state=args.state,
        scenario=args.scenario or "default",
        firms=str(args.firms or ""),
        root_seed=str(args.seed),
    )
    table = pa.table(flows_table_columns(maps)).replace_schema_metadata(meta)
    write_parquet_atomic(table, path)


# --- stress -----------------------------------------------------------------------------------


def cmd_stress(args: argparse.Namespace) -> int:
    scenario = _scenario(args)
    _check_name(args.state, scenario.state_codes, "--state")
    for product in args.product or ():
        _check_name(product, [p.name for p in scenario.products], "--product")

    from webmodel.analysis.exposure.stress import StressConfig, run_stress
    from webmodel.analysis.sweep.executor import open_workers

    config = StressConfig(
        scenario=args.scenario,
        firms=args.firms,
        topologies=tuple(args.topology or TOPOLOGIES),
        firms_level=args.firms_level,
        start=args.start,
        duration=args.duration,
        recovery_weeks=args.recovery_weeks,
        steps=args.steps,
        root_seed=args.seed,
        products=tuple(args.product or ()),
    )
    config.check()
    out = Path(args.out or ("results/stress-firms" if args.firms_level else "results/stress"))
    with open_workers(args.workers, args.dask, args.dask_local) as workers:
        result = run_stress(config, out, workers, progress={"quiet": args.quiet}, pairs=args.pairs)
    if not result.complete:
        print("webmodel stress: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    if args.json:
        payload: dict[str, Any] = {"ranking": result.rows(), "pairs": result.pairs}
        if args.state:
            payload["by_state"] = _by_state_rows(result, args.state)
        json.dump(payload, sys.stdout, indent=2)
        print()
    else:
        print(_stress_table(result, config, args))
    print(f"webmodel stress: ranking in {out / 'ranking.parquet'}", file=sys.stderr)
    return 0


def _by_state_rows(result, state: str) -> list[dict[str, Any]]:
    cols = result.by_state
    rows = [dict(zip(cols, values, strict=True)) for values in zip(*cols.values(), strict=True)]
    return [r for r in rows if r["state"] == state]


def _weeks(x: int | None) -> str:
    return "none" if x is None else str(x)


def _stress_table(result, config, args: argparse.Namespace) -> str:
    lines = []
    for topology in config.topologies:
        rows = result.rows(topology)
        flagged = sum(r["tts_lt_ttr"] for r in rows)
        lines.append(
            f"{topology}: {len(rows)} nodes down {config.duration} weeks from week {config.start}"
            f" (TTR {config.ttr} weeks); {flagged} with TTS < TTR"
        )
        lines.append(
            f"  {'rank':>4}  {'node':<28} {'firms':>5}  {'loss':>6}  {'TTS':>4}  {'flag':<6} "
            "worst state (loss)"
        )
        for r in rows[: args.top]:
            flag = "TTS<TTR" if r["tts_lt_ttr"] else ""
            lines.append(
                f"  {r['rank']:>4}  {r['node']:<28} {r['n_firms']:>5}  {r['coalition_loss']:>6.2f}"
                f"  {_weeks(r['tts_weeks']):>4}  {flag:<8}{r['worst_state']} "
                f"({r['worst_state_loss']:.2f})"
            )
        if args.state:
            mine = [r for r in _by_state_rows(result, args.state) if r["topology"] == topology]
            lines.append(f"  ranked by {args.state}'s loss:")
            for r in mine[: args.top]:
                flag = "TTS<TTR" if r["tts_lt_ttr"] else ""
                lines.append(
                    f"  {r['rank']:>4}  {r['node']:<28} {r['loss']:>6.2f}  "
                    f"{_weeks(r['tts_weeks']):>4}  {flag}"
                )
        lines.append("")
    if result.pairs:
        lines.append("pairs down together (joint loss vs the two single losses added):")
        for p in result.pairs[: args.top * len(config.topologies)]:
            lines.append(
                f"  {p['topology']:<15} {p['pair']:<44} joint {p['joint_loss']:.2f}, "
                f"singles {p['sum_of_singles']:.2f} ({p['interaction']:+.2f})"
            )
    lines.append(
        "loss: weeks of lost performance (loss area, docs/metrics.md); TTS: weeks "
        "until some end item runs short (none: never within the horizon)"
    )
    return "\n".join(lines)
