"""Adaptation: re-sourcing, sub-tier visibility, capacity investment, stockpiles."""

from __future__ import annotations

import numpy as np

from webmodel.coalition.resourcing import find_substitutes, may_trade
from webmodel.core.model import CoalitionModel


def test_resourcing_never_links_firms_that_may_not_trade(scenario):
    model = CoalitionModel(
        scenario,
        topology="hub-and-spokes",
        rng=2,
        steps=80,
        qualification_weeks=4,
        subtier_visibility=True,
        disruptions=["product:tnt:POL@5+60", "product:fuze:KOR@5+60"],
    ).run()
    assert model.substitutions, "the shocks must have triggered re-sourcing"
    net = model.network
    for _, _, new, _ in model.substitutions:
        seller = int(net.firms.state[net.link_supplier[new]])
        buyer = int(net.link_buyer_state[new])
        assert may_trade(model, seller, buyer)
    hub = net.state_codes.index("USA")
    seller, buyer = net.firms.state[net.link_supplier], net.link_buyer_state
    assert not np.any((seller != buyer) & (seller != hub) & (buyer != hub))


def test_substitute_ships_only_after_qualification(scenario):
    model = CoalitionModel(
        scenario,
        topology="hub-and-spokes",
        rng=2,
        steps=60,
        qualification_weeks=10,
        disruptions=["product:tnt:POL@5+50"],
    )
    model.run(40)
    assert model.substitutions
    week, old, new, _ = model.substitutions[0]
    searched = week - 10
    assert searched >= 5 + model.coalition.parameters.resourcing_weeks - 1
    assert model.network.link_weight[new] > 0
    # Only what the substitute could carry moved: the old link keeps the rest of its share.
    assert model.network.link_weight[old] < model.network.link_weight[new] + 1.0


def test_subtier_visibility_finds_substitutes_invisible_without(scenario):
    """Some buyers only find a substitute when they can see the whole coalition."""
    blind = CoalitionModel(scenario, topology="production-web", rng=3)
    seeing = CoalitionModel(scenario, topology="production-web", rng=3, subtier_visibility=True)
    firm_links = np.flatnonzero(blind.network.slot_firm[blind.network.link_slot] >= 0)
    found_blind, found_seeing = set(), set()
    for link in firm_links[::3]:  # each search on its own, so searches do not compete
        # (New substitutes only: shifts to the slot's own suppliers need no visibility.)
        found_blind |= {s.link for s in find_substitutes(blind, np.array([link])) if s.to_link < 0}
        found_seeing |= {
            s.link for s in find_substitutes(seeing, np.array([link])) if s.to_link < 0
        }
    assert found_blind < found_seeing  # strictly more, and never fewer


def test_capacity_investment_arrives_after_decision_and_build_lags(scenario):
    model = CoalitionModel(
        scenario,
        surge=2.0,
        surge_start=5,
        steps=60,
        rng=1,
        investment_decision_weeks=6,
        investment_build_weeks=20,
    ).run()
    capacity = model.series("capacity")
    # Nothing can arrive before surge start + decision lag + build lag.
    assert np.all(capacity[: 5 + 6 + 20 - 2] == capacity[0])
    assert capacity[-1] > capacity[0] * 1.05
    off = CoalitionModel(
        scenario,
        surge=2.0,
        surge_start=5,
        steps=60,
        rng=1,
        investment_decision_weeks=6,
        investment_build_weeks=20,
        investment_share=0.0,
    ).run()
    assert np.all(off.series("capacity") == capacity[0])


def test_stockpiles_deplete_and_refill(scenario):
    model = CoalitionModel(
        scenario,
        topology="hub-and-spokes",
        rng=1,
        steps=104,
        stockpile_weeks=6,
        disruptions=["assembly:USA@10+5"],
    ).run()
    stock = model.series("state_stock").sum(axis=1)
    start = stock[0]
    assert np.isclose(start, 6 * model.network.baseline_demand.sum())
    assert stock.min() < 0.5 * start  # drawn down while deliveries stopped
    assert np.isclose(stock[-1], start, rtol=1e-6)  # and refilled from the backlog
    served, demanded = model.series("served"), model.series("demanded")
    # The forces were covered far better than deliveries alone would have covered them.
    bare = CoalitionModel(
        scenario, topology="hub-and-spokes", rng=1, steps=104, disruptions=["assembly:USA@10+5"]
    ).run()
    short_with = (demanded - served).clip(min=0).sum()
    short_without = (bare.series("demanded") - bare.series("served")).clip(min=0).sum()
    assert short_with < 0.5 * short_without


def test_without_stockpile_served_equals_delivered(scenario):
    model = CoalitionModel(scenario, rng=1, steps=60, disruptions=["random:0.2@5+10"]).run()
    np.testing.assert_allclose(model.series("served"), model.series("delivered"), atol=1e-6)
