"""The array engine: one weekly step as whole-array operations over all firms and links.

Every phase (DESIGN.md §5) is a handful of numpy operations over the network's flat arrays;
nothing here loops over firms or links in Python. :mod:`webmodel.reference` computes the same
step agent by agent, and the tests hold the two to 1e-9.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from webmodel.network import Network
from webmodel.recorder import Recorder


@dataclass(frozen=True)
class Dynamics:
    """Behavioural parameters used by both engines (see :class:`webmodel.scenario.Parameters`)."""

    target_cover_weeks: float = 4.0
    adjustment_time: float = 4.0
    alpha_max: float = 1.25
    alpha_time: float = 8.0
    rationing: str = "proportional"


class ArrayEngine:
    """Owns the per-firm, per-slot and per-link state arrays and advances them one week."""

    def __init__(self, network: Network, dynamics: Dynamics) -> None:
        self.network = net = network
        self.dynamics = dynamics
        n_products = len(net.scenario.products)
        self.n_products = n_products
        firms = net.firms
        self.n_firm_slots = nfs = net.n_firm_slots
        self.capacity = firms.capacity.copy()
        self.availability = np.ones(net.n_firms)
        self.alpha = np.ones(net.n_firms)

        # Static index arrays.
        self.supplier = net.link_supplier
        self.slot = net.link_slot
        self.weight = net.link_weight
        self.lead = net.link_lead
        self.to_state = self.slot >= nfs  # links delivering end items to states
        self.to_firm = ~self.to_state
        self.firm_links = np.flatnonzero(self.to_firm)
        self.state_links = np.flatnonzero(self.to_state)
        self.slot_firm = net.slot_firm[:nfs]
        self.slot_coef = net.slot_coef[:nfs]
        self.slot_product = net.slot_product
        self.link_product = net.link_product
        buyers, starts = np.unique(self.slot_firm, return_index=True)
        self.buying_firms = buyers  # firms that have inputs
        self.buyer_slot_starts = starts  # firm slots are grouped by firm
        self.mean_lead = np.bincount(self.slot, self.weight * self.lead, minlength=net.n_slots)[
            :nfs
        ]
        self.horizon = int(self.lead.max()) + 1
        self.link_index = np.arange(net.n_links)

        # Equilibrium state.
        flow = net.baseline_link_flow()
        self.baseline_flow = flow
        base_out = net.baseline_output
        self.stock = dynamics.target_cover_weeks * self.slot_coef * base_out[self.slot_firm]
        self.order = flow.copy()  # orders standing at the start of week 1
        self.backlog = np.zeros(net.n_links)
        self.pipeline = np.zeros((self.horizon, net.n_links))
        self.in_transit = flow * self.lead
        self._prefill_pipeline(flow)
        self.production = base_out.copy()
        self.firm_demand = base_out.copy()

    def _prefill_pipeline(self, flow: np.ndarray) -> None:
        # Row (t mod horizon) holds what arrives in week t. At the start (week 0 done), links
        # with lead L have shipments arriving in weeks 1 .. L.
        for arrive in range(1, self.horizon):
            self.pipeline[arrive % self.horizon, self.lead >= arrive] = flow[self.lead >= arrive]

    # --- the step ---------------------------------------------------------------------------
    def step(self, week: int, final_demand: np.ndarray, recorder: Recorder) -> None:
        """Advance one week. ``final_demand`` is each state slot's new demand this week."""
        d = self.dynamics
        net = self.network
        # 2. Final demand: states order this week's demand from their end-item suppliers.
        self.order[self.state_links] = (
            self.weight[self.state_links]
            * final_demand[self.slot[self.state_links] - self.n_firm_slots]
        )
        wanted = self.order + self.backlog
        self.firm_demand = np.bincount(self.supplier, wanted, minlength=net.n_firms)

        # 3. Production: capacity, orders, and the scarcest input bound it (Leontief).
        ceiling = self.alpha * self.availability * self.capacity
        input_room = self.stock / self.slot_coef
        input_bound = np.full(net.n_firms, np.inf)
        input_bound[self.buying_firms] = np.minimum.reduceat(input_room, self.buyer_slot_starts)
        production = np.minimum(np.minimum(ceiling, self.firm_demand), input_bound)
        self.production = production
        used = self.slot_coef * production[self.slot_firm]
        self.stock -= used

        # 4. Rationing: output is shared among customers' orders; the rest becomes backlog.
        shipped = self._ration(production, wanted)
        self.backlog = wanted - shipped

        # 5. Shipping: into the pipeline; this week's arrivals come out of it.
        self.pipeline[(week + self.lead) % self.horizon, self.link_index] += shipped
        row = week % self.horizon
        arrived = self.pipeline[row].copy()
        self.pipeline[row] = 0.0
        self.in_transit += shipped - arrived
        received = np.bincount(self.slot, arrived, minlength=net.n_slots)
        self.stock += received[: self.n_firm_slots]
        delivered = received[self.n_firm_slots :]

        # 6. Ordering: expected demand plus closing the stock and supply-line gaps over tau.
        new_orders = np.bincount(self.supplier, self.order, minlength=net.n_firms)
        backlog_due = np.bincount(self.supplier, self.backlog, minlength=net.n_firms)
        expected = np.minimum(new_orders + backlog_due / d.adjustment_time, ceiling)
        need = self.slot_coef * expected[self.slot_firm]
        transit = np.bincount(self.slot, self.in_transit, minlength=net.n_slots)[
            : self.n_firm_slots
        ]
        gap = d.target_cover_weeks * need - self.stock + self.mean_lead * need - transit
        slot_order = np.maximum(0.0, need + gap / d.adjustment_time)
        self.order[self.firm_links] = (
            self.weight[self.firm_links] * slot_order[self.slot[self.firm_links]]
        )

        # 7. Adaptation: overproduction rises under scarcity, relaxes otherwise.
        scarce = self.firm_demand > ceiling
        target = np.where(scarce, d.alpha_max, 1.0)
        self.alpha = self.alpha + (target - self.alpha) / d.alpha_time

        # 8. Record.
        p = self.n_products
        recorder.record(
            week,
            {
                "demanded": final_demand,
                "delivered": delivered,
                "final_backlog": np.bincount(
                    self.slot[self.state_links] - self.n_firm_slots,
                    self.backlog[self.state_links],
                    minlength=len(final_demand),
                ),
                "production": np.bincount(net.firms.product, production, minlength=p),
                "shipped": np.bincount(self.link_product, shipped, minlength=p),
                "consumed": np.bincount(self.slot_product[: self.n_firm_slots], used, minlength=p),
                "stock": np.bincount(
                    self.slot_product[: self.n_firm_slots], self.stock, minlength=p
                ),
                "in_transit": np.bincount(self.link_product, self.in_transit, minlength=p),
                "backlog": np.bincount(self.link_product, self.backlog, minlength=p),
                "orders": np.bincount(self.link_product, self.order, minlength=p),
                "alpha_mean": self.alpha.mean(),
                "utilisation": production.sum() / self.capacity.sum(),
            },
        )

    def _ration(self, production: np.ndarray, wanted: np.ndarray) -> np.ndarray:
        """What each link receives from its supplier's output this week."""
        n = self.network.n_firms
        if self.dynamics.rationing == "priority":
            # Inoue & Todo: orders up to the pre-shock level first, the excess after.
            first = np.minimum(wanted, self.baseline_flow)
            first_total = np.bincount(self.supplier, first, minlength=n)
            share = _fill_share(production, first_total)
            served = first * share[self.supplier]
            rest = np.maximum(production - first_total, 0.0)
            extra = wanted - first
            extra_total = np.bincount(self.supplier, extra, minlength=n)
            return served + extra * _fill_share(rest, extra_total)[self.supplier]
        return wanted * _fill_share(production, self.firm_demand)[self.supplier]


def _fill_share(available: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """min(1, available / wanted), and 0 where nothing is wanted."""
    share = np.zeros_like(available)
    np.divide(available, wanted, out=share, where=wanted > 0)
    return np.minimum(share, 1.0)
