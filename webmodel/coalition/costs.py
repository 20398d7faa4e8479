"""What the policy levers cost: a user-settable model per lever, read from a scenario's [costs].

Costs are one-off, in millions of US dollars ($M), of moving a lever from its **baseline** (the
setting that costs nothing: no headroom, no stockpile, single sourcing, no hardening, the
scenario's border delay) toward a better one. Every default here is **illustrative**: a round
number of the right order, anchored where there is one on a public figure (docs/sources.md,
"Lever costs"). Set your own in the scenario file before reading anything into a cost::

    [costs]
    capacity_headroom = { per_unit = 2000 }             # $M per +100 % capacity (share 1.0)
    stockpile_weeks = { prices = { shell_155mm = 0.005, interceptor = 4.0 } }  # $M per unit
    subtier_visibility = { fixed = 100 }                 # $M if true

A numeric lever costs ``fixed`` (once it leaves its baseline) + ``per_unit`` x how far it moved
(up for ``direction = "increase"``, down for ``"decrease"``); a true/false lever costs ``fixed``
when true; a rule (``rationing``, ``contracting``) costs ``levels[rule]``. The stockpile costs
``weeks x weekly final demand x price x (1 + holding_share)``, from the scenario's own demand.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from webmodel.coalition.parameters import SPECS

COST_FIELDS = ("per_unit", "fixed", "baseline", "direction", "levels", "prices", "holding_share")
DIRECTIONS = ("increase", "decrease")
MAX_COST = 1e9  # $M: far above any budget, far from overflow

# End-item prices ($M per unit) for the stockpile's cost, by product name (illustrative;
# docs/sources.md, "Lever costs").
DEFAULT_PRICES = {
    "shell_155mm": 0.005,  # ~$5,000 a round (reported US costs ~$3,000-8,000)
    "interceptor": 4.0,  # ~$4M (PAC-3 MSE as reported)
    "pac3": 4.0,
    "gmlrs": 0.16,  # ~$160,000 a rocket (as reported)
    "k9_sph": 4.0,  # illustrative
}


@dataclass(frozen=True)
class LeverCost:
    """The cost model of one lever (see the module's docstring)."""

    lever: str
    per_unit: float = 0.0
    fixed: float = 0.0
    baseline: Any = None
    direction: str = "increase"
    levels: Mapping[str, float] = field(default_factory=dict)
    prices: Mapping[str, float] = field(default_factory=dict)
    holding_share: float = 0.0
    source: str = "illustrative"
    unpriced: tuple[str, ...] = ()  # end items without a price: their stockpile costs nothing

    def cost(self, value: Any, weekly_demand: Mapping[str, float] | None = None) -> float:
        """$M of setting the lever to ``value`` (0 at its baseline)."""
        if value is None or value == self.baseline:
            return 0.0
        if isinstance(value, bool):
            return self.fixed if value else 0.0
        if isinstance(value, str):
            return float(self.levels.get(value, 0.0))
        if self.prices:
            demand = weekly_demand or {}
            per_week = sum(q * self.prices.get(item, 0.0) for item, q in demand.items())
            return float(value) * per_week * (1 + self.holding_share) + self.fixed
        base = float(self.baseline or 0.0)
        moved = float(value) - base if self.direction == "increase" else base - float(value)
        return self.fixed + self.per_unit * moved if moved > 0 else 0.0

    def describe(self) -> str:
        """The cost model in words, for docs and summaries."""
        if self.prices:
            prices = ", ".join(f"{k} {v:g}" for k, v in self.prices.items())
            text = f"weeks x weekly demand x price ($M per unit: {prices})"
            if self.holding_share:
                text += f" x (1 + {self.holding_share:g} holding)"
            return text
        if self.levels:
            return "by rule: " + ", ".join(f"{k} {v:g}" for k, v in self.levels.items())
        spec = SPECS[self.lever]
        if spec.kind == "bool":
            return f"{self.fixed:g} if true"
        way = "above" if self.direction == "increase" else "below"
        text = f"{self.per_unit:g} per {spec.unit or 'unit'} {way} {self.baseline}"
        return text + (f", plus {self.fixed:g} once moved" if self.fixed else "")


# The illustrative defaults, lever by lever ($M, one-off). ``None`` baselines are filled from
# the scenario (the border delay's baseline is the scenario's own delay).
DEFAULT_COSTS: dict[str, dict[str, Any]] = {
    # $1.45bn for 14,000 -> 24,000 155mm rounds/month (+71 %): ~$2,000M per +100 %.
    "capacity_headroom": {"per_unit": 2000.0, "baseline": 0.0, "source": "anchored"},
    "stockpile_weeks": {"prices": DEFAULT_PRICES, "baseline": 0.0, "source": "anchored"},
    "suppliers_per_input": {"per_unit": 50.0, "baseline": 1},  # qualifying a second source
    "subtier_visibility": {"fixed": 100.0, "baseline": False},  # mapping and data systems
    "cyber_hardening": {"per_unit": 500.0, "baseline": 0.0},  # every firm hardened = 1.0
    "border_delay": {"per_unit": 25.0, "direction": "decrease", "baseline": None},
    "coproduction_share": {"per_unit": 1000.0, "baseline": 0.0},  # all allied assembly at home
    "contract_utilisation": {"per_unit": 0.0, "direction": "decrease", "baseline": 1.0},
    "rationing": {"levels": {"proportional": 0.0, "priority": 0.0}},
    "contracting": {"levels": {"topology": 0.0, "lowest-cost": 0.0, "best-value": 0.0}},
}


@dataclass(frozen=True)
class LeverCosts:
    """Every lever's cost model in one scenario; levers without one cost nothing."""

    models: Mapping[str, LeverCost] = field(default_factory=dict)

    def cost(
        self, values: Mapping[str, Any], weekly_demand: Mapping[str, float] | None = None
    ) -> float:
        """The portfolio's total $M."""
        return sum(self.breakdown(values, weekly_demand).values())

    def breakdown(
        self, values: Mapping[str, Any], weekly_demand: Mapping[str, float] | None = None
    ) -> dict[str, float]:
        """$M per lever of a portfolio (levers not given are at their baseline)."""
        return {
            name: model.cost(values[name], weekly_demand)
            for name, model in self.models.items()
            if name in values
        }


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _cost_number(value: Any, where: str, problems: list[str]) -> float:
    if not _number(value) or not 0 <= value <= MAX_COST:
        problems.append(f"{where}: must be a number of $M in [0, {MAX_COST:g}], got {value!r}")
        return 0.0
    return float(value)


def parse_costs(
    raw: Any, default_border_delay: int = 4, end_items: tuple[str, ...] = ()
) -> tuple[LeverCosts, list[str]]:
    """The scenario's ``[costs]`` over the defaults, and every problem (each naming its field)."""
    problems: list[str] = []
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        return LeverCosts(), ["costs: must be a table of lever = { ... }"]
    levers = [name for name, spec in SPECS.items() if spec.role == "lever"]
    merged: dict[str, dict[str, Any]] = {k: dict(v) for k, v in DEFAULT_COSTS.items()}
    for name, entry in raw.items():
        where = f"costs.{name}"
        if name not in SPECS:
            close = difflib.get_close_matches(name, levers, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            problems.append(f"{where}: unknown lever{hint}; levers: {', '.join(levers)}")
            continue
        if SPECS[name].role != "lever":
            problems.append(
                f"{where}: {name} is an {SPECS[name].role}, not a lever; only levers have costs"
            )
            continue
        if name in ("topology", "web_ness", "platforms"):
            problems.append(f"{where}: the wiring and platforms are compared, not costed")
            continue
        if not isinstance(entry, dict):
            problems.append(f"{where}: must be a table, e.g. {{ per_unit = 100 }}, got {entry!r}")
            continue
        for key in entry:
            if key not in COST_FIELDS:
                close = difflib.get_close_matches(key, COST_FIELDS, n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                problems.append(f"{where}.{key}: unknown field{hint}; fields: "
                                + ", ".join(COST_FIELDS))  # fmt: skip
        given = {k: v for k, v in entry.items() if k in COST_FIELDS}
        merged[name] = {**merged.get(name, {}), **given, "source": "scenario file"}
    models = {}
    for name, entry in merged.items():
        where = f"costs.{name}"
        spec = SPECS[name]
        direction = entry.get("direction", "increase")
        if direction not in DIRECTIONS:
            problems.append(f"{where}.direction: must be increase or decrease, got {direction!r}")
            direction = "increase"
        baseline = entry.get("baseline", spec.default)
        if name == "border_delay" and baseline is None:
            baseline = default_border_delay
        if baseline is not None and (problem := spec.check(baseline)) is not None:
            problems.append(f"{where}.baseline: {problem}")
        levels = entry.get("levels", {})
        if not isinstance(levels, dict):
            problems.append(f"{where}.levels: must be a table of rule = $M, got {levels!r}")
            levels = {}
        for rule, value in levels.items():
            if spec.choices and rule not in spec.choices:
                problems.append(
                    f"{where}.levels.{rule}: not a rule of {name} ({', '.join(spec.choices)})"
                )
            _cost_number(value, f"{where}.levels.{rule}", problems)
        prices = entry.get("prices", {})
        if prices and name != "stockpile_weeks":
            problems.append(f"{where}.prices: only the stockpile is priced per end item")
        if not isinstance(prices, dict):
            problems.append(f"{where}.prices: must be a table of end item = $M, got {prices!r}")
            prices = {}
        for item, value in prices.items():
            _cost_number(value, f"{where}.prices.{item}", problems)
        missing = [e for e in end_items if e not in prices] if name == "stockpile_weeks" else []
        written = raw.get(name) if isinstance(raw.get(name), dict) else {}
        if missing and "prices" in written:  # a file without prices keeps working (cost 0)
            problems.append(
                f"{where}.prices: no price for end item(s) {', '.join(missing)} "
                "(add them: $M per unit)"
            )
        holding = entry.get("holding_share", 0.0)
        if not _number(holding) or not 0 <= holding <= 10:
            problems.append(f"{where}.holding_share: must be a number in [0, 10], got {holding!r}")
            holding = 0.0
        models[name] = LeverCost(
            name,
            per_unit=_cost_number(entry.get("per_unit", 0.0), f"{where}.per_unit", problems),
            fixed=_cost_number(entry.get("fixed", 0.0), f"{where}.fixed", problems),
            baseline=spec.coerce(baseline) if baseline is not None else None,
            direction=direction,
            levels={k: float(v) for k, v in levels.items() if _number(v)},
            prices={k: float(v) for k, v in prices.items() if _number(v)},
            holding_share=float(holding),
            source=str(entry.get("source", "illustrative")),
            unpriced=tuple(missing),
        )
    return LeverCosts(models), problems
