"""CoalitionModel: the Mesa model of allied defense production."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import mesa
import numpy as np

from webmodel.coalition.disruptions import (
    Disruption,
    ScheduledDisruption,
    links_hit,
    parse_disruption,
)
from webmodel.coalition.network import Network
from webmodel.coalition.resourcing import find_substitutes
from webmodel.coalition.scenario import Scenario, load_scenario
from webmodel.coalition.topology import build_network
from webmodel.core.agents import Firm, State
from webmodel.core.engine import ArrayEngine, Dynamics
from webmodel.core.recorder import Recorder
from webmodel.core.reference import ReferenceEngine

if TYPE_CHECKING:
    import pandas as pd

ENGINES = {"array": ArrayEngine, "reference": ReferenceEngine}


class CoalitionModel(mesa.Model):
    """States and firms trading along a bill of materials, stepped weekly.

    Every argument is a keyword with a default, so the model plugs into parameter scans and
    Solara's ``type(model)(**params)``. Behavioural parameters left as ``None`` take the
    scenario's values.

    Args:
        scenario: a :class:`Scenario`, a path to a scenario TOML file, or None for the default.
        topology: "hub-and-spokes" or "production-web".
        web_ness: a dial in [0, 1] between the two; overrides ``topology`` when given.
        firms: scale the scenario to about this many firms (same proportions).
        surge: factor on final demand from week ``surge_start`` on (1 = no surge).
        surge_start: first week of surged demand.
        steps: planned horizon in weeks (``run()`` goes this far; stepping may go further).
        target_cover_weeks, adjustment_time, alpha_max, alpha_time, suppliers_per_input,
            rationing, contract_utilisation, capacity_headroom, stockpile_weeks,
            investment_decision_weeks, investment_build_weeks, investment_share,
            resourcing_weeks, qualification_weeks, subtier_visibility, border_delay,
            cyber_hardening, coproduction_share, contracting, platforms: override the
            scenario's :class:`~webmodel.coalition.scenario.Parameters` (the policy levers; see
            docs/levers.md).
        disruptions: shocks to schedule, as :class:`Disruption` or specs like
            "assembly:USA@12+8" (added to the scenario's own).
        network: a pre-built :class:`Network` (e.g. loaded from GraphML) instead of wiring one.
        engine: "array" (fast, default) or "reference" (the per-agent specification).
        rng: seed or numpy Generator; the same seed gives the same wiring and results.
    """

    def __init__(
        self,
        scenario: Scenario | str | Path | None = None,
        topology: str = "production-web",
        web_ness: float | None = None,
        firms: int | None = None,
        surge: float = 1.0,
        surge_start: int = 10,
        steps: int = 104,
        target_cover_weeks: float | None = None,
        adjustment_time: float | None = None,
        alpha_max: float | None = None,
        alpha_time: float | None = None,
        suppliers_per_input: int | None = None,
        rationing: str | None = None,
        contract_utilisation: float | None = None,
        capacity_headroom: float | None = None,
        stockpile_weeks: float | None = None,
        investment_decision_weeks: int | None = None,
        investment_build_weeks: int | None = None,
        investment_share: float | None = None,
        resourcing_weeks: int | None = None,
        qualification_weeks: int | None = None,
        subtier_visibility: bool | None = None,
        border_delay: int | None = None,
        cyber_hardening: float | None = None,
        coproduction_share: float | None = None,
        contracting: str | None = None,
        platforms: Sequence[Sequence[str]] | None = None,
        disruptions: Sequence[Disruption | str] | None = None,
        network: Network | None = None,
        engine: str = "array",
        rng: int | np.random.Generator | None = None,
    ) -> None:
        super().__init__(rng=rng)
        self.seed = int(rng) if isinstance(rng, int | np.integer) else None
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
        if surge < 0:
            raise ValueError(f"surge must be >= 0, got {surge}")
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        if network is not None:
            scenario = network.scenario
        elif not isinstance(scenario, Scenario):
            scenario = load_scenario(scenario)
        if firms is not None:
            scenario = scenario.scaled(firms)
        scenario = scenario.with_parameters(
            target_cover_weeks=target_cover_weeks,
            adjustment_time=adjustment_time,
            alpha_max=alpha_max,
            alpha_time=alpha_time,
            suppliers_per_input=suppliers_per_input,
            rationing=rationing,
            contract_utilisation=contract_utilisation,
            capacity_headroom=capacity_headroom,
            stockpile_weeks=stockpile_weeks,
            investment_decision_weeks=investment_decision_weeks,
            investment_build_weeks=investment_build_weeks,
            investment_share=investment_share,
            resourcing_weeks=resourcing_weeks,
            qualification_weeks=qualification_weeks,
            subtier_visibility=subtier_visibility,
            border_delay=border_delay,
            cyber_hardening=cyber_hardening,
            coproduction_share=coproduction_share,
            contracting=contracting,
            platforms=platforms,
        ).with_levers()
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
            network = build_network(scenario, topology, web_ness, wiring_rng)
        else:
            network = network.copy()  # re-sourcing changes this model's links only
        self.network = network
        self.topology = network.topology
        self.web_ness = network.web_ness
        self.surge = float(surge)
        self.surge_start = int(surge_start)
        self.steps_planned = int(steps)
        self.week = 0
        self.dynamics = Dynamics(
            target_cover_weeks=params.target_cover_weeks,
            adjustment_time=params.adjustment_time,
            alpha_max=params.alpha_max,
            alpha_time=params.alpha_time,
            rationing=params.rationing,
            investment_decision_weeks=params.investment_decision_weeks,
            investment_build_weeks=params.investment_build_weeks,
            investment_share=params.investment_share,
            resourcing_weeks=params.resourcing_weeks,
        )
        self.engine = ENGINES[engine](network, self.dynamics)
        self.engine_name = engine
        state_slots = network.slot_firm < 0
        self.slot_states = [network.state_codes[s] for s in network.slot_state[state_slots]]
        self.slot_items = [network.product_names[p] for p in network.slot_product[state_slots]]
        self.recorder = Recorder(self.steps_planned, len(self.slot_states), len(scenario.products))

        self.states = [State(self, i) for i in range(len(scenario.states))]
        self.firms = [Firm(self, i) for i in range(network.n_firms)]

        # States' stockpiles of end items, and the forces' need not yet met.
        self.state_stock = params.stockpile_weeks * network.baseline_demand
        self.unmet = np.zeros_like(self.state_stock)

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
        self.substitutions: list[tuple[int, int, int, int]] = []  # (week, old, new, supplier)
        for d in [*scenario.disruptions, *(disruptions or [])]:
            self.add_disruption(d)

    # --- stepping ---------------------------------------------------------------------------
    def final_demand(self, week: int) -> np.ndarray:
        """Each state slot's new demand in ``week`` (baseline, times the surge once it starts)."""
        factor = self.surge if week >= self.surge_start else 1.0
        return self.network.baseline_demand * factor

    def step(self) -> None:
        """One week: final demand, production, rationing, shipping, ordering, adaptation."""
        self.week += 1
        demand = self.final_demand(self.week)
        self.engine.step(self.week, demand, self.recorder)
        self._serve_forces(demand, self.recorder.data["delivered"][self.week - 1])
        if self.engine.search_requests is not None:
            self._search_substitutes(self.engine.search_requests)
            self.engine.search_requests = None

    # --- re-sourcing --------------------------------------------------------------------------
    def _search_substitutes(self, links: np.ndarray) -> None:
        """Buyers failed for resourcing_weeks pick substitutes, who ship once qualified."""
        found = find_substitutes(self, links)
        if not found:
            return
        due = self.week + self.coalition.parameters.qualification_weeks
        self.pending_substitutions.setdefault(due, []).extend(found)
        self.schedule_event(self._qualify_substitutes, at=due - 0.5)

    def _qualify_substitutes(self) -> None:
        """Substitutes due this week take over the failing links' orders."""
        due = self.week + 1
        subs = self.pending_substitutions.pop(due, [])
        failing = self.engine.failing_weeks_of(np.array([sub.link for sub in subs], dtype=int))
        moves: dict[int, int] = {}
        for sub, weeks in zip(subs, failing, strict=True):
            # Switch only if the old supplier is still failing and nobody moved the orders yet.
            if weeks > 0 and self.network.link_weight[sub.link] > 0 and sub.link not in moves:
                moves[sub.link] = sub.supplier
        if not moves:
            return
        new_links = self.network.move_orders_many(list(moves.items()))
        for (old, supplier), new in zip(moves.items(), new_links, strict=True):
            self.substitutions.append((due, old, new, supplier))
        self.engine.rewire(self.network, self.week)
        self._apply_disruptions()

    def _serve_forces(self, demand: np.ndarray, delivered: np.ndarray) -> None:
        """Arrivals go into each state's stockpile; the forces draw their need from it.

        Orders to industry are the forces' need as it arises, so the industrial backlog is
        exactly what the stockpile lent: when it arrives, the stockpile is refilled. Without a
        stockpile, the forces get just what arrives (served = delivered).
        """
        available = self.state_stock + delivered
        served = np.minimum(demand + self.unmet, available)
        self.state_stock = available - served
        self.unmet = self.unmet + demand - served
        self.recorder.record(self.week, {"served": served, "state_stock": self.state_stock})

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
