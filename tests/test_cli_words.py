"""The command line speaks in words and units: labels, reasons for n/a, per-end-item tables,
the backlog reconciled with goods in transit, two chosen configurations compared, warnings
for shocks that would change nothing, rounded JSON."""

from __future__ import annotations

import json

import polars as pl
import pyarrow.parquet as pq
import pytest

from webmodel.cli import main
from webmodel.core.labels import METRIC_WORDS, clip, label_of
from webmodel.core.metrics import METRIC_NAMES
from webmodel.io.output import rounded

SHORT = ["--steps", "30", "--seed", "2"]


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_every_metric_has_a_label_unit_and_definition():
    assert set(METRIC_WORDS) == set(METRIC_NAMES)
    for name, meta in METRIC_WORDS.items():
        assert meta.label and meta.unit and meta.definition, name
    assert label_of("fill_rate").show(0.6741) == "67.4 %"
    assert label_of("loss_area").show(17.083) == "17.08 weeks"
    assert label_of("time_to_recover").show(None, "no shock") == "n/a (no shock)"
    assert clip("cross_border_share", 1.07) == 1.0 and clip("amplification_net", -3.0) == -3.0


def test_rounded_json_drops_float_noise():
    assert rounded({"a": [1.0000000000000002, 0.1 + 0.2], "b": 3, "c": None}) == {
        "a": [1.0, 0.3],
        "b": 3,
        "c": None,
    }
    assert rounded(123456.789012345678) == 123456.789012


def test_run_text_in_words_units_and_reasons(capsys):
    code, out, _ = run_cli(capsys, "run", *SHORT, "--surge", "2", "--surge-start", "5")
    assert code == 0
    assert "all end items" not in out and "state USA" not in out  # nothing summed across items
    assert "fill rate (% of demand)" in out and "demand lost (weeks of full demand lost)" in out
    assert "n/a [1]" in out and "does not apply:" in out  # a reason, not a bare n/a
    assert "amplification [amplification_gross]: ARIO's" in out  # explained
    assert "more in transit than at the start" in out


def test_fill_rate_matches_the_table_and_backlog_reconciles(capsys):
    _, out, _ = run_cli(capsys, "run", *SHORT, "--surge", "2", "--json")
    payload = json.loads(out)
    items = payload["end_items"]
    rates = [b["served"] / b["demanded"] for b in items.values()]
    assert payload["metrics"]["fill_rate"] == pytest.approx(sum(rates) / len(rates))
    for b in items.values():  # demanded - delivered = owed + growth of goods in transit
        gap = b["demanded"] - b["delivered"]
        owed = b["owed_end"] + b["in_transit_end"] - b["in_transit_start"]
        assert gap == pytest.approx(owed, rel=1e-9)
        assert b["in_transit_end"] > b["in_transit_start"]  # a surge fills the pipeline
    assert set(payload["not_applicable"]) >= {"amplification_gross"}
    assert "no disruption" in payload["not_applicable"]["amplification_gross"]


def test_compare_two_chosen_configurations_and_series(capsys, tmp_path):
    target = tmp_path / "pair.parquet"
    code, out, err = run_cli(
        capsys,
        "compare",
        *SHORT,
        "--a",
        "web_ness=0.3",
        "--b",
        "web-ness=1,stockpile_weeks=4",
        "--series",
        str(target),
    )
    assert code == 0, err
    assert "A: web_ness=0.3" in out and "B: web_ness=1,stockpile_weeks=4" in out
    assert "B - A" in out
    frame = pl.read_parquet(target)
    assert frame["configuration"].unique().sort().to_list() == [
        "A: web_ness=0.3",
        "B: web_ness=1,stockpile_weeks=4",
    ]
    assert frame.height == 60
    meta = pq.read_schema(target).metadata
    sides = json.loads(meta[b"configurations"])
    assert [p["web_ness"] for p in sides.values()] == [0.3, 1.0]
    assert [p["stockpile_weeks"] for p in sides.values()][1] == 4


