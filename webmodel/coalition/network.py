"""The wired coalition: firms, buyer input slots and supplier links, as flat arrays.

A :class:`Network` is what the engines run on. It is built from a scenario by
:mod:`webmodel.coalition.topology` (or read from a GraphML / node-link JSON file by
:mod:`webmodel.io.netio`).

Terms:
    firm:  one producer of one product in one state.
    slot:  one buyer's need for one product - a firm's input (firm, input product), or a state's
           final demand for an end item (state, end item). Slots are ordered: all firm slots first
           (grouped by firm), then all state slots.
    link:  one supplier firm serving one slot, with an order ``weight`` (the share of the slot's
           orders placed with that supplier; weights of a slot sum to 1) and a ``lead_time``
           (the product's lead time plus the border delay between the two states). Links are
           built sorted by slot; re-sourcing appends new ones at the end.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from webmodel.coalition.scenario import Scenario


@dataclass
class Firms:
    """Per-firm attributes (index = firm id). Identical across topologies, except ``state``
    of end-item assemblers, which hub-and-spokes moves to the hub."""

    name: list[str]
    product: np.ndarray  # int, product index
    state: np.ndarray  # int, state index where the firm produces in this topology
    home_state: np.ndarray  # int, state index given in the scenario
    capacity: np.ndarray  # float, units per week
    unit_cost: np.ndarray  # float

    def __len__(self) -> int:
        return len(self.name)


@dataclass
class Network:
    """A scenario wired into one topology, plus the baseline (equilibrium) flows."""

    scenario: Scenario
    topology: str
    web_ness: float
    firms: Firms
    # slots
    slot_firm: np.ndarray  # int, buying firm, or -1 for a state slot
    slot_state: np.ndarray  # int, buying state (for firm slots: the firm's state)
    slot_product: np.ndarray  # int, the product bought
    slot_coef: np.ndarray  # float, units per unit of the buyer's output (1 for state slots)
    # links, sorted by slot
    link_supplier: np.ndarray  # int
    link_slot: np.ndarray  # int
    link_weight: np.ndarray  # float, sums to 1 per slot
    link_lead: np.ndarray  # int, weeks in transit
    # baseline, computed from the above
    baseline_output: np.ndarray = field(init=False)  # per firm, units per week
    baseline_demand: np.ndarray = field(init=False)  # per state slot, units per week

    def __post_init__(self) -> None:
        self.baseline_output, self.baseline_demand = self.compute_baseline()

    # --- sizes and views ------------------------------------------------------------------
    @property
    def n_firms(self) -> int:
        return len(self.firms)

    @property
    def n_links(self) -> int:
        return len(self.link_supplier)

    @property
    def n_slots(self) -> int:
        return len(self.slot_product)

    @property
    def n_firm_slots(self) -> int:
        return int(np.count_nonzero(self.slot_firm >= 0))

    @property
    def state_codes(self) -> list[str]:
        return self.scenario.state_codes

    @property
    def product_names(self) -> list[str]:
        return [p.name for p in self.scenario.products]

    @property
    def link_product(self) -> np.ndarray:
        return self.firms.product[self.link_supplier]

    @property
    def link_buyer_state(self) -> np.ndarray:
        return self.slot_state[self.link_slot]

    @property
    def link_cross_border(self) -> np.ndarray:
        return self.firms.state[self.link_supplier] != self.link_buyer_state

    def capacity_by_product(self) -> np.ndarray:
        return np.bincount(
            self.firms.product, self.firms.capacity, minlength=len(self.scenario.products)
        )

    # --- baseline -------------------------------------------------------------------------
    def compute_baseline(self) -> tuple[np.ndarray, np.ndarray]:
        """Equilibrium output of every firm implied by final demand and the order weights.

        Demand flows down the bill of materials tier by tier: a slot's need is split over its
        links by weight, a firm's output is the sum of what its links ask of it, and a firm's
        output creates its input slots' needs.
        """
        bom = self.scenario.bom()
        state_slots = np.flatnonzero(self.slot_firm < 0)
        demand = np.zeros(len(state_slots))
        names = self.product_names
        for k, slot in enumerate(state_slots):
            state = self.scenario.states[self.slot_state[slot]]
            demand[k] = state.demand.get(names[self.slot_product[slot]], 0.0)
        slot_need = np.zeros(self.n_slots)
        slot_need[state_slots] = demand
        output = np.zeros(self.n_firms)
        firm_slots = np.flatnonzero(self.slot_firm >= 0)
        for product in bom.topological_order():
            links = np.flatnonzero(self.link_product == product)
            asked = np.bincount(
                self.link_supplier[links],
                self.link_weight[links] * slot_need[self.link_slot[links]],
                minlength=self.n_firms,
            )
            makers = self.firms.product == product
            output[makers] = asked[makers]
            # The need of each input slot of these makers.
            mine = firm_slots[makers[self.slot_firm[firm_slots]]]
            slot_need[mine] = self.slot_coef[mine] * output[self.slot_firm[mine]]
        return output, demand

    def baseline_link_flow(self) -> np.ndarray:
        """Units per week on each link at equilibrium."""
        need = np.zeros(self.n_slots)
        firm_slots = self.slot_firm >= 0
        need[firm_slots] = (
            self.slot_coef[firm_slots] * self.baseline_output[self.slot_firm[firm_slots]]
        )
        need[~firm_slots] = self.baseline_demand
        return self.link_weight * need[self.link_slot]

    def baseline_flow_of(self, links: np.ndarray) -> np.ndarray:
        """Equilibrium units per week on some links (cheaper than all of them)."""
        slots = self.link_slot[links]
        owners = self.slot_firm[slots]
        need = np.where(
            owners >= 0,
            self.slot_coef[slots] * self.baseline_output[np.maximum(owners, 0)],
            self.baseline_demand[np.maximum(slots - self.n_firm_slots, 0)],
        )
        return self.link_weight[links] * need

    def add_links(self, slots: np.ndarray, suppliers: np.ndarray, weights: np.ndarray) -> list[int]:
        """New links from ``suppliers`` to ``slots`` with order shares ``weights``, lead times
        from the products and borders; returns their indices (appended at the end)."""
        if len(slots) == 0:
            return []
        slots, suppliers = np.asarray(slots, dtype=np.int64), np.asarray(suppliers, dtype=np.int64)
        scenario = self.scenario
        codes = scenario.state_codes
        product_lead = np.array([p.lead_time_weeks for p in scenario.products])
        border = np.array(
            [
                scenario.border_delay(codes[a], codes[b])
                for a, b in zip(self.firms.state[suppliers], self.slot_state[slots], strict=True)
            ],
            dtype=np.int64,
        )
        first = self.n_links
        self.link_supplier = np.concatenate((self.link_supplier, suppliers))
        self.link_slot = np.concatenate((self.link_slot, slots))
        self.link_weight = np.concatenate((self.link_weight, np.asarray(weights, dtype=float)))
        self.link_lead = np.concatenate(
            (self.link_lead, product_lead[self.firms.product[suppliers]] + border)
        )
        return list(range(first, self.n_links))

    def move_orders_many(self, moves: list[tuple[int, int, float]]) -> list[int]:
        """Re-source: for each (link, supplier, share), a new link from ``supplier`` to the
        link's slot takes over ``share`` (0..1) of the link's order weight; returns the new
        links' indices.

        The old link keeps what it is owed (its backlog) and the rest of its weight. The
        baseline (equilibrium) flows are not recomputed: they describe the world before the
        shock.
        """
        if not moves:
            return []
        links = np.array([m[0] for m in moves], dtype=np.int64)
        suppliers = np.array([m[1] for m in moves], dtype=np.int64)
        shares = np.array([m[2] for m in moves], dtype=float)
        moved = self.link_weight[links] * shares
        new = self.add_links(self.link_slot[links], suppliers, moved)
        np.subtract.at(self.link_weight, links, moved)
        self.link_weight[links] = np.maximum(self.link_weight[links], 0.0)
        return new

    def shift_orders_many(self, shifts: list[tuple[int, int, float]]) -> None:
        """For each (from_link, to_link, share): ``share`` of from_link's order weight goes to
        to_link, an existing (qualified) supplier of the same slot."""
        for source, target, share in shifts:
            moved = self.link_weight[source] * share
            self.link_weight[source] = max(self.link_weight[source] - moved, 0.0)
            self.link_weight[target] += moved

    def copy(self) -> Network:
        """An independent copy (a model re-sources its own network, never a shared one)."""
        twin = copy.copy(self)
        for name in ("link_supplier", "link_slot", "link_weight", "link_lead"):
            setattr(twin, name, getattr(self, name).copy())
        return twin

    def check_feasible(self) -> list[str]:
        """Problems that keep this wiring from sitting in equilibrium (empty if none)."""
        problems = []
        over = np.flatnonzero(self.baseline_output > self.firms.capacity * (1 + 1e-9))
        for i in over[:10]:
            problems.append(
                f"firm {self.firms.name[i]}: baseline load {self.baseline_output[i]:.6g}/week "
                f"exceeds its capacity {self.firms.capacity[i]:.6g}/week"
            )
        if len(over) > 10:
            problems.append(f"... and {len(over) - 10} more firms over capacity")
        # A firm nobody buys from (possible under single sourcing) needs no suppliers itself.
        served = np.bincount(self.link_slot, minlength=self.n_slots) > 0
        firm_slot = self.slot_firm >= 0
        needed = np.ones(self.n_slots, dtype=bool)
        needed[firm_slot] = self.baseline_output[self.slot_firm[firm_slot]] > 0
        unserved = np.flatnonzero(~served & needed)
        names = self.product_names
        for s in unserved[:10]:
            who = (
                self.firms.name[self.slot_firm[s]]
                if self.slot_firm[s] >= 0
                else f"state {self.state_codes[self.slot_state[s]]}"
            )
            problems.append(f"{who}: no supplier of {names[self.slot_product[s]]}")
        return problems
