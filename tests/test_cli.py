"""The command line: commands, JSON output, Parquet series, and clear errors for bad input."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest

from webmodel.cli import main

ROOT = Path(__file__).resolve().parents[1]


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_help_lists_every_command():
    result = subprocess.run(
        [sys.executable, "-m", "webmodel.cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    for command in ("run", "compare", "network", "bench"):
        assert f"\n    {command} " in result.stdout, command


def test_run_json_is_one_object_with_params_and_totals(capsys):
    code, out, _ = run_cli(
        capsys,
        "run",
        "--steps",
        "30",
        "--surge",
        "1.5",
        "--surge-start",
        "5",
        "--topology",
        "hub-and-spokes",
        "--seed",
        "3",
        "--json",
    )
    assert code == 0
    payload = json.loads(out)  # exactly one JSON document, nothing else on stdout
    assert payload["params"]["topology"] == "hub-and-spokes"
    assert payload["params"]["steps"] == 30 and payload["params"]["seed"] == 3
    totals = payload["totals"]
    assert set(totals) == {"by_end_item", "by_state_end_item"}  # nothing adds end items
    assert set(totals["by_end_item"]) == {"shell_155mm", "interceptor"}
    assert {"USA", "KOR", "JPN", "AUS"} <= set(totals["by_state_end_item"])
    shells = totals["by_end_item"]["shell_155mm"]
    assert shells["demanded"] == pytest.approx(
        sum(v["shell_155mm"]["demanded"] for v in totals["by_state_end_item"].values()), rel=1e-5
    )
    for entry in totals["by_end_item"].values():
        assert entry["delivered"] > 0 and entry["demanded"] > 0
    # A surge with limited capacity leaves part of the shells' demand unmet.
    assert shells["delivered"] < shells["demanded"]
    structure = payload["structure"]
    assert structure["idle_firms"] > 0 and structure["in_transit"] > 0
    assert set(structure["import_share"]) >= {"USA", "KOR", "JPN", "AUS"}


def test_run_series_parquet_reads_back(capsys, tmp_path):
    target = tmp_path / "series.parquet"
    code, out, _ = run_cli(
        capsys, "run", "--steps", "25", "--web-ness", "0.5", "--surge", "2", "--series", str(target)
    )
    assert code == 0 and "series written" in out
    frame = pl.read_parquet(target)
    assert frame.height == 25
    assert frame["step"].to_list() == list(range(1, 26))
    assert {
        "delivered.shell_155mm",
        "delivered.USA.shell_155mm",
        "production.tnt",
        "alpha_mean",
    } <= set(frame.columns)
    con = duckdb.connect()
    rows = con.execute(
        f"select count(*), sum(\"delivered.shell_155mm\") from read_parquet('{target}')"
    ).fetchall()[0]
    assert rows[0] == 25 and rows[1] > 0
    meta = con.execute(f"select key, value from parquet_kv_metadata('{target}')").fetchall()
    keys = {k.decode() if isinstance(k, bytes) else k for k, _ in meta}
    assert {"webmodel_version", "params", "created_utc"} <= keys
    assert not list(tmp_path.glob(".*.tmp"))


def test_bad_scenario_names_field_and_does_no_work(capsys, tmp_path):
    text = (ROOT / "webmodel" / "coalition" / "scenarios" / "default.toml").read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("capacity = 2600", "capacity = -2600", 1))
    series = tmp_path / "out.parquet"
    code, out, err = run_cli(capsys, "run", "--scenario", str(bad), "--series", str(series))
    assert code == 2
    assert "capacity" in err and "firms[" in err
    assert out == "" and not series.exists()


def test_bad_options_exit_non_zero(capsys, tmp_path):
    with pytest.raises(SystemExit) as info:
        main(["run", "--web-ness", "1.5"])
    assert info.value.code == 2
    assert "[0, 1]" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["run", "--topology", "star"])
    code, _, err = run_cli(capsys, "run", "--series", str(tmp_path / "x.csv"))
    assert code == 2 and "--series" in err


def test_compare_prints_both_topologies_per_item_and_state(capsys):
    code, out, _ = run_cli(capsys, "compare", "--steps", "30")
    assert code == 0
    assert "hub-and-spokes" in out and "production-web" in out
    for label in ("shell_155mm", "interceptor", "USA", "KOR", "JPN"):
        assert label in out
    for label in ("stock in transit", "firms with no contract", "inputs imported, KOR"):
        assert label in out
    code, out, _ = run_cli(capsys, "compare", "--steps", "10", "--json")
    payload = json.loads(out)
    hub, web = payload["hub-and-spokes"]["structure"], payload["production-web"]["structure"]
    assert hub["idle_firms"] > 0 and web["idle_firms"] == 0


def test_network_export(capsys, tmp_path):
    target = tmp_path / "web.graphml"
    code, out, _ = run_cli(capsys, "network", "--topology", "hub-and-spokes", "--out", str(target))
    assert code == 0 and target.exists() and "hub-and-spokes" in out


def test_run_on_exported_network_matches(capsys, tmp_path):
    target = tmp_path / "hs.json"
    run_cli(capsys, "network", "--topology", "hub-and-spokes", "--seed", "4", "--out", str(target))
    common = ["--seed", "4", "--steps", "20", "--surge", "2", "--json"]
    _, direct, _ = run_cli(capsys, "run", "--topology", "hub-and-spokes", *common)
    _, loaded, _ = run_cli(capsys, "run", "--network", str(target), *common)
    assert json.loads(direct)["totals"] == json.loads(loaded)["totals"]


def test_bench_json_rows(capsys):
    code, out, _ = run_cli(
        capsys, "bench", "--sizes", "100:20,300:20", "--heavy", "300:30", "--no-startup", "--json"
    )
    assert code == 0
    report = json.loads(out)
    rows = report["rows"]
    assert [r["firms"] > 0 for r in rows] == [True, True]
    for row in rows:
        assert {"firms", "links", "steps", "engine_s", "reference_s", "ratio"} <= set(row)
        assert row["ratio"] == pytest.approx(row["reference_s"] / row["engine_s"])
        assert row["max_rel_diff"] <= 1e-9
        assert row["state_mb"] > 0 and row["peak_rss_mb"] > 0
    # (Two tiny sizes: the fit's sign is noise; its shape is what is checked.)
    assert report["step_cost"]["sizes"] == 2
    assert math.isfinite(report["step_cost"]["ns_per_link_step"])
    assert math.isfinite(report["step_cost"]["us_fixed_per_step"])
    assert report["disruption_heavy"]["firms"] > 0 and report["disruption_heavy"]["run_s"] > 0
    assert report["startup"] is None
    assert "CPU" in report["clock"]


def test_bench_max_reference_seconds_zero_never_runs_it(capsys):
    """A single size has no earlier rate to project from: 0 still means never (it ran once)."""
    code, out, _ = run_cli(
        capsys,
        "bench",
        "--sizes",
        "300:10",
        "--max-reference-seconds",
        "0",
        "--heavy",
        "none",
        "--no-startup",
        "--json",
    )
    assert code == 0
    (row,) = json.loads(out)["rows"]
    assert row["reference_s"] is None and "not asked" in row["reference_note"]
    assert json.loads(out)["disruption_heavy"] is None


@pytest.mark.parametrize(
    "args", [["--sizes", "0:10"], ["--sizes", "abc"], ["--heavy", "10:-1"], ["--heavy", "1,2"]]
)
def test_bench_bad_sizes_exit_2(capsys, args):
    code, _, err = run_cli(capsys, "bench", *args, "--no-startup")
    assert code == 2 and args[0] in err


def test_levers_and_disruptions_reach_the_model(capsys):
    code, out, _ = run_cli(
        capsys,
        "run",
        "--topology",
        "hub-and-spokes",
        "--contracting",
        "best-value",
        "--stockpile-weeks",
        "2",
        "--subtier-visibility",
        "--capacity-headroom",
        "0.1",
        "--border-delay",
        "2",
        "--cyber-hardening",
        "0.5",
        "--disrupt",
        "assembly:USA@5+3",
        "--disrupt",
        "state:KOR@6+2~2",
        "--steps",
        "30",
        "--json",
    )
    assert code == 0
    payload = json.loads(out)
    params = payload["params"]
    assert params["capacity_headroom"] == 0.1 and params["border_delay"] == 2
    assert params["cyber_hardening"] == 0.5
    assert params["disruptions"] == ["assembly:USA@5+3", "state:KOR@6+2~2"]
    metrics = payload["metrics"]
    assert set(metrics) >= {
        "fill_rate",
        "loss_area",
        "min_performance",
        "time_to_recover",
        "time_to_surge_target",
        "peak_over_baseline",
        "backlog_end",
        "amplification",
        "amplification_gross",
        "amplification_net",
        "loss_area_value",
        "supplier_hhi",
        "hub_assembly_share",
        "cross_border_share",
    }
    assert metrics["loss_area"] is not None and metrics["time_to_surge_target"] is None
    assert metrics["supplier_hhi"] < 0.6  # best-value multi-sourcing, even in hub-and-spokes


def test_bad_disruption_is_rejected_with_the_accepted_forms(capsys):
    with pytest.raises(SystemExit) as info:
        main(["run", "--disrupt", "meteor@3+2"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "accepted forms" in err and "assembly:STATE" in err
    code, _, err = run_cli(capsys, "run", "--disrupt", "state:XYZ@3+2")
    assert code == 2 and "unknown state 'XYZ'" in err
