"""The sweep's caches of wirings and betweenness change nothing but the time a sweep takes."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from sweep_support import comparable, read_runs, read_series, write_experiment

from webmodel.analysis.sweep import cache
from webmodel.analysis.sweep.experiment import load_experiment
from webmodel.analysis.sweep.plan import build_plan
from webmodel.analysis.sweep.scheduler import run_sweep
from webmodel.coalition.disruptions import betweenness
from webmodel.coalition.topology import build_network, wire_network
from webmodel.core.model import CoalitionModel
from webmodel.io.output import series_table

# Runs that share wirings (common seeds: every disruption and surge level of a replicate), that
# rank firms by betweenness, and that re-source (so a run rewires its own copy of the network).
SHARED = """
name = "{name}"
description = "runs sharing wirings"
root_seed = 11
replicates = {replicates}
seeds = "common"

[base]
steps = {steps}
surge_start = 5

[design]
kind = "full-factorial"

[factors]
topology = ["hub-and-spokes", "production-web"]
surge = [1.0, 1.5]
disruptions = [["targeted:0.1:betweenness@8+10"], ["random:0.1@8+10", "state:KOR@12+10"]]

[output]
metrics = ["*"]
series = ["delivered.shell_155mm", "alpha_mean"]
"""


def _networks_equal(a, b) -> bool:
    def fields(net):
        out = {k: v for k, v in vars(net).items() if k not in ("firms", "scenario")}
        return {**out, **{f"firms.{k}": v for k, v in vars(net.firms).items()}}

    left, right = fields(a), fields(b)
    if left.keys() != right.keys() or a.scenario != b.scenario:
        return False
    for key, value in left.items():
        other = right[key]
        if isinstance(value, np.ndarray):
            if value.dtype != other.dtype or not np.array_equal(value, other):
                return False
        elif value != other:
            return False
    return True


def test_a_sweep_gives_the_same_table_with_and_without_the_cache(tmp_path):
    path = write_experiment(tmp_path, SHARED, name="shared", replicates=2, steps=40)
    plan = build_plan(load_experiment(path))
    quiet = {"quiet": True}
    cache.clear_caches()
    plain = run_sweep(plan, tmp_path / "plain", workers=0, progress=quiet, cache=False)
    assert cache.cache_stats()["wirings"]["hits"] == 0  # uncached: the hooks were not used
    cached = run_sweep(plan, tmp_path / "cached", workers=0, progress=quiet)
    stats = cache.cache_stats()
    # 16 runs on 4 wirings (2 topologies x 2 seeds), 8 of them ranking firms by betweenness.
    assert stats["wirings"]["misses"] <= 4 and stats["wirings"]["hits"] >= 12
    assert stats["centralities"]["misses"] <= 4 and stats["centralities"]["hits"] >= 4
    pooled = run_sweep(plan, tmp_path / "pooled", workers=2, chunk_size=3, progress=quiet)
    assert plain.failed == cached.failed == pooled.failed == 0

    expected = comparable(read_runs(tmp_path / "plain", "shared"))
    assert expected.num_rows == 16
    series = read_series(tmp_path / "plain", "shared").replace_schema_metadata(None)
    for label in ("cached", "pooled"):
        runs = comparable(read_runs(tmp_path / label, "shared"))
        assert runs.column_names == expected.column_names
        for name in expected.column_names:  # every column, bit for bit
            assert runs.column(name).equals(expected.column(name)), (label, name)
        kept = read_series(tmp_path / label, "shared").replace_schema_metadata(None)
        assert kept.equals(series), label
    # The runs did re-source: the copies they rewired were their own.
    assert max(read_runs(tmp_path / "cached", "shared").column("n_links").to_pylist()) > min(
        expected.column("n_links").to_pylist()
    )


WIRING_INPUTS = [
    {"topology": "hub-and-spokes"},
    {"web_ness": 0.5},
    {"firms": 300},
    {"suppliers_per_input": 2},
    {"contracting": "best-value"},
    {"contracting": "lowest-cost"},
    {"coproduction_share": 0.3},
    {"platforms": (("USA", "KOR", "JPN"), ("AUS", "POL", "DEU"))},
    {"wiring_noise": 0.2},
    {"wiring_noise": 0.0},
    {"web_home_bias": 0.2},
    {"border_delay": 6},
    {"capacity_headroom": 0.3},
    {"contract_utilisation": 0.7},
    {"scenario": "indo_pacific"},
    {"rng": 6},
]


@pytest.mark.parametrize("change", WIRING_INPUTS, ids=lambda c: ",".join(c))
def test_every_input_of_the_wiring_is_in_the_key(change):
    """After the base wiring is cached, a model differing in one input gets its own wiring."""
    base = {"rng": 5, "steps": 10}
    cache.clear_caches()
    with cache.caching():
        CoalitionModel(**base)
        changed = CoalitionModel(**{**base, **change}).network
        again = CoalitionModel(**{**base, **change}).network  # now from the cache
    fresh = CoalitionModel(**{**base, **change}).network
    assert _networks_equal(changed, fresh)
    assert _networks_equal(again, fresh)
    assert cache.cache_stats()["wirings"]["hits"] == 1


def test_a_run_never_changes_the_cached_wiring():
    shocks = ["random:0.3@3+40", "state:KOR@4+20"]
    cache.clear_caches()
    with cache.caching():
        first = CoalitionModel(rng=3, steps=40, disruptions=shocks)
        first.run()
        second = CoalitionModel(rng=3, steps=40, disruptions=shocks)
        assert cache.cache_stats()["wirings"]["hits"] == 1
        second.run()
    alone = CoalitionModel(rng=3, steps=40, disruptions=shocks).run()
    wired = CoalitionModel(rng=3).network
    assert alone.network.n_links > wired.n_links  # re-sourcing added links to each run's copy
    for model in (first, second):
        assert _networks_equal(model.network, alone.network)
        assert series_table(model).equals(series_table(alone))
    (stored,) = [value[0] for value, _ in cache.PROCESS_WIRINGS.store._items.values()]
    assert _networks_equal(stored, wired)


def test_a_hit_leaves_the_random_stream_where_building_would():
    scenario = CoalitionModel(rng=1).coalition  # wiring_noise > 0: the build spawns a child
    assert scenario.parameters.wiring_noise > 0

    def after(use_cache: bool):
        rng = np.random.default_rng(99)
        with cache.caching(use_cache):
            network = build_network(scenario, "hub-and-spokes", None, rng)
        return network, rng.random(3), rng.spawn(1)[0].random(2)

    cache.clear_caches()
    expected = after(False)
    for _ in range(2):  # a miss, then a hit
        got = after(True)
        assert _networks_equal(got[0], expected[0])
        assert np.array_equal(got[1], expected[1]) and np.array_equal(got[2], expected[2])
    stats = cache.cache_stats()["wirings"]
    assert (stats["hits"], stats["misses"]) == (1, 1)


def test_a_wiring_without_a_seed_is_never_cached():
    scenario = CoalitionModel(rng=1).coalition
    cache.clear_caches()
    with cache.caching():
        build_network(scenario, "production-web", None, None)
    assert cache.cache_stats()["wirings"]["entries"] == 0


def test_betweenness_is_keyed_on_the_links_themselves():
    net = wire_network(CoalitionModel(rng=2).coalition, "production-web", None, 2)
    firm_links = net.slot_firm[net.link_slot] >= 0
    suppliers = net.link_supplier[firm_links]
    buyers = net.slot_firm[net.link_slot[firm_links]]
    store = cache.CentralityCache()
    first = store(betweenness, net.n_firms, suppliers, buyers)
    assert np.array_equal(first, betweenness(net.n_firms, suppliers, buyers))
    first[:] = -1  # the caller's copy: the cache's own is untouched
    rewired = suppliers.copy()
    rewired[0] = (rewired[0] + 1) % net.n_firms
    moved = store(betweenness, net.n_firms, rewired, buyers)
    assert np.array_equal(moved, betweenness(net.n_firms, rewired, buyers))
    again = store(betweenness, net.n_firms, suppliers, buyers)
    assert np.array_equal(again, betweenness(net.n_firms, suppliers, buyers))
    assert (store.store.hits, store.store.misses) == (1, 2)


def test_the_cache_is_bounded_by_bytes():
    store = cache.LRU(max_bytes=100)
    for key in range(5):
        store.put(key, key, 30)
    assert len(store) == 3 and store.bytes == 90
    assert store.get(0) is None and store.get(4) == 4
    store.put("huge", "x", 1000)  # larger than the whole cache: not kept
    assert store.get("huge") is None


def test_a_copy_shares_no_array_with_the_cached_wiring():
    net = CoalitionModel(rng=4).network
    twin = cache.fresh_copy(net)
    for field in dataclasses.fields(net):
        value = getattr(net, field.name)
        if isinstance(value, np.ndarray):
            assert not np.shares_memory(value, getattr(twin, field.name)), field.name
    for name, value in vars(net.firms).items():
        if isinstance(value, np.ndarray):
            assert not np.shares_memory(value, getattr(twin.firms, name)), name
