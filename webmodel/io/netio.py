"""Export a wired :class:`Network` to GraphML / node-link JSON, and read one back.

Exporting lets a network be inspected in graph tools (Gephi, yEd, networkx); reading lets a user
run the model on a supply web they wired themselves, or edited, instead of one built by
:mod:`webmodel.coalition.topology`. The file only says *who exists and who buys from whom*: the
scenario it is read against still supplies the bill of materials, the states and their demand, lead
times, border delays and behavioural parameters.

Graph layout (what :func:`network_to_graph` writes and :func:`read_network` expects):

* firm nodes: id = firm name; ``kind="firm"``, ``product``, ``state`` (where it produces),
  ``capacity`` (units/week) required; ``home_state`` (default ``state``) and ``unit_cost``
  (default 1.0) optional; ``tier`` and ``baseline_output`` are informative and ignored on reading;
* state nodes: id ``"state:USA"``, ``kind="state"``, ``state="USA"`` - the final buyers;
* edges supplier -> buyer: ``weight`` (order share; normalised per buyer slot on reading,
  default 1.0), ``lead_time`` (weeks; default product lead time + border delay), ``product`` and
  ``baseline_flow`` (informative; ``product`` is checked against the supplier if given).
"""

from __future__ import annotations

import json
import math
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from webmodel.coalition.network import Firms, Network
from webmodel.coalition.parameters import MAX_FIRMS, MAX_QUANTITY, MAX_WEEKS
from webmodel.coalition.scenario import Scenario, ScenarioError
from webmodel.io.output import temp_beside

SUFFIXES = (".graphml", ".json")
STATE_PREFIX = "state:"
_EDGES_KEY = "edges"  # node-link JSON key written; "links" is accepted too when reading
# The largest network file read (a network of MAX_FIRMS firms written by `webmodel network` is
# a few hundred bytes per firm and link); checked before parsing.
MAX_NETWORK_BYTES = 512 * 2**20
MAX_LEAD = 2 * MAX_WEEKS  # a link's lead time: a product's lead time plus a border delay


# --- export -----------------------------------------------------------------------------------


def _state_node(code: str) -> str:
    return f"{STATE_PREFIX}{code}"


def network_to_graph(network: Network) -> nx.DiGraph:
    """The network as a directed graph supplier -> buyer, with plain Python attribute values.

    Every node carries the same attributes with the same types (state nodes get neutral values)
    because GraphML declares one type per attribute key.
    """
    scenario = network.scenario
    codes = network.state_codes
    names = network.product_names
    tiers = scenario.bom().tiers
    firms = network.firms
    graph = nx.DiGraph(
        topology=str(network.topology),
        web_ness=float(network.web_ness),
        scenario=str(scenario.name),
    )
    for i, name in enumerate(firms.name):
        p = int(firms.product[i])
        graph.add_node(
            name,
            kind="firm",
            state=codes[firms.state[i]],
            home_state=codes[firms.home_state[i]],
            product=names[p],
            tier=int(tiers[p]),
            capacity=float(firms.capacity[i]),
            unit_cost=float(firms.unit_cost[i]),
            baseline_output=float(network.baseline_output[i]),
        )
    for s in sorted({int(s) for s in network.slot_state[network.slot_firm < 0]}):
        graph.add_node(
            _state_node(codes[s]),
            kind="state",
            state=codes[s],
            home_state=codes[s],
            product="",
            tier=-1,
            capacity=0.0,
            unit_cost=0.0,
            baseline_output=0.0,
        )
    flow = network.baseline_link_flow()
    for k in range(network.n_links):
        supplier = int(network.link_supplier[k])
        slot = int(network.link_slot[k])
        buyer_firm = int(network.slot_firm[slot])
        buyer = (
            firms.name[buyer_firm]
            if buyer_firm >= 0
            else _state_node(codes[network.slot_state[slot]])
        )
        graph.add_edge(
            firms.name[supplier],
            buyer,
            weight=float(network.link_weight[k]),
            product=names[firms.product[supplier]],
            lead_time=int(network.link_lead[k]),
            baseline_flow=float(flow[k]),
        )
    return graph


