"""The vulnerability review: dependency shares and the stress ranking on a hand-built scenario,
bad input refused before any work, and both commands end to end on the default scenario."""

from __future__ import annotations

import json
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from webmodel.analysis.exposure.dependency import dependency_map, state_report
from webmodel.analysis.exposure.stress import (
    Node,
    StressConfig,
    node_disruption,
    nodes_of,
    run_stress,
)
from webmodel.analysis.sweep.executor import open_workers
from webmodel.cli import main
from webmodel.core.model import CoalitionModel

# Two states. BBB demands 10 items a week; the item is made in BBB (moved to the hub AAA in
# hub-and-spokes) from one part. Parts: AAA-part-1 (unit cost 2) and BBB-part-1 (unit cost 3).
# Hub-and-spokes single-sources the part from the cheaper AAA firm, so BBB-part-1 sells nothing;
# the production web splits the assembler's orders between the two part makers.
TINY = """
name = "tiny"
hub = "AAA"

[parameters]
target_cover_weeks = 2.0
adjustment_time = 2.0
stockpile_weeks = 0.0
suppliers_per_input = 1

[[states]]
code = "AAA"
role = "hub"
demand = { item = 0 }

[[states]]
code = "BBB"
role = "ally"
demand = { item = 10 }

[[products]]
name = "item"
lead_time_weeks = 1
inputs = { part = 1 }

[[products]]
name = "part"
lead_time_weeks = 1

[[firms]]
product = "item"
state = "BBB"
count = 1
capacity = 20
unit_cost = 4.0

[[firms]]
product = "part"
state = "AAA"
count = 1
capacity = 20
unit_cost = 2.0

[[firms]]
product = "part"
state = "BBB"
count = 1
capacity = 20
unit_cost = 3.0
"""


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return path


def _tiers(path, topology):
    network = CoalitionModel(path, topology=topology, rng=1).network
    report = state_report([dependency_map(network)], "BBB")
    wiring = report["wirings"][topology]
    (root,) = [r for r in wiring["roots"] if r["role"] == "consumes"]
    return {t["tier"]: t for t in root["tiers"]}, wiring["firm_inputs"], network


def test_one_foreign_supplier_of_one_input_is_100_percent_foreign(tiny):
    tiers, _, network = _tiers(tiny, "hub-and-spokes")
    # The single assembler sits in the hub AAA and buys its part from AAA-part-1 alone.
    assert network.baseline_output.tolist() == [10.0, 10.0, 0.0]
    assert tiers[0]["products"] == ["item"] and tiers[1]["products"] == ["part"]
    for tier in (0, 1):
        assert tiers[tier]["units"] == pytest.approx(10.0)
        assert tiers[tier]["foreign_unit_share"] == 1.0
        assert tiers[tier]["foreign_value_share"] == 1.0
        assert tiers[tier]["foreign_sources"] == {"AAA": 1.0}


def test_split_supply_shares_by_units_and_by_value(tiny):
    tiers, firm_inputs, _ = _tiers(tiny, "production-web")
    assert tiers[0]["foreign_unit_share"] == 0.0  # assembled at home
    # Half the parts from AAA (cost 2), half from BBB (cost 3): 50 % of units, 10/25 of value.
    assert tiers[1]["foreign_unit_share"] == pytest.approx(0.5)
    assert tiers[1]["foreign_value_share"] == pytest.approx(5 * 2 / (5 * 2 + 5 * 3))
    assert firm_inputs["foreign_unit_share"] == pytest.approx(0.5)
    # Each product has a single maker or two: all are chokepoints, for their firm counts.
    chokes = {c["product"] for c in tiers[1]["chokepoints"]}
    assert chokes == {"part"}


def test_stress_ranking_on_the_hand_built_scenario(tiny, tmp_path):
    config = StressConfig(scenario=str(tiny), firms_level=True, start=3, duration=4, steps=20)
    with open_workers(0) as workers:
        result = run_stress(config, tmp_path / "out", workers, progress={"quiet": True})
    rows = {r["node"]: r for r in result.rows("hub-and-spokes")}
    assert [r["node"] for r in result.rows("hub-and-spokes")] == [
        "BBB-item-1",
        "AAA-part-1",
        "BBB-part-1",
    ]
    # Nobody buys from BBB-part-1: taking it down loses nothing and nothing runs short.
    idle = rows["BBB-part-1"]
    assert idle["baseline_output"] == 0.0
    assert idle["coalition_loss"] == 0.0 and idle["loss.BBB"] == 0.0
    assert idle["tts_weeks"] is None and not idle["tts_lt_ttr"]
    # The sole assembler down: with no stockpile the forces go short one lead time (1 week)
    # after it stops, before it is back (TTR 4): flagged; nothing is served for 4 weeks at least.
    item = rows["BBB-item-1"]
    assert item["tts_weeks"] == 1 and item["ttr_weeks"] == 4 and item["tts_lt_ttr"]
    assert item["coalition_loss"] >= 4.0
    # One demanding state: its loss is the coalition's.
    for r in result.rows():
        assert r["loss.BBB"] == pytest.approx(r["coalition_loss"])
    # Results on disk, with provenance, through the sweep store.
    table = pq.read_table(tmp_path / "out" / "ranking.parquet")
    assert table.num_rows == len(result.rows())
    assert b"stress_config" in table.schema.metadata
    assert (tmp_path / "out" / "single" / "sweep.json").is_file()


