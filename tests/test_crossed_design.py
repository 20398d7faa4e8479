"""Crossed factors in sampled designs: every sample runs at every level of a crossed factor, on
the same seeds, and the report analyses the paired difference between levels."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from webmodel.analysis.report import write_report
from webmodel.analysis.report.data import SweepResults
from webmodel.analysis.report.stats import (
    crossed_differences,
    difference_rank_correlations,
    sensitivity,
    sensitivity_of_difference,
)
from webmodel.analysis.sweep import build_plan, load_experiment, open_workers, run_sweep
from webmodel.analysis.sweep.design import build_design, count_points, count_samples
from webmodel.analysis.sweep.experiment import ExperimentError
from webmodel.cli import main

CROSSED = """
name = "crossed"
root_seed = 11
replicates = {replicates}

[base]
steps = 30
disruptions = ["assembly:USA@5+4"]

[design]
{design}

[factors]
alpha_max = {{ min = 1.0, max = 1.5 }}
{crossed_factors}
border_delay = {{ min = 0, max = 4 }}

[output]
metrics = ["fill_rate", "loss_area"]
"""
TOPOLOGY = 'topology = ["hub-and-spokes", "production-web"]'
SOBOL = 'kind = "sobol"\nsamples = 8\ncrossed = ["topology"]'


def _write(folder: Path, design: str = SOBOL, crossed: str = TOPOLOGY, replicates: int = 1):
    path = folder / "crossed.toml"
    path.write_text(CROSSED.format(design=design, crossed_factors=crossed, replicates=replicates))
    return path


@pytest.mark.parametrize(
    ("design", "samples"),
    [
        (SOBOL, 8 * (2 + 2)),
        (SOBOL + "\nsecond_order = true", 8 * (2 * 2 + 2)),
        ('kind = "morris"\ntrajectories = 3\ncrossed = ["topology"]', 3 * (2 + 1)),
        ('kind = "latin-hypercube"\nsamples = 5\ncrossed = ["topology"]', 5),
    ],
)
def test_each_sample_runs_at_every_crossed_level(tmp_path, design, samples):
    experiment = load_experiment(_write(tmp_path, design))
    drawn = build_design(experiment)
    assert count_samples(experiment) == samples  # D = 2: topology is not sampled
    assert len(drawn) == count_points(experiment) == 2 * samples
    assert drawn.sampled == ("alpha_max", "border_delay")
    assert drawn.unit.shape == (2 * samples, 2)
    np.testing.assert_array_equal(drawn.sample, np.repeat(np.arange(samples), 2))
    topologies = [p["topology"] for p in drawn.points]
    assert topologies == ["hub-and-spokes", "production-web"] * samples  # crossed fastest
    for hub, web in zip(drawn.points[::2], drawn.points[1::2], strict=True):
        assert (hub["alpha_max"], hub["border_delay"]) == (web["alpha_max"], web["border_delay"])
    assert list(drawn.points[0]) == ["alpha_max", "topology", "border_delay"]  # file order


def test_the_sampler_samples_only_the_other_factors(tmp_path):
    """The crossed design's samples are those of the same design without the crossed factor."""
    crossed = build_design(load_experiment(_write(tmp_path)))
    folder = tmp_path / "plain"
    folder.mkdir()
    plain_path = _write(folder, 'kind = "sobol"\nsamples = 8', crossed="")
    plain_path.write_text(
        plain_path.read_text().replace("[base]", '[base]\ntopology = "production-web"')
    )
    plain = build_design(load_experiment(plain_path))
    np.testing.assert_array_equal(crossed.unit[::2], plain.unit)
    np.testing.assert_array_equal(plain.sample, np.arange(len(plain)))


def test_two_crossed_factors_first_slowest(tmp_path):
    design = 'kind = "latin-hypercube"\nsamples = 3\ncrossed = ["topology", "rationing"]'
    crossed = TOPOLOGY + '\nrationing = ["proportional", "priority"]'
    experiment = load_experiment(_write(tmp_path, design, crossed))
    drawn = build_design(experiment)
    assert len(drawn) == count_points(experiment) == 3 * 2 * 2
    combos = [(p["topology"], p["rationing"]) for p in drawn.points[:4]]
    assert combos == [
        ("hub-and-spokes", "proportional"),
        ("hub-and-spokes", "priority"),
        ("production-web", "proportional"),
        ("production-web", "priority"),
    ]


