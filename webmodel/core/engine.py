"""The array engine: one weekly step as compiled passes over all firms and links.

Every phase (:data:`webmodel.core.phases.PHASES`) is a method; the arithmetic is in compiled
kernels (:mod:`webmodel.core.kernels`, numba): a phase's kernel walks the firms, slots or links
once in machine code, where numpy took a dozen whole-array operations, each a pass over memory
of its own. One kernel serves several phases, the pass over the links of rationing, failure
tracking and shipping (see ``ArrayEngine.step``). :mod:`webmodel.core.reference` computes the same
step agent by agent, and the tests hold the two to 1e-9.

Internally the engine keeps links in its own order - links to firms before links to states,
then by product, then by lead time - so that a product's links, and a product's links with one
lead time, are contiguous: per-product totals are sums over runs of links, and links to firms
come before links to states (the kernels rely on both; ``_index_links`` and ``rewire`` keep it).
Numba is imported when an engine is built, not with this module: commands that build no model
do not pay for it.

Re-sourcing adds links during a run. Re-sorting every link for each addition cost more than the
step itself, so a group may carry spare places at its end - inert links (weight, orders and
shipments 0) that every phase passes over without effect - and a new link takes the next spare
place of its group: :meth:`ArrayEngine.rewire` costs what changed, not the whole network. Only
when a group is full (or a new lead time appears) are the links laid out again, with more room
where links arrived. ``link_order`` is -1 at a spare place; ``position`` maps back. A spare
place copies its group's first link's supplier, slot and lead time, so every index a kernel
reads there is valid; its weight, orders, backlog and pipeline stay 0, so it adds nothing.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from webmodel.coalition.network import Network
from webmodel.coalition.parameters import Parameters
from webmodel.core.recorder import Recorder
from webmodel.core.services import ServiceSlots, work_the_jobs

# Spare places a group gets when the links are laid out again: at least this many, or twice the
# links it has taken in so far (so a group that keeps growing is laid out a few times only).
MIN_SPARE_PLACES = 8

# Per-link state carried across weeks, and its value at a new link or a spare place.
LINK_STATE: dict[str, float] = {
    "order": 0.0,
    "backlog": 0.0,
    "in_transit": 0.0,
    "link_open": 1.0,
    "held": 0.0,
    "lost": 0.0,
    "failing_weeks": 0,
}
# Per-link values of the week just stepped, which the link pass writes anew each week (carried
# over a re-layout only so that they still read right until the next step).
LINK_WEEK_VALUES = ("shipped", "arrived")


class ArrayEngine:
    """Owns the per-firm, per-slot and per-link state arrays and advances them one week."""

    def __init__(self, network: Network, parameters: Parameters) -> None:
        from webmodel.core import kernels  # numba: only once a model is built

        self.kernels = kernels
        self.network = net = network
        self.parameters = parameters
        self.n_products = net.scenario.bom().coefficients.shape[0]
        self.n_firms = net.n_firms
        self.n_slots = net.n_slots
        self.n_firm_slots = nfs = net.n_firm_slots
        self.capacity = net.firms.capacity.copy()
        self.availability = np.ones(net.n_firms)  # 0..1 per firm, lowered by disruptions
        self.alpha = np.ones(net.n_firms)
        # Capacity investment: weeks short of capacity, capacity on order, arrivals by week.
        self.short_weeks = np.zeros(net.n_firms, dtype=np.int64)
        self.on_order = np.zeros(net.n_firms)
        self.arriving: dict[int, np.ndarray] = {}

        # Slots (network order: firm slots grouped by firm, then state slots).
        self.slot_firm = net.slot_firm[:nfs]
        self.slot_coef = net.slot_coef[:nfs]
        self.firm_slot_product = net.slot_product[:nfs]
        self.buying_firms, self.buyer_slot_starts = np.unique(self.slot_firm, return_index=True)
        self.input_bound = np.full(net.n_firms, np.inf)

        self.added: dict[tuple[int, int, int], int] = {}  # links taken in, per group key
        self._index_links(net)
        self.network_weight = net.link_weight.copy()  # as last taken over (rewire compares)

        # Equilibrium state.
        flow = self._by_engine(net.baseline_link_flow())
        self.baseline_flow = flow
        base_out = net.baseline_output
        self.stock = parameters.target_cover_weeks * self.slot_coef * base_out[self.slot_firm]
        self.order = flow.copy()  # orders standing at the start of week 1
        self.backlog = np.zeros(len(flow))
        self.in_transit = flow * self.lead
        # Row (week mod horizon) holds what arrives in that week; at the start, a link with lead
        # L has one week's flow arriving in each of weeks 1 .. L.
        self.pipeline = np.zeros((self.horizon, len(flow)))
        for arrive in range(1, self.horizon):
            self.pipeline[arrive, self.lead >= arrive] = flow[self.lead >= arrive]
        self.link_open = np.ones(len(flow))  # 0..1 per link, lowered by trade disruptions
        # Goods arrived at a closed border, waiting for it to reopen (still in transit).
        self.held = np.zeros(len(flow))
        self.any_held = False
        self.lost = np.zeros(len(flow))  # this week's goods lost at a closed border
        self.any_lost = False
        self.failing_weeks = np.zeros(len(flow), dtype=np.int64)  # weeks a link fell short
        self.search_requests: np.ndarray | None = None  # network links to re-source
        self.any_closed = False
        self.production = base_out.copy()
        self.firm_demand = base_out.copy()
        self.baseline_output = base_out
        self.unit_cost = net.firms.unit_cost
        # States' stockpiles of end items (the model sets them), and the forces' need not yet met.
        n_state_slots = net.n_slots - nfs
        self.state_stock = np.zeros(n_state_slots)
        self.unmet = np.zeros(n_state_slots)

        # The week's working values, handed from phase to phase (written in place by the step).
        self.demanded = np.zeros(n_state_slots)  # final demand, per state slot
        self.ceiling = np.zeros(net.n_firms)  # alpha x availability x capacity
        self.used = np.zeros(nfs)  # inputs used up, per firm slot
        self.shipped = np.zeros(len(flow))  # per link
        self.arrived = np.zeros(len(flow))  # per link: what crossed into the buyer's stock
        self.received = np.zeros(net.n_slots)  # arrivals per slot (firm slots, then states')
        self.delivered = self.received[nfs:]  # end items arriving at the states
        self.served = np.zeros(n_state_slots)  # what the forces received
        # Priority rationing: demand up to the pre-shock flow, and the rest, per firm; the
        # share of each a firm's output fills.
        self.first_total = np.zeros(net.n_firms)
        self.extra_total = np.zeros(net.n_firms)
        self.fill = np.zeros(net.n_firms)
        self.fill_extra = np.zeros(net.n_firms)
        self.due_links = np.zeros(len(flow), dtype=np.int64)  # links due for re-sourcing
        self.due_count = 0
        self.due_by_firm = np.zeros(net.n_firms)  # orders plus backlog over tau, per supplier
        self.supply_line = np.zeros(net.n_slots)  # in transit plus backlog, per slot
        self.slot_order = np.zeros(nfs)
        self.invest_amount = np.zeros(net.n_firms)  # capacity ordered this week
        # The record's per-product rows (shipped, in transit, backlog, lost, orders, output,
        # inputs used, stock), per state slot final backlog, and its scalars.
        self.by_product = np.zeros((8, self.n_products))
        self.final_backlog = np.zeros(n_state_slots)
        self.scalars = np.zeros(6)
        # Services (ship repair...): ships in maintenance per service slot (core/services.py).
        self.services = ServiceSlots.of(net)
        self.ships_carried = self.services.carried_at_equilibrium(net.baseline_demand)
        self.ships = self.ships_carried.copy()  # this week's, arrivals included

    def _index_links(self, net: Network, spare: dict[tuple[int, int, int], int] | None = None):
        """Lay the links out in engine order, with ``spare[key]`` spare places at the end of
        group ``key`` = (to a state, product, lead time), and build the index arrays over them."""
        nfs = self.n_firm_slots
        to_state = (net.link_slot >= nfs).astype(np.int64)
        product, lead = net.link_product, net.link_lead
        order = np.lexsort((lead, product, to_state))  # network links in engine order
        key = np.stack((to_state[order], product[order], lead[order]))
        firsts = np.flatnonzero(np.any(np.diff(key, axis=1, prepend=-1), axis=0))
        sizes = np.diff(np.append(firsts, len(order)))
        keys = [tuple(int(v) for v in key[:, a]) for a in firsts]
        extra = np.array([(spare or {}).get(k, 0) for k in keys], dtype=np.int64)
        stops = np.cumsum(sizes + extra)
        starts = stops - sizes - extra
        # Engine place of each link: its group's start plus its rank in the group.
        group = np.repeat(np.arange(len(keys)), sizes)
        place = starts[group] + np.arange(len(order)) - np.repeat(firsts, sizes)
        n_places = int(stops[-1]) if len(stops) else 0
        self.link_order = np.full(n_places, -1, dtype=np.int64)
        self.link_order[place] = order
        self.position = np.empty(len(order), dtype=np.int64)
        self.position[order] = place
        # A spare place copies its group's first link (supplier, slot, lead), with weight 0.
        source = np.repeat(order[firsts], sizes + extra)
        source[place] = order
        real = self.link_order >= 0
        self.supplier = net.link_supplier[source]
        self.slot = net.link_slot[source]
        self.weight = np.where(real, net.link_weight[source], 0.0)
        self.lead = net.link_lead[source]
        self.link_product = product[source]
        self.groups = {
            k: [int(a), int(a + n), int(b)]
            for k, a, n, b in zip(keys, starts, sizes, stops, strict=True)
        }
        n_firm_groups = int(np.count_nonzero(key[0, firsts] == 0))
        self.n_firm_links = int(stops[n_firm_groups - 1]) if n_firm_groups else 0
        nfl = self.n_firm_links
        self.firm_link_weight = self.weight[:nfl]  # views: a new link's weight shows in both
        self.firm_link_slot = self.slot[:nfl]
        self.state_link_weight = self.weight[nfl:]
        self.ordering_link = self.weight > 0  # links that still get new orders
        self.state_link_slot = self.slot[nfl:] - nfs
        self.mean_lead = np.bincount(self.slot, self.weight * self.lead, minlength=self.n_slots)
        self.mean_lead = self.mean_lead[:nfs]
        self.slot_places: np.ndarray | None = None  # see _reweight
        self.slot_start: np.ndarray | None = None
        self.new_places: dict[int, list[int]] = {}  # places taken in since, per slot
        self.horizon = int(self.lead.max()) + 1
        # Contiguous groups: per product (for totals) and per (product, lead) (for shipping).
        self.lead_groups = [
            (int(a), int(b), k[2]) for k, a, b in zip(keys, starts, stops, strict=True)
        ]
        self.product_starts = np.flatnonzero(np.diff(self.link_product, prepend=-1))
        self.product_of_segment = self.link_product[self.product_starts]

    def _by_engine(self, values: np.ndarray, fill: float = 0.0) -> np.ndarray:
        """Per-link values in network order, in engine order (``fill`` at spare places)."""
        out = np.full(len(self.link_order), fill, dtype=np.asarray(values).dtype)
        out[self.position] = values
        return out

    def rewire(self, network: Network, week: int) -> None:
        """Take over a network with links added or re-weighted (re-sourcing), keeping every
        link's orders, backlog and shipments in transit.

        The cost is that of what changed: re-weighted links are found by one comparison with
        the weights last taken over, and new links take spare places of their groups. Only a
        new link whose group is full (or missing) lays all links out again."""
        n_old = len(self.position)
        weight = network.link_weight
        new = np.arange(n_old, network.n_links)
        if len(new):
            keys = self._group_keys(network, new)
            for k in keys:
                self.added[k] = self.added.get(k, 0) + 1
            wanted: dict[tuple[int, int, int], int] = {}
            for k in keys:
                wanted[k] = wanted.get(k, 0) + 1
            if any(
                k not in self.groups or self.groups[k][2] - self.groups[k][1] < n
                for k, n in wanted.items()
            ):
                self._lay_out_again(network, week)
                return
        changed = np.flatnonzero(weight[:n_old] != self.network_weight)
        if len(changed):
            self._reweight(self.position[changed], weight[changed])
            self.network_weight[changed] = weight[changed]
        if len(new):
            self._take_in(network, new, keys)
            self.network_weight = np.concatenate((self.network_weight, weight[n_old:]))
        self.network = network

    def _group_keys(self, network: Network, links: np.ndarray) -> list[tuple[int, int, int]]:
        """Each link's group: (to a state, product, lead time)."""
        to_state = network.link_slot[links] >= self.n_firm_slots
        product = network.firms.product[network.link_supplier[links]]
        return [
            (int(s), int(p), int(lead))
            for s, p, lead in zip(to_state, product, network.link_lead[links], strict=True)
        ]

    def _reweight(self, places: np.ndarray, weights: np.ndarray) -> None:
        """New order weights at these engine places; their slots' mean lead times are summed
        again, in the order the layout's bincount sums them (so they come out the same)."""
        self.weight[places] = weights
        self.ordering_link[places] = weights > 0
        slots = np.unique(self.slot[places[places < self.n_firm_links]])
        if not len(slots):
            return
        if self.slot_places is None:  # slot -> its links' places as laid out, built once
            real = np.flatnonzero(self.link_order >= 0)
            real = real[~np.isin(real, [p for ps in self.new_places.values() for p in ps])]
            by_slot = real[np.argsort(self.slot[real], kind="stable")]
            self.slot_places = by_slot
            self.slot_start = np.searchsorted(self.slot[by_slot], np.arange(self.n_slots + 1))
        weight, lead = self.weight, self.lead
        for slot in slots.tolist():
            own = self.slot_places[self.slot_start[slot] : self.slot_start[slot + 1]].tolist()
            total = 0.0
            for place in sorted(own + self.new_places.get(slot, [])):
                total += float(weight[place]) * float(lead[place])
            self.mean_lead[slot] = total

    def _take_in(self, network: Network, links: np.ndarray, keys) -> None:
        """New links (empty: nothing ordered or in transit) into their groups' spare places."""
        places = np.empty(len(links), dtype=np.int64)
        for i, k in enumerate(keys):
            group = self.groups[k]
            places[i] = group[1]
            group[1] += 1
        self.link_order[places] = links
        self.position = np.concatenate((self.position, places))
        for slot, place in zip(network.link_slot[links].tolist(), places.tolist(), strict=True):
            self.new_places.setdefault(slot, []).append(place)
        self.supplier[places] = network.link_supplier[links]
        self.slot[places] = network.link_slot[links]
        self.lead[places] = network.link_lead[links]
        self.weight[places] = 0.0
        self._reweight(places, network.link_weight[links])
        state = places >= self.n_firm_links
        self.state_link_slot[places[state] - self.n_firm_links] = (
            self.slot[places[state]] - self.n_firm_slots
        )
        self.baseline_flow[places] = network.baseline_flow_of(links)
        for name, fill in LINK_STATE.items():
            getattr(self, name)[places] = fill
        self.pipeline[:, places] = 0.0  # (a spare place's column is 0 already: it ships nothing)

    def _lay_out_again(self, network: Network, week: int) -> None:
        """All links in engine order again, each group with spare places for the links it
        takes in (at least MIN_SPARE_PLACES, or twice what it has taken in so far)."""
        old_position, old_horizon, old_pipeline = self.position, self.horizon, self.pipeline
        n_old = len(old_position)
        state = {name: getattr(self, name)[old_position] for name in LINK_STATE}
        week_values = {name: getattr(self, name)[old_position] for name in LINK_WEEK_VALUES}
        baseline = self.baseline_flow[old_position]
        # Shipments by weeks until arrival (1 .. horizon - 1), per network link.
        rows = [(week + k) % old_horizon for k in range(1, old_horizon)]
        ahead = old_pipeline[rows][:, old_position]
        spare = {k: max(MIN_SPARE_PLACES, 2 * n) for k, n in self.added.items()}
        for k in self.groups:
            spare.setdefault(k, MIN_SPARE_PLACES)
        self._index_links(network, spare)
        position = self.position[:n_old]
        for name, fill in LINK_STATE.items():
            values = np.full(len(self.link_order), fill, dtype=state[name].dtype)
            values[position] = state[name]
            setattr(self, name, values)
        for name, values in week_values.items():
            setattr(self, name, np.zeros(len(self.link_order)))
            getattr(self, name)[position] = values
        self.due_links = np.zeros(len(self.link_order), dtype=np.int64)
        self.any_closed = bool(np.any(self.link_open < 1.0))
        self.baseline_flow = np.zeros(len(self.link_order))
        self.baseline_flow[position] = baseline
        new = np.arange(n_old, network.n_links)
        self.baseline_flow[self.position[new]] = network.baseline_flow_of(new)
        self.pipeline = np.zeros((self.horizon, len(self.link_order)))
        for k in range(1, old_horizon):
            self.pipeline[(week + k) % self.horizon, position] = ahead[k - 1]
        self.network_weight = network.link_weight.copy()
        self.network = network

    # --- the step: the phases of webmodel.core.phases.PHASES, in order ---------------------
    def step(
        self,
        week: int,
        final_demand: np.ndarray,
        recorder: Recorder,
        search: Callable[[np.ndarray], None] | None = None,
    ) -> None:
        """Advance one week. ``final_demand`` is each state slot's new demand this week;
        ``search`` is handed the links (network order) whose buyers start looking for a
        substitute supplier this week (re-sourcing).

        Fused: ``_rationing`` runs one compiled pass over the links that does the per-link
        arithmetic of rationing, failure tracking and shipping, and adds up on the way the
        link sums that ordering (what each supplier is due, each slot's supply line) and the
        record (per product) need; ``_failure_tracking``, ``_shipping`` and ``_ordering`` then
        take their results from it. Each of these reads the same link arrays, and reading
        them is what the step costs: a pass per phase would read about half as many bytes
        again. Every other phase is its own kernel (or numpy, on the few state slots)."""
        self._capacity_arrivals(week)
        final_demand = self._service_arrivals(final_demand)
        self._final_demand(final_demand)
        self._production()
        self._rationing(week)
        self._failure_tracking()
        self._shipping()
        self._ordering()
        self._adaptation(week)
        self._forces_service()
        self._service_jobs(week, recorder)
        self._resourcing(search)
        self._record(week, recorder)

    def _capacity_arrivals(self, week: int) -> None:
        """New capacity ordered investment_build_weeks ago starts producing."""
        if week in self.arriving:
            added = self.arriving.pop(week)
            self.capacity += added
            self.on_order -= added
            self.short_weeks[added > 0] = 0  # judge the new capacity before ordering more

    def _final_demand(self, final_demand: np.ndarray) -> None:
        """States order this week's demand from their end-item suppliers; each firm's demand
        is what its links may receive (orders plus backlog; nothing through a closed border,
        whose orders wait as backlog)."""
        self.demanded = final_demand
        self.kernels.final_demand(
            final_demand,
            self.n_firm_links,
            self.n_firm_slots,
            self.weight,
            self.slot,
            self.supplier,
            self.order,
            self.backlog,
            self.link_open,
            self.any_closed,
            self.parameters.rationing == "priority",
            self.baseline_flow,
            self.firm_demand,
            self.first_total,
            self.extra_total,
        )

    def _production(self) -> None:
        """Capacity, orders, and the scarcest input bound production (Leontief)."""
        self.kernels.production(
            self.alpha,
            self.availability,
            self.capacity,
            self.firm_demand,
            self.stock,
            self.slot_coef,
            self.slot_firm,
            self.ceiling,
            self.input_bound,
            self.production,
            self.used,
        )

    def _rationing(self, week: int) -> None:
        """Output is shared among customers' orders (in proportion, or under priority
        rationing the pre-shock flow first, Inoue & Todo); the rest becomes backlog.

        The same pass over the links does the link arithmetic of failure tracking and
        shipping and the link sums of ordering and the record (see ``step``)."""
        d = self.parameters
        border = self.any_closed or self.any_held
        lose = d.closed_border_transit == "lost"
        self.due_count, held = self.kernels.rationing_shipping(
            week % self.horizon,
            self.horizon,
            self.supplier,
            self.slot,
            self.lead,
            self.weight,
            self.order,
            self.backlog,
            self.link_open,
            self.any_closed,
            d.rationing == "priority",
            self.baseline_flow,
            self.production,
            self.firm_demand,
            self.first_total,
            self.extra_total,
            self.fill,
            self.fill_extra,
            d.resourcing_weeks or 0,
            self.failing_weeks,
            self.due_links,
            self.pipeline,
            self.in_transit,
            self.held,
            self.lost,
            border,
            lose,
            self.any_lost and not border,
            self.shipped,
            self.arrived,
            self.received,
            d.adjustment_time,
            self.due_by_firm,
            self.supply_line,
            self.product_starts,
            self.product_of_segment,
            self.by_product,
        )
        if border and not lose:
            self.any_held = held
        # Whether `lost` may hold goods (the pass clears them the next week no border is shut).
        self.any_lost = border and lose

    def _failure_tracking(self) -> None:
        """A link that delivers less than half of this week's order is failing its buyer (a
        supplier working off a backlog at full capacity still covers new orders); after
        resourcing_weeks of that, the buyer looks for another supplier (see resourcing.py).
        (The weeks are counted in ``_rationing``'s pass; here the due links are named.)"""
        if self.due_count:
            self.search_requests = np.sort(self.link_order[self.due_links[: self.due_count]])
        else:
            self.search_requests = None

    def _shipping(self) -> None:
        """Shipments go into the pipeline; this week's arrivals come out of it into stock; at
        a closed border goods stop and wait there (still in transit) or are lost.
        (``_rationing``'s pass moved the pipeline; here the receipts are booked.)"""
        self.kernels.book_arrivals(self.stock, self.received)
        self.delivered = self.received[self.n_firm_slots :]

    def _ordering(self) -> None:
        """Expected use plus closing the stock gap and beta x the supply-line gap over tau
        (Sterman 1989). The supply line is what is in transit plus what the slot's suppliers
        still owe it (their backlog to it), so an order not yet filled is not ordered again.
        (What suppliers are due and the supply lines were summed in ``_rationing``'s pass.)"""
        d = self.parameters
        self.kernels.ordering(
            self.due_by_firm,
            self.ceiling,
            self.slot_coef,
            self.slot_firm,
            self.stock,
            self.mean_lead,
            self.supply_line,
            d.target_cover_weeks,
            d.supply_line_weight,
            d.adjustment_time,
            d.destocking == "none",
            self.slot_order,
            self.n_firm_links,
            self.weight,
            self.slot,
            self.order,
            self.product_starts,
            self.product_of_segment,
            self.by_product,
        )

    def _adaptation(self, week: int) -> None:
        """Overproduction rises under scarcity, relaxes otherwise; a firm short of capacity for
        long enough orders more, which arrives after the build lag.

        Scarcity is the share of what the firm is asked that its ceiling cannot make: alpha
        rises at scarcity / alpha_time of the way to alpha_max, relaxes 1 / alpha_time of the
        way to 1 once scarcity is gone (Hallegatte 2014; BoARIO's overproduction rule). A firm
        that is down adapts nothing: alpha and its investment clock wait (a firm partly down
        works overtime on what is left, but orders no capacity meanwhile)."""
        d = self.parameters
        n_invest = self.kernels.adaptation(
            self.firm_demand,
            self.ceiling,
            self.availability,
            self.alpha,
            self.short_weeks,
            self.on_order,
            d.alpha_max,
            d.alpha_time,
            d.investment_decision_weeks,
            d.investment_share,
            self.network.firms.capacity,
            self.invest_amount,
        )
        if n_invest:
            amount = self.invest_amount.copy()
            self.on_order += amount
            due = week + d.investment_build_weeks
            self.arriving[due] = self.arriving.get(due, 0.0) + amount

    def _forces_service(self) -> None:
        """Arrivals go into each state's stockpile; the forces draw their need from it.

        Orders to industry are the forces' need as it arises, so the industrial backlog is
        exactly what the stockpile lent: when it arrives, the stockpile is refilled. Without a
        stockpile, the forces get just what arrives (served = delivered).
        """
        self.kernels.forces_service(
            self.demanded, self.delivered, self.state_stock, self.unmet, self.served
        )

    def _service_arrivals(self, final_demand: np.ndarray) -> np.ndarray:
        """Ships due for maintenance (final demand / job_weeks, so the surge multiplies them)
        join those in maintenance; each asks for one slot-week this week, which becomes the
        state's demand for the service. Slot-weeks not given last week are not carried (the
        ship asks again) and cannot be stockpiled."""
        svc = self.services
        if not svc.any:
            return final_demand
        demand = np.array(final_demand, dtype=float)
        # (A fleet cannot send more ships than it has out of maintenance.)
        arriving = np.minimum(demand[svc.slots] / svc.job_weeks, svc.fleet - self.ships_carried)
        self.ships = self.ships_carried + arriving
        demand[svc.slots] = self.ships
        state_backlog = self.backlog[self.n_firm_links :]  # a view
        state_backlog[svc.is_service[self.state_link_slot]] = 0.0
        self.state_stock[svc.slots] = 0.0
        return demand

    def _service_jobs(self, week: int, recorder: Recorder) -> None:
        """The slot-weeks that reached each state work its ships (one per ship); worked /
        job_weeks ships leave repaired. Records the force-facing metrics."""
        svc = self.services
        if not svc.any:
            return
        week_of = work_the_jobs(self.ships, self.served[svc.slots], svc.job_weeks, svc.fleet)
        self.ships_carried = self.ships - week_of["repairs_completed"]
        self.state_stock[svc.slots] = 0.0  # an idle slot-week is lost
        self.unmet[svc.slots] = 0.0  # the waiting ships ask again next week
        n = len(self.demanded)
        values = {}
        for name, value in week_of.items():
            if name == "worked":
                continue
            row = np.zeros(n)
            row[svc.slots] = value
            values[name] = row
        recorder.record(week, values)

    def _resourcing(self, search: Callable[[np.ndarray], None] | None) -> None:
        """Buyers failed for resourcing_weeks start looking for a substitute (the search and
        the switch after qualification are the model's: per-event Python, rare)."""
        if search is not None and self.search_requests is not None:
            search(self.search_requests)

    def _record(self, week: int, recorder: Recorder) -> None:
        """The week's aggregates (see recorder.VARIABLES); the per-product link sums were
        added up in ``_rationing``'s pass and ``_ordering``."""
        by_product, scalars = self.by_product, self.scalars
        self.kernels.record(
            self.production,
            self.ceiling,
            self.capacity,
            self.alpha,
            self.baseline_output,
            self.unit_cost,
            self.network.firms.product,
            self.used,
            self.stock,
            self.firm_slot_product,
            self.backlog,
            self.slot,
            self.n_firm_links,
            self.n_firm_slots,
            by_product,
            self.final_backlog,
            scalars,
        )
        recorder.record(
            week,
            {
                "demanded": self.demanded,
                "delivered": self.delivered,
                "final_backlog": self.final_backlog,
                "served": self.served,
                "state_stock": self.state_stock,
                "production": by_product[5],
                "shipped": by_product[0],
                "consumed": by_product[6],
                "stock": by_product[7],
                "in_transit": by_product[1],
                "lost_in_transit": by_product[3],
                "backlog": by_product[2],
                "orders": by_product[4],
                "alpha_mean": scalars[0],
                "output_loss": scalars[1],
                "direct_loss": scalars[2],
                "output_value": scalars[3],
                "utilisation": scalars[4],
                "capacity": scalars[5],
            },
        )

    # --- outside the step -------------------------------------------------------------------
    def __getstate__(self) -> dict:
        """Pickled (or deep-copied) without the kernels' module, imported again on load."""
        state = self.__dict__.copy()
        del state["kernels"]
        return state

    def __setstate__(self, state: dict) -> None:
        from webmodel.core import kernels

        self.__dict__.update(state, kernels=kernels)

    def failing_weeks_of(self, links: np.ndarray) -> np.ndarray:
        """Weeks each of these links (network order) has been failing its buyer."""
        return self.failing_weeks[self.position[links]]

    @property
    def n_links(self) -> int:
        """Links this engine runs (the network may have just added some)."""
        return len(self.position)

    def orders_of(self, links: np.ndarray) -> np.ndarray:
        """This week's order on each of these links (network order)."""
        return self.order[self.position[links]]

    def set_availability(self, availability: np.ndarray) -> None:
        """Per-firm share of capacity available (1 = up, 0 = down)."""
        self.availability = np.asarray(availability, dtype=float).copy()

    def set_link_open(self, open_share: np.ndarray) -> None:
        """Per-link share of trade allowed through (network link order; 0 = closed)."""
        self.link_open = self._by_engine(np.asarray(open_share, dtype=float), 1.0)
        self.any_closed = bool(np.any(self.link_open < 1.0))

    def set_state_stock(self, stock: np.ndarray) -> None:
        """Each state slot's stockpile of its end item (the forces' need is met from it)."""
        self.state_stock = np.asarray(stock, dtype=float).copy()
