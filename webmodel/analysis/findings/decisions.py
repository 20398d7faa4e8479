"""Two decision sections of the findings: "Where the web fails" and "What to buy".

- *Where the web fails*: PRIM (scenario discovery, :mod:`webmodel.analysis.discovery`) on the
  study's Sobol' sensitivity design (``results/sensitivity``): the boxes of the sampled space
  where the production web loses more than hub-and-spokes (paired loss area > 0), in words.
- *What to buy*: the robust search's fronts (``results/robust``, from ``webmodel robust
  experiments/robust.toml``): for each wiring, the cheapest portfolio within 10 % of the best
  robustness, and whether the wiring changes which levers are bought.

Both write under ``results/findings/`` (``decisions.md`` and the folders it links) and return
the same Markdown for ``tables.md``. They state numbers and their limits, no judgement beyond
the comparisons they compute.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from webmodel.io.output import write_text_atomic

SECTION = "decisions"
WHERE = "web_minus_hub.loss_area > 0"
LIMITS = (
    "Limits: the boxes and the fronts describe the model's sampled space - its uncertainty "
    "ranges, its scenario, its disruptions of 8 weeks - not the world's; the lever costs are "
    'illustrative defaults (docs/sources.md, "Lever costs"), so the fronts show how the '
    "model trades cost against robustness under those costs, not what the levers cost; a "
    "small search estimates its front; PRIM's boxes are chosen by a fixed rule "
    "(docs/discovery.md) and other points on the trajectory trade coverage for density."
)


def where_the_web_fails(results: Path, out: Path) -> str:
    """The PRIM section; '' and a note when the sensitivity sweep has no results."""
    from webmodel.analysis.discovery import discover, write_discovery
    from webmodel.analysis.discovery.frame import outcome_frame
    from webmodel.analysis.discovery.write import box_words, discovery_markdown

    folder = results / "sensitivity"
    try:
        frame = outcome_frame(folder, paired=True)
    except ValueError:
        return (
            "## Where the web fails\n\nNo results: run `uv run webmodel sweep "
            "experiments/sensitivity.toml`.\n"
        )
    broad = discover(folder, WHERE, frame=frame, boxes=2)
    # The densest box that still holds a quarter of the cases, however many factors it needs:
    # how concentrated the web's losses are, at the price of interpretability.
    dense = discover(
        folder,
        WHERE,
        frame=frame,
        boxes=1,
        min_coverage=0.25,
        max_dims=len(frame.factors),
        max_p=1.0,
    )
    write_discovery(broad, out / "where-the-web-fails")
    write_discovery(dense, out / "where-the-web-fails-dense")
    lines = [
        "## Where the web fails",
        "",
        f"Scenario discovery (PRIM) on the sensitivity design: over {broad.rows:,} web/hub "
        f"pairs (same sampled values and seed), the production web's loss area exceeds "
        f"hub-and-spokes' in {broad.cases:,} ({broad.share:.1%}).",
        "",
    ]
    views = (
        ("Broad box (coverage ≥ 50 %, at most 3 factors)", broad),
        ("Dense box (coverage ≥ 25 %, any number of factors)", dense),
    )
    for label, found in views:
        for box in found.boxes:
            lines.append(
                f"- **{label}, box {box.index + 1}**: the web loses more {box_words(box)}. "
                f"This box holds {box.coverage:.0%} of the cases where the web loses more, and "
                f"{box.density:.0%} of the pairs in it are such cases (overall "
                f"{found.share:.1%}; {box.density / found.share:.1f}x as likely), over "
                f"{box.mass:.0%} of the sampled space; {len(box.limits)} factor(s) restricted."
            )
    lines += [
        "",
        "The boxes with their quasi-p-values and peeling trajectories: "
        "[where-the-web-fails/discovery.md](where-the-web-fails/discovery.md), "
        "[where-the-web-fails-dense/discovery.md](where-the-web-fails-dense/discovery.md).",
        "",
        discovery_markdown(broad, heading="###", figures="where-the-web-fails/"),
    ]
    return "\n".join(lines)


def _levers_table(front, levers: list[str], q: str) -> list[str]:
    head = "| cost ($M) | " + q + " | " + " | ".join(f"`{n}`" for n in levers) + " |"
    lines = [head, "|" + "---|" * (len(levers) + 2)]
    for row in front.itertuples(index=False):
        values = row._asdict()
        cells = [_show(values[f"lever_{n}"]) for n in levers]
        lines.append(f"| {values['cost']:,.0f} | {values['q']:.3f} | " + " | ".join(cells) + " |")
    return lines


def _show(value) -> str:
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, float | np.floating):
        return f"{value:.3g}"
    return str(value)


def what_to_buy(results: Path, out: Path) -> str:
    """The robust-portfolio section, from ``results/robust/front.parquet``."""
    import pyarrow.parquet as pq

    from webmodel.analysis.robust.write import PICK

    folder = results / "robust"
    path = folder / "front.parquet"
    if not path.is_file():
        return (
            "## What to buy\n\nNo results: run `uv run webmodel robust experiments/robust.toml`.\n"
        )
    table = pq.read_table(path)
    settings = json.loads(table.schema.metadata[b"settings"])
    front = table.to_pandas()
    qname = next(c for c in front.columns if c.startswith("q") and c[1:3].isdigit())
    front = front.rename(columns={qname: "q"})
    front.columns = [c.replace(".", "_") for c in front.columns]
    levers = [c.removeprefix("lever_") for c in front.columns if c.startswith("lever_")]
    lines = [
        "## What to buy",
        "",
        f"The robust search (`webmodel robust experiments/robust.toml`): for each wiring, the "
        f"Pareto front of portfolio cost ($M, illustrative) against `{qname}` (the "
        f"{settings['quantile'] * 100:g}th percentile of {settings['outcome'].replace('_', ' ')} "
        "over the sampled futures; "
        "smaller is better). The full summary, with regrets and the search's speed: "
        "[../robust/robust.md](../robust/robust.md) (figure: `results/robust/front.svg`).",
        "",
    ]
    picks = {}
    for wiring, rows in front.groupby("wiring", sort=False):
        rows = rows.sort_values("cost")
        best = float(rows["q"].min())
        pick = rows[rows[PICK]].iloc[0]  # as the search chose it (robust.md names the same)
        picks[wiring] = pick
        lines += [f"### {wiring}", "", *_levers_table(rows, levers, qname), ""]
        lines.append(
            f"Cheapest within {settings['within'] * 100:g} % of the best robustness ({best:.3f}): "
            f"${pick['cost']:,.0f}M, {qname} {pick['q']:.3f}: "
            + ", ".join(f"{n} = {_show(pick[f'lever_{n}'])}" for n in levers)
            + "."
        )
        lines.append("")
    if len(picks) == 2:
        (wa, a), (wb, b) = picks.items()
        lines += [
            "### Does the wiring change what is worth buying?",
            "",
            f"| lever | {wa} | {wb} |",
            "|---|---|---|",
            *(f"| `{n}` | {_show(a[f'lever_{n}'])} | {_show(b[f'lever_{n}'])} |" for n in levers),
            f"| cost ($M) | {a['cost']:,.0f} | {b['cost']:,.0f} |",
            f"| {qname} | {a['q']:.3f} | {b['q']:.3f} |",
            "",
        ]
        cheaper = min(picks, key=lambda w: picks[w]["cost"])
        robust = min(picks, key=lambda w: picks[w]["q"])
        lines.append(f"Of the two picks, {cheaper} is the cheaper and {robust} the more robust.")
        for wiring, other in ((wa, wb), (wb, wa)):
            target = float(front[front["wiring"] == other]["q"].min())
            reach = front[(front["wiring"] == wiring) & (front["q"] <= target)]
            if len(reach):
                lines.append(
                    f"{wiring} reaches {other}'s best robustness ({target:.3f}) from "
                    f"${reach['cost'].min():,.0f}M."
                )
            else:
                lines.append(f"No {wiring} portfolio found reaches {other}'s best ({target:.3f}).")
        differ = [
            f"`{n}` ({_show(a[f'lever_{n}'])} vs {_show(b[f'lever_{n}'])})"
            for n in levers
            if _show(a[f"lever_{n}"]) != _show(b[f"lever_{n}"])
        ]
        if differ:
            lines.append(
                "The picks differ in " + ", ".join(differ) + f" ({wa} vs {wb}): these are the "
                "levers whose worth the wiring changes, in this search; neighbouring front "
                "points show how flat the front is around each pick."
            )
        lines.append("")
    lines += [LIMITS, ""]
    return "\n".join(lines)


def section(results: str | Path, out: str | Path, log: Callable[[str], None] = print) -> str:
    """Both sections; writes ``out/decisions.md`` and returns its text (for tables.md)."""
    results, out = Path(results), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    text = "\n".join(
        [
            "# Decisions under deep uncertainty",
            "",
            "Generated by `uv run webmodel findings` (its `decisions` section) from "
            "`results/sensitivity` and `results/robust`; do not edit by hand.",
            "",
            where_the_web_fails(results, out),
            what_to_buy(results, out),
            "",
            LIMITS,
            "",
        ]
    )
    write_text_atomic(out / "decisions.md", text)
    log(f"findings: decisions -> {out / 'decisions.md'}")
    return text
