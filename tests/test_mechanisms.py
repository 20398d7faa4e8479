"""The mechanisms a careful reviewer checks (docs/mechanisms.md): the supply line, overproduction,
closed borders, and what a firm that is down does. Each test fails on the mechanisms of before."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from webmodel.analysis.validation import ario
from webmodel.core.model import CoalitionModel


def _peak_owed(model: CoalitionModel, firm: int, steps: int) -> float:
    """The largest backlog a firm's customers are owed, in weeks of its baseline output."""
    engine, peak = model.engine, 0.0
    for _ in range(steps):
        model.step()
        peak = max(peak, float(engine.backlog[engine.supplier == firm].sum()))
    return peak / model.network.baseline_output[firm]


@pytest.mark.parametrize("destocking", ["allowed", "none"])
def test_an_order_not_yet_filled_is_not_ordered_again(destocking):
    """Supply line (finding 1): during an 8-week outage the buyers go on needing the same
    inputs, so an honest order book grows by one week of orders per week down: 8 weeks. A
    supply line that leaves out what suppliers owe orders the same gap again every week (17
    weeks of orders before the fix)."""
    model = CoalitionModel(
        ario.economy(),
        topology="production-web",
        steps=60,
        rng=1,
        disruptions=[f"firm:{ario.HIT}@10+8"],
        destocking=destocking,
    )
    peak = _peak_owed(model, model.network.firms.name.index(ario.HIT), 60)
    assert 7.0 <= peak <= 8.0 + 1e-6


def test_supply_line_weight_below_one_orders_more_after_a_shortfall():
    """beta < 1 (Sterman's underweighting) counts only part of what is owed: more is ordered."""
    peaks = []
    for beta in (1.0, 0.5):
        model = CoalitionModel(
            ario.economy(),
            topology="production-web",
            steps=40,
            rng=1,
            disruptions=[f"firm:{ario.HIT}@10+8"],
            supply_line_weight=beta,
        )
        peaks.append(_peak_owed(model, model.network.firms.name.index(ario.HIT), 40))
    assert peaks[1] > peaks[0] + 1.0


def _longest_alternation(series: np.ndarray, tolerance: float) -> int:
    """The longest run of week-to-week changes that flip sign, each above ``tolerance``
    (relative): 1 is one up-down, a period-2 oscillation makes it as long as it lasts."""
    change = np.diff(series) / series[:-1]
    best = run = 0
    for a, b in itertools.pairwise(change):
        if abs(a) > tolerance and abs(b) > tolerance and np.sign(a) != np.sign(b):
            run += 1
            best = max(best, run)
        else:
            run = 0
    return best


@pytest.mark.parametrize("surge", [1.25, 1.5, 2.0, 3.0])
@pytest.mark.parametrize("topology", ["hub-and-spokes", "production-web"])
def test_no_period_two_oscillation_under_a_constant_surge(scenario, topology, surge):
    """Overproduction (finding 2): alpha moves at scarcity / alpha_time toward alpha_max and
    relaxes only when scarcity is gone, so a constant surge gives no up-down chatter. Before,
    hub-and-spokes' assemblers alternated every week under x1.25 (62 flips in a row above
    0.1 %, 6 under x1.5-x3); now at most 2, each a transient."""
    model = CoalitionModel(scenario, topology=topology, surge=surge, steps=104, rng=1).run()
    delivered = model.series("delivered").sum(axis=1)[40:]
    assert _longest_alternation(delivered, 1e-3) <= 2


def _korea_cut_off(scenario, transit: str, weeks: int = 4):
    """The production web with a Korea cut-off from week 10; per week, the goods arriving over
    Korea's cross-border links, and the model."""
    model = CoalitionModel(
        scenario,
        topology="production-web",
        steps=40,
        rng=1,
        disruptions=[f"state:KOR@10+{weeks}"],
        closed_border_transit=transit,
    )
    engine, net = model.engine, model.network
    kor = net.state_codes.index("KOR")
    arrivals = []
    for _ in range(40):
        model.step()
        supplier_state = net.firms.state[net.link_supplier[engine.link_order]]
        buyer_state = net.link_buyer_state[engine.link_order]
        touches_korea = (supplier_state == kor) | (buyer_state == kor)
        crossing = (supplier_state != buyer_state) & touches_korea
        arrivals.append(float(engine.arrived[crossing].sum()))
    return np.array(arrivals), model


@pytest.mark.parametrize("transit", ["wait", "lost"])
def test_nothing_arrives_across_a_closed_border(scenario, transit):
    """Closed borders (finding 4): during a 4-week Korea cut-off nothing crosses Korea's
    borders, although goods were on their way (before the fix all of them still arrived)."""
    arrivals, model = _korea_cut_off(scenario, transit)
    assert arrivals[8] > 0  # week 9: trade flows
    assert np.all(arrivals[9:13] == 0.0)  # weeks 10-13: the border is shut
    lost = model.series("lost_in_transit").sum()
    if transit == "wait":
        assert lost == 0.0
        assert arrivals[13] > arrivals[8]  # what waited comes through when it reopens
    else:
        assert lost > 0.0


