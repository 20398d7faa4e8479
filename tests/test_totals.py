"""Run totals and the sweep's total columns: per end item and per (state, end item) only.

A 155 mm shell and an interceptor are not the same unit; a total that adds them is dominated by
the shells and means nothing. These tests fail if any total or runs-table column adds them.
"""

from __future__ import annotations

import numpy as np
import pytest

from webmodel.analysis.sweep.runner import flatten_totals
from webmodel.core.model import CoalitionModel
from webmodel.io.output import totals


@pytest.fixture(scope="module")
def model() -> CoalitionModel:
    return CoalitionModel(steps=20, surge=1.5, surge_start=5, rng=2).run()


def test_no_total_sums_different_end_items(model):
    items = set(model.slot_items)
    assert len(items) >= 2  # else the test could not fail
    result = totals(model)
    assert set(result) <= {"by_end_item", "by_state_end_item", "services"}
    for name in flatten_totals(result):
        parts = name.split(".")
        if parts[0] == "services":
            assert parts[1] in items, name
            continue
        # "delivered.shell_155mm" or "delivered.USA.shell_155mm": the last part an end item.
        assert len(parts) in (2, 3) and parts[-1] in items, name


def test_per_item_totals_are_the_slots_sums(model):
    result = totals(model)
    delivered = model.series("delivered").sum(axis=0)
    demanded = model.series("demanded").sum(axis=0)
    owed = model.series("final_backlog")[-1]
    for item, entry in result["by_end_item"].items():
        mask = np.array([i == item for i in model.slot_items])
        assert entry["delivered"] == pytest.approx(delivered[mask].sum())
        assert entry["demanded"] == pytest.approx(demanded[mask].sum())
        assert entry["final_backlog"] == pytest.approx(owed[mask].sum())
    for k, (state, item) in enumerate(zip(model.slot_states, model.slot_items, strict=True)):
        entry = result["by_state_end_item"][state][item]
        assert entry["delivered"] == pytest.approx(delivered[k])
        assert entry["fill_rate"] == pytest.approx(delivered[k] / demanded[k])
    flat = flatten_totals(result, skip=("fill_rate",))
    assert "delivered" not in flat and "demanded" not in flat and "final_backlog" not in flat
    assert "delivered.USA" not in flat and "demanded.USA" not in flat
    assert flat["delivered.USA.shell_155mm"] == pytest.approx(
        result["by_state_end_item"]["USA"]["shell_155mm"]["delivered"]
    )
