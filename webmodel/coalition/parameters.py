"""Every model parameter, declared once: type, default, bounds, unit, help, and XLRM role.

A parameter is a field of :class:`Parameters` (behaviour and policy, settable in a scenario's
``[parameters]`` table) or of :class:`RunSettings` (what one run is: wiring, size, demand surge,
horizon). Its declaration - the :func:`declare` call beside the field - is the only place that
says what it is. Everything else is derived from :data:`SPECS`:

- the scenario file's validation and its messages (:func:`problems_with`);
- the keyword overrides of :class:`~webmodel.core.model.CoalitionModel`;
- the ``webmodel run`` / ``compare`` options, with units in ``--help``;
- the app's fields, the sweep's factor names (with the closest-name suggestion);
- the parameter table in ``docs/levers.md`` (``webmodel parameters --markdown``).

Adding a parameter means one field here plus the mechanism that uses it.

Roles follow Lempert's XLRM: a **lever** is what a decision maker sets (the NDIS actions, the
wiring itself); an **uncertainty** is what the world or industry sets (behaviour, demand, how
long qualification takes); a **setting** is neither (the model's size and horizon).
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import math
import numbers
import typing
from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["lever", "uncertainty", "setting"]
ROLES: tuple[Role, ...] = ("lever", "uncertainty", "setting")

RATIONING_RULES = ("proportional", "priority")
DESTOCKING_RULES = ("allowed", "none")
BORDER_TRANSIT_RULES = ("wait", "lost")
CONTRACTING_RULES = ("topology", "lowest-cost", "best-value")
TOPOLOGIES = ("hub-and-spokes", "production-web")

# The longest horizon or delay anyone needs (20 years of weeks): an upper bound on every duration,
# so that no input can ask for arrays sized by an absurd number of weeks.
MAX_WEEKS = 1040
# The largest seed (numpy takes any non-negative integer; a signed 64-bit bound keeps seeds
# storable in every Parquet column and JSON reader).
MAX_SEED = 2**63 - 1
# The most firms one run may have (scenario firm groups, --firms, a network file), and the largest
# quantity a scenario or network may state (units per week of capacity or demand, units per unit,
# costs, order weights): far from float overflow even after surges, headroom and a long horizon.
MAX_FIRMS = 1_000_000
MAX_QUANTITY = 1e12
# The largest scenario or experiment file read (they are hand-written: a few kilobytes). Checked
# before parsing, so that no file can keep a parser busy for minutes.
MAX_TOML_BYTES = 1_000_000


@dataclass(frozen=True)
class Spec:
    """What one parameter is. Built by :func:`declare`; ``name`` and ``kind`` come from the field.

    ``kind`` is one of "float", "int", "bool", "str" or "groups" (a list of state groups), and
    ``nullable`` says whether ``None`` is allowed (it then means ``none_means``).
    """

    default: Any
    unit: str
    help: str
    role: Role
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # low itself is not allowed: (low, high]
    choices: tuple[str, ...] = ()
    none_means: str = ""
    why: str = ""  # added to the message when a value is out of range
    name: str = ""
    kind: str = ""
    nullable: bool = False
    scope: Literal["scenario", "run"] = "scenario"

    @property
    def option(self) -> str:
        """The command-line option: ``--target-cover-weeks``; a list is given one item per
        option, so its option is singular (``--platform USA,KOR,JPN --platform USA,AUS``)."""
        name = self.name.removesuffix("s") if self.kind == "groups" else self.name
        return "--" + name.replace("_", "-")

    def rule(self) -> str:
        """What a valid value is, in words: 'a number >= 1 (weeks)'."""
        if self.choices:
            text = f"one of {', '.join(self.choices)}"
        elif self.kind == "bool":
            text = "true or false"
        elif self.kind == "groups":
            text = 'a list of state groups, e.g. [["USA", "KOR", "JPN"], ["USA", "AUS"]]'
        else:
            noun = "an integer" if self.kind == "int" else "a number"
            low, high = _number(self.low), _number(self.high)
            if self.low is not None and self.high is not None:
                left = "(" if self.low_open else "["
                text = f"{noun} in {left}{low}, {high}]"
            elif self.low is not None:
                text = f"{noun} {'>' if self.low_open else '>='} {low}"
            elif self.high is not None:
                text = f"{noun} <= {high}"
            else:
                text = f"a finite {noun.removeprefix('a ').removeprefix('an ')}"
            if self.unit:
                text += f" ({self.unit})"
        if self.why:
            text += f"; {self.why}"
        return text

    def check(self, value: Any) -> str | None:
        """What is wrong with ``value``, or None if it is acceptable."""
        if value is None:
            return None if self.nullable else f"must be {self.rule()}, got None"
        ok = True
        if self.kind == "bool":
            ok = isinstance(value, bool)
        elif self.kind == "str":
            ok = isinstance(value, str) and (not self.choices or value in self.choices)
        elif self.kind == "groups":
            ok = isinstance(value, list | tuple) and all(
                isinstance(g, list | tuple) and len(g) >= 2 and all(isinstance(c, str) for c in g)
                for g in value
            )
        elif self.kind in ("int", "float"):
            ok = _in_bounds(self, value)
        if ok:
            return None
        return f"must be {self.rule()}, got {value!r}"

    def parse(self, text: str) -> Any:
        """A value typed as text (a command-line option, an app field), checked.

        Raises:
            ValueError: ``must be <rule>, got '<text>'``; the caller adds which field it was.
        """
        text = text.strip()
        value: Any = text
        try:
            if self.kind == "int":
                value = int(text)
            elif self.kind == "float":
                value = float(text)
            elif self.kind == "bool":
                value = {"true": True, "false": False}[text.lower()]
            elif self.kind == "groups":
                raise ValueError("state groups are not parsed from one text")
        except (KeyError, ValueError):
            raise ValueError(f"must be {self.rule()}, got {text!r}") from None
        if self.check(value) is not None:
            raise ValueError(f"must be {self.rule()}, got {text!r}")
        return self.coerce(value)

    def default_text(self) -> str:
        """What an unset value means, in words: '1.25', 'the topology's end point'."""
        return self.none_means if self.default is None else _show(self.default).strip("`")

    def coerce(self, value: Any) -> Any:
        """The validated value in its declared type (ints for float fields become floats,
        state groups become tuples so that parameters stay hashable)."""
        if value is None:
            return None
        if self.kind == "float":
            return float(value)
        if self.kind == "int":
            return int(value)
        if self.kind == "groups":
            return tuple(tuple(g) for g in value)
        return value


