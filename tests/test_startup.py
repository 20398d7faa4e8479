"""Start-up stays fast: the CLI parser, and `import webmodel`, pull in no heavy package.

Mesa alone costs one to three seconds (it imports pandas and scipy); each command imports what it
needs when it runs. Each check runs in a fresh interpreter, since this test process has long since
imported everything.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = (
    "mesa",
    "matplotlib",
    "pandas",
    "polars",
    "pyarrow.dataset",
    "scipy",
    "dask",
    "solara",
    "networkx",
    "ema_workbench",
    "platypus",
    "numba",  # the engine's compiled kernels: imported when a model is built
    "llvmlite",
)


def _heavy_modules_after(code: str) -> list[str]:
    probe = (
        f"{code}\nimport json, sys\n"
        f"print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["run", "--help"],
        ["compare", "--help"],
        ["sweep", "--help"],
        ["discover", "--help"],
        ["robust", "--help"],
    ],
    ids=lambda argv: " ".join(argv),
)
def test_cli_help_imports_no_heavy_package(argv: list[str]) -> None:
    code = (
        "import contextlib, io\n"
        "from webmodel.cli import build_parser\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        f"    build_parser().parse_args({argv!r})\n"
    )
    assert _heavy_modules_after(code) == []


def test_import_webmodel_is_light() -> None:
    assert _heavy_modules_after("import webmodel; webmodel.__version__") == []


def test_the_probe_sees_a_heavy_import() -> None:
    """The check above can fail: importing the model does pull in Mesa."""
    assert "mesa" in _heavy_modules_after("import webmodel; webmodel.CoalitionModel")


def test_commands_that_build_no_model_import_no_compiler() -> None:
    """``webmodel parameters`` (and the model's modules themselves) leave numba unimported:
    it comes with the first engine built."""
    code = (
        "import contextlib, io\n"
        "from webmodel.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['parameters'])\n"
        "import webmodel.core.model, webmodel.core.engine\n"
    )
    assert not {"numba", "llvmlite"} & set(_heavy_modules_after(code))


def test_building_a_model_imports_the_kernels() -> None:
    """The check above can fail: a model's engine does import numba."""
    code = "from webmodel.core.model import CoalitionModel\nCoalitionModel(firms=30, steps=1)"
    assert "numba" in _heavy_modules_after(code)


def test_the_asset_filler_runs_without_the_app(tmp_path) -> None:
    """``python -m webmodel.app.assets`` runs as a script: the app package does not import it
    first (runpy would warn), nor Solara."""
    done = subprocess.run(
        [sys.executable, "-W", "error", "-m", "webmodel.app.assets", "--check", "--dir", tmp_path],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr  # an empty cache is incomplete
    assert done.stderr == "" and done.stdout.strip().endswith("incomplete")
    assert _heavy_modules_after("import webmodel.app.assets") == []


def test_webmodel_assets_checks_the_cache(tmp_path, capsys) -> None:
    from webmodel.cli import main

    assert main(["assets", "--check", "--dir", str(tmp_path)]) == 1
    assert "incomplete" in capsys.readouterr().out
