"""`webmodel sweep` and `webmodel report` (being written)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the sweep and report commands to the CLI."""
