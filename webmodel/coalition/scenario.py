"""The scenario file (TOML): states, products and their bill of materials, firms, delays, demand.

A scenario says *what exists* (states, products, firm groups with capacities and costs) and *how
hard it is to move things* (lead times, cross-border delays). It does not say who buys from whom:
the topology builders in :mod:`webmodel.coalition.topology` wire the same scenario in
different ways.

Loading validates everything before any work is done. Every problem is reported with the path of
the field (``firms[3].capacity``) and what is wrong with it.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from webmodel.coalition.bom import BillOfMaterials, Product, find_cycle
from webmodel.coalition.disruptions import Disruption, DisruptionError, parse_disruption

RATIONING_RULES = ("proportional", "priority")
CONTRACTING_RULES = ("topology", "lowest-cost", "best-value")


class ScenarioError(ValueError):
    """A scenario (or network) file is wrong; the message names every field at fault."""

    def __init__(self, problems: list[str], source: str = "scenario") -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid {source}:\n{lines}")


@dataclass(frozen=True)
class StateSpec:
    """A state of the coalition and its weekly final demand for end items."""

    code: str
    name: str
    role: str  # "hub" or "ally"
    demand: dict[str, float]
    cyber_hardening: float | None = None  # None: the scenario-wide parameter


@dataclass(frozen=True)
class FirmGroup:
    """``count`` firms making ``product`` in ``state``, sharing ``capacity`` units per week."""

    product: str
    state: str
    count: int
    capacity: float
    unit_cost: float


@dataclass(frozen=True)
class Parameters:
    """Behavioural parameters of firms; each can be overridden per run.

    Attributes:
        target_cover_weeks: weeks of input use a firm keeps in stock (n).
        adjustment_time: weeks over which a firm closes its stock and pipeline gaps (tau >= 1).
        alpha_max: the most a firm can produce over its nominal capacity (overtime, extra shifts).
        alpha_time: weeks for overproduction to move toward alpha_max (or back to 1).
        suppliers_per_input: suppliers per input in the production web (k).
        rationing: "proportional" or "priority" (customers at or below their pre-shock order first).
        contract_utilisation: under single sourcing, the largest share of a supplier's capacity
            that buyers contract at baseline (never below the product's coalition-wide
            utilisation, so that demand can always be placed).
        capacity_headroom: extra capacity on every firm, as a share (0.2 = +20 %): the NDIS
            "invest in extra capacity" lever. The same for every topology.
        stockpile_weeks: each state's stockpile of end items, in weeks of baseline demand; it
            covers the forces while deliveries fall short and refills as the backlog arrives.
        investment_decision_weeks: weeks a firm must be short of capacity before it orders more.
        investment_build_weeks: weeks from that order until the new capacity produces (a
            meaningful capacity increase takes ~3 years, reference-data.md).
        investment_share: capacity added by one investment, as a share of the firm's original
            capacity (0 turns investment off). A firm has at most one investment on order.
        resourcing_weeks: weeks a supplier must fail a buyer (deliver under half of what it
            wants) before the buyer looks for a substitute; 0 turns re-sourcing off.
        qualification_weeks: weeks before a substitute supplier may ship (qualifying a new
            supplier takes ~1-3 years for new products; an allied producer of the same item is
            quicker - a sensitivity parameter).
        subtier_visibility: whether buyers see every maker in the coalition when they search
            (NDIS sub-tier visibility), or only their domestic market.
        border_delay: weeks every cross-border shipment waits (FMS / export licensing); None
            keeps the scenario's ``cross_border`` table. State pairs listed there keep theirs.
        cyber_hardening: probability that a firm hit by a cyber outage of its IT vendor is
            protected (industrial cybersecurity), for every state.
        coproduction_share: share of allied end-item assembly left in the allies
            (co-production); None follows the topology (0 hub-and-spokes, 1 web).
        contracting: "topology" (hub-and-spokes single-sources by lowest cost, the web
            multi-sources), or "lowest-cost" / "best-value" in every topology.
        platforms: minilateral platforms, e.g. [["USA", "KOR", "JPN"], ["USA", "AUS"]]: in the
            web, allies trade laterally only inside a platform (None = every pair may trade).
    """

    target_cover_weeks: float = 4.0
    adjustment_time: float = 4.0
    alpha_max: float = 1.25
    alpha_time: float = 8.0
    suppliers_per_input: int = 3
    rationing: str = "proportional"
    contract_utilisation: float = 0.9
    capacity_headroom: float = 0.0
    stockpile_weeks: float = 0.0
    investment_decision_weeks: int = 26
    investment_build_weeks: int = 130
    investment_share: float = 0.25
    resourcing_weeks: int = 4
    qualification_weeks: int = 26
    subtier_visibility: bool = False
    border_delay: int | None = None
    cyber_hardening: float = 0.0
    coproduction_share: float | None = None
    contracting: str = "topology"
    platforms: tuple[tuple[str, ...], ...] | None = None


@dataclass(frozen=True)
class Scenario:
    """A validated scenario. Build it with :func:`load_scenario` or :func:`default_scenario`."""

    name: str
    description: str
    hub: str
    states: list[StateSpec]
    products: list[Product]
    firm_groups: list[FirmGroup]
    default_border_delay: int
    border_delays: dict[tuple[str, str], int]
    border_cost_markup: float = 0.1
    parameters: Parameters = field(default_factory=Parameters)
    disruptions: tuple[Disruption, ...] = ()

    @property
    def state_codes(self) -> list[str]:
        return [s.code for s in self.states]

    @property
    def end_items(self) -> list[str]:
        demanded = {e for s in self.states for e in s.demand}
        return [p.name for p in self.products if p.name in demanded]

    def bom(self) -> BillOfMaterials:
        return BillOfMaterials(self.products, self.end_items)

    @property
    def n_firms(self) -> int:
        return sum(g.count for g in self.firm_groups)

    def border_delay(self, a: str, b: str) -> int:
        """Extra weeks a shipment from state ``a`` to state ``b`` spends crossing the border."""
        if a == b:
            return 0
        return self.border_delays.get((a, b), self.default_border_delay)

    def scaled(self, firms: int) -> Scenario:
        """The same coalition with about ``firms`` firms, in the same proportions.

        Firm counts per group, group capacities and final demand are all multiplied by the same
        factor, so every product keeps its baseline utilisation exactly.
        """
        if firms < 1:
            raise ScenarioError([f"firms: must be a positive integer, got {firms}"], "option")
        factor = firms / self.n_firms
        groups = [
            replace(g, count=max(1, round(g.count * factor)), capacity=g.capacity * factor)
            for g in self.firm_groups
        ]
        states = [
            replace(s, demand={e: d * factor for e, d in s.demand.items()}) for s in self.states
        ]
        return replace(self, firm_groups=groups, states=states)

    def with_levers(self) -> Scenario:
        """Apply the parameters that change what exists: capacity headroom, border delay."""
        p = self.parameters
        out = self
        if p.capacity_headroom:
            groups = [
                replace(g, capacity=g.capacity * (1 + p.capacity_headroom))
                for g in self.firm_groups
            ]
            out = replace(out, firm_groups=groups)
        if p.border_delay is not None:
            out = replace(out, default_border_delay=int(p.border_delay))
        return out

    def with_parameters(self, **overrides: Any) -> Scenario:
        """A copy with some behavioural parameters replaced (``None`` values are ignored)."""
        given = {k: v for k, v in overrides.items() if v is not None}
        merged = {**self.parameters.__dict__, **given}
        problems = _check_parameters(merged, "parameters")
        problems += _check_platforms(merged.get("platforms"), self.state_codes)
        if problems:
            raise ScenarioError(problems, "parameters")
        return replace(self, parameters=_make_parameters(merged))


def default_scenario() -> Scenario:
    """The built-in coalition scenario (see ``webmodel/coalition/scenarios/default.toml``)."""
    text = resources.files("webmodel.coalition.scenarios").joinpath("default.toml").read_text()
    return parse_scenario(tomllib.loads(text), "default.toml")


def builtin_scenarios() -> list[str]:
    """Names of the scenarios that ship with the package (``coalition/scenarios/*.toml``)."""
    folder = resources.files("webmodel.coalition.scenarios")
    return sorted(
        p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")
    )


def load_scenario(path: str | Path | None) -> Scenario:
    """Load and validate a scenario file, or a built-in one by name (``"us_155mm"``);
    ``None`` gives the default scenario. A file path wins over a built-in of the same name."""
    if path is None:
        return default_scenario()
    path = Path(path)
    if not path.is_file() and str(path) in builtin_scenarios():
        name = f"{path}.toml"
        text = resources.files("webmodel.coalition.scenarios").joinpath(name).read_text()
        return parse_scenario(tomllib.loads(text), name)
    if not path.is_file():
        builtins = ", ".join(builtin_scenarios())
        raise ScenarioError(
            [f"{path}: no such file, nor a built-in scenario ({builtins})"], "scenario"
        )
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError([f"{path}: not valid TOML ({err})"], "scenario") from err
    return parse_scenario(data, str(path))


# --- validation -------------------------------------------------------------------------------

_TOP_FIELDS = {
    "disruptions",
    "name",
    "description",
    "hub",
    "parameters",
    "cross_border",
    "states",
    "products",
    "firms",
}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _check_platforms(platforms: Any, codes: list[str]) -> list[str]:
    if not isinstance(platforms, list | tuple):
        return []
    return [
        f"parameters.platforms[{i}]: unknown state {c!r} (states: {', '.join(codes)})"
        for i, group in enumerate(platforms)
        if isinstance(group, list | tuple)
        for c in group
        if c not in codes
    ]


def _make_parameters(values: dict[str, Any]) -> Parameters:
    """Parameters from validated values (platforms as tuples, so Parameters stays hashable)."""
    platforms = values.get("platforms")
    if platforms is not None:
        values = {**values, "platforms": tuple(tuple(g) for g in platforms)}
    return Parameters(**values)


def _check_parameters(values: dict[str, Any], where: str) -> list[str]:
    problems = []
    known = set(Parameters.__dataclass_fields__)
    for key in values:
        if key not in known:
            problems.append(f"{where}.{key}: unknown parameter (known: {', '.join(sorted(known))})")
    checks = {
        "target_cover_weeks": lambda v: _is_number(v) and v >= 1,
        "adjustment_time": lambda v: _is_number(v) and v >= 1,
        "alpha_max": lambda v: _is_number(v) and v >= 1,
        "alpha_time": lambda v: _is_number(v) and v >= 1,
        "suppliers_per_input": lambda v: _is_int(v) and v >= 1,
        "rationing": lambda v: v in RATIONING_RULES,
        "contract_utilisation": lambda v: _is_number(v) and 0 < v <= 1,
        "capacity_headroom": lambda v: _is_number(v) and v >= 0,
        "stockpile_weeks": lambda v: _is_number(v) and v >= 0,
        "investment_decision_weeks": lambda v: _is_int(v) and v >= 1,
        "investment_build_weeks": lambda v: _is_int(v) and v >= 1,
        "investment_share": lambda v: _is_number(v) and v >= 0,
        "resourcing_weeks": lambda v: _is_int(v) and v >= 0,
        "qualification_weeks": lambda v: _is_int(v) and v >= 1,
        "subtier_visibility": lambda v: isinstance(v, bool),
        "border_delay": lambda v: v is None or (_is_int(v) and v >= 0),
        "cyber_hardening": lambda v: _is_number(v) and 0 <= v <= 1,
        "coproduction_share": lambda v: v is None or (_is_number(v) and 0 <= v <= 1),
        "contracting": lambda v: v in CONTRACTING_RULES,
        "platforms": lambda v: (
            v is None
            or (
                isinstance(v, list | tuple)
                and all(isinstance(g, list | tuple) and len(g) >= 2 for g in v)
                and all(isinstance(c, str) for g in v for c in g)
            )
        ),
    }
    rules = {
        "target_cover_weeks": "a number >= 1 (a firm must hold at least one week of inputs)",
        "adjustment_time": "a number >= 1 (weeks; below 1 the ordering rule overshoots)",
        "alpha_max": "a number >= 1",
        "alpha_time": "a number >= 1 (weeks)",
        "suppliers_per_input": "an integer >= 1",
        "rationing": f"one of {', '.join(RATIONING_RULES)}",
        "contract_utilisation": "a number in (0, 1]",
        "capacity_headroom": "a number >= 0 (a share: 0.2 = +20 %)",
        "stockpile_weeks": "a number of weeks >= 0",
        "investment_decision_weeks": "an integer number of weeks >= 1",
        "investment_build_weeks": "an integer number of weeks >= 1",
        "investment_share": "a number >= 0 (a share of original capacity)",
        "resourcing_weeks": "an integer number of weeks >= 0 (0 = no re-sourcing)",
        "qualification_weeks": "an integer number of weeks >= 1",
        "subtier_visibility": "true or false",
        "border_delay": "an integer number of weeks >= 0",
        "cyber_hardening": "a number in [0, 1]",
        "coproduction_share": "a number in [0, 1]",
        "contracting": f"one of {', '.join(CONTRACTING_RULES)}",
        "platforms": 'a list of state groups, e.g. [["USA", "KOR", "JPN"], ["USA", "AUS"]]',
    }
    for key, check in checks.items():
        if key in values and not check(values[key]):
            problems.append(f"{where}.{key}: must be {rules[key]}, got {values[key]!r}")
    return problems


def _unknown_fields(entry: dict[str, Any], known: set[str], where: str) -> list[str]:
    return [
        f"{where}{k}: unknown field (known: {', '.join(sorted(known))})"
        for k in entry
        if k not in known
    ]


def _tables(raw: Any, section: str, known: set[str], problems: list[str]):
    """Yield (where, entry) for each table of a ``[[section]]`` array, noting shape problems."""
    if not isinstance(raw, list) or not raw:
        problems.append(f"{section}: required, a non-empty array of [[{section}]] tables")
        return
    for i, entry in enumerate(raw):
        where = f"{section}[{i}]"
        if not isinstance(entry, dict):
            problems.append(f"{where}: must be a table")
            continue
        problems += _unknown_fields(entry, known, where + ".")
        yield where, entry


def parse_scenario(data: dict[str, Any], source: str = "scenario") -> Scenario:
    """Validate a parsed TOML document and build a :class:`Scenario` (or raise ScenarioError)."""
    problems: list[str] = []
    problems += _unknown_fields(data, _TOP_FIELDS, "")

    name = data.get("name", Path(source).stem)
    if not isinstance(name, str):
        problems.append(f"name: must be a string, got {name!r}")

    products, product_problems = _parse_products(data.get("products"))
    problems += product_problems
    product_names = {p.name for p in products}

    states, state_problems = _parse_states(data.get("states"), product_names)
    problems += state_problems
    codes = [s.code for s in states]

    hub = data.get("hub")
    if not isinstance(hub, str):
        problems.append(f'hub: required, the code of the hub state (e.g. "USA"), got {hub!r}')
    elif hub not in codes:
        problems.append(f"hub: {hub!r} is not one of the states ({', '.join(codes)})")
    else:
        for i, s in enumerate(states):
            if (s.role == "hub") != (s.code == hub):
                problems.append(
                    f"states[{i}].role: {s.code} must have role "
                    f"{'hub' if s.code == hub else 'ally'} (hub = {hub})"
                )

    groups, group_problems = _parse_firms(data.get("firms"), product_names, set(codes))
    problems += group_problems

    borders = data.get("cross_border", {})
    default_delay, pairs, delay_problems = _parse_borders(borders, set(codes))
    problems += delay_problems
    markup = borders.get("cost_markup", 0.1) if isinstance(borders, dict) else 0.1
    if not _is_number(markup) or markup < 0:
        problems.append(f"cross_border.cost_markup: must be a number >= 0, got {markup!r}")

    raw_params = data.get("parameters", {})
    if not isinstance(raw_params, dict):
        problems.append("parameters: must be a table")
        raw_params = {}
    problems += _check_parameters(raw_params, "parameters")
    problems += _check_platforms(raw_params.get("platforms"), codes)

    disruptions, disruption_problems = _parse_disruptions(data.get("disruptions", []))
    problems += disruption_problems

    if not problems:
        problems += _check_consistency(products, states, groups)
    if problems:
        raise ScenarioError(problems, f"scenario {source}")

    return Scenario(
        name=name,
        description=str(data.get("description", "")),
        hub=hub,
        states=states,
        products=products,
        firm_groups=groups,
        default_border_delay=default_delay,
        border_delays=pairs,
        border_cost_markup=float(markup),
        parameters=_make_parameters(raw_params),
        disruptions=tuple(disruptions),
    )


def _parse_products(raw: Any) -> tuple[list[Product], list[str]]:
    problems: list[str] = []
    products: list[Product] = []
    seen: set[str] = set()
    known = {"name", "label", "lead_time_weeks", "inputs", "chokepoint"}
    for where, entry in _tables(raw, "products", known, problems):
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            problems.append(f"{where}.name: required, a non-empty string")
            continue
        where = f"{where} ({name})"
        if name in seen:
            problems.append(f"{where}.name: duplicate product {name!r}")
        seen.add(name)
        lead = entry.get("lead_time_weeks")
        if not isinstance(lead, int) or isinstance(lead, bool) or lead < 1:
            problems.append(f"{where}.lead_time_weeks: required, an integer >= 1, got {lead!r}")
            lead = 1
        inputs = entry.get("inputs", {})
        if not isinstance(inputs, dict):
            problems.append(f"{where}.inputs: must be a table of input = units per unit")
            inputs = {}
        for q, units in inputs.items():
            if not _is_number(units) or units <= 0:
                problems.append(f"{where}.inputs.{q}: must be a positive number, got {units!r}")
        products.append(
            Product(
                name=name,
                label=str(entry.get("label", name)),
                lead_time_weeks=lead,
                inputs={q: float(u) for q, u in inputs.items() if _is_number(u)},
                chokepoint=bool(entry.get("chokepoint", False)),
            )
        )
    for i, p in enumerate(products):
        for q in p.inputs:
            if q not in seen:
                problems.append(f"products[{i}] ({p.name}).inputs.{q}: unknown product {q!r}")
            if q == p.name:
                problems.append(
                    f"products[{i}] ({p.name}).inputs.{q}: a product cannot be its own input"
                )
    cycle = find_cycle({p.name: p.inputs for p in products})
    if cycle:
        problems.append(f"products: the bill of materials has a cycle: {' -> '.join(cycle)}")
    return products, problems


def _parse_states(raw: Any, product_names: set[str]) -> tuple[list[StateSpec], list[str]]:
    problems: list[str] = []
    states: list[StateSpec] = []
    known = {"code", "name", "role", "demand", "cyber_hardening"}
    for where, entry in _tables(raw, "states", known, problems):
        code = entry.get("code")
        if not (isinstance(code, str) and len(code) == 3 and code.isalpha() and code.isupper()):
            problems.append(
                f'{where}.code: must be an ISO 3166 alpha-3 code like "KOR", got {code!r}'
            )
            continue
        if code in {s.code for s in states}:
            problems.append(f"{where}.code: duplicate state {code!r}")
        role = entry.get("role", "ally")
        if role not in ("hub", "ally"):
            problems.append(f'{where}.role: must be "hub" or "ally", got {role!r}')
        demand = entry.get("demand", {})
        if not isinstance(demand, dict):
            problems.append(f"{where}.demand: must be a table of end item = units per week")
            demand = {}
        for e, units in demand.items():
            if e not in product_names:
                problems.append(f"{where}.demand.{e}: unknown product {e!r}")
            if not _is_number(units) or units < 0:
                problems.append(f"{where}.demand.{e}: must be a number >= 0, got {units!r}")
        hardening = entry.get("cyber_hardening")
        if hardening is not None and not (_is_number(hardening) and 0 <= hardening <= 1):
            problems.append(
                f"{where}.cyber_hardening: must be a number in [0, 1], got {hardening!r}"
            )
            hardening = None
        states.append(
            StateSpec(
                code=code,
                name=str(entry.get("name", code)),
                role=role,
                demand={e: float(u) for e, u in demand.items() if _is_number(u)},
                cyber_hardening=hardening,
            )
        )
    return states, problems


def _parse_firms(
    raw: Any, product_names: set[str], codes: set[str]
) -> tuple[list[FirmGroup], list[str]]:
    problems: list[str] = []
    groups: list[FirmGroup] = []
    known = {"product", "state", "count", "capacity", "unit_cost"}
    for where, entry in _tables(raw, "firms", known, problems):
        product, state = entry.get("product"), entry.get("state")
        if product not in product_names:
            problems.append(f"{where}.product: unknown product {product!r}")
        if state not in codes:
            problems.append(f"{where}.state: unknown state {state!r}")
        count = entry.get("count")
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            problems.append(f"{where}.count: required, an integer >= 1, got {count!r}")
        capacity = entry.get("capacity")
        if not _is_number(capacity) or capacity <= 0:
            problems.append(f"{where}.capacity: required, units per week > 0, got {capacity!r}")
        cost = entry.get("unit_cost", 1.0)
        if not _is_number(cost) or cost <= 0:
            problems.append(f"{where}.unit_cost: must be a number > 0, got {cost!r}")
        if not any(p.startswith(where + ".") for p in problems):
            groups.append(FirmGroup(product, state, count, float(capacity), float(cost)))
    return groups, problems


def _parse_disruptions(raw: Any) -> tuple[list[Disruption], list[str]]:
    """``disruptions`` = a list of specs ("assembly:USA@12+8") or tables of Disruption fields."""
    if not isinstance(raw, list):
        return [], ["disruptions: must be an array of specs or tables"]
    out, problems = [], []
    for i, entry in enumerate(raw):
        try:
            if isinstance(entry, str):
                out.append(parse_disruption(entry))
            elif isinstance(entry, dict):
                out.append(Disruption(**entry))
            else:
                problems.append(f"disruptions[{i}]: must be a spec string or a table")
        except DisruptionError as err:
            problems.append(f"disruptions[{i}]: {str(err).splitlines()[0]}")
        except TypeError as err:
            problems.append(f"disruptions[{i}]: {err}")
    return out, problems


def _parse_borders(raw: Any, codes: set[str]) -> tuple[int, dict[tuple[str, str], int], list[str]]:
    problems: list[str] = []
    if not isinstance(raw, dict):
        return 0, {}, ["cross_border: must be a table"]
    problems += _unknown_fields(
        raw, {"default_delay_weeks", "pairs", "cost_markup"}, "cross_border."
    )
    default = raw.get("default_delay_weeks", 0)
    if not isinstance(default, int) or isinstance(default, bool) or default < 0:
        problems.append(
            f"cross_border.default_delay_weeks: must be an integer >= 0, got {default!r}"
        )
        default = 0
    pairs: dict[tuple[str, str], int] = {}
    for key, weeks in raw.get("pairs", {}).items():
        where = f"cross_border.pairs.{key}"
        parts = key.split("-")
        if len(parts) != 2 or not all(p in codes for p in parts) or parts[0] == parts[1]:
            problems.append(f'{where}: must name two different states as "AAA-BBB"')
            continue
        if not isinstance(weeks, int) or isinstance(weeks, bool) or weeks < 0:
            problems.append(f"{where}: must be an integer number of weeks >= 0, got {weeks!r}")
            continue
        # A pair is symmetric unless both directions are given.
        pairs.setdefault((parts[1], parts[0]), weeks)
        pairs[(parts[0], parts[1])] = weeks
    return default, pairs, problems


def _check_consistency(
    products: list[Product], states: list[StateSpec], groups: list[FirmGroup]
) -> list[str]:
    """Cross-field checks: every product is made somewhere, demand fits in capacity."""
    problems: list[str] = []
    demanded = {e for s in states for e in s.demand}
    inputs = {q for p in products for q in p.inputs}
    for e in sorted(demanded & inputs):
        problems.append(f"states.demand.{e}: {e} is an input of another product, not an end item")
    if not demanded:
        problems.append("states.demand: no state demands any end item")
    reachable: set[str] = set()
    frontier = list(demanded)
    by_name = {p.name: p for p in products}
    while frontier:
        name = frontier.pop()
        if name not in reachable:
            reachable.add(name)
            frontier += list(by_name[name].inputs)
    made = {g.product for g in groups}
    for p in products:
        if p.name not in reachable:
            problems.append(f"products ({p.name}): not used by any end item that a state demands")
        elif p.name not in made:
            problems.append(f"firms: no firm group makes {p.name!r}, which end items need")
    if problems:
        return problems
    # Baseline requirement of every product, top-down; it must fit within capacity.
    bom = BillOfMaterials(products, [p.name for p in products if p.name in demanded])
    capacity = {p.name: 0.0 for p in products}
    for g in groups:
        capacity[g.product] += g.capacity
    requirement = {p.name: 0.0 for p in products}
    for s in states:
        for e, d in s.demand.items():
            requirement[e] += d
    for i in bom.topological_order():
        p = bom.products[i]
        for q, units in p.inputs.items():
            requirement[q] += units * requirement[p.name]
    for name, need in requirement.items():
        if need > capacity[name] * (1 - 1e-9) and need > 0:
            problems.append(
                f"firms ({name}): baseline demand {need:g}/week exceeds total capacity "
                f"{capacity[name]:g}/week; the coalition cannot sit in equilibrium"
            )
    return problems
