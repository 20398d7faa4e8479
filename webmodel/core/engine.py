"""The array engine: one weekly step as whole-array operations over all firms and links.

Every phase (DESIGN.md §5) is a handful of numpy operations over the network's flat arrays;
nothing here loops over firms or links in Python. :mod:`webmodel.core.reference` computes the same
step agent by agent, and the tests hold the two to 1e-9.

Internally the engine keeps links in its own order - links to firms before links to states,
then by product, then by lead time - so that a product's links, and a product's links with one
lead time, are contiguous: per-product totals become ``np.add.reduceat`` and the shipping
pipeline is written with one slice per (product, lead time) group instead of a scatter.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from webmodel.coalition.network import Network
from webmodel.core.recorder import Recorder


@dataclass(frozen=True)
class Dynamics:
    """Behavioural parameters used by both engines (see ``Parameters``)."""

    target_cover_weeks: float = 4.0
    adjustment_time: float = 4.0
    alpha_max: float = 1.25
    alpha_time: float = 8.0
    rationing: str = "proportional"
    investment_decision_weeks: int = 26
    investment_build_weeks: int = 130
    investment_share: float = 0.25
    resourcing_weeks: int = 4


class ArrayEngine:
    """Owns the per-firm, per-slot and per-link state arrays and advances them one week."""

    def __init__(self, network: Network, dynamics: Dynamics) -> None:
        self.network = net = network
        self.dynamics = dynamics
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

        self._index_links(net)

        # Equilibrium state.
        flow = net.baseline_link_flow()[self.link_order]
        self.baseline_flow = flow
        base_out = net.baseline_output
        self.stock = dynamics.target_cover_weeks * self.slot_coef * base_out[self.slot_firm]
        self.order = flow.copy()  # orders standing at the start of week 1
        self.backlog = np.zeros(len(flow))
        self.in_transit = flow * self.lead
        # Row (week mod horizon) holds what arrives in that week; at the start, a link with lead
        # L has one week's flow arriving in each of weeks 1 .. L.
        self.pipeline = np.zeros((self.horizon, len(flow)))
        for arrive in range(1, self.horizon):
            self.pipeline[arrive, self.lead >= arrive] = flow[self.lead >= arrive]
        self.link_open = np.ones(len(flow))  # 0..1 per link, lowered by trade disruptions
        self.failing_weeks = np.zeros(len(flow), dtype=np.int64)  # weeks a link fell short
        self.search_requests: np.ndarray | None = None  # network links to re-source
        self.any_closed = False
        self.production = base_out.copy()
        self.firm_demand = base_out.copy()
        self.baseline_output = base_out
        self.unit_cost = net.firms.unit_cost

    def _index_links(self, net: Network) -> None:
        """Put the links in engine order and build the index arrays over them."""
        nfs = self.n_firm_slots
        # Links, in engine order (see module docstring). `link_order[k]` = network link index.
        to_state = net.link_slot >= nfs
        order = np.lexsort((net.link_lead, net.link_product, to_state))
        self.link_order = order
        self.supplier = net.link_supplier[order]
        self.slot = net.link_slot[order]
        self.weight = net.link_weight[order]
        self.lead = net.link_lead[order]
        self.link_product = net.link_product[order]
        self.n_firm_links = int(np.count_nonzero(~to_state))
        nfl = self.n_firm_links
        self.firm_link_weight = self.weight[:nfl]
        self.firm_link_slot = self.slot[:nfl]
        self.state_link_weight = self.weight[nfl:]
        self.ordering_link = self.weight > 0  # links that still get new orders
        self.state_link_slot = self.slot[nfl:] - nfs
        self.mean_lead = np.bincount(self.slot, self.weight * self.lead, minlength=self.n_slots)
        self.mean_lead = self.mean_lead[:nfs]
        self.horizon = int(self.lead.max()) + 1
        # Contiguous groups: per product (for totals) and per (product, lead) (for shipping).
        key = self.link_product * (self.horizon + 1) + self.lead
        group_starts = np.flatnonzero(np.diff(key, prepend=-1))
        bounds = np.append(group_starts, len(key))
        self.lead_groups = [
            (int(a), int(b), int(self.lead[a])) for a, b in itertools.pairwise(bounds)
        ]
        self.product_starts = np.flatnonzero(np.diff(self.link_product, prepend=-1))
        self.product_of_segment = self.link_product[self.product_starts]

    def rewire(self, network: Network, week: int) -> None:
        """Take over a network with links added or re-weighted (re-sourcing), keeping every
        link's orders, backlog and shipments in transit."""
        old_order, old_horizon = self.link_order, self.horizon
        n_old = len(old_order)

        def by_network_link(values: np.ndarray, fill: float = 0.0) -> np.ndarray:
            out = np.full(network.n_links, fill)
            out[old_order] = values
            return out

        state = {
            "order": by_network_link(self.order),
            "backlog": by_network_link(self.backlog),
            "in_transit": by_network_link(self.in_transit),
            "link_open": by_network_link(self.link_open, 1.0),
            "failing_weeks": by_network_link(self.failing_weeks),
        }
        # Shipments by weeks until arrival (1 .. horizon - 1), per network link.
        ahead = np.zeros((old_horizon, network.n_links))
        for k in range(1, old_horizon):
            ahead[k, old_order] = self.pipeline[(week + k) % old_horizon]
        baseline = by_network_link(self.baseline_flow)
        baseline[n_old:] = network.baseline_link_flow()[n_old:]

        self.network = network
        self._index_links(network)
        order = self.link_order
        for name, values in state.items():
            setattr(self, name, values[order])
        self.failing_weeks = self.failing_weeks.astype(np.int64)
        self.any_closed = bool(np.any(self.link_open < 1.0))
        self.baseline_flow = baseline[order]
        self.pipeline = np.zeros((self.horizon, network.n_links))
        for k in range(1, old_horizon):
            self.pipeline[(week + k) % self.horizon] = ahead[k, order]

    # --- the step ---------------------------------------------------------------------------
    def step(self, week: int, final_demand: np.ndarray, recorder: Recorder) -> None:
        """Advance one week. ``final_demand`` is each state slot's new demand this week."""
        d = self.dynamics
        nfl = self.n_firm_links
        # 1. New capacity ordered investment_build_weeks ago starts producing.
        if week in self.arriving:
            added = self.arriving.pop(week)
            self.capacity += added
            self.on_order -= added
            self.short_weeks[added > 0] = 0  # judge the new capacity before ordering more
        # 2. Final demand: states order this week's demand from their end-item suppliers.
        self.order[nfl:] = self.state_link_weight * final_demand[self.state_link_slot]
        wanted = self.order + self.backlog
        # A closed link (border shut) can receive nothing; its orders wait as backlog.
        deliverable = wanted * self.link_open if self.any_closed else wanted
        self.firm_demand = np.bincount(self.supplier, deliverable, minlength=self.n_firms)

        # 3. Production: capacity, orders, and the scarcest input bound it (Leontief).
        ceiling = self.alpha * self.availability * self.capacity
        self.input_bound[self.buying_firms] = np.minimum.reduceat(
            self.stock / self.slot_coef, self.buyer_slot_starts
        )
        production = np.minimum(np.minimum(ceiling, self.firm_demand), self.input_bound)
        self.production = production
        used = self.slot_coef * production[self.slot_firm]
        self.stock -= used

        # 4. Rationing: output is shared among customers' orders; the rest becomes backlog.
        shipped = self._ration(production, deliverable)
        self.backlog = wanted - shipped
        # A link that delivers less than half of this week's order is failing its buyer (a
        # supplier working off a backlog at full capacity still covers new orders); after
        # resourcing_weeks of that, the buyer looks for another supplier (see resourcing.py).
        if d.resourcing_weeks:
            # (The margin keeps rounding noise from deciding a tie at exactly one half.)
            failing = shipped < (0.5 - 1e-9) * self.order
            failing &= self.ordering_link
            self.failing_weeks += 1
            self.failing_weeks *= failing
            due = self.failing_weeks == d.resourcing_weeks
            self.search_requests = np.sort(self.link_order[due]) if due.any() else None

        # 5. Shipping: into the pipeline; this week's arrivals come out of it.
        for start, stop, lead in self.lead_groups:
            self.pipeline[(week + lead) % self.horizon, start:stop] = shipped[start:stop]
        row = week % self.horizon
        arrived = self.pipeline[row]  # a view, cleared once booked
        self.in_transit += shipped
        self.in_transit -= arrived
        received = np.bincount(self.slot, arrived, minlength=self.n_slots)
        arrived[:] = 0.0
        self.stock += received[: self.n_firm_slots]
        delivered = received[self.n_firm_slots :]

        # 6. Ordering: expected demand plus closing the stock and supply-line gaps over tau.
        due = np.bincount(
            self.supplier, self.order + self.backlog / d.adjustment_time, minlength=self.n_firms
        )
        expected = np.minimum(due, ceiling)
        need = self.slot_coef * expected[self.slot_firm]
        transit = np.bincount(self.slot, self.in_transit, minlength=self.n_slots)
        transit = transit[: self.n_firm_slots]
        gap = d.target_cover_weeks * need - self.stock + self.mean_lead * need - transit
        slot_order = np.maximum(0.0, need + gap / d.adjustment_time)
        self.order[:nfl] = self.firm_link_weight * slot_order[self.firm_link_slot]

        # 7. Adaptation: overproduction rises under scarcity, relaxes otherwise; a firm short
        # of capacity for long enough orders more, which arrives after the build lag.
        short = self.firm_demand > ceiling * (1 + 1e-9)  # a margin for rounding noise
        target = np.where(short, d.alpha_max, 1.0)
        self.alpha += (target - self.alpha) / d.alpha_time
        self.short_weeks = np.where(short, self.short_weeks + 1, 0)
        invest = (self.short_weeks >= d.investment_decision_weeks) & (self.on_order == 0)
        if d.investment_share > 0 and invest.any():
            amount = np.where(invest, d.investment_share * self.network.firms.capacity, 0.0)
            self.on_order += amount
            due = week + d.investment_build_weeks
            self.arriving[due] = self.arriving.get(due, 0.0) + amount

        # 8. Record.
        self._record(recorder, week, final_demand, delivered, production, used, shipped, ceiling)

    def failing_weeks_of(self, links: np.ndarray) -> np.ndarray:
        """Weeks each of these links (network order) has been failing its buyer."""
        position = np.empty_like(self.link_order)
        position[self.link_order] = np.arange(len(self.link_order))
        return self.failing_weeks[position[links]]

    def set_availability(self, availability: np.ndarray) -> None:
        """Per-firm share of capacity available (1 = up, 0 = down)."""
        self.availability = np.asarray(availability, dtype=float).copy()

    def set_link_open(self, open_share: np.ndarray) -> None:
        """Per-link share of trade allowed through (network link order; 0 = closed)."""
        self.link_open = np.asarray(open_share, dtype=float)[self.link_order]
        self.any_closed = bool(np.any(self.link_open < 1.0))

    def _record(self, recorder, week, final_demand, delivered, production, used, shipped, ceiling):
        p = self.n_products
        nfl = self.n_firm_links
        by_product = np.zeros((4, p))
        for row, values in enumerate((shipped, self.in_transit, self.backlog, self.order)):
            by_product[row, self.product_of_segment] = np.add.reduceat(values, self.product_starts)
        firm_slot_product = self.firm_slot_product
        recorder.record(
            week,
            {
                "demanded": final_demand,
                "delivered": delivered,
                "final_backlog": np.bincount(
                    self.state_link_slot, self.backlog[nfl:], minlength=len(final_demand)
                ),
                "production": np.bincount(self.network.firms.product, production, minlength=p),
                "shipped": by_product[0],
                "consumed": np.bincount(firm_slot_product, used, minlength=p),
                "stock": np.bincount(firm_slot_product, self.stock, minlength=p),
                "in_transit": by_product[1],
                "backlog": by_product[2],
                "orders": by_product[3],
                "alpha_mean": self.alpha.mean(),
                # (Elementwise sums, not `@`: BLAS threads crawl on a busy machine.)
                "output_loss": np.sum(
                    self.unit_cost * np.maximum(self.baseline_output - production, 0.0)
                ),
                "direct_loss": np.sum(
                    self.unit_cost * np.maximum(self.baseline_output - ceiling, 0.0)
                ),
                "output_value": np.sum(self.unit_cost * production),
                "utilisation": production.sum() / self.capacity.sum(),
                "capacity": self.capacity.sum(),
            },
        )

    def _ration(self, production: np.ndarray, wanted: np.ndarray) -> np.ndarray:
        """What each link receives from its supplier's output this week."""
        if self.dynamics.rationing == "priority":
            # Inoue & Todo: orders up to the pre-shock level first, the excess after.
            first = np.minimum(wanted, self.baseline_flow)
            first_total = np.bincount(self.supplier, first, minlength=self.n_firms)
            served = first * _fill_share(production, first_total)[self.supplier]
            rest = np.maximum(production - first_total, 0.0)
            extra = wanted - first
            extra_total = np.bincount(self.supplier, extra, minlength=self.n_firms)
            return served + extra * _fill_share(rest, extra_total)[self.supplier]
        return wanted * _fill_share(production, self.firm_demand)[self.supplier]


def _fill_share(available: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """min(1, available / wanted), and 0 where nothing is wanted."""
    share = np.zeros_like(available)
    np.divide(available, wanted, out=share, where=wanted > 0)
    return np.minimum(share, 1.0, out=share)
