"""Command-line options generated from the parameter declarations.

Every parameter in :data:`~webmodel.coalition.parameters.SPECS` becomes an option of
``webmodel run`` and ``compare``: its name (``--alpha-max``), its type and rule (a bad value
names the option and the rule, exit 2), and a help line with the unit, the valid values and the
default. Nothing here lists parameters by hand, so a new declaration is a new option.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Iterable
from typing import Any

from webmodel.coalition.parameters import SPECS, Spec

# What an option's value is called in --help, by its unit's first word (else X or N).
_METAVARS = {"weeks": "WEEKS", "week": "WEEK", "share": "SHARE", "probability": "P"}

GROUPS = {
    "run": "run settings",
    "lever": "policy levers (default: the scenario's; see docs/levers.md)",
    "uncertainty": "uncertainties: behaviour the world sets (default: the scenario's)",
}


def parameter_type(spec: Spec) -> Callable[[str], Any]:
    """An argparse type for one parameter: the text parsed and checked by its declaration."""

    def parse(text: str) -> Any:
        try:
            return spec.parse(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    parse.__name__ = spec.kind  # argparse names the type in some messages
    return parse


def state_group(text: str) -> tuple[str, ...]:
    """``USA,KOR,JPN`` (or ``USA-KOR-JPN``): one group of two or more state codes."""
    codes = tuple(c for c in re.split(r"[,\s-]+", text.strip()) if c)
    if len(codes) < 2:
        raise argparse.ArgumentTypeError(
            f"must be two or more state codes separated by commas, e.g. USA,KOR,JPN, got {text!r}"
        )
    return codes


def help_text(spec: Spec, default: Any = None) -> str:
    """The option's help line: what it does, its valid values (with unit) and its default."""
    if spec.scope == "run":
        fallback = f"default: {spec.default_text() if default is None else f'{default:g}'}"
    else:
        fallback = f"default: as the scenario sets it, else {spec.default_text()}"
    rule = spec.rule()
    if spec.kind == "groups":
        rule = "state codes, e.g. USA,KOR,JPN; repeat for each group"
    return f"{spec.help}; {rule}; {fallback}".replace("%", "%%")


def add_parameter_options(
    parser: argparse.ArgumentParser,
    names: Iterable[str] | None = None,
    defaults: dict[str, Any] | None = None,
) -> None:
    """Add an option for each declared parameter in ``names`` (default: all), grouped as run
    settings, levers and uncertainties; ``defaults`` replaces a run setting's default."""
    defaults = defaults or {}
    wanted = list(SPECS) if names is None else list(names)
    groups: dict[str, argparse._ArgumentGroup] = {}
    for name in wanted:
        spec = SPECS[name]
        key = "run" if spec.scope == "run" else spec.role
        if key not in groups:
            groups[key] = parser.add_argument_group(GROUPS.get(key, key))
        _add_option(groups[key], spec, defaults.get(name))


def _add_option(group: argparse._ArgumentGroup, spec: Spec, default: Any) -> None:
    value = spec.default if spec.scope == "run" else None
    if default is not None:
        value = default
    text = help_text(spec, default)
    if spec.kind == "bool":
        group.add_argument(
            spec.option,
            dest=spec.name,
            action=argparse.BooleanOptionalAction,
            default=value,
            help=text,
        )
    elif spec.kind == "groups":
        group.add_argument(
            spec.option,  # --platform USA,KOR,JPN, once per group
            dest=spec.name,
            action="append",
            type=state_group,
            default=value,
            metavar="STATES",
            help=text,
        )
    elif spec.choices:
        group.add_argument(
            spec.option, dest=spec.name, choices=spec.choices, default=value, help=text
        )
    else:
        first = spec.unit.split()[0] if spec.unit else ""
        metavar = _METAVARS.get(first, "N" if spec.kind == "int" else "X")
        group.add_argument(
            spec.option,
            dest=spec.name,
            type=parameter_type(spec),
            default=value,
            metavar=metavar,
            help=text,
        )


def parameter_values(args: argparse.Namespace) -> dict[str, Any]:
    """The declared parameters given on the command line (or defaulted), by name."""
    return {name: getattr(args, name) for name in SPECS if hasattr(args, name)}


def configuration(text: str) -> dict[str, Any]:
    """``web_ness=0.3,stockpile_weeks=4``: parameter settings for one side of ``compare``.

    Each name is a declared parameter (``web_ness`` or ``web-ness``), each value checked by its
    declaration; a wrong one is named with the rule (argparse adds the option, exit 2).
    """
    from webmodel.coalition.parameters import suggest

    settings: dict[str, Any] = {}
    for part in (p for p in text.split(",") if p.strip()):
        name, sep, value = part.partition("=")
        name = name.strip().replace("-", "_")
        if not sep:
            raise argparse.ArgumentTypeError(
                f"expected NAME=VALUE[,NAME=VALUE...] like web_ness=0.3,stockpile_weeks=4, "
                f"got {part.strip()!r}"
            )
        spec = SPECS.get(name)
        if spec is None:
            raise argparse.ArgumentTypeError(f"unknown parameter {name!r}{suggest(name, SPECS)}")
        if spec.kind == "groups":
            raise argparse.ArgumentTypeError(f"{name}: set state groups with {spec.option}")
        try:
            settings[name] = spec.parse(value)
        except ValueError as err:
            raise argparse.ArgumentTypeError(f"{name}: {err}") from None
    if not settings:
        raise argparse.ArgumentTypeError(f"no settings given in {text!r}")
    return settings


def describe(settings: dict[str, Any]) -> str:
    """Settings as the text that made them: ``web_ness=0.3,stockpile_weeks=4``."""
    return ",".join(
        f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in settings.items()
    )
