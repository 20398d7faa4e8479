"""XLRM in experiment files: factors are uncertainties or levers, by declaration or by choice."""

from __future__ import annotations

import pytest
from sweep_support import ROOT, SMALL, write_experiment

from webmodel.analysis.sweep.experiment import ExperimentError, load_experiment
from webmodel.analysis.sweep.plan import build_plan
from webmodel.coalition.parameters import SPECS


def test_every_declared_parameter_has_a_role() -> None:
    assert all(spec.role in ("lever", "uncertainty", "setting") for spec in SPECS.values())


def test_factors_take_their_parameters_role_by_default(tmp_path) -> None:
    experiment = load_experiment(write_experiment(tmp_path))
    roles = {f.name: f.role for f in experiment.factors}
    assert roles == {"topology": "lever", "surge": "uncertainty"}
    frame = experiment.xlrm()
    assert frame["levers"] == ["topology"] and frame["uncertainties"] == ["surge"]
    # both wirings vary, so every kept metric has its paired web - hub difference
    assert frame["outcomes"] == ["*", "web_minus_hub.*"]


def test_a_factor_may_say_its_role(tmp_path) -> None:
    text = SMALL.replace(
        "surge = [1.0, 2.0]", 'surge = {{ levels = [1.0, 2.0], role = "lever" }}'
    ).replace(
        'topology = ["hub-and-spokes", "production-web"]',
        'topology = ["hub-and-spokes", "production-web"]\n'
        'stockpile_weeks = {{ min = 0.0, max = 4.0, n = 2, role = "uncertainty" }}',
    )
    experiment = load_experiment(write_experiment(tmp_path, text))
    roles = {f.name: f.role for f in experiment.factors}
    assert roles == {"topology": "lever", "stockpile_weeks": "uncertainty", "surge": "lever"}
    surge = next(f for f in experiment.factors if f.name == "surge")
    assert surge.levels == (1.0, 2.0)
    # the levels table form gives the same design as the plain list
    plain = build_plan(load_experiment(write_experiment(tmp_path, SMALL, name="plain")))
    assert build_plan(experiment).n_runs == 2 * plain.n_runs


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ('{{ levels = [1.0, 2.0], role = "knob" }}', ["factors.surge.role", "'knob'", "lever"]),
        ('{{ levels = [1.0, 2.0], rol = "lever" }}', ["factors.surge.rol: unknown field", "role"]),
        ("{{ levels = 2.0 }}", ["factors.surge.levels: must be a list"]),
    ],
)
def test_a_wrong_role_is_named(tmp_path, spec: str, words: list[str]) -> None:
    text = SMALL.replace("surge = [1.0, 2.0]", f"surge = {spec}")
    with pytest.raises(ExperimentError) as caught:
        load_experiment(write_experiment(tmp_path, text))
    for word in words:
        assert word in str(caught.value)


def test_the_study_files_still_load_with_roles() -> None:
    sensitivity = load_experiment(ROOT / "experiments" / "sensitivity.toml").xlrm()
    assert "disruptions" in sensitivity["uncertainties"]
    assert {"suppliers_per_input", "stockpile_weeks"} <= set(sensitivity["levers"])
    assert "web_minus_hub.loss_area" in sensitivity["outcomes"]