def test_a_crossed_pair_shares_its_seed_replicate_by_replicate(tmp_path):
    plan = build_plan(load_experiment(_write(tmp_path, replicates=3)), probe=False)
    assert plan.n_runs == 32 * 2 * 3
    pairs: dict[tuple[int, int], dict[str, int]] = {}
    for run_id in range(plan.n_runs):
        spec = plan.run(run_id)
        sample = int(plan.design.sample[spec.point])
        pairs.setdefault((sample, spec.replicate), {})[spec.params["topology"]] = spec.seed
    assert len(pairs) == 32 * 3
    for seeds in pairs.values():
        assert seeds["hub-and-spokes"] == seeds["production-web"]
    assert len({s for seeds in pairs.values() for s in seeds.values()}) == 3


BAD_CROSSED = {
    "misspelt factor": (
        (SOBOL.replace('["topology"]', '["topologyy"]'), TOPOLOGY),
        ["design.crossed[0]: 'topologyy' is not a factor", "did you mean 'topology'"],
    ),
    "a range": (
        (SOBOL.replace('["topology"]', '["topology", "alpha_max"]'), TOPOLOGY),
        ["design.crossed[1]: 'alpha_max' is a range", "list of levels"],
    ),
    "in a full factorial": (
        ('kind = "full-factorial"\ncrossed = ["topology"]', TOPOLOGY),
        ["design.crossed: only for sampled designs", "every factor is already crossed"],
    ),
    "not a list": (
        (SOBOL.replace('["topology"]', '"topology"'), TOPOLOGY),
        ["design.crossed: must be a list of factor names"],
    ),
}


@pytest.mark.parametrize("case", list(BAD_CROSSED), ids=list(BAD_CROSSED))
def test_a_wrong_crossed_field_exits_2_and_names_the_field(case, tmp_path, capsys):
    (design, crossed), expected = BAD_CROSSED[case]
    path = _write(tmp_path, design, crossed)
    out = tmp_path / "results"
    assert main(["sweep", str(path), "--out", str(out), "--dry-run"]) == 2
    err = capsys.readouterr().err
    for fragment in expected:
        assert fragment in err, (fragment, err)
    assert not out.exists()


def test_every_factor_crossed_is_an_error(tmp_path):
    text = _write(tmp_path).read_text()
    text = text.replace("alpha_max = { min = 1.0, max = 1.5 }", "").replace(
        "border_delay = { min = 0, max = 4 }", ""
    )
    path = tmp_path / "all.toml"
    path.write_text(text)
    with pytest.raises(ExperimentError, match="every factor is crossed"):
        load_experiment(path)


def test_dry_run_shows_samples_times_levels(tmp_path, capsys):
    assert main(["sweep", str(_write(tmp_path, replicates=2)), "--dry-run"]) == 0
    err = capsys.readouterr().err
    assert "32 samples x 2 levels of topology = 64 points x 2 replicates = 128 runs" in err


