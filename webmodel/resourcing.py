"""Re-sourcing: a buyer whose supplier keeps failing it looks for a substitute.

A link that delivers less than half of its buyer's new order for ``resourcing_weeks`` weeks in
a row (the engines count this) triggers a search. The buyer considers makers of the same product
that it **may trade with** (hub-and-spokes: at home or across the hub's border only) and that
it **can see**:

* without sub-tier visibility, the makers in its own state and those already supplying some
  buyer in its state - what its domestic market tells it;
* with sub-tier visibility (NDIS: "data analytics"), every maker in the coalition.

It picks, among the makers that are up, have a supplier for every input, serve all their own
orders (so they are not short of inputs themselves) and are not behind a closed border, the
one with the most spare capacity. The new supplier ships only after ``qualification_weeks``;
until then orders stay with the failing one, and if the old supplier is delivering again by
then, the buyer stays with it. This is per-event Python: searches are rare, the weekly step
stays vectorised.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from webmodel.topology import trade_permissions

if TYPE_CHECKING:
    from webmodel.model import CoalitionModel


@dataclass(frozen=True)
class Substitution:
    """Move ``link``'s orders to ``supplier`` once qualified (network link and firm indices)."""

    link: int
    supplier: int


def may_trade(model: CoalitionModel, seller_state: int, buyer_state: int) -> bool:
    """Whether this topology lets the two states trade directly (see topology.py)."""
    allowed = False
    if model.web_ness < 1:
        allowed |= bool(trade_permissions(model.coalition, "hub")[seller_state, buyer_state])
    if model.web_ness > 0:
        allowed |= bool(trade_permissions(model.coalition, "web")[seller_state, buyer_state])
    return allowed


def find_substitutes(model: CoalitionModel, links: np.ndarray) -> list[Substitution]:
    """A substitute supplier for each failing link that has one (links in network order)."""
    net = model.network
    engine = model.engine
    params = model.coalition.parameters
    spare = np.maximum(
        model.dynamics.alpha_max * engine.availability * engine.capacity - engine.production, 0.0
    )
    # A maker that could not serve its own orders last week is short of inputs, and one with
    # an input nobody supplies (a firm that won no contract) cannot produce: no help.
    unsupplied = np.bincount(net.link_slot, net.link_weight > 0, minlength=net.n_slots) == 0
    firm_slots = net.slot_firm >= 0
    lacking = np.bincount(net.slot_firm[firm_slots], unsupplied[firm_slots], minlength=net.n_firms)
    healthy = (engine.production >= (1 - 1e-9) * engine.firm_demand) & (lacking == 0)
    base_need = net.baseline_link_flow()
    active = net.link_weight > 0
    found = []
    for link in links:
        slot = net.link_slot[link]
        buyer_state = int(net.slot_state[slot])
        product = net.firms.product[net.link_supplier[link]]
        makers = np.flatnonzero(net.firms.product == product)
        current = net.link_supplier[(net.link_slot == slot) & active]
        if params.subtier_visibility:
            visible = makers
        else:
            known = net.link_supplier[active & (net.link_buyer_state == buyer_state)]
            visible = makers[(net.firms.state[makers] == buyer_state) | np.isin(makers, known)]
        candidates = [
            int(j)
            for j in visible
            if j not in current
            and engine.availability[j] >= 1.0
            and healthy[j]
            and spare[j] > 0
            and may_trade(model, int(net.firms.state[j]), buyer_state)
            and not model.border_closed(int(net.firms.state[j]), buyer_state)
        ]
        if not candidates:
            continue
        # Most spare capacity wins; near-equal spares (within rounding) go to the lower index,
        # so that both engines, which round differently, choose alike.
        scale = max(float(spare.max()), 1e-300)
        best = max(candidates, key=lambda j: (round(spare[j] / scale, 9), -j))
        spare[best] = max(0.0, spare[best] - base_need[link])
        found.append(Substitution(int(link), best))
    return found
