"""The findings' decision sections: PRIM on a sensitivity-like sweep, the robust fronts."""

from __future__ import annotations

import shutil

import pytest
from sweep_support import ROOT

from webmodel.analysis.findings import write_findings
from webmodel.analysis.findings.decisions import section


def test_without_results_each_section_says_what_to_run(tmp_path) -> None:
    text = section(tmp_path / "results", tmp_path / "out", log=lambda _: None)
    assert "uv run webmodel sweep experiments/sensitivity.toml" in text
    assert "uv run webmodel robust experiments/robust.toml" in text
    assert (tmp_path / "out" / "decisions.md").read_text() == text


def test_the_findings_build_knows_the_section(tmp_path) -> None:
    path = write_findings(tmp_path, tmp_path / "f", only=["decisions"], log=lambda _: None)
    assert "## Where the web fails" in path.read_text()
    assert (tmp_path / "f" / "decisions.md").is_file()


def test_on_the_committed_results(tmp_path) -> None:
    """With the study's sensitivity sweep and the robust search's front (committed), both
    sections have boxes and picks."""
    results = tmp_path / "results"
    for name in ("sensitivity", "robust"):
        if not (ROOT / "results" / name).is_dir():
            pytest.skip(f"no results/{name} in this checkout")
        shutil.copytree(ROOT / "results" / name, results / name)
    text = section(results, tmp_path / "out", log=lambda _: None)
    assert "**Broad box" in text and "the web loses more when" in text
    assert "Cheapest within 10 % of the best robustness" in text
    assert "### Does the wiring change what is worth buying?" in text
    assert (tmp_path / "out" / "where-the-web-fails" / "trajectory.svg").is_file()
