"""The Python API a notebook uses: top-level names, the version and commit, tidy data frames."""

from __future__ import annotations

import subprocess
from importlib import resources
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest
from sweep_support import write_experiment

import webmodel
from webmodel.core.recorder import VARIABLES
from webmodel.io import version as provenance

ROOT = Path(__file__).resolve().parents[1]


def test_top_level_names() -> None:
    from webmodel.analysis.report.data import SweepResults
    from webmodel.analysis.sweep.scheduler import run_sweep
    from webmodel.coalition.scenario import load_scenario
    from webmodel.core.model import CoalitionModel

    assert webmodel.CoalitionModel is CoalitionModel
    assert webmodel.load_scenario is load_scenario
    assert webmodel.run_sweep is run_sweep
    assert webmodel.SweepResults is SweepResults
    assert webmodel.__version__ == version("webmodel")
    assert set(webmodel.__all__) <= set(dir(webmodel))
    with pytest.raises(AttributeError, match="no attribute 'Model'"):
        _ = webmodel.Model
    assert resources.files("webmodel").joinpath("py.typed").is_file()


@pytest.mark.parametrize(
    ("text", "commit"),
    [
        ("0.1.1.dev56+gf64347e0b", "f64347e0b"),
        ("0.1.1.dev56+gf64347e0b.d20261202", "f64347e0b"),
        ("0.2.0", None),
        ("0.1.0+unknown", None),
    ],
)
def test_the_commit_in_a_version(text: str, commit: str | None) -> None:
    assert provenance.commit_in_version(text) == commit


def test_git_commit_is_this_checkouts_head() -> None:
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert provenance.git_commit() == head


def test_an_installed_copy_inside_another_repository_is_not_a_checkout(tmp_path: Path) -> None:
    """A virtual environment inside someone's project: that project's HEAD is not ours."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    who = ["-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(
        ["git", *who, "commit", "-q", "--allow-empty", "-m", "x"], cwd=tmp_path, check=True
    )
    package = tmp_path / ".venv" / "site-packages" / "webmodel"
    package.mkdir(parents=True)
    assert provenance._checkout_head(package) is None
    (tmp_path / "webmodel").mkdir()
    (tmp_path / "webmodel" / "__init__.py").write_text("")
    assert provenance._checkout_head(tmp_path / "webmodel") is None  # laid out, not tracked
    subprocess.run(["git", "add", "webmodel"], cwd=tmp_path, check=True)
    subprocess.run(["git", *who, "commit", "-q", "-m", "package"], cwd=tmp_path, check=True)
    assert provenance._checkout_head(tmp_path / "webmodel") is not None  # a checkout of it


@pytest.fixture(scope="module")
def model() -> webmodel.CoalitionModel:
    return webmodel.CoalitionModel(surge=2.0, steps=15, rng=3).run()


def test_to_frame_is_the_series_labelled(model) -> None:
    frame = model.to_frame()
    assert list(frame.columns) == ["week", "variable", "state", "end_item", "product", "value"]
    assert list(frame["variable"].unique()) == list(VARIABLES)
    assert len(frame) == sum(model.series(name).reshape(15, -1).shape[1] * 15 for name in VARIABLES)
    slots = list(zip(model.slot_states, model.slot_items, strict=True))
    for name, (kind, _) in VARIABLES.items():
        part = frame[frame["variable"] == name]
        assert sorted(part["week"].unique()) == list(range(1, 16))
        if kind == "slot":
            assert part["product"].isna().all()
            wide = part.pivot(index="week", columns=["state", "end_item"], values="value")
            expected = model.series(name)
            for k, slot in enumerate(slots):
                np.testing.assert_array_equal(wide[slot].to_numpy(), expected[:, k])
        elif kind == "product":
            assert part["state"].isna().all() and part["end_item"].isna().all()
            wide = part.pivot(index="week", columns="product", values="value")
            for p, product in enumerate(model.network.product_names):
                np.testing.assert_array_equal(wide[product].to_numpy(), model.series(name)[:, p])
        else:
            assert part[["state", "end_item", "product"]].isna().all().all()
            np.testing.assert_array_equal(part["value"].to_numpy(), model.series(name))


def test_to_frame_picks_variables_and_names_an_unknown_one(model) -> None:
    frame = model.to_frame(["delivered", "alpha_mean"])
    assert set(frame["variable"]) == {"delivered", "alpha_mean"}
    delivered = frame[frame["variable"] == "delivered"]["value"].sum()
    assert delivered == pytest.approx(model.series("delivered").sum(), rel=1e-12)
    with pytest.raises(ValueError, match="'deliverd'"):
        model.to_frame(["deliverd"])
    assert len(webmodel.CoalitionModel(steps=5, rng=1).to_frame()) == 0  # nothing run yet


def test_sweep_results_as_pandas_and_polars(tmp_path: Path) -> None:
    path = write_experiment(tmp_path, replicates=1, steps=8)
    summary = webmodel.run_sweep(path, tmp_path / "out", workers=0, progress={"quiet": True})
    results = summary.results()
    runs = results.to_pandas()
    assert isinstance(runs, pd.DataFrame) and len(runs) == 4
    assert {"run_id", "topology", "surge", "seed", "status", "fill_rate"} <= set(runs.columns)
    polars_runs = results.to_polars()
    assert isinstance(polars_runs, pl.DataFrame)
    assert polars_runs["fill_rate"].to_list() == runs["fill_rate"].to_list()
    series = results.to_pandas("series")
    assert list(series.columns) == ["run_id", "variable", "step", "value"]
    assert len(series) == 4 * 2 * 8  # runs x kept variables x weeks
    assert results.to_polars("series").height == len(series)
    with pytest.raises(ValueError, match="'designs'"):
        results.to_pandas("designs")


def test_a_sweep_that_kept_no_series_says_so(tmp_path: Path) -> None:
    text = (ROOT / "tests" / "sweep_support.py").read_text()
    assert 'series = ["delivered.shell_155mm", "alpha_mean"]' in text
    path = write_experiment(tmp_path, replicates=1, steps=5)
    path.write_text(
        path.read_text().replace('series = ["delivered.shell_155mm", "alpha_mean"]', "")
    )
    summary = webmodel.run_sweep(path, tmp_path / "out", workers=0, progress={"quiet": True})
    with pytest.raises(ValueError, match="kept no series"):
        summary.results().to_pandas("series")
