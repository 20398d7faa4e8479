"""Re-sourcing: a buyer whose supplier keeps failing it moves what others can carry.

A link that delivers less than half of its buyer's new order for ``resourcing_weeks`` weeks in
a row (the engines count this) triggers a search. The buyer considers makers of the same product
that it **may trade with** (hub-and-spokes: at home or across the hub's border only), that are
not behind a closed border, and that it **can see**:

* without sub-tier visibility, the makers in its own state and those already supplying some
  buyer in its state - what its domestic market tells it;
* with sub-tier visibility (NDIS: "data analytics"), every maker in the coalition.

What it moves is judged against the link's **current order** (or its pre-shock flow, if larger:
a share moved while the buyer orders little would overload the substitute once it orders
normally again) and the makers' **room**: availability x nominal capacity - this week's output -
capacity already reserved by pending substitutions (a contract that moves for good is not
carried on overtime). Makers that are up, serve all their own orders, fail no customer and are
failed by none of their own suppliers qualify (idle capacity for want of inputs is no room).

1. **Qualified suppliers first.** The slot's other current suppliers take what their room
   allows at once (next week): no qualification, they already ship this input to the buyer.
2. **New substitutes** for the rest, most room first, each taking what its room allows, until
   the order is covered (so one order may be split over several). Their room is reserved while
   qualification runs (``qualification_weeks``); until then orders stay with the failing
   supplier.
3. **At switch-over** the substitute's room is checked again (it may have filled or gone down),
   and only what it can carry then, against the link's order then, moves; if the old supplier
   is delivering again, nothing moves.
4. **Idle firms** (hub-and-spokes makers that won no contract, whose own inputs have no
   supplier) may be chosen when every input they lack has a working maker; at switch-over each
   such input is sourced from the permitted maker with the most room.

The search is array work over the links searching that week: eligibility, trade and visibility
are judged for all makers at once, a link without any candidate is skipped, and only the takes
themselves (each uses up a maker's room or covers an order) are a Python loop. The weekly step
stays vectorised.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from webmodel.coalition.topology import trade_permissions

if TYPE_CHECKING:
    from webmodel.core.model import CoalitionModel


@dataclass(frozen=True)
class Substitution:
    """Move up to ``amount`` units/week of ``link``'s orders to ``supplier`` once qualified
    (network link and firm indices); ``amount`` is reserved of the supplier's room meanwhile.
    ``to_link`` is set for a shift to an existing qualified supplier (done at once)."""

    link: int
    supplier: int
    amount: float = 0.0
    to_link: int = -1


def trade_matrix(model: CoalitionModel) -> np.ndarray:
    """``allowed[seller_state, buyer_state]``: which pairs this topology lets trade directly."""
    n = len(model.network.state_codes)
    allowed = np.zeros((n, n), dtype=bool)
    if model.web_ness < 1:
        allowed |= trade_permissions(model.coalition, "hub")
    if model.web_ness > 0:
        allowed |= trade_permissions(model.coalition, "web")
    return allowed


def may_trade(model: CoalitionModel, seller_state: int, buyer_state: int) -> bool:
    """Whether this topology lets the two states trade directly (see topology.py)."""
    return bool(trade_matrix(model)[seller_state, buyer_state])


def room(model: CoalitionModel) -> np.ndarray:
    """Each firm's spare: availability x capacity - output - reserved (>= 0). Nominal
    capacity, not alpha_max: a contract that moves for good is not carried on overtime."""
    engine = model.engine
    return np.maximum(
        engine.availability * engine.capacity - engine.production - model.reserved, 0.0
    )


def volume(model: CoalitionModel, links: np.ndarray) -> np.ndarray:
    """What moving a link's order share moves: its current order, or its pre-shock flow if
    that is larger (a share moved while the buyer orders little would overload the substitute
    once it orders normally again)."""
    return np.maximum(model.engine.orders_of(links), model.network.baseline_flow_of(links))


def permitted(model: CoalitionModel) -> np.ndarray:
    """``allowed[seller_state, buyer_state]`` now: the topology's pairs less closed borders."""
    allowed = trade_matrix(model)
    n = len(allowed)
    for a in range(n):
        for b in range(n):
            allowed[a, b] &= not model.border_closed(a, b)
    return allowed


def _unsupplied_inputs(net) -> np.ndarray:
    """Per firm slot: no active link serves it (the inputs of firms that won no contract)."""
    active = net.link_weight > 0
    served = np.bincount(net.link_slot, active, minlength=net.n_slots) > 0
    return ~served & (net.slot_firm >= 0)


