"""The substitute search is array work; it must choose exactly what the plain per-link search
(the rule as first written, kept here as the specification) chooses, on the same model state."""

from __future__ import annotations

import numpy as np
import pytest

from webmodel.coalition.resourcing import (
    Substitution,
    _unsupplied_inputs,
    find_substitutes,
    permitted,
    room,
    volume,
)
from webmodel.core.model import CoalitionModel

CASES = {
    "hub-korea": {"topology": "hub-and-spokes", "disruptions": ["state:KOR@6+30"]},
    "web-random": {"topology": "production-web", "disruptions": ["random:0.3@6+30"]},
    "web-visible": {
        "topology": "production-web",
        "disruptions": ["random:0.3@6+30", "assembly:USA@8+10"],
        "subtier_visibility": True,
    },
    "half-closed": {"web_ness": 0.5, "disruptions": ["state:KOR@6+30", "random:0.2@8+20"]},
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_search_chooses_as_the_per_link_rule(scenario, case):
    model = CoalitionModel(scenario, rng=5, steps=40, surge=1.5, surge_start=4, **CASES[case])
    compared = 0
    for _ in range(30):
        model.step()
        failing = model.engine.failing_weeks_of(np.arange(model.network.n_links)) > 0
        links = np.flatnonzero(failing)
        if len(links) == 0:
            continue
        expected = _search_one_by_one(model, links)
        assert find_substitutes(model, links) == expected, f"week {model.week}"
        compared += len(expected)
    assert compared > 20, "the shocks must leave something to search for"


def _search_one_by_one(model: CoalitionModel, links: np.ndarray) -> list[Substitution]:
    """Shifts and substitutions for each failing link (links in network order).

    Searches run in link order and share the makers' room: what one buyer takes, the next
    cannot. Ties in room (within rounding) go to the lower firm index, so that both engines,
    which round differently, choose alike.
    """
    net = model.network
    engine = model.engine
    n_states = len(net.state_codes)
    spare = room(model)
    scale = max(float(spare.max()), 1e-300)
    active = net.link_weight > 0
    # An idle firm lacks a supplier for some input; it can be wired up if every input it lacks
    # has a maker that is up and supplied itself.
    unsupplied = _unsupplied_inputs(net)
    firm_slots = net.slot_firm >= 0
    lacking = np.bincount(net.slot_firm[firm_slots], unsupplied[firm_slots], minlength=net.n_firms)
    up = engine.availability >= 1.0
    working = up & (lacking == 0)
    makes = np.bincount(net.firms.product[working], minlength=len(net.product_names)) > 0
    wireable = np.ones(net.n_firms, dtype=bool)
    needs = np.flatnonzero(unsupplied)
    wireable_slots = makes[net.slot_product[needs]]
    np.logical_and.at(wireable, net.slot_firm[needs], wireable_slots)
    # A maker that could not serve its own orders last week is short of inputs: no help.
    # Nor is one failing a customer, or failed by a supplier of its own (its idle capacity is
    # idled by missing inputs, not free): room is only room where inputs come.
    healthy = engine.production >= (1 - 1e-9) * engine.firm_demand
    failing = np.flatnonzero(engine.failing_weeks_of(np.arange(engine.n_links)) > 0)
    healthy[net.link_supplier[failing]] = False
    buyers = net.slot_firm[net.link_slot[failing]]
    healthy[buyers[buyers >= 0]] = False
    eligible = healthy & up & wireable & (spare > 0)
    links = np.asarray(links)
    if len(links) == 0:
        return []
    allowed = permitted(model)
    see_all = model.coalition.parameters.subtier_visibility
    if not see_all:
        known = np.zeros((n_states, net.n_firms), dtype=bool)
        known[net.link_buyer_state[active], net.link_supplier[active]] = True
        known[net.firms.state, np.arange(net.n_firms)] = True
    orders = volume(model, links)
    wanted_slots = np.isin(net.link_slot, net.link_slot[links]) & active
    current: dict[int, list[int]] = {}
    for k in np.flatnonzero(wanted_slots):
        current.setdefault(int(net.link_slot[k]), []).append(int(k))
    found: list[Substitution] = []
    for link, order in zip(links.tolist(), orders.tolist(), strict=True):
        need = order
        if need <= 0 or net.link_weight[link] <= 0:
            continue
        slot = int(net.link_slot[link])
        buyer_state = int(net.slot_state[slot])
        product = int(net.firms.product[net.link_supplier[link]])
        own = current.get(slot, [])
        own_suppliers = {int(net.link_supplier[k]) for k in own}
        # 1. The slot's other qualified suppliers, most room first.
        others = [k for k in own if k != link and eligible[net.link_supplier[k]]]
        others.sort(key=lambda k: (-round(spare[net.link_supplier[k]] / scale, 9), k))
        for k in others:
            supplier = int(net.link_supplier[k])
            take = min(spare[supplier], need)
            if take <= 0:
                continue
            spare[supplier] -= take
            eligible[supplier] = spare[supplier] > 0
            need -= take
            found.append(Substitution(link, supplier, take, to_link=k))
            if need <= 1e-12 * order:
                break
        if need <= 1e-12 * order:
            continue
        # 2. New substitutes, most room first, until the order is covered.
        makers = np.flatnonzero((net.firms.product == product) & eligible)
        mask = allowed[net.firms.state[makers], buyer_state]
        if not see_all:
            mask &= known[buyer_state, makers]
        candidates = [int(f) for f in makers[mask] if int(f) not in own_suppliers]
        candidates.sort(key=lambda f: (-round(spare[f] / scale, 9), f))
        for supplier in candidates:
            take = min(spare[supplier], need)
            if take <= 0:
                continue
            spare[supplier] -= take
            eligible[supplier] = spare[supplier] > 0
            need -= take
            found.append(Substitution(link, supplier, take))
            if need <= 1e-12 * order:
                break
    return found
