"""Per-step aggregates of a run, in preallocated arrays (no per-agent data collection)."""

from __future__ import annotations

import numpy as np

from webmodel.core.services import SERVICE_VARIABLES

# name -> (shape kind, description). "slot": per state slot (state x end item);
# "product": per product; "scalar": one number.
VARIABLES: dict[str, tuple[str, str]] = {
    "demanded": ("slot", "new final demand placed by the state for the end item this week"),
    "delivered": ("slot", "end items arriving at the state this week"),
    "final_backlog": ("slot", "end items the state ordered and has not yet been shipped"),
    "served": ("slot", "end items the state's forces received this week (arrivals or stockpile)"),
    "state_stock": ("slot", "the state's stockpile of the end item at the end of the week"),
    "production": ("product", "units produced this week"),
    "shipped": ("product", "units shipped to customers this week (equals production)"),
    "consumed": ("product", "units used up as inputs this week"),
    "stock": ("product", "input stock held by buyers at the end of the week"),
    "in_transit": ("product", "units shipped and not yet arrived at the end of the week"),
    "lost_in_transit": (
        "product",
        "units lost at a closed border this week (closed_border_transit = lost)",
    ),
    "backlog": ("product", "orders placed with makers of the product and not yet filled"),
    "orders": ("product", "new orders placed with makers of the product this week"),
    "alpha_mean": ("scalar", "mean overproduction factor over firms"),
    "output_loss": ("scalar", "value (units x unit cost) of baseline output not produced"),
    "direct_loss": ("scalar", "value of baseline output that down capacity could not produce"),
    "output_value": ("scalar", "value (units x unit cost) of all firms' output this week"),
    "utilisation": ("scalar", "total production / total nominal capacity"),
    "capacity": ("scalar", "total nominal capacity (grows with investment)"),
    **SERVICE_VARIABLES,
}


class Recorder:
    """Holds every recorded variable for ``steps`` weeks; row t-1 is week t."""

    def __init__(self, steps: int, n_state_slots: int, n_products: int) -> None:
        self.steps = steps
        self.weeks_done = 0
        sizes = {"slot": n_state_slots, "product": n_products}
        self.data: dict[str, np.ndarray] = {}
        for name, (kind, _) in VARIABLES.items():
            shape = (steps,) if kind == "scalar" else (steps, sizes[kind])
            self.data[name] = np.zeros(shape)

    def grow(self, steps: int) -> None:
        """Make room for more weeks (the app steps without a fixed horizon)."""
        if steps <= self.steps:
            return
        for name, array in self.data.items():
            bigger = np.zeros((steps, *array.shape[1:]))
            bigger[: self.steps] = array
            self.data[name] = bigger
        self.steps = steps

    def record(self, week: int, values: dict[str, np.ndarray | float]) -> None:
        if week > self.steps:
            self.grow(max(week, 2 * self.steps))
        for name, value in values.items():
            self.data[name][week - 1] = value
        self.weeks_done = max(self.weeks_done, week)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.data[name][: self.weeks_done]
