"""``webmodel parameters``: every declared parameter, as text, Markdown or JSON.

The Markdown form is the generated table in docs/levers.md; ``--update docs/levers.md`` rewrites
it there, between the ``<!-- parameters:start -->`` and ``<!-- parameters:end -->`` markers.
"""

from __future__ import annotations

import argparse
import json
import textwrap
from pathlib import Path
from typing import Any

from webmodel.coalition.parameters import ROLES, SPECS, Spec, parameter_table

TABLE_START = "<!-- parameters:start -->"
TABLE_END = "<!-- parameters:end -->"


def register(sub: Any) -> None:
    p = sub.add_parser(
        "parameters",
        help="list every model parameter: unit, valid values, default, role",
        description="List every model parameter from its declaration: what it does, its unit, "
        "its valid values, its default and its XLRM role (lever, uncertainty, setting).",
    )
    p.add_argument("--role", choices=ROLES, help="only the parameters of this role")
    shown = p.add_mutually_exclusive_group()
    shown.add_argument("--markdown", action="store_true", help="print the Markdown table")
    shown.add_argument("--json", action="store_true", help="print a JSON list, one per parameter")
    shown.add_argument(
        "--update",
        metavar="FILE",
        help=f"rewrite the table between {TABLE_START} and {TABLE_END} in FILE "
        "(e.g. docs/levers.md)",
    )
    p.set_defaults(func=cmd_parameters)


def cmd_parameters(args: argparse.Namespace) -> int:
    specs = [s for s in SPECS.values() if args.role is None or s.role == args.role]
    if args.update:
        path = Path(args.update)
        if not path.is_file():
            raise ValueError(f"--update: no such file {args.update!r}")
        try:
            path.write_text(with_table(path.read_text()))
        except ValueError as err:
            raise ValueError(f"--update: {args.update}: {err}") from None
        print(f"updated the parameter table in {args.update}")
    elif args.markdown:
        print(parameter_table(args.role), end="")
    elif args.json:
        print(json.dumps([as_dict(s) for s in specs], indent=1))
    else:
        for spec in specs:
            print(f"{spec.name} ({spec.option}), {spec.role}")
            print(textwrap.fill(spec.help, 96, initial_indent="    ", subsequent_indent="    "))
            line = f"{spec.rule()}; default {spec.default_text()}"
            print(textwrap.fill(line, 96, initial_indent="    ", subsequent_indent="    "))
    return 0


def as_dict(spec: Spec) -> dict[str, Any]:
    """One parameter's declaration, JSON-ready."""
    return {
        "name": spec.name,
        "option": spec.option,
        "role": spec.role,
        "scope": spec.scope,
        "kind": spec.kind,
        "default": spec.default,
        "none_means": spec.none_means or None,
        "unit": spec.unit,
        "low": spec.low,
        "high": spec.high,
        "low_open": spec.low_open,
        "choices": list(spec.choices) or None,
        "rule": spec.rule(),
        "help": spec.help,
    }


def with_table(text: str) -> str:
    """``text`` (a Markdown document) with the generated table between the markers."""
    once = text.count(TABLE_START) == 1 and text.count(TABLE_END) == 1
    if not once or text.index(TABLE_START) > text.index(TABLE_END):
        raise ValueError(f"needs one {TABLE_START} line followed by one {TABLE_END} line")
    head, rest = text.split(TABLE_START)
    _, tail = rest.split(TABLE_END)
    return f"{head}{TABLE_START}\n{parameter_table()}{TABLE_END}{tail}"
