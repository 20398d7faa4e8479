"""Metrics and disruptions in words: labels, units and definitions, for pages and reports.

One place for what a reader sees beside a number, so the app's hover text, the CLI's tables and
the reports say the same thing. Definitions follow docs/metrics.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from webmodel.coalition.disruptions import Disruption


@dataclass(frozen=True)
class MetricLabel:
    label: str  # what a reader calls it
    unit: str  # "%", "weeks", ...
    definition: str  # one sentence, with the unit
    higher_is_better: bool


METRICS: dict[str, MetricLabel] = {
    "fill_rate": MetricLabel(
        "fill rate",
        "%",
        "End items delivered over end items demanded so far, averaged over the end items "
        "(each end item counted on its own, never added to another); in %.",
        True,
    ),
    "loss_area": MetricLabel(
        "loss area",
        "weeks",
        "Weeks of full demand lost since the first shock: the sum over weeks of 1 − Q(t), "
        "where Q(t) is the share of demand served that week (the resilience triangle).",
        False,
    ),
    "min_performance": MetricLabel(
        "minimum performance",
        "%",
        "The lowest weekly share of demand served, Q(t), since the first shock; in %.",
        True,
    ),
    "time_to_recover": MetricLabel(
        "time to recover",
        "weeks",
        "Weeks from the first shock until Q(t) stays at or above 95 % of demand "
        "(0 if it never fell below); not yet if it has not recovered.",
        False,
    ),
}

_KIND_WORDS = {
    "random": "a random {share} of firms down",
    "targeted": "the {share} most central firms down",
    "assembly": "{target} end-item assembly down",
    "state": "{target} cut off (no trade across its borders)",
    "product": "{target} production down",
    "firm": "firm {target} down",
    "cyber": "a cyber outage at IT vendors serving about {share} of firms",
    "border": "trade between {target} frozen",
}


def _share(target: str | None) -> str:
    head = (target or "").split(":")[0]
    try:
        return f"{100 * float(head):g} %"
    except ValueError:
        return head or "?"


def disruption_in_words(d: Disruption) -> str:
    """E.g. "USA end-item assembly down, weeks 12–19"."""
    target = d.target or ""
    if d.kind == "product" and ":" in target:
        product, state = target.split(":", 1)
        target = f"{product.replace('_', ' ')} in {state}"
    elif d.kind == "product":
        target = target.replace("_", " ")
    elif d.kind == "border":
        target = target.replace("-", " and ")
    words = _KIND_WORDS[d.kind].format(target=target, share=_share(d.target))
    if d.kind == "targeted" and d.target and ":betweenness" in d.target:
        words += " (by betweenness)"
    last = d.start + d.duration - 1
    text = f"{words}, week {d.start}" if last == d.start else f"{words}, weeks {d.start}–{last}"
    if d.severity != 1:
        text += f", losing {100 * d.severity:g} % of capacity"
    if d.recovery == "linear" and d.recovery_weeks:
        text += f", back over {d.recovery_weeks} weeks"
    return text[0].upper() + text[1:]


def format_value(name: str, value: Any) -> str:
    """A metric's value with its unit (None: "–")."""
    if value is None:
        return "–"
    unit = METRICS[name].unit if name in METRICS else ""
    if unit == "%":
        return f"{100 * value:.1f} %"
    if unit == "weeks":
        return f"{value:.2f} weeks" if isinstance(value, float) else f"{value} weeks"
    return f"{value:.3g}"


def difference_in_words(
    name: str, left: Any, right: Any, left_label: str = "hub", right_label: str = "web"
) -> str:
    """Right minus left for one metric, with its sign and what it means, e.g.
    "fill rate: web − hub = +3.1 points (web is better)"."""
    meta = METRICS[name]
    head = f"{meta.label}: {right_label} − {left_label}"
    if left is None or right is None:
        return f"{head}: not comparable yet (a side has no value)"
    diff = right - left
    amount, unit = (100 * diff, " points") if meta.unit == "%" else (diff, " weeks")
    if abs(amount) < 0.05:
        return f"{head} = 0{unit} (the same)"
    better = (diff > 0) == meta.higher_is_better
    return f"{head} = {amount:+.1f}{unit} ({right_label} is {'better' if better else 'worse'})"
