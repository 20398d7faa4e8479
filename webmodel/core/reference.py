"""The reference implementation: the same weekly step, written agent by agent.

This is the executable specification of the model. It keeps every firm, slot and link as a
plain Python object and walks them one at a time, phase by phase
(:data:`webmodel.core.phases.PHASES`). It is written for clarity, not speed. The array engine
(:mod:`webmodel.core.engine`) must reproduce every recorded aggregate of this implementation to
1e-9 (tests/test_engine_reference.py), and ``webmodel bench`` reports how much faster it is.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from webmodel.coalition.network import Network
from webmodel.coalition.parameters import Parameters
from webmodel.core.recorder import Recorder
from webmodel.core.services import SERVICE_VARIABLES, TURNAROUND_CAP


class RefLink:
    """A supplier serving one slot: its order share, lead time, order book and shipments."""

    def __init__(self, supplier: RefFirm, slot: RefSlot, weight: float, lead: int, flow: float):
        self.supplier = supplier
        self.slot = slot
        self.weight = weight
        self.lead = lead
        self.baseline_flow = flow
        self.order = flow
        self.backlog = 0.0
        self.wanted = 0.0
        self.open = 1.0  # share of trade allowed through (0 = border closed)
        self.failing_weeks = 0
        self.deliverable = 0.0
        self.shipped = 0.0  # this week
        self.shipments: list[list[float]] = [[week, flow] for week in range(1, lead + 1)]
        self.held = 0.0  # arrived at a closed border, waiting for it to reopen
        self.lost = 0.0  # this week's goods lost at a closed border

    def in_transit(self) -> float:
        return sum(amount for _, amount in self.shipments) + self.held


class RefSlot:
    """One buyer's stock of one input (or a state's demand for, and stockpile of, one end item)."""

    def __init__(self, product: int, coef: float, owner: RefFirm | None, state: int):
        self.product = product
        self.coef = coef
        self.owner = owner
        self.state = state
        self.stock = 0.0
        self.links: list[RefLink] = []
        self.received = 0.0
        self.served = 0.0  # a state's: what its forces received this week
        self.unmet = 0.0  # a state's: its forces' need not yet met
        # A state's service (ship repair): weeks per job (0 for goods), fleet, and ships in
        # maintenance carried from last week / this week (see webmodel/core/services.py).
        self.job_weeks = 0.0
        self.fleet = 0.0
        self.ships_carried = 0.0
        self.ships = 0.0

    def mean_lead(self) -> float:
        return sum(link.weight * link.lead for link in self.links)


class RefFirm:
    """A producer: capacity, overproduction, its input slots and its customers' links."""

    def __init__(
        self, index: int, product: int, capacity: float, unit_cost: float, baseline_output: float
    ):
        self.index = index
        self.product = product
        self.capacity = capacity
        self.unit_cost = unit_cost
        self.baseline_output = baseline_output
        self.availability = 1.0
        self.alpha = 1.0
        self.original_capacity = capacity
        self.short_weeks = 0
        self.on_order = 0.0
        self.arrivals: dict[int, float] = {}  # week -> capacity arriving
        self.inputs: list[RefSlot] = []
        self.customers: list[RefLink] = []
        self.demand = 0.0
        self.orders_received = 0.0
        self.production = 0.0


