"""Mesa agents: states and firms.

Agents carry identity and are what users select, group and portray (``model.agents_by_type``,
``select``, ``groupby``). Their changing quantities live in the engine's arrays, so the step
stays vectorised; each agent reads its own entries through properties.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

if TYPE_CHECKING:
    from webmodel.core.model import CoalitionModel


class State(mesa.Agent):
    """A coalition member: the hub or an ally, with final demand for end items."""

    def __init__(self, model: CoalitionModel, index: int) -> None:
        super().__init__(model)
        spec = model.coalition.states[index]
        self.index = index
        self.code = spec.code
        self.name = spec.name
        self.role = spec.role
        self.baseline_demand = dict(spec.demand)

    @property
    def is_hub(self) -> bool:
        return self.role == "hub"

    @property
    def delivered_last_week(self) -> dict[str, float]:
        """End items that arrived in the last completed week, by end item."""
        return self.model.state_series("delivered", self.code, last=True)

    def __repr__(self) -> str:
        return f"State({self.code})"


class Firm(mesa.Agent):
    """One producer of one product in one state (a thin view over the engine's arrays)."""

    def __init__(self, model: CoalitionModel, index: int) -> None:
        super().__init__(model)
        self.index = index

    # Static attributes are read from the network on demand: creating 10,000 firms stays cheap.
    @property
    def label(self) -> str:
        return self.model.network.firms.name[self.index]

    @property
    def product(self) -> str:
        net = self.model.network
        return net.product_names[net.firms.product[self.index]]

    @property
    def state(self) -> str:
        """Where the firm produces in this topology (hub-and-spokes moves assemblers to the hub)."""
        net = self.model.network
        return net.state_codes[net.firms.state[self.index]]

    @property
    def home_state(self) -> str:
        """The state the scenario places the firm in."""
        net = self.model.network
        return net.state_codes[net.firms.home_state[self.index]]

    @property
    def tier(self) -> int:
        """Depth below the end items in the bill of materials (0 = end-item assembler)."""
        return int(self.model.bom.tiers[self.model.network.firms.product[self.index]])

    @property
    def capacity(self) -> float:
        """Nominal capacity, units per week."""
        return float(self.model.network.firms.capacity[self.index])

    @property
    def unit_cost(self) -> float:
        return float(self.model.network.firms.unit_cost[self.index])

    @property
    def baseline_output(self) -> float:
        """Output per week in the no-shock equilibrium."""
        return float(self.model.network.baseline_output[self.index])

    @property
    def output(self) -> float:
        """Units produced in the last completed week."""
        return float(self.model.engine.production[self.index])

    @property
    def alpha(self) -> float:
        """Current overproduction factor (1 = nominal capacity)."""
        return float(self.model.engine.alpha[self.index])

    @property
    def availability(self) -> float:
        """Share of capacity available (1 = fully up, 0 = down)."""
        return float(self.model.engine.availability[self.index])

    def __repr__(self) -> str:
        return f"Firm({self.label})"
