"""A two-firm chain stepped by hand: the numbers below are worked out on paper, phase by phase
(webmodel/core/phases.py).

Assembler A makes `item` from one `part`; supplier P makes `part` from nothing. Both have capacity
100/week; the state demands 50/week, then 80/week from week 1. Lead times are 1 week, target
cover n = 2 weeks, adjustment time tau = 2, alpha_max = 1.5, alpha_time = 2.
"""

from __future__ import annotations

import pytest

from webmodel.coalition.scenario import parse_scenario
from webmodel.core.model import CoalitionModel

CHAIN = {
    "name": "chain",
    "hub": "USA",
    "parameters": {
        "target_cover_weeks": 2.0,
        "adjustment_time": 2.0,
        "alpha_max": 1.5,
        "alpha_time": 2.0,
    },
    "states": [{"code": "USA", "role": "hub", "demand": {"item": 50}}],
    "products": [
        {"name": "item", "lead_time_weeks": 1, "inputs": {"part": 1}},
        {"name": "part", "lead_time_weeks": 1},
    ],
    "firms": [
        {"product": "item", "state": "USA", "count": 1, "capacity": 100},
        {"product": "part", "state": "USA", "count": 1, "capacity": 100},
    ],
}


@pytest.mark.parametrize("engine", ["array", "reference"])
def test_two_weeks_by_hand(engine):
    model = CoalitionModel(
        parse_scenario(CHAIN),
        topology="hub-and-spokes",
        surge=1.6,
        surge_start=1,
        steps=2,
        engine=engine,
        rng=0,
    )
    item, part = model.bom.index["item"], model.bom.index["part"]

    model.step()
    # Week 1. A: orders 80, stock 2 x 50 = 100 -> makes 80; the 50 shipped in week 0 arrive.
    # P: orders 50 (placed at baseline) -> makes 50.
    assert model.series("production")[0, item] == pytest.approx(80)
    assert model.series("production")[0, part] == pytest.approx(50)
    assert model.series("delivered")[0, 0] == pytest.approx(50)
    # A's part stock: 100 - 80 + 50 arrived = 70; in transit: P's 50 of this week.
    assert model.series("stock")[0, part] == pytest.approx(70)
    assert model.series("in_transit")[0, part] == pytest.approx(50)
    # A orders: 80 + ((2 x 80 - 70) + (1 x 80 - 50 in transit - 0 owed)) / 2 = 140.
    assert model.series("orders")[0, part] == pytest.approx(140)
    assert model.series("alpha_mean")[0] == pytest.approx(1.0)

    model.step()
    # Week 2. A: orders 80, stock 70 -> makes 70 (input-bound); the 80 of week 1 arrive.
    # P: orders 140 > capacity 100 -> makes 100, backlog 40; scarcity 40 / 140, so
    # alpha_P -> 1 + (1.5 - 1) x (40 / 140) / 2 = 1 + 1 / 14 (A is not short: alpha_A stays 1).
    assert model.series("production")[1, item] == pytest.approx(70)
    assert model.series("production")[1, part] == pytest.approx(100)
    assert model.series("delivered")[1, 0] == pytest.approx(80)
    assert model.series("final_backlog")[1, 0] == pytest.approx(10)
    assert model.series("backlog")[1, part] == pytest.approx(40)
    assert model.series("stock")[1, part] == pytest.approx(70 - 70 + 50)
    assert model.series("alpha_mean")[1] == pytest.approx((1.0 + 1 + 1 / 14) / 2)
    # A orders: expected = min(80 + 10 / 2, 100) = 85; stock 50; supply line = 100 in transit
    # + 40 that P still owes it: 85 + ((2 x 85 - 50) + (1 x 85 - 140)) / 2 = 117.5.
    assert model.series("orders")[1, part] == pytest.approx(117.5)
