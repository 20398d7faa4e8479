"""Solara's front-end assets, served from a local cache so the app runs with no internet.

Solara's page loads its JavaScript and CSS (the Vuetify app bundle, RequireJS, Font Awesome)
through its own server at ``/_solara/cdn/NAME@VERSION/FILE``; on a cache miss the server fetches
the file from a public CDN. Analysts often work air-gapped, so this module fills that cache ahead
of time from the npm registry (``npm pack``, which goes through npm's own configuration:
registry, proxy, mirror) and the app points Solara at it with ``SOLARA_ASSETS_PROXY_CACHE_DIR``.

Usage::

    uv run webmodel assets            # fill the cache (quick when already filled)
    uv run webmodel assets --check    # list what is missing; exit 1 if anything is

(``python -m webmodel.app.assets`` does the same without the rest of the command line.)

The packages are read from the installed Solara's page template, so a Solara upgrade asks for
the new versions by itself; :data:`EXTRA_PACKAGES` lists what the page loads besides those
(found by running the app with the network blocked and reading the browser's failed requests).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from importlib import resources
from pathlib import Path

ENV_CACHE = "SOLARA_ASSETS_PROXY_CACHE_DIR"
ENV_WEBMODEL_CACHE = "WEBMODEL_ASSETS_DIR"
DONE_MARKER = ".webmodel-complete"

# Packages the page loads that Solara's sources do not name at a fixed version (none so far).
EXTRA_PACKAGES: tuple[str, ...] = ()

# "{{cdn}}/NAME@1.2.3/" in the page template; "getCdn()}/NAME@1.2.3/" in components' front-end
# code (Markdown loads KaTeX and Mermaid this way). Versions given as ${variable} are left out:
# the components that use them (editors, ECharts) are not part of the app. The charts' widget
# (Vega-Lite) asks for major versions ("vega@5"): those are fetched as npm resolves the range
# and kept under the name the page asks for.
_TEMPLATE_PACKAGE = re.compile(
    r"\{\{\s*cdn\s*\}\}/((?:@[\w.-]+/)?[\w.-]+)@(\d+\.\d+\.\d+[\w.+-]*)/"
)
_COMPONENT_PACKAGE = re.compile(r"getCdn\(\)\}/((?:@[\w.-]+/)?[\w.-]+)@(\d+\.\d+\.\d+[\w.+-]*)/")
_RANGE_PACKAGE = re.compile(r"getCdn\(\)\}/((?:@[\w.-]+/)?[\w.-]+)@(\d+)/")
CHART_WIDGETS = ("widgets/vue/vegalite.vue",)  # the front-end code of the app's charts
_SETTING_PACKAGE = re.compile(r"^/?((?:@[\w.-]+/)?[\w.-]+)@(\d[\w.+-]*)/")


def default_cache_dir() -> Path:
    """Where webmodel keeps Solara's assets: $WEBMODEL_ASSETS_DIR, else the user's cache dir."""
    if os.environ.get(ENV_WEBMODEL_CACHE):
        return Path(os.environ[ENV_WEBMODEL_CACHE])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "webmodel" / "solara-assets"


def _vuetify_major() -> int:
    from importlib.metadata import version

    return int(version("ipyvuetify").split(".")[0])


def required_packages() -> list[str]:
    """``name@version`` of every npm package the installed Solara's page loads from its CDN."""
    solara_root = Path(str(resources.files("solara")))
    template = (solara_root / "server/templates/solara.html.j2").read_text("utf-8")
    found = dict.fromkeys(f"{n}@{v}" for n, v in _TEMPLATE_PACKAGE.findall(template))
    for pattern in ("components/*.py", "components/*.vue", "widgets/vue/*.vue"):
        for source in sorted(solara_root.glob(pattern)):
            text = source.read_text("utf-8")
            found.update(dict.fromkeys(f"{n}@{v}" for n, v in _COMPONENT_PACKAGE.findall(text)))
    for widget in CHART_WIDGETS:
        text = (solara_root / widget).read_text("utf-8")
        found.update(dict.fromkeys(f"{n}@{v}" for n, v in _RANGE_PACKAGE.findall(text)))
    # The template carries bundles for ipyvuetify 2 and 3; only the installed one is loaded.
    wanted = "solara-vuetify3-app" if _vuetify_major() >= 3 else "solara-vuetify-app@"
    found = {p: None for p in found if "solara-vuetify" not in p or wanted in p}
    from solara.server import settings

    if settings.assets.fontawesome_enabled:
        match = _SETTING_PACKAGE.match(settings.assets.fontawesome_path)
        if match:
            found[f"{match[1]}@{match[2]}"] = None
    for extra in EXTRA_PACKAGES:
        found[extra] = None
    return list(found)


