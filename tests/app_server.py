"""Run `webmodel app` in the background and find a browser for it: for the end-to-end test
and the screenshot script, which both need a real server that is always stopped afterwards."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

from webmodel.app import assets

# As the machine notes require for a headless Chromium with no network: without the
# background-networking flags it keeps trying to reach its vendor's services.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)
CLOSED_CDN = "http://127.0.0.1:9/"  # port 9 (discard) is closed: a cache miss fails at once


class AppServerError(RuntimeError):
    """The app did not start; the message holds its log."""


def chromium_path() -> str | None:
    """Debian's Chromium (scripts/setup-browser.sh), or the browser named by $WEBMODEL_CHROMIUM."""
    for candidate in (os.environ.get("WEBMODEL_CHROMIUM"), "chromium", "chromium-browser"):
        if candidate and (found := shutil.which(candidate)):
            return found
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def is_local(url: str) -> bool:
    """Whether a request stays on this machine (what the offline app may ask for)."""
    parsed = urlparse(url)
    if parsed.scheme in ("data", "blob", "about"):
        return True
    return parsed.hostname in ("localhost", "127.0.0.1", "::1")


@contextmanager
def running_app(
    log_path: Path,
    port: int | None = None,
    offline: bool = True,
    timeout: float = 90.0,
    started: list[subprocess.Popen] | None = None,
) -> Iterator[str]:
    """Start `webmodel app` on a free port, wait until it answers, yield its URL, stop it.

    ``started``, if given, receives the server's process (e.g. to read its memory).

    With ``offline``, Solara serves assets only from the filled cache (see
    :mod:`webmodel.app.assets`): its CDN is pointed at a closed port, so a missing file shows as
    "Could not load URL" in the log instead of being fetched from the internet.
    """
    port = port or free_port()
    env = assets.offline_env()
    if offline:
        cache = assets.default_cache_dir()
        missing = assets.missing_packages(cache)
        if missing and assets.ENV_CACHE not in os.environ:
            raise AppServerError(
                f"asset cache {cache} lacks {', '.join(missing)}: run `uv run webmodel assets`"
            )
        env.setdefault(assets.ENV_CACHE, str(cache))
        env["SOLARA_ASSETS_CDN"] = CLOSED_CDN
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "webmodel.cli", "app", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped with anything it started
        )
    if started is not None:
        started.append(process)
    url = f"http://localhost:{port}/"
    try:
        deadline = time.monotonic() + timeout
        while not _answers(url):
            if process.poll() is not None:
                raise AppServerError(
                    f"webmodel app exited ({process.returncode}):\n{log_path.read_text()}"
                )
            if time.monotonic() > deadline:
                log = log_path.read_text()
                raise AppServerError(f"no answer at {url} in {timeout:g} s:\n{log}")
            time.sleep(0.5)
        yield url
    finally:
        _stop(process)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)
