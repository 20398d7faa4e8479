"""`webmodel findings`: its tables hold the paired differences the runs table gives, read back
with DuckDB; missing results are named, not silently skipped."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import duckdb
import pytest

from webmodel.analysis.findings import write_findings
from webmodel.analysis.findings.effects import LabelledRuns, kind_and_duration, power_law_exponent
from webmodel.analysis.sweep import build_plan, load_experiment, open_workers, run_sweep
from webmodel.cli import main

SMALL_DISRUPTIONS = """
name = "disruptions"
description = "a small version of the study's disruptions experiment"
root_seed = 11
replicates = 3
seeds = "common"

[base]
steps = 40

[design]
kind = "full-factorial"

[factors]
topology = ["hub-and-spokes", "production-web"]
disruptions = [["random:0.1@10+4"], ["random:0.1@10+8"], ["state:KOR@10+4"], ["state:KOR@10+8"]]

[output]
metrics = ["*"]
"""


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("results")
    path = root / "disruptions.toml"
    path.write_text(textwrap.dedent(SMALL_DISRUPTIONS))
    plan = build_plan(load_experiment(path))
    with open_workers(workers=0) as workers:
        summary = run_sweep(plan, root / "disruptions", workers, progress={"quiet": True})
    assert summary.failed == 0
    return root


def test_paired_difference_matches_duckdb(results):
    runs = f"{results}/disruptions/runs/*/*.parquet"
    sql = f"""
        select avg(w.loss_area - h.loss_area)
        from read_parquet('{runs}') h join read_parquet('{runs}') w
          on h.seed = w.seed and h.disruptions = w.disruptions
        where h.topology = 'hub-and-spokes' and w.topology = 'production-web'
          and h.disruptions like '%random:0.1@10+8%'
    """
    expected = duckdb.connect().execute(sql).fetchall()[0][0]
    paired = LabelledRuns.load(results / "disruptions").web_minus_hub(
        "loss_area", disruptions="random:0.1@10+8"
    )
    assert paired.difference is not None and paired.difference.n == 3
    assert paired.difference.mean == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert paired.difference.low <= paired.difference.mean <= paired.difference.high


def test_cells_of_a_family_are_controlled_together(results):
    from scipy.stats import false_discovery_control

    from webmodel.analysis.report.stats import family_note

    runs = LabelledRuns.load(results / "disruptions")
    cells = runs.web_minus_hub_cells("loss_area", "disruptions")
    assert list(cells) == runs.levels("disruptions") and len(cells) == 4
    alone = [runs.web_minus_hub("loss_area", disruptions=lv).p_value for lv in cells]
    assert [d.p_value for d in cells.values()] == pytest.approx(alone)
    expected = false_discovery_control(alone, method="bh")
    assert [d.q_value for d in cells.values()] == pytest.approx(list(expected))
    note = family_note(list(cells.values()))
    assert note.startswith(
        "family: the 4 levels of disruptions in disruptions.toml, loss_area (4 tests); "
        "Benjamini–Hochberg, q = 0.05:"
    )
    # A time to recover: a median among the runs that recover, never a pooled mean.
    shown = runs.estimate("time_to_recover", disruptions="random:0.1@10+8")
    assert shown is None or shown.method == "median"


def test_tables_and_figures_are_written(results, tmp_path):
    path = write_findings(results, tmp_path, only=["disruptions", "surge"], log=lambda _: None)
    text = path.read_text()
    assert "## Disruptions" in text
    # The surge sweep was not run: the page says so and gives the command.
    assert "uv run webmodel sweep experiments/surge.toml" in text
    assert (tmp_path / "disruptions_loss.png").stat().st_size > 10_000
    row = next(line for line in text.splitlines() if line.startswith("| random:0.1 | 8 |"))
    paired = LabelledRuns.load(results / "disruptions").web_minus_hub(
        "loss_area", disruptions="random:0.1@10+8"
    )
    shown = float(re.split(r"\s*\|\s*", row)[5].split(" ")[0])
    assert shown == pytest.approx(paired.difference.mean, rel=1e-3)


def test_unknown_section_is_an_error(results, tmp_path, capsys):
    assert (
        main(["findings", "--results", str(results), "--out", str(tmp_path), "--only", "nope"]) == 2
    )
    assert "unknown findings section 'nope'" in capsys.readouterr().err


def test_disruption_labels_parse():
    assert kind_and_duration("random:0.1@20+8") == ("random:0.1", 8)
    assert kind_and_duration("targeted:0.1:betweenness@20+26") == ("targeted:0.1:betweenness", 26)
    assert kind_and_duration("state:KOR@10+8~4") == ("state:KOR", 8)
    assert kind_and_duration("none") is None
    assert kind_and_duration("random:0.1@10+4,state:KOR@10+4") is None


def test_power_law_exponent_recovers_a_known_exponent():
    import numpy as np

    d = np.array([2.0, 4, 8, 16, 32] * 3)
    loss = 0.5 * d**1.5 * np.exp(np.random.default_rng(0).normal(0, 0.01, len(d)))
    b, low, high = power_law_exponent(d, loss)
    assert low < 1.5 < high and abs(b - 1.5) < 0.02


def test_written_files_are_readable_by_others(results, tmp_path):
    """Atomic writes go through mkstemp (0600); results are shared, so they get the umask's mode."""
    import os

    umask = os.umask(0o022)
    try:
        path = write_findings(results, tmp_path, only=["disruptions"], log=lambda _: None)
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644
    merged = results / "disruptions" / "runs" / "experiment=disruptions" / "data.parquet"
    assert merged.stat().st_mode & 0o044  # group and others may read the sweep's tables