def test_compare_series_of_both_wirings(capsys, tmp_path):
    target = tmp_path / "wirings.parquet"
    code, _, _ = run_cli(capsys, "compare", *SHORT, "--series", str(target))
    assert code == 0
    sides = pl.read_parquet(target)["configuration"].unique().sort().to_list()
    assert sides == ["hub-and-spokes", "production-web"]


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("web_nes=0.3", "unknown parameter 'web_nes' (did you mean web_ness?)"),
        ("web_ness=3", "web_ness: must be"),
        ("web_ness", "expected NAME=VALUE"),
    ],
)
def test_compare_bad_configuration_names_the_field(capsys, setting, expected):
    with pytest.raises(SystemExit) as exit_:
        main(["compare", "--a", setting])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--a" in err and expected in err


def test_seed_below_zero_names_the_option(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--seed", "-1"])
    assert exit_.value.code == 2
    assert "--seed: must be an integer >= 0" in capsys.readouterr().err


def test_silent_no_ops_warn_naming_the_option(capsys):
    code, _, err = run_cli(
        capsys,
        "run",
        *SHORT,
        "--topology",
        "hub-and-spokes",
        "--surge",
        "2",
        "--surge-start",
        "40",
        "--disrupt",
        "random:0.1@45+2",
        "--disrupt",
        "assembly:AUS@5+3",
        "--json",
    )
    assert code == 0
    assert "--surge-start 40 is after the horizon (--steps 30)" in err
    assert "--disrupt random:0.1@45+2: starts in week 45, after the horizon" in err
    assert "--disrupt assembly:AUS@5+3: hits 0 firms in hub-and-spokes" in err


def test_firms_says_what_it_built(capsys):
    code, out, err = run_cli(capsys, "run", "--steps", "5", "--firms", "5", "--json")
    built = json.loads(out)["params"]["firms"]
    assert code == 0 and built > 5
    assert f"--firms 5: built {built} firms" in err and "more than asked" in err


def test_no_warning_for_an_ordinary_run(capsys):
    code, _, err = run_cli(capsys, "run", *SHORT, "--surge", "2", "--json")
    assert code == 0 and "warning" not in err


def test_exported_web_reproduces_the_run(capsys, tmp_path):
    """`network --seed S` exports exactly the web `run --seed S` wires: same links, same
    results."""
    import networkx as nx

    target = tmp_path / "web.graphml"
    run_cli(capsys, "network", "--topology", "production-web", "--seed", "7", "--out", str(target))
    common = ["--seed", "7", "--steps", "20", "--surge", "2", "--json"]
    _, direct, _ = run_cli(capsys, "run", "--topology", "production-web", *common)
    _, loaded, _ = run_cli(capsys, "run", "--network", str(target), *common)
    direct, loaded = json.loads(direct), json.loads(loaded)
    assert direct["params"]["links"] == loaded["params"]["links"]
    assert nx.read_graphml(target).number_of_edges() == direct["params"]["links"]
    assert direct["totals"] == loaded["totals"]
    assert direct["metrics"] == loaded["metrics"]


def test_findings_only_lists_every_known_name(capsys, tmp_path):
    code, _, err = run_cli(capsys, "findings", "--results", str(tmp_path), "--only", "nope")
    assert code == 2
    assert "--only" in err and "ramp_155mm" in err
    assert not (tmp_path / "findings").exists()  # checked before any work


def test_report_help_prints_a_single_percent(capsys):
    with pytest.raises(SystemExit):
        main(["report", "--help"])
    out = capsys.readouterr().out
    assert "95%%" not in out and "95%" in out


def test_labels_import_nothing_heavy():
    """The app and `webmodel --help` import the labels: pure data, no numpy."""
    import subprocess
    import sys

    code = (
        "import sys, webmodel.core.labels; "
        "print(sorted(m for m in ('numpy', 'mesa', 'pandas', 'pyarrow') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_firms_built_as_asked_is_a_note(capsys, tmp_path):
    target = tmp_path / "web.json"
    code, _, err = run_cli(capsys, "network", "--firms", "394", "--out", str(target))
    assert code == 0
    assert "--firms 394: built 394 firms" in err and "note:" in err and "warning" not in err


def test_every_metric_says_when_it_does_not_apply():
    from webmodel.core.labels import METRIC_WORDS as words

    assert all(meta.null_when for meta in words.values())
    assert words["time_to_recover"].null_when != "never"
