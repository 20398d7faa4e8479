"""Validation: the default model against results from the literature (docs/sources.md).

Each test states a published qualitative result and checks the model shows it, on a few seeds.
They can fail: a change that makes the model stop echoing the literature should be noticed. One
published result the model does *not* reproduce (amplification rising with shock size,
Hallegatte 2008) is checked in the direction the model shows, and documented in
results/FINDINGS.md, so that a change in that behaviour is noticed too.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from webmodel.core.metrics import compute_metrics
from webmodel.core.model import CoalitionModel

HUB, WEB = "hub-and-spokes", "production-web"
SEEDS = range(4)


def metric(name: str, topology: str, disruption: str, seeds=SEEDS, **params) -> float:
    """The mean of a metric over a few seeds (104 weeks, no surge)."""
    values = []
    for seed in seeds:
        model = CoalitionModel(
            topology=topology, steps=104, disruptions=[disruption], rng=seed, **params
        )
        model.run()
        values.append(compute_metrics(model)[name])
    return float(np.mean(values))


def hub_assembly_share() -> float:
    """The share of firms that are end-item assemblers in the hub, in hub-and-spokes."""
    model = CoalitionModel(topology=HUB, steps=1, rng=0)
    firms = model.network.firms
    assemblers = np.isin(firms.product, model.bom.end_items)
    in_hub = firms.state == model.network.state_codes.index(model.coalition.hub)
    return float((assemblers & in_hub).sum() / len(firms.state))


def test_hub_and_spokes_breaks_when_its_hub_is_hit_but_not_under_random_loss():
    """Albert, Jeong & Barabasi 2000: a hub-centred network tolerates random failures and
    breaks when its hub is attacked. Losing the hub's assemblers stops every delivery; losing
    the same share of firms at random does not.

    Measured worst-week performance under the random loss, mean of seeds 0-3: 0.43 with the
    default bid noise (0.24-0.56 per seed over seeds 0-7, as each seed now wires hub-and-spokes
    anew), 0.52 with wiring_noise = 0 (one wiring); the hub hit gives 0 either way."""
    share = hub_assembly_share()
    assert 0 < share < 0.2
    hub_hit = metric("min_performance", HUB, "assembly:USA@20+26")
    random_loss = metric("min_performance", HUB, f"random:{share:.3f}@20+26")
    assert hub_hit == 0.0
    assert random_loss > 0.3


def test_the_web_degrades_gradually_when_the_hub_is_hit():
    """A web keeps delivering through a hit on the hub's assembly: co-production elsewhere."""
    assert metric("min_performance", WEB, "assembly:USA@20+26") > 0.3


def test_the_web_degrades_gradually_under_random_loss():
    """Worst-week performance falls step by step as more firms are lost at random, and the
    web still delivers a fifth of demand with 35% of its firms down for half a year (Albert et
    al.'s random-failure case: the giant component survives large random losses)."""
    shares = [0.05, 0.15, 0.25, 0.35]
    worst = [metric("min_performance", WEB, f"random:{s}@20+26") for s in shares]
    assert all(a > b for a, b in itertools.pairwise(worst))
    assert worst[-1] > 0.2


@pytest.mark.parametrize("topology", [HUB, WEB])
def test_losses_grow_faster_than_the_disruption_lasts(topology):
    """Colon et al. 2021: losses grow non-linearly with duration. Inventories absorb a short
    disruption; a long one drains them and spreads: four times the duration (4 to 16 weeks)
    costs more than four times the loss. (For the web under random loss the margin is thin:
    the fitted exponent's interval in FINDINGS.md includes 1.)"""
    seeds = range(8)
    short = metric("loss_area", topology, "random:0.1@20+4", seeds)
    long = metric("loss_area", topology, "random:0.1@20+16", seeds)
    assert short > 0
    assert long > 4 * short


def test_more_inventory_and_more_suppliers_improve_resilience():
    """Colon et al. 2021: more inventory and more suppliers per firm reduce the loss.

    Measured (loss area, mean of seeds 0-3; k = 1 / 3 / 5 suppliers per input): 1.84 / 1.26 /
    1.31 with the default home bias 0.7, 2.62 / 1.04 / 1.00 with web_home_bias = 0 (seeds 0-7:
    1.95 / 1.42 / 1.44 and 2.96 / 1.05 / 1.02). Multi-sourcing helps; beyond three suppliers
    the gain is within seed noise either way, so that is all that is asserted."""
    base = metric("loss_area", WEB, "random:0.1@20+12")
    assert metric("loss_area", WEB, "random:0.1@20+12", target_cover_weeks=8.0) < base
    fewer = metric("loss_area", WEB, "random:0.1@20+12", suppliers_per_input=1)
    more = metric("loss_area", WEB, "random:0.1@20+12", suppliers_per_input=5)
    assert base < fewer and more < fewer
    assert more == pytest.approx(base, rel=0.1)


def test_amplification_falls_with_shock_size_in_this_model():
    """Hallegatte 2008 finds total/direct losses rising with shock size; this model shows the
    opposite under random firm loss (FINDINGS.md: a large share of firms down leaves little
    output to lose indirectly). Pinned so that a change in this behaviour is noticed."""
    small = metric("amplification", WEB, "random:0.05@20+26")
    large = metric("amplification", WEB, "random:0.4@20+26")
    assert small > large >= 1.0
