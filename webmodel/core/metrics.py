"""Per-run metrics of surge and resilience, computed from the recorded series.

Every formula is written out in ``docs/metrics.md``; keep the two in step. Version the
definitions with :data:`METRICS_VERSION` when one changes, so results tables can say which
definitions produced them.

Notation: end items e, weeks t = 1..T; D_e(t) demanded, Y_e(t) delivered (arrived) and
S_e(t) served to the forces (arrivals plus any stockpile draw) in week t;
Q(t) = mean over e of S_e(t) / D_e(t) (each end item counts equally, whatever its volume);
t0 = the first week of a shock (the surge start if surge != 1, or the first disruption).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from webmodel.core.model import CoalitionModel

METRICS_VERSION = "1"
RECOVERED = 0.95  # performance that counts as recovered
SURGE_TARGET = 0.9  # share of surged demand that counts as reaching the surge
METRIC_NAMES = (
    "fill_rate",
    "loss_area",
    "min_performance",
    "time_to_recover",
    "time_to_surge_target",
    "peak_over_baseline",
    "backlog_end",
    "amplification",
    "supplier_hhi",
    "hub_assembly_share",
    "cross_border_share",
)


def by_end_item(model: CoalitionModel, name: str) -> np.ndarray:
    """A per-slot series summed over states: weeks x end items (in ``end_items`` order)."""
    values = model.series(name)
    items = end_items(model)
    out = np.zeros((values.shape[0], len(items)))
    for k, item in enumerate(model.slot_items):
        out[:, items.index(item)] += values[:, k]
    return out


def end_items(model: CoalitionModel) -> list[str]:
    return list(dict.fromkeys(model.slot_items))


def baseline_by_end_item(model: CoalitionModel) -> np.ndarray:
    """Weekly baseline demand per end item, all states together."""
    items = end_items(model)
    out = np.zeros(len(items))
    for k, item in enumerate(model.slot_items):
        out[items.index(item)] += model.network.baseline_demand[k]
    return out


def performance(model: CoalitionModel) -> np.ndarray:
    """Q(t): mean over end items of served / demanded in week t (1 = the forces' need met).

    "Served" is what the forces received: arrivals, or the state's stockpile while it lasts.
    """
    delivered = by_end_item(model, "served")
    demanded = by_end_item(model, "demanded")
    ratio = np.divide(delivered, demanded, out=np.ones_like(delivered), where=demanded > 0)
    return ratio.mean(axis=1)


def shock_start(model: CoalitionModel) -> int | None:
    """First week of a shock (surge or disruption), or None if the run had none."""
    starts = [d.disruption.start for d in model.disruptions]
    if model.surge != 1.0:
        starts.append(model.surge_start)
    return min(starts) if starts else None


def fill_rate(delivered: np.ndarray, demanded: np.ndarray) -> float:
    """Mean over end items of total delivered / total demanded."""
    total = demanded.sum(axis=0)
    rates = np.divide(delivered.sum(axis=0), total, out=np.ones_like(total), where=total > 0)
    return float(rates.mean())


def loss_area(q: np.ndarray, t0: int) -> float:
    """Resilience triangle (Bruneau 2003): sum over t >= t0 of max(0, 1 - Q(t)), in weeks."""
    return float(np.maximum(0.0, 1.0 - q[t0 - 1 :]).sum())


def time_to_recover(q: np.ndarray, t0: int, level: float = RECOVERED) -> int | None:
    """Weeks from t0 until Q stays >= ``level`` to the end; None if it never does."""
    after = q[t0 - 1 :]
    below = np.flatnonzero(after < level)
    if len(below) == 0:
        return 0
    if below[-1] == len(after) - 1:
        return None
    return int(below[-1] + 1)


def time_to_target(q: np.ndarray, start: int, level: float = SURGE_TARGET) -> int | None:
    """Weeks from ``start`` until Q first reaches ``level``; None if it never does."""
    reached = np.flatnonzero(q[start - 1 :] >= level)
    return int(reached[0]) if len(reached) else None


def supplier_hhi(model: CoalitionModel) -> float:
    """Mean over firms' inputs of the Herfindahl index of order shares (1 = single source)."""
    net = model.network
    hhi = np.bincount(net.link_slot, net.link_weight**2, minlength=net.n_slots)
    firm_slots = (net.slot_firm >= 0) & (np.bincount(net.link_slot, minlength=net.n_slots) > 0)
    return float(hhi[firm_slots].mean())


def hub_assembly_share(model: CoalitionModel) -> float:
    """Share of end-item assembly capacity located in the hub state."""
    net = model.network
    hub = net.state_codes.index(net.scenario.hub)
    assemblers = np.isin(net.firms.product, model.bom.end_items)
    capacity = net.firms.capacity[assemblers]
    return float(capacity[net.firms.state[assemblers] == hub].sum() / capacity.sum())


def cross_border_share(model: CoalitionModel) -> float:
    """Share of supplier links that cross a border."""
    return float(model.network.link_cross_border.mean())


def compute_metrics(model: CoalitionModel) -> dict[str, float | int | None]:
    """Every metric of METRIC_NAMES for a finished (or running) model."""
    delivered = by_end_item(model, "delivered")
    served = by_end_item(model, "served")
    demanded = by_end_item(model, "demanded")
    q = performance(model)
    t0 = shock_start(model)
    if t0 is not None and t0 > len(q):
        t0 = None
    base_by_item = baseline_by_end_item(model)
    peak = (delivered / base_by_item).mean(axis=1).max() if len(q) else None
    backlog = by_end_item(model, "final_backlog")
    direct = float(model.series("direct_loss").sum())
    total_loss = float(model.series("output_loss").sum())
    surged = model.surge > 1.0 and model.surge_start <= len(q)
    return {
        "fill_rate": fill_rate(served, demanded) if len(q) else None,
        "loss_area": loss_area(q, t0) if t0 else None,
        "min_performance": float(q[t0 - 1 :].min()) if t0 else None,
        "time_to_recover": time_to_recover(q, t0) if t0 else None,
        "time_to_surge_target": time_to_target(q, model.surge_start) if surged else None,
        "peak_over_baseline": float(peak) if peak is not None else None,
        "backlog_end": float((backlog[-1] / base_by_item).mean()) if len(q) else None,
        "amplification": total_loss / direct if direct > 0 else None,
        "supplier_hhi": supplier_hhi(model),
        "hub_assembly_share": hub_assembly_share(model),
        "cross_border_share": cross_border_share(model),
    }
