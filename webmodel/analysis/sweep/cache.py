"""Reuse within a worker what many runs of a sweep share: their wiring and its betweenness.

A sweep's runs often differ only in what happens on a network, not in the network: every level
of ``surge`` or ``disruptions`` of a replicate (common seeds) wires the same firms the same way,
and a targeted attack ranks the same firms by the same betweenness. Building a wiring is 13-30 %
of a run; betweenness is most of a targeted-attack run. Both are pure functions of their
inputs, so they are kept in bounded least-recently-used caches, keyed on **exactly** those
inputs, and a hit returns what computing afresh would:

- a wiring (:func:`webmodel.coalition.topology.build_network`) is keyed on the whole scenario as
  the model passes it (already scaled to ``firms``, with every parameter override and lever
  applied: web_home_bias, suppliers_per_input, contracting, coproduction_share, platforms,
  wiring_noise, border_delay, capacity_headroom... and the scenario's firms, demand, borders and
  disruptions), the topology, web_ness, and the random stream's full state. Parameters that do
  not change the wiring are in the key too: a sweep over them rebuilds each wiring, never
  reuses a wrong one. A hit leaves the random stream exactly where building would have left it.
  Each run gets its own deep copy, since re-sourcing rewires a model's network;
- betweenness (:func:`webmodel.coalition.disruptions.betweenness`) is keyed on the links
  themselves (firm count, and the bytes of the supplier and buyer of every link, in order), so
  it is right for a rewired network too.

The caches live in the process (a worker keeps them across its chunks) and are used only
inside :func:`caching`; a sweep run with ``cache=False`` computes everything every time
(a test checks both give identical results).
"""

from __future__ import annotations

import copy
import hashlib
import pickle
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from webmodel.coalition import disruptions, topology
from webmodel.coalition.network import Network
from webmodel.coalition.scenario import Scenario

WIRING_BYTES = 256 * 2**20  # per process: ~4,000 default-size wirings, ~60 of 10,000 firms
CENTRALITY_BYTES = 64 * 2**20


