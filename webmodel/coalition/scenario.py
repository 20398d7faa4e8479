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
from webmodel.coalition.costs import LeverCosts, parse_costs
from webmodel.coalition.disruptions import Disruption, DisruptionError, parse_disruption
from webmodel.coalition.parameters import (
    MAX_FIRMS,
    MAX_QUANTITY,
    MAX_TOML_BYTES,
    MAX_WEEKS,
    Parameters,
    make_parameters,
    problems_with,
)

__all__ = ["FirmGroup", "Parameters", "Scenario", "ScenarioError", "StateSpec", "load_scenario"]


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
    # Services (see webmodel/core/services.py): ships per service item; the demand for a
    # service is in slot-weeks per week (jobs per week x job_weeks).
    fleet: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class FirmGroup:
    """``count`` firms making ``product`` in ``state``, sharing ``capacity`` units per week."""

    product: str
    state: str
    count: int
    capacity: float
    unit_cost: float


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
    costs: LeverCosts = field(default_factory=LeverCosts)  # [costs]: what each lever costs

    @property
    def weekly_demand(self) -> dict[str, float]:
        """The coalition's final demand per end item per week (what a stockpile week holds;
        services, which cannot be stockpiled, left out)."""
        services = {p.name for p in self.products if p.service}
        out: dict[str, float] = {}
        for state in self.states:
            for item, quantity in state.demand.items():
                if item in services:
                    continue
                out[item] = out.get(item, 0.0) + quantity
        return out

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
        if not 1 <= firms <= MAX_FIRMS:
            raise ScenarioError(
                [f"firms: must be an integer in [1, {MAX_FIRMS:,}], got {firms}"], "option"
            )
        factor = firms / self.n_firms
        groups = [
            replace(g, count=max(1, round(g.count * factor)), capacity=g.capacity * factor)
            for g in self.firm_groups
        ]
        states = [
            replace(
                s,
                demand={e: d * factor for e, d in s.demand.items()},
                fleet={e: n * factor for e, n in s.fleet.items()},
            )
            for s in self.states
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
        problems = problems_with(merged, "parameters")
        problems += _check_platforms(merged.get("platforms"), self.state_codes)
        if problems:
            raise ScenarioError(problems, "parameters")
        return replace(self, parameters=make_parameters(merged))


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
    text = read_toml_text(path, "scenario")
    return parse_scenario(parse_toml(text, str(path), "scenario"), str(path))


def read_toml_text(path: Path, source: str, limit: int = MAX_TOML_BYTES) -> str:
    """A TOML file's text: at most ``limit`` bytes (checked before reading it) of UTF-8 (TOML's
    encoding), or a ScenarioError saying which of the two it is not."""
    try:
        size = path.stat().st_size
        if size > limit:
            raise ScenarioError(
                [f"{path}: {size:,} bytes, over the limit of {limit:,} for a {source} file"],
                source,
            )
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as err:
        raise ScenarioError([f"{path}: cannot be read ({err.strerror})"], source) from err
    if len(data) > limit:  # it grew while being read
        raise ScenarioError([f"{path}: over the limit of {limit:,} bytes"], source)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ScenarioError(
            [
                f"{path}: not UTF-8 text (byte 0x{data[err.start]:02x} at offset {err.start}); "
                "TOML files are UTF-8: save it in that encoding"
            ],
            source,
        ) from err


def parse_toml(text: str, where: str, source: str) -> dict[str, Any]:
    """Parse TOML text, turning the parser's errors (and deep nesting) into a ScenarioError."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError([f"{where}: not valid TOML ({err})"], source) from err
    except RecursionError:
        raise ScenarioError(
            [f"{where}: nested too deeply to be a {source} file (arrays or tables within tables)"],
            source,
        ) from None


# --- validation -------------------------------------------------------------------------------

MAX_MARKUP = 100  # a cross-border cost markup (0.1 = +10 %); 100 is already prohibitive


def _short(value: Any, limit: int = 60) -> str:
    """A value as written, cut short: a message never echoes a whole file."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


_TOP_FIELDS = {
    "costs",
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
    """A finite number no larger than MAX_QUANTITY in size (TOML's inf and nan are not)."""
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and abs(value) <= MAX_QUANTITY
    )


def _is_count(value: Any, low: int, high: int) -> bool:
    """An integer (not a bool) in [low, high]."""
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


_QUANTITY = f"{MAX_QUANTITY:.0e}".replace("e+", "e")  # "1e12", for messages


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
    states, service_problems = _parse_state_services(data.get("states"), states, products)
    problems += service_problems
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
    if not _is_number(markup) or not 0 <= markup <= MAX_MARKUP:
        problems.append(
            f"cross_border.cost_markup: must be a number in [0, {MAX_MARKUP}], got {markup!r}"
        )

    raw_params = data.get("parameters", {})
    if not isinstance(raw_params, dict):
        problems.append("parameters: must be a table")
        raw_params = {}
    problems += problems_with(raw_params, "parameters")
    problems += _check_platforms(raw_params.get("platforms"), codes)

    disruptions, disruption_problems = _parse_disruptions(data.get("disruptions", []))
    problems += disruption_problems

    services = {p.name for p in products if p.service}  # a slot-week cannot be stockpiled
    demanded = tuple(dict.fromkeys(e for s in states for e in s.demand if e not in services))
    costs, cost_problems = parse_costs(data.get("costs"), default_delay, demanded)
    problems += cost_problems

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
        parameters=make_parameters(raw_params),
        disruptions=tuple(disruptions),
        costs=costs,
    )


