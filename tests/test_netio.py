"""Network export / import: round trips exactly, and bad files are rejected with named fields."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from webmodel.coalition.network import Network
from webmodel.coalition.scenario import Scenario, ScenarioError, default_scenario
from webmodel.coalition.topology import build_network
from webmodel.core.model import CoalitionModel
from webmodel.io.netio import network_to_graph, read_network, write_network

TOPOLOGIES = ["hub-and-spokes", "production-web"]


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return default_scenario()


@pytest.fixture(scope="module")
def networks(scenario: Scenario) -> dict[str, Network]:
    return {t: build_network(scenario, t, rng=1) for t in TOPOLOGIES}


def _links(network: Network) -> list[tuple[str, int, int]]:
    return [
        (network.firms.name[s], int(k), int(lead))
        for s, k, lead in zip(
            network.link_supplier, network.link_slot, network.link_lead, strict=True
        )
    ]


def _delivered(network: Network) -> np.ndarray:
    model = CoalitionModel(network=network, surge=2.0, surge_start=5, steps=40, rng=1)
    return model.run().series("delivered")


@pytest.mark.parametrize("suffix", [".graphml", ".json"])
@pytest.mark.parametrize("topology", TOPOLOGIES)
def test_round_trip(tmp_path, scenario, networks, topology, suffix):
    original = networks[topology]
    path = tmp_path / f"net{suffix}"
    write_network(original, path)
    read = read_network(path, scenario)

    assert read.topology == original.topology
    assert read.web_ness == original.web_ness
    assert read.firms.name == original.firms.name
    for field in ("product", "state", "home_state"):
        np.testing.assert_array_equal(getattr(read.firms, field), getattr(original.firms, field))
    np.testing.assert_array_equal(read.firms.capacity, original.firms.capacity)
    np.testing.assert_array_equal(read.firms.unit_cost, original.firms.unit_cost)
    for field in ("slot_firm", "slot_state", "slot_product", "slot_coef"):
        np.testing.assert_array_equal(getattr(read, field), getattr(original, field))
    assert _links(read) == _links(original)
    np.testing.assert_allclose(read.link_weight, original.link_weight, rtol=0, atol=1e-12)
    np.testing.assert_allclose(read.baseline_output, original.baseline_output, rtol=1e-12)
    np.testing.assert_allclose(read.baseline_demand, original.baseline_demand, rtol=1e-12)
    np.testing.assert_allclose(_delivered(read), _delivered(original), rtol=1e-12)


def test_graphml_attributes(tmp_path, scenario, networks):
    network = networks["production-web"]
    path = tmp_path / "net.graphml"
    write_network(network, path)
    graph = nx.read_graphml(path)
    assert graph.is_directed()
    assert graph.graph["topology"] == "production-web"
    assert graph.graph["scenario"] == scenario.name
    firms = [n for n, d in graph.nodes(data=True) if d["kind"] == "firm"]
    states = [n for n, d in graph.nodes(data=True) if d["kind"] == "state"]
    assert firms == network.firms.name
    assert sorted(states) == sorted(f"state:{s.code}" for s in scenario.states if s.demand)
    tiers = dict(zip(scenario.bom().names, scenario.bom().tiers, strict=True))
    for i, name in enumerate(network.firms.name):
        node = graph.nodes[name]
        assert node["state"] == network.state_codes[network.firms.state[i]]
        assert node["product"] == network.product_names[network.firms.product[i]]
        assert node["tier"] == tiers[node["product"]]
        assert isinstance(node["tier"], int)
        assert node["capacity"] == network.firms.capacity[i]
    assert graph.number_of_edges() == network.n_links
    weights = nx.get_edge_attributes(graph, "weight")
    assert len(weights) == network.n_links
    assert all(isinstance(w, float) and 0 < w <= 1 for w in weights.values())
    # The edges into a state node are its end items' suppliers; their weights sum to 1 per item.
    into_usa = [(a, d) for a, _, d in graph.in_edges("state:USA", data=True)]
    for item in ("shell_155mm", "interceptor"):
        total = sum(d["weight"] for _, d in into_usa if d["product"] == item)
        assert total == pytest.approx(1.0, abs=1e-12)


def test_graph_matches_network(networks):
    network = networks["hub-and-spokes"]
    graph = network_to_graph(network)
    assert graph.number_of_nodes() == network.n_firms + len(
        set(network.slot_state[network.slot_firm < 0].tolist())
    )
    flows = nx.get_edge_attributes(graph, "baseline_flow")
    assert sum(flows.values()) == pytest.approx(network.baseline_link_flow().sum(), rel=1e-12)
    outputs = nx.get_node_attributes(graph, "baseline_output")
    for i, name in enumerate(network.firms.name):
        assert outputs[name] == network.baseline_output[i]


# --- corrupted files --------------------------------------------------------------------------


@pytest.fixture
def exported(tmp_path, networks) -> dict:
    path = tmp_path / "net.json"
    write_network(networks["production-web"], path)
    return json.loads(path.read_text())


def _node(data: dict, product: str) -> dict:
    return next(n for n in data["nodes"] if n.get("product") == product)


def _read_bad(tmp_path: Path, data: dict, scenario: Scenario) -> str:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ScenarioError) as err:
        read_network(path, scenario)
    return str(err.value)


def test_unknown_product(tmp_path, scenario, exported):
    node = _node(exported, "fuze")
    node["product"] = "fuzz"
    message = _read_bad(tmp_path, exported, scenario)
    assert f"node \"{node['id']}\".product: unknown product 'fuzz'" in message


def test_bad_capacity(tmp_path, scenario, exported):
    node = _node(exported, "tnt")
    node["capacity"] = -5.0
    message = _read_bad(tmp_path, exported, scenario)
    assert f'node "{node["id"]}".capacity: must be a number > 0' in message


def test_unknown_state(tmp_path, scenario, exported):
    node = _node(exported, "seeker")
    node["state"] = "XYZ"
    message = _read_bad(tmp_path, exported, scenario)
    assert f"node \"{node['id']}\".state: unknown state 'XYZ'" in message


def test_incompatible_edge(tmp_path, scenario, exported):
    edge = next(e for e in exported["edges"] if e["product"] == "tnt")
    fuze = _node(exported, "fuze")["id"]
    edge["target"] = fuze
    message = _read_bad(tmp_path, exported, scenario)
    assert f'edge "{edge["source"]}" -> "{fuze}"' in message
    assert f"supplier makes tnt but {fuze} (fuze) does not use tnt" in message


def test_bad_weight_and_lead_time(tmp_path, scenario, exported):
    first, second = exported["edges"][:2]
    first["weight"] = 0.0
    second["lead_time"] = 0
    message = _read_bad(tmp_path, exported, scenario)
    assert f'edge "{first["source"]}" -> "{first["target"]}".weight: must be' in message
    assert f'edge "{second["source"]}" -> "{second["target"]}".lead_time: must be' in message


def test_every_problem_is_listed(tmp_path, scenario, exported):
    _node(exported, "fuze")["product"] = "fuzz"
    _node(exported, "tnt")["capacity"] = 0
    _node(exported, "seeker")["state"] = "XYZ"
    with pytest.raises(ScenarioError) as err:
        read_network(_write(tmp_path, exported), scenario)
    assert len(err.value.problems) == 3


def test_input_without_supplier(tmp_path, scenario, exported):
    buyer = _node(exported, "energetic_fill")["id"]
    exported["edges"] = [
        e for e in exported["edges"] if not (e["target"] == buyer and e["product"] == "tnt")
    ]
    message = _read_bad(tmp_path, exported, scenario)
    assert f"{buyer}: no supplier of tnt" in message


def test_over_capacity(tmp_path, scenario, exported):
    node = _node(exported, "toluene")
    node["capacity"] = node["baseline_output"] / 2
    message = _read_bad(tmp_path, exported, scenario)
    assert f"firm {node['id']}: baseline load" in message


def test_supplier_is_state(tmp_path, scenario, exported):
    exported["edges"].append({"source": "state:USA", "target": "state:KOR", "weight": 1.0})
    message = _read_bad(tmp_path, exported, scenario)
    assert 'edge "state:USA" -> "state:KOR": the supplier state:USA is a state node' in message


def test_edge_to_missing_node(tmp_path, scenario, exported):
    exported["edges"][0]["target"] = "nobody"
    message = _read_bad(tmp_path, exported, scenario)
    assert 'no node "nobody"' in message


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(data))
    return path


def test_defaults_and_weight_normalisation(tmp_path, scenario, networks, exported):
    """Weights are shares (any positive scale), lead times default to product + border delay."""
    original = networks["production-web"]
    for node in exported["nodes"]:
        if node["kind"] == "firm":
            del node["home_state"], node["unit_cost"], node["kind"]
    for edge in exported["edges"]:
        edge["weight"] *= 7.0
        del edge["lead_time"], edge["product"]
    exported["links"] = exported.pop("edges")
    read = read_network(_write(tmp_path, exported), scenario)
    np.testing.assert_array_equal(read.link_lead, original.link_lead)
    np.testing.assert_allclose(read.link_weight, original.link_weight, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(read.firms.home_state, read.firms.state)
    np.testing.assert_array_equal(read.firms.unit_cost, np.ones(read.n_firms))


def test_missing_weight_means_equal_shares(tmp_path, scenario, exported):
    for edge in exported["edges"]:
        del edge["weight"]
    for node in exported["nodes"]:
        node["capacity"] *= 10  # equal shares load some firms beyond their wired share
    read = read_network(_write(tmp_path, exported), scenario)
    counts = np.bincount(read.link_slot, minlength=read.n_slots)
    assert counts.max() > 1
    np.testing.assert_allclose(read.link_weight, 1.0 / counts[read.link_slot], rtol=1e-15)


def test_custom_network_defaults(tmp_path, scenario, exported):
    exported["graph"] = {}
    read = read_network(_write(tmp_path, exported), scenario)
    assert read.topology == "custom"
    assert np.isnan(read.web_ness)
    # ... and it can be written and read again, NaN and all.
    path = tmp_path / "again.json"
    write_network(read, path)
    assert np.isnan(read_network(path, scenario).web_ness)


def test_unreadable_files(tmp_path, scenario):
    with pytest.raises(ScenarioError, match="no such file"):
        read_network(tmp_path / "missing.graphml", scenario)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ScenarioError, match="not valid JSON"):
        read_network(broken, scenario)
    broken = tmp_path / "broken.graphml"
    broken.write_text("<graphml><graph")
    with pytest.raises(ScenarioError, match="not valid GraphML"):
        read_network(broken, scenario)
    with pytest.raises(ScenarioError, match="unknown file type"):
        read_network(tmp_path / "net.csv", scenario)


def test_undirected_graph_rejected(tmp_path, scenario, networks):
    path = tmp_path / "undirected.graphml"
    nx.write_graphml(network_to_graph(networks["hub-and-spokes"]).to_undirected(), path)
    with pytest.raises(ScenarioError, match="must be directed"):
        read_network(path, scenario)


# --- writing ----------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".graphml", ".json"])
def test_write_leaves_no_temp_files(tmp_path, networks, suffix):
    path = tmp_path / f"net{suffix}"
    write_network(networks["hub-and-spokes"], path)
    write_network(networks["production-web"], path)  # overwrite in place
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_failed_write_leaves_nothing(tmp_path, networks, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(nx, "write_graphml", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        write_network(networks["hub-and-spokes"], tmp_path / "net.graphml")
    assert list(tmp_path.iterdir()) == []


def test_unknown_suffix(tmp_path, networks):
    with pytest.raises(ValueError, match=r"unknown file type '\.csv'"):
        write_network(networks["hub-and-spokes"], tmp_path / "net.csv")
    assert list(tmp_path.iterdir()) == []
