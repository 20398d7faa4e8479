"""No public name means two things in the package: each is defined in one module only."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "webmodel"

# Names that are one convention in several modules, not two meanings.
CONVENTIONS = {
    "main": "a program's entry point (webmodel, python -m webmodel.app.assets)",
    "register": "how a CLI module adds its sub-commands to the parser",
    "suggest": "the closest-name hint for an unknown name (parameters and sweep files)",
}


def _top_level_names(path: Path) -> set[str]:
    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return {n for n in names if not n.startswith("_")}


def test_no_public_name_is_defined_in_two_modules():
    where = defaultdict(list)
    for path in sorted(PACKAGE.rglob("*.py")):
        for name in _top_level_names(path):
            where[name].append(str(path.relative_to(PACKAGE.parent)))
    twice = {n: paths for n, paths in where.items() if len(paths) > 1 and n not in CONVENTIONS}
    assert not twice, f"defined in more than one module: {twice}"
