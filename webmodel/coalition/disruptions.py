"""Disruptions: what goes down, when, and how it comes back.

A disruption takes capacity away (firms down) or closes trade (links across a border shut).
It starts in week ``start``, lasts ``duration`` weeks, then recovers either at once
("instant") or linearly over ``recovery_weeks`` ("linear"). Disruptions are scheduled as Mesa
events on the model (``CoalitionModel.add_disruption``); the model turns the active ones into the
engine's per-firm ``availability`` and per-link ``open`` arrays, so the weekly step stays
vectorised.

On the command line a disruption is written ``KIND[:TARGET]@START+DURATION[~RAMP][:s=SEVERITY]``:

=========================  ============================================================
``random:0.2@10+8``        a random 20 % of firms down for 8 weeks from week 10
``targeted:0.1@10+8``      the 10 % most central firms (degree); ``targeted:0.1:betweenness``
``assembly:USA@12+8``      every end-item assembler located in USA
``state:KOR@10+20``        KOR cut off: nothing crosses its borders (blockade, political)
``product:tnt@10+8``       every TNT producer (``product:tnt:KOR`` for those in KOR only)
``firm:KOR-tnt-1@10+8``    one named firm (its id, as in ``webmodel`` network exports)
``cyber:0.3@10+4``         IT vendors serving ~30 % of firms hit; each of their firms goes
                           down unless its state's cyber hardening protects it
``border:USA-KOR@10+12``   an export-licensing freeze between USA and KOR
``...@10+8~6``             any of the above, recovering linearly over 6 weeks
``...@10+8:s=0.3``         a firm disruption that removes 30 % of each hit firm's capacity
=========================  ============================================================

Severity ``s`` (0 < s <= 1, default 1 = the whole firm down) is the share of capacity a firm
disruption removes while it lasts; a linear recovery then gives the lost share back in equal
steps. Trade closures have no severity: a border is shut or open.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from webmodel.core.model import CoalitionModel

KINDS = ("random", "targeted", "assembly", "state", "product", "firm", "cyber", "border")
FIRM_KINDS = ("random", "targeted", "assembly", "product", "firm", "cyber")
LINK_KINDS = ("state", "border")
CENTRALITIES = ("degree", "betweenness")

FORMS = """accepted forms (KIND[:TARGET]@START+DURATION[~RAMP][:s=SEVERITY]):
  random:FRACTION@START+DURATION             e.g. random:0.2@10+8
  targeted:FRACTION[:degree|betweenness]@START+DURATION
  assembly:STATE@START+DURATION              e.g. assembly:USA@12+8
  state:STATE@START+DURATION                 e.g. state:KOR@10+20
  product:PRODUCT[:STATE]@START+DURATION     e.g. product:tnt@10+8, product:tnt:KOR@10+8
  firm:FIRM_ID@START+DURATION                e.g. firm:KOR-tnt-1@10+8
  cyber:FRACTION@START+DURATION              e.g. cyber:0.3@10+4
  border:STATE-STATE@START+DURATION          e.g. border:USA-KOR@10+12
  add ~RAMP for a linear recovery over RAMP weeks, e.g. assembly:USA@12+8~6
  add :s=SEVERITY (0 < s <= 1, default 1) to a firm disruption for the share of capacity
      lost, e.g. product:tnt:KOR@10+8:s=0.5 or random:0.1@20+10~4:s=0.3"""


class DisruptionError(ValueError):
    """A disruption spec is malformed or names something that does not exist."""

    def __init__(self, problem: str) -> None:
        super().__init__(f"{problem}\n{FORMS}")


@dataclass(frozen=True)
class Disruption:
    """One shock. ``target`` depends on ``kind`` (see the module docstring)."""

    kind: str
    target: str | None = None
    start: int = 10
    duration: int = 8
    recovery: str = "instant"
    recovery_weeks: int = 0
    severity: float = 1.0  # share of each hit firm's capacity lost while down (firm kinds)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise DisruptionError(f"unknown disruption kind {self.kind!r}")
        if self.start < 1:
            raise DisruptionError(f"start must be a week >= 1, got {self.start}")
        if self.duration < 1:
            raise DisruptionError(f"duration must be >= 1 week, got {self.duration}")
        if self.recovery not in ("instant", "linear"):
            raise DisruptionError(f"recovery must be instant or linear, got {self.recovery!r}")
        if self.recovery == "linear" and self.recovery_weeks < 1:
            raise DisruptionError("a linear recovery needs recovery_weeks >= 1")
        severity = self.severity
        if isinstance(severity, bool) or not isinstance(severity, int | float):
            raise DisruptionError(f"severity must be a number in (0, 1], got {severity!r}")
        if not 0 < severity <= 1:
            raise DisruptionError(f"severity must be in (0, 1], got {severity}")
        if severity != 1 and self.kind not in FIRM_KINDS:
            raise DisruptionError(
                f"{self.kind}: severity applies to firm disruptions only (a trade closure is "
                "shut or open)"
            )
        if self.kind in ("random", "targeted", "cyber"):
            share = self.target.split(":")[0] if self.target else ""
            try:
                value = float(share)
            except ValueError:
                raise DisruptionError(
                    f"{self.kind}: target must be a fraction in (0, 1], got {self.target!r}"
                ) from None
            if not 0 < value <= 1:
                raise DisruptionError(f"{self.kind}: fraction must be in (0, 1], got {value}")
            if self.kind == "targeted" and ":" in (self.target or ""):
                measure = self.target.split(":", 1)[1]
                if measure not in CENTRALITIES:
                    raise DisruptionError(
                        f"targeted: centrality must be one of {', '.join(CENTRALITIES)}, "
                        f"got {measure!r}"
                    )
        elif not self.target:
            raise DisruptionError(f"{self.kind}: a target is required")

    @property
    def end(self) -> int:
        """First week after the outage (recovery starts)."""
        return self.start + self.duration

    def level(self, week: int) -> float:
        """Share of the hit capacity (or trade) left in ``week``: 1 - severity while down, then
        back up to 1 (at once, or the lost share returning in equal steps)."""
        if week < self.start:
            return 1.0
        if week < self.end:
            return 1.0 - self.severity
        if self.recovery == "instant":
            return 1.0
        back = min(1.0, (week - self.end + 1) / self.recovery_weeks)
        return 1.0 - self.severity * (1.0 - back)

    @property
    def change_weeks(self) -> list[int]:
        """Weeks in which the level changes (the model schedules an event before each)."""
        last = self.end + (self.recovery_weeks if self.recovery == "linear" else 1)
        return [self.start, *range(self.end, last)]

    @property
    def spec(self) -> str:
        text = f"{self.kind}:{self.target}" if self.target else self.kind
        text += f"@{self.start}+{self.duration}"
        text += f"~{self.recovery_weeks}" if self.recovery == "linear" else ""
        return text + (f":s={self.severity:g}" if self.severity != 1 else "")


_SPEC = re.compile(
    r"^(?P<body>[^@]+)@(?P<start>\d+)\+(?P<duration>\d+)(?:~(?P<ramp>\d+))?"
    r"(?::s=(?P<severity>[0-9.eE+-]+))?$"
)


def parse_disruption(spec: str) -> Disruption:
    """Parse ``KIND[:TARGET]@START+DURATION[~RAMP][:s=SEVERITY]`` (see the module docstring)."""
    match = _SPEC.match(spec.strip())
    if not match:
        raise DisruptionError(f"malformed disruption {spec!r}")
    kind, _, target = match["body"].partition(":")
    ramp = match["ramp"]
    try:
        severity = float(match["severity"]) if match["severity"] else 1.0
    except ValueError:
        raise DisruptionError(
            f"severity must be a number in (0, 1], got {match['severity']!r}"
        ) from None
    return Disruption(
        kind=kind,
        target=target or None,
        start=int(match["start"]),
        duration=int(match["duration"]),
        recovery="linear" if ramp else "instant",
        recovery_weeks=int(ramp) if ramp else 0,
        severity=severity,
    )


@dataclass(frozen=True)
class ScheduledDisruption:
    """A disruption added to a model, with what it hits resolved (firm or link indices)."""

    disruption: Disruption
    firms: np.ndarray | None = None  # firm indices taken down
    links: np.ndarray | None = None  # link indices (network order) closed

    @classmethod
    def resolve(cls, disruption: Disruption, model: CoalitionModel) -> ScheduledDisruption:
        """Draw the firms hit now; for trade closures, check the target (links are found
        each week, so that links made by re-sourcing are closed too)."""
        if disruption.kind in FIRM_KINDS:
            return cls(disruption, firms=firms_hit(disruption, model))
        return cls(disruption, links=links_hit(disruption, model))


# --- what a disruption hits --------------------------------------------------------------------


def firms_hit(disruption: Disruption, model: CoalitionModel) -> np.ndarray:
    """Indices of the firms a firm-level disruption takes down (drawn once, when it is added)."""
    net = model.network
    codes = net.state_codes
    kind, target = disruption.kind, disruption.target or ""
    n = net.n_firms
    if kind == "random":
        count = round(float(target) * n)
        return np.sort(model.event_rng.choice(n, size=count, replace=False))
    if kind == "targeted":
        share, _, measure = target.partition(":")
        score = centrality(model, measure or "degree")
        count = round(float(share) * n)
        # Most central first; ties broken by firm index so the choice is reproducible.
        return np.sort(np.lexsort((np.arange(n), -score))[:count])
    if kind == "assembly":
        _check_state(target, codes)
        state = codes.index(target)
        assemblers = np.isin(net.firms.product, model.bom.end_items)
        return np.flatnonzero(assemblers & (net.firms.state == state))
    if kind == "product":
        product, _, state = target.partition(":")
        if product not in net.product_names:
            raise DisruptionError(
                f"product: unknown product {product!r} (known: {', '.join(net.product_names)})"
            )
        makers = net.firms.product == net.product_names.index(product)
        if state:
            _check_state(state, codes)
            makers &= net.firms.state == codes.index(state)
        return np.flatnonzero(makers)
    if kind == "firm":
        return np.array([_firm_index(target, net.firms.name)], dtype=np.int64)
    if kind == "cyber":
        return _cyber_victims(model, float(target))
    raise DisruptionError(f"{kind} does not take firms down")


def links_hit(disruption: Disruption, model: CoalitionModel) -> np.ndarray:
    """Indices (network order) of the supplier links a trade disruption closes."""
    net = model.network
    codes = net.state_codes
    seller = net.firms.state[net.link_supplier]
    buyer = net.link_buyer_state
    crossing = seller != buyer
    if disruption.kind == "state":
        _check_state(disruption.target, codes)
        s = codes.index(disruption.target)
        return np.flatnonzero(crossing & ((seller == s) | (buyer == s)))
    if disruption.kind == "border":
        parts = (disruption.target or "").split("-")
        if len(parts) != 2 or parts[0] == parts[1]:
            raise DisruptionError(f"border: target must be STATE-STATE, got {disruption.target!r}")
        for code in parts:
            _check_state(code, codes)
        a, b = (codes.index(c) for c in parts)
        return np.flatnonzero(((seller == a) & (buyer == b)) | ((seller == b) & (buyer == a)))
    raise DisruptionError(f"{disruption.kind} does not close trade links")


def centrality(model: CoalitionModel, measure: str) -> np.ndarray:
    """Centrality of every firm in the supplier network (degree, or betweenness)."""
    net = model.network
    firm_links = net.slot_firm[net.link_slot] >= 0
    suppliers = net.link_supplier[firm_links]
    buyers = net.slot_firm[net.link_slot[firm_links]]
    if measure == "degree":
        sold = np.bincount(net.link_supplier, minlength=net.n_firms)
        bought = np.bincount(buyers, minlength=net.n_firms)
        return (sold + bought).astype(float)
    if _centrality_cache is not None:
        return _centrality_cache(betweenness, net.n_firms, suppliers, buyers)
    return betweenness(net.n_firms, suppliers, buyers)


def betweenness(n_firms: int, suppliers: np.ndarray, buyers: np.ndarray) -> np.ndarray:
    """Betweenness of every firm in the undirected supplier graph: a pure function of the
    links, so a sweep may cache it (it is most of a targeted-attack run's time)."""
    import networkx as nx  # here, not at module level: networkx costs 0.5 s of start-up

    graph = nx.Graph()
    graph.add_nodes_from(range(n_firms))
    graph.add_edges_from(zip(suppliers.tolist(), buyers.tolist(), strict=True))
    # Exact up to 2,000 firms; sampled (seeded) beyond, where exact takes minutes.
    k = None if n_firms <= 2000 else 500
    scores = nx.betweenness_centrality(graph, k=k, seed=0)
    return np.array([scores[i] for i in range(n_firms)])


# A cache a sweep installs (webmodel.analysis.sweep.cache): called as
# ``cache(betweenness, n_firms, suppliers, buyers)``, it returns what betweenness would.
_centrality_cache: Callable[..., np.ndarray] | None = None


def set_centrality_cache(
    cache: Callable[..., np.ndarray] | None,
) -> Callable[..., np.ndarray] | None:
    """Route betweenness through ``cache`` (None: compute every time); returns the previous."""
    global _centrality_cache
    previous, _centrality_cache = _centrality_cache, cache
    return previous


def _cyber_victims(model: CoalitionModel, share: float) -> np.ndarray:
    """Firms of the IT vendors hit, each spared with its state's cyber-hardening probability."""
    vendor = model.it_vendor
    rng = model.event_rng
    order = rng.permutation(vendor.max() + 1)
    hit = np.zeros(len(vendor), dtype=bool)
    for v in order:  # vendors in random order until they serve the share of firms
        if hit.mean() >= share:
            break
        hit |= vendor == v
    hardening = model.cyber_hardening[model.network.firms.state]
    spared = rng.random(len(vendor)) < hardening
    return np.flatnonzero(hit & ~spared)


def _firm_index(name: str, names: list[str]) -> int:
    """The index of the firm called ``name`` (e.g. "KOR-tnt-1"); a clear error otherwise."""
    try:
        return names.index(name)
    except ValueError:
        close = difflib.get_close_matches(name, names, n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise DisruptionError(
            f"firm: unknown firm {name!r}{hint}; firm ids are STATE-PRODUCT-N, e.g. {names[0]}"
        ) from None


def _check_state(code: str | None, codes: list[str]) -> None:
    if code not in codes:
        raise DisruptionError(f"unknown state {code!r} (states: {', '.join(codes)})")
