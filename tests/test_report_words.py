"""`webmodel report` in words: a plain summary at the top, metrics named with units, intervals
within a metric's bounds, and the demand line in deliveries figures."""

from __future__ import annotations

import pytest
from sweep_support import SMALL, write_experiment

from webmodel.analysis.report.document import metric_heading, within_bounds
from webmodel.analysis.report.stats import Estimate
from webmodel.cli import main

WITH_DEMAND = SMALL.replace(
    'series = ["delivered.shell_155mm", "alpha_mean"]',
    'series = ["delivered.shell_155mm", "demanded.shell_155mm", "alpha_mean"]',
)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("words")
    path = write_experiment(folder, WITH_DEMAND, replicates=3)
    out = folder / "out"
    assert main(["sweep", str(path), "--out", str(out), "--workers", "0", "--quiet"]) == 0
    assert main(["report", str(out)]) == 0
    return out / "report", (out / "report" / "report.md").read_text()


def test_summary_in_plain_words_comes_first(report):
    _, text = report
    assert text.index("## In brief") < text.index("## The sweep")
    brief = text.split("## In brief", 1)[1].split("## The sweep", 1)[0]
    assert "12 successful runs" in brief
    assert "Demand lost (weeks of full demand lost): production-web" in brief
    assert "pairs on common seeds" in brief
    assert "| `fill_rate` | fill rate | share of demand |" in brief  # definitions table


def test_metric_rows_carry_words_and_units(report):
    _, text = report
    assert "| loss_area: demand lost (weeks of full demand lost) |" in text
    assert metric_heading("fill_rate") == "fill_rate: fill rate (share of demand)"
    assert metric_heading("a_new_column") == "a_new_column"


def test_deliveries_figure_shows_demand(report):
    folder, text = report
    assert "Dashed: demanded.shell_155mm" in text
    svg = (folder / "figures" / "series_delivered.shell_155mm.svg").read_text()
    assert "demanded" in svg  # the legend entry, kept as text in the SVG


def test_intervals_stay_within_a_metrics_bounds():
    share = within_bounds(Estimate(0.98, 0.95, 1.01, 5), "cross_border_share")
    assert (share.low, share.high) == (0.95, 1.0)
    weeks = within_bounds(Estimate(0.5, -0.2, 1.2, 5), "backlog_end")
    assert (weeks.low, weeks.high) == (0.0, 1.2)
    net = within_bounds(Estimate(-3.0, -5.0, -1.0, 5), "amplification_net")  # unbounded
    assert (net.low, net.high) == (-5.0, -1.0)


def test_a_metric_that_never_applies_says_why(report):
    _, text = report
    surge = text.split("### surge", 1)[1]
    row = next(line for line in surge.splitlines() if line.startswith("| loss_area: "))
    assert "n/a: no shock (no surge, no disruption)" in row  # no surge at level 1
