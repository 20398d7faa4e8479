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

from webmodel.coalition.topology import trade_permissions

if TYPE_CHECKING:
    from webmodel.core.model import CoalitionModel


@dataclass(frozen=True)
class Substitution:
    """Move ``link``'s orders to ``supplier`` once qualified (network link and firm indices)."""

    link: int
    supplier: int


def trade_matrix(model: CoalitionModel) -> np.ndarray:
    """``allowed[seller_state, buyer_state]``: which pairs this topology lets trade directly."""
    n = len(model.network.state_codes)
    allowed = np.zeros((n, n), dtype=bool)
    if model.web_ness < 1:
        allowed |= trade_permissions(model.coalition, "hub")
    if model.web_ness > 0:
        allowed |= trade_permissions(model.coalition, "web")
    return allowed


def may_trade(model: CoalitionModel, seller_state: int, buyer_state: int) -> bool:
    """Whether this topology lets the two states trade directly (see topology.py)."""
    return bool(trade_matrix(model)[seller_state, buyer_state])


def find_substitutes(model: CoalitionModel, links: np.ndarray) -> list[Substitution]:
    """A substitute supplier for each failing link that has one (links in network order).

    Searches run in link order and share the suppliers' spare capacity: a supplier chosen by
    one buyer has that much less to offer the next.
    """
    net = model.network
    engine = model.engine
    n_states = len(net.state_codes)
    spare = np.maximum(
        model.parameters.alpha_max * engine.availability * engine.capacity - engine.production, 0.0
    )
    scale = max(float(spare.max()), 1e-300)
    # A maker that could not serve its own orders last week is short of inputs, and one with
    # an input nobody supplies (a firm that won no contract) cannot produce: no help.
    active = net.link_weight > 0
    unsupplied = np.bincount(net.link_slot, active, minlength=net.n_slots) == 0
    firm_slots = net.slot_firm >= 0
    lacking = np.bincount(net.slot_firm[firm_slots], unsupplied[firm_slots], minlength=net.n_firms)
    healthy = (engine.production >= (1 - 1e-9) * engine.firm_demand) & (lacking == 0)
    eligible = healthy & (engine.availability >= 1.0) & (spare > 0)
    # Most searches in a general shortage find nobody: skip products without a maker to offer.
    links = np.asarray(links)
    offered = np.bincount(net.firms.product[eligible], minlength=len(net.product_names))
    links = links[offered[net.firms.product[net.link_supplier[links]]] > 0]
    if len(links) == 0:
        return []
    # Which pairs may trade now: the topology's permissions, less any closed border.
    allowed = trade_matrix(model)
    for a in range(n_states):
        for b in range(n_states):
            allowed[a, b] &= not model.border_closed(a, b)
    # What each state's buyers know without sub-tier visibility: home makers, and makers that
    # already supply someone in the state.
    see_all = model.coalition.parameters.subtier_visibility
    if not see_all:
        known = np.zeros((n_states, net.n_firms), dtype=bool)
        known[net.link_buyer_state[active], net.link_supplier[active]] = True
        known[net.firms.state, np.arange(net.n_firms)] = True
    base_need = dict(zip(links.tolist(), net.baseline_flow_of(links).tolist(), strict=True))
    wanted_slots = np.isin(net.link_slot, net.link_slot[links]) & active
    current: dict[int, set[int]] = {}
    for slot, supplier in zip(
        net.link_slot[wanted_slots], net.link_supplier[wanted_slots], strict=True
    ):
        current.setdefault(int(slot), set()).add(int(supplier))
    makers_of: dict[int, np.ndarray] = {}
    taken = np.zeros(net.n_firms, dtype=bool)
    found = []
    for link in links:
        slot = int(net.link_slot[link])
        buyer_state = int(net.slot_state[slot])
        product = int(net.firms.product[net.link_supplier[link]])
        if product not in makers_of:
            makers = np.flatnonzero(net.firms.product == product)
            makers_of[product] = makers[eligible[makers]]
        makers = makers_of[product]
        makers = makers[eligible[makers]]  # earlier picks may have used up some
        if len(makers) == 0:
            continue
        mask = eligible[makers] & allowed[net.firms.state[makers], buyer_state]
        if not see_all:
            mask &= known[buyer_state, makers]
        candidates = makers[mask]
        own = list(current.get(slot, ()))
        taken[own] = True  # the slot's current suppliers are no substitutes
        candidates = candidates[~taken[candidates]]
        taken[own] = False
        if len(candidates) == 0:
            continue
        # Most spare capacity wins; near-equal spares (within rounding) go to the lower index,
        # so that both engines, which round differently, choose alike.
        rounded = np.round(spare[candidates] / scale, 9)
        best = int(candidates[np.lexsort((candidates, -rounded))[0]])
        spare[best] = max(0.0, spare[best] - base_need[link])
        eligible[best] = spare[best] > 0
        found.append(Substitution(int(link), best))
    return found