def _number(x: float | None) -> str:
    """1040, 0.25, 1,000,000: bounds as a reader writes them."""
    if x is None:
        return ""
    return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"


def _in_bounds(spec: Spec, value: Any) -> bool:
    """A finite number of the spec's kind within its bounds (numpy scalars count)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    if spec.kind == "int" and not isinstance(value, numbers.Integral):
        return False
    if not math.isfinite(value):
        return False
    if spec.low is not None and (value <= spec.low if spec.low_open else value < spec.low):
        return False
    return spec.high is None or value <= spec.high


def declare(
    default: Any,
    unit: str,
    help: str,
    role: Role,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    choices: tuple[str, ...] = (),
    none_means: str = "",
    why: str = "",
) -> Any:
    """A dataclass field carrying its :class:`Spec` (the only declaration of a parameter)."""
    spec = Spec(default, unit, help, role, low, high, low_open, choices, none_means, why)
    return field(default=default, metadata={"spec": spec})


@dataclass(frozen=True)
class Parameters:
    """Behaviour and policy of one coalition; a scenario's ``[parameters]`` table sets them and
    every run may override them (``CoalitionModel(alpha_max=1.5)``, ``--alpha-max 1.5``)."""

    target_cover_weeks: float = declare(
        4.0, "weeks", "weeks of input use a firm keeps in stock (n)", "uncertainty",
        low=1, high=MAX_WEEKS, why="a firm must hold at least one week of inputs",
    )  # fmt: skip
    adjustment_time: float = declare(
        4.0, "weeks", "weeks over which a firm closes its stock and pipeline gaps (tau)",
        "uncertainty", low=1, high=MAX_WEEKS, why="below 1 the ordering rule overshoots",
    )  # fmt: skip
    supply_line_weight: float = declare(
        1.0, "", "beta: the weight of the supply-line gap in the ordering rule (Sterman 1989); "
        "the supply line is what is in transit plus what the suppliers still owe (their backlog "
        "to the buyer). 1 = the whole supply line counts (no double ordering); below 1 = "
        "Sterman's supply-line underweighting", "uncertainty", low=0, high=1,
    )  # fmt: skip
    destocking: str = declare(
        "allowed", "", "allowed: a firm holding more stock or supply line than its target "
        "orders less than its expected use (the gap may be negative; Sterman's rule); none: "
        "the gap is floored at 0, so orders never fall below expected use and a surplus is "
        "never run down (ARIO's rule)", "uncertainty", choices=DESTOCKING_RULES,
    )  # fmt: skip
    alpha_max: float = declare(
        1.25, "× capacity", "the most a firm can produce over its nominal capacity "
        "(overtime, extra shifts)", "uncertainty", low=1, high=10,
    )  # fmt: skip
    alpha_time: float = declare(
        8.0, "weeks", "weeks for overproduction to move toward alpha_max (or back to 1)",
        "uncertainty", low=1, high=MAX_WEEKS,
    )  # fmt: skip
    suppliers_per_input: int = declare(
        3, "suppliers", "suppliers per input in the production web (k)", "lever",
        low=1, high=100,
    )  # fmt: skip
    rationing: str = declare(
        "proportional", "", "how a short supplier shares its output: in proportion to orders, "
        "or customers at or below their pre-shock order first (priority)", "lever",
        choices=RATIONING_RULES,
    )  # fmt: skip
    contract_utilisation: float = declare(
        0.9, "share of capacity", "under single sourcing, the largest share of a supplier's "
        "capacity that buyers contract at baseline", "lever", low=0, high=1, low_open=True,
    )  # fmt: skip
    capacity_headroom: float = declare(
        0.0, "share", "extra capacity on every firm, e.g. 0.2 = +20 % (NDIS: invest in "
        "capacity); the same in every topology", "lever", low=0, high=10,
    )  # fmt: skip
    stockpile_weeks: float = declare(
        0.0, "weeks of demand", "each state's end-item stockpile; it covers the forces while "
        "deliveries fall short and refills as the backlog arrives", "lever",
        low=0, high=MAX_WEEKS,
    )  # fmt: skip
    investment_decision_weeks: int = declare(
        26, "weeks", "weeks a firm must be short of capacity before it orders more",
        "uncertainty", low=1, high=MAX_WEEKS,
    )  # fmt: skip
    investment_build_weeks: int = declare(
        130, "weeks", "weeks from that order until the new capacity produces (~3 years)",
        "uncertainty", low=1, high=MAX_WEEKS,
    )  # fmt: skip
    investment_share: float = declare(
        0.25, "share of capacity", "capacity added by one investment, as a share of the "
        "firm's original capacity (0 turns investment off)", "uncertainty", low=0, high=10,
    )  # fmt: skip
    resourcing_weeks: int = declare(
        4, "weeks", "weeks a supplier must deliver under half of what a buyer wants before "
        "the buyer looks for a substitute (0 turns re-sourcing off)", "uncertainty",
        low=0, high=MAX_WEEKS,
    )  # fmt: skip
    qualification_weeks: int = declare(
        26, "weeks", "weeks before a substitute supplier may ship (qualification)",
        "uncertainty", low=1, high=MAX_WEEKS,
    )  # fmt: skip
    subtier_visibility: bool = declare(
        False, "", "buyers see every maker in the coalition when they look for a substitute "
        "(NDIS sub-tier visibility), not only their home market", "lever",
    )  # fmt: skip
    border_delay: int | None = declare(
        None, "weeks", "weeks every cross-border shipment waits (FMS / export licensing)",
        "lever", low=0, high=MAX_WEEKS, none_means="the scenario's [cross_border] table",
    )  # fmt: skip
    closed_border_transit: str = declare(
        "wait", "", "what happens to goods already shipped across a border that closes: wait "
        "at the border until it reopens (still in transit, owed to the buyer), or are lost "
        "(seized, spoiled; they leave the system and are recorded as lost_in_transit)",
        "uncertainty", choices=BORDER_TRANSIT_RULES,
    )  # fmt: skip
    cyber_hardening: float = declare(
        0.0, "probability", "chance that a firm resists an outage of its IT vendor, in every "
        "state", "lever", low=0, high=1,
    )  # fmt: skip
    coproduction_share: float | None = declare(
        None, "share", "share of allied end-item assembly kept in the allies (co-production)",
        "lever", low=0, high=1, none_means="follows the topology (0 hub-and-spokes, 1 web)",
    )  # fmt: skip
    contracting: str = declare(
        "topology", "", "contracting rule: 'topology' (hub-and-spokes single-sources by lowest "
        "cost, the web multi-sources), or lowest-cost / best-value in every topology",
        "lever", choices=CONTRACTING_RULES,
    )  # fmt: skip
    wiring_noise: float = declare(
        0.05, "share of unit cost", "bid-cost noise of the wiring: at contracting, each firm "
        "bids its unit cost times (1 + e), e uniform in [-noise, noise] and drawn from the "
        "run's seed, so replicates sample wirings (hub-and-spokes' lowest-cost choice and its "
        "ties included); firms' actual costs do not change. An uncertainty: what bids will be "
        "is not known, the scenario's costs are indices good to a few per cent at best, and "
        "+-5 % moves hub-and-spokes' losses as much as published differences. 0 = the "
        "scenario's costs as bids and ties by firm order (one hub-and-spokes wiring per "
        "scenario, as before)", "uncertainty", low=0, high=0.5,
    )  # fmt: skip
    web_home_bias: float = declare(
        0.7, "share of need", "production web: the share of each buyer's need it sources first "
        "from its own state's suppliers (k-way, as far as their room goes); the rest, and any "
        "home shortfall, is matched over every allowed state. An uncertainty (industry's "
        "sourcing habit; a domestic-content rule would set it): 0.7 is a round value in the "
        "range of the domestic share of manufacturing's intermediate inputs in OECD "
        "input-output tables (TiVA, roughly 2/3 to 3/4). 0 = the geography-blind web of "
        "before", "uncertainty", low=0, high=1,
    )  # fmt: skip
    platforms: tuple[tuple[str, ...], ...] | None = declare(
        None, "", "minilateral platforms: in the web, allies trade laterally only inside a "
        "listed group of states", "lever", none_means="every pair of states may trade",
    )  # fmt: skip


@dataclass(frozen=True)
class RunSettings:
    """What one run is, beyond the scenario: its wiring, size, demand surge and horizon."""

    topology: str = declare(
        "production-web", "", "how the coalition is wired", "lever", choices=TOPOLOGIES
    )
    web_ness: float | None = declare(
        None, "", "a dial between hub-and-spokes (0) and the production web (1); "
        "overrides topology", "lever", low=0, high=1, none_means="the topology's end point",
    )  # fmt: skip
    firms: int | None = declare(
        None, "firms", "scale the scenario to about this many firms, same proportions",
        "setting", low=1, high=MAX_FIRMS, none_means="the scenario's own firms",
    )  # fmt: skip
    surge: float = declare(
        1.0, "× demand", "factor on final demand from surge_start on (1 = no surge)",
        "uncertainty", low=0, high=1000,
    )  # fmt: skip
    surge_start: int = declare(
        10, "week", "first week of surged demand", "uncertainty", low=1, high=MAX_WEEKS
    )
    steps: int = declare(104, "weeks", "weeks to simulate", "setting", low=1, high=MAX_WEEKS)


def _specs(cls: type, scope: str) -> dict[str, Spec]:
    hints = typing.get_type_hints(cls)
    out = {}
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        args = set(typing.get_args(hint)) or {hint}
        nullable = type(None) in args
        base = next(iter(args - {type(None)}))
        kind = {float: "float", int: "int", bool: "bool", str: "str"}.get(base, "groups")
        out[f.name] = dataclasses.replace(
            f.metadata["spec"], name=f.name, kind=kind, nullable=nullable, scope=scope
        )
    return out


SCENARIO_SPECS: dict[str, Spec] = _specs(Parameters, "scenario")
RUN_SPECS: dict[str, Spec] = _specs(RunSettings, "run")
SPECS: dict[str, Spec] = {**RUN_SPECS, **SCENARIO_SPECS}


def suggest(name: str, known: typing.Iterable[str]) -> str:
    """' (did you mean alpha_max?)' for a near miss, else ''."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def problems_with(
    values: dict[str, Any], where: str, specs: dict[str, Spec] = SCENARIO_SPECS
) -> list[str]:
    """Every problem with ``values`` (unknown names, wrong types, out of range), each naming
    ``where.name``."""
    problems = []
    for key, value in values.items():
        spec = specs.get(key)
        if spec is None:
            problems.append(
                f"{where}.{key}: unknown parameter{suggest(key, specs)} "
                f"(known: {', '.join(sorted(specs))})"
            )
        elif (problem := spec.check(value)) is not None:
            problems.append(f"{where}.{key}: {problem}")
    return problems


