"""A discovery's boxes as an analyst reads them: Markdown, JSON and two figures (SVG + PNG).

The words say each box's limits as conditions ("suppliers per input ≤ 2 and stockpile weeks
≤ 2.9"), what share of the cases of interest it holds (coverage) and how many of its runs are
cases (density); each limit carries its quasi-p-value.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from webmodel.analysis.discovery.prim import Box, Discovery, Limit
from webmodel.analysis.palette import DOWN, END_ITEM_COLOURS, WEB
from webmodel.coalition.parameters import SPECS
from webmodel.io.output import json_safe, provenance, write_text_atomic


def _number(value: float, integer: bool) -> str:
    return f"{round(value):d}" if integer else f"{value:.3g}"


def _level_words(level: str) -> str:
    """A disruption spec in words where it parses as one, else the level as stored."""
    from webmodel.coalition.disruptions import DisruptionError, parse_disruption
    from webmodel.core.labels import disruption_in_words

    try:
        words = disruption_in_words(parse_disruption(level))
        first = words.split(" ", 1)[0]
        return words if first.isupper() and len(first) > 1 else words[:1].lower() + words[1:]
    except (DisruptionError, ValueError, KeyError):
        return level


def limit_words(limit: Limit) -> str:
    """One limit as a condition: 'suppliers per input ≤ 2', 'disruptions: a or b'."""
    name = limit.factor.replace("_", " ")
    if limit.categorical:
        kept = [_level_words(level) for level in limit.levels]
        if len(kept) == 1:
            return f"{name} = {kept[0]}"
        return f"{name} is one of: {'; '.join(kept)}" if kept else f"{name}: none of its levels"
    spec = SPECS.get(limit.factor)
    integer = spec is not None and spec.kind == "int"
    unit = f" {spec.unit}" if spec is not None and spec.unit and spec.unit not in name else ""
    assert limit.low is not None and limit.high is not None
    low = limit.full_low is not None and limit.low > limit.full_low
    high = limit.full_high is not None and limit.high < limit.full_high
    lo, hi = _number(limit.low, integer), _number(limit.high, integer)
    if low and high:
        return f"{lo} ≤ {name} ≤ {hi}{unit}"
    if high:
        return f"{name} ≤ {hi}{unit}"
    return f"{name} ≥ {lo}{unit}"


def box_words(box: Box) -> str:
    """'when A and B' for a box's limits."""
    if not box.limits:
        return "anywhere (the box restricts nothing)"
    return "when " + " and ".join(limit_words(limit) for limit in box.limits)


def _p(value: float | None) -> str:
    if value is None:
        return "–"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def discovery_markdown(found: Discovery, heading: str = "#", figures: str = "") -> str:
    """The Markdown of a discovery (``figures``: the folder of its figures, relative)."""
    unit = "web/hub pairs" if found.paired else "runs"
    lines = [
        f"{heading} Scenario discovery: `{found.where}`",
        "",
        f"Over {found.rows:,} {unit} of `{found.source}`, the condition holds in "
        f"{found.cases:,} ({found.share:.1%})."
        + (f" {found.dropped:,} {unit} lacked a value it needs and are left out."
           if found.dropped else ""),
        "Factors searched: "
        + ", ".join(f"`{f}` ({found.roles.get(f, '?')})" for f in found.factors)
        + ".",
        "",
    ]  # fmt: skip
    if not found.boxes:
        lines += ["PRIM found no box.", ""]
    for box in found.boxes:
        lines += [
            f"{heading}# Box {box.index + 1}: {box_words(box)}",
            "",
            f"Coverage {box.coverage:.1%} (of all cases of interest), density {box.density:.1%} "
            f"(of the box's {box.n:,} {unit}; overall {found.share:.1%}), mass {box.mass:.1%}; "
            f"step {box.step} of {len(box.trajectory) - 1} on the peeling trajectory.",
            "",
            "| factor | role | limits | quasi-p (low) | quasi-p (high) |",
            "|---|---|---|---|---|",
        ]
        for limit in box.limits:
            lines.append(
                f"| `{limit.factor}` | {limit.role} | {limit_words(limit)} | "
                f"{_p(limit.p_low)} | {_p(limit.p_high)} |"
            )
        lines += [
            "",
            "<details><summary>Peeling trajectory</summary>",
            "",
            "| step | coverage | density | mass | restricted factors |",
            "|---|---|---|---|---|",
            *(
                f"| {int(r.id)}{' (chosen)' if int(r.id) == box.step else ''} | "
                f"{r.coverage:.1%} | {r.density:.1%} | {r.mass:.1%} | {int(r.res_dim)} |"
                for r in box.trajectory.itertuples(index=False)
            ),
            "",
            "</details>",
            "",
        ]
    if figures is not None:
        lines += [
            f"![Peeling trajectory: coverage against density]({figures}trajectory.svg)",
            "",
            f"![The boxes' limits within each factor's range]({figures}boxes.svg)",
            "",
        ]
    lines += [
        "PRIM (Friedman & Fisher 1999) through EMA Workbench's `prim.Prim` (peel alpha "
        f"{found.settings.get('peel_alpha')}, minimum mass {found.settings.get('mass_min')}). "
        "The box on each trajectory is the densest with coverage ≥ "
        f"{found.settings.get('min_coverage')}, at most {found.settings.get('max_dims')} "
        f"restricted factors and every quasi-p ≤ {found.settings.get('max_p')} "
        "(docs/discovery.md). A quasi-p-value (Bryant & Lempert 2010) is the chance of the "
        "box's density if that limit were dropped: small = the limit matters. The boxes "
        "describe the model's sampled space, not the world.",
        "",
    ]
    return "\n".join(lines)


