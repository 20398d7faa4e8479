"""Per-run metrics of surge and resilience, computed from the recorded series.

Every formula is written out in ``docs/metrics.md``; keep the two in step. Version the
definitions with :data:`METRICS_VERSION` when one changes, so results tables can say which
definitions produced them.

Notation: end items e, weeks t = 1..T; D_e(t) demanded, Y_e(t) delivered (arrived) and
S_e(t) served to the forces (arrivals plus any stockpile draw) in week t;
Q(t) = mean over e of S_e(t) / D_e(t) (each end item counts equally, whatever its volume);
Q_value(t) = sum_e v_e S_e(t) / sum_e v_e D_e(t), end items weighted by embodied unit cost v_e;
t0 = the first week of a shock (the surge start if surge != 1, or the first disruption).
Amplification follows ARIO (Hallegatte 2008): output lost by every firm over output lost
directly, the direct loss being capacity removed x baseline use, both over weeks t0..T.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from webmodel.core.model import CoalitionModel

METRICS_VERSION = "2"  # 2: amplification_gross/_net (ARIO) and loss_area_value added
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
    "amplification_gross",
    "amplification_net",
    "loss_area_value",
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


def end_item_values(model: CoalitionModel) -> np.ndarray:
    """v_e: each end item's value per unit, in ``end_items`` order - the weights of
    :func:`performance_value`.

    A unit's value is its embodied cost: its makers' unit cost (weighted by baseline output)
    plus the value of the inputs its bill of materials takes, v = c + A v. The scenarios'
    ``unit_cost`` is a relative cost index near 1 for every product, so the makers' own cost
    alone would weigh end items by volume; the embodied cost weighs them by what goes into them.
    """
    net = model.network
    n = len(net.product_names)
    base = net.baseline_output
    made = np.bincount(net.firms.product, base, minlength=n)
    spent = np.bincount(net.firms.product, net.firms.unit_cost * base, minlength=n)
    cost = np.divide(spent, made, out=np.ones(n), where=made > 0)
    value = np.linalg.solve(np.eye(n) - model.bom.coefficients, cost)
    return np.array([value[net.product_names.index(item)] for item in end_items(model)])


def performance_value(model: CoalitionModel) -> np.ndarray:
    """Q_value(t): value served / value demanded in week t, end items weighted by unit cost.

    Beside :func:`performance`, where 17 interceptors a week weigh as much as 3,750 shells;
    here each counts by its value (value per unit x units, see :func:`end_item_values`).
    """
    served = by_end_item(model, "served")
    demanded = by_end_item(model, "demanded")
    values = end_item_values(model)
    wanted = demanded @ values
    got = served @ values
    return np.divide(got, wanted, out=np.ones_like(got), where=wanted > 0)


def capacity_removed(model: CoalitionModel) -> np.ndarray:
    """1 - a_i(t): the share of each firm's capacity that disruptions remove, weeks x firms,
    replayed from the scheduled disruptions (overlaps combine by the minimum, as in the run)."""
    weeks = len(model.series("output_loss"))
    removed = np.zeros((weeks, model.network.n_firms))
    firm_hits = [d for d in model.disruptions if d.firms is not None and len(d.firms)]
    for t in range(weeks):
        availability = np.ones(model.network.n_firms)
        for d in firm_hits:
            level = d.disruption.level(t + 1)
            if level < 1.0:
                np.minimum.at(availability, d.firms, level)
        removed[t] = 1.0 - availability
    return removed


def direct_loss_series(model: CoalitionModel) -> np.ndarray:
    """ARIO's direct loss per week: sum_i c_i (1 - a_i(t)) x_i0 - the removed capacity times
    its baseline use, valued at unit cost (what the hit firms could not make of their
    baseline output, before anyone adapts)."""
    net = model.network
    return capacity_removed(model) @ (net.firms.unit_cost * net.baseline_output)


def amplification(
    model: CoalitionModel, kind: str = "gross", window: tuple[int, int] | None = None
) -> float | None:
    """ARIO's amplification: total output lost over output lost directly (Hallegatte 2008).

    Total output lost, summed over firms and over the weeks of ``window`` (first, last week;
    default t0 .. the last recorded week):

    - "gross": sum_t sum_i c_i max(0, x_i0 - x_i(t)) - every firm's shortfall, overproduction
      elsewhere not netted;
    - "net": sum_t sum_i c_i (x_i0 - x_i(t)) - shortfall less any output above baseline (a
      firm catching up on its backlog pays part of the loss back), BoARIO's production loss.

    The denominator is :func:`direct_loss_series` over the same weeks. None without a firm
    disruption (a surge or a trade closure removes no capacity).
    """
    if kind not in ("gross", "net"):
        raise ValueError(f"kind must be gross or net, got {kind!r}")
    direct = direct_loss_series(model)
    if window is None:
        t0 = shock_start(model)
        if t0 is None or t0 > len(direct):
            return None
        window = (t0, len(direct))
    first, last = window
    rows = slice(first - 1, last)
    denominator = float(direct[rows].sum())
    if denominator <= 0:
        return None
    if kind == "gross":
        lost = float(model.series("output_loss")[rows].sum())
    else:
        net = model.network
        baseline_value = float((net.firms.unit_cost * net.baseline_output).sum())
        lost = float((baseline_value - model.series("output_value")[rows]).sum())
    return lost / denominator


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
        "amplification_gross": amplification(model, "gross"),
        "amplification_net": amplification(model, "net"),
        "loss_area_value": loss_area(performance_value(model), t0) if t0 else None,
        "supplier_hhi": supplier_hhi(model),
        "hub_assembly_share": hub_assembly_share(model),
        "cross_border_share": cross_border_share(model),
    }


def missing_reasons(model: CoalitionModel) -> dict[str, str]:
    """Why each metric :func:`compute_metrics` gives as None does not apply to this run, in
    words (the command line and reports print ``n/a (reason)``, never a bare ``n/a``)."""
    weeks = len(model.series("output_loss"))
    metrics = compute_metrics(model)
    shock = shock_start(model)
    if weeks == 0:
        no_shock = "no weeks run"
    elif shock is None:
        no_shock = "no shock: no surge and no disruption"
    elif shock > weeks:
        no_shock = f"the first shock starts in week {shock}, after the horizon (week {weeks})"
    else:
        no_shock = ""
    firm_hits = [d for d in model.disruptions if d.firms is not None and len(d.firms)]
    if not model.disruptions:
        no_capacity_lost = "no disruption: a surge removes no capacity"
    elif not firm_hits:
        no_capacity_lost = "no firm taken down (a trade closure removes no capacity)"
    elif min(d.disruption.start for d in firm_hits) > weeks:
        no_capacity_lost = "the firm disruptions start after the horizon"
    else:
        no_capacity_lost = "no capacity removed from the shock on"
    if model.surge <= 1.0:
        no_surge = "no surge (surge 1)"
    elif model.surge_start > weeks:
        no_surge = f"the surge starts in week {model.surge_start}, after the horizon ({weeks})"
    else:
        no_surge = f"never reached {SURGE_TARGET:.0%} of surged demand by week {weeks}"
    why = {
        "fill_rate": "no weeks run",
        "peak_over_baseline": "no weeks run",
        "backlog_end": "no weeks run",
        "loss_area": no_shock,
        "min_performance": no_shock,
        "loss_area_value": no_shock,
        "time_to_recover": no_shock
        or f"not back to {RECOVERED:.0%} of demand by the horizon (week {weeks})",
        "time_to_surge_target": no_surge,
        "amplification": no_capacity_lost,
        "amplification_gross": no_capacity_lost,
        "amplification_net": no_capacity_lost,
    }
    return {name: why.get(name) or "not defined" for name, v in metrics.items() if v is None}