def keyword_parameters() -> list[inspect.Parameter]:
    """Every parameter as a keyword-only argument of a run (``CoalitionModel``'s signature).

    Run settings default to their declaration; scenario parameters default to ``None``, which
    keeps the scenario's value.
    """
    hints = {**typing.get_type_hints(RunSettings), **typing.get_type_hints(Parameters)}
    return [
        inspect.Parameter(
            spec.name,
            inspect.Parameter.KEYWORD_ONLY,
            default=spec.default if spec.scope == "run" else None,
            annotation=hints[spec.name] if spec.scope == "run" else hints[spec.name] | None,
        )
        for spec in SPECS.values()
    ]


def split_arguments(
    values: dict[str, Any], where: str = "CoalitionModel()"
) -> tuple[RunSettings, dict[str, Any]]:
    """A run's keyword arguments as its :class:`RunSettings` (declared defaults where not
    given) and the scenario parameters it overrides (``None``: keep the scenario's).

    The run settings are checked here; the overrides are checked by
    :meth:`~webmodel.coalition.scenario.Scenario.with_parameters`, against the scenario.

    Raises:
        TypeError: an unknown name (with the closest known one), as for any keyword.
        ValueError: a run setting outside its declaration; the message names each one.
    """
    for name in values:
        if name not in SPECS:
            raise TypeError(
                f"{where} got an unexpected keyword argument {name!r}{suggest(name, SPECS)}"
            )
    run = {k: v for k, v in values.items() if k in RUN_SPECS}
    problems = [f"{k}: {p}" for k, v in run.items() if (p := RUN_SPECS[k].check(v)) is not None]
    if problems:
        raise ValueError("invalid run settings:\n" + "\n".join(f"  - {p}" for p in problems))
    settings = RunSettings(**{k: RUN_SPECS[k].coerce(v) for k, v in run.items()})
    overrides = {k: v for k, v in values.items() if k in SCENARIO_SPECS and v is not None}
    return settings, overrides


def make_parameters(values: dict[str, Any]) -> Parameters:
    """:class:`Parameters` from validated values, each in its declared type."""
    return Parameters(**{k: SCENARIO_SPECS[k].coerce(v) for k, v in values.items()})


def parameter_table(role: Role | None = None) -> str:
    """The Markdown table of every parameter (the generated part of docs/levers.md)."""
    lines = [
        "| parameter | option | role | default | unit | valid values | what it does |",
        "|---|---|---|---|---|---|---|",
    ]
    for spec in SPECS.values():
        if role is not None and spec.role != role:
            continue
        default = spec.none_means if spec.default is None else _show(spec.default)
        lines.append(
            f"| `{spec.name}` | `{spec.option}` | {spec.role} | {default} | {spec.unit} | "
            f"{spec.rule()} | {spec.help} |"
        )
    return "\n".join(lines) + "\n"


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return f"`{value}`" if isinstance(value, str) else str(value)
