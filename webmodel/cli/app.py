"""``webmodel app``: start the interactive Solara app; ``webmodel assets``: fill its offline cache.

The app command runs ``solara run`` on :mod:`webmodel.app` in production mode (no hot reload, no
"installation check" call home), with telemetry off and, when it has been filled (``webmodel
assets``), Solara's asset cache pointed at webmodel's, so the page needs no internet.
The server replaces this process, so stopping it (Ctrl-C, or a signal to the printed process)
stops the app.
"""

from __future__ import annotations

import argparse
import os
import sys


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a port number, got {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be in 0..65535, got {port}")
    return port


def register(sub: argparse._SubParsersAction) -> None:
    """Add the app and assets commands to the CLI."""
    p = sub.add_parser(
        "app",
        help="interactive app: hub-and-spokes vs production web, live disruptions",
        description=(
            "Start the Solara app and print its address. It runs offline once the asset cache "
            "is filled (`webmodel assets`); see docs/app.md."
        ),
    )
    p.add_argument("--port", type=_port, default=8765, help="port to listen on (default 8765)")
    p.add_argument(
        "--host",
        default="localhost",
        help="address to listen on (default localhost; 0.0.0.0 to share on the network)",
    )
    p.add_argument("--open", action="store_true", help="open a browser on the app")
    p.set_defaults(func=cmd_app)

    assets = sub.add_parser(
        "assets",
        help="fill the app's offline cache of Solara's front-end files (from npm)",
        description="Fill the local cache of Solara's front-end assets (JavaScript, CSS) from "
        "the npm registry, so `webmodel app` needs no internet; quick when already filled. "
        "Needs npm. See docs/app.md.",
    )
    assets.add_argument(
        "--dir",
        metavar="DIR",
        help="cache directory (default $WEBMODEL_ASSETS_DIR, else ~/.cache/webmodel/solara-assets)",
    )
    assets.add_argument(
        "--check", action="store_true", help="only report what is missing (exit 1 if anything)"
    )
    assets.set_defaults(func=cmd_assets)


def solara_command(host: str, port: int, open_browser: bool = False) -> list[str]:
    """The ``solara run`` command line for the app."""
    return [
        sys.executable,
        "-m",
        "solara",
        "run",
        "webmodel.app",
        "--host",
        host,
        "--port",
        str(port),
        "--production",
        "--open" if open_browser else "--no-open",
    ]


def cmd_app(args: argparse.Namespace) -> int:
    from webmodel.app.assets import ENV_CACHE, missing_packages, offline_env

    env = offline_env()
    if ENV_CACHE not in env:
        missing = ", ".join(missing_packages())
        print(
            f"webmodel app: the offline asset cache is not filled ({missing}); the page will "
            "fetch them from the internet. To run offline: uv run webmodel assets",
            file=sys.stderr,
        )
    command = solara_command(args.host, args.port, args.open)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(command[0], command, env)
    return 0  # not reached


def cmd_assets(args: argparse.Namespace) -> int:
    from webmodel.app.assets import main as fill_assets

    argv = ["--check"] if args.check else []
    if args.dir:
        argv += ["--dir", args.dir]
    return fill_assets(argv)
