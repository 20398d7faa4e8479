"""The array engine reproduces the per-agent reference implementation (the executable spec)."""

from __future__ import annotations

import numpy as np
import pytest

from webmodel.analysis.bench import worst_difference
from webmodel.core.model import CoalitionModel
from webmodel.core.recorder import VARIABLES


def _run_both(scenario, steps=120, **kwargs):
    fast = CoalitionModel(scenario, steps=steps, rng=11, **kwargs)
    slow = CoalitionModel(
        network=fast.network,
        steps=steps,
        rng=11,
        engine="reference",
        **{k: v for k, v in kwargs.items() if k not in ("topology", "web_ness")},
    )
    return fast.run(), slow.run()


def _assert_same(fast, slow):
    for name in VARIABLES:
        assert fast.series(name).shape == slow.series(name).shape, name
    name, worst = worst_difference(fast, slow)
    assert worst <= 1e-9, f"{name}: engine and reference differ by {worst:.3g} (relative)"


@pytest.mark.parametrize("topology", ["hub-and-spokes", "production-web"])
def test_engine_equals_reference_under_surge(scenario, topology):
    fast, slow = _run_both(scenario, topology=topology, surge=2.0, surge_start=5)
    # The surge must actually bite, or this test would compare two equilibria.
    assert fast.series("final_backlog")[-1].sum() > 1000
    assert fast.series("alpha_mean")[-1] > 1.01
    _assert_same(fast, slow)


def test_engine_equals_reference_priority_rationing_half_web(scenario):
    fast, slow = _run_both(
        scenario,
        web_ness=0.5,
        surge=1.6,
        surge_start=3,
        rationing="priority",
        target_cover_weeks=2.0,
        adjustment_time=3.0,
        alpha_max=1.4,
        alpha_time=5.0,
    )
    _assert_same(fast, slow)


def test_engine_equals_reference_with_firms_down(scenario):
    """Shortages from lost capacity (not only from demand) follow the same rules in both."""
    fast = CoalitionModel(scenario, topology="hub-and-spokes", steps=100, rng=5)
    slow = CoalitionModel(network=fast.network, steps=100, rng=5, engine="reference")
    down = np.flatnonzero(fast.network.firms.product == fast.bom.index["tnt"])[:1]
    for week in range(100):
        level = 0.0 if 10 <= week < 30 else 1.0
        fast.engine.availability[down] = level
        for i in down:
            slow.engine.firms[i].availability = level
        fast.step()
        slow.step()
    assert (
        fast.series("production")[:, fast.bom.index["tnt"]].min()
        < 0.9 * (fast.series("production")[0, fast.bom.index["tnt"]])
    )
    _assert_same(fast, slow)


def test_a_wrong_engine_would_be_caught(scenario):
    """The comparison is sensitive: a small change in one parameter is detected."""
    fast = CoalitionModel(scenario, steps=60, rng=3, surge=2.0, surge_start=5).run()
    other = CoalitionModel(
        network=fast.network,
        steps=60,
        rng=3,
        surge=2.0,
        surge_start=5,
        engine="reference",
        adjustment_time=4.01,
    ).run()
    with pytest.raises(AssertionError):
        _assert_same(fast, other)


@pytest.mark.parametrize("topology", ["hub-and-spokes", "production-web"])
def test_engine_equals_reference_with_every_lever_and_disruption(scenario, topology):
    from test_equilibrium import ALL_LEVERS, WIRING_PARAMETERS

    shocks = [
        "random:0.1@5+6",
        "random:0.1@30+8:s=0.6",
        "firm:KOR-tnt-1@40+6:s=0.5",
        "targeted:0.05@8+4~3",
        "assembly:USA@12+4",
        "state:KOR@6+10",
        "product:tnt@15+5~4",
        "cyber:0.2@20+3",
        "border:USA-JPN@9+12",
    ]
    common = dict(
        topology=topology,
        steps=110,
        rng=13,
        surge=1.4,
        surge_start=4,
        disruptions=shocks,
        **ALL_LEVERS,
    )
    scenario = scenario.with_parameters(**WIRING_PARAMETERS)
    fast = CoalitionModel(scenario, **common).run()
    slow = CoalitionModel(scenario, engine="reference", **common).run()
    # The levers must actually act: re-sourcing and investment happened.
    assert fast.substitutions and fast.series("capacity")[-1] > fast.series("capacity")[0]
    assert fast.substitutions == slow.substitutions
    _assert_same(fast, slow)


@pytest.mark.parametrize("topology", ["hub-and-spokes", "production-web"])
def test_engine_equals_reference_with_services(topology):
    """indo_pacific (naval MRO) under a surge, a US yard outage and a closed border."""
    from test_equilibrium import INDO_PACIFIC_LEVERS

    from webmodel.coalition.scenario import load_scenario

    common = dict(
        topology=topology,
        steps=90,
        rng=5,
        surge=1.3,
        surge_start=4,
        disruptions=["product:ship_repair:USA@8+10:s=0.7", "border:USA-KOR@12+6"],
        **INDO_PACIFIC_LEVERS,
    )
    scenario = load_scenario("indo_pacific")
    fast = CoalitionModel(scenario, **common).run()
    slow = CoalitionModel(scenario, engine="reference", **common).run()
    assert fast.series("repair_backlog").max() > 0  # the shock bit the yards
    assert fast.substitutions == slow.substitutions
    _assert_same(fast, slow)


@pytest.mark.parametrize("transit", ["wait", "lost"])
def test_engine_equals_reference_with_goods_stopped_at_borders(scenario, transit):
    """Goods in transit wait at (or are lost at) closed borders alike in both engines, also when
    the border reopens part-way and links are re-sourced meanwhile."""
    fast, slow = _run_both(
        scenario,
        topology="production-web",
        surge=1.3,
        surge_start=3,
        closed_border_transit=transit,
        disruptions=["state:KOR@6+10", "border:USA-JPN@9+3", "firm:POL-tnt-1@20+8:s=0.7"],
    )
    assert fast.series("lost_in_transit").sum() > 0 or transit == "wait"
    _assert_same(fast, slow)
