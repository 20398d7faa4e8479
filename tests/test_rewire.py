"""Re-sourcing changes the wiring during a run: the engine takes it in incrementally (new links
into spare places of their groups, re-weighted links in place) and must end up exactly where
laying every link out again would have put it."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from webmodel.analysis.bench import worst_difference
from webmodel.core.engine import ArrayEngine
from webmodel.core.model import CoalitionModel

# Shocks that re-source in both wirings (the web needs sub-tier visibility to find new makers).
SHOCKED = {
    "hub-and-spokes": {"disruptions": ["state:KOR@10+30", "assembly:USA@20+10"]},
    "production-web": {"disruptions": ["random:0.3@10+40"], "subtier_visibility": True},
}


def _run(scenario, topology: str) -> CoalitionModel:
    return CoalitionModel(
        scenario, topology=topology, rng=3, steps=80, surge=2.0, surge_start=5, **SHOCKED[topology]
    ).run()


@pytest.mark.parametrize("topology", sorted(SHOCKED))
def test_incremental_rewire_matches_laying_out_again(scenario, topology, monkeypatch):
    """Same seed, same shocks: the incremental rewire and a full re-layout at every change give
    the same re-sourcing decisions and the same weeks (the recorded per-product link totals may
    differ in the last bit: spare places add zeros to their sums)."""
    fast = _run(scenario, topology)
    assert fast.substitutions and fast.shift_log, "the shocks must re-source"

    def always_lay_out_again(self, network, week):
        self._lay_out_again(network, week)

    monkeypatch.setattr(ArrayEngine, "rewire", always_lay_out_again)
    full = _run(scenario, topology)
    assert fast.substitutions == full.substitutions
    assert fast.shift_log == full.shift_log
    name, worst = worst_difference(fast, full)
    assert worst <= 1e-13, f"{name}: {worst:.3g}"
    for variable in ("production", "served", "stock", "alpha_mean", "capacity"):
        assert np.array_equal(fast.series(variable), full.series(variable)), variable


def test_new_links_take_spare_places_without_a_new_layout(scenario, monkeypatch):
    """Most additions go into spare places; only a full (or missing) group lays links out."""
    layouts, calls = [], []
    lay_out_again = ArrayEngine._lay_out_again
    rewire = ArrayEngine.rewire

    def counted_layout(self, network, week):
        layouts.append(week)
        lay_out_again(self, network, week)

    def counted_rewire(self, network, week):
        calls.append(network.n_links - self.n_links)
        rewire(self, network, week)

    monkeypatch.setattr(ArrayEngine, "_lay_out_again", counted_layout)
    monkeypatch.setattr(ArrayEngine, "rewire", counted_rewire)
    model = _run(scenario, "production-web")
    adding = [n for n in calls if n > 0]
    assert len(adding) >= 5, "the shocks must add links several times"
    assert len(layouts) < len(adding) / 2, (layouts, adding)
    _assert_consistent(model)


def _assert_consistent(model: CoalitionModel) -> None:
    """Engine places and network links map one to one; spare places are inert; the index
    arrays agree with the network."""
    engine, net = model.engine, model.network
    assert engine.n_links == net.n_links
    assert np.array_equal(engine.link_order[engine.position], np.arange(net.n_links))
    spare = engine.link_order < 0
    assert spare.any(), "a re-sourced run keeps spare places"
    for name in ("weight", "order", "backlog", "in_transit", "held", "lost", "baseline_flow"):
        assert np.all(getattr(engine, name)[spare] == 0.0), name
    assert np.all(engine.pipeline[:, spare] == 0.0)
    # The pipeline holds just what is in transit (the link pass clears a row once booked), so
    # a re-layout that copies it carries no goods already arrived.
    np.testing.assert_allclose(
        engine.pipeline.sum(axis=0) + engine.held, engine.in_transit, rtol=1e-9, atol=1e-9
    )
    assert not engine.ordering_link[spare].any()
    real = engine.position
    assert np.array_equal(engine.supplier[real], net.link_supplier)
    assert np.array_equal(engine.slot[real], net.link_slot)
    assert np.array_equal(engine.lead[real], net.link_lead)
    assert np.array_equal(engine.weight[real], net.link_weight)
    nfs = engine.n_firm_slots
    mean_lead = np.bincount(net.link_slot, net.link_weight * net.link_lead, minlength=net.n_slots)
    np.testing.assert_allclose(engine.mean_lead, mean_lead[:nfs], rtol=1e-12, atol=1e-12)
    # Groups tile the places in engine order: firm links first, contiguous (product, lead).
    bounds = [(a, b) for a, b, _ in engine.lead_groups]
    assert bounds[0][0] == 0 and bounds[-1][1] == len(engine.link_order)
    assert all(b == c for (_, b), (c, _) in itertools.pairwise(bounds))
    assert np.all(engine.slot[: engine.n_firm_links] < nfs)
    assert np.all(engine.slot[engine.n_firm_links :] >= nfs)


def test_shifted_orders_return_once_the_supplier_is_back(scenario):
    """Shifts to a slot's other qualified suppliers are a stop-gap: after a Korea cut-off they
    all go back (a Mesa event each week while any is out), and the order weights are those of
    the wiring before the shock, to rounding."""
    model = CoalitionModel(
        scenario, topology="production-web", rng=3, steps=120, disruptions=["state:KOR@10+20"]
    )
    before = model.network.link_weight.copy()
    peak = 0
    for _ in range(model.steps_planned):
        model.step()
        peak = max(peak, len(model.shifts))
    assert peak > 5 and not model.substitutions
    assert len(model.shifts) == 0 and not model.returns_scheduled
    np.testing.assert_allclose(model.network.link_weight, before, rtol=0, atol=1e-12)
    assert np.array_equal(model.engine.weight[model.engine.position], model.network.link_weight)
