"""The phases of one weekly step, in the order both engines run them.

:class:`~webmodel.core.engine.ArrayEngine` (whole arrays) and
:class:`~webmodel.core.reference.ReferenceEngine` (agent by agent) each implement phase ``name``
as a method ``_name`` and their ``step`` is the list of these calls, in this order;
tests/test_phases.py holds both to it, and the README's phase list to the same names.

Between two weeks, Mesa events scheduled on the model run (``CoalitionModel.schedule_event``,
half a week early): disruptions set the engine's availability and link openness, the second
half of re-sourcing - qualification - moves a failing link's orders to its substitute, and, at a
lower priority (after those), orders shifted to a slot's other qualified suppliers go back to
suppliers that are up and served all their orders last week (``CoalitionModel._return_shifts``,
scheduled each week while any shift is out).
"""

from __future__ import annotations

PHASES: tuple[str, ...] = (
    "capacity_arrivals",  # capacity ordered a build lag ago starts producing
    "service_arrivals",  # ships due for repair join the queue; each asks its yards for a slot
    "final_demand",  # states order this week's demand from their end-item suppliers
    "production",  # capacity, orders and the scarcest input bound output (Leontief)
    "rationing",  # a short supplier shares its output; the rest is backlog
    "failure_tracking",  # links delivering under half of their order, weeks in a row
    "shipping",  # shipments into the pipeline; this week's arrivals into stock
    "ordering",  # stock-management rule: expected use plus closing the gaps over tau
    "adaptation",  # overproduction alpha and capacity investment
    "forces_service",  # arrivals into the states' stockpiles; the forces draw on them
    "service_jobs",  # yard slot-weeks work the ships; repaired ships rejoin the fleet
    "resourcing",  # buyers failed long enough search for a substitute
    "record",  # the week's aggregates into the recorder
)
