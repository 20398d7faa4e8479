"""The robustness table: paired by seed across the two sweeps of a setting, and significance
controlled by Benjamini-Hochberg over the whole table (a claim judged by its own p < 0.05 alone
may not survive the family's correction)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from webmodel.analysis.findings.robustness import Cell, _paired, adjust


def _runs(seeds, values) -> pd.DataFrame:
    return pd.DataFrame({"seed": seeds, "loss_area": values})


def test_pairs_by_seed_not_by_row_order():
    web = _runs([3, 1, 2], [1.0, 2.0, 4.0])
    hub = _runs([1, 2, 3], [3.0, 5.0, 3.0])
    cell = _paired(web, hub, "loss_area")
    # seed 1: 2 - 3, seed 2: 4 - 5, seed 3: 1 - 3 -> mean -4/3 over a hub mean of 11/3
    assert cell.n == 3
    assert np.isclose(cell.mean, -4 / 3)
    assert np.isclose(cell.share, (-4 / 3) / (11 / 3))


def test_a_difference_with_no_spread_is_exact():
    web, hub = _runs([1, 2], [1.0, 1.0]), _runs([1, 2], [2.0, 2.0])
    assert _paired(web, hub, "loss_area").p == 0.0
    assert _paired(hub, hub, "loss_area").p == 1.0


def test_benjamini_hochberg_over_the_whole_table():
    p = [0.001, 0.02, 0.03, 0.04, 0.045, 0.5]
    cells = {"a": {f"c{i}": Cell(-1.0, -0.1, q, 10) for i, q in enumerate(p[:3])}}
    cells["b"] = {f"c{i}": Cell(-1.0, -0.1, q, 10) for i, q in enumerate(p[3:])}
    out = adjust(cells)
    flags = [out[s][c].significant for s in ("a", "b") for c in out[s]]
    expected = list(stats.false_discovery_control(p) < 0.05)
    assert flags == expected
    # p = 0.045 alone would pass at 5 %; over the family of six it does not
    assert not out["b"]["c1"].significant
