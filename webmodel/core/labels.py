"""Every metric in words: its label, unit, one-line definition, bounds and how it is shown.

One table for the command line, the reports and the app, so a metric reads the same
everywhere. Pure data and string formatting: no numpy, no model import (``webmodel --help``
and the app's page import it cheaply). The formulas are in ``docs/metrics.md``; the names are
:data:`webmodel.core.metrics.METRIC_NAMES` (a test keeps the two in step).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from webmodel.coalition.disruptions import Disruption


@dataclass(frozen=True)
class MetricLabel:
    """How one metric is named, measured and shown.

    ``kind`` decides the display: "share" as a percentage, "weeks" and "ratio" as numbers with
    ``decimals`` places. ``bounds`` are the values the metric can take (None = unbounded), so a
    summary never reports an interval outside them. ``summary`` says how a report pools runs
    (``webmodel.analysis.report.stats.estimate``): "mean" (Student t interval), "bootstrap"
    (a bounded or skewed metric: mean with a BCa bootstrap interval, within the bounds), or
    "median" (a time to reach a level, absent where never reached and often bimodal: the share
    of runs reaching it and the median of those that do, with a bootstrap interval).
    """

    name: str
    label: str
    unit: str
    definition: str
    kind: str  # "share", "weeks", "ratio", "index"
    bounds: tuple[float | None, float | None]
    decimals: int = 2
    null_when: str = "never"  # when the metric does not apply (docs/metrics.md, "null when")
    summary: str = "mean"  # "mean", "bootstrap" or "median": how runs are pooled (see above)

    def show(self, value: float | None, reason: str | None = None) -> str:
        """The value with its unit, e.g. ``68.6 %`` or ``17.08 weeks``; a missing value as
        ``n/a (reason)``."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return f"n/a ({reason})" if reason else "n/a"
        return f"{self.number(value)}{self.suffix()}"

    def number(self, value: float) -> str:
        """The number alone, in the metric's display scale (a share as percent)."""
        if self.kind == "share":
            return f"{100 * value:.{self.decimals}f}"
        if float(value).is_integer() and self.kind == "weeks" and self.decimals == 0:
            return f"{int(value)}"
        return f"{value:,.{self.decimals}f}"

    def suffix(self) -> str:
        """The unit as written after a number."""
        if self.kind == "share":
            return " %"
        if self.kind == "weeks":
            return " weeks"
        if self.name == "peak_over_baseline":
            return " x baseline"
        return ""

    @property
    def plain_unit(self) -> str:
        """The unit of the raw value (a share as 0-1, as sweeps store it): "share of demand"."""
        return self.unit.replace("% of", "share of") if self.kind == "share" else self.unit

    def heading(self) -> str:
        """``label (unit)``, for a table's column or row."""
        return f"{self.label} ({self.unit})"


_WEEKS_LOST = "weeks of full demand lost"