@pytest.fixture(scope="module")
def swept(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("crossed")
    plan = build_plan(load_experiment(_write(folder)))
    out = folder / "out"
    with open_workers(workers=0) as workers:
        summary = run_sweep(plan, out, workers, progress={"quiet": True})
    assert summary.failed == 0 and summary.done == 64
    return out


def test_design_table_has_the_sample_and_the_sampled_units_only(swept):
    design = duckdb.sql(
        f"select * from read_parquet('{swept}/design/*/*.parquet') order by point"
    ).fetchnumpy()
    assert "unit.topology" not in design
    assert {"sample", "unit.alpha_max", "unit.border_delay"} <= set(design)
    np.testing.assert_array_equal(design["sample"], np.arange(64) // 2)
    meta = SweepResults.load(swept).meta_json("design")
    assert meta["crossed"] == ["topology"]


def test_report_analyses_the_web_minus_hub_difference(swept):
    path = write_report(swept, formats=("png",))
    text = path.read_text()
    assert "## Sobol' indices at each level of topology" in text
    assert "## Sensitivity of the paired difference production-web − hub-and-spokes" in text
    figure = "sensitivity_difference_loss_area_production-web_vs_hub-and-spokes.png"
    assert (path.parent / "figures" / figure).is_file()

    results = SweepResults.load(swept)
    unit, difference = crossed_differences(results, "loss_area")
    # By hand: join each web run to the hub run of the same sample and replicate.
    by_hand = duckdb.sql(
        f"""
        with runs as (
            select r.*, d.sample from read_parquet('{swept}/runs/*/*.parquet') r
            join read_parquet('{swept}/design/*/*.parquet') d using (point)
        )
        select web.sample, web.loss_area - hub.loss_area as diff, web.seed = hub.seed as same
        from runs web join runs hub using (sample, replicate)
        where web.topology = 'production-web' and hub.topology = 'hub-and-spokes'
        order by web.sample
        """
    ).fetchnumpy()
    assert by_hand["same"].all()  # the pair shares its seed
    np.testing.assert_allclose(difference, by_hand["diff"])
    assert unit.shape == (32, 2) and np.ptp(difference) > 0

    rows = sensitivity_of_difference(results, "loss_area")
    assert [r["factor"] for r in rows] == ["alpha_max", "border_delay"]
    for row in rows:
        assert row["level"] == "production-web" and row["reference"] == "hub-and-spokes"
        assert all(np.isfinite(row[k]) for k in ("S1", "S1_conf", "ST", "ST_conf"))
    mean = float(np.mean(difference))
    assert f"| loss_area | {_number(mean)} [" in text


def _number(x: float) -> str:
    from webmodel.analysis.report.document import number

    return number(x)


def _synthetic(web, hub, n: int = 256) -> SweepResults:
    """A crossed Sobol' sweep's results without running the model: metric = f(unit sample)."""
    from SALib.sample import sobol

    problem = {"num_vars": 2, "names": ["a", "b"], "bounds": [[0.0, 1.0]] * 2}
    unit = sobol.sample(problem, n, calc_second_order=False, seed=3)
    samples = len(unit)
    points = np.arange(2 * samples)
    sample, combo = np.divmod(points, 2)
    x = unit[sample]
    value = np.where(combo == 1, web(x[:, 0], x[:, 1]), hub(x[:, 0], x[:, 1]))
    topology = np.where(combo == 1, "production-web", "hub-and-spokes")
    runs = pa.table(
        {
            "run_id": points,
            "point": points,
            "replicate": np.zeros_like(points),
            "seed": np.full_like(points, 5),
            "status": ["ok"] * len(points),
            "topology": topology,
            "a": x[:, 0],
            "b": x[:, 1],
            "metric": value,
        }
    )
    design = pa.table({"point": points, "sample": sample, "unit.a": x[:, 0], "unit.b": x[:, 1]})
    factors = [
        {"name": "a", "min": 0.0, "max": 1.0, "integer": False},
        {"name": "topology", "levels": ["hub-and-spokes", "production-web"]},
        {"name": "b", "min": 0.0, "max": 1.0, "integer": False},
    ]
    meta = {
        "design": json.dumps(
            {"kind": "sobol", "samples": n, "second_order": False, "crossed": ["topology"]}
        ),
        "factors": json.dumps(factors),
        "replicates": "1",
        "n_runs": str(len(points)),
    }
    return SweepResults(Path("."), "synthetic", runs, meta, [], design)


def test_sensitivity_of_a_known_difference():
    """web = hub + 4 a^2, and hub depends on b only: the difference is all a's doing."""
    results = _synthetic(web=lambda a, b: 3 * b + 4 * a**2, hub=lambda a, b: 3 * b)
    unit, difference = crossed_differences(results, "metric")
    np.testing.assert_allclose(difference, 4 * unit[:, 0] ** 2)
    rows = {r["factor"]: r for r in sensitivity_of_difference(results, "metric")}
    assert rows["a"]["ST"] == pytest.approx(1.0, abs=0.1)
    assert rows["a"]["S1"] == pytest.approx(1.0, abs=0.1)
    assert abs(rows["b"]["ST"]) < 0.05
    rho = {r["factor"]: r["rho"] for r in difference_rank_correlations(results, "metric")}
    assert rho["a"] > 0.99 and abs(rho["b"]) < 0.2
    # At each level: the hub's metric is b's alone; the web's is mostly a's (var 64/45 > 3/4).
    at = {(r["at"], r["factor"]): r["ST"] for r in sensitivity(results, ["metric"])}
    assert at[("topology = hub-and-spokes", "b")] == pytest.approx(1.0, abs=0.1)
    assert at[("topology = hub-and-spokes", "a")] == pytest.approx(0.0, abs=0.05)
    assert at[("topology = production-web", "a")] > at[("topology = production-web", "b")]
    # The other way round, reference and level swapped: the same indices, the negated difference.
    _, reverse = crossed_differences(
        results, "metric", reference="production-web", other="hub-and-spokes"
    )
    np.testing.assert_allclose(reverse, -difference)
    with pytest.raises(ValueError, match="not a crossed factor"):
        crossed_differences(results, "metric", factor="a")
