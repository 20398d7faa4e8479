"""Every built-in scenario loads, sits at equilibrium with no shock, and round-trips through
network export (services included: the wiring is exported, the scenario supplies the rest)."""

from __future__ import annotations

import numpy as np
import pytest

from webmodel.coalition.scenario import builtin_scenarios, load_scenario
from webmodel.core.model import CoalitionModel
from webmodel.io.netio import read_network, write_network


def test_indo_pacific_is_built_in():
    assert {"default", "us_155mm", "indo_pacific"} <= set(builtin_scenarios())


@pytest.mark.parametrize("name", builtin_scenarios())
@pytest.mark.parametrize("topology", ["hub-and-spokes", "production-web"])
def test_builtin_scenario_sits_at_equilibrium(name, topology):
    model = CoalitionModel(load_scenario(name), topology=topology, steps=60, rng=3).run()
    np.testing.assert_allclose(model.series("served"), model.series("demanded"), rtol=1e-9)
    np.testing.assert_allclose(model.engine.production, model.network.baseline_output, rtol=1e-9)
    for name_ in ("stock", "in_transit", "in_maintenance", "fleet_availability"):
        values = model.series(name_)
        np.testing.assert_allclose(values, values[:1].repeat(len(values), 0), rtol=1e-9)


@pytest.mark.parametrize("name", builtin_scenarios())
@pytest.mark.parametrize("suffix", [".graphml", ".json"])
def test_builtin_scenario_round_trips_through_network_export(tmp_path, name, suffix):
    scenario = load_scenario(name)
    original = CoalitionModel(scenario, rng=4, steps=30, disruptions=["random:0.2@5+8"])
    path = tmp_path / f"net{suffix}"
    write_network(original.network, path)
    network = read_network(path, scenario)
    for field in ("link_supplier", "link_slot", "link_lead"):
        np.testing.assert_array_equal(getattr(network, field), getattr(original.network, field))
    np.testing.assert_allclose(network.link_weight, original.network.link_weight, rtol=1e-12)
    again = CoalitionModel(network=network, rng=4, steps=30, disruptions=["random:0.2@5+8"])
    original.run()
    again.run()
    for variable in ("served", "in_maintenance", "fleet_availability", "production"):
        np.testing.assert_allclose(
            again.series(variable), original.series(variable), rtol=1e-9, atol=1e-9
        )
