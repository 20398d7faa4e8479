"""Wire one scenario as hub-and-spokes, as a production web, or anything in between.

Every topology holds **the same firms with the same capacities and costs**, and the same total
baseline output of every product. Two things differ:

* where end items are assembled: hub-and-spokes moves every allied assembler's line to the hub
  (licensed or hub-owned); the web leaves it in the ally (co-production);
* who buys from whom:
  - hub-and-spokes: lowest-cost single sourcing. Each buyer takes the cheapest supplier that can
    carry its whole need (a border crossing adds a cost markup, so allies buy at home when they
    can); allies may cross a border only to or from the hub, never to each other. Suppliers
    take contracts up to ``contract_utilisation`` of their capacity, so the cheapest are loaded
    and dearer ones may have no customer at all - as under real lowest-cost contracting;
  - production web: each buyer sources a share ``web_home_bias`` of its need at home first, split
    into ``k`` equal parts matched with its own state's suppliers in a seeded random order, as
    far as their room goes; the rest (and any home shortfall) is split into ``k`` parts matched
    with suppliers in a fresh random order over all allied states (multi-sourcing, lateral
    trade). Every supplier is loaded to the product's baseline utilisation, so which suppliers
    are cheaper cannot move load in the web; home bias moves which state's firms serve whom.
    ``web_home_bias = 0`` is the geography-blind web of earlier versions.

Structural randomness, so that replicates (seeds) sample wirings rather than repeat one: the web
draws its orders from the seed; every rule contracts on **bid costs**, each firm's unit cost
times (1 + e) with e uniform in [-``wiring_noise``, ``wiring_noise``], drawn from the seed
(firms' actual costs, capacities and the firms themselves do not change). Under lowest-cost
single sourcing the noisy bids decide who wins a contract and break cost ties at random; under
best-value they break ties in room. ``wiring_noise = 0`` bids the scenario's costs and breaks
ties by firm order: one hub-and-spokes wiring per scenario whatever the seed, as before.

``web_ness`` in [0, 1] interpolates: a share ``1 - web_ness`` of allied assemblers is moved to
the hub, and every buyer's need and every supplier's room is split, ``1 - web_ness`` wired by
the hub-and-spokes rule and ``web_ness`` by the web rule.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from webmodel.coalition.network import Firms, Network
from webmodel.coalition.parameters import TOPOLOGIES
from webmodel.coalition.scenario import Scenario, ScenarioError

WEB_NESS_OF = dict(zip(TOPOLOGIES, (0.0, 1.0), strict=True))  # each named topology's dial
_TINY = 1e-12

# A cache of wirings a sweep installs (webmodel.analysis.sweep.cache): called as
# ``cache(wire_network, scenario, topology, web_ness, rng)``, it returns what wire_network would.
WiringHook = Callable[..., Network]
_wiring_cache: WiringHook | None = None


def set_wiring_cache(cache: WiringHook | None) -> WiringHook | None:
    """Route :func:`build_network` through ``cache`` (None: build every time); returns the
    previous one. Many runs of a sweep share a wiring; building it is 13-30 % of a run."""
    global _wiring_cache
    previous, _wiring_cache = _wiring_cache, cache
    return previous


def resolve_web_ness(topology: str | None, web_ness: float | None) -> tuple[str, float]:
    """Turn ``--topology`` / ``--web-ness`` into (label, web_ness); web_ness wins if given."""
    if web_ness is not None:
        if not 0.0 <= float(web_ness) <= 1.0:
            raise ValueError(f"web_ness must be in [0, 1], got {web_ness}")
        w = float(web_ness)
        label = {0.0: "hub-and-spokes", 1.0: "production-web"}.get(w, f"web-ness-{w:g}")
        return label, w
    topology = topology or "production-web"
    if topology not in TOPOLOGIES:
        raise ValueError(f"topology must be one of {', '.join(TOPOLOGIES)}, got {topology!r}")
    return topology, WEB_NESS_OF[topology]


def make_firms(scenario: Scenario) -> Firms:
    """The scenario's firms, identical for every topology and seed.

    A group's capacity is split over its firms with a gentle size profile (share of firm k
    proportional to 1/sqrt(k+1)), so firms differ in size as real suppliers do; costs within a
    group rise slightly with the firm's rank so that "cheapest first" has a definite order.
    """
    index = {p.name: i for i, p in enumerate(scenario.products)}
    codes = {c: i for i, c in enumerate(scenario.state_codes)}
    names, product, state, capacity, cost = [], [], [], [], []
    for g in scenario.firm_groups:
        shares = 1.0 / np.sqrt(np.arange(1, g.count + 1))
        shares /= shares.sum()
        for k in range(g.count):
            names.append(f"{g.state}-{g.product}-{k + 1}")
            product.append(index[g.product])
            state.append(codes[g.state])
            capacity.append(g.capacity * shares[k])
            cost.append(g.unit_cost * (1.0 + 0.02 * k / max(1, g.count)))
    state_arr = np.array(state, dtype=np.int64)
    return Firms(
        name=names,
        product=np.array(product, dtype=np.int64),
        state=state_arr,
        home_state=state_arr.copy(),
        capacity=np.array(capacity, dtype=float),
        unit_cost=np.array(cost, dtype=float),
    )


def build_network(
    scenario: Scenario,
    topology: str | None = "production-web",
    web_ness: float | None = None,
    rng: np.random.Generator | int | None = None,
) -> Network:
    """Wire ``scenario`` into a topology. Same scenario and seed -> same network."""
    if _wiring_cache is not None:
        return _wiring_cache(wire_network, scenario, topology, web_ness, rng)
    return wire_network(scenario, topology, web_ness, rng)


def wire_network(
    scenario: Scenario,
    topology: str | None = "production-web",
    web_ness: float | None = None,
    rng: np.random.Generator | int | None = None,
) -> Network:
    """:func:`build_network` without any cache: a pure function of its arguments."""
    label, w = resolve_web_ness(topology, web_ness)
    rng = np.random.default_rng(rng)
    firms = make_firms(scenario)
    bid, tie = bid_costs(firms.unit_cost, scenario.parameters.wiring_noise, rng)
    bom = scenario.bom()
    hub = scenario.state_codes.index(scenario.hub)
    n_products = len(scenario.products)

    # 1. Assembly location: a share (1 - w) of allied assemblers (1 - coproduction_share if
    #    that lever is set), in a seeded order, moves to the hub. The order is drawn for every
    #    w, so a larger w moves a subset of a smaller one's.
    assemblers = np.flatnonzero(np.isin(firms.product, bom.end_items) & (firms.state != hub))
    order = rng.permutation(assemblers)
    kept = scenario.parameters.coproduction_share
    kept = w if kept is None else kept
    moved = order[: round((1.0 - kept) * len(order))]
    firms.state[moved] = hub

    # 2. Slots: each firm's inputs (grouped by firm, inputs in product order), then each state's
    #    demanded end items.
    inputs = [bom.inputs_of(p) for p in range(n_products)]
    n_inputs = np.array([len(i) for i in inputs], dtype=np.int64)
    table = np.zeros((n_products, max(1, n_inputs.max())), dtype=np.int64)
    for p, row in enumerate(inputs):
        table[p, : len(row)] = row
    per_firm = n_inputs[firms.product]
    slot_firm = np.repeat(np.arange(len(firms)), per_firm)
    position = np.arange(len(slot_firm)) - np.repeat(np.cumsum(per_firm) - per_firm, per_firm)
    slot_product = table[firms.product[slot_firm], position]
    slot_state = firms.state[slot_firm]
    slot_coef = bom.coefficients[firms.product[slot_firm], slot_product]
    demanded = [
        (s, e)
        for s, spec in enumerate(scenario.states)
        for e in bom.end_items
        if spec.demand.get(bom.products[e].name, 0.0) > 0
    ]
    slot_firm = np.concatenate((slot_firm, np.full(len(demanded), -1)))
    slot_state = np.concatenate((slot_state, [s for s, _ in demanded]))
    slot_product = np.concatenate((slot_product, [e for _, e in demanded]))
    slot_coef = np.concatenate((slot_coef, np.ones(len(demanded))))
    slot_firm_a = np.array(slot_firm, dtype=np.int64)
    slot_state_a = np.array(slot_state, dtype=np.int64)
    slot_product_a = np.array(slot_product, dtype=np.int64)
    slot_coef_a = np.array(slot_coef, dtype=float)

    # 3. Match suppliers to slots, product by product from the end items down: a product's
    #    buyers know their needs (coefficient x their own output) before it is matched.
    capacity = np.bincount(firms.product, firms.capacity, minlength=n_products)
    requirement = np.zeros(n_products)
    for spec in scenario.states:
        for e, d in spec.demand.items():
            requirement[bom.index[e]] += d
    for p in bom.topological_order():
        requirement += bom.coefficients[p] * requirement[p]
    utilisation = np.divide(requirement, capacity, out=np.zeros(n_products), where=capacity > 0)
    contract_share = np.maximum(utilisation, scenario.parameters.contract_utilisation)
    markup = 1.0 + scenario.border_cost_markup
    k = scenario.parameters.suppliers_per_input
    permissions = {
        "hub": trade_permissions(scenario, "hub"),
        "web": trade_permissions(scenario, "web"),
    }
    rules = contracting_rules(scenario)
    output = np.zeros(len(firms))
    slot_need = np.zeros(len(slot_product_a))
    for slot in np.flatnonzero(slot_firm_a < 0):
        spec = scenario.states[slot_state_a[slot]]
        slot_need[slot] = spec.demand[bom.products[slot_product_a[slot]].name]
    sup_list, slot_list, flow_list = [], [], []
    for p in bom.topological_order():
        buyers = np.flatnonzero(slot_product_a == p)
        sellers = np.flatnonzero(firms.product == p)
        owners = slot_firm_a[buyers]
        firm_owned = owners >= 0
        slot_need[buyers[firm_owned]] = slot_coef_a[buyers[firm_owned]] * output[owners[firm_owned]]
        parts = []
        for share, part in ((1 - w, "hub"), (w, "web")):
            if share <= 0:
                continue
            permitted = permissions[part]
            single = rules[part] == "lowest-cost"
            need = slot_need[buyers] * share
            if single or rules[part] == "best-value":
                room = contract_share[p] * firms.capacity[sellers] * share
                match = _single_source if single else _best_value
                parts.append(
                    match(
                        need,
                        slot_state_a[buyers],
                        room,
                        firms.state[sellers],
                        bid[sellers],
                        tie[sellers],
                        markup,
                        permitted,
                        k,
                        scenario.products[p].name,
                        scenario.state_codes,
                    )
                )
            else:  # the web's own rule: k suppliers each, home first, then all pairs
                parts.append(
                    _web(
                        need,
                        utilisation[p] * firms.capacity[sellers] * share,
                        k,
                        rng,
                        slot_state_a[buyers],
                        firms.state[sellers],
                        scenario.parameters.web_home_bias,
                    )
                )
        for b, s, f in parts:
            slot_list.append(buyers[b])
            sup_list.append(sellers[s])
            flow_list.append(f)
            output += np.bincount(sellers[s], f, minlength=len(firms))
    link_slot = np.concatenate(slot_list)
    link_supplier = np.concatenate(sup_list)
    flow = np.concatenate(flow_list)

    # Merge duplicate (slot, supplier) pairs and sort links by slot.
    key = link_slot * len(firms) + link_supplier
    unique, inverse = np.unique(key, return_inverse=True)
    flow = np.bincount(inverse, flow)
    link_slot = unique // len(firms)
    link_supplier = unique % len(firms)
    keep = flow > _TINY * max(1.0, flow.max())
    link_slot, link_supplier, flow = link_slot[keep], link_supplier[keep], flow[keep]
    weight = flow / np.bincount(link_slot, flow, minlength=len(slot_product_a))[link_slot]

    lead = _lead_times(scenario, firms, link_supplier, slot_state_a[link_slot], bom.lead_times)
    network = Network(
        scenario=scenario,
        topology=label,
        web_ness=w,
        firms=firms,
        slot_firm=slot_firm_a,
        slot_state=slot_state_a,
        slot_product=slot_product_a,
        slot_coef=slot_coef_a,
        link_supplier=link_supplier,
        link_slot=link_slot,
        link_weight=weight,
        link_lead=lead,
    )
    problems = network.check_feasible()
    if problems:
        raise ScenarioError(problems, f"{label} wiring of scenario {scenario.name}")
    return network


def bid_costs(
    unit_cost: np.ndarray, noise: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Each firm's bid (unit cost x (1 + e), e uniform in [-noise, noise]) and a tie-break key.

    Drawn from a child of the wiring stream, so the web's own draws are the same whatever the
    noise. With no noise the bids are the costs and every tie key is 0 (ties by firm order).
    """
    if noise <= 0:
        return unit_cost.copy(), np.zeros(len(unit_cost))
    (child,) = rng.spawn(1)
    e = child.uniform(-noise, noise, size=len(unit_cost))
    return unit_cost * (1.0 + e), e