class ReferenceEngine:
    """Plain per-agent implementation of :class:`webmodel.core.engine.ArrayEngine`."""

    def __init__(self, network: Network, parameters: Parameters) -> None:
        self.network = net = network
        self.parameters = parameters
        self.n_products = len(net.scenario.products)
        base = net.baseline_output
        self.firms = [
            RefFirm(
                i,
                int(net.firms.product[i]),
                float(net.firms.capacity[i]),
                float(net.firms.unit_cost[i]),
                float(base[i]),
            )
            for i in range(net.n_firms)
        ]
        self.slots: list[RefSlot] = []
        for k in range(net.n_slots):
            f = int(net.slot_firm[k])
            owner = self.firms[f] if f >= 0 else None
            slot = RefSlot(
                int(net.slot_product[k]), float(net.slot_coef[k]), owner, int(net.slot_state[k])
            )
            if owner is not None:
                owner.inputs.append(slot)
                slot.stock = parameters.target_cover_weeks * slot.coef * float(base[f])
            self.slots.append(slot)
        self.state_slots = [s for s in self.slots if s.owner is None]
        for k, slot in enumerate(self.state_slots):
            product = net.scenario.products[slot.product]
            if product.service:
                ships = float(net.baseline_demand[k])  # jobs x job_weeks, all in a slot
                slot.job_weeks = float(product.job_weeks)
                slot.fleet = net.scenario.states[slot.state].fleet.get(product.name, 0.0)
                slot.ships_carried = ships - ships / slot.job_weeks
        self.search_requests: np.ndarray | None = None
        # The week's totals, handed from phase to phase (set by the step).
        self.demanded = np.zeros(len(self.state_slots))
        self.produced = [0.0] * self.n_products
        self.consumed = [0.0] * self.n_products
        self.shipped = [0.0] * self.n_products
        self.output_loss = self.direct_loss = 0.0
        flow = net.baseline_link_flow()
        self.links = []
        for e in range(net.n_links):
            link = RefLink(
                self.firms[int(net.link_supplier[e])],
                self.slots[int(net.link_slot[e])],
                float(net.link_weight[e]),
                int(net.link_lead[e]),
                float(flow[e]),
            )
            link.supplier.customers.append(link)
            link.slot.links.append(link)
            self.links.append(link)

    def rewire(self, network: Network, week: int) -> None:
        """Links added (new, empty) or re-weighted by re-sourcing."""
        del week  # shipments carry their own arrival week
        self.network = network
        for e in range(len(self.links), network.n_links):
            link = RefLink(
                self.firms[int(network.link_supplier[e])],
                self.slots[int(network.link_slot[e])],
                float(network.link_weight[e]),
                int(network.link_lead[e]),
                0.0,
            )
            link.baseline_flow = float(network.baseline_link_flow()[e])
            link.supplier.customers.append(link)
            link.slot.links.append(link)
            self.links.append(link)
        for link, weight in zip(self.links, network.link_weight, strict=True):
            link.weight = float(weight)

    @property
    def n_links(self) -> int:
        return len(self.links)

    def orders_of(self, links: np.ndarray) -> np.ndarray:
        return np.array([self.links[int(k)].order for k in links])

    def failing_weeks_of(self, links: np.ndarray) -> np.ndarray:
        return np.array([self.links[int(k)].failing_weeks for k in links], dtype=np.int64)

    @property
    def capacity(self) -> np.ndarray:
        return np.array([f.capacity for f in self.firms])

    @property
    def firm_demand(self) -> np.ndarray:
        return np.array([f.demand for f in self.firms])

    # Same accessors as the array engine, for the agents' views.
    @property
    def production(self) -> np.ndarray:
        return np.array([f.production for f in self.firms])

    @property
    def alpha(self) -> np.ndarray:
        return np.array([f.alpha for f in self.firms])

    @property
    def availability(self) -> np.ndarray:
        return np.array([f.availability for f in self.firms])

    def set_availability(self, availability: np.ndarray) -> None:
        for firm, level in zip(self.firms, availability, strict=True):
            firm.availability = float(level)

    def set_link_open(self, open_share: np.ndarray) -> None:
        for link, level in zip(self.links, open_share, strict=True):
            link.open = float(level)

    def set_state_stock(self, stock: np.ndarray) -> None:
        for slot, level in zip(self.state_slots, stock, strict=True):
            slot.stock = float(level)

    # --- the step: the phases of webmodel.core.phases.PHASES, in order ---------------------
    def step(
        self,
        week: int,
        final_demand: np.ndarray,
        recorder: Recorder,
        search: Callable[[np.ndarray], None] | None = None,
    ) -> None:
        self._capacity_arrivals(week)
        final_demand = self._service_arrivals(final_demand)
        self._final_demand(final_demand)
        self._production()
        self._rationing()
        self._failure_tracking()
        self._shipping(week)
        self._ordering()
        self._adaptation(week)
        self._forces_service()
        self._service_jobs(week, recorder)
        self._resourcing(search)
        self._record(week, recorder)

    def _capacity_arrivals(self, week: int) -> None:
        """Capacity investments that are due."""
        for firm in self.firms:
            if week in firm.arrivals:
                added = firm.arrivals.pop(week)
                firm.capacity += added
                firm.on_order -= added
                firm.short_weeks = 0

    def _final_demand(self, final_demand: np.ndarray) -> None:
        """States order from their end-item suppliers; every firm totals what it is asked."""
        self.demanded = final_demand
        for k, slot in enumerate(self.state_slots):
            for link in slot.links:
                link.order = link.weight * final_demand[k]
        for firm in self.firms:
            firm.demand = 0.0
            firm.orders_received = 0.0
            for link in firm.customers:
                link.wanted = link.order + link.backlog
                link.deliverable = link.wanted * link.open
                firm.demand += link.deliverable
                firm.orders_received += link.order

    def _production(self) -> None:
        """Each firm makes what its ceiling, its orders and its scarcest input allow."""
        self.produced = [0.0] * self.n_products
        self.consumed = [0.0] * self.n_products
        self.output_loss = self.direct_loss = self.output_value = 0.0
        for firm in self.firms:
            ceiling = firm.alpha * firm.availability * firm.capacity
            self.direct_loss += firm.unit_cost * max(firm.baseline_output - ceiling, 0.0)
            limit = min(ceiling, firm.demand)
            for slot in firm.inputs:
                limit = min(limit, slot.stock / slot.coef)
            firm.production = limit
            self.produced[firm.product] += limit
            self.output_loss += firm.unit_cost * max(firm.baseline_output - limit, 0.0)
            self.output_value += firm.unit_cost * limit
            for slot in firm.inputs:
                slot.stock -= slot.coef * limit
                self.consumed[slot.product] += slot.coef * limit

    def _rationing(self) -> None:
        """Each customer gets its share of the firm's output; the rest stays as backlog."""
        for firm in self.firms:
            for link, amount in zip(firm.customers, self._share_output(firm), strict=True):
                link.shipped = amount
                link.backlog = link.wanted - amount

    def _failure_tracking(self) -> None:
        """Count each link's weeks in a row under half of its order; list those due a search."""
        weeks = self.parameters.resourcing_weeks
        if not weeks:
            return
        for link in self.links:
            failing = link.shipped < (0.5 - 1e-9) * link.order and link.weight > 0
            link.failing_weeks = link.failing_weeks + 1 if failing else 0
        due = [i for i, link in enumerate(self.links) if link.failing_weeks == weeks]
        self.search_requests = np.array(due, dtype=np.int64) if due else None

    def _shipping(self, week: int) -> None:
        """Shipments leave with their arrival week; the ones due this week go into stock."""
        self.shipped = [0.0] * self.n_products
        for firm in self.firms:
            for link in firm.customers:
                link.shipments.append([week + link.lead, link.shipped])
                self.shipped[firm.product] += link.shipped
        for slot in self.slots:
            slot.received = 0.0
        lose = self.parameters.closed_border_transit == "lost"
        for link in self.links:
            arriving = [s for s in link.shipments if s[0] == week]
            link.shipments = [s for s in link.shipments if s[0] != week]
            at_border = link.held
            for _, amount in arriving:
                at_border += amount
            # A closed border stops what reaches it: it waits there, or is lost.
            passing = at_border * link.open
            stopped = at_border - passing
            link.held, link.lost = (0.0, stopped) if lose else (stopped, 0.0)
            link.slot.received += passing
        for firm in self.firms:
            for slot in firm.inputs:
                slot.stock += slot.received

    def _ordering(self) -> None:
        """On the orders each firm received this week (not the ones its customers are placing
        right now). The supply line of a slot is what is in transit to it plus what its
        suppliers still owe it (backlog); its gap counts with weight beta (Sterman 1989)."""
        d = self.parameters
        for firm in self.firms:
            ceiling = firm.alpha * firm.availability * firm.capacity
            backlog = sum(link.backlog for link in firm.customers)
            expected = min(firm.orders_received + backlog / d.adjustment_time, ceiling)
            for slot in firm.inputs:
                need = slot.coef * expected
                supply_line = sum(link.in_transit() + link.backlog for link in slot.links)
                gap = (d.target_cover_weeks * need - slot.stock) + d.supply_line_weight * (
                    slot.mean_lead() * need - supply_line
                )
                if d.destocking == "none":
                    gap = max(gap, 0.0)
                order = max(0.0, need + gap / d.adjustment_time)
                for link in slot.links:
                    link.order = link.weight * order

    def _adaptation(self, week: int) -> None:
        """Overproduction and capacity investment."""
        d = self.parameters
        for firm in self.firms:
            ceiling = firm.alpha * firm.availability * firm.capacity
            short = firm.demand > ceiling * (1 + 1e-9)
            if firm.availability > 0.0:  # a firm that is down keeps its alpha
                if short:
                    scarcity = (firm.demand - ceiling) / firm.demand
                    firm.alpha += (d.alpha_max - firm.alpha) * scarcity / d.alpha_time
                else:
                    firm.alpha += (1.0 - firm.alpha) / d.alpha_time
            if firm.availability >= 1.0:  # the investment clock waits while it is (partly) down
                firm.short_weeks = firm.short_weeks + 1 if short else 0
            if (
                d.investment_share > 0
                and firm.short_weeks >= d.investment_decision_weeks
                and firm.on_order == 0
            ):
                amount = d.investment_share * firm.original_capacity
                firm.on_order += amount
                due = week + d.investment_build_weeks
                firm.arrivals[due] = firm.arrivals.get(due, 0.0) + amount

    def _forces_service(self) -> None:
        """What arrives goes into the state's stockpile; the forces draw their need from it."""
        for k, slot in enumerate(self.state_slots):
            available = slot.stock + slot.received
            slot.served = min(self.demanded[k] + slot.unmet, available)
            slot.stock = available - slot.served
            slot.unmet = slot.unmet + self.demanded[k] - slot.served

    def _service_arrivals(self, final_demand: np.ndarray) -> np.ndarray:
        """A service's new jobs join the ships in maintenance; each ship asks for one
        slot-week; what was not given last week is not carried, nor stockpiled."""
        demand = [float(x) for x in final_demand]
        for k, slot in enumerate(self.state_slots):
            if slot.job_weeks == 0:
                continue
            arriving = min(demand[k] / slot.job_weeks, slot.fleet - slot.ships_carried)
            slot.ships = slot.ships_carried + arriving
            demand[k] = slot.ships
            for link in slot.links:
                link.backlog = 0.0
            slot.stock = 0.0
        return np.array(demand)

    def _service_jobs(self, week: int, recorder: Recorder) -> None:
        """Each slot-week received works one ship; a ship leaves after job_weeks of them."""
        n = len(self.state_slots)
        values = {name: [0.0] * n for name in SERVICE_VARIABLES}
        any_service = False
        for k, slot in enumerate(self.state_slots):
            if slot.job_weeks == 0:
                continue
            any_service = True
            worked = min(slot.ships, slot.served)
            completed = worked / slot.job_weeks
            if worked > 0:
                turnaround = min(slot.job_weeks * slot.ships / worked, TURNAROUND_CAP)
            else:
                turnaround = TURNAROUND_CAP
            values["fleet_availability"][k] = (slot.fleet - slot.ships) / slot.fleet
            values["in_maintenance"][k] = slot.ships
            values["repair_backlog"][k] = slot.ships - worked
            values["repairs_completed"][k] = completed
            values["turnaround_weeks"][k] = turnaround
            slot.ships_carried = slot.ships - completed
            slot.stock = 0.0
            slot.unmet = 0.0
        if any_service:
            recorder.record(week, values)

    def _resourcing(self, search: Callable[[np.ndarray], None] | None) -> None:
        """Hand the links due a search to the model's search."""
        if search is not None and self.search_requests is not None:
            search(self.search_requests)

    def _record(self, week: int, recorder: Recorder) -> None:
        """The week's aggregates (see recorder.VARIABLES)."""
        stock = [0.0] * self.n_products
        for slot in self.slots:
            if slot.owner is not None:
                stock[slot.product] += slot.stock
        transit = [0.0] * self.n_products
        backlog = [0.0] * self.n_products
        orders = [0.0] * self.n_products
        lost = [0.0] * self.n_products
        for link in self.links:
            lost[link.supplier.product] += link.lost
            transit[link.supplier.product] += link.in_transit()
            backlog[link.supplier.product] += link.backlog
            orders[link.supplier.product] += link.order
        recorder.record(
            week,
            {
                "demanded": self.demanded,
                "delivered": [slot.received for slot in self.state_slots],
                "final_backlog": [sum(link.backlog for link in s.links) for s in self.state_slots],
                "served": [slot.served for slot in self.state_slots],
                "state_stock": [slot.stock for slot in self.state_slots],
                "production": self.produced,
                "shipped": self.shipped,
                "consumed": self.consumed,
                "stock": stock,
                "in_transit": transit,
                "lost_in_transit": lost,
                "backlog": backlog,
                "orders": orders,
                "alpha_mean": sum(f.alpha for f in self.firms) / len(self.firms),
                "output_loss": self.output_loss,
                "direct_loss": self.direct_loss,
                "output_value": self.output_value,
                "utilisation": sum(self.produced) / sum(f.capacity for f in self.firms),
                "capacity": sum(f.capacity for f in self.firms),
            },
        )

    def _share_output(self, firm: RefFirm) -> list[float]:
        """Each customer's share of the firm's output this week."""
        if self.parameters.rationing == "priority":
            first = [min(link.deliverable, link.baseline_flow) for link in firm.customers]
            first_total = sum(first)
            share = min(1.0, firm.production / first_total) if first_total > 0 else 0.0
            rest = max(firm.production - first_total, 0.0)
            extra = [link.deliverable - f for link, f in zip(firm.customers, first, strict=True)]
            extra_total = sum(extra)
            extra_share = min(1.0, rest / extra_total) if extra_total > 0 else 0.0
            return [f * share + e * extra_share for f, e in zip(first, extra, strict=True)]
        share = min(1.0, firm.production / firm.demand) if firm.demand > 0 else 0.0
        return [link.deliverable * share for link in firm.customers]
