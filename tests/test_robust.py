"""The robust search: fronts, the cheapest portfolio within 10 %, resuming, bad settings."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest
from sweep_support import write_experiment

from webmodel.analysis.robust import search_robust, write_robust
from webmodel.analysis.robust.config import RobustSettings
from webmodel.analysis.robust.search import Evaluation, RobustResult
from webmodel.analysis.sweep.experiment import ExperimentError, load_experiment
from webmodel.cli import main

TINY = """
name = "{name}"
root_seed = 11
replicates = 1

[base]
steps = {steps}

[design]
kind = "latin-hypercube"
samples = 3
crossed = ["topology"]

[factors]
topology = ["hub-and-spokes", "production-web"]
stockpile_weeks = {{ min = 0.0, max = 4.0 }}
capacity_headroom = {{ min = 0.0, max = 0.3 }}
alpha_max = {{ min = 1.0, max = 1.5 }}
disruptions = [["random:0.2@5+6"], ["state:KOR@5+6"]]

[output]
metrics = ["loss_area"]

[robust]
generations = 2
population = 4
"""


def _evaluation(cost: float, q90: float) -> Evaluation:
    return Evaluation("production-web", 0, {"x": cost}, cost, {}, np.full(10, q90))


def test_front_and_cheapest_within_ten_percent(tmp_path) -> None:
    experiment = load_experiment(write_experiment(tmp_path, TINY, name="tiny", steps=16))
    result = RobustResult(experiment, RobustSettings(), [], [], ["production-web"])
    points = [(0, 10.0), (100, 6.0), (150, 6.5), (200, 5.2), (300, 5.0), (400, 5.0)]
    result.evaluations = [_evaluation(c, q) for c, q in points]
    front = result.front("production-web")
    assert [(e.cost, e.robustness(0.9)) for e in front] == [(0, 10), (100, 6), (200, 5.2), (300, 5)]
    # best 5.0: within 10 % means <= 5.5; the cheapest such is 200
    assert result.cheapest_within("production-web").cost == 200


def test_a_tiny_search_writes_its_front_and_resumes(tmp_path) -> None:
    out = tmp_path / "robust"
    tiny = write_experiment(tmp_path, TINY, name="tiny", steps=16)
    first = search_robust(tiny, out, workers=0)
    assert first.runs == sum(len({str(e.levers) for e in first.of(w)}) for w in first.wirings) * 3
    assert first.outside_share is not None and first.rate > 0
    path = write_robust(first, out)
    assert "Cheapest within 10%" in path.read_text()
    front = pq.read_table(out / "front.parquet")
    assert {"wiring", "cost", "q90_loss_area", "max_regret", "lever.stockpile_weeks"} <= set(
        front.column_names
    )
    meta = front.schema.metadata
    assert b"git_commit" in meta and b"experiment_toml" in meta
    assert set(front.column("wiring").to_pylist()) == {"hub-and-spokes", "production-web"}
    again = search_robust(tiny, out, workers=0)
    assert again.runs == 0 and again.runs_read == first.runs  # every generation read back
    assert [e.cost for e in again.evaluations] == [e.cost for e in first.evaluations]
    write_robust(again, out)  # the summary keeps the speed measured when the runs ran
    assert f"{first.runs:,} model runs" in (out / "robust.md").read_text()


def test_bad_robust_settings_are_named(tmp_path, capsys) -> None:
    path = write_experiment(
        tmp_path, TINY.replace("population = 4", "populaton = 4\noutcome = 'fill'"), name="bad",
        steps=16,
    )  # fmt: skip
    with pytest.raises(ExperimentError) as caught:
        search_robust(path, tmp_path / "out", workers=0)
    text = str(caught.value)
    assert "robust.populaton: unknown field" in text and "robust.outcome" in text
    assert main(["robust", str(path), "--out", str(tmp_path / "o")]) == 2
    assert not (tmp_path / "o").exists()