def _lead_times(scenario, firms, supplier, buyer_state, product_lead) -> np.ndarray:
    codes = scenario.state_codes
    n = len(codes)
    border = np.array(
        [[scenario.border_delay(codes[a], codes[b]) for b in range(n)] for a in range(n)],
        dtype=np.int64,
    )
    return product_lead[firms.product[supplier]] + border[firms.state[supplier], buyer_state]


# --- matching rules ---------------------------------------------------------------------------


def northwest_corner(need: np.ndarray, supply: np.ndarray):
    """Match buyers to suppliers in the given orders, filling each buyer from the next supplier.

    Both sides are laid on one line by cumulative sums; every overlap of a buyer's interval with
    a supplier's interval is a flow. If totals differ, matching stops at the smaller one.

    Returns:
        (buyer positions, supplier positions, flows, leftover need, leftover supply).
    """
    cb = np.concatenate(([0.0], np.cumsum(need)))
    cs = np.concatenate(([0.0], np.cumsum(supply)))
    total = min(cb[-1], cs[-1])
    points = np.unique(np.concatenate((cb, cs)))
    points = points[points <= total]
    if len(points) < 2:
        return (np.zeros(0, np.int64),) * 2 + (np.zeros(0), need.copy(), supply.copy())
    mids = 0.5 * (points[:-1] + points[1:])
    lengths = np.diff(points)
    b = np.searchsorted(cb, mids, side="right") - 1
    s = np.searchsorted(cs, mids, side="right") - 1
    keep = lengths > _TINY * max(1.0, total)
    b, s, lengths = b[keep], s[keep], lengths[keep]
    left_need = need - np.bincount(b, lengths, minlength=len(need))
    left_supply = supply - np.bincount(s, lengths, minlength=len(supply))
    return b, s, lengths, np.maximum(left_need, 0.0), np.maximum(left_supply, 0.0)


