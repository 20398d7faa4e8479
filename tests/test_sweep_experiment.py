"""Experiment files: every mistake is caught before any run, and designs and seeds are right."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from sweep_support import SMALL, write_experiment

from webmodel.analysis.sweep.design import build_design, count_points
from webmodel.analysis.sweep.experiment import ExperimentError, load_experiment
from webmodel.analysis.sweep.parameters import EXCLUDED, model_parameters
from webmodel.analysis.sweep.plan import build_plan
from webmodel.cli import main
from webmodel.core.model import CoalitionModel


def _sweep(capsys, path, out) -> tuple[int, str]:
    code = main(["sweep", str(path), "--out", str(out), "--workers", "0", "--quiet"])
    return code, capsys.readouterr().err


BAD = {
    "unknown parameter, with the closest name": (
        SMALL.replace("surge_start = 5", "surge_strat = 5"),
        ["base.surge_strat: unknown parameter", "did you mean 'surge_start'"],
    ),
    "unknown factor": (
        SMALL.replace("surge = [1.0, 2.0]", "surges = [1.0, 2.0]"),
        ["factors.surges: unknown parameter", "did you mean 'surge'"],
    ),
    "wrong top-level field": (
        SMALL.replace("replicates = {replicates}", "replicate = {replicates}"),
        ["replicate: unknown field", "did you mean 'replicates'"],
    ),
    "level out of range": (
        SMALL.replace("surge = [1.0, 2.0]", "web_ness = [0.5, 1.5]"),
        ["factors.web_ness[1]", "[0, 1]", "1.5"],
    ),
    "unknown topology": (
        SMALL.replace('"production-web"]', '"web"]'),
        ["factors.topology[1]", "must be one of hub-and-spokes, production-web", "'web'"],
    ),
    "wrong type": (
        SMALL.replace("steps = {steps}", 'steps = "thirty"'),
        ["base.steps: must be int", "'thirty'"],
    ),
    "a level out of its declared bounds": (
        SMALL.replace("surge = [1.0, 2.0]", "adjustment_time = [4.0, 0.5]"),
        ["factors.adjustment_time[1]: must be a number in [1, 1,040] (weeks)", "0.5"],
    ),
    "a level only the model rejects": (
        SMALL.replace("surge = [1.0, 2.0]", 'platforms = [[["USA", "KOR"]], [["USA", "ZZZ"]]]'),
        ["factors.platforms = [['USA', 'ZZZ']]: the model rejects it", "unknown state 'ZZZ'"],
    ),
    "missing root seed": (
        SMALL.replace("root_seed = 7", ""),
        ["root_seed: required"],
    ),
    "unknown design": (
        SMALL.replace('kind = "full-factorial"', 'kind = "sobool"'),
        ["design.kind: unknown design 'sobool'", "did you mean 'sobol'"],
    ),
    "series pattern matching nothing": (
        SMALL.replace('"alpha_mean"', '"alpha_maen"'),
        ["output.series: 'alpha_maen' matches nothing", "did you mean 'alpha_mean'"],
    ),
    "range in a factorial without a count": (
        SMALL.replace("surge = [1.0, 2.0]", "surge = {{ min = 1.0, max = 2.0 }}"),
        ["factors.surge: a full-factorial design needs levels"],
    ),
    "duplicate level": (
        SMALL.replace("surge = [1.0, 2.0]", "surge = [1.0, 1.0]"),
        ["factors.surge: level 1.0 is listed twice"],
    ),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_experiment_exits_2_names_the_problem_and_creates_nothing(case, capsys, tmp_path):
    text, expected = BAD[case]
    path = write_experiment(tmp_path, text)
    out = tmp_path / "results"
    code, err = _sweep(capsys, path, out)
    assert code == 2
    assert "invalid experiment file" in err
    for fragment in expected:
        assert fragment in err, (fragment, err)
    assert not out.exists()


def test_every_problem_is_reported_at_once(tmp_path):
    text = SMALL.replace("surge_start = 5", "surge_strat = 5").replace(
        "replicates = {replicates}", "replicates = 0"
    )
    with pytest.raises(ExperimentError) as caught:
        load_experiment(write_experiment(tmp_path, text))
    assert len(caught.value.problems) == 2


def test_parameters_are_the_model_keywords():
    expected = [
        name
        for name in inspect.signature(CoalitionModel.__init__).parameters
        if name not in ("self", *EXCLUDED)
    ]
    assert list(model_parameters()) == expected
    params = model_parameters()
    assert params["steps"].check(10) is None
    assert params["steps"].check(2.5) == "must be an integer, got 2.5"
    assert params["surge"].coerce(2) == 2.0 and isinstance(params["surge"].coerce(2), float)


def test_full_factorial_order_and_replicates(tmp_path):
    plan = build_plan(load_experiment(write_experiment(tmp_path, replicates=3)), probe=False)
    assert plan.n_points == 4 and plan.n_runs == 12
    first_factor = [plan.run(i).params["topology"] for i in range(0, 12, 3)]
    assert first_factor == ["hub-and-spokes"] * 2 + ["production-web"] * 2
    assert [plan.run(i).replicate for i in range(6)] == [0, 1, 2, 0, 1, 2]


def test_seeds_come_from_the_root_seed_sequence(tmp_path):
    plan = build_plan(load_experiment(write_experiment(tmp_path, replicates=3)), probe=False)
    children = np.random.SeedSequence(7).spawn(3)
    expected = [int(c.generate_state(1, dtype=np.uint64)[0] >> np.uint64(11)) for c in children]
    # "common" seeds: replicate r has the same seed at every design point (paired comparisons).
    assert [plan.run(i).seed for i in range(12)] == expected * 4
    assert all(0 <= s < 2**53 for s in expected)

    text = SMALL.replace("replicates = {replicates}", 'replicates = 3\nseeds = "independent"')
    plan = build_plan(load_experiment(write_experiment(tmp_path, text)), probe=False)
    seeds = [plan.run(i).seed for i in range(12)]
    assert len(set(seeds)) == 12
    assert seeds[:3] == expected  # run i takes child i of the same root sequence


SAMPLED = """
name = "sampled"
root_seed = 3
[design]
{design}
[factors]
web_ness = {{ min = 0.0, max = 1.0 }}
suppliers_per_input = {{ min = 1, max = 4 }}
rationing = ["proportional", "priority"]
"""


@pytest.mark.parametrize(
    ("design", "points"),
    [
        ('kind = "latin-hypercube"\nsamples = 20', 20),
        ('kind = "sobol"\nsamples = 8', 8 * (3 + 2)),
        ('kind = "sobol"\nsamples = 8\nsecond_order = true', 8 * (2 * 3 + 2)),
        ('kind = "morris"\ntrajectories = 5\nlevels = 4', 5 * (3 + 1)),
    ],
)
def test_sampled_designs_map_the_unit_cube_to_levels(tmp_path, design, points):
    path = tmp_path / "sampled.toml"
    path.write_text(SAMPLED.format(design=design))
    experiment = load_experiment(path)
    drawn = build_design(experiment)
    assert len(drawn) == count_points(experiment) == points
    assert drawn.unit is not None and drawn.unit.shape == (points, 3)
    web = [p["web_ness"] for p in drawn.points]
    assert all(0.0 <= w <= 1.0 for w in web)
    assert {p["suppliers_per_input"] for p in drawn.points} <= {1, 2, 3, 4}
    assert all(isinstance(p["suppliers_per_input"], int) for p in drawn.points)
    assert {p["rationing"] for p in drawn.points} <= {"proportional", "priority"}
    again = build_design(load_experiment(path))
    np.testing.assert_array_equal(drawn.unit, again.unit)  # the root seed fixes the sample


def test_latin_hypercube_is_stratified(tmp_path):
    path = tmp_path / "sampled.toml"
    path.write_text(SAMPLED.format(design='kind = "latin-hypercube"\nsamples = 10'))
    drawn = build_design(load_experiment(path))
    for column in drawn.unit.T:  # one sample in each tenth of every axis
        assert sorted((column * 10).astype(int)) == list(range(10))
    spread = {p["suppliers_per_input"] for p in drawn.points}
    assert spread == {1, 2, 3, 4}  # integer ranges reach both ends


def test_dry_run_checks_and_creates_nothing(capsys, tmp_path):
    path = write_experiment(tmp_path)
    out = tmp_path / "results"
    code = main(["sweep", str(path), "--out", str(out), "--dry-run"])
    err = capsys.readouterr().err
    assert code == 0
    assert "4 points x 2 replicates = 8 runs" in err
    assert not out.exists()