def _parse_products(raw: Any) -> tuple[list[Product], list[str]]:
    problems: list[str] = []
    products: list[Product] = []
    seen: set[str] = set()
    known = {"name", "label", "lead_time_weeks", "inputs", "chokepoint", "service", "job_weeks"}
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
        if not _is_count(lead, 1, MAX_WEEKS):
            problems.append(
                f"{where}.lead_time_weeks: required, an integer in [1, {MAX_WEEKS}] (weeks), "
                f"got {lead!r}"
            )
            lead = 1
        inputs = entry.get("inputs", {})
        if not isinstance(inputs, dict):
            problems.append(f"{where}.inputs: must be a table of input = units per unit")
            inputs = {}
        for q, units in inputs.items():
            if not _is_number(units) or units <= 0:
                problems.append(
                    f"{where}.inputs.{q}: must be a number in (0, {_QUANTITY}], got {units!r}"
                )
        products.append(
            Product(
                name=name,
                label=str(entry.get("label", name)),
                lead_time_weeks=lead,
                inputs={q: float(u) for q, u in inputs.items() if _is_number(u)},
                chokepoint=bool(entry.get("chokepoint", False)),
                **_service_fields(entry, where, problems),
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
    known = {"code", "name", "role", "demand", "cyber_hardening", "services"}
    for where, entry in _tables(raw, "states", known, problems):
        code = entry.get("code")
        if not (
            isinstance(code, str)
            and len(code) == 3
            and code.isascii()
            and code.isalpha()
            and code.isupper()
        ):
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
                problems.append(
                    f"{where}.demand.{e}: must be a number in [0, {_QUANTITY}] (units per week), "
                    f"got {units!r}"
                )
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


def _service_fields(entry: dict[str, Any], where: str, problems: list[str]) -> dict[str, Any]:
    """A product's ``service = true`` and ``job_weeks`` (weeks a job holds a yard slot)."""
    service = entry.get("service", False)
    if not isinstance(service, bool):
        problems.append(f"{where}.service: must be true or false, got {service!r}")
        return {}
    weeks = entry.get("job_weeks")
    if not service:
        if weeks is not None:
            problems.append(f"{where}.job_weeks: only a service (service = true) has job_weeks")
        return {}
    if not _is_int(weeks) or weeks < 1:
        problems.append(f"{where}.job_weeks: a service needs an integer >= 1, got {weeks!r}")
        return {"service": True, "job_weeks": 1}
    return {"service": True, "job_weeks": int(weeks)}


def _parse_state_services(
    raw: Any, states: list[StateSpec], products: list[Product]
) -> tuple[list[StateSpec], list[str]]:
    """Each state's ``services = {item = {fleet = N, jobs_per_week = J}}``: the fleet, and the
    demand for the service in slot-weeks per week (J x the item's job_weeks)."""
    if not isinstance(raw, list):
        return states, []
    problems: list[str] = []
    by_name = {p.name: p for p in products}
    out = []
    entries = [e for e in raw if isinstance(e, dict) and e.get("code") in {s.code for s in states}]
    for i, (state, entry) in enumerate(zip(states, entries, strict=False)):
        where = f"states[{i}] ({state.code})"
        for e in state.demand:
            if e in by_name and by_name[e].service:
                problems.append(
                    f"{where}.demand.{e}: {e} is a service; give it as "
                    f"services.{e} = {{fleet = ..., jobs_per_week = ...}}"
                )
        services = entry.get("services", {})
        if not isinstance(services, dict):
            problems.append(f"{where}.services: must be a table of item = {{fleet, jobs_per_week}}")
            out.append(state)
            continue
        demand, fleet = dict(state.demand), {}
        for item, spec in services.items():
            at = f"{where}.services.{item}"
            product = by_name.get(item)
            if product is None or not product.service:
                problems.append(f"{at}: not a service product (a product with service = true)")
                continue
            if not isinstance(spec, dict):
                problems.append(f"{at}: must be a table {{fleet = N, jobs_per_week = J}}")
                continue
            problems += _unknown_fields(spec, {"fleet", "jobs_per_week"}, at + ".")
            ships, jobs = spec.get("fleet"), spec.get("jobs_per_week")
            if not _is_number(jobs) or jobs <= 0:
                problems.append(f"{at}.jobs_per_week: required, a number > 0, got {jobs!r}")
                continue
            if not _is_number(ships) or ships <= 0:
                problems.append(f"{at}.fleet: required, a number of ships > 0, got {ships!r}")
                continue
            in_maintenance = jobs * product.job_weeks
            if in_maintenance >= ships:
                problems.append(
                    f"{at}.fleet: {ships:g} ships cannot keep {in_maintenance:g} in maintenance "
                    f"(jobs_per_week x job_weeks); the fleet must be larger"
                )
                continue
            demand[item] = float(in_maintenance)
            fleet[item] = float(ships)
        out.append(replace(state, demand=demand, fleet=fleet))
    return out, problems


def _parse_firms(
    raw: Any, product_names: set[str], codes: set[str]
) -> tuple[list[FirmGroup], list[str]]:
    problems: list[str] = []
    groups: list[FirmGroup] = []
    known = {"product", "state", "count", "capacity", "unit_cost"}
    for where, entry in _tables(raw, "firms", known, problems):
        product, state = entry.get("product"), entry.get("state")
        if not isinstance(product, str) or product not in product_names:
            problems.append(f"{where}.product: unknown product {product!r}")
        if not isinstance(state, str) or state not in codes:
            problems.append(f"{where}.state: unknown state {state!r}")
        count = entry.get("count")
        if not _is_count(count, 1, MAX_FIRMS):
            problems.append(
                f"{where}.count: required, an integer in [1, {MAX_FIRMS:,}], got {count!r}"
            )
        capacity = entry.get("capacity")
        if not _is_number(capacity) or capacity <= 0:
            problems.append(
                f"{where}.capacity: required, units per week in (0, {_QUANTITY}], got {capacity!r}"
            )
        cost = entry.get("unit_cost", 1.0)
        if not _is_number(cost) or cost <= 0:
            problems.append(
                f"{where}.unit_cost: must be a number in (0, {_QUANTITY}], got {cost!r}"
            )
        if not any(p.startswith(where + ".") for p in problems):
            groups.append(FirmGroup(product, state, count, float(capacity), float(cost)))
    total = sum(g.count for g in groups)
    if total > MAX_FIRMS:
        problems.append(f"firms: {total:,} firms in all, over the limit of {MAX_FIRMS:,}")
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
                typed = _disruption_field_problems(entry, f"disruptions[{i}]")
                if typed:
                    problems += typed
                    continue
                out.append(Disruption(**entry))
            else:
                problems.append(f"disruptions[{i}]: must be a spec string or a table")
        except DisruptionError as err:
            problems.append(f"disruptions[{i}]: {str(err).splitlines()[0]}")
        except TypeError as err:
            problems.append(f"disruptions[{i}]: {err}")
    return out, problems


_DISRUPTION_FIELDS = {
    "kind": str,
    "target": str,
    "start": int,
    "duration": int,
    "recovery": str,
    "recovery_weeks": int,
}


def _disruption_field_problems(entry: dict[str, Any], where: str) -> list[str]:
    """Type and range problems of a disruption table, each naming its field."""
    problems = _unknown_fields(entry, set(_DISRUPTION_FIELDS), where + ".")
    for key, kind in _DISRUPTION_FIELDS.items():
        if key not in entry:
            continue
        value = entry[key]
        if kind is str and not isinstance(value, str):
            example = ' (e.g. "0.2", "USA" or "tnt:KOR")' if key == "target" else ""
            problems.append(f"{where}.{key}: must be a string{example}, got {value!r}")
        elif kind is int and not _is_count(value, 0, MAX_WEEKS):
            problems.append(
                f"{where}.{key}: must be an integer in [0, {MAX_WEEKS}] (weeks), got {value!r}"
            )
    return problems


def _parse_borders(raw: Any, codes: set[str]) -> tuple[int, dict[tuple[str, str], int], list[str]]:
    problems: list[str] = []
    if not isinstance(raw, dict):
        return 0, {}, ["cross_border: must be a table"]
    problems += _unknown_fields(
        raw, {"default_delay_weeks", "pairs", "cost_markup"}, "cross_border."
    )
    default = raw.get("default_delay_weeks", 0)
    if not _is_count(default, 0, MAX_WEEKS):
        problems.append(
            f"cross_border.default_delay_weeks: must be an integer in [0, {MAX_WEEKS}] (weeks), "
            f"got {default!r}"
        )
        default = 0
    pairs: dict[tuple[str, str], int] = {}
    raw_pairs = raw.get("pairs", {})
    if not isinstance(raw_pairs, dict):
        problems.append(
            'cross_border.pairs: must be a table of "AAA-BBB" = weeks, e.g. '
            f'pairs = {{ "USA-KOR" = 2 }}, got {_short(raw_pairs)}'
        )
        raw_pairs = {}
    for key, weeks in raw_pairs.items():
        where = f"cross_border.pairs.{key}"
        parts = key.split("-")
        if len(parts) != 2 or not all(p in codes for p in parts) or parts[0] == parts[1]:
            problems.append(f'{where}: must name two different states as "AAA-BBB"')
            continue
        if not _is_count(weeks, 0, MAX_WEEKS):
            problems.append(
                f"{where}: must be an integer in [0, {MAX_WEEKS}] (weeks), got {weeks!r}"
            )
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
    for p in products:
        if p.service and p.name in inputs:
            problems.append(f"products ({p.name}): a service cannot be an input of a product")
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