def write_network(network: Network, path: str | Path) -> None:
    """Write the network as GraphML or node-link JSON (chosen by the file suffix).

    The file is written next to its destination and renamed into place, so a reader never sees
    a half-written network, even if writing fails midway.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(
            f"cannot write network to {path}: unknown file type {path.suffix!r} "
            f"(use {' or '.join(SUFFIXES)})"
        )
    graph = network_to_graph(network)
    fd, tmp = temp_beside(path)
    try:
        with os.fdopen(fd, "wb") as fh:
            if suffix == ".graphml":
                nx.write_graphml(graph, fh)
            else:
                data = nx.node_link_data(graph, edges=_EDGES_KEY)
                # JSON has no NaN; a custom network's undefined web_ness is written as null.
                data["graph"] = {
                    k: (None if isinstance(v, float) and math.isnan(v) else v)
                    for k, v in data["graph"].items()
                }
                fh.write(json.dumps(data, indent=1, allow_nan=False).encode())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --- import -----------------------------------------------------------------------------------


def _load_graph(path: Path) -> tuple[nx.Graph | None, list[str]]:
    """Parse the file into a graph, or report why it cannot be parsed."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        return None, [f"{path}: unknown file type {path.suffix!r} (use {' or '.join(SUFFIXES)})"]
    if not path.is_file():
        return None, [f"{path}: no such file"]
    size = path.stat().st_size
    if size > MAX_NETWORK_BYTES:
        return None, [
            f"{path}: {size:,} bytes, over the limit of {MAX_NETWORK_BYTES:,} for a network file"
        ]
    if suffix == ".graphml":
        try:
            return nx.read_graphml(path), []
        except (ET.ParseError, nx.NetworkXError, ValueError, KeyError, TypeError) as err:
            return None, [f"{path}: not valid GraphML ({err})"]
        except RecursionError:
            return None, [f"{path}: not valid GraphML (nested too deeply)"]
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        return None, [f"{path}: not valid JSON ({err})"]
    except RecursionError:
        return None, [f"{path}: not valid JSON (nested too deeply)"]
    if not isinstance(data, dict):
        return None, [f"{path}: a node-link JSON network must be an object with nodes and edges"]
    key = "links" if "links" in data else "edges"
    problems = []
    if not isinstance(data.get("nodes"), list):
        problems.append(f"{path}: nodes: required, a list of node objects with an 'id'")
    if not isinstance(data.get(key), list):
        problems.append(f"{path}: edges: required, a list ('edges' or 'links') of edge objects")
    if problems:
        return None, problems
    ids = [n.get("id") if isinstance(n, dict) else None for n in data["nodes"]]
    for i, node_id in enumerate(ids):
        if node_id is None:
            problems.append(f"nodes[{i}].id: required")
    seen: set[str] = set()
    for node_id in ids:
        if node_id is not None and str(node_id) in seen:
            problems.append(f'node "{node_id}": duplicate node id')
        seen.add(str(node_id))
    for i, e in enumerate(data[key]):
        if not isinstance(e, dict) or "source" not in e or "target" not in e:
            problems.append(f"{key}[{i}]: must be an object with 'source' and 'target'")
        elif str(e["source"]) not in seen or str(e["target"]) not in seen:
            missing = [str(e[k]) for k in ("source", "target") if str(e[k]) not in seen]
            problems.append(
                f'edge "{e["source"]}" -> "{e["target"]}": no node "{missing[0]}" in nodes'
            )
    if problems:
        return None, problems
    try:
        graph = nx.node_link_graph(data, directed=True, multigraph=False, edges=key)
    except (nx.NetworkXError, KeyError, TypeError, ValueError) as err:
        return None, [f"{path}: not a node-link JSON network ({err})"]
    return nx.relabel_nodes(graph, {n: str(n) for n in graph}, copy=True), []


