"""The ``webmodel`` command line; each command imports what it needs when it runs."""

from webmodel.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
