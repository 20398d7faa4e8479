"""Products and the bill of materials (BOM).

The BOM is a directed acyclic graph of products. Each product lists the units of each input it
needs per unit of output (a Leontief recipe). End items are the products that states demand; a
product's *tier* is its longest distance below an end item, so assemblers sit in tier 0 and raw
materials in the deepest tier.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Product:
    """One product: what it needs per unit, and how long a domestic shipment of it takes."""

    name: str
    label: str
    lead_time_weeks: int
    inputs: dict[str, float] = field(default_factory=dict)
    chokepoint: bool = False
    service: bool = False  # a service (repair): the unit is a slot-week, see core/services.py
    job_weeks: int = 0  # a service's weeks per job (a job holds one slot that long)


class BillOfMaterials:
    """The products, their recipes and their tiers, indexed for array code.

    Attributes:
        products: the products, in a fixed order (index = position).
        index: product name -> index.
        coefficients: dense matrix ``a[p, q]`` = units of ``q`` per unit of ``p``.
        tiers: tier of each product (0 = end item).
        end_items: indices of the end items, in product order.
    """

    def __init__(self, products: list[Product], end_items: list[str]) -> None:
        self.products = list(products)
        self.index = {p.name: i for i, p in enumerate(self.products)}
        n = len(self.products)
        self.coefficients = np.zeros((n, n))
        for p in self.products:
            for q, units in p.inputs.items():
                self.coefficients[self.index[p.name], self.index[q]] = units
        self.end_items = np.array([self.index[e] for e in end_items], dtype=np.int64)
        self.tiers = self._tiers()

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.products]

    @property
    def end_item_names(self) -> list[str]:
        return [self.products[i].name for i in self.end_items]

    @property
    def lead_times(self) -> np.ndarray:
        return np.array([p.lead_time_weeks for p in self.products], dtype=np.int64)

    def inputs_of(self, product: int) -> np.ndarray:
        """Indices of the inputs of a product, in product order."""
        return np.flatnonzero(self.coefficients[product])

    def topological_order(self) -> list[int]:
        """Products from end items down to raw materials (every buyer before its inputs)."""
        return [int(i) for i in np.argsort(self.tiers, kind="stable")]

    def _tiers(self) -> np.ndarray:
        tiers = np.full(len(self.products), -1, dtype=np.int64)
        tiers[self.end_items] = 0
        # Longest-path layering: relax until stable; a DAG of n products settles in n rounds.
        for _ in range(len(self.products)):
            changed = False
            for p in range(len(self.products)):
                if tiers[p] < 0:
                    continue
                for q in self.inputs_of(p):
                    if tiers[q] < tiers[p] + 1:
                        tiers[q] = tiers[p] + 1
                        changed = True
            if not changed:
                break
        return tiers


def find_cycle(products: dict[str, dict[str, float]]) -> list[str] | None:
    """Return one cycle in the input graph as a list of names, or None if it is acyclic."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        stack.append(name)
        for q in products.get(name, {}):
            if state.get(q) == 1:
                return [*stack[stack.index(q) :], q]
            if state.get(q) is None and q in products:
                found = visit(q)
                if found:
                    return found
        stack.pop()
        state[name] = 2
        return None

    for name in products:
        if state.get(name) is None:
            found = visit(name)
            if found:
                return found
    return None
