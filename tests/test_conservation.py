"""Material is conserved and nothing goes negative, also far from equilibrium."""

from __future__ import annotations

import numpy as np
import pytest

from webmodel.core.model import CoalitionModel


def _stressed_run(scenario, topology, steps=150):
    """A surge, then a quarter of all firms down for 20 weeks, then recovery."""
    model = CoalitionModel(
        scenario, topology=topology, surge=2.5, surge_start=5, steps=steps, rng=2
    )
    down = model.rng.permutation(model.network.n_firms)[: model.network.n_firms // 4]
    minima = {"stock": np.inf, "backlog": np.inf, "in_transit": np.inf, "pipeline": np.inf}
    for week in range(1, steps + 1):
        model.engine.availability[down] = 0.0 if 30 <= week < 50 else 1.0
        model.step()
        e = model.engine
        minima["stock"] = min(minima["stock"], e.stock.min())
        minima["backlog"] = min(minima["backlog"], e.backlog.min())
        minima["in_transit"] = min(minima["in_transit"], e.in_transit.min())
        minima["pipeline"] = min(minima["pipeline"], e.pipeline.min())
    return model, minima


@pytest.mark.parametrize("topology", ["hub-and-spokes", "production-web"])
def test_no_negative_stock_backlog_or_transit(scenario, topology):
    model, minima = _stressed_run(scenario, topology)
    scale = model.network.baseline_output.max()
    for name, value in minima.items():
        assert value >= -1e-9 * scale, f"{name} went negative: {value}"
    assert model.series("final_backlog").max() > 0  # the stress did bite


@pytest.mark.parametrize("topology", ["hub-and-spokes", "production-web"])
@pytest.mark.parametrize("wiring", [{}, {"wiring_noise": 0.2, "web_home_bias": 1.0}])
def test_material_balance_closes_every_step(scenario, topology, wiring):
    model, _ = _stressed_run(scenario.with_parameters(**wiring), topology)
    production = model.series("production")
    shipped = model.series("shipped")
    consumed = model.series("consumed")
    held = model.series("stock") + model.series("in_transit")
    # End items leave the system when they arrive at a state.
    delivered = np.zeros_like(production)
    for k, item in enumerate(model.slot_items):
        delivered[:, model.bom.index[item]] += model.series("delivered")[:, k]

    # A supplier ships exactly what it produced (no finished-goods stock is kept).
    np.testing.assert_allclose(shipped, production, rtol=1e-9, atol=1e-7)
    # stock + in transit changes by what was made, minus what was used or delivered.
    change = np.diff(held, axis=0)
    flow = (production - consumed - delivered)[1:]
    scale = held.max()
    assert np.max(np.abs(change - flow)) <= 1e-9 * scale


def test_deliveries_never_exceed_what_was_made_or_in_transit(scenario):
    model, _ = _stressed_run(scenario, "production-web")
    end_items = model.bom.end_items
    initial_transit = model.network.baseline_link_flow() * model.network.link_lead
    start = np.bincount(
        model.network.link_product, initial_transit, minlength=len(model.bom.products)
    )[end_items]
    made = np.cumsum(model.series("production")[:, end_items], axis=0)
    arrived = np.zeros_like(made)
    for k, item in enumerate(model.slot_items):
        col = list(end_items).index(model.bom.index[item])
        arrived[:, col] += np.cumsum(model.series("delivered")[:, k])
    assert np.all(arrived <= start + made + 1e-6)


@pytest.mark.parametrize("topology", ["hub-and-spokes", "production-web"])
def test_same_seed_same_numbers_with_wiring_noise(scenario, topology):
    """Determinism: the wiring's randomness comes from the seed alone."""
    noisy = scenario.with_parameters(wiring_noise=0.2, web_home_bias=0.4)
    runs = [
        CoalitionModel(
            noisy, topology=topology, rng=seed, steps=40, disruptions=["random:0.2@5+6:s=0.5"]
        ).run()
        for seed in (3, 3, 4)
    ]
    for name in ("delivered", "production", "output_value"):
        np.testing.assert_array_equal(runs[0].series(name), runs[1].series(name))
    assert not np.array_equal(runs[0].series("production"), runs[2].series("production"))


@pytest.mark.parametrize("topology", ["hub-and-spokes", "production-web"])
def test_material_balance_closes_with_services(topology):
    """indo_pacific: the yards' parts (and every good) are conserved; ships are too: ships in
    maintenance change by arrivals minus repairs completed."""
    from webmodel.coalition.scenario import load_scenario
    from webmodel.core.services import ServiceSlots

    model, minima = _stressed_run(load_scenario("indo_pacific"), topology)
    scale = model.network.baseline_output.max()
    for name, value in minima.items():
        assert value >= -1e-9 * scale, f"{name} went negative: {value}"
    production, consumed = model.series("production"), model.series("consumed")
    held = model.series("stock") + model.series("in_transit")
    delivered = np.zeros_like(production)
    for k, item in enumerate(model.slot_items):
        delivered[:, model.bom.index[item]] += model.series("delivered")[:, k]
    change = np.diff(held, axis=0)
    flow = (production - consumed - delivered)[1:]
    assert np.max(np.abs(change - flow)) <= 1e-9 * held.max()

    svc = ServiceSlots.of(model.network)
    ships = model.series("in_maintenance")[:, svc.slots]
    done = model.series("repairs_completed")[:, svc.slots]
    arrivals = model.series("demanded")[:, svc.slots]  # this week's ships asking (N)
    assert np.all(model.series("repair_backlog")[:, svc.slots] >= -1e-12)
    assert np.all(ships >= 0) and np.all(ships <= svc.fleet[None])
    # N(t+1) = N(t) - completed(t) + new jobs(t+1); the new jobs are the surged job rate.
    new_jobs = ships[1:] - (ships[:-1] - done[:-1])
    factor = np.where(np.arange(2, len(ships) + 1) >= model.surge_start, model.surge, 1.0)
    expected = model.network.baseline_demand[svc.slots][None] / svc.job_weeks[None]
    # (capped by the ships the fleet has out of maintenance)
    room = svc.fleet[None] - (ships[:-1] - done[:-1])
    wanted = np.minimum(expected * factor[:, None], room)
    np.testing.assert_allclose(new_jobs, wanted, rtol=1e-9, atol=1e-9)
    assert np.any(room < expected * factor[:, None])  # the 2.5x surge hits the fleet's size
    np.testing.assert_allclose(arrivals, ships, rtol=1e-12)
