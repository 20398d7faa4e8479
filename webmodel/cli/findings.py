"""``webmodel findings``: the study's tables and figures from its sweeps' results."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    """Add the findings command to the CLI."""
    p = sub.add_parser(
        "findings",
        help="tables and figures of the study (results/findings) from its sweeps' results",
        description="Read the results of the study's sweeps (run each experiments/NAME.toml "
        "with `webmodel sweep` first) and write results/findings/tables.md with its figures, "
        "and run the validation checks that need runs of their own. See results/FINDINGS.md.",
    )
    p.add_argument("--results", default="results", metavar="DIR", help="where the sweeps wrote")
    p.add_argument("--out", metavar="DIR", help="default: RESULTS/findings")
    p.add_argument("--only", action="append", metavar="NAME", help="only this section (repeatable)")
    p.set_defaults(func=cmd_findings)


def cmd_findings(args: argparse.Namespace) -> int:
    from webmodel.analysis.findings import write_findings

    path = write_findings(
        args.results, args.out, args.only, log=lambda m: print(m, file=sys.stderr)
    )
    print(path)
    return 0
