"""Services (ship repair): the queue of ships, the yards' slots, parts, and fleet availability,
on a case small enough to compute by hand."""

from __future__ import annotations

import re
import tomllib

import numpy as np
import pytest

from webmodel.coalition.scenario import ScenarioError, parse_scenario
from webmodel.core.model import CoalitionModel

# One state, one yard (4 slots) repairing its fleet of 20 ships; one spare-parts maker.
# 1 ship per week arrives, a job holds a slot 3 weeks: 3 ships in maintenance, 1 slot idle.
TINY = """
name = "tiny_repair"
hub = "USA"
[parameters]
resourcing_weeks = 0
investment_share = 0.0
alpha_max = 1.0
[[states]]
code = "USA"
role = "hub"
services = { ship_repair = { fleet = 20, jobs_per_week = 1 } }
[[products]]
name = "ship_repair"
lead_time_weeks = 1
service = true
job_weeks = 3
inputs = { parts = 2 }
[[products]]
name = "parts"
lead_time_weeks = 1
[[firms]]
product = "ship_repair"
state = "USA"
count = 1
capacity = 4
[[firms]]
product = "parts"
state = "USA"
count = 1
capacity = 10
"""


def tiny(text: str = TINY):
    return parse_scenario(tomllib.loads(text), "tiny.toml")


def test_services_are_parsed_into_slot_weeks_and_a_fleet():
    scenario = tiny()
    usa = scenario.states[0]
    assert usa.demand == {"ship_repair": 3.0}  # 1 job/week x 3 weeks = 3 slot-weeks/week
    assert usa.fleet == {"ship_repair": 20.0}
    product = scenario.products[0]
    assert product.service and product.job_weeks == 3


@pytest.mark.parametrize("engine", ["array", "reference"])
def test_no_shock_keeps_the_queue_and_availability_steady(engine):
    model = CoalitionModel(tiny(), steps=30, rng=1, engine=engine).run()
    np.testing.assert_allclose(model.series("in_maintenance"), 3.0, rtol=1e-12)
    np.testing.assert_allclose(model.series("fleet_availability"), 17 / 20, rtol=1e-12)
    np.testing.assert_allclose(model.series("repair_backlog"), 0.0, atol=1e-12)
    np.testing.assert_allclose(model.series("repairs_completed"), 1.0, rtol=1e-12)
    np.testing.assert_allclose(model.series("turnaround_weeks"), 3.0, rtol=1e-12)
    np.testing.assert_allclose(model.series("production")[:, 1], 6.0, rtol=1e-12)  # parts


@pytest.mark.parametrize("engine", ["array", "reference"])
def test_a_yard_outage_by_hand(engine):
    """The yard loses 3 of its 4 slots in weeks 2-3 (the outage starts in the week's step;
    the slot-week a yard gives reaches the fleet one week later, its lead time).

    Start of each week: ships carried C; arrivals 1; ships N = C + 1; each asks a slot-week.
    Week 1: N = 2 + 1 = 3; yard gives 3 (arrive week 2); arriving now: last week's 3.
            worked 3, done 1, carried 2. availability 17/20.
    Week 2: N = 3; yard has 1 slot: gives 1; arriving: 3 (week 1's). worked 3, done 1, C = 2.
    Week 3: N = 3; yard gives 1; arriving: 1. worked 1, done 1/3, C = 8/3, backlog 2.
    Week 4: N = 11/3; yard (back to 4 slots) gives 11/3; arriving: 1. worked 1, done 1/3,
            C = 10/3, backlog 8/3, availability (20 - 11/3)/20.
    Week 5: N = 13/3 > 4 slots: gives 4; arriving 11/3. worked 11/3, done 11/9,
            C = 13/3 - 11/9 = 28/9, backlog 2/3.
    Week 6: N = 37/9 > 4: gives 4; arriving 4. worked 4, done 4/3, C = 37/9 - 12/9 = 25/9.
    """
    model = CoalitionModel(
        tiny(), steps=6, rng=1, engine=engine, disruptions=["product:ship_repair@2+2:s=0.75"]
    )
    model.run()
    n = model.series("in_maintenance")[:, 0]
    np.testing.assert_allclose(n, [3, 3, 3, 11 / 3, 13 / 3, 37 / 9], rtol=1e-12)
    worked = [3, 3, 1, 1, 11 / 3, 4]
    np.testing.assert_allclose(model.series("served")[:, 0], worked, rtol=1e-12)
    np.testing.assert_allclose(
        model.series("repair_backlog")[:, 0], n - np.array(worked), atol=1e-12
    )
    np.testing.assert_allclose(
        model.series("repairs_completed")[:, 0], np.array(worked) / 3, rtol=1e-12
    )
    np.testing.assert_allclose(model.series("fleet_availability")[:, 0], (20 - n) / 20, rtol=1e-12)
    np.testing.assert_allclose(
        model.series("turnaround_weeks")[:, 0], 3 * n / np.array(worked), rtol=1e-12
    )
    # Parts: 2 per slot-week the yard works.
    yard = model.series("production")[:, 0]
    np.testing.assert_allclose(yard, [3, 1, 1, 11 / 3, 4, 4], rtol=1e-12)


