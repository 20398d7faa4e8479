"""Mesa agents: states and firms.

Agents carry identity and are what users select, group and portray (``model.agents_by_type``,
``select``, ``groupby``). Their changing quantities live in the engine's arrays, so the step
stays vectorised; each agent reads its own entries through properties.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

if TYPE_CHECKING:
    from webmodel.model import CoalitionModel


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
        net = model.network
        self.index = index
        self.label = net.firms.name[index]
        self.product = net.product_names[net.firms.product[index]]
        self.state = net.state_codes[net.firms.state[index]]
        self.home_state = net.state_codes[net.firms.home_state[index]]
        self.tier = int(model.bom.tiers[net.firms.product[index]])
        self.capacity = float(net.firms.capacity[index])
        self.unit_cost = float(net.firms.unit_cost[index])
        self.baseline_output = float(net.baseline_output[index])

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
