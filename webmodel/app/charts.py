"""The app's charts: both models on the same axes, week by week.

:class:`ComparisonCharts` draws three figures for a pair of models - end-item deliveries
against demand, performance Q(t) with the loss area shaded, and backlog and stockpiles - and
keeps them: each week only the lines' data change. Building a matplotlib figure (axes, ticks,
fonts) costs several times more than drawing it, so reusing the figures keeps a frame short.

The x axis spans the planned horizon from the start and a y axis only ever grows, in round
steps, so the charts do not jump every week and the two models stay comparable at a glance.
That also lets most frames skip redrawing axes and labels altogether (:mod:`app_render`).
Disruptions are shaded; a dotted line marks the surge.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from webmodel.analysis.palette import DEMAND, DOWN_SHADE, HUB, WEB, wiring_colours
from webmodel.app.render import BlitFigure
from webmodel.core.metrics import RECOVERED, end_items, performance
from webmodel.core.metrics import baseline_by_end_item as baseline_by_item
from webmodel.core.metrics import by_end_item as by_item

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from webmodel.core.model import CoalitionModel

# One colour per wiring (hub-and-spokes, web), the same everywhere (webmodel.analysis.palette).
MODEL_COLOURS = (HUB, WEB)
DEMAND_COLOUR = DEMAND
SHADE = DOWN_SHADE
ITEM_STYLES = ("-", "--", ":", "-.")


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 1.5, 2, 3, 5, 7.5 x 10^k at or above ``value`` (a y-axis top)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 1.5, 2, 3, 5, 7.5, 10):
        if step * power >= value * (1 - 1e-12):
            return step * power
    return 10 * power


def _figure(
    cols: int = 1, height: float = 3.0, bottom: float = 0.15, top: float = 0.88
) -> tuple[Figure, np.ndarray]:
    # A fixed layout: matplotlib's constrained layout costs more than drawing the lines.
    fig = Figure(figsize=(6.4, height), dpi=100)
    fig.subplots_adjust(left=0.1, right=0.98, top=top, bottom=bottom, wspace=0.28)
    axes = np.atleast_1d(fig.subplots(1, cols, squeeze=False).ravel())
    for ax in axes:
        ax.grid(True, color="0.92", linewidth=0.6)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        ax.tick_params(labelsize=8)
        ax.set_xlabel("week", fontsize=8)
    return fig, axes


def _grow(ax: Axes, needed: float) -> None:
    """Raise the y-axis top to a round value if the data no longer fits."""
    if needed > ax.get_ylim()[1]:
        ax.set_ylim(0, nice_ceiling(needed * 1.05))


class ComparisonCharts:
    """The three charts of a pair of models, updated in place each week."""

    def __init__(self, models: Sequence[CoalitionModel], labels: Sequence[str], horizon: int):
        self.models = list(models)
        self.labels = list(labels)
        self.horizon = horizon
        self.colours = wiring_colours([m.web_ness for m in self.models])
        first = self.models[0]
        self.items = end_items(first)
        self.baseline = baseline_by_item(first)
        self._spans: list = []
        self._spans_key: tuple = ()
        self._fills: list = []
        self._build_deliveries()
        self._build_performance()
        self._build_backlog()
        self.figures = [self.deliveries, self.performance, self.backlog]
        self.blits = [BlitFigure(fig) for fig in self.figures]
        self.axes = [ax for fig in self.figures for ax in fig.axes]
        for ax in self.axes:
            ax.set_xlim(0, horizon + 1)
            if first.surge != 1.0:
                ax.axvline(first.surge_start - 0.5, color="0.4", linewidth=0.8, linestyle=":")

    # --- building (once) ----------------------------------------------------------------------
    def _build_deliveries(self) -> None:
        fig, axes = _figure(len(self.items), height=3.2, bottom=0.24, top=0.83)
        self.deliveries = fig
        peak = self.baseline * max(1.0, self.models[0].surge)
        self.demand_lines = []
        self.delivered_lines: list[list] = []
        for k, (ax, item) in enumerate(zip(axes, self.items, strict=True)):
            ax.set_title(item.replace("_", " "), fontsize=9)
            ax.set_ylim(0, nice_ceiling(1.15 * peak[k]))
            (line,) = ax.plot(
                [],
                [],
                color=DEMAND_COLOUR,
                linestyle="--",
                linewidth=1.0,
                drawstyle="steps-mid",
                label="demanded",
            )
            self.demand_lines.append(line)
            self.delivered_lines.append(
                [
                    ax.plot([], [], color=colour, linewidth=1.4, label=label, animated=True)[0]
                    for label, colour in zip(self.labels, self.colours, strict=False)
                ]
            )
        axes[0].set_ylabel("units per week", fontsize=8)
        handles, names = axes[0].get_legend_handles_labels()
        fig.legend(handles, names, fontsize=7, frameon=False, loc="lower center", ncols=3)
        fig.suptitle("End-item deliveries against demand", fontsize=10)

    def _build_performance(self) -> None:
        fig, (ax,) = _figure(height=3.0)
        self.performance = fig
        self.performance_ax = ax
        self.q_lines = [
            ax.plot(
                [],
                [],
                color=colour,
                linewidth=1.4,
                drawstyle="steps-mid",
                label=label,
                animated=True,
            )[0]
            for label, colour in zip(self.labels, self.colours, strict=False)
        ]
        ax.axhline(1.0, color="0.3", linewidth=0.8)
        ax.axhline(RECOVERED, color="0.5", linewidth=0.7, linestyle="--")
        ax.text(1, RECOVERED, f" recovered ({RECOVERED:.0%})", fontsize=7, va="bottom", color="0.4")
        ax.set_ylim(0, 1.08)
        ax.set_ylabel("Q(t): served / demanded", fontsize=8)
        # Above the axes: the lines are drawn over the background, legend included.
        ax.legend(
            fontsize=7,
            frameon=False,
            loc="lower right",
            bbox_to_anchor=(1.0, 1.0),
            ncols=2,
            borderaxespad=0.2,
        )
        ax.set_title("Performance Q(t); shaded: the loss area", fontsize=10, loc="left")

    def _build_backlog(self) -> None:
        """End items owed and stockpiled, in weeks of baseline demand (one scale for shells and
        interceptors); line style tells the end item, colour the model."""
        fig, (ax_backlog, ax_stock) = _figure(2, height=3.0, bottom=0.3)
        self.backlog = fig
        self.stock_lines: dict[str, list] = {}
        for ax, name, title in (
            (ax_backlog, "final_backlog", "Backlog owed to the states"),
            (ax_stock, "state_stock", "States' stockpiles"),
        ):
            ax.set_title(title, fontsize=9)
            ax.set_ylim(0, 1.0)
            self.stock_lines[name] = [
                [
                    ax.plot(
                        [],
                        [],
                        color=colour,
                        linestyle=ITEM_STYLES[k % len(ITEM_STYLES)],
                        linewidth=1.2,
                        label=f"{label}: {item.replace('_', ' ')}",
                    )[0]
                    for k, item in enumerate(self.items)
                ]
                for label, colour in zip(self.labels, self.colours, strict=False)
            ]
        ax_backlog.set_ylabel("weeks of baseline demand", fontsize=8)
        handles, names = ax_backlog.get_legend_handles_labels()
        fig.legend(handles, names, fontsize=7, frameon=False, loc="lower center", ncols=2)

    # --- updating (every week) --------------------------------------------------------------
    def update(self) -> None:
        """Put the models' current series into the charts."""
        first = self.models[0]
        weeks = np.arange(1, first.recorder.weeks_done + 1)
        last = max(self.horizon, len(weeks)) + 1
        if last != self.axes[0].get_xlim()[1]:  # stepping past the planned horizon
            for ax in self.axes:
                ax.set_xlim(0, last)
        self._update_spans()

        demanded = by_item(first, "demanded")
        for k, line in enumerate(self.demand_lines):
            line.set_data(weeks, demanded[:, k])
            _grow(line.axes, float(demanded[:, k].max(initial=0.0)))
        for model, lines in zip(self.models, zip(*self.delivered_lines, strict=True), strict=False):
            delivered = by_item(model, "delivered")
            model_weeks = np.arange(1, len(delivered) + 1)
            for k, line in enumerate(lines):
                line.set_data(model_weeks, delivered[:, k])
                _grow(line.axes, float(delivered[:, k].max(initial=0.0)))

        for fill in self._fills:
            fill.remove()
        self._fills = []
        ax = self.performance_ax
        for model, line, colour in zip(self.models, self.q_lines, self.colours, strict=False):
            q = performance(model)
            model_weeks = np.arange(1, len(q) + 1)
            line.set_data(model_weeks, q)
            if len(q):
                self._fills.append(
                    ax.fill_between(
                        model_weeks,
                        q,
                        1.0,
                        where=q < 1.0,
                        color=colour,
                        alpha=0.15,
                        linewidth=0,
                        step="mid",
                    )
                )

        for name, per_model in self.stock_lines.items():
            for model, lines in zip(self.models, per_model, strict=False):
                if name not in model.recorder.data:
                    continue
                weeks_of_demand = by_item(model, name) / np.maximum(self.baseline, 1e-12)
                weeks_of_demand[weeks_of_demand < 1e-9] = 0.0  # rounding, not a stockpile
                model_weeks = np.arange(1, len(weeks_of_demand) + 1)
                for k, line in enumerate(lines):
                    line.set_data(model_weeks, weeks_of_demand[:, k])
                    _grow(line.axes, float(weeks_of_demand[:, k].max(initial=0.0)))

    def _update_spans(self) -> None:
        """Shade the weeks each disruption (of the first model; both get the same) is down."""
        key = tuple(s.disruption for s in self.models[0].disruptions)
        if key == self._spans_key:
            return
        for span in self._spans:
            span.remove()
        self._spans = [
            ax.axvspan(d.start - 0.5, d.end - 0.5, color=SHADE, alpha=0.12, linewidth=0)
            for ax in self.axes
            for d in key
        ]
        self._spans_key = key

    def pngs(self) -> list[bytes]:
        """Deliveries, performance, backlog and stockpiles, as PNG bytes, for the current week.

        Axes, labels and shading are redrawn only when a limit or the shaded weeks change;
        otherwise only the lines are drawn over the kept picture (see :mod:`app_render`).
        """
        self.update()
        animated = [
            [*self.demand_lines, *(line for lines in self.delivered_lines for line in lines)],
            [*self.q_lines, *self._fills],
            [
                line
                for per_model in self.stock_lines.values()
                for lines in per_model
                for line in lines
            ],
        ]
        images = []
        for blit, artists in zip(self.blits, animated, strict=True):
            limits = tuple((ax.get_xlim(), ax.get_ylim()) for ax in blit.figure.axes)
            images.append(blit.png((limits, self._spans_key), artists))
        return images
