"""Validation: the default model against results from the literature (docs/sources.md).

Each test states a published qualitative result and checks the model shows it, on a few seeds.
They can fail: a change that makes the model stop echoing the literature should be noticed.
Measured on the mechanisms of docs/mechanisms.md (complete supply line, alpha scaled by scarcity,
capacity-aware re-sourcing, closed borders that stop goods in transit).
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

    Measured worst-week performance under the random loss, mean of seeds 0-3: 0.41 on the
    corrected mechanisms (0.43 before them, with the default bid noise; 0.52 with
    wiring_noise = 0); the hub hit gives 0 either way. Still shown."""
    share = hub_assembly_share()
    assert 0 < share < 0.2
    hub_hit = metric("min_performance", HUB, "assembly:USA@20+26")
    random_loss = metric("min_performance", HUB, f"random:{share:.3f}@20+26")
    assert hub_hit == 0.0
    assert random_loss > 0.3


def test_the_web_degrades_gradually_when_the_hub_is_hit():
    """A web keeps delivering through a hit on the hub's assembly: co-production elsewhere
    (worst week 0.42 of demand, seeds 0-3)."""
    assert metric("min_performance", WEB, "assembly:USA@20+26") > 0.3


def test_the_web_degrades_gradually_under_random_loss():
    """Worst-week performance falls step by step as more firms are lost at random, and the
    web still delivers a fifth of demand with 35% of its firms down for half a year (Albert et
    al.'s random-failure case: the giant component survives large random losses). Measured,
    seeds 0-3: 0.84 / 0.51 / 0.39 / 0.25 at 5 / 15 / 25 / 35 % of firms down."""
    shares = [0.05, 0.15, 0.25, 0.35]
    worst = [metric("min_performance", WEB, f"random:{s}@20+26") for s in shares]
    assert all(a > b for a, b in itertools.pairwise(worst))
    assert worst[-1] > 0.2


@pytest.mark.parametrize("topology", [HUB, WEB])
def test_losses_grow_faster_than_the_disruption_lasts(topology):
    """Colon et al. 2021: losses grow non-linearly with duration. Inventories absorb a short
    disruption; a long one drains them and spreads: four times the duration (4 to 16 weeks)
    costs more than four times the loss. Measured on the corrected mechanisms, seeds 0-7:
    hub-and-spokes 0.46 -> 6.19 (x13.5), the web 0.24 -> 2.34 (x9.6): clearly non-linear in
    both (before, the web's margin was thin)."""
    seeds = range(8)
    short = metric("loss_area", topology, "random:0.1@20+4", seeds)
    long = metric("loss_area", topology, "random:0.1@20+16", seeds)
    assert short > 0
    assert long > 4 * short


def test_more_inventory_and_more_suppliers_improve_resilience():
    """Colon et al. 2021: more inventory and more suppliers per firm reduce the loss.

    Measured on the corrected mechanisms (loss area, mean of seeds 0-3; k = 1 / 3 / 5 suppliers
    per input): 1.60 / 1.33 / 1.36, and 0.86 with 8 weeks of cover instead of 4 (before the
    corrections: 1.84 / 1.26 / 1.31). Multi-sourcing helps; beyond three suppliers the gain is
    within seed noise, so that is all that is asserted."""
    base = metric("loss_area", WEB, "random:0.1@20+12")
    assert metric("loss_area", WEB, "random:0.1@20+12", target_cover_weeks=8.0) < base
    fewer = metric("loss_area", WEB, "random:0.1@20+12", suppliers_per_input=1)
    more = metric("loss_area", WEB, "random:0.1@20+12", suppliers_per_input=5)
    assert base < fewer and more < fewer
    assert more == pytest.approx(base, rel=0.1)


def test_amplification_rises_with_shock_severity():
    """Hallegatte 2008: total/direct losses rise with the size of the shock. With partial shocks
    (the same firms losing a share s of their capacity) the model shows it: ARIO's gross
    amplification (docs/metrics.md), hub-and-spokes, a random 20 % of firms hit for 26 weeks,
    mean of seeds 0-3, measured 0.05 / 1.46 / 3.93 / 4.90 / 4.45 at s = 0.1 / 0.25 / 0.5 /
    0.75 / 1 (Korea's TNT makers for 8 weeks: 0.51 / 2.78 / 4.19 / 4.62 / 8.60). A small cut is
    absorbed by overproduction and stock; a deep one spreads. It rises up to s = 0.75; whole
    outages of the random firms amplify a little less than three-quarter ones, so the test
    asserts the rise over s = 0.1 ... 0.5. The test it replaces pinned "amplification falls
    with shock size", measured with whole-firm outages of a growing *share* of firms, where a
    large share leaves little output to lose indirectly: a different experiment."""
    amplification = [
        metric("amplification_gross", HUB, f"random:0.2@20+26:s={s}") for s in (0.1, 0.25, 0.5)
    ]
    assert all(a < b for a, b in itertools.pairwise(amplification)), amplification
    assert amplification[-1] > 2.0
