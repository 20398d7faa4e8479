"""CoalitionModel: the Mesa model of allied defense production."""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mesa
import numpy as np
from mesa.time import Priority

from webmodel.coalition.disruptions import (
    Disruption,
    ScheduledDisruption,
    links_hit,
    parse_disruption,
)
from webmodel.coalition.network import Network
from webmodel.coalition.parameters import keyword_parameters, split_arguments
from webmodel.coalition.resourcing import find_substitutes, room, volume, wire_inputs
from webmodel.coalition.scenario import Scenario, load_scenario
from webmodel.coalition.topology import build_network
from webmodel.core.agents import Firm, State
from webmodel.core.engine import ArrayEngine
from webmodel.core.recorder import Recorder
from webmodel.core.reference import ReferenceEngine

if TYPE_CHECKING:
    import pandas as pd

ENGINES = {"array": ArrayEngine, "reference": ReferenceEngine}

# A shift of order weight from one link to another qualified supplier of its slot.
SHIFT = np.dtype([("source", np.int64), ("target", np.int64), ("weight", np.float64)])


class CoalitionModel(mesa.Model):
    """States and firms trading along a bill of materials, stepped weekly.

    Every parameter declared in :mod:`webmodel.coalition.parameters` is a keyword argument
    (``CoalitionModel(topology="hub-and-spokes", surge=2, alpha_max=1.5, rng=1)``), so the
    model plugs into parameter scans and Solara's ``type(model)(**params)``; the class's
    signature lists them all (``help(CoalitionModel)``, ``webmodel parameters``). The run
    settings (topology, web_ness, firms, surge, surge_start, steps) default to their
    declarations; a scenario parameter left as ``None`` keeps the scenario's value.

    Args:
        scenario: a :class:`Scenario`, a path to a scenario TOML file, a built-in scenario's
            name, or None for the default.
        disruptions: shocks to schedule, as :class:`Disruption` or specs like
            "assembly:USA@12+8" (added to the scenario's own).
        network: a pre-built :class:`Network` (e.g. loaded from GraphML) instead of wiring one.
        engine: "array" (fast, default) or "reference" (the per-agent specification).
        rng: seed or numpy Generator; the same seed gives the same wiring and results.
        **parameters: any declared parameter, by name (see docs/levers.md).

    Raises:
        TypeError: an unknown parameter name (the message suggests the closest one).
        ValueError: a value outside its declaration (the message names the parameter);
            :class:`~webmodel.coalition.scenario.ScenarioError` for scenario parameters.
    """

    def __init__(
        self,
        scenario: Scenario | str | Path | None = None,
        *,
        disruptions: Sequence[Disruption | str] | None = None,
        network: Network | None = None,
        engine: str = "array",
        rng: int | np.random.Generator | None = None,
        **parameters: Any,
    ) -> None:
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
        run, overrides = split_arguments(parameters)
        super().__init__(rng=rng)
        self.seed = int(rng) if isinstance(rng, int | np.integer) else None
        if network is not None:
            scenario = network.scenario
        elif not isinstance(scenario, Scenario):
            scenario = load_scenario(scenario)
        if run.firms is not None:
            scenario = scenario.scaled(run.firms)
        scenario = scenario.with_parameters(**overrides).with_levers()
        # Mesa 3.5 reserves `Model.scenario` for its experimental scenarios; ours is the coalition.
        self.coalition = scenario
        self.bom = scenario.bom()
        params = scenario.parameters
        if params.adjustment_time < 2:
            warnings.warn(
                f"adjustment_time={params.adjustment_time:g}: firms close their whole stock gap "
                "within a week; expect order oscillation (bullwhip) after any shock",
                RuntimeWarning,
                stacklevel=2,
            )
        wiring_rng, self.event_rng, vendor_rng = self.rng.spawn(3)
        if network is None:
            network = build_network(scenario, run.topology, run.web_ness, wiring_rng)
        else:
            network = network.copy()  # re-sourcing changes this model's links only
        self.network = network
        self.topology = network.topology
        self.web_ness = network.web_ness
        self.run_settings = run  # as asked (topology and web_ness above are as wired)
        self.surge = run.surge
        self.surge_start = run.surge_start
        self.steps_planned = run.steps
        self.week = 0
        self.parameters = params  # the behavioural parameters in force (the scenario's)
        self.engine = ENGINES[engine](network, params)
        self.engine_name = engine
        state_slots = network.slot_firm < 0
        self.slot_states = [network.state_codes[s] for s in network.slot_state[state_slots]]
        self.slot_items = [network.product_names[p] for p in network.slot_product[state_slots]]
        self.recorder = Recorder(self.steps_planned, len(self.slot_states), len(scenario.products))

        self.states = [State(self, i) for i in range(len(scenario.states))]
        self.firms = [Firm(self, i) for i in range(network.n_firms)]

        # States' stockpiles of end items (the engine's forces' service draws on them).
        self.engine.set_state_stock(params.stockpile_weeks * network.baseline_demand)

        # Disruptions: IT vendors (shared across states, so cyber outages are correlated) and
        # each state's hardening; then the scheduled shocks.
        n_vendors = max(4, round(np.sqrt(network.n_firms)))
        self.it_vendor = vendor_rng.integers(n_vendors, size=network.n_firms)
        self.cyber_hardening = np.array(
            [
                params.cyber_hardening if s.cyber_hardening is None else s.cyber_hardening
                for s in scenario.states
            ]
        )
        self.disruptions: list[ScheduledDisruption] = []
        self.pending_substitutions: dict[int, list] = {}
        self.reserved = np.zeros(network.n_firms)  # room held for pending substitutions
        # Volume shifted to other qualified suppliers, until it returns (see _return_shifts).
        self.shifts = np.zeros(0, dtype=SHIFT)
        self.returns_scheduled = False
        self.substitutions: list[tuple[int, int, int, int]] = []  # (week, old, new, supplier)
        self.shift_log: list[tuple[int, int, int, int]] = []  # (week, from, to link, supplier)
        for d in [*scenario.disruptions, *(disruptions or [])]:
            self.add_disruption(d)

    # --- stepping ---------------------------------------------------------------------------
    def final_demand(self, week: int) -> np.ndarray:
        """Each state slot's new demand in ``week`` (baseline, times the surge once it starts)."""
        factor = self.surge if week >= self.surge_start else 1.0
        return self.network.baseline_demand * factor

    def step(self) -> None:
        """One week: the engine's phases (webmodel.core.phases.PHASES), re-sourcing searching
        through this model."""
        self.week += 1
        demand = self.final_demand(self.week)
        self.engine.step(self.week, demand, self.recorder, search=self._resourcing_search)

    # --- re-sourcing (the engines' resourcing phase, and its qualification event) -----------
    def _resourcing_search(self, links: np.ndarray) -> None:
        """Buyers failed for resourcing_weeks plan what moves where (resourcing.py): shifts to
        their other qualified suppliers happen next week, new substitutes ship once qualified;
        the room either needs is reserved until then."""
        found = find_substitutes(self, links)
        if not found:
            return
        qualified = self.week + self.coalition.parameters.qualification_weeks
        for due in sorted({self.week + 1 if sub.to_link >= 0 else qualified for sub in found}):
            subs = [s for s in found if (self.week + 1 if s.to_link >= 0 else qualified) == due]
            if due not in self.pending_substitutions:
                self.schedule_event(self._resourcing_qualification, at=due - 0.5)
            self.pending_substitutions.setdefault(due, []).extend(subs)
        for sub in found:
            self.reserved[sub.supplier] += sub.amount

    def _resourcing_qualification(self) -> None:
        """Shifts and substitutions due this week move what their supplier can carry now (a
        Mesa event half a week before the week's step, like a disruption's change)."""
        due = self.week + 1
        subs = self.pending_substitutions.pop(due, [])
        if not subs:
            return
        for sub in subs:
            self.reserved[sub.supplier] -= sub.amount
        self.reserved = np.maximum(self.reserved, 0.0)
        links = np.array([sub.link for sub in subs], dtype=int)
        failing = self.engine.failing_weeks_of(links)
        orders = volume(self, links)
        spare = room(self)
        n_links = self.network.n_links
        moved: dict[int, float] = {}  # share of each link's weight moved in this batch
        shifts, moves = [], []
        for sub, weeks, order in zip(subs, failing, orders, strict=True):
            # Only while the old supplier is still failing and the link still orders.
            if weeks <= 0 or self.network.link_weight[sub.link] <= 0 or order <= 0:
                continue
            if sub.to_link < 0 and not wire_inputs(self, sub.supplier):
                continue
            carry = min(sub.amount, spare[sub.supplier])
            share = min(carry / order, 1.0 - moved.get(sub.link, 0.0))
            if share <= 0:
                continue
            spare[sub.supplier] -= carry
            moved[sub.link] = moved.get(sub.link, 0.0) + share
            if sub.to_link >= 0:
                shifts.append((sub.link, sub.to_link, share, sub.supplier))
            else:
                moves.append((sub.link, sub.supplier, share))
        if not shifts and not moves:
            if self.network.n_links != n_links:  # an idle firm's inputs were wired
                self.engine.rewire(self.network, self.week)
                self._apply_disruptions()
            return
        # Shares are of each link's weight before this batch.
        weight = self.network.link_weight.copy()
        shifted = np.zeros(len(shifts), dtype=SHIFT)
        for k, (link, target, share, supplier) in enumerate(shifts):
            self.network.link_weight[target] += weight[link] * share
            self.network.link_weight[link] -= weight[link] * share
            self.shift_log.append((due, link, target, supplier))
            shifted[k] = (link, target, weight[link] * share)
        if len(shifted):
            self.shifts = np.concatenate((self.shifts, shifted))
            self._schedule_returns(due)
        if moves:
            before = self.network.link_weight.copy()
            self.network.link_weight[:] = weight
            new_links = self.network.move_orders_many(moves)
            # move_orders_many took the moved weight off `weight`; keep the shifts' changes too.
            taken = weight - self.network.link_weight[: len(weight)]
            self.network.link_weight[: len(weight)] = before - taken
            for (old, supplier, _), new in zip(moves, new_links, strict=True):
                self.substitutions.append((due, old, new, supplier))
        np.maximum(self.network.link_weight, 0.0, out=self.network.link_weight)
        self.engine.rewire(self.network, self.week)
        self._apply_disruptions()

    def _schedule_returns(self, week: int) -> None:
        """While shifts are out, check them half a week before ``week``'s step, after that
        moment's other events (disruptions, qualification): a Mesa event, like those."""
        if not self.returns_scheduled:
            self.returns_scheduled = True
            self.schedule_event(self._return_shifts, at=week - 0.5, priority=Priority.LOW)

    def _return_shifts(self) -> None:
        """Volume shifted away from a supplier goes back once it is wholly up and serves all
        its orders again: the buyer's contract with it stands (a shift is a stop-gap, not a
        new contract; a new substitute's is). Judged on last week's output and the coming
        week's availability; checked for all shifts at once."""
        self.returns_scheduled = False
        engine, net = self.engine, self.network
        shifts = self.shifts
        firm = net.link_supplier[shifts["source"]]
        production, demand = engine.production[firm], engine.firm_demand[firm]
        back = (engine.availability[firm] >= 1.0) & (production >= (1 - 1e-9) * demand)
        if back.any():
            self.shifts = shifts[~back]
            weight = net.link_weight
            # In order: two returns to the same link take from what the first one left.
            for source, target, moved in shifts[back].tolist():
                amount = min(moved, weight[target])
                weight[target] -= amount
                weight[source] += amount
            self.engine.rewire(net, self.week)
        if len(self.shifts):
            self._schedule_returns(self.week + 2)

    def run(self, steps: int | None = None) -> CoalitionModel:
        """Step until ``steps`` weeks (default: the planned horizon) have been simulated."""
        for _ in range(self.week, steps or self.steps_planned):
            self.step()
        return self

    # --- disruptions -----------------------------------------------------------------------
    def add_disruption(self, disruption: Disruption | str) -> ScheduledDisruption:
        """Schedule a shock (a spec like "state:KOR@10+20" or a Disruption).

        What it hits is drawn now, from the model's event stream, so two models built with the
        same seed and given the same disruptions in the same order are hit alike. A start at or
        before the current week is moved to the next week.
        """
        if isinstance(disruption, str):
            disruption = parse_disruption(disruption)
        if disruption.start <= self.week:
            disruption = replace(disruption, start=self.week + 1)
        scheduled = ScheduledDisruption.resolve(disruption, self)
        self.disruptions.append(scheduled)
        for week in disruption.change_weeks:
            # Half a week early, so the change is in place when that week's step runs.
            self.schedule_event(self._apply_disruptions, at=week - 0.5)
        return scheduled

    def _apply_disruptions(self) -> None:
        """Set the engine's availability and link openness for the coming week."""
        week = self.week + 1
        availability = np.ones(self.network.n_firms)
        link_open = np.ones(self.network.n_links)
        for d in self.disruptions:
            level = d.disruption.level(week)
            if level == 1.0:
                continue
            if d.firms is not None:
                np.minimum.at(availability, d.firms, level)
            else:  # trade closures apply to links made since, too
                np.minimum.at(link_open, links_hit(d.disruption, self), level)
        self.engine.set_availability(availability)
        self.engine.set_link_open(link_open)

    def border_closed(self, seller_state: int, buyer_state: int) -> bool:
        """Whether an active trade disruption shuts trade between two states now."""
        if seller_state == buyer_state:
            return False
        codes = self.network.state_codes
        pair = {codes[seller_state], codes[buyer_state]}
        for d in self.disruptions:
            if d.firms is not None or d.disruption.level(self.week + 1) == 1.0:
                continue
            target = d.disruption.target or ""
            if d.disruption.kind == "state" and target in pair:
                return True
            if d.disruption.kind == "border" and set(target.split("-")) == pair:
                return True
        return False

    # --- reading results --------------------------------------------------------------------
    def series(self, name: str) -> np.ndarray:
        """A recorded variable for the weeks done so far (rows = weeks)."""
        return self.recorder[name]

    def state_series(self, name: str, state: str, last: bool = False) -> dict[str, float]:
        """A per-slot variable of one state, by end item (summed over weeks unless ``last``)."""
        values = self.recorder[name]
        row = values[-1] if (last and len(values)) else values.sum(axis=0)
        return {
            item: float(row[k])
            for k, (code, item) in enumerate(zip(self.slot_states, self.slot_items, strict=True))
            if code == state
        }

    def to_frame(self, variables: Sequence[str] | None = None) -> pd.DataFrame:
        """The recorded series as a tidy pandas DataFrame, one row per week and value.

        Columns: ``week`` (1, 2, ...), ``variable`` (see ``webmodel.core.recorder.VARIABLES``),
        ``state`` and ``end_item`` (for the per-state variables: demanded, delivered, ...),
        ``product`` (for the per-product variables: production, stock, ...), ``value``.
        A label that does not apply to a variable is missing (None/NaN); scalars such as
        ``alpha_mean`` have none. ``variables`` picks some (default: all, in recording order).
        """
        import pandas as pd

        from webmodel.core.recorder import VARIABLES

        names = list(VARIABLES) if variables is None else list(variables)
        unknown = [n for n in names if n not in VARIABLES]
        if unknown:
            raise ValueError(
                f"variables: unknown {', '.join(map(repr, unknown))}; known: {', '.join(VARIABLES)}"
            )
        n_weeks = self.recorder.weeks_done
        weeks = np.arange(1, n_weeks + 1, dtype=np.int64)
        parts = []
        for name in names:
            kind = VARIABLES[name][0]
            values = self.recorder[name]
            if values.ndim == 1:  # a scalar: one column
                values = values[:, np.newaxis]
            n_columns = values.shape[1]
            labels: dict[str, list[str | None]] = {
                "state": [None] * n_columns,
                "end_item": [None] * n_columns,
                "product": [None] * n_columns,
            }
            if kind == "slot":
                labels["state"], labels["end_item"] = list(self.slot_states), list(self.slot_items)
            elif kind == "product":
                labels["product"] = list(self.network.product_names)
            # Column-major: all weeks of the first column, then the next.
            parts.append(
                pd.DataFrame(
                    {
                        "week": np.tile(weeks, n_columns),
                        "variable": name,
                        **{
                            k: np.repeat(np.array(v, dtype=object), n_weeks)
                            for k, v in labels.items()
                        },
                        "value": values.T.reshape(-1),
                    }
                )
            )
        if not parts:
            columns = ["week", "variable", "state", "end_item", "product", "value"]
            return pd.DataFrame(columns=columns)
        return pd.concat(parts, ignore_index=True)


def _signature() -> inspect.Signature:
    """``CoalitionModel.__init__`` with every declared parameter spelled out as a keyword, so
    that ``inspect.signature``, ``help()``, notebooks and Solara see them all."""
    actual = inspect.signature(CoalitionModel.__init__, eval_str=True)
    before = [p for p in actual.parameters.values() if p.kind is p.POSITIONAL_OR_KEYWORD]
    after = [p for p in actual.parameters.values() if p.kind is p.KEYWORD_ONLY]
    return actual.replace(parameters=[*before, *keyword_parameters(), *after])


CoalitionModel.__init__.__signature__ = _signature()  # type: ignore[attr-defined]


def load_kernels() -> None:
    """Load (or, the first time on a machine, compile) the engine's kernels in this process
    now, by stepping a tiny model: their first call costs ~0.3 s (seconds when compiling),
    which a timing of one run - the bench's, a sweep plan's estimate - must not charge to it."""
    CoalitionModel(firms=30, steps=2, rng=0).run()