def trade_permissions(scenario: Scenario, part: str) -> np.ndarray:
    """Which state pairs may trade directly: ``allowed[seller, buyer]``.

    Hub-and-spokes: at home, or across the hub's border. Web: every pair, unless the scenario
    names minilateral ``platforms``; then pairs inside a platform, plus home and the hub's pairs.
    """
    codes = scenario.state_codes
    n = len(codes)
    hub = codes.index(scenario.hub)
    allowed = np.eye(n, dtype=bool)
    allowed[hub, :] = allowed[:, hub] = True
    if part == "hub":
        return allowed
    platforms = scenario.parameters.platforms
    if platforms is None:
        return np.ones((n, n), dtype=bool)
    for group in platforms:
        members = [codes.index(c) for c in group]
        allowed[np.ix_(members, members)] = True
    return allowed


def contracting_rules(scenario: Scenario) -> dict[str, str]:
    """The sourcing rule of each part of the wiring: "lowest-cost" single sourcing,
    "best-value" multi-sourcing, or "web" (the web's random k-way split over all pairs)."""
    rule = scenario.parameters.contracting
    web_default = "web" if scenario.parameters.platforms is None else "best-value"
    if rule == "topology":
        return {"hub": "lowest-cost", "web": web_default}
    if rule == "lowest-cost":
        return {"hub": "lowest-cost", "web": "lowest-cost"}
    return {"hub": "best-value", "web": web_default}


