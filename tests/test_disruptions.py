"""Disruptions: what goes down, when it comes back, and clear errors for bad specs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from webmodel.coalition.disruptions import Disruption, DisruptionError, parse_disruption
from webmodel.core.metrics import compute_metrics
from webmodel.core.model import CoalitionModel


def test_parse_round_trip_and_levels():
    d = parse_disruption("assembly:USA@12+8~4")
    assert (d.kind, d.target, d.start, d.duration, d.recovery, d.recovery_weeks) == (
        "assembly",
        "USA",
        12,
        8,
        "linear",
        4,
    )
    assert d.spec == "assembly:USA@12+8~4"
    assert [d.level(w) for w in (11, 12, 19, 20, 21, 22, 23, 24)] == [
        1.0,
        0.0,
        0.0,
        0.25,
        0.5,
        0.75,
        1.0,
        1.0,
    ]
    instant = parse_disruption("product:tnt:KOR@5+3")
    assert instant.target == "tnt:KOR"
    assert [instant.level(w) for w in (4, 5, 7, 8)] == [1.0, 0.0, 0.0, 1.0]


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("meteor:0.1@5+3", "unknown disruption kind"),
        ("random:1.5@5+3", "fraction must be in (0, 1]"),
        ("random:lots@5+3", "target must be a fraction"),
        ("assembly@5+3", "a target is required"),
        ("assembly:USA@5", "malformed"),
        ("assembly:USA@0+3", "start must be a week >= 1"),
        ("targeted:0.1:pagerank@5+3", "centrality must be one of"),
    ],
)
def test_bad_specs_show_accepted_forms(spec, problem):
    with pytest.raises(DisruptionError) as info:
        parse_disruption(spec)
    assert problem in str(info.value)
    assert "accepted forms" in str(info.value) and "border:STATE-STATE" in str(info.value)


@pytest.mark.parametrize("spec", ["assembly:XYZ@5+3", "product:tank@5+3", "border:USA-USA@5+3"])
def test_unknown_targets_are_rejected_when_added(scenario, spec):
    with pytest.raises(DisruptionError):
        CoalitionModel(scenario, disruptions=[spec], rng=1)


def test_disrupted_firms_produce_nothing_and_recover_on_schedule(scenario):
    model = CoalitionModel(
        scenario, topology="production-web", rng=3, steps=30, disruptions=["product:tnt@5+4~2"]
    )
    tnt = model.bom.index["tnt"]
    makers = np.flatnonzero(model.network.firms.product == tnt)
    output = []
    availability = []
    for _ in range(12):
        model.step()
        output.append(model.engine.production[makers].sum())
        availability.append(model.engine.availability[makers].mean())
    assert availability == [1, 1, 1, 1, 0, 0, 0, 0, 0.5, 1, 1, 1]
    assert all(x == 0 for x in output[4:8])
    assert output[3] > 0 and output[8] > 0
    # Half the capacity is back in week 9: output can be at most half of alpha x capacity.
    cap = model.engine.capacity[makers].sum()
    assert output[8] <= 0.5 * model.engine.alpha[makers].max() * cap + 1e-9


def test_cut_off_state_ships_nothing_abroad(scenario):
    model = CoalitionModel(
        scenario,
        topology="production-web",
        rng=3,
        steps=40,
        disruptions=["state:KOR@5+20"],
        resourcing_weeks=0,
    )
    net = model.network
    kor = net.state_codes.index("KOR")
    seller, buyer = net.firms.state[net.link_supplier], net.link_buyer_state
    crossing = (seller != buyer) & ((seller == kor) | (buyer == kor))
    domestic = (seller == kor) & (buyer == kor)
    assert crossing.any() and domestic.any()
    engine = model.engine
    in_engine = np.argsort(engine.link_order)  # network link -> engine position
    stopped = None
    for week in range(1, 25):  # closed in weeks 5 .. 24
        model.step()
        if week >= 5:
            # Nothing crosses, nothing new is shipped across: what was on its way waits at the
            # border (closed_border_transit = "wait"), so Korea's cross-border transit is frozen.
            assert np.all(engine.arrived[in_engine[crossing]] == 0.0)
            waiting = engine.in_transit[in_engine[crossing]].sum()
            stopped = waiting if stopped is None else stopped
            assert waiting == pytest.approx(stopped, rel=1e-12) and waiting > 0
            assert engine.in_transit[in_engine[domestic]].sum() > 0


def test_border_freeze_closes_only_that_pair(scenario):
    model = CoalitionModel(scenario, rng=3, disruptions=["border:USA-KOR@3+5"])
    net = model.network
    closed = model.disruptions[0].links
    usa, kor = net.state_codes.index("USA"), net.state_codes.index("KOR")
    pairs = {
        (int(net.firms.state[net.link_supplier[k]]), int(net.link_buyer_state[k])) for k in closed
    }
    assert pairs <= {(usa, kor), (kor, usa)} and len(closed) > 0


def test_assembly_hit_is_the_whole_hub_line_only_in_hub_and_spokes(scenario):
    hs = CoalitionModel(
        scenario, topology="hub-and-spokes", rng=1, disruptions=["assembly:USA@5+4"]
    )
    web = CoalitionModel(
        scenario, topology="production-web", rng=1, disruptions=["assembly:USA@5+4"]
    )
    end_items = np.isin(hs.network.firms.product, hs.bom.end_items)
    assert len(hs.disruptions[0].firms) == end_items.sum()
    assert 0 < len(web.disruptions[0].firms) < end_items.sum()


def test_random_and_targeted_hit_the_same_share(scenario):
    model = CoalitionModel(scenario, rng=1, disruptions=["random:0.1@5+4", "targeted:0.1@5+4"])
    random_hit, targeted_hit = (d.firms for d in model.disruptions)
    assert len(random_hit) == len(targeted_hit) == round(0.1 * model.network.n_firms)
    degree = np.bincount(model.network.link_supplier, minlength=model.network.n_firms)
    assert degree[targeted_hit].mean() > degree[random_hit].mean()


def test_same_seed_hits_the_same_firms_in_both_topologies(scenario):
    a = CoalitionModel(scenario, topology="hub-and-spokes", rng=8, disruptions=["random:0.2@5+4"])
    b = CoalitionModel(scenario, topology="production-web", rng=8, disruptions=["random:0.2@5+4"])
    np.testing.assert_array_equal(a.disruptions[0].firms, b.disruptions[0].firms)


def test_cyber_hardening_shrinks_the_outage(scenario):
    soft = CoalitionModel(scenario, rng=2, disruptions=["cyber:0.4@5+4"])
    hard = CoalitionModel(scenario, rng=2, cyber_hardening=0.8, disruptions=["cyber:0.4@5+4"])
    full = CoalitionModel(scenario, rng=2, cyber_hardening=1.0, disruptions=["cyber:0.4@5+4"])
    assert len(soft.disruptions[0].firms) >= 0.4 * soft.network.n_firms
    assert len(hard.disruptions[0].firms) < len(soft.disruptions[0].firms)
    assert len(full.disruptions[0].firms) == 0
    # Correlated: the firms hit share a few IT vendors.
    vendors = np.unique(soft.it_vendor[soft.disruptions[0].firms])
    assert len(vendors) < len(np.unique(soft.it_vendor)) / 2


def test_disruption_added_while_running_starts_next_week(scenario):
    model = CoalitionModel(scenario, rng=1)
    model.run(6)
    scheduled = model.add_disruption(Disruption("assembly", "USA", start=2, duration=3))
    assert scheduled.disruption.start == 7
    model.step()
    assert model.engine.availability[scheduled.firms].max() == 0.0


@pytest.mark.parametrize("topology", ["hub-and-spokes", "production-web"])
def test_longer_disruption_of_the_same_firms_never_loses_less(scenario, topology):
    """Lost end-item output (the loss area of Q) grows with the duration of the same outage."""
    losses = []
    for weeks in (2, 4, 8, 16, 32):
        model = CoalitionModel(
            scenario, topology=topology, rng=5, steps=80, disruptions=[f"random:0.15@10+{weeks}"]
        ).run()
        losses.append(compute_metrics(model)["loss_area"])
    assert losses[0] > 0
    assert all(a <= b for a, b in itertools.pairwise(losses)), losses


def test_severity_parses_round_trips_and_scales_the_level():
    d = parse_disruption("random:0.1@20+10~4:s=0.5")
    assert (d.target, d.start, d.duration, d.recovery_weeks, d.severity) == ("0.1", 20, 10, 4, 0.5)
    assert d.spec == "random:0.1@20+10~4:s=0.5"
    assert parse_disruption(d.spec) == d
    # Half the capacity lost while down; the lost half returns in four equal steps.
    assert [d.level(w) for w in (19, 20, 29, 30, 31, 32, 33, 34)] == [
        1.0,
        0.5,
        0.5,
        0.625,
        0.75,
        0.875,
        1.0,
        1.0,
    ]
    assert parse_disruption("firm:KOR-tnt-1@5+3").severity == 1.0  # default: all of it


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("random:0.1@5+3:s=0", "severity must be in (0, 1]"),
        ("random:0.1@5+3:s=1.5", "severity must be in (0, 1]"),
        ("random:0.1@5+3:s=half", "malformed"),
        ("random:0.1@5+3:s=1e", "severity must be a number"),
        ("state:KOR@5+3:s=0.5", "severity applies to firm disruptions only"),
        ("firm@5+3", "a target is required"),
    ],
)
def test_bad_severities_show_accepted_forms(spec, problem):
    with pytest.raises(DisruptionError) as info:
        parse_disruption(spec)
    assert problem in str(info.value)
    assert ":s=SEVERITY" in str(info.value) and "firm:FIRM_ID" in str(info.value)


def test_severity_in_a_scenario_table_is_checked():
    with pytest.raises(DisruptionError, match="severity must be in"):
        Disruption("product", "tnt", start=5, duration=3, severity=2.0)
    assert Disruption("product", "tnt", severity=0.25).level(10) == 0.75


def test_one_named_firm_and_one_product_state_group(scenario):
    model = CoalitionModel(
        scenario, rng=2, steps=12, disruptions=["firm:KOR-tnt-1@5+3:s=0.4", "product:tnt:KOR@8+2"]
    )
    names = model.network.firms.name
    one, group = model.disruptions
    assert [names[i] for i in one.firms] == ["KOR-tnt-1"]
    assert {names[i].rsplit("-", 1)[0] for i in group.firms} == {"KOR-tnt"}
    assert len(group.firms) == sum(n.startswith("KOR-tnt-") for n in names)
    model.run(5)
    availability = model.engine.availability
    assert availability[one.firms[0]] == pytest.approx(0.6)
    assert np.count_nonzero(availability < 1) == 1
    model.run(8)
    assert np.all(model.engine.availability[group.firms] == 0.0)
    with pytest.raises(DisruptionError, match="unknown firm 'KOR-tnt-99'"):
        CoalitionModel(scenario, rng=2, disruptions=["firm:KOR-tnt-99@5+3"])


def _losses_by_severity(scenario, topology, spec):
    out = []
    for severity in (0.25, 0.5, 1.0):
        model = CoalitionModel(
            scenario, topology=topology, rng=4, steps=70, disruptions=[f"{spec}:s={severity}"]
        ).run()
        out.append((compute_metrics(model)["loss_area"], float(model.series("output_loss").sum())))
    return out


SEVERITY_CASES = [
    (topology, spec)
    for topology in ("hub-and-spokes", "production-web")
    for spec in ("product:tnt:KOR@10+8", "random:0.2@10+8~4", "assembly:USA@10+6")
]


@pytest.mark.parametrize(("topology", "spec"), SEVERITY_CASES)
def test_a_partial_outage_never_loses_more_end_items_than_the_full_one(scenario, topology, spec):
    """Same firms, same weeks: losing a share s of capacity loses no more of the forces' end
    items (loss area of Q) than losing it all, and a larger share loses no less."""
    areas = [area for area, _ in _losses_by_severity(scenario, topology, spec)]
    assert all(a <= b + 1e-9 for a, b in itertools.pairwise(areas)), areas


# Output lost by value over all firms, also in the geography-blind web (web_home_bias = 0) where,
# before the supply line counted what is owed, a half outage lost more than a whole one
# (assembly:USA@10+6: 549,062 at s=0.5 against 396,913 at s=1): a partly running firm kept
# re-ordering the gap it was already owed, which a firm wholly down does not. That is fixed; what
# remains in this case is re-sourcing's trigger, a threshold: a supplier at half capacity still
# delivers over half of its orders and is never re-sourced, one wholly down is (11 shifts to the
# slot's other suppliers), so the whole outage loses less (248,482 against 254,404 at s = 0.5;
# without re-sourcing the order holds: 254,404 against 324,671).
_TRIGGER = pytest.mark.xfail(
    strict=True,
    reason="re-sourcing triggers under half of an order: a whole outage is re-sourced, half is not",
)


@pytest.mark.parametrize(
    ("topology", "spec", "home_bias"),
    [(t, s, None) for t, s in SEVERITY_CASES]
    + [pytest.param("production-web", "assembly:USA@10+6", 0.0, marks=_TRIGGER)],
)
def test_a_partial_outage_never_loses_more_output_value_than_the_full_one(
    scenario, topology, spec, home_bias
):
    scenario = scenario.with_parameters(web_home_bias=home_bias)
    values = [value for _, value in _losses_by_severity(scenario, topology, spec)]
    assert values[-1] > 0
    assert all(a <= b * (1 + 1e-9) for a, b in itertools.pairwise(values)), values
