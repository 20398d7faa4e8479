"""Each state's exposure (the vulnerability review, docs/exposure.md), for the findings.

For every state of the default scenario and each wiring (root seed 1, the wiring that
``webmodel exposure`` and ``webmodel stress`` build): the share of its firms' direct inputs bought
abroad, how foreign its end items' supply trees are at assembly (tier 0) and below (tiers 1-3),
and - from the stress test (every (product, state) group down 8 weeks from week 10, alone, at
baseline demand) - its worst single point of failure and how many nodes cost it anything.
Runs of its own: the stress test's sweep goes to ``RESULTS/stress`` (not committed; resumable).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from webmodel.analysis.report.document import number, table
from webmodel.coalition.parameters import TOPOLOGIES

EXPOSURE = "exposure"
_SHORT = {"hub-and-spokes": "hub", "production-web": "web"}


def _pct(x: float | None) -> str:
    return "–" if x is None or np.isnan(x) else f"{x:.0%}"


def _range(values: list[float]) -> str:
    if not values:
        return "–"
    low, high = min(values), max(values)
    return _pct(low) if round(low, 2) == round(high, 2) else f"{low:.0%}–{high:.0%}"


def dependency_rows(seed: int = 1) -> list[list[str]]:
    """Per state and wiring: foreign input share of its firms; per end item it consumes, the
    foreign share at assembly and the range over tiers 1-3."""
    from webmodel.analysis.exposure.dependency import dependency_map, state_report
    from webmodel.analysis.exposure.stress import wiring_seed
    from webmodel.core.model import CoalitionModel

    maps = [
        dependency_map(CoalitionModel(topology=t, rng=wiring_seed(seed)).network)
        for t in TOPOLOGIES
    ]
    rows = []
    for state in maps[0].states:
        report = state_report(maps, state)
        for topology, wiring in report["wirings"].items():
            items = []
            for root in wiring["roots"]:
                if root["role"] != "consumes":
                    continue
                tiers = {r["tier"]: r for r in root["tiers"]}
                below = [tiers[t]["foreign_unit_share"] for t in (1, 2, 3) if t in tiers]
                top = tiers[0]["foreign_unit_share"] if 0 in tiers else None
                items.append(f"{root['end_item']} {_pct(top)} / {_range(below)}")
            rows.append(
                [
                    state,
                    _SHORT[topology],
                    _pct(wiring["firm_inputs"].get("foreign_unit_share")),
                    "; ".join(items) or "none (no demand)",
                ]
            )
    return rows


def stress_rows(results: Path, quick: bool) -> tuple[list[list[str]], str]:
    """Per state and wiring: its worst single node (8 weeks down), that loss, the weeks its
    forces last (time to survive), and the nodes that cost it anything."""
    from webmodel.analysis.exposure.stress import StressConfig, run_stress
    from webmodel.analysis.sweep.executor import open_workers

    config = StressConfig(steps=52 if quick else 104)
    with open_workers(2) as workers:
        result = run_stress(config, results / "stress", workers, progress={"quiet": True})
    if not result.complete:
        return [], "the stress test did not complete"
    cols = result.by_state
    by_state = [dict(zip(cols, v, strict=True)) for v in zip(*cols.values(), strict=True)]
    rows = []
    states = list(dict.fromkeys(r["state"] for r in by_state))
    for state in states:
        for topology in config.topologies:
            mine = [r for r in by_state if r["state"] == state and r["topology"] == topology]
            mine.sort(key=lambda r: r["rank"])
            costly = [r for r in mine if r["loss"] > 1e-9]
            top = mine[:3]
            rows.append(
                [
                    state,
                    _SHORT[topology],
                    "; ".join(
                        f"{r['node']} {number(r['loss'])}"
                        + (f" (short after {r['tts_weeks']} wk)" if r["tts_lt_ttr"] else "")
                        for r in top
                        if r["loss"] > 1e-9
                    )
                    or "none",
                    f"{len(costly)} of {len(mine)}",
                ]
            )
    return rows, ""


def exposure_check(out: Path, quick: bool = False) -> str:
    """The exposure section of tables.md (``out`` is results/findings)."""
    lines = [
        "## Each state's exposure (`webmodel exposure`, `webmodel stress`)",
        "",
        "Default scenario, root seed 1 (the wiring both commands build); equilibrium flows for "
        "the dependency map. Method: docs/exposure.md.",
        "",
        "**Foreign dependence** (share of units made abroad): the state's firms' direct inputs; "
        "then, per end item its forces consume, at assembly (tier 0) / over tiers 1–3:",
        "",
        table(
            ["state", "wiring", "firms' inputs from abroad", "end item: assembly / tiers 1–3"],
            dependency_rows(),
            "llrl",
        ),
        "",
    ]
    rows, problem = stress_rows(Path(out).parent, quick)
    lines += [
        "**Worst single points of failure** (each (product, state) group down 8 weeks from week "
        "10 at baseline demand, alone; the state's loss in weeks of its full demand, the three "
        "worst nodes; 'short after' = its forces run short before the node is back):",
        "",
    ]
    lines += (
        [
            table(
                ["state", "wiring", "worst nodes (loss)", "nodes that cost it anything"],
                rows,
                "lllr",
            ),
            "",
        ]
        if rows
        else [problem, ""]
    )
    return "\n".join(lines)
