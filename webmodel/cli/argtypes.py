"""Argument types for the command line: numbers checked against bounds, with clear messages.

The model's parameters get theirs from their declarations (:mod:`webmodel.cli.options`).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable


def bounded(
    cast: Callable[[str], float], low: float | None, high: float | None, what: str
) -> Callable[[str], float]:
    """An argparse type: ``cast`` the text and check ``low <= value <= high``."""

    def parse(text: str):
        try:
            value = cast(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
        if (low is not None and not value >= low) or (high is not None and not value <= high):
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
        return value

    return parse


positive_int = bounded(int, 1, None, "a positive integer")
non_negative_int = bounded(int, 0, None, "an integer >= 0")
