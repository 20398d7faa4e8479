"""The reference implementation: the same weekly step, written agent by agent.

This is the executable specification of the model. It keeps every firm, slot and link as a
plain Python object and walks them one at a time, the way the step is described in DESIGN.md §5.
It is written for clarity, not speed. The array engine (:mod:`webmodel.core.engine`) must
reproduce every recorded aggregate of this implementation to 1e-9 (tests/test_engine_reference.py),
and ``webmodel bench`` reports how much faster it is.
"""

from __future__ import annotations

import numpy as np

from webmodel.coalition.network import Network
from webmodel.core.engine import Dynamics
from webmodel.core.recorder import Recorder


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
        self.shipments: list[list[float]] = [[week, flow] for week in range(1, lead + 1)]

    def in_transit(self) -> float:
        return sum(amount for _, amount in self.shipments)


class RefSlot:
    """One buyer's stock of one input (or a state's demand for one end item)."""

    def __init__(self, product: int, coef: float, owner: RefFirm | None, state: int):
        self.product = product
        self.coef = coef
        self.owner = owner
        self.state = state
        self.stock = 0.0
        self.links: list[RefLink] = []
        self.received = 0.0

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

    def __init__(self, network: Network, dynamics: Dynamics) -> None:
        self.network = net = network
        self.dynamics = dynamics
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
                slot.stock = dynamics.target_cover_weeks * slot.coef * float(base[f])
            self.slots.append(slot)
        self.state_slots = [s for s in self.slots if s.owner is None]
        self.search_requests: np.ndarray | None = None
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

    def step(self, week: int, final_demand: np.ndarray, recorder: Recorder) -> None:
        d = self.dynamics
        # 1. Capacity investments that are due.
        for firm in self.firms:
            if week in firm.arrivals:
                added = firm.arrivals.pop(week)
                firm.capacity += added
                firm.on_order -= added
                firm.short_weeks = 0
        # 2. Final demand.
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

        # 3. Production.
        produced = [0.0] * self.n_products
        consumed = [0.0] * self.n_products
        output_loss = direct_loss = output_value = 0.0
        for firm in self.firms:
            ceiling = firm.alpha * firm.availability * firm.capacity
            direct_loss += firm.unit_cost * max(firm.baseline_output - ceiling, 0.0)
            limit = min(ceiling, firm.demand)
            for slot in firm.inputs:
                limit = min(limit, slot.stock / slot.coef)
            firm.production = limit
            produced[firm.product] += limit
            output_loss += firm.unit_cost * max(firm.baseline_output - limit, 0.0)
            output_value += firm.unit_cost * limit
            for slot in firm.inputs:
                slot.stock -= slot.coef * limit
                consumed[slot.product] += slot.coef * limit

        # 4. Rationing and 5. shipping.
        shipped = [0.0] * self.n_products
        for firm in self.firms:
            for link, amount in zip(firm.customers, self._ration(firm), strict=True):
                link.backlog = link.wanted - amount
                link.shipments.append([week + link.lead, amount])
                shipped[firm.product] += amount
                failing = amount < (0.5 - 1e-9) * link.order and link.weight > 0
                link.failing_weeks = link.failing_weeks + 1 if failing else 0
        if d.resourcing_weeks:
            due = [
                i for i, link in enumerate(self.links) if link.failing_weeks == d.resourcing_weeks
            ]
            self.search_requests = np.array(due, dtype=np.int64) if due else None
        for slot in self.slots:
            slot.received = 0.0
        for link in self.links:
            arriving = [s for s in link.shipments if s[0] == week]
            link.shipments = [s for s in link.shipments if s[0] != week]
            for _, amount in arriving:
                link.slot.received += amount
        for firm in self.firms:
            for slot in firm.inputs:
                slot.stock += slot.received

        # 6. Ordering, on the orders each firm received this week (not the ones its customers
        # are placing right now).
        for firm in self.firms:
            ceiling = firm.alpha * firm.availability * firm.capacity
            backlog = sum(link.backlog for link in firm.customers)
            expected = min(firm.orders_received + backlog / d.adjustment_time, ceiling)
            for slot in firm.inputs:
                need = slot.coef * expected
                transit = sum(link.in_transit() for link in slot.links)
                gap = (d.target_cover_weeks * need - slot.stock) + (
                    slot.mean_lead() * need - transit
                )
                order = max(0.0, need + gap / d.adjustment_time)
                for link in slot.links:
                    link.order = link.weight * order

        # 7. Overproduction and capacity investment.
        for firm in self.firms:
            ceiling = firm.alpha * firm.availability * firm.capacity
            short = firm.demand > ceiling * (1 + 1e-9)
            target = d.alpha_max if short else 1.0
            firm.alpha = firm.alpha + (target - firm.alpha) / d.alpha_time
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

        # 8. Record.
        stock = [0.0] * self.n_products
        for slot in self.slots:
            if slot.owner is not None:
                stock[slot.product] += slot.stock
        transit = [0.0] * self.n_products
        backlog = [0.0] * self.n_products
        orders = [0.0] * self.n_products
        for link in self.links:
            transit[link.supplier.product] += link.in_transit()
            backlog[link.supplier.product] += link.backlog
            orders[link.supplier.product] += link.order
        recorder.record(
            week,
            {
                "demanded": final_demand,
                "delivered": [slot.received for slot in self.state_slots],
                "final_backlog": [sum(link.backlog for link in s.links) for s in self.state_slots],
                "production": produced,
                "shipped": shipped,
                "consumed": consumed,
                "stock": stock,
                "in_transit": transit,
                "backlog": backlog,
                "orders": orders,
                "alpha_mean": sum(f.alpha for f in self.firms) / len(self.firms),
                "output_loss": output_loss,
                "direct_loss": direct_loss,
                "output_value": output_value,
                "utilisation": sum(produced) / sum(f.capacity for f in self.firms),
                "capacity": sum(f.capacity for f in self.firms),
            },
        )

    def _ration(self, firm: RefFirm) -> list[float]:
        """Each customer's share of the firm's output this week."""
        if self.dynamics.rationing == "priority":
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