def find_substitutes(model: CoalitionModel, links: np.ndarray) -> list[Substitution]:
    """Shifts and substitutions for each failing link (links in network order).

    Searches run in link order and share the makers' room: what one buyer takes, the next
    cannot. Ties in room (within rounding) go to the lower firm index, so that both engines,
    which round differently, choose alike.

    The candidates are array work: eligibility and the trade and visibility rules are judged
    once per call, for every (product, buyer state) pool at once; a link with no candidate is
    skipped without a look, and a link's candidates are sorted in one ``lexsort``. Only the
    takes (each uses up a maker's room or covers an order) are a Python loop.
    """
    links = np.asarray(links, dtype=np.int64)
    if len(links) == 0:
        return []
    net = model.network
    spare = room(model)
    scale = max(float(spare.max()), 1e-300)
    active = net.link_weight > 0
    eligible = _eligible(model, spare, active)
    orders = volume(model, links)
    # The links that might move anything: ordering, and with a candidate in their own slot or
    # among the makers of their product that their state may trade with and see. (Eligibility
    # only ever ends during the search, so a link without a candidate now has none later.)
    supplier = net.link_supplier
    slot_of = net.link_slot[links]
    product_of = net.firms.product[supplier[links]]
    buyer_state = net.slot_state[slot_of]
    pools = _maker_pools(model, eligible, active)
    in_pool = pools.counts[product_of, buyer_state] > 0
    helping = active & eligible[supplier]
    others = np.bincount(net.link_slot[helping], minlength=net.n_slots)[slot_of]
    others -= helping[links]
    searching = (orders > 0) & (net.link_weight[links] > 0) & ((others > 0) | in_pool)
    if not searching.any():
        return []
    # Each searching slot's current suppliers (active links, in link order).
    wanted = np.flatnonzero(np.isin(net.link_slot, slot_of[searching]) & active)
    wanted = wanted[np.argsort(net.link_slot[wanted], kind="stable")]
    wanted_slots = net.link_slot[wanted]
    lo = np.searchsorted(wanted_slots, slot_of, side="left")
    hi = np.searchsorted(wanted_slots, slot_of, side="right")
    is_own = np.zeros(net.n_firms, dtype=bool)  # scratch: the searching slot's suppliers
    found: list[Substitution] = []
    pool_of = list(zip(product_of.tolist(), buyer_state.tolist(), strict=True))
    has_others = (others > 0).tolist()  # as the search starts: an upper bound throughout
    for i in np.flatnonzero(searching).tolist():
        link, order = int(links[i]), float(orders[i])
        need = order
        own = wanted[lo[i] : hi[i]]
        own_suppliers = supplier[own]
        # 1. The slot's other qualified suppliers, most room first.
        mine = (own != link) & eligible[own_suppliers] if has_others[i] else None
        if mine is not None and mine.any():
            ks, fs = own[mine], own_suppliers[mine]
            rounded = np.round(spare[fs] / scale, 9)
            for j in np.lexsort((ks, -rounded)).tolist():
                k, f = int(ks[j]), int(fs[j])
                take = min(spare[f], need)
                if take <= 0:
                    continue
                spare[f] -= take
                eligible[f] = spare[f] > 0
                need -= take
                found.append(Substitution(link, f, take, to_link=k))
                if need <= 1e-12 * order:
                    break
            if need <= 1e-12 * order:
                continue
        # 2. New substitutes, most room first, until the order is covered.
        makers = pools.eligible_now(*pool_of[i], eligible)
        if len(makers) == 0:
            continue
        is_own[own_suppliers] = True
        makers = makers[~is_own[makers]]
        is_own[own_suppliers] = False
        rounded = np.round(spare[makers] / scale, 9)
        for f in makers[np.lexsort((makers, -rounded))].tolist():
            take = min(spare[f], need)
            if take <= 0:
                continue
            spare[f] -= take
            eligible[f] = spare[f] > 0
            need -= take
            found.append(Substitution(link, f, take))
            if need <= 1e-12 * order:
                break
    return found


