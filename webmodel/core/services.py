"""Service end items: ship repair, aircraft depot maintenance.

A service is an end item whose unit is a **slot-week**: one dock (or hangar) slot busy with one
ship (or aircraft) for one week. Its firms are the yards; a yard's capacity is its number of
slots, and its bill of materials is the parts one slot-week of work uses, ordered like any
firm's inputs. A state's fleet sends ``jobs_per_week`` ships for maintenance; a job holds a slot
for ``job_weeks`` weeks. Internally the state's demand for the service is in slot-weeks
(jobs x job_weeks), so the baseline, the capacity check and the wiring treat it like goods.

The queue is a fluid one (ships may be fractional), per state slot of a service, in two phases
both engines run (:data:`webmodel.core.phases.PHASES`):

* ``service_arrivals`` (before final demand): this week's arrivals (the surge multiplies them)
  join the ships already in maintenance; every ship in maintenance asks its yards for one
  slot-week this week, so that is the state's order. A slot-week not given is not carried as a
  backlog (the ship asks again next week) and a slot-week cannot be stockpiled.
* ``service_jobs`` (after the forces' service): the slot-weeks that arrived are worked, one per
  ship, at most one per ship; ``worked / job_weeks`` ships leave repaired (with every ship in
  its slot this is the arrival rate: Little's law, ships in maintenance = arrivals x job_weeks).

With no shock, ships in maintenance stay at ``jobs_per_week x job_weeks``, every one of them
holds a slot, and fleet availability is constant. Under a yard outage the ships without a slot
wait (the repair backlog), repairs complete more slowly and availability falls until the yards
catch up.

Force-facing metrics (per state slot; 0 for goods): ``fleet_availability`` = (fleet - ships in
maintenance) / fleet, ``in_maintenance``, ``repair_backlog`` = ships waiting for a slot,
``repairs_completed`` per week and ``turnaround_weeks`` = job_weeks x ships in maintenance /
slot-weeks worked (the weeks a ship now arriving would spend at the current pace; equal to
job_weeks when every ship has a slot, capped at :data:`TURNAROUND_CAP` when no work is done).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from webmodel.coalition.network import Network

TURNAROUND_CAP = 520.0  # weeks (ten years): reported when the yards do no work at all

SERVICE_VARIABLES: dict[str, tuple[str, str]] = {
    "fleet_availability": ("slot", "service: share of the fleet not in maintenance (0 for goods)"),
    "in_maintenance": ("slot", "service: ships (aircraft) in maintenance, in a slot or waiting"),
    "repair_backlog": ("slot", "service: ships waiting for a yard slot this week"),
    "repairs_completed": ("slot", "service: ships leaving maintenance repaired this week"),
    "turnaround_weeks": ("slot", "service: job_weeks x in maintenance / slot-weeks worked"),
}


@dataclass(frozen=True)
class ServiceSlots:
    """The state slots (index into the network's state slots) that demand a service."""

    slots: np.ndarray  # int, state-slot index
    job_weeks: np.ndarray  # weeks a job holds a slot
    fleet: np.ndarray  # ships (aircraft) in the state's fleet
    is_service: np.ndarray  # bool per state slot

    @property
    def any(self) -> bool:
        return len(self.slots) > 0

    @classmethod
    def of(cls, network: Network) -> ServiceSlots:
        scenario = network.scenario
        products = scenario.products
        state_slots = np.flatnonzero(network.slot_firm < 0)
        job_weeks = np.zeros(len(state_slots))
        fleet = np.zeros(len(state_slots))
        for k, slot in enumerate(state_slots):
            product = products[network.slot_product[slot]]
            if product.service:
                job_weeks[k] = product.job_weeks
                state = scenario.states[network.slot_state[slot]]
                fleet[k] = state.fleet.get(product.name, 0.0)
        is_service = job_weeks > 0
        slots = np.flatnonzero(is_service)
        return cls(slots, job_weeks[slots], fleet[slots], is_service)

    def carried_at_equilibrium(self, baseline_demand: np.ndarray) -> np.ndarray:
        """Ships in maintenance at the end of a week at equilibrium: all but the week's
        leavers (baseline demand is jobs x job_weeks slot-weeks)."""
        ships = baseline_demand[self.slots]
        return ships - ships / self.job_weeks


def work_the_jobs(
    ships: np.ndarray, arrived_slot_weeks: np.ndarray, job_weeks: np.ndarray, fleet: np.ndarray
) -> dict[str, np.ndarray]:
    """One week of the yards' work on the ships in maintenance (array form; the reference
    engine spells the same out ship slot by ship slot)."""
    worked = np.minimum(ships, arrived_slot_weeks)
    completed = worked / job_weeks
    turnaround = np.full_like(ships, TURNAROUND_CAP)
    np.divide(job_weeks * ships, worked, out=turnaround, where=worked > 0)
    return {
        "worked": worked,
        "fleet_availability": (fleet - ships) / fleet,
        "in_maintenance": ships,
        "repair_backlog": ships - worked,
        "repairs_completed": completed,
        "turnaround_weeks": np.minimum(turnaround, TURNAROUND_CAP),
    }


def service_metrics(model) -> dict[str, dict[str, float]]:
    """Force-facing metrics of each service end item over the run, all its fleets together
    (fleet-weighted): mean and lowest fleet availability, the peak repair backlog (ships
    waiting for a slot), the peak turnaround (weeks) and the week of that low point."""
    out: dict[str, dict[str, float]] = {}
    svc = ServiceSlots.of(model.network)
    if not svc.any or model.recorder.weeks_done == 0:
        return out
    items = [model.slot_items[k] for k in svc.slots]
    in_maintenance = model.series("in_maintenance")[:, svc.slots]
    backlog = model.series("repair_backlog")[:, svc.slots]
    turnaround = model.series("turnaround_weeks")[:, svc.slots]
    completed = model.series("repairs_completed")[:, svc.slots]
    for item in dict.fromkeys(items):
        cols = np.array([i == item for i in items])
        fleet = svc.fleet[cols].sum()
        available = (fleet - in_maintenance[:, cols].sum(axis=1)) / fleet
        baseline = (fleet - model.network.baseline_demand[svc.slots][cols].sum()) / fleet
        # Turnaround over the fleets: ships in maintenance x job weeks / slot-weeks worked.
        worked = (completed[:, cols] * svc.job_weeks[cols]).sum(axis=1)
        weighted = np.full(len(worked), TURNAROUND_CAP)
        total = (in_maintenance[:, cols] * svc.job_weeks[cols]).sum(axis=1)
        np.divide(total, worked, out=weighted, where=worked > 0)
        out[item] = {
            "fleet": float(fleet),
            "fleet_availability_baseline": float(baseline),
            "fleet_availability_mean": float(available.mean()),
            "fleet_availability_min": float(available.min()),
            "week_of_min": int(np.argmin(available)) + 1,
            "repair_backlog_peak": float(backlog.sum(axis=1).max()),
            "repair_backlog_end": float(backlog[-1].sum()),
            "turnaround_weeks_peak": float(np.minimum(weighted, TURNAROUND_CAP).max()),
            "turnaround_weeks_worst_state": float(turnaround.max()),
        }
    return out
