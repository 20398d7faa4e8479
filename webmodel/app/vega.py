"""The app's charts as Vega-Lite specifications: vector (SVG) in the browser, hover for values.

Why Vega-Lite: Solara ships the widget (``solara.widgets.VegaLite``, the one behind
``FigureAltair``), so no Python package is added; its three scripts (vega, vega-lite,
vega-embed, ~830 kB) go into the same offline cache as the rest of the page (``webmodel
assets``); and the server's share of a frame is building a small dict of numbers (about a
millisecond at 104 weeks), while the browser draws. Plotly would need the plotly package
(and anywidget) and re-sends every trace through its widget on each update.

Each chart's spec is built from the models' series for the weeks done so far; the x axis spans
the planned horizon from the start, so the charts do not jump. Colour is the wiring (the app's
palette), dash the end item; disrupted weeks are shaded in the "down" colour.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from webmodel.analysis.palette import DEMAND, DOWN_SHADE, SURGE_MARK, wiring_colours
from webmodel.core.metrics import RECOVERED, end_items, performance
from webmodel.core.metrics import baseline_by_end_item as baseline_by_item
from webmodel.core.metrics import by_end_item as by_item

if TYPE_CHECKING:
    from webmodel.core.model import CoalitionModel

SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
FONT = 13  # px: legible at 1024 px wide with two charts side by side
HEIGHT = 210
DASHES = ([1, 0], [6, 3], [2, 2], [8, 3, 2, 3])
DEMANDED = "demanded"
# vega-embed's options, read from the spec: vector output, and only the actions that work
# offline (saving the picture; no "open in the online editor").
EMBED = {
    "renderer": "svg",
    "actions": {"export": True, "source": False, "compiled": False, "editor": False},
}


def _config() -> dict[str, Any]:
    return {
        "font": "Roboto, Helvetica, Arial, sans-serif",
        "axis": {"labelFontSize": FONT - 1, "titleFontSize": FONT, "grid": True},
        "legend": {
            "labelFontSize": FONT - 1,
            "titleFontSize": FONT,
            "orient": "bottom",
            "symbolType": "stroke",  # a legend entry is a line with its dash
            "symbolStrokeWidth": 2.5,
            "columns": 3,
        },
        "header": {"labelFontSize": FONT, "titleFontSize": FONT},
        "title": {"fontSize": FONT + 2, "anchor": "start"},
        "view": {"stroke": None},
    }


def _rows(weeks: np.ndarray, values: np.ndarray, **fields: Any) -> list[dict[str, Any]]:
    return [
        {"week": int(w), "value": round(float(v), 6), **fields}
        for w, v in zip(weeks, values, strict=True)
    ]


class ChartSpecs:
    """Vega-Lite specs for a pair of models: deliveries, performance, backlog and stockpiles."""

    def __init__(self, models: Sequence[CoalitionModel], labels: Sequence[str], horizon: int):
        self.models = list(models)
        self.labels = list(labels)
        self.horizon = horizon
        first = self.models[0]
        self.items = end_items(first)
        self.item_names = [i.replace("_", " ") for i in self.items]
        self.baseline = baseline_by_item(first)
        self.colours = wiring_colours([m.web_ness for m in self.models])
        self.surge_start = first.surge_start if first.surge != 1.0 else None

    # --- shared pieces -------------------------------------------------------------------------
    def _x(self) -> dict[str, Any]:
        last = max(self.horizon, self.models[0].recorder.weeks_done) + 1
        return {
            "field": "week",
            "type": "quantitative",
            "title": "week",
            "scale": {"domain": [0, last], "nice": False},
        }

    def _wiring(self) -> dict[str, Any]:
        return {
            "field": "wiring",
            "type": "nominal",
            "title": "wiring",
            "scale": {"domain": self.labels, "range": self.colours},
        }

    def _backdrop(self) -> list[dict[str, Any]]:
        """Disrupted weeks (shaded) and the surge's first week (dotted)."""
        layers: list[dict[str, Any]] = []
        spans = [
            {"from": d.start - 0.5, "to": d.end - 0.5, "what": d.spec}
            for d in (s.disruption for s in self.models[0].disruptions)
        ]
        if spans:
            layers.append(
                {
                    "data": {"values": spans},
                    "mark": {"type": "rect", "color": DOWN_SHADE, "opacity": 0.12},
                    "encoding": {
                        "x": {"field": "from", "type": "quantitative"},
                        "x2": {"field": "to"},
                        "tooltip": [{"field": "what", "title": "disruption"}],
                    },
                }
            )
        if self.surge_start is not None:
            layers.append(
                {
                    "data": {"values": [{"week": self.surge_start - 0.5}]},
                    "mark": {"type": "rule", "color": SURGE_MARK, "strokeDash": [2, 3]},
                    "encoding": {"x": {"field": "week", "type": "quantitative"}},
                }
            )
        return layers

    def _tooltip(self, value_title: str, fmt: str) -> list[dict[str, Any]]:
        return [
            {"field": "week", "type": "quantitative", "title": "week"},
            {"field": "wiring", "type": "nominal", "title": "wiring"},
            {"field": "series", "type": "nominal", "title": "series"},
            {"field": "value", "type": "quantitative", "title": value_title, "format": fmt},
        ]

    def _lines(self, rows: list[dict[str, Any]], y: dict[str, Any], tooltip: list) -> dict:
        dash_domain = sorted({r["series"] for r in rows}, key=self._series_order)
        return {
            "data": {"values": rows},
            "mark": {"type": "line", "point": {"size": 22, "filled": True}, "strokeWidth": 2},
            "encoding": {
                "x": self._x(),
                "y": y,
                "color": self._wiring(),
                "strokeDash": {
                    "field": "series",
                    "type": "nominal",
                    "title": "series",
                    "legend": {"symbolStrokeColor": "#333333"},
                    "scale": {
                        "domain": dash_domain,
                        "range": [DASHES[k % len(DASHES)] for k in range(len(dash_domain))],
                    },
                },
                "detail": {"field": "series"},
                "tooltip": tooltip,
            },
        }

    def _series_order(self, name: str) -> tuple[int, str]:
        return (0 if name in self.item_names else 1, name)

    def _chart(self, title: str | dict[str, str], layers: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "$schema": SCHEMA,
            "usermeta": {"embedOptions": EMBED},
            "title": title,
            "width": "container",
            "height": HEIGHT,
            "config": _config(),
            "layer": [*self._backdrop(), *layers],
        }

    # --- the charts ----------------------------------------------------------------------------
    def deliveries(self, k: int) -> dict[str, Any]:
        """Deliveries of end item ``k`` against its demand, units per week (units of different
        end items are never added: one chart each)."""
        first = self.models[0]
        weeks = np.arange(1, first.recorder.weeks_done + 1)
        demanded = by_item(first, "demanded")
        rows = _rows(weeks, demanded[:, k], wiring=DEMANDED, series=DEMANDED)
        for label, model in zip(self.labels, self.models, strict=True):
            delivered = by_item(model, "delivered")
            model_weeks = np.arange(1, len(delivered) + 1)
            rows += _rows(model_weeks, delivered[:, k], wiring=label, series="delivered")
        peak = float(self.baseline[k] * max(1.0, first.surge)) * 1.15
        top = max([peak, *(r["value"] for r in rows)])
        y = {
            "field": "value",
            "type": "quantitative",
            "title": "units per week",
            "scale": {"domain": [0, top]},
        }
        layer = self._lines(rows, y, self._tooltip("units per week", ",.0f"))
        layer["encoding"]["color"]["scale"] = {
            "domain": [DEMANDED, *self.labels],
            "range": [DEMAND, *self.colours],
        }
        return self._chart(f"Deliveries against demand: {self.item_names[k]}", [layer])

    def performance(self) -> dict[str, Any]:
        """Q(t), the share of demand served each week; the loss area shaded."""
        rows: list[dict[str, Any]] = []
        for label, model in zip(self.labels, self.models, strict=True):
            q = performance(model)
            rows += _rows(np.arange(1, len(q) + 1), q, wiring=label, series="Q(t)")
        for row in rows:
            row["full"] = 1.0
        y = {
            "field": "value",
            "type": "quantitative",
            "title": "Q(t): served / demanded",
            "scale": {"domain": [0, 1.08]},
            "axis": {"format": ".0%"},
        }
        # The loss area per wiring, in its colour (a layer each: no second legend).
        loss = [
            {
                "data": {"values": rows},
                "transform": [{"filter": {"field": "wiring", "equal": label}}],
                "mark": {"type": "area", "opacity": 0.15, "color": colour},
                "encoding": {
                    "x": self._x(),
                    "y": {"field": "value", "type": "quantitative"},
                    "y2": {"field": "full"},
                },
            }
            for label, colour in zip(self.labels, self.colours, strict=True)
        ]
        lines = self._lines(rows, y, self._tooltip("Q(t)", ".1%"))
        recovered = {
            "data": {"values": [{"value": RECOVERED}]},
            "mark": {"type": "rule", "color": "#888888", "strokeDash": [4, 3]},
            "encoding": {"y": {"field": "value", "type": "quantitative"}},
        }
        title = {
            "text": "Performance Q(t)",
            "subtitle": f"shaded: the loss area; dashed: recovered ({RECOVERED:.0%})",
        }
        return self._chart(title, [recovered, *loss, lines])

    def backlog(self) -> dict[str, Any]:
        """Backlog owed and stockpiles, in weeks of baseline demand (one scale for all end
        items)."""
        rows: list[dict[str, Any]] = []
        for name, what in (("final_backlog", "backlog owed"), ("state_stock", "stockpile")):
            for label, model in zip(self.labels, self.models, strict=True):
                if name not in model.recorder.data:
                    continue
                weeks_of_demand = by_item(model, name) / np.maximum(self.baseline, 1e-12)
                weeks_of_demand[weeks_of_demand < 1e-9] = 0.0  # rounding, not a stockpile
                model_weeks = np.arange(1, len(weeks_of_demand) + 1)
                for k, item in enumerate(self.item_names):
                    rows += _rows(
                        model_weeks, weeks_of_demand[:, k], wiring=label, series=f"{what}: {item}"
                    )
        y = {"field": "value", "type": "quantitative", "title": "weeks of baseline demand"}
        lines = self._lines(rows, y, self._tooltip("weeks of demand", ".2f"))
        return self._chart("Backlog owed to the states, and their stockpiles", [lines])

    def specs(self) -> list[dict[str, Any]]:
        """Deliveries (one per end item), performance, backlog, for the current week."""
        return [
            *(self.deliveries(k) for k in range(len(self.items))),
            self.performance(),
            self.backlog(),
        ]
