"""The aggregated network view: supply links between states, readable at any number of firms.

A firm-level picture turns into a hairball past a few thousand links; here each cell is one
(supplier state, buyer state) pair: how many supply links run from one to the other, those with
links closed this week outlined and numbered in the "down" colour, and in the hover the closed
count and the firms down among the suppliers. The counts come from the network's arrays with
one ``np.add.at`` each: a few milliseconds a frame at 10,000 firms.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from webmodel.analysis.palette import DOWN
from webmodel.app.network_view import link_openness
from webmodel.app.vega import EMBED, SCHEMA, _config

if TYPE_CHECKING:
    from webmodel.core.model import CoalitionModel

DEMAND_NODE = "forces"  # the buyer of an end item: a state's armed forces


def state_flows(model: CoalitionModel) -> list[dict[str, Any]]:
    """One row per (supplier state, buyer state) with links, closed links and firms down."""
    net = model.network
    states = list(net.state_codes)
    n = len(states)
    active = net.link_weight > 0
    closed = (link_openness(model) < 1.0) & active
    buyer = net.slot_firm[net.link_slot]
    buyer_state = np.where(buyer >= 0, net.firms.state[np.maximum(buyer, 0)], -1)
    # End-item links go to the forces (of whichever state): one column of their own, so the
    # matrix stays narrow enough to read at 1024 px.
    column = np.where(buyer_state >= 0, buyer_state, n)
    supplier = net.firms.state[net.link_supplier]
    links = np.zeros((n, n + 1), dtype=np.int64)
    shut = np.zeros((n, n + 1), dtype=np.int64)
    np.add.at(links, (supplier[active], column[active]), 1)
    np.add.at(shut, (supplier[closed], column[closed]), 1)
    down = np.zeros(n, dtype=np.int64)
    availability = np.asarray(model.engine.availability, dtype=float)
    np.add.at(down, net.firms.state, (availability < 1.0).astype(np.int64))
    firms = np.bincount(net.firms.state, minlength=n)
    names = [*states, DEMAND_NODE]
    rows = []
    for i, j in zip(*np.nonzero(links), strict=True):
        rows.append(
            {
                "supplier": states[i],
                "buyer": names[j],
                "links": int(links[i, j]),
                "closed": int(shut[i, j]),
                "down": f"{down[i]} of {firms[i]}",
            }
        )
    return rows


def flow_spec(model: CoalitionModel, title: str) -> dict[str, Any]:
    """A state x state matrix of supply links, closed ones marked, as Vega-Lite."""
    rows = state_flows(model)
    states = list(model.network.state_codes)
    buyers = [*states, DEMAND_NODE]
    x = {
        "field": "buyer",
        "type": "nominal",
        "title": "buyer state (forces: end items delivered)",
        "sort": buyers,
        "axis": {"labelAngle": 0, "orient": "top"},
    }
    y = {"field": "supplier", "type": "nominal", "title": "supplier state", "sort": states}
    tooltip = [
        {"field": "supplier", "title": "from (supplier state)"},
        {"field": "buyer", "title": "to (buyer)"},
        {"field": "links", "title": "supply links"},
        {"field": "closed", "title": "closed this week"},
        {"field": "down", "title": "supplier state's firms down"},
    ]
    return {
        "$schema": SCHEMA,
        "usermeta": {"embedOptions": EMBED},
        "title": title,
        "width": "container",
        "height": 28 * len(states) + 20,
        "config": _config(),
        "data": {"values": rows},
        "layer": [
            {
                "mark": {"type": "rect"},
                "encoding": {
                    "x": x,
                    "y": y,
                    "color": {
                        "field": "links",
                        "type": "quantitative",
                        "title": "supply links",
                        "scale": {"type": "log", "range": ["#f4f4f4", "#9a9a9a"]},
                    },
                    "tooltip": tooltip,
                },
            },
            {
                "transform": [{"filter": "datum.closed > 0"}],
                "mark": {"type": "rect", "fill": None, "stroke": DOWN, "strokeWidth": 3},
                "encoding": {"x": x, "y": y, "tooltip": tooltip},
            },
            {
                "mark": {"type": "text", "fontSize": 11, "fontWeight": "bold"},
                "encoding": {
                    "x": x,
                    "y": y,
                    "text": {"field": "links"},
                    "color": {
                        "condition": {"test": "datum.closed > 0", "value": DOWN},
                        "value": "#222222",
                    },
                    "tooltip": tooltip,
                },
            },
        ],
    }
