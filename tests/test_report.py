"""`webmodel report`: Markdown tables that match the runs, and figures in PNG and SVG."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from sweep_support import read_runs, write_experiment

from webmodel.analysis.report.document import number
from webmodel.analysis.report.stats import Estimate, estimate
from webmodel.cli import main


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    path = write_experiment(folder, replicates=3)
    out = folder / "out"
    assert main(["sweep", str(path), "--out", str(out), "--workers", "0", "--quiet"]) == 0
    return out


@pytest.fixture(scope="module")
def report(sweep):
    assert main(["report", str(sweep)]) == 0
    return sweep / "report", (sweep / "report" / "report.md").read_text()


def _row(text: str, section: str, label: str) -> list[str]:
    """The cells of the table row starting with ``label`` in the section titled ``section``."""
    body = text.split(section, 1)[1]
    for line in body.splitlines():
        if line.startswith((f"| {label} |", f"| {label}: ")):  # a metric's row: name: words
            return [c.strip() for c in line.strip("|").split("|")]
    raise AssertionError(f"no row {label!r} under {section!r}")


def test_report_has_the_sections_and_provenance(report, sweep):
    _, text = report
    for heading in (
        "# Sweep report: small",
        "## The sweep",
        "## Metrics by factor level",
        "### topology",
        "### surge",
        "## Paired differences between topologies",
        "### production-web − hub-and-spokes",
        "## Figures",
    ):
        assert heading in text, heading
    assert "full-factorial" in text and "root seed 7" in text and "12: 12 ok, 0 failed" in text


def test_level_table_holds_the_mean_and_interval_of_the_runs(report, sweep):
    _, text = report
    runs = read_runs(sweep).to_pylist()
    for level in ("hub-and-spokes", "production-web"):
        column = 1 if level == "hub-and-spokes" else 2
        # An unbounded metric: the mean and its Student t interval over runs.
        values = np.array([r["peak_over_baseline"] for r in runs if r["topology"] == level])
        est = Estimate.of(values)
        cell = _row(text, "### topology", "peak_over_baseline")[column]
        assert cell == f"{number(est.mean)} [{number(est.low)}, {number(est.high)}]"
        # A share: the mean with its bootstrap interval, inside [0, 1].
        values = np.array([r["fill_rate"] for r in runs if r["topology"] == level])
        est = estimate(values, "fill_rate")
        assert est.method == "bootstrap" and 0 <= est.low <= est.mean <= est.high <= 1
        cell = _row(text, "### topology", "fill_rate")[column]
        assert cell == f"{number(est.mean)} [{number(est.low)}, {number(est.high)}]"
    assert _row(text, "### surge", "runs")[1:] == ["6", "6"]


def test_paired_difference_is_on_common_seeds(report, sweep):
    _, text = report
    runs = read_runs(sweep).to_pylist()
    hub = {
        (r["seed"], r["surge"]): r["loss_area"] for r in runs if r["topology"] == "hub-and-spokes"
    }
    diffs = [
        r["loss_area"] - hub[(r["seed"], r["surge"])]
        for r in runs
        if r["topology"] == "production-web" and r["loss_area"] is not None
    ]
    assert len(diffs) == 3  # loss area exists only under the surge: 3 seeds
    cells = _row(text, "### production-web − hub-and-spokes", "loss_area")
    assert cells[1].startswith(number(float(np.mean(diffs))) + " [")
    sd = float(np.std(diffs, ddof=1))
    assert cells[3] == ("no spread" if sd == 0 else f"{np.mean(diffs) / sd:+.2f}")  # d_z
    assert cells[6] == "3"  # pairs
    paired = text.split("### production-web − hub-and-spokes", 1)[1]
    assert "family: the " in paired and "Benjamini–Hochberg, q = 0.05" in paired


def test_figures_are_png_and_svg_and_linked(report):
    folder, text = report
    stems = {p.stem for p in (folder / "figures").iterdir()}
    assert {
        "series_delivered.shell_155mm",
        "series_alpha_mean",
        "metric_distributions",
        "heatmap_fill_rate_topology_surge",
    } <= stems
    for stem in stems:
        png = folder / "figures" / f"{stem}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        root = ET.parse(folder / "figures" / f"{stem}.svg").getroot()
        assert root.tag.endswith("svg")
    for link in re.findall(r"\]\((figures/[^)]+)\)", text):
        assert (folder / link).is_file(), link


def test_report_options_and_bad_options(sweep, tmp_path, capsys):
    out = tmp_path / "custom"
    options = ["--formats", "pdf", "--metrics", "loss_area"]
    options += ["--heatmap", "loss_area,surge,topology"]
    code = main(["report", str(sweep), "--out", str(out), *options])
    assert code == 0
    assert (out / "figures" / "heatmap_loss_area_surge_topology.pdf").read_bytes()[:4] == b"%PDF"
    assert (out / "figures" / "heatmap_loss_area_surge_topology.png").is_file()
    assert "| fill_rate |" not in (out / "report.md").read_text()
    capsys.readouterr()
    assert main(["report", str(sweep), "--out", str(out), "--heatmap", "loss_area,surge,x"]) == 2
    assert "'x' is not a factor" in capsys.readouterr().err


SAMPLED = """
name = "{name}"
root_seed = 11
[base]
steps = 20
surge = 2.0
surge_start = 5
[design]
{design}
[factors]
alpha_max = {{ min = 1.0, max = 1.6 }}
topology = ["hub-and-spokes", "production-web"]
[output]
metrics = ["fill_rate", "loss_area"]
"""


@pytest.mark.parametrize(
    ("design", "section"),
    [
        ('kind = "sobol"\nsamples = 4', "## Sobol' indices"),
        ('kind = "morris"\ntrajectories = 4', "## Morris elementary effects"),
        ('kind = "latin-hypercube"\nsamples = 12', "## Rank correlations"),
    ],
)
def test_sampled_designs_get_their_sensitivity_section(design, section, tmp_path):
    path = write_experiment(tmp_path, SAMPLED.replace("{design}", design), name="sampled")
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--workers", "0", "--quiet"]) == 0
    assert main(["report", str(out)]) == 0
    text = (out / "report" / "report.md").read_text()
    assert section in text
    assert "| fill_rate | alpha_max |" in text
    assert "### alpha_max" in text  # the sampled range, tabulated by quartiles
    if "sobol" in design or "morris" in design:
        assert (out / "report" / "figures" / "sensitivity_fill_rate.svg").is_file()