def test_a_surge_raises_the_ships_in_maintenance_by_littles_law():
    model = CoalitionModel(tiny(), steps=60, rng=1, surge=1.3, surge_start=1).run()
    # 1.3 ships/week x 3 weeks = 3.9 < 4 slots: Little's law, turnaround stays 3 weeks.
    assert model.series("in_maintenance")[-1, 0] == pytest.approx(3.9, rel=1e-6)
    assert model.series("turnaround_weeks")[-1, 0] == pytest.approx(3.0, rel=1e-9)


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("job_weeks = 3", "job_weeks = 0", "products[0] (ship_repair).job_weeks"),
        ("service = true", 'service = "yes"', "products[0] (ship_repair).service"),
        ("fleet = 20", "fleet = 3", "states[0] (USA).services.ship_repair.fleet"),
        ("jobs_per_week = 1", "jobs_per_week = -1", "ship_repair.jobs_per_week"),
        ("jobs_per_week = 1 }", "jobs_per_week = 1, crew = 2 }", "ship_repair.crew"),
        ("services = { ship_repair", "services = { parts", "services.parts"),
        ("capacity = 4", "capacity = 2", "firms (ship_repair)"),
    ],
)
def test_bad_services_are_named(old, new, field):
    with pytest.raises(ScenarioError, match=re.escape(field)):
        tiny(TINY.replace(old, new, 1))


def test_run_json_and_the_sweep_columns_carry_the_service_metrics(capsys):
    import json

    from webmodel.analysis.sweep.runner import flatten_totals
    from webmodel.cli import main
    from webmodel.core.model import CoalitionModel
    from webmodel.io.output import totals

    outage = "product:ship_repair:USA@5+6"
    args = ["--scenario", "indo_pacific", "--steps", "30", "--surge", "1", "--disrupt", outage]
    assert main(["run", "--json", *args]) == 0
    services = json.loads(capsys.readouterr().out)["totals"]["services"]["ship_repair"]
    assert services["fleet_availability_min"] < services["fleet_availability_baseline"]
    assert services["repair_backlog_peak"] > 0
    model = CoalitionModel("indo_pacific", steps=30, surge=1.0, rng=1, disruptions=[outage]).run()
    flat = flatten_totals(totals(model))
    assert flat["services.ship_repair.fleet_availability_min"] == pytest.approx(
        services["fleet_availability_min"]
    )
    assert main(["compare", *args]) == 0
    assert "fleet availability, lowest" in capsys.readouterr().out
    # A scenario without services keeps its totals as they were.
    assert "services" not in totals(CoalitionModel(steps=3, rng=1).run())


def test_the_exposure_review_traces_a_service_and_its_foreign_sub_tier():
    """KOR's ship repair and K9 line in the dependency map, in both wirings; in the web the
    K9's power packs come partly from Germany."""
    from webmodel.analysis.exposure.dependency import dependency_map, state_report

    maps = [
        dependency_map(CoalitionModel("indo_pacific", topology=t, rng=1).network, ["KOR"])
        for t in ("hub-and-spokes", "production-web")
    ]
    report = state_report(maps, "KOR")
    for wiring in report["wirings"].values():
        roots = {(r["role"], r["end_item"]): r["tiers"] for r in wiring["roots"]}
        assert ("consumes", "ship_repair") in roots
    web = {(r["role"], r["end_item"]): r for r in report["wirings"]["production-web"]["roots"]}
    k9_tier1 = web[("makes", "k9_sph")]["tiers"][1]
    assert "DEU" in str(k9_tier1)