def _number(value: Any) -> float | None:
    """A finite number no larger than MAX_QUANTITY in size, from an int, float or numeric
    string (GraphML keys may be untyped)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, int | float | np.integer | np.floating) and math.isfinite(value):
        return float(value) if abs(value) <= MAX_QUANTITY else None
    return None


_QUANTITY = f"{MAX_QUANTITY:.0e}".replace("e+", "e")


def _is_state_node(node: str, attrs: dict[str, Any]) -> bool:
    kind = attrs.get("kind")
    return kind == "state" or (kind in (None, "") and node.startswith(STATE_PREFIX))


def read_network(path: str | Path, scenario: Scenario) -> Network:
    """Read a GraphML or node-link JSON file as the wiring of ``scenario``.

    Everything is validated before the network is built, and every problem is reported at once
    with the node or edge and the field at fault; then the wiring must sit in equilibrium
    (every input has a supplier, no firm over capacity), as :func:`build_network` demands.
    """
    path = Path(path)
    source = f"network {path}"
    graph, problems = _load_graph(path)
    if graph is None:
        raise ScenarioError(problems, source)
    if not graph.is_directed():
        raise ScenarioError(
            [f"{path}: the graph must be directed (edges go supplier -> buyer)"], source
        )

    firms_in_file = sum(1 for n, a in graph.nodes(data=True) if not _is_state_node(n, a))
    if firms_in_file > MAX_FIRMS:
        raise ScenarioError(
            [f"{path}: {firms_in_file:,} firm nodes, over the limit of {MAX_FIRMS:,}"], source
        )
    bom = scenario.bom()
    codes = scenario.state_codes
    code_index = {c: i for i, c in enumerate(codes)}
    known_states = ", ".join(codes)

    # 1. Nodes: firms (in file order) and state nodes.
    firm_index: dict[str, int] = {}
    state_of_node: dict[str, int] = {}
    names: list[str] = []
    product, state, home, capacity, cost = [], [], [], [], []
    bad_nodes: set[str] = set()
    for node, attrs in graph.nodes(data=True):
        where = f'node "{node}"'
        errors: list[str] = []
        if _is_state_node(node, attrs):
            code = attrs.get("state") or node.removeprefix(STATE_PREFIX)
            if code not in code_index:
                errors.append(f"{where}.state: unknown state {code!r} (known: {known_states})")
            elif code_index[code] in state_of_node.values():
                errors.append(f"{where}.state: a second node for state {code}")
            else:
                state_of_node[node] = code_index[code]
            problems += errors
            if errors:
                bad_nodes.add(node)
            continue
        kind = attrs.get("kind")
        if kind not in (None, "", "firm"):
            errors.append(f'{where}.kind: must be "firm" or "state", got {kind!r}')
        p = attrs.get("product")
        if p in (None, ""):
            errors.append(f"{where}.product: required, the product the firm makes")
        elif p not in bom.index:
            errors.append(f"{where}.product: unknown product {p!r}")
        s = attrs.get("state")
        if s in (None, ""):
            errors.append(f"{where}.state: required, the state where the firm produces")
        elif s not in code_index:
            errors.append(f"{where}.state: unknown state {s!r} (known: {known_states})")
        h = attrs.get("home_state")
        if h in (None, ""):
            h = s  # a firm that has not moved produces at home
        elif h not in code_index:
            errors.append(f"{where}.home_state: unknown state {h!r} (known: {known_states})")
        c = _number(attrs.get("capacity"))
        if c is None or c <= 0:
            errors.append(
                f"{where}.capacity: must be a number > 0 and <= {_QUANTITY} (units per week), "
                f"got {attrs.get('capacity')!r}"
            )
        u = _number(attrs.get("unit_cost", 1.0))
        if u is None or u <= 0:
            errors.append(
                f"{where}.unit_cost: must be a number > 0 and <= {_QUANTITY}, "
                f"got {attrs['unit_cost']!r}"
            )
        problems += errors
        if errors:
            bad_nodes.add(node)
            continue
        firm_index[node] = len(names)
        names.append(node)
        product.append(bom.index[p])
        state.append(code_index[s])
        home.append(code_index[h])
        capacity.append(c)
        cost.append(u)

    # 2. Slots, in the order build_network uses.
    slot_firm, slot_state, slot_product, slot_coef = [], [], [], []
    slot_of: dict[tuple[str, int], int] = {}  # (buyer node, product) -> slot
    for i, name in enumerate(names):
        for q in bom.inputs_of(product[i]):
            slot_of[(name, int(q))] = len(slot_firm)
            slot_firm.append(i)
            slot_state.append(state[i])
            slot_product.append(int(q))
            slot_coef.append(float(bom.coefficients[product[i], q]))
    state_node = {s: n for n, s in state_of_node.items()}
    for s, spec in enumerate(scenario.states):
        for e in bom.end_items:
            if spec.demand.get(bom.products[e].name, 0.0) > 0:
                slot_of[(state_node.get(s, _state_node(codes[s])), int(e))] = len(slot_firm)
                slot_firm.append(-1)
                slot_state.append(s)
                slot_product.append(int(e))
                slot_coef.append(1.0)

    # 3. Edges -> links.
    lead_times = bom.lead_times
    link_supplier, link_slot, link_weight, link_lead = [], [], [], []
    seen_links: set[tuple[int, int]] = set()
    for a, b, attrs in graph.edges(data=True):
        where = f'edge "{a}" -> "{b}"'
        if a in bad_nodes or b in bad_nodes:
            continue  # already reported on the node
        if a in state_of_node:
            problems.append(f"{where}: the supplier {a} is a state node; only firms supply")
            continue
        i = firm_index[a]
        made = bom.products[product[i]].name
        given = attrs.get("product")
        if given not in (None, "") and given != made:
            problems.append(f"{where}.product: {given!r}, but the supplier {a} makes {made}")
            continue
        if b in state_of_node:
            slot = slot_of.get((b, product[i]))
            if slot is None:
                problems.append(
                    f"{where}: supplier makes {made} but state {codes[state_of_node[b]]} "
                    f"has no final demand for {made}"
                )
                continue
        else:
            slot = slot_of.get((b, product[i]))
            if slot is None:
                problems.append(
                    f"{where}: supplier makes {made} but {b} "
                    f"({bom.products[product[firm_index[b]]].name}) does not use {made}"
                )
                continue
        if (slot, i) in seen_links:
            problems.append(f"{where}: duplicate edge")
            continue
        seen_links.add((slot, i))
        weight = _number(attrs.get("weight", 1.0))
        if weight is None or weight <= 0:
            problems.append(
                f"{where}.weight: must be a number > 0 and <= {_QUANTITY} (an order share, "
                f"normalised per buyer), got {attrs['weight']!r}"
            )
            continue
        raw_lead = attrs.get("lead_time")
        if raw_lead is None:
            lead = int(lead_times[product[i]]) + scenario.border_delay(
                codes[state[i]], codes[slot_state[slot]]
            )
        else:
            value = _number(raw_lead)
            if value is None or not 1 <= value <= MAX_LEAD or value != int(value):
                problems.append(
                    f"{where}.lead_time: must be an integer in [1, {MAX_LEAD}] (weeks), "
                    f"got {raw_lead!r}"
                )
                continue
            lead = int(value)
        link_supplier.append(i)
        link_slot.append(slot)
        link_weight.append(weight)
        link_lead.append(lead)
    if problems:
        raise ScenarioError(problems, source)

    # 4. Build: links sorted by slot then supplier, weights normalised per slot.
    supplier_a = np.array(link_supplier, dtype=np.int64)
    slot_a = np.array(link_slot, dtype=np.int64)
    order = np.lexsort((supplier_a, slot_a))
    supplier_a, slot_a = supplier_a[order], slot_a[order]
    weight_a = np.array(link_weight, dtype=float)[order]
    weight_a = weight_a / np.bincount(slot_a, weight_a, minlength=len(slot_firm))[slot_a]
    topology = graph.graph.get("topology")
    web_ness = _number(graph.graph.get("web_ness"))
    network = Network(
        scenario=scenario,
        topology=str(topology) if topology else "custom",
        web_ness=float("nan") if web_ness is None else web_ness,
        firms=Firms(
            name=names,
            product=np.array(product, dtype=np.int64),
            state=np.array(state, dtype=np.int64),
            home_state=np.array(home, dtype=np.int64),
            capacity=np.array(capacity, dtype=float),
            unit_cost=np.array(cost, dtype=float),
        ),
        slot_firm=np.array(slot_firm, dtype=np.int64),
        slot_state=np.array(slot_state, dtype=np.int64),
        slot_product=np.array(slot_product, dtype=np.int64),
        slot_coef=np.array(slot_coef, dtype=float),
        link_supplier=supplier_a,
        link_slot=slot_a,
        link_weight=weight_a,
        link_lead=np.array(link_lead, dtype=np.int64)[order],
    )
    problems = network.check_feasible()
    if problems:
        raise ScenarioError(problems, source)
    return network
