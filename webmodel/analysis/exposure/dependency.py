"""Dependency map: where a state's end items and their inputs come from, tier by tier.

The map traces the equilibrium (no-shock) flows of a wired network. Start from a *root*:

* ``consumes``: a state's final demand for an end item (tier 0 = the end items delivered to it);
* ``makes``: the state's own assemblers of an end item (tier 0 = their output).

Each firm reached at tier t is charged the part of its output the root uses; its input slots
then ask their suppliers, by order weight, for ``coefficient x that part``: tier t + 1. This is
the proportional (Leontief-style) attribution of every unit in the supply tree to the root, so
a product that enters at two tiers is counted at each. A unit is *foreign* when its maker sits
outside the state; its *value* is units x the maker's unit cost.

Chokepoints are products made by few firms (:data:`CHOKEPOINT_FIRMS` or fewer) or in one state
only, or declared ``chokepoint = true`` in the scenario.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from webmodel.coalition.network import Network

CHOKEPOINT_FIRMS = 3  # a product made by this many firms or fewer is a chokepoint
DEPENDENCY_ROLES = ("consumes", "makes")
FLOW_TOLERANCE = 1e-12  # flows below this (units per week) are treated as none


@dataclass(frozen=True)
class Chokepoint:
    """A product that few firms or a single state make."""

    product: str
    n_firms: int
    n_states: int
    top_state: str
    top_state_share: float  # of the product's capacity
    declared: bool  # flagged ``chokepoint = true`` in the scenario
    reasons: tuple[str, ...]


@dataclass
class Flows:
    """One root's traced flows, aggregated by tier, product and the makers' state."""

    topology: str
    state: str
    role: str
    end_item: str
    tier: np.ndarray  # int
    product: np.ndarray  # int, product index
    source: np.ndarray  # int, state index of the makers
    units: np.ndarray  # float, units per week
    value: np.ndarray  # float, units x unit cost per week


@dataclass
class DependencyMap:
    """Every root of every state in one wiring, and the wiring's chokepoints."""

    topology: str
    states: list[str]
    products: list[str]
    end_items: list[str]
    flows: list[Flows]
    chokepoints: dict[str, Chokepoint]
    bom: np.ndarray  # bill of materials: units of input (column) per unit of product (row)
    firm_inputs: dict[str, dict[str, float]] = field(default_factory=dict)

    def of(self, state: str, role: str, end_item: str) -> Flows | None:
        for f in self.flows:
            if (f.state, f.role, f.end_item) == (state, role, end_item):
                return f
        return None


def chokepoints(network: Network) -> dict[str, Chokepoint]:
    """The products few firms or one state make (by capacity in this wiring)."""
    names, codes = network.product_names, network.state_codes
    firms = network.firms
    out: dict[str, Chokepoint] = {}
    for p, name in enumerate(names):
        makers = np.flatnonzero(firms.product == p)
        capacity = np.bincount(firms.state[makers], firms.capacity[makers], minlength=len(codes))
        n_states = int(np.count_nonzero(capacity > 0))
        top = int(np.argmax(capacity))
        total = capacity.sum()
        declared = bool(network.scenario.products[p].chokepoint)
        reasons = []
        if len(makers) <= CHOKEPOINT_FIRMS:
            reasons.append(f"{len(makers)} firm{'s' if len(makers) != 1 else ''}")
        if n_states == 1:
            reasons.append(f"made only in {codes[top]}")
        if declared:
            reasons.append("declared in the scenario")
        if reasons:
            out[name] = Chokepoint(
                name,
                len(makers),
                n_states,
                codes[top],
                float(capacity[top] / total) if total > 0 else 0.0,
                declared,
                tuple(reasons),
            )
    return out