def _buyer_order(need, buyer_state, permitted) -> np.ndarray:
    """Buyers with the fewest states to buy from first, larger needs first."""
    options = permitted[:, buyer_state].sum(axis=0)
    return np.lexsort((-need, options))


def _single_source(
    need, buyer_state, room, seller_state, cost, tie, markup, permitted, k, product, codes
):
    """Lowest-cost single sourcing within the trade permissions.

    Buyers with fewer options go first, larger needs first, and buy at home as far as their
    state's suppliers can cover them; only the rest crosses a border. Each buyer takes the
    cheapest eligible supplier (a border crossing adds ``markup`` to the bid cost) with room
    for its whole need; only a buyer that no single supplier can serve splits its need over the
    cheapest suppliers with room. ``room`` is what each supplier will contract; ``cost`` the
    bids (see :func:`bid_costs`), ``tie`` breaks equal bids.
    """
    del k  # one supplier per input where possible
    room = room.copy()
    effective = {}
    for state in np.unique(buyer_state):
        eligible = permitted[seller_state, state]
        price = cost * np.where(seller_state == state, 1.0, markup)
        idx = np.flatnonzero(eligible)
        home = idx[seller_state[idx] == state]
        # Candidates cheapest first (ties: the tie key, then scenario order): at home only,
        # and all eligible.
        effective[state] = (
            home[np.lexsort((tie[home], price[home]))],
            idx[np.lexsort((tie[idx], price[idx]))],
        )
    out_b, out_s, out_f = [], [], []

    def place(b: int, cand: np.ndarray, want: float, partial: bool = False) -> float:
        """Place ``want`` of buyer b with candidates ``cand``; return what is left unplaced."""
        free = room[cand]
        if free.sum() < want * (1 - 1e-12):
            if not partial:
                return want
            want_here = free.sum()
            if want_here <= 0:
                return want
            left = want - want_here
            want = want_here
        else:
            left = 0.0
        whole = np.flatnonzero(free >= want * (1 - 1e-12))
        if len(whole):
            chosen, amounts = cand[whole[:1]], np.array([min(want, free[whole[0]])])
        else:
            cum = np.cumsum(free)
            last = min(int(np.searchsorted(cum, want * (1 - 1e-12))), len(cand) - 1)
            chosen = cand[: last + 1]
            amounts = free[: last + 1].copy()
            amounts[-1] = want - (cum[last - 1] if last else 0.0)
        keep = amounts > 0
        room[chosen[keep]] = np.maximum(room[chosen[keep]] - amounts[keep], 0.0)
        out_b.append(np.full(int(keep.sum()), b))
        out_s.append(chosen[keep])
        out_f.append(amounts[keep])
        return left

    unrestricted = permitted.all(axis=0)  # states that may buy from anyone (the hub)
    for b in _buyer_order(need, buyer_state, permitted):
        if need[b] <= _TINY:
            continue
        home, everyone = effective[buyer_state[b]]
        left = need[b]
        if not unrestricted[buyer_state[b]]:
            left = place(b, home, left, partial=True)  # at home as far as it goes
        if left > _TINY * max(1.0, need[b]) and place(b, everyone, left) > 0:
            raise _no_supplier(product, codes[buyer_state[b]])
    if not out_b:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    return np.concatenate(out_b), np.concatenate(out_s), np.concatenate(out_f)


