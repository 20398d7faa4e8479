"""EMA Workbench interop: the model as an EMA Model, a sweep as EMA's (experiments, outcomes)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sweep_support import write_experiment

from webmodel.analysis.ema import ema_model, run_ema_experiment, sweep_to_ema
from webmodel.cli import main

TINY = """
name = "{name}"
root_seed = 5
replicates = 1

[base]
steps = {steps}

[design]
kind = "latin-hypercube"
samples = 4
crossed = ["topology"]

[factors]
topology = ["hub-and-spokes", "production-web"]
stockpile_weeks = {{ min = 0.0, max = 4.0 }}
suppliers_per_input = {{ min = 1, max = 3 }}
alpha_max = {{ min = 1.0, max = 1.5 }}
disruptions = [["random:0.2@4+6"], ["state:KOR@4+6"]]

[output]
metrics = ["loss_area", "fill_rate"]
"""


def test_a_tiny_ema_experiment_runs_the_model(tmp_path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # EMA warns of optional extras it lacks
        from ema_workbench import SequentialEvaluator, perform_experiments
    path = write_experiment(tmp_path, TINY, name="tiny", steps=14)
    model = ema_model(path)
    assert {u.name for u in model.uncertainties} == {"alpha_max", "disruptions"}
    assert {lever.name for lever in model.levers} == {"stockpile_weeks", "suppliers_per_input"}
    assert "web_minus_hub_loss_area" in {o.name for o in model.outcomes}
    with SequentialEvaluator(model) as evaluator:
        experiments, outcomes = perform_experiments(
            model, scenarios=3, policies=2, evaluator=evaluator
        )
    assert len(experiments) == 6 and outcomes["web_minus_hub_loss_area"].shape == (6,)
    # the numbers are the model's: the first experiment again, run directly
    row = experiments.iloc[0]
    direct = run_ema_experiment(
        ("loss_area", "fill_rate"), True, 5, None, steps=14,
        alpha_max=float(row["alpha_max"]), disruptions=row["disruptions"],
        stockpile_weeks=float(row["stockpile_weeks"]),
        suppliers_per_input=int(row["suppliers_per_input"]),
    )  # fmt: skip
    assert direct["web_minus_hub_loss_area"] == pytest.approx(
        outcomes["web_minus_hub_loss_area"][0]
    )
    assert np.allclose(
        outcomes["web_minus_hub_loss_area"],
        outcomes["web_loss_area"] - outcomes["hub_loss_area"],
    )


def test_a_sweep_as_ema_experiments_and_outcomes(tmp_path) -> None:
    path = write_experiment(tmp_path, TINY, name="tiny", steps=14)
    out = tmp_path / "results"
    assert main(["sweep", str(path), "--out", str(out), "--workers", "0", "--quiet"]) == 0
    experiments, outcomes = sweep_to_ema(out)
    assert len(experiments) == 4  # four samples, each a web/hub pair
    assert {"scenario", "policy", "model", "alpha_max", "disruptions"} <= set(experiments)
    assert experiments["suppliers_per_input"].dtype == np.int64
    assert set(outcomes) >= {"web_minus_hub_loss_area", "hub_fill_rate", "web_fill_rate"}
    runs, per_run = sweep_to_ema(out, paired=False)
    assert len(runs) == 8 and set(per_run) == {"loss_area", "fill_rate"}
    # EMA's own PRIM takes them as they are
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import prim
    y = outcomes["web_minus_hub_loss_area"] > np.median(outcomes["web_minus_hub_loss_area"])
    if 0 < y.sum() < len(y):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            prim.Prim(experiments.drop(columns=["policy", "model"]), y, mass_min=0.25).find_box()