def _figures(found: Discovery, out: Path, formats: tuple[str, ...]) -> None:
    # Plain Figures, no pyplot: choosing a backend here would change a notebook's or the app's.
    from matplotlib.figure import Figure

    from webmodel.analysis.report.figures import save, style

    with style():
        fig = Figure(figsize=(6, 4))
        ax = fig.subplots()
        for box in found.boxes:
            t = box.trajectory
            ax.plot(t["coverage"], t["density"], "-", color="#BBBBBB", lw=0.8, zorder=1)
            dims = t["res_dim"].to_numpy()
            for d in sorted(set(dims)):
                sel = dims == d
                ax.scatter(
                    t["coverage"][sel], t["density"][sel], s=14, zorder=2,
                    color=END_ITEM_COLOURS[int(d) % len(END_ITEM_COLOURS)],
                    label=f"{int(d)} restricted" if box.index == 0 else None,
                )  # fmt: skip
            ax.scatter([box.coverage], [box.density], s=90, marker="*", color=DOWN, zorder=3)
            ax.annotate(f"box {box.index + 1}", (box.coverage, box.density),
                        textcoords="offset points", xytext=(6, 4), fontsize=8)  # fmt: skip
        ax.axhline(found.share, color="#666666", ls=":", lw=0.8)
        ax.set_xlabel("coverage (share of the cases of interest in the box)")
        ax.set_ylabel("density (share of the box that is a case)")
        ax.set_title(f"PRIM peeling trajectory: {found.where}", fontsize=9)
        ax.set_xlim(0, 1.02)
        ax.set_ylim(0, 1.02)
        if found.boxes:
            ax.legend(fontsize=7, loc="lower left")
        save(fig, out, "trajectory", formats)

        rows = [(box, limit) for box in found.boxes for limit in box.limits]
        fig = Figure(figsize=(4.5, 0.6 + 0.5 * max(len(rows), 1)))
        ax = fig.subplots()
        for y, (_box, limit) in enumerate(reversed(rows)):
            if limit.categorical:
                share = len(limit.levels) / max(len(limit.all_levels), 1)
                ax.barh(y, share, left=0, color=WEB, alpha=0.35, hatch="//")
            else:
                span = (limit.full_high or 1) - (limit.full_low or 0) or 1
                a = (limit.low - (limit.full_low or 0)) / span
                b = (limit.high - (limit.full_low or 0)) / span
                ax.barh(y, b - a, left=a, color=WEB, alpha=0.6)
            ax.text(1.02, y, textwrap.fill(limit_words(limit), 70), va="center", fontsize=6)
        ax.set_yticks(range(len(rows)))
        ax.set_yticklabels([f"box {b.index + 1}: {lim.factor}" for b, lim in reversed(rows)],
                           fontsize=7)  # fmt: skip
        ax.set_xlim(0, 1)
        ax.set_xlabel("share of the factor's sampled range (categories: of its levels)")
        ax.set_title("Box limits", fontsize=9)
        save(fig, out, "boxes", formats)


def write_discovery(
    found: Discovery, out: str | Path, formats: tuple[str, ...] = ("svg", "png")
) -> Path:
    """discovery.md, discovery.json, trajectory.* and boxes.* in ``out``; returns the .md."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    data = {
        **found.as_dict(),
        **provenance(table="scenario discovery"),
        "seconds": round(found.seconds, 3),
    }
    write_text_atomic(out / "discovery.json", json.dumps(json_safe(data), indent=2) + "\n")
    _figures(found, out, formats)
    path = out / "discovery.md"
    write_text_atomic(path, discovery_markdown(found))
    return path
