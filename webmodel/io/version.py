"""Which webmodel this is: the installed version, and the git commit of its source.

The version comes from git when the package is built (hatch-vcs), e.g. ``0.1.1.dev56+gf64347e0b``
for a commit after the last release tag; its ``+g...`` part names the commit, so an installed
wheel still tells where it came from with no git at hand.
"""

from __future__ import annotations

import functools
import re
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # the webmodel package folder
_COMMIT_IN_VERSION = re.compile(r"\+(?:.*\.)?g([0-9a-f]{7,40})(?:\.|$)")


@functools.cache
def package_version() -> str:
    """The installed package's version ("unknown" in a source tree that is not installed)."""
    try:
        return version("webmodel")
    except PackageNotFoundError:
        return "unknown"


def commit_in_version(text: str) -> str | None:
    """The (abbreviated) commit a version string was built from, e.g. ``0.1.1.dev5+gab12cd3``."""
    found = _COMMIT_IN_VERSION.search(text)
    return found.group(1) if found else None


def _checkout_head(package: Path) -> str | None:
    """HEAD of the git checkout this package runs from; None if it does not run from one.

    An installed copy inside some other repository (a virtual environment in a project folder)
    is not a checkout of webmodel: the checkout's top must be the package's parent."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--show-toplevel", "HEAD"],
            cwd=package,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = out.stdout.split()
    if out.returncode != 0 or len(lines) != 2:
        return None
    top, head = lines
    if Path(top).resolve() != package.parent.resolve():
        return None
    tracked = subprocess.run(
        ["git", "ls-files", "--error-unmatch", "__init__.py"],
        cwd=package,
        capture_output=True,
        timeout=5,
    )
    return head if tracked.returncode == 0 else None  # a folder git does not track is not ours


@functools.cache
def git_commit() -> str | None:
    """The commit of the code that runs: HEAD of the source checkout, or else the commit the
    installed version was built from (abbreviated); None if neither is known.

    Cached: a sweep writes provenance for every run, and the answer does not change."""
    return _checkout_head(PACKAGE_DIR) or commit_in_version(package_version())


@functools.cache
def git_dirty() -> bool | None:
    """Whether the package's own tracked files differ from HEAD; None outside a checkout of
    webmodel (an installed wheel, or a copy inside some other repository)."""
    package = PACKAGE_DIR
    if _checkout_head(package) is None:
        return None
    try:
        out = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "."],
            cwd=package,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return None if out.returncode != 0 else bool(out.stdout.strip())
