"""The us_155mm scenario and the 2022 -> 2025 ramp check (``webmodel.analysis.validation``)."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from webmodel.analysis.validation import ramp_155mm
from webmodel.coalition.scenario import load_scenario
from webmodel.core.model import CoalitionModel

SCENARIO = Path(ramp_155mm.__file__).parents[2] / "coalition" / "scenarios" / "us_155mm.toml"


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("validation")
    return out, ramp_155mm.check(out)


def test_scenario_loads_and_validates():
    scenario = load_scenario(SCENARIO)
    assert scenario == ramp_155mm.scenario()  # the package copy is the file
    assert scenario.name == "us_155mm"
    assert scenario.hub == "USA"
    assert {"USA", "CAN", "POL", "KOR"} <= set(scenario.state_codes)
    assert scenario.end_items == ["shell_155mm"]
    made = {(g.product, g.state) for g in scenario.firm_groups}
    # The chokepoints of docs/sources.md: no US TNT, Radford, the Quebec charge plant.
    assert not any(p == "tnt" and s == "USA" for p, s in made)
    assert ("nitrocellulose", "USA") in made
    assert ("propellant_charge", "CAN") in made
    assert 10 <= scenario.n_firms <= 60
    demand = sum(s.demand.get("shell_155mm", 0.0) for s in scenario.states)
    assert demand * 52 / 12 == pytest.approx(14_400, rel=1e-3)


@pytest.mark.parametrize("topology", ["hub-and-spokes", "production-web"])
def test_no_surge_sits_at_equilibrium(topology):
    model = CoalitionModel(SCENARIO, topology=topology, steps=200, rng=3).run()
    np.testing.assert_allclose(model.series("delivered"), model.series("demanded"), rtol=1e-9)
    assert model.engine.capacity.sum() == pytest.approx(model.network.firms.capacity.sum())


def test_check_writes_table_and_figure(written):
    out, markdown = written
    for suffix in ("csv", "parquet", "png", "svg"):
        path = out / f"ramp_155mm.{suffix}"
        assert path.is_file() and path.stat().st_size > 0, suffix
    assert markdown.startswith("## ")
    assert "](ramp_155mm.png)" in markdown
    with (out / "ramp_155mm.csv").open() as f:
        rows = list(csv.DictReader(f))
    public = {r["point"]: float(r["public_per_month"]) for r in rows}
    assert public == {
        "2022": 14_400,
        "Sep 2023": 28_000,
        "Sep 2024": 40_000,
        "mid 2025": 40_000,
        "Oct 2025 target": 100_000,
    }
    table = pq.read_table(out / "ramp_155mm.parquet").to_pylist()
    assert [r["point"] for r in table] == [r["point"] for r in rows]
    assert [r["model_per_month"] for r in table] == [float(r["model_per_month"]) for r in rows]


def test_fit_is_what_the_markdown_claims(written):
    """Recompute the model's monthly output from a fresh run and hold it to the stated fit."""
    _, markdown = written
    tol = ramp_155mm.TOLERANCE
    assert f"±{100 * tol:.0f} %" in markdown
    ramp = ramp_155mm.run()
    rows = {r["point"]: r for r in ramp_155mm.compare(ramp)}

    def month(first: str, last: str) -> float:
        weeks = ramp_155mm.weeks_in(dt.date.fromisoformat(first), dt.date.fromisoformat(last))
        return float(ramp.monthly[weeks - 1].mean())

    sep23, sep24 = month("2023-09-01", "2023-09-30"), month("2024-09-01", "2024-09-30")
    mid25 = month("2025-06-01", "2025-06-30")
    assert abs(sep23 / 28_000 - 1) <= tol
    assert abs(sep24 / 40_000 - 1) <= tol
    assert abs(mid25 / 40_000 - 1) <= tol  # out of sample: flat at ~40,000
    assert month("2025-10-01", "2025-10-31") < 100_000  # the target was missed
    assert rows["Sep 2024"]["model_per_month"] == pytest.approx(sep24, abs=0.1)
    assert f"{rows['Sep 2023']['error_pct']:+.1f} %" in markdown
    # Before the wartime orders the model makes the 2022 output exactly.
    pre = ramp.monthly[: ramp_155mm.SURGE_START - 1]
    np.testing.assert_allclose(pre, 3323 * 52 / 12, rtol=1e-9)