def package_dir(cache: Path, package: str) -> Path:
    return cache / package


def is_filled(cache: Path, package: str) -> bool:
    return (package_dir(cache, package) / DONE_MARKER).exists()


def missing_packages(cache: Path | None = None) -> list[str]:
    """Packages not yet in the cache (empty when the app can run offline)."""
    cache = cache or default_cache_dir()
    return [p for p in required_packages() if not is_filled(cache, p)]


def _npm() -> str:
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(
            "npm is not installed: install Node.js (e.g. `apt-get install -y npm`), "
            "or copy a filled cache from another machine into " + str(default_cache_dir())
        )
    return npm


def fetch_package(cache: Path, package: str) -> Path:
    """Download ``package`` with ``npm pack`` and unpack it as ``cache/NAME@VERSION/``.

    The tarball's files are written to a temporary directory first and renamed into place, so
    a cache directory is either complete or absent.
    """
    target = package_dir(cache, package)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".fetch-") as tmp:
        tmp_path = Path(tmp)
        out = subprocess.run(
            [_npm(), "pack", package, "--silent", "--pack-destination", str(tmp_path)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if out.returncode != 0:
            raise RuntimeError(f"npm pack {package} failed:\n{out.stderr.strip()}")
        tarballs = list(tmp_path.glob("*.tgz"))
        if len(tarballs) != 1:
            raise RuntimeError(f"npm pack {package}: expected one tarball, got {tarballs}")
        unpacked = tmp_path / "unpacked"
        with tarfile.open(tarballs[0]) as tar:
            tar.extractall(unpacked, filter="data")
        # npm tarballs hold one top directory, almost always "package/".
        (top,) = list(unpacked.iterdir())
        (top / DONE_MARKER).write_text(package + "\n")
        if target.exists():
            shutil.rmtree(target)
        top.rename(target)
    return target


def fill_cache(cache: Path | None = None, verbose: bool = True) -> Path:
    """Make sure every required package is in ``cache``; fetch only the missing ones."""
    cache = cache or default_cache_dir()
    for package in required_packages():
        if is_filled(cache, package):
            continue
        if verbose:
            print(f"fetching {package} from the npm registry", file=sys.stderr)
        fetch_package(cache, package)
    return cache


def offline_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for a Solara server: telemetry off and, if filled, the local asset cache."""
    env = dict(os.environ if env is None else env)
    env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "false"
    if ENV_CACHE not in env:
        cache = default_cache_dir()
        if not missing_packages(cache):
            env[ENV_CACHE] = str(cache)
    return env


def configure_solara() -> None:
    """Telemetry off and, unless the user chose a cache, ours once it is filled.

    ``webmodel app`` sets both through the environment before Solara starts; this covers
    ``solara run webmodel.app``, where the app module is imported before the server sends its
    first telemetry event and before the page asks for any asset.
    """
    from solara.server import settings

    settings.telemetry.mixpanel_enable = False
    if ENV_CACHE not in os.environ:
        cache = default_cache_dir()
        if not missing_packages(cache):
            settings.assets.proxy_cache_dir = cache


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="webmodel assets",
        description="Fill the local cache of Solara's front-end assets from the npm registry.",
    )
    parser.add_argument("--dir", type=Path, help=f"cache directory (default {default_cache_dir()})")
    parser.add_argument(
        "--check", action="store_true", help="only report what is missing (exit 1 if any)"
    )
    args = parser.parse_args(argv)
    cache = args.dir or default_cache_dir()
    if args.check:
        missing = missing_packages(cache)
        for package in missing:
            print(f"missing: {package}")
        print(f"{cache}: {'complete' if not missing else 'incomplete'}")
        return 1 if missing else 0
    try:
        fill_cache(cache)
    except (RuntimeError, subprocess.TimeoutExpired) as error:
        print(f"webmodel assets: {error}", file=sys.stderr)
        return 1
    print(f"Solara assets ready in {cache}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