def trace(network: Network, state: int, role: str, end_item: int) -> Flows | None:
    """The supply tree of one root (see the module docstring); None if the root has no flow."""
    firms = network.firms
    n_states = len(network.state_codes)
    n_products = len(network.product_names)
    firm_links = np.flatnonzero(network.slot_firm[network.link_slot] >= 0)
    buyer = network.slot_firm[network.link_slot[firm_links]]
    coef = network.slot_coef[network.link_slot[firm_links]]
    weight = network.link_weight[firm_links]
    supplier = network.link_supplier[firm_links]
    records: list[tuple[int, np.ndarray, np.ndarray]] = []  # (tier, units by key, value by key)

    def record(tier: int, who: np.ndarray, units: np.ndarray) -> None:
        key = firms.product[who] * n_states + firms.state[who]
        size = n_products * n_states
        records.append(
            (
                tier,
                np.bincount(key, units, minlength=size),
                np.bincount(key, units * firms.unit_cost[who], minlength=size),
            )
        )

    if role == "consumes":
        slots = np.flatnonzero(
            (network.slot_firm < 0)
            & (network.slot_state == state)
            & (network.slot_product == end_item)
        )
        if len(slots) == 0:
            return None
        need = network.baseline_demand[slots - network.n_firm_slots]
        links = np.flatnonzero(np.isin(network.link_slot, slots))
        slot_need = dict(zip(slots.tolist(), need.tolist(), strict=True))
        units = network.link_weight[links] * np.array(
            [slot_need[s] for s in network.link_slot[links].tolist()]
        )
        record(0, network.link_supplier[links], units)
        part = np.bincount(network.link_supplier[links], units, minlength=network.n_firms)
    elif role == "makes":
        makers = (firms.product == end_item) & (firms.state == state)
        part = np.where(makers, network.baseline_output, 0.0)
        who = np.flatnonzero(part > FLOW_TOLERANCE)
        if len(who) == 0:
            return None
        record(0, who, part[who])
    else:
        raise ValueError(f"role must be one of {', '.join(DEPENDENCY_ROLES)}, got {role!r}")

    for tier in range(1, n_products + 1):
        units = weight * coef * part[buyer]
        if not np.any(units > FLOW_TOLERANCE):
            break
        record(tier, supplier, units)
        part = np.bincount(supplier, units, minlength=network.n_firms)

    tiers, products, sources, unit_rows, value_rows = [], [], [], [], []
    for tier, units, value in records:
        keys = np.flatnonzero(units > FLOW_TOLERANCE)
        tiers.append(np.full(len(keys), tier))
        products.append(keys // n_states)
        sources.append(keys % n_states)
        unit_rows.append(units[keys])
        value_rows.append(value[keys])
    return Flows(
        topology=network.topology,
        state=network.state_codes[state],
        role=role,
        end_item=network.product_names[end_item],
        tier=np.concatenate(tiers),
        product=np.concatenate(products),
        source=np.concatenate(sources),
        units=np.concatenate(unit_rows),
        value=np.concatenate(value_rows),
    )


def firm_input_shares(network: Network) -> dict[str, dict[str, float]]:
    """Per state: share of its firms' direct input units (and value) bought from abroad."""
    flow = network.baseline_link_flow()
    to_firm = network.slot_firm[network.link_slot] >= 0
    buyer_state = network.link_buyer_state
    foreign = network.link_cross_border
    cost = network.firms.unit_cost[network.link_supplier]
    out = {}
    for s, code in enumerate(network.state_codes):
        mine = to_firm & (buyer_state == s)
        units, value = flow[mine].sum(), (flow * cost)[mine].sum()
        out[code] = {
            "units": float(units),
            "foreign_unit_share": float(flow[mine & foreign].sum() / units) if units else 0.0,
            "foreign_value_share": (
                float((flow * cost)[mine & foreign].sum() / value) if value else 0.0
            ),
        }
    return out


def dependency_map(network: Network, states: list[str] | None = None) -> DependencyMap:
    """Trace every root (both roles, every end item) of the given states (default: all)."""
    codes, names = network.state_codes, network.product_names
    end_items = [int(p) for p in network.scenario.bom().end_items]
    flows = []
    for code in states or codes:
        for role in DEPENDENCY_ROLES:
            for item in end_items:
                traced = trace(network, codes.index(code), role, item)
                if traced is not None:
                    flows.append(traced)
    return DependencyMap(
        topology=network.topology,
        states=list(codes),
        products=list(names),
        end_items=[names[p] for p in end_items],
        flows=flows,
        chokepoints=chokepoints(network),
        bom=network.scenario.bom().coefficients,
        firm_inputs=firm_input_shares(network),
    )


# --- summaries -----------------------------------------------------------------------------


def tier_rows(dmap: DependencyMap, flows: Flows) -> list[dict]:
    """One row per tier of a root: units, foreign shares, foreign sources and chokepoints."""
    home = dmap.states.index(flows.state)
    rows = []
    for tier in np.unique(flows.tier):
        at = flows.tier == tier
        foreign = at & (flows.source != home)
        units, value = flows.units[at].sum(), flows.value[at].sum()
        by_source = np.bincount(flows.source[foreign], flows.units[foreign], len(dmap.states))
        sources = {
            dmap.states[s]: float(by_source[s] / units)
            for s in np.argsort(-by_source, kind="stable")
            if by_source[s] > FLOW_TOLERANCE
        }
        products = [dmap.products[p] for p in dict.fromkeys(flows.product[at].tolist())]
        chokes = []
        for name in products:
            if name in dmap.chokepoints:
                p = dmap.products.index(name)
                mine = at & (flows.product == p)
                share = flows.units[mine & (flows.source != home)].sum() / flows.units[mine].sum()
                chokes.append({"product": name, "foreign_unit_share": float(share)})
        rows.append(
            {
                "tier": int(tier),
                "products": products,
                "units": float(units),
                "foreign_unit_share": float(flows.units[foreign].sum() / units),
                "foreign_value_share": float(flows.value[foreign].sum() / value) if value else 0.0,
                "foreign_sources": sources,
                "chokepoints": chokes,
            }
        )
    return rows


def state_product_shares(dmap: DependencyMap, role: str = "consumes") -> np.ndarray:
    """States x products: share of a product's units in the state's supply trees (all its end
    items, all tiers) made abroad; NaN where the product does not enter them."""
    n_s, n_p = len(dmap.states), len(dmap.products)
    total = np.zeros((n_s, n_p))
    foreign = np.zeros((n_s, n_p))
    for f in dmap.flows:
        if f.role != role:
            continue
        s = dmap.states.index(f.state)
        total[s] += np.bincount(f.product, f.units, n_p)
        foreign[s] += np.bincount(f.product, f.units * (f.source != s), n_p)
    return np.divide(foreign, total, out=np.full_like(total, np.nan), where=total > FLOW_TOLERANCE)


def state_report(maps: list[DependencyMap], state: str) -> dict:
    """Everything the ``exposure`` command shows for one state, for each wiring: a plain dict
    (JSON-ready)."""
    out: dict = {"state": state, "wirings": {}, "chokepoints": {}}
    for dmap in maps:
        roots = []
        for f in dmap.flows:
            if f.state == state:
                roots.append({"role": f.role, "end_item": f.end_item, "tiers": tier_rows(dmap, f)})
        out["wirings"][dmap.topology] = {
            "firm_inputs": dmap.firm_inputs.get(state, {}),
            "roots": roots,
        }
        out["chokepoints"][dmap.topology] = [asdict(c) for c in dmap.chokepoints.values()]
    return out


def flows_table_columns(maps: list[DependencyMap]) -> dict[str, list]:
    """Every traced flow of every map as columns (for Parquet): one row per topology, state,
    role, end item, tier, product and source state."""
    cols: dict[str, list] = {
        k: []
        for k in (
            "topology",
            "state",
            "role",
            "end_item",
            "tier",
            "product",
            "source_state",
            "foreign",
            "chokepoint",
            "units",
            "value",
        )
    }
    for dmap in maps:
        for f in dmap.flows:
            home = dmap.states.index(f.state)
            for t, p, s, u, v in zip(f.tier, f.product, f.source, f.units, f.value, strict=True):
                cols["topology"].append(f.topology)
                cols["state"].append(f.state)
                cols["role"].append(f.role)
                cols["end_item"].append(f.end_item)
                cols["tier"].append(int(t))
                cols["product"].append(dmap.products[p])
                cols["source_state"].append(dmap.states[s])
                cols["foreign"].append(bool(s != home))
                cols["chokepoint"].append(dmap.products[p] in dmap.chokepoints)
                cols["units"].append(float(u))
                cols["value"].append(float(v))
    return cols