def _best_value(
    need, buyer_state, room, seller_state, cost, tie, markup, permitted, k, product, codes
):
    """Best-value multi-sourcing within the trade permissions.

    Each buyer (fewest options first) spreads its need over the ``k`` eligible suppliers with
    the most room left, in proportion to their room, adding suppliers only if those k cannot
    carry it; a buyer that may not buy everywhere uses its home suppliers first. Loads spread
    out instead of piling onto the cheapest. Equal room is decided by ``tie`` (the bid noise),
    then by firm order.
    """
    del cost, markup
    room = room.copy()
    out_b, out_s, out_f = [], [], []

    def spread(b: int, cand: np.ndarray, want: float) -> float:
        """Spread ``want`` over the k candidates with most room; return what is left."""
        cand = cand[room[cand] > _TINY]
        if len(cand) == 0:
            return want
        cand = cand[np.lexsort((cand, tie[cand], -room[cand]))]  # most room first
        free = room[cand]
        count = max(k, int(np.searchsorted(np.cumsum(free), want * (1 - 1e-12))) + 1)
        chosen, free = cand[:count], free[:count]
        placed = min(want, free.sum())
        amounts = placed * free / free.sum()
        room[chosen] = np.maximum(room[chosen] - amounts, 0.0)
        out_b.append(np.full(len(chosen), b))
        out_s.append(chosen)
        out_f.append(amounts)
        return want - placed

    unrestricted = permitted.all(axis=0)
    for b in _buyer_order(need, buyer_state, permitted):
        if need[b] <= _TINY:
            continue
        state = buyer_state[b]
        left = need[b]
        if not unrestricted[state]:  # a buyer with few options uses home first
            left = spread(b, np.flatnonzero(seller_state == state), left)
        if left > _TINY * max(1.0, need[b]):
            left = spread(b, np.flatnonzero(permitted[seller_state, state]), left)
        if left > 1e-9 * max(1.0, need[b]):
            raise _no_supplier(product, codes[state])
    if not out_b:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    return np.concatenate(out_b), np.concatenate(out_s), np.concatenate(out_f)