class LRU:
    """A least-recently-used map bounded by the bytes of its values (thread-safe)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        self._items: OrderedDict[Any, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return item[0]

    def put(self, key: Any, value: Any, size: int) -> None:
        if size > self.max_bytes:
            return
        with self._lock:
            if key in self._items:
                return
            self._items[key] = (value, size)
            self.bytes += size
            while self.bytes > self.max_bytes:
                _, (_, dropped) = self._items.popitem(last=False)
                self.bytes -= dropped

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.bytes = self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._items)


def _frozen(value: Any) -> Any:
    """A hashable form of a bit generator's state (nested dicts of ints and arrays)."""
    if isinstance(value, dict):
        return tuple((k, _frozen(v)) for k, v in sorted(value.items()))
    if isinstance(value, np.ndarray):
        return (value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    return value


def _stream_key(rng: Any) -> tuple | None:
    """What determines every draw ``rng`` will make and every child it will spawn; None if
    unknown (no seed: fresh entropy, nothing to reuse)."""
    if isinstance(rng, int | np.integer) and not isinstance(rng, bool):
        return ("seed", int(rng))
    if not isinstance(rng, np.random.Generator):
        return None
    bits = rng.bit_generator
    sequence = getattr(bits, "seed_seq", None)
    if not isinstance(sequence, np.random.SeedSequence):
        return None
    return (
        type(bits).__name__,
        _frozen(bits.state),
        _frozen(sequence.entropy),
        tuple(sequence.spawn_key),
        sequence.pool_size,
        sequence.n_children_spawned,
    )


def _scenario_key(scenario: Scenario) -> bytes:
    """The scenario's whole content (pickled: any difference, even one that cannot change the
    wiring, is a different key)."""
    return hashlib.blake2b(pickle.dumps(scenario, protocol=5), digest_size=20).digest()


def fresh_copy(network: Network) -> Network:
    """A copy sharing nothing mutable with ``network`` (the scenario is frozen: shared)."""
    twin = copy.copy(network)
    for name, value in vars(network).items():
        if not isinstance(value, Scenario | str | int | float | bool | None):
            setattr(twin, name, copy.deepcopy(value))
    return twin


def _network_bytes(network: Network) -> int:
    arrays = [*vars(network).values(), *vars(network.firms).values()]
    names = sum(len(n) + 50 for n in network.firms.name)
    return sum(a.nbytes for a in arrays if isinstance(a, np.ndarray)) + names + 2000


class WiringCache:
    """Wirings by (scenario, topology, web_ness, random stream): the hook
    :func:`webmodel.coalition.topology.set_wiring_cache` takes."""

    def __init__(self, max_bytes: int = WIRING_BYTES) -> None:
        self.store = LRU(max_bytes)

    def __call__(
        self,
        wire: Callable[..., Network],
        scenario: Scenario,
        topology_name: str | None,
        web_ness: float | None,
        rng: Any,
    ) -> Network:
        stream = _stream_key(rng)
        if stream is None:
            return wire(scenario, topology_name, web_ness, rng)
        key = (_scenario_key(scenario), topology_name, web_ness, stream)
        hit = self.store.get(key)
        if hit is not None:
            network, state_after, spawned = hit
            if isinstance(rng, np.random.Generator):  # leave it as building would have
                rng.bit_generator.state = state_after
                if spawned:
                    rng.spawn(spawned)
            return fresh_copy(network)
        spawned_before = _spawned(rng)
        network = wire(scenario, topology_name, web_ness, rng)
        state_after = rng.bit_generator.state if isinstance(rng, np.random.Generator) else None
        spawned = _spawned(rng) - spawned_before
        # The built one is kept untouched; the run gets a copy, as it does on a hit.
        self.store.put(key, (network, state_after, spawned), _network_bytes(network))
        return fresh_copy(network)


def _spawned(rng: Any) -> int:
    if isinstance(rng, np.random.Generator):
        return rng.bit_generator.seed_seq.n_children_spawned
    return 0


class CentralityCache:
    """Betweenness by the links it is computed on: the hook
    :func:`webmodel.coalition.disruptions.set_centrality_cache` takes."""

    def __init__(self, max_bytes: int = CENTRALITY_BYTES) -> None:
        self.store = LRU(max_bytes)

    def __call__(
        self,
        compute: Callable[..., np.ndarray],
        n_firms: int,
        suppliers: np.ndarray,
        buyers: np.ndarray,
    ) -> np.ndarray:
        digest = hashlib.blake2b(digest_size=20)
        for links in (suppliers, buyers):
            links = np.ascontiguousarray(links)
            digest.update(f"{links.dtype.str}{links.shape}".encode())
            digest.update(links.tobytes())
        key = (compute.__module__, compute.__qualname__, int(n_firms), digest.digest())
        scores = self.store.get(key)
        if scores is None:
            scores = compute(n_firms, suppliers, buyers)
            self.store.put(key, scores.copy(), scores.nbytes + 200)
        return scores.copy()


# One pair per process: a worker keeps them across the chunks it runs.
PROCESS_WIRINGS = WiringCache()
PROCESS_BETWEENNESS = CentralityCache()
_installed = 0
_install_lock = threading.Lock()


@contextmanager
def caching(enabled: bool = True) -> Iterator[None]:
    """Within this block, wirings and betweenness are reused from this process's caches
    (``enabled=False``: computed every time, as outside it). Re-entrant and thread-safe: the
    hooks stay installed while any block is open, so in a worker running chunks on several
    threads a chunk with ``enabled=False`` may still reuse (the results are the same)."""
    global _installed
    if not enabled:
        yield
        return
    with _install_lock:
        if _installed == 0:
            topology.set_wiring_cache(PROCESS_WIRINGS)
            disruptions.set_centrality_cache(PROCESS_BETWEENNESS)
        _installed += 1
    try:
        yield
    finally:
        with _install_lock:
            _installed -= 1
            if _installed == 0:
                topology.set_wiring_cache(None)
                disruptions.set_centrality_cache(None)


def cache_stats() -> dict[str, dict[str, int]]:
    """Hits, misses, entries and bytes of this process's caches (for tests and profiling)."""
    return {
        name: {"hits": c.store.hits, "misses": c.store.misses, "entries": len(c.store),
               "bytes": c.store.bytes}
        for name, c in (("wirings", PROCESS_WIRINGS), ("centralities", PROCESS_BETWEENNESS))
    }  # fmt: skip


def clear_caches() -> None:
    """Forget every cached wiring and betweenness (and the counts) in this process."""
    PROCESS_WIRINGS.store.clear()
    PROCESS_BETWEENNESS.store.clear()
