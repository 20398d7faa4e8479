"""Lever costs: a [costs] table in the scenario file, checked field by field, and the sums."""

from __future__ import annotations

import pytest

from webmodel.coalition.costs import DEFAULT_COSTS, parse_costs
from webmodel.coalition.parameters import SPECS
from webmodel.coalition.scenario import ScenarioError, load_scenario
from webmodel.core.model import CoalitionModel  # noqa: F401  (the scenario's normal users)


def test_builtin_scenarios_carry_costs_for_every_policy_lever() -> None:
    for name in ("default", "us_155mm", "indo_pacific"):
        costs = load_scenario(name).costs
        for lever in ("capacity_headroom", "stockpile_weeks", "suppliers_per_input",
                      "subtier_visibility", "cyber_hardening", "border_delay",
                      "coproduction_share"):  # fmt: skip
            assert lever in costs.models, (name, lever)
            assert SPECS[lever].role == "lever"


def test_costs_are_zero_at_baseline_and_add_up() -> None:
    scenario = load_scenario("default")
    demand = scenario.weekly_demand
    baseline = {"capacity_headroom": 0.0, "stockpile_weeks": 0.0, "suppliers_per_input": 1,
                "subtier_visibility": False, "cyber_hardening": 0.0, "border_delay": 4}  # fmt: skip
    assert scenario.costs.cost(baseline, demand) == 0
    portfolio = {"capacity_headroom": 0.1, "stockpile_weeks": 2.0, "suppliers_per_input": 3,
                 "subtier_visibility": True, "border_delay": 1}  # fmt: skip
    parts = scenario.costs.breakdown(portfolio, demand)
    assert parts["capacity_headroom"] == pytest.approx(200.0)
    # 2 weeks x (3,750 shells x $0.005M + 17 interceptors x $4M)
    assert parts["stockpile_weeks"] == pytest.approx(2 * (3750 * 0.005 + 17 * 4.0))
    assert parts["suppliers_per_input"] == pytest.approx(100.0)
    assert parts["subtier_visibility"] == 100.0
    assert parts["border_delay"] == pytest.approx(75.0)  # 3 weeks off the scenario's 4
    assert scenario.costs.cost(portfolio, demand) == pytest.approx(sum(parts.values()))


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ({"capacity_headroom": {"per_unit": -1}}, "costs.capacity_headroom.per_unit: must be"),
        ({"capacity_headrom": {"per_unit": 1}}, "did you mean capacity_headroom"),
        ({"alpha_max": {"per_unit": 1}}, "costs.alpha_max: alpha_max is an uncertainty"),
        ({"border_delay": {"direction": "down"}}, "costs.border_delay.direction"),
        ({"stockpile_weeks": {"prices": {"shell_155mm": 1}}}, "no price for end item(s) tank"),
        ({"cyber_hardening": {"per_unt": 1}}, "costs.cyber_hardening.per_unt: unknown field"),
        ({"rationing": {"levels": {"first": 1}}}, "costs.rationing.levels.first: not a rule"),
        ({"topology": {"fixed": 1}}, "compared, not costed"),
    ],
)
def test_bad_costs_are_named(raw, words: str) -> None:
    _, problems = parse_costs(raw, 4, ("shell_155mm", "tank"))
    assert any(words in p for p in problems), problems


def test_a_scenario_file_with_bad_costs_is_refused(tmp_path) -> None:
    text = (load_scenario.__globals__["resources"].files("webmodel.coalition.scenarios")
            / "default.toml").read_text()  # fmt: skip
    path = tmp_path / "s.toml"
    path.write_text(text.replace("cyber_hardening = { per_unit = 500 }",
                                 'cyber_hardening = { per_unit = "a lot" }'))  # fmt: skip
    with pytest.raises(ScenarioError, match=r"costs\.cyber_hardening\.per_unit"):
        load_scenario(path)


def test_a_scenario_without_costs_keeps_working() -> None:
    costs, problems = parse_costs(None, 4, ("shell_155mm", "tank"))
    assert problems == [] and costs.models["stockpile_weeks"].unpriced == ("tank",)
    # the unpriced item's stockpile costs nothing; the priced one as before
    assert costs.cost({"stockpile_weeks": 1.0}, {"shell_155mm": 1000, "tank": 5}) == 5.0


def test_defaults_only_for_levers() -> None:
    assert all(SPECS[name].role == "lever" for name in DEFAULT_COSTS)