def _no_supplier(product: str, state: str) -> ScenarioError:
    return ScenarioError(
        [
            f"cannot supply {product} to a buyer in {state}: the state pairs it may trade with "
            f"(hub-and-spokes: home and the hub; a web with platforms: home, the hub and its "
            f"platforms) have no room left. Give {product} more capacity in reach of {state}, "
            f"raise contract_utilisation, or widen the platforms."
        ],
        "scenario",
    )


def _web(need, supply, k, rng, buyer_state, seller_state, home_bias):
    """Multi-sourcing: a share ``home_bias`` of every need at home first, then the rest over all.

    Each pass splits a buyer's need into k parts matched with k different suppliers
    (:func:`_k_way`); the home pass runs state by state over the state's own suppliers and
    leaves what they cannot carry (and their unused room) to the pass over everyone. With
    ``home_bias = 0`` there is no home pass and the draws are those of the geography-blind web.
    """
    out_b, out_s, out_f = [], [], []
    need = need.astype(float).copy()
    supply = supply.astype(float).copy()
    if home_bias > 0:
        for state in np.unique(buyer_state):
            b_idx = np.flatnonzero(buyer_state == state)
            s_idx = np.flatnonzero(seller_state == state)
            if len(s_idx) == 0:
                continue
            home_need = need[b_idx] * home_bias
            b, s, f, left_need, left_supply = _k_way(home_need, supply[s_idx], k, rng)
            out_b.append(b_idx[b])
            out_s.append(s_idx[s])
            out_f.append(f)
            need[b_idx] -= home_need - left_need
            supply[s_idx] = left_supply
    b, s, f, _, _ = _k_way(need, supply, k, rng)
    out_b.append(b)
    out_s.append(s)
    out_f.append(f)
    return np.concatenate(out_b), np.concatenate(out_s), np.concatenate(out_f)


def _k_way(need, supply, k, rng):
    """Split every need into k parts matched with k different suppliers.

    Buyers and suppliers are laid out in one random order each; in round r the supplier line is
    rotated by r/k of its length, so a buyer's k parts land on suppliers spread around the
    coalition rather than on one neighbour (distinct whenever there are at least k suppliers).

    Returns:
        (buyer positions, supplier positions, flows, need left, supply left).
    """
    out_b, out_s, out_f = [], [], []
    left_need = np.zeros(len(need))
    left_supply = np.zeros(len(supply))
    buyers = rng.permutation(len(need))
    sellers = rng.permutation(len(supply))
    for r in range(k):
        so = np.roll(sellers, -round(r * len(sellers) / k))
        b, s, f, ln, ls = northwest_corner(need[buyers] / k, supply[so] / k)
        out_b.append(buyers[b])
        out_s.append(so[s])
        out_f.append(f)
        left_need[buyers] += ln
        left_supply[so] += ls
    return (
        np.concatenate(out_b),
        np.concatenate(out_s),
        np.concatenate(out_f),
        left_need,
        left_supply,
    )
