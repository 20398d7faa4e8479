"""States and firms are real Mesa agents, usable with Mesa's own tools."""

from __future__ import annotations

import numpy as np

from webmodel.core.agents import Firm, State
from webmodel.core.model import CoalitionModel


def test_agents_are_registered_and_typed(scenario):
    model = CoalitionModel(scenario, topology="hub-and-spokes", rng=1)
    firms = model.agents_by_type[Firm]
    states = model.agents_by_type[State]
    assert len(firms) == model.network.n_firms
    assert [s.code for s in states] == scenario.state_codes
    hub = [s for s in states if s.is_hub]
    assert len(hub) == 1 and hub[0].code == "USA"
    # Mesa's AgentSet tools work on our agents.
    assemblers = firms.select(lambda f: f.tier == 0)
    assert assemblers and all(f.state == "USA" for f in assemblers)
    by_product = firms.groupby("product")
    assert set(by_product.groups) == {p.name for p in scenario.products}


def test_firm_views_follow_the_engine(scenario):
    model = CoalitionModel(scenario, surge=2.0, surge_start=2, steps=20, rng=1)
    firm = next(f for f in model.firms if f.product == "tnt")
    assert firm.output == firm.baseline_output > 0
    assert firm.capacity > firm.baseline_output
    model.run()
    assert firm.output == model.engine.production[firm.index]
    assert firm.alpha > 1.0  # TNT is scarce under a doubled demand
    assert np.isclose(sum(f.capacity for f in model.firms), model.network.firms.capacity.sum())


def test_model_uses_rng_not_seed(scenario):
    a = CoalitionModel(scenario, rng=np.random.default_rng(9))
    b = CoalitionModel(scenario, rng=9)
    assert a.network.n_links > 0 and b.seed == 9
