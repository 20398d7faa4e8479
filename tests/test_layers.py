"""The package's layers (README, Layout): each subpackage imports at run time only from the
layers listed before it, so the model never depends on the app, the CLI or the analysis."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "webmodel"
LAYERS = ["coalition", "core", "io", "analysis", "app", "cli"]


def _runtime_imports(tree: ast.Module) -> list[ast.ImportFrom]:
    """``from webmodel.X import ...`` outside ``if TYPE_CHECKING:`` blocks."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(n) for n in ast.walk(node)}
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        and id(node) not in skipped
        and (node.module or "").startswith("webmodel.")
    ]


def test_each_layer_imports_only_from_the_layers_before_it() -> None:
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        layer = path.relative_to(PACKAGE).parts[0]
        if layer not in LAYERS:
            continue
        for node in _runtime_imports(ast.parse(path.read_text())):
            target = node.module.split(".")[1]
            if target in LAYERS and LAYERS.index(target) > LAYERS.index(layer):
                wrong.append(f"{path.relative_to(PACKAGE)}:{node.lineno} imports {node.module}")
    assert not wrong, "\n".join(wrong)


def test_every_subpackage_is_a_layer() -> None:
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders == set(LAYERS)
