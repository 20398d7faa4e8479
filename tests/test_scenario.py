"""The scenario file: the default coalition, scaling, and clear errors for bad input."""

from __future__ import annotations

import copy
import tomllib
from importlib import resources

import numpy as np
import pytest

from webmodel.coalition.scenario import ScenarioError, load_scenario, parse_scenario


@pytest.fixture
def raw():
    text = resources.files("webmodel.coalition.scenarios").joinpath("default.toml").read_text()
    return tomllib.loads(text)


def test_default_scenario_is_the_coalition_of_the_brief(scenario):
    codes = scenario.state_codes
    assert scenario.hub == "USA"
    assert len(codes) >= 5
    assert {"USA", "KOR", "JPN", "AUS"} <= set(codes)
    assert {"POL", "DEU", "GBR", "FRA"} & set(codes), "at least one European ally"
    assert 150 <= scenario.n_firms <= 400
    bom = scenario.bom()
    assert set(scenario.end_items) >= {"shell_155mm", "interceptor"}
    assert bom.tiers.max() >= 3, "at least three tiers below the end items"
    shell = bom.products[bom.index["shell_155mm"]].inputs
    assert set(shell) == {"projectile_body", "energetic_fill", "propellant_charge", "fuze"}
    interceptor = bom.products[bom.index["interceptor"]].inputs
    assert {"rocket_motor", "seeker", "guidance_electronics"} <= set(interceptor)


def test_chokepoints_have_few_producers(scenario):
    producers = {}
    for g in scenario.firm_groups:
        producers[g.product] = producers.get(g.product, 0) + g.count
    chokepoints = [p.name for p in scenario.products if p.chokepoint]
    assert {"tnt", "nitrocellulose", "rocket_motor"} <= set(chokepoints)
    others = [n for p, n in producers.items() if p not in chokepoints]
    for name in chokepoints:
        assert producers[name] <= 5, name
    assert np.mean([producers[c] for c in chokepoints]) < np.mean(others) / 2
    # No US TNT production (docs/sources.md): the hub depends on allies for it.
    assert not any(g.product == "tnt" and g.state == "USA" for g in scenario.firm_groups)


def test_scaled_to_ten_thousand_firms(scenario):
    big = scenario.scaled(10_000)
    assert big.n_firms >= 10_000 * 0.98
    for name in ("shell_155mm", "tnt"):
        cap = sum(g.capacity for g in scenario.firm_groups if g.product == name)
        big_cap = sum(g.capacity for g in big.firm_groups if g.product == name)
        demand = sum(s.demand.get("shell_155mm", 0) for s in scenario.states)
        big_demand = sum(s.demand.get("shell_155mm", 0) for s in big.states)
        assert big_cap / big_demand == pytest.approx(cap / demand)


def _error(data) -> str:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data, "test.toml")
    return str(info.value)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d.pop("hub"), "hub: required"),
        (lambda d: d.update(hub="CHN"), "hub: 'CHN' is not one of the states"),
        (lambda d: d.update(colour="red"), "colour: unknown field"),
        (lambda d: d["states"][1].update(code="Korea"), "states[1].code: must be an ISO 3166"),
        (lambda d: d["states"][0]["demand"].update(shell_155mm=-1), "states[0].demand.shell_155mm"),
        (
            lambda d: d["states"][0]["demand"].update(tank=3),
            "states[0].demand.tank: unknown product",
        ),
        (lambda d: d["products"][0]["inputs"].update(fuzz=1), "inputs.fuzz: unknown product"),
        (
            lambda d: d["products"][2].update(lead_time_weeks=0),
            "lead_time_weeks: required, an integer in [1, 1040]",
        ),
        (lambda d: d["firms"][3].update(capacity=-5), "firms[3].capacity"),
        (lambda d: d["firms"][3].update(capacity="big"), "firms[3].capacity"),
        (lambda d: d["firms"][4].update(count=0), "firms[4].count"),
        (lambda d: d["firms"][4].update(state="CHN"), "firms[4].state: unknown state 'CHN'"),
        (lambda d: d["firms"][4].update(product="tank"), "firms[4].product: unknown product"),
        (lambda d: d["parameters"].update(adjustment_time=0.5), "parameters.adjustment_time"),
        (lambda d: d["parameters"].update(rationing="random"), "parameters.rationing"),
        (lambda d: d["parameters"].update(tau=3), "parameters.tau: unknown parameter"),
        (lambda d: d["cross_border"]["pairs"].update({"USA-XXX": 2}), "cross_border.pairs.USA-XXX"),
        (lambda d: d["cross_border"].update(default_delay_weeks=-1), "default_delay_weeks"),
        (
            lambda d: d.update(firms=[f for f in d["firms"] if f["product"] != "tnt"]),
            "no firm group makes 'tnt'",
        ),
        (
            lambda d: [
                f.update(capacity=f["capacity"] / 10)
                for f in d["firms"]
                if f["product"] == "nitrocellulose"
            ],
            "firms (nitrocellulose): baseline demand",
        ),
    ],
)
def test_bad_field_is_named(raw, mutate, expected):
    data = copy.deepcopy(raw)
    mutate(data)
    assert expected in _error(data)


def test_cycle_in_bill_of_materials_is_named(raw):
    data = copy.deepcopy(raw)
    tnt = next(p for p in data["products"] if p["name"] == "tnt")
    tnt["inputs"]["energetic_fill"] = 1
    assert "cycle" in _error(data)


def test_all_problems_reported_at_once(raw):
    data = copy.deepcopy(raw)
    data["firms"][0]["capacity"] = 0
    data["firms"][1]["count"] = -2
    message = _error(data)
    assert "firms[0].capacity" in message and "firms[1].count" in message


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ScenarioError, match="no such file"):
        load_scenario(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("name = [unclosed")
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load_scenario(bad)


def test_disruptions_and_state_hardening_in_the_scenario_file(raw):
    data = copy.deepcopy(raw)
    data["disruptions"] = [
        "assembly:USA@12+8",
        {
            "kind": "state",
            "target": "KOR",
            "start": 10,
            "duration": 4,
            "recovery": "linear",
            "recovery_weeks": 2,
        },
    ]
    data["states"][1]["cyber_hardening"] = 0.9
    scenario = parse_scenario(data)
    assert [d.spec for d in scenario.disruptions] == ["assembly:USA@12+8", "state:KOR@10+4~2"]
    assert scenario.states[1].cyber_hardening == 0.9
    data["disruptions"].append("meteor:0.1@3+2")
    data["states"][2]["cyber_hardening"] = 2
    message = _error(data)
    assert "disruptions[2]: unknown disruption kind 'meteor'" in message
    assert "states[2].cyber_hardening" in message


def test_platforms_name_known_states(raw):
    data = copy.deepcopy(raw)
    data["parameters"]["platforms"] = [["USA", "KOR"], ["USA", "XYZ"]]
    assert "parameters.platforms[1]: unknown state 'XYZ'" in _error(data)


def test_builtin_scenarios_load_by_name():
    from webmodel.coalition.scenario import builtin_scenarios

    assert {"default", "us_155mm"} <= set(builtin_scenarios())
    assert load_scenario("us_155mm").name == "us_155mm"
    with pytest.raises(ScenarioError, match="nor a built-in scenario"):
        load_scenario("us_156mm")
