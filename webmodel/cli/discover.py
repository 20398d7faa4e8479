"""``webmodel discover``: scenario discovery (PRIM) over a sweep's results."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from webmodel.cli.argtypes import bounded

_share = bounded(float, 0, 1, "a number in [0, 1]")
_alpha = bounded(float, 0.001, 0.5, "a number in [0.001, 0.5]")
_boxes = bounded(int, 1, 10, "an integer in [1, 10]")
_dims = bounded(int, 1, 50, "an integer in [1, 50]")


def cmd_discover(args: argparse.Namespace) -> int:
    from webmodel.analysis.discovery.frame import DiscoveryError, parse_condition

    parse_condition(args.where)  # a bad condition is reported before anything is read
    results = Path(args.results)
    if not results.is_dir():
        raise DiscoveryError(f"RESULTS_DIR: no such folder {str(results)!r}")
    from webmodel.analysis.discovery import discover, write_discovery

    factors = [f.strip() for f in args.factors.split(",") if f.strip()] if args.factors else None
    found = discover(
        results, args.where, factors=factors, boxes=args.boxes,
        min_coverage=args.min_coverage, max_dims=args.max_dims, max_p=args.max_p,
        peel_alpha=args.peel_alpha, mass_min=args.mass_min,
    )  # fmt: skip
    out = Path(args.out) if args.out else results / "discovery"
    path = write_discovery(found, out)
    from webmodel.analysis.discovery.write import box_words

    unit = "pairs" if found.paired else "runs"
    print(
        f"webmodel discover: {found.cases} of {found.rows} {unit} ({found.share:.1%}) where "
        f"{args.where}; {len(found.boxes)} box(es) in {found.seconds:.1f} s",
        file=sys.stderr,
    )
    for box in found.boxes:
        print(
            f"  box {box.index + 1}: {box_words(box)} (coverage {box.coverage:.0%}, "
            f"density {box.density:.0%})",
            file=sys.stderr,
        )
    print(path)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the discover command to the CLI."""
    p = sub.add_parser(
        "discover",
        help="scenario discovery: PRIM boxes of a sweep's factors where a condition holds",
        description="Find the few interpretable boxes of a sweep's factor space where a "
        "condition holds (PRIM, via EMA Workbench), e.g. --where 'web_minus_hub.loss_area > 0' "
        "(web/hub pairs: same replicate and other factors). Writes discovery.md, "
        "discovery.json and the figures trajectory.svg/png and boxes.svg/png. "
        "See docs/discovery.md.",
    )
    p.add_argument("results", metavar="RESULTS_DIR", help="a sweep's results folder")
    p.add_argument(
        "--where",
        required=True,
        metavar="EXPRESSION",
        help="the cases of interest: comparisons of metrics, web_minus_hub.METRIC, web.METRIC, "
        "hub.METRIC or factors, joined with and/or",
    )
    p.add_argument("--out", metavar="DIR", help="where to write (default RESULTS_DIR/discovery)")
    p.add_argument(
        "--factors", metavar="LIST", help="factors to search, comma-separated (default: all)"
    )
    p.add_argument("--boxes", type=_boxes, default=2, metavar="N", help="most boxes (default 2)")
    p.add_argument(
        "--min-coverage", type=_share, default=0.5, metavar="C",
        help="the first box holds at least this share of the cases (default 0.5)",
    )  # fmt: skip
    p.add_argument(
        "--max-dims", type=_dims, default=3, metavar="D",
        help="at most this many restricted factors per box (default 3)",
    )  # fmt: skip
    p.add_argument(
        "--max-p", type=_share, default=0.05, metavar="P",
        help="every limit's quasi-p-value at most this (default 0.05)",
    )  # fmt: skip
    p.add_argument("--peel-alpha", type=_alpha, default=0.05, metavar="A", help="default 0.05")
    p.add_argument("--mass-min", type=_alpha, default=0.05, metavar="M", help="default 0.05")
    p.set_defaults(func=cmd_discover)