def _eligible(model: CoalitionModel, spare: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Makers that may take a failing buyer's orders now (see the module docstring)."""
    net = model.network
    engine = model.engine
    # An idle firm lacks a supplier for some input; it can be wired up if every input it lacks
    # has a maker that is up and supplied itself.
    unsupplied = _unsupplied_inputs(net)
    firm_slots = net.slot_firm >= 0
    lacking = np.bincount(net.slot_firm[firm_slots], unsupplied[firm_slots], minlength=net.n_firms)
    up = engine.availability >= 1.0
    working = up & (lacking == 0)
    makes = np.bincount(net.firms.product[working], minlength=len(net.product_names)) > 0
    wireable = np.ones(net.n_firms, dtype=bool)
    needs = np.flatnonzero(unsupplied)
    wireable_slots = makes[net.slot_product[needs]]
    np.logical_and.at(wireable, net.slot_firm[needs], wireable_slots)
    # A maker that could not serve its own orders last week is short of inputs: no help.
    # Nor is one failing a customer, or failed by a supplier of its own (its idle capacity is
    # idled by missing inputs, not free): room is only room where inputs come.
    healthy = engine.production >= (1 - 1e-9) * engine.firm_demand
    failing = np.flatnonzero(engine.failing_weeks_of(np.arange(engine.n_links)) > 0)
    healthy[net.link_supplier[failing]] = False
    buyers = net.slot_firm[net.link_slot[failing]]
    healthy[buyers[buyers >= 0]] = False
    return healthy & up & wireable & (spare > 0)


@dataclass
class _MakerPools:
    """Per (product, buyer state): the eligible makers that state may trade with and can see,
    in firm order; ``counts`` as the search starts. A pool sheds makers whose room is used up
    as the search goes."""

    counts: np.ndarray  # [product, buyer state]
    members: dict[tuple[int, int], np.ndarray]

    def eligible_now(self, product: int, state: int, eligible: np.ndarray) -> np.ndarray:
        pool = self.members.get((product, state))
        if pool is None or len(pool) == 0:
            return np.zeros(0, dtype=np.int64)
        pool = pool[eligible[pool]]
        self.members[(product, state)] = pool
        return pool


def _maker_pools(model: CoalitionModel, eligible: np.ndarray, active: np.ndarray) -> _MakerPools:
    net = model.network
    n_states, n_products = len(net.state_codes), len(net.product_names)
    allowed = permitted(model)
    makers = np.flatnonzero(eligible)  # in firm order
    product, state = net.firms.product[makers], net.firms.state[makers]
    if model.coalition.parameters.subtier_visibility:
        sees = np.ones((n_states, len(makers)), dtype=bool)
    else:
        # Without sub-tier visibility: makers at home, and those supplying someone there.
        known = np.zeros((n_states, net.n_firms), dtype=bool)
        known[net.link_buyer_state[active], net.link_supplier[active]] = True
        known[net.firms.state, np.arange(net.n_firms)] = True
        sees = known[:, makers]
    counts = np.zeros((n_products, n_states), dtype=np.int64)
    members: dict[tuple[int, int], np.ndarray] = {}
    for buyer in range(n_states):
        mask = allowed[state, buyer] & sees[buyer]
        counts[:, buyer] = np.bincount(product[mask], minlength=n_products)
        chosen = makers[mask]
        by_product = np.argsort(product[mask], kind="stable")
        chosen, kinds = chosen[by_product], product[mask][by_product]
        bounds = np.searchsorted(kinds, np.arange(n_products + 1))
        for p in np.flatnonzero(counts[:, buyer]).tolist():
            members[(p, buyer)] = chosen[bounds[p] : bounds[p + 1]]
    return _MakerPools(counts, members)


def wire_inputs(model: CoalitionModel, firm: int) -> bool:
    """Source each input an idle firm lacks from the permitted maker with the most room
    (weight 1); False, and nothing wired, if some input has no such maker."""
    net = model.network
    slots = np.flatnonzero(_unsupplied_inputs(net) & (net.slot_firm == firm))
    if len(slots) == 0:
        return True
    spare = room(model)
    engine = model.engine
    unsupplied = _unsupplied_inputs(net)
    firm_slots = net.slot_firm >= 0
    lacking = np.bincount(net.slot_firm[firm_slots], unsupplied[firm_slots], minlength=net.n_firms)
    allowed = permitted(model)
    working = (engine.availability >= 1.0) & (lacking == 0) & (spare > 0)
    failing = np.flatnonzero(engine.failing_weeks_of(np.arange(engine.n_links)) > 0)
    working[net.link_supplier[failing]] = False
    scale = max(float(spare.max()), 1e-300)
    state = int(net.firms.state[firm])
    chosen = []
    for slot in slots:
        makers = np.flatnonzero((net.firms.product == net.slot_product[slot]) & working)
        makers = makers[allowed[net.firms.state[makers], state]]
        if len(makers) == 0:
            return False
        rounded = np.round(spare[makers] / scale, 9)
        chosen.append(int(makers[np.lexsort((makers, -rounded))[0]]))
    net.add_links(slots, np.array(chosen), np.ones(len(slots)))
    return True