@pytest.mark.parametrize("transit", ["wait", "lost"])
def test_material_balance_with_goods_stopped_at_a_border(scenario, transit):
    """Waiting goods stay in transit; lost goods leave the system and are recorded."""
    _, model = _korea_cut_off(scenario, transit, weeks=6)
    held = model.series("stock") + model.series("in_transit")
    delivered = np.zeros_like(held)
    for k, item in enumerate(model.slot_items):
        delivered[:, model.bom.index[item]] += model.series("delivered")[:, k]
    flow = model.series("production") - model.series("consumed") - delivered
    flow -= model.series("lost_in_transit")
    assert np.max(np.abs(np.diff(held, axis=0) - flow[1:])) <= 1e-9 * held.max()


def _busiest_shell_assembler(scenario) -> tuple[int, str]:
    net = CoalitionModel(scenario, topology="hub-and-spokes", rng=1, steps=1).network
    shells = np.flatnonzero(net.firms.product == net.product_names.index("shell_155mm"))
    firm = int(shells[np.argmax(net.baseline_output[shells])])
    return firm, net.firms.name[firm]


@pytest.mark.parametrize("engine", ["array", "reference"])
def test_a_firm_that_is_down_keeps_its_alpha_and_investment_clock(scenario, engine):
    """Finding 5: under a x2 surge the assemblers are short and adapting; one of them goes down
    for 26 weeks. It neither raises alpha nor counts weeks toward an investment while down
    (before, it restarted at alpha 1.24 with capacity already ordered)."""
    firm, name = _busiest_shell_assembler(scenario)
    model = CoalitionModel(
        scenario,
        topology="hub-and-spokes",
        rng=1,
        steps=60,
        surge=2.0,
        surge_start=2,
        engine=engine,
        disruptions=[f"firm:{name}@12+26"],
    )
    history = []
    for _ in range(45):
        model.step()
        e = model.engine
        clock = e.short_weeks[firm] if engine == "array" else e.firms[firm].short_weeks
        history.append((float(e.alpha[firm]), int(clock), float(e.capacity[firm])))
    before = history[10]  # week 11, the last week up
    assert before[0] > 1.01 and before[1] > 5  # it was adapting
    for alpha, clock, capacity in history[11:37]:  # weeks 12 .. 37: down
        assert alpha == before[0] and clock == before[1] and capacity == before[2]


def test_a_firm_partly_down_works_overtime_but_orders_no_capacity(scenario):
    """A partial outage (s = 0.5): the working half raises alpha (ARIO's overproduction), but
    the investment clock waits until the firm is wholly up again: the shortage is the outage's,
    not a lack of capacity."""
    firm, name = _busiest_shell_assembler(scenario)
    model = CoalitionModel(
        scenario,
        topology="hub-and-spokes",
        rng=1,
        steps=40,
        disruptions=[f"firm:{name}@5+30:s=0.5"],
    )
    alphas, clocks = [], []
    for _ in range(34):
        model.step()
        alphas.append(float(model.engine.alpha[firm]))
        clocks.append(int(model.engine.short_weeks[firm]))
    assert alphas[-1] > alphas[4] + 0.05
    assert max(clocks) == 0


RESOURCING_CASES = [
    {"surge": 1.5},
    {"surge": 2.0},
    {"surge": 3.0},
    {"disruptions": ["assembly:USA@10+8"]},
    {"disruptions": ["state:KOR@10+8"]},
    {"disruptions": ["product:tnt@10+12~4"]},
    {"disruptions": ["random:0.2@10+8"]},
]


@pytest.mark.parametrize("case", RESOURCING_CASES, ids=str)
@pytest.mark.parametrize("topology", ["hub-and-spokes", "production-web"])
def test_resourcing_never_makes_the_loss_worse(scenario, topology, case):
    """Re-sourcing (finding 3) moves only what substitutes can carry, so it never loses more
    than waiting for the old supplier: at most 0.5 % + 0.02 weeks of demand more. Before, it
    moved whole order books to one substitute and failed this in four cases, all in
    hub-and-spokes (seed 1, loss area with / without re-sourcing): x1.5 12.06 / 11.20, x2
    32.80 / 32.15, x3 53.53 / 53.10, random 20 % for 8 weeks 3.46 / 3.18."""
    from webmodel.core.metrics import compute_metrics

    loss = {}
    for weeks in (4, 0):
        model = CoalitionModel(
            scenario, topology=topology, rng=1, steps=104, resourcing_weeks=weeks, **case
        ).run()
        loss[weeks] = compute_metrics(model)["loss_area"]
    assert loss[4] <= loss[0] * 1.005 + 0.02, loss


def test_a_search_moves_no_more_than_the_substitutes_room(scenario):
    """Each planned move fits its supplier's room (nominal capacity less output and what is
    already reserved), and no failing link plans to move more than its order."""
    from webmodel.coalition.resourcing import find_substitutes, room, volume

    model = CoalitionModel(
        scenario, topology="production-web", rng=1, steps=30, disruptions=["random:0.2@5+20"]
    )
    model.run(12)
    links = np.flatnonzero(model.engine.failing_weeks_of(np.arange(model.network.n_links)) > 0)
    assert len(links) > 0
    found = find_substitutes(model, links)
    assert found
    spare = room(model)
    by_supplier = np.zeros(model.network.n_firms)
    by_link: dict[int, float] = {}
    for sub in found:
        by_supplier[sub.supplier] += sub.amount
        by_link[sub.link] = by_link.get(sub.link, 0.0) + sub.amount
    assert np.all(by_supplier <= spare * (1 + 1e-12))
    need = dict(zip(links.tolist(), volume(model, links).tolist(), strict=True))
    assert all(amount <= need[link] * (1 + 1e-12) for link, amount in by_link.items())
