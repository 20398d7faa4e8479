"""The app's fleet view (webmodel/app/fleet_view.py): the card's numbers, the chart, and the
panel, which shows only for a scenario with services."""

from __future__ import annotations

import ipyvuetify as v
import numpy as np
import solara

from webmodel.app.fleet_view import FleetPanel, fleet_availability, fleet_card_values, fleet_png
from webmodel.app.live import Weekly
from webmodel.app.pair import ModelPair, Settings
from webmodel.core.services import service_metrics


def test_fleet_view_follows_a_yard_outage():
    pair = ModelPair(Settings(scenario="indo_pacific", surge=1.0, steps=30))
    pair.step(3)
    pair.inject("product", "ship_repair:USA", duration=10)
    pair.step(12)
    hub, web = (fleet_card_values(m)["ship_repair"] for m in pair.models)
    assert hub["lowest"] < web["lowest"] < hub["now"] + 1  # all hub yards are in the US
    for model in pair.models:
        series = fleet_availability(model)["ship_repair"]
        metrics = service_metrics(model)["ship_repair"]
        assert np.isclose(series.min(), metrics["fleet_availability_min"])
        assert np.isclose(series[0], metrics["fleet_availability_baseline"])
    assert fleet_png(pair.models, pair.labels, pair.horizon).startswith(b"\x89PNG")

    _, rc = solara.render(FleetPanel(pair, Weekly(), pair.week > 0), handle_error=False)
    texts = [str(w.children[0]) for w in rc.find(v.Html, class_="webmodel-fleet-value").widgets]
    assert len(texts) == 2 and all("ship_repair" in t and "available" in t for t in texts)


def test_no_fleet_panel_without_services():
    pair = ModelPair(Settings(steps=10))
    pair.step(1)
    assert fleet_card_values(pair.models[0]) == {}
    _, rc = solara.render(FleetPanel(pair, Weekly(), pair.week > 0), handle_error=False)
    assert not rc.find(v.Html, class_="webmodel-fleet-value").widgets
