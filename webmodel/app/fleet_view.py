"""The app's fleet view: for a scenario with service end items (ship repair), a card with each
wiring's fleet availability and repair backlog, and a chart of fleet availability by week.

Kept apart from the other charts (one hook in ``page.Dashboard``); nothing shows for a scenario
without services. The numbers are those of ``webmodel.core.services.service_metrics``.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence

import numpy as np
import solara
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from webmodel.app.charts import ITEM_STYLES, MODEL_COLOURS
from webmodel.app.live import Weekly, live_image, live_text
from webmodel.app.pair import ModelPair
from webmodel.core.model import CoalitionModel
from webmodel.core.services import ServiceSlots


def fleet_availability(model: CoalitionModel) -> dict[str, np.ndarray]:
    """Per service item, the share of all its fleets out of maintenance, week by week."""
    svc = ServiceSlots.of(model.network)
    out: dict[str, np.ndarray] = {}
    if not svc.any:
        return out
    ships = model.series("in_maintenance")[:, svc.slots]
    items = [model.slot_items[k] for k in svc.slots]
    for item in dict.fromkeys(items):
        cols = np.array([i == item for i in items])
        fleet = svc.fleet[cols].sum()
        out[item] = (fleet - ships[:, cols].sum(axis=1)) / fleet
    return out


def fleet_card_values(model: CoalitionModel) -> dict[str, dict[str, float]]:
    """Per service item: availability this week and its lowest so far, ships waiting now."""
    svc = ServiceSlots.of(model.network)
    values: dict[str, dict[str, float]] = {}
    if not svc.any or model.week == 0:
        return values
    waiting = model.series("repair_backlog")[-1, svc.slots]
    items = [model.slot_items[k] for k in svc.slots]
    for item, series in fleet_availability(model).items():
        cols = np.array([i == item for i in items])
        values[item] = {
            "now": float(series[-1]),
            "lowest": float(series.min()),
            "waiting": float(waiting[cols].sum()),
        }
    return values


def fleet_figure(models: Sequence[CoalitionModel], labels: Sequence[str], horizon: int) -> Figure:
    """Fleet availability by week, one colour per wiring, one line style per service item."""
    figure = Figure(figsize=(6.4, 3.0), dpi=100, layout="constrained")
    ax = figure.add_subplot()
    for k, (model, label) in enumerate(zip(models, labels, strict=True)):
        for j, (item, series) in enumerate(fleet_availability(model).items()):
            weeks = np.arange(1, len(series) + 1)
            ax.plot(
                weeks,
                100 * series,
                color=MODEL_COLOURS[k % len(MODEL_COLOURS)],
                linestyle=ITEM_STYLES[j % len(ITEM_STYLES)],
                label=f"{label}: {item}",
            )
    ax.set_xlim(1, max(horizon, 2))
    ax.set_ylim(0, 100)
    ax.set_xlabel("week")
    ax.set_ylabel("fleet available (%)")
    ax.set_title("Fleet availability (ships out of maintenance / fleet)", fontsize="medium")
    ax.grid(alpha=0.3)
    if ax.lines:
        ax.legend(fontsize="small", loc="lower left")
    return figure


def fleet_png(models: Sequence[CoalitionModel], labels: Sequence[str], horizon: int) -> bytes:
    buffer = io.BytesIO()
    FigureCanvasAgg(fleet_figure(models, labels, horizon)).print_png(buffer)
    return buffer.getvalue()


@solara.component
def FleetPanel(pair: ModelPair, weekly: Weekly, started: bool) -> None:
    """The card and chart of fleet availability, kept current by ``weekly``; nothing for a
    scenario without services. ``started``: past week 0 (the card lists items from week 1)."""
    if not ServiceSlots.of(pair.models[0].network).any:
        return

    def draw() -> tuple[list[dict[str, dict[str, float]]], bytes]:
        with pair.lock:
            cards = [fleet_card_values(model) for model in pair.models]
            return cards, fleet_png(pair.models, pair.labels, pair.horizon)

    def fleet() -> tuple[list[dict[str, dict[str, float]]], bytes]:
        return weekly.shared(pair, "fleet", draw)

    def line(k: int, item: str) -> Callable[[], str]:
        def text() -> str:
            v = fleet()[0][k].get(item)
            if v is None:
                return f"{item}: –"
            return (
                f"{item}: {100 * v['now']:.1f} % available "
                f"(lowest {100 * v['lowest']:.1f} %), {v['waiting']:.1f} ships waiting"
            )

        return text

    cards, _ = fleet()
    with solara.Columns([1, 1]):
        with solara.Card("Fleet availability (MRO)", margin=0, classes=["webmodel-fleet-card"]):
            for k, (label, values) in enumerate(zip(pair.labels, cards, strict=True)):
                colour = MODEL_COLOURS[k % len(MODEL_COLOURS)]
                solara.Text(label, style={"font-weight": "bold", "color": colour})
                for item in values:
                    live_text(weekly, line(k, item), classes=["webmodel-fleet-value"])
                if not values:
                    solara.Text("–")
        live_image(weekly, lambda: fleet()[1], classes=["webmodel-chart-fleet"])