METRIC_WORDS: dict[str, MetricLabel] = {
    m.name: m
    for m in (
        MetricLabel(
            "fill_rate",
            "fill rate",
            "% of demand",
            "what the forces received over the run as a share of what they demanded, "
            "per end item, then averaged over end items (each counts equally)",
            "share",
            (0.0, 1.0),  # received never exceeds demanded: the backlog served is demand too
            1,
            null_when="no weeks run",
            summary="bootstrap",
        ),
        MetricLabel(
            "loss_area",
            "demand lost",
            _WEEKS_LOST,
            "the resilience triangle: sum over weeks from the shock of the share of demand "
            "not met (average over end items)",
            "weeks",
            (0.0, None),
            null_when="no shock (no surge, no disruption)",
        ),
        MetricLabel(
            "min_performance",
            "worst week",
            "% of demand",
            "the lowest weekly share of demand met from the shock on (average over end items)",
            "share",
            (0.0, 1.0),  # the first week off equilibrium is a shortfall, so the lowest is <= 1
            1,
            null_when="no shock (no surge, no disruption)",
            summary="bootstrap",
        ),
        MetricLabel(
            "time_to_recover",
            "time to recover",
            "weeks",
            "weeks from the shock until the share of demand met stays at 95 % or more",
            "weeks",
            (0.0, None),
            0,
            null_when="no shock, or not recovered by the horizon",
            summary="median",
        ),
        MetricLabel(
            "time_to_surge_target",
            "time to surge target",
            "weeks",
            "weeks from the surge start until 90 % of the surged demand is first met",
            "weeks",
            (0.0, None),
            0,
            null_when="no surge, or the target never reached",
            summary="median",
        ),
        MetricLabel(
            "peak_over_baseline",
            "peak deliveries",
            "x baseline",
            "the best week's deliveries over baseline demand (average over end items): "
            "how far output surged",
            "ratio",
            (0.0, None),
            null_when="no weeks run",
        ),
        MetricLabel(
            "backlog_end",
            "owed at the end",
            "weeks of baseline demand",
            "end items ordered by the states and not yet shipped at the horizon, in weeks of "
            "baseline demand (average over end items)",
            "weeks",
            (0.0, None),
            null_when="no weeks run",
        ),
        MetricLabel(
            "amplification",
            "amplification (v1)",
            "ratio",
            "output lost by all firms over output lost by the hit firms, all weeks (version 1, "
            "kept for published results; not ARIO's)",
            "ratio",
            (0.0, None),
            null_when="no capacity lost directly",
        ),
        MetricLabel(
            "amplification_gross",
            "amplification",
            "ratio",
            "ARIO's: every firm's output shortfall over the capacity the disruption removed "
            "(x its baseline use), from the shock on; 1 = no knock-on loss, 3 = the shock "
            "cost three times its direct loss",
            "ratio",
            (0.0, None),
            null_when="no firm disruption",
        ),
        MetricLabel(
            "amplification_net",
            "net amplification",
            "ratio",
            "as amplification, with output above baseline (catching up) netted; below 0 when "
            "firms made more than at baseline over the window",
            "ratio",
            (None, None),
            null_when="no firm disruption",
        ),
        MetricLabel(
            "loss_area_value",
            "value of demand lost",
            _WEEKS_LOST,
            "demand lost with end items weighted by their embodied cost instead of equally",
            "weeks",
            (0.0, None),
            null_when="no shock (no surge, no disruption)",
        ),
        MetricLabel(
            "supplier_hhi",
            "supplier concentration",
            "index 0-1, 1 = single source",
            "mean over firms' inputs of the Herfindahl index of order shares, at the end",
            "index",
            (0.0, 1.0),
            3,
            summary="bootstrap",
        ),
        MetricLabel(
            "hub_assembly_share",
            "assembly in the hub state",
            "% of assembly capacity",
            "share of end-item assembly capacity located in the hub state",
            "share",
            (0.0, 1.0),
            1,
            summary="bootstrap",
        ),
        MetricLabel(
            "cross_border_share",
            "links across a border",
            "% of supplier links",
            "share of supplier links whose two ends are in different states, at the end",
            "share",
            (0.0, 1.0),
            1,
            summary="bootstrap",
        ),
    )
}


def label_of(name: str) -> MetricLabel:
    """The label of a metric by name; an unknown name gets a plain fallback, never an error
    (sweeps may carry columns a newer version added)."""
    return METRIC_WORDS.get(name) or MetricLabel(name, name, "", "", "ratio", (None, None), 4)


def show(name: str, value: float | None, reason: str | None = None) -> str:
    """``label_of(name).show(value, reason)``."""
    return label_of(name).show(value, reason)


def clip(name: str, value: float | None) -> float | None:
    """``value`` held within the metric's bounds (an interval's end, say); None stays None."""
    if value is None:
        return None
    low, high = label_of(name).bounds
    if low is not None and value < low:
        return low
    if high is not None and value > high:
        return high
    return value


# --- the app's short form: a metric's hover text and which way is better ---------------------


@dataclass(frozen=True)
class MetricHint:
    """What the app shows beside a metric card: label, unit, definition (from
    :data:`METRIC_WORDS`), and which direction is better, for the web − hub card's words."""

    label: str
    unit: str  # "%" for shares, "weeks", or the metric's own unit
    definition: str
    higher_is_better: bool


def _hint(name: str, higher_is_better: bool) -> MetricHint:
    words = METRIC_WORDS[name]
    unit = {"share": "%", "weeks": "weeks"}.get(words.kind, words.unit)
    return MetricHint(words.label, unit, words.definition, higher_is_better)


METRICS: dict[str, MetricHint] = {
    "fill_rate": _hint("fill_rate", True),
    "loss_area": _hint("loss_area", False),
    "min_performance": _hint("min_performance", True),
    "time_to_recover": _hint("time_to_recover", False),
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