def test_nodes_and_specs(tiny):
    network = CoalitionModel(tiny, topology="production-web", rng=1).network
    groups = [n.label for n in nodes_of(network)]
    assert groups == ["item@BBB", "part@AAA", "part@BBB"]
    assert len(nodes_of(network, firms_level=True)) == network.n_firms
    node = Node("product", "part", "AAA")
    assert node_disruption(node, 3, 4) == "product:part:AAA@3+4"
    assert node_disruption(node, 3, 4, recovery_weeks=2) == "product:part:AAA@3+4~2"
    with pytest.raises(ValueError, match="severity"):
        node_disruption(node, 3, 4, severity=0.5)


# --- the command line ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["exposure", "--state", "XXX"], "--state"),
        (["exposure", "--state", "KOR", "--end-item", "tnt"], "--end-item"),
        (["stress", "--state", "XXX"], "--state"),
        (["stress", "--product", "unobtainium"], "--product"),
        (["stress", "--duration", "200"], "steps"),
    ],
)
def test_bad_input_is_refused_before_any_work(capsys, tmp_path, argv, field):
    out = tmp_path / "never"
    extra = ["--out", str(out)] if argv[0] == "stress" else []
    assert main([*argv, *extra]) == 2
    err = capsys.readouterr().err
    assert field in err
    assert not out.exists()


def test_unknown_kind_is_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["exposure", "--state", "KOR", "--role", "sells"])
    assert stop.value.code == 2
    assert "--role" in capsys.readouterr().err


def test_exposure_command_end_to_end(capsys, tmp_path):
    parquet, figure = tmp_path / "kor.parquet", tmp_path / "kor.svg"
    args = ["exposure", "--state", "KOR", "--json", "--parquet", str(parquet)]
    assert main([*args, "--figure", str(figure)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["wirings"]) == {"hub-and-spokes", "production-web"}
    for wiring in report["wirings"].values():
        share = wiring["firm_inputs"]["foreign_unit_share"]
        assert 0.0 <= share <= 1.0
    assert report["difference"]
    flows = pq.read_table(parquet)
    assert set(flows.column("state").to_pylist()) == {"KOR"}
    for name in ("kor.svg", "kor.png", "kor-flow.svg", "kor-flow.png"):
        assert (tmp_path / name).stat().st_size > 0


def test_stress_command_end_to_end(capsys, tmp_path):
    out = tmp_path / "stress"
    argv = ["stress", "--product", "interceptor", "--workers", "0", "--out", str(out)]
    assert main([*argv, "--json", "--quiet", "--state", "KOR", "--steps", "40"]) == 0
    payload = json.loads(capsys.readouterr().out)
    nodes = {(r["topology"], r["node"]) for r in payload["ranking"]}
    assert ("hub-and-spokes", "interceptor@USA") in nodes
    assert ("production-web", "interceptor@USA") in nodes
    assert all(r["state"] == "KOR" for r in payload["by_state"])
    # Resuming the finished test runs nothing new and gives the same ranking.
    assert main([*argv, "--json", "--quiet", "--state", "KOR", "--steps", "40"]) == 0
    assert json.loads(capsys.readouterr().out)["ranking"] == payload["ranking"]


def test_help_imports_no_heavy_module():
    # networkx already comes with the CLI's import of coalition.topology (not this command's).
    code = (
        "import sys; from webmodel.cli.main import build_parser; "
        "heavy = ['mesa', 'matplotlib', 'pandas', 'pyarrow.dataset', 'scipy', 'dask', "
        "'solara', 'networkx']; before = [m for m in heavy if m in sys.modules]; "
        "build_parser().parse_known_args(['exposure', '--state', 'KOR']); "
        "print([m for m in heavy if m in sys.modules and m not in before])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


# --- the app ---------------------------------------------------------------------------------


def test_app_panel_ranks_highlights_and_maps(tmp_path, monkeypatch):
    import ipyvuetify as v
    import ipywidgets
    import solara

    from webmodel.app import exposure_view
    from webmodel.app.pair import ModelPair, Settings

    pair = ModelPair(Settings(steps=30))
    real = exposure_view.ranking_for
    monkeypatch.setattr(
        exposure_view, "ranking_for", lambda settings: real(settings, tmp_path / "app")
    )
    _, rc = solara.render(exposure_view.ExposurePanel(pair), handle_error=False)

    def images(css: str) -> list:
        return [w for w in rc.find(ipywidgets.Image).widgets if css in w._dom_classes]

    assert rc.find(v.Select, label="state").widget.v_model == "KOR"
    assert images("webmodel-heatmap")
    assert not images("webmodel-highlight")
    rc.find(v.Btn, children=["Rank nodes (stress test)"]).widget.click()
    select = rc.find(v.Select, label="highlight node").widget
    assert select.v_model == "interceptor@USA"  # the top of the ranking, chosen first
    assert len(images("webmodel-highlight")) == 2
    before = [w.value for w in images("webmodel-highlight")]
    select.v_model = "tnt@KOR"
    after = [w.value for w in images("webmodel-highlight")]
    assert len(after) == 2 and after != before  # the other node is drawn highlighted
    # The dependency map follows the chosen state.
    rc.find(v.Select, label="state").widget.v_model = "JPN"
    assert rc.find(v.Select, label="state").widget.v_model == "JPN"


def test_app_markdown_ranking_and_dependency(tmp_path):
    from webmodel.app import exposure_view
    from webmodel.app.pair import ModelPair, Settings

    pair = ModelPair(Settings(steps=30))
    result = exposure_view.ranking_for(pair.settings, tmp_path / "app")
    text = exposure_view.ranking_markdown(result, "hub-and-spokes")
    assert "| 1 | interceptor@USA |" in text
    deps = exposure_view.dependency_markdown(pair, "KOR")
    assert "consumes shell_155mm" in deps and "tier" in deps
