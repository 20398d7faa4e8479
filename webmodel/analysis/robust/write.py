"""The robust search's outputs: the fronts as Parquet (with provenance), a figure, a summary.

``front.parquet`` has one row per front point of each wiring: its cost, robustness, mean
outcome, largest regrets, every lever's value (``lever.<name>``) and cost (``cost.<name>``);
``evaluated.parquet`` the same for every candidate evaluated. ``robust.md`` names, per wiring,
the cheapest portfolio within ``within`` of the best robustness and says what the search cost.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from webmodel.analysis.palette import HUB, WEB
from webmodel.analysis.robust.search import Evaluation, RobustResult
from webmodel.io.output import json_safe, provenance, write_parquet_atomic, write_text_atomic

COLOURS = {"hub-and-spokes": HUB, "production-web": WEB}
PICK = "cheapest_within"  # front.parquet: the cheapest portfolio within `within` of the best


def _table(result: RobustResult, rows: list[Evaluation]) -> pa.Table:
    q = result.settings.quantile
    names = [f.name for f in result.levers]
    cost_names = sorted({k for e in rows for k in e.breakdown})
    picks = [result.cheapest_within(w) for w in result.wirings]
    columns: dict[str, list[Any]] = {
        "wiring": [e.wiring for e in rows],
        "generation": [e.generation for e in rows],
        "cost": [e.cost for e in rows],
        f"q{round(q * 100)}_{result.settings.outcome}": [e.robustness(q) for e in rows],
        f"mean_{result.settings.outcome}": [float(np.nanmean(e.outcomes)) for e in rows],
        "max_regret": [e.max_regret for e in rows],
        "max_regret_any_wiring": [e.max_regret_any for e in rows],
        "runs_failed": [e.failed for e in rows],
        PICK: [any(e is p for p in picks) for e in rows],
    }
    for name in names:
        values = [e.levers[name] for e in rows]
        columns[f"lever.{name}"] = [
            json.dumps(v) if isinstance(v, list | tuple) else v for v in values
        ]
    for name in cost_names:
        columns[f"cost.{name}"] = [e.breakdown.get(name, 0.0) for e in rows]
    return pa.table(columns)


def _meta(result: RobustResult) -> dict[str, str]:
    s = result.settings
    return provenance(
        table="robust front",
        experiment=result.experiment.name,
        experiment_sha256=result.experiment.sha256,
        experiment_toml=result.experiment.text,
        root_seed=str(result.experiment.root_seed),
        settings=dataclasses.asdict(s),
        futures=result.futures,
        optimiser="NSGA-II (platypus-opt), unit-cube encoding of the levers",
        robustness=f"quantile {s.quantile} of {s.outcome} over futures (smaller is better)",
        cost_units="$M, one-off, ILLUSTRATIVE defaults unless the scenario's [costs] says more",
    )


def _words(levers: dict[str, Any]) -> str:
    return ", ".join(f"{k} = {_show(v)}" for k, v in levers.items())


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def robust_markdown(result: RobustResult, heading: str = "#", figure: str | None = "") -> str:
    s = result.settings
    q = f"q{round(s.quantile * 100)}"
    lines = [
        f"{heading} Robust portfolios: {result.experiment.name}",
        "",
        f"NSGA-II over {len(result.levers)} levers ({', '.join(f.name for f in result.levers)}) "
        f"for each wiring; {s.population} candidates x {s.generations} generations; each "
        f"candidate run in {len(result.futures)} futures (a Latin hypercube over "
        f"{', '.join(f.name for f in result.experiment.uncertainties)}) x "
        f"{result.experiment.replicates} replicate(s). Robustness = the {s.quantile:.0%} "
        f"quantile of {s.outcome} over the futures ({q}; smaller is better); max regret = the "
        "largest shortfall, over futures, against the best candidate evaluated in that future. "
        "Cost in $M, one-off, from the scenario's `[costs]` (**illustrative defaults**).",
        "",
    ]
    unpriced = _unpriced(result)
    if unpriced:
        lines += [
            f"Note: no stockpile price for {', '.join(unpriced)} (the scenario's `[costs]` "
            "gives none), so their stockpile costs nothing here.",
            "",
        ]
    for wiring in result.wirings:
        front = result.front(wiring)
        pick = result.cheapest_within(wiring)
        lines += [
            f"{heading}# {wiring}: {len(front)} portfolios on the front "
            f"(of {len(result.of(wiring))} evaluated)",
            "",
            f"| cost ($M) | {q} {s.outcome} | mean | max regret | levers |",
            "|---|---|---|---|---|",
        ]
        for e in front:
            lines.append(
                f"| {e.cost:,.0f} | {e.robustness(s.quantile):.3f} | "
                f"{float(np.nanmean(e.outcomes)):.3f} | {e.max_regret:.3f} | {_words(e.levers)} |"
            )
        if pick is not None:
            best = min(e.robustness(s.quantile) for e in front)
            lines += [
                "",
                f"Cheapest within {s.within:.0%} of the best robustness ({best:.3f}): "
                f"**${pick.cost:,.0f}M** — {_words(pick.levers)} ({q} "
                f"{pick.robustness(s.quantile):.3f}).",
            ]
        lines.append("")
    if figure is not None:
        lines += [f"![Cost against robustness, each wiring's front]({figure}front.svg)", ""]
    share = result.outside_share
    lines += [
        f"Search: {result.runs:,} model runs in {result.loop_seconds:.1f} s "
        f"({result.rate:.1f} runs/s on {result.workers}); "
        + (f"{share:.1%} of that time outside the model runs" if share is not None else
           "no runs this time (read back from finished generations)")
        + (f"; {result.runs_read:,} runs read back from finished generations"
           if result.runs_read else "")
        + f". Planning (checking the file and probing the model) took "
        f"{result.wall_seconds - result.loop_seconds:.1f} s more.",
        "",
        "Limits: the costs are illustrative (docs/sources.md, \"Lever costs\"); the futures are "
        "the model's sampled uncertainties, not the world's; a front from a small search is an "
        "estimate of the true front (more generations may find cheaper or more robust "
        "portfolios); "
        f"'within {result.settings.within:.0%}' is relative to the best robustness found.",
        "",
    ]  # fmt: skip
    return "\n".join(lines)


def _unpriced(result: RobustResult) -> tuple[str, ...]:
    from webmodel.coalition.scenario import load_scenario

    path = result.experiment.scenario_path(result.experiment.scenario)
    model = load_scenario(path).costs.models.get("stockpile_weeks")
    return model.unpriced if model is not None else ()


def _figure(result: RobustResult, out: Path, formats: tuple[str, ...]) -> None:
    # Plain Figures, no pyplot: choosing a backend here would change a notebook's or the app's.
    from matplotlib.figure import Figure

    from webmodel.analysis.report.figures import save, style

    q = result.settings.quantile
    with style():
        fig = Figure(figsize=(6, 4))
        ax = fig.subplots()
        for wiring in result.wirings:
            colour = COLOURS.get(wiring, "#666666")
            every = result.of(wiring)
            ax.scatter([e.cost for e in every], [e.robustness(q) for e in every], s=8,
                       color=colour, alpha=0.25)  # fmt: skip
            front = result.front(wiring)
            ax.plot([e.cost for e in front], [e.robustness(q) for e in front], "-o", ms=4,
                    color=colour, label=f"{wiring} front")  # fmt: skip
            pick = result.cheapest_within(wiring)
            if pick is not None:
                ax.scatter([pick.cost], [pick.robustness(q)], s=120, marker="*", color=colour,
                           edgecolor="black", zorder=3)  # fmt: skip
        ax.set_xlabel("portfolio cost ($M, illustrative)")
        ax.set_ylabel(f"{q:.0%} quantile of {result.settings.outcome} over futures")
        ax.set_title("Robust portfolios (star: cheapest within "
                     f"{result.settings.within:.0%} of the best)", fontsize=9)  # fmt: skip
        ax.legend(fontsize=8)
        save(fig, out, "front", formats)


def _earlier_timing(out: Path) -> dict[str, Any] | None:
    """The timing of the invocation that ran the generations, if this folder has it."""
    try:
        data = json.loads((out / "timing.json").read_text())
    except (OSError, ValueError):
        return None
    keys = ("runs", "slots", "loop_seconds", "run_seconds", "workers")
    if not all(data.get(k) is not None for k in keys) or not data["runs"]:
        return None
    return data


def write_robust(
    result: RobustResult, out: str | Path, formats: tuple[str, ...] = ("svg", "png")
) -> Path:
    """front.parquet, evaluated.parquet, front.svg/png and robust.md in ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    earlier = _earlier_timing(out) if result.runs == 0 else None
    if earlier is not None:  # every generation read back: keep the speed measured when it ran
        result.runs, result.slots = int(earlier["runs"]), int(earlier["slots"])
        result.loop_seconds, result.run_seconds = earlier["loop_seconds"], earlier["run_seconds"]
        result.workers = f"{earlier['workers']}, measured when the generations ran"
    meta = _meta(result)
    fronts = [e for w in result.wirings for e in result.front(w)]
    write_parquet_atomic(
        _table(result, fronts).replace_schema_metadata(meta), out / "front.parquet"
    )
    write_parquet_atomic(
        _table(result, result.evaluations).replace_schema_metadata(meta), out / "evaluated.parquet"
    )
    _figure(result, out, formats)
    timing = {
        "runs": result.runs, "runs_read": result.runs_read, "loop_seconds": result.loop_seconds,
        "wall_seconds": result.wall_seconds, "run_seconds": result.run_seconds,
        "slots": result.slots, "runs_per_second": result.rate,
        "outside_share": result.outside_share, "workers": result.workers,
    }  # fmt: skip
    write_text_atomic(
        out / "timing.json",
        json.dumps(json_safe(timing), indent=2) + "\n",
    )
    path = out / "robust.md"
    write_text_atomic(path, robust_markdown(result))
    return path
