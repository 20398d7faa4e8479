"""A sweep's runs as the table scenario discovery searches: factor columns and outcomes.

Outcomes are the metrics of each run, or - for ``web_minus_hub.<metric>``, ``web.<metric>`` and
``hub.<metric>`` - of each pair of a production-web run and the hub-and-spokes run with the same
replicate (so, with common seeds, the same seed) and the same values of every other factor.
A condition (``--where``) is a small expression over these names, parsed here, not ``eval``-ed.
"""

from __future__ import annotations

import ast
import json
import operator
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from webmodel.analysis.report.data import SweepResults, level_label
from webmodel.analysis.sweep.experiment import PAIRED_PREFIX, declared_role, suggest
from webmodel.analysis.sweep.parameters import model_parameters

HUB, WEB = "hub-and-spokes", "production-web"
SIDES = (PAIRED_PREFIX, "web.", "hub.")


class DiscoveryError(ValueError):
    """A condition or a results folder scenario discovery cannot use; the message says why."""


@dataclass
class OutcomeFrame:
    """Rows to search (runs, or web/hub pairs), the factors that vary, their roles."""

    data: pd.DataFrame
    factors: list[str]
    roles: dict[str, str]
    paired: bool
    source: str

    def x(self, factors: list[str] | None = None) -> pd.DataFrame:
        """The factor columns PRIM searches: numbers as floats, the rest as categories.

        Integer factors go in as floats (EMA Workbench 3.0's pasting writes fractional limits
        into integer columns, which pandas 3 refuses); ``attrs["integers"]`` names them, and
        their limits are rounded inward to the integers they keep.
        """
        names = factors or self.factors
        out = pd.DataFrame(index=self.data.index)
        out.attrs["integers"] = []
        for name in names:
            column = self.data[name]
            numeric = pd.api.types.is_numeric_dtype(column)
            if pd.api.types.is_bool_dtype(column) or not numeric or column.isna().any():
                out[name] = column.map(level_label).astype(str)
            elif pd.api.types.is_integer_dtype(column):
                out[name] = column.astype(np.float64)
                out.attrs["integers"].append(name)
            else:
                out[name] = column.astype(np.float64)
        return out


def _roles(results: SweepResults, names: list[str]) -> dict[str, str]:
    """Each factor's role: as the experiment file (kept in the results) says, else declared."""
    try:
        written = tomllib.loads(results.meta.get("experiment_toml", "")).get("factors", {})
    except tomllib.TOMLDecodeError:
        written = {}
    params = model_parameters()
    roles = {}
    for name in names:
        spec = written.get(name)
        if isinstance(spec, dict) and spec.get("role") in ("uncertainty", "lever"):
            roles[name] = spec["role"]
        else:
            roles[name] = declared_role(params[name]) if name in params else "uncertainty"
    return roles


def _key(value: Any) -> str:
    return "nan" if value is None or (isinstance(value, float) and np.isnan(value)) else repr(value)


def outcome_frame(results: SweepResults | str | Path, paired: bool) -> OutcomeFrame:
    """The runs (``paired=False``) or the web/hub pairs of a sweep's results, successful only."""
    if not isinstance(results, SweepResults):
        results = SweepResults.load(results)
    runs = results.runs.to_pandas()
    runs = runs[results.ok].reset_index(drop=True)
    names = list(results.factor_names)
    metrics = json.loads(results.meta.get("metric_columns", "[]")) or [
        c for c in runs.columns if c not in names
    ]
    varying = [n for n in names if runs[n].map(_key).nunique() > 1]
    roles = _roles(results, names)
    if not paired:
        return OutcomeFrame(runs, varying, roles, False, str(results.root))
    if "topology" not in names or not {HUB, WEB} <= set(runs["topology"].dropna()):
        raise DiscoveryError(
            f"{results.root}: web_minus_hub outcomes need topology as a factor with both "
            f"{HUB} and {WEB} among its levels"
        )
    others = [n for n in names if n != "topology"]
    keys = ["replicate", *others]
    runs["_key"] = runs[keys].apply(lambda row: "|".join(_key(v) for v in row), axis=1)
    hub = runs[runs["topology"] == HUB].drop_duplicates("_key").set_index("_key")
    web = runs[runs["topology"] == WEB].drop_duplicates("_key").set_index("_key")
    common = hub.index.intersection(web.index, sort=False)
    if len(common) == 0:
        raise DiscoveryError(f"{results.root}: no web run has a hub-and-spokes partner")
    hub, web = hub.loc[common], web.loc[common]
    data = hub[["replicate", "seed", *others]].copy()
    for metric in metrics:
        if metric in runs and pd.api.types.is_numeric_dtype(runs[metric]):
            h, w = hub[metric].astype(float), web[metric].astype(float)
            data[f"hub.{metric}"], data[f"web.{metric}"] = h, w
            data[PAIRED_PREFIX + metric] = w - h
    data = data.reset_index(drop=True)
    factors = [n for n in varying if n != "topology"]
    return OutcomeFrame(data, factors, roles, True, str(results.root))


def needs_pairs(expression: str) -> bool:
    """Whether a condition names a paired outcome (web_minus_hub., web., hub.)."""
    return any(name.startswith(SIDES) for name in names_in(parse_condition(expression)))


# --- conditions -------------------------------------------------------------------------------

_COMPARE = {
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
_ARITHMETIC = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.BitAnd: operator.and_,
    ast.BitOr: operator.or_,
}


def parse_condition(expression: str) -> ast.expr:
    """The condition's syntax tree; only comparisons, and/or/not, arithmetic, numbers, strings
    and (dotted) names are allowed."""
    try:
        tree = ast.parse(expression, mode="eval").body
    except SyntaxError as err:
        raise DiscoveryError(f"--where: not an expression: {expression!r} ({err.msg})") from None
    allowed = (
        ast.Compare, ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.Constant, ast.Name, ast.Attribute,
        ast.And, ast.Or, ast.Not, ast.USub, ast.Load, *_COMPARE, *_ARITHMETIC,
    )  # fmt: skip
    for node in ast.walk(tree):
        if not isinstance(node, allowed):
            raise DiscoveryError(
                f"--where: {type(node).__name__} is not allowed in {expression!r}; use "
                "comparisons (> >= < <= == !=), and, or, not, + - * / and names such as "
                "web_minus_hub.loss_area or suppliers_per_input"
            )
    return tree


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return None if head is None else f"{head}.{node.attr}"
    return None


def names_in(tree: ast.expr) -> list[str]:
    """The column names a condition uses (dotted names whole)."""
    found: list[str] = []

    def visit(node: ast.AST) -> None:
        name = _dotted(node) if isinstance(node, ast.Name | ast.Attribute) else None
        if name is not None:
            found.append(name)
            return
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return list(dict.fromkeys(found))


def evaluate(expression: str, data: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The condition per row, and which rows have every value it needs (no NaN).

    Raises:
        DiscoveryError: a name that is no column (with the closest one), or a bad expression.
    """
    tree = parse_condition(expression)
    for name in names_in(tree):
        if name not in data.columns:
            known = [c for c in data.columns if not c.startswith("_")]
            raise DiscoveryError(
                f"--where: unknown name {name!r}{suggest(name, known)}; names: " + ", ".join(known)
            )
    used = names_in(tree)
    known = np.ones(len(data), dtype=bool)
    for name in used:
        if pd.api.types.is_numeric_dtype(data[name]):
            known &= data[name].notna().to_numpy()

    def value(node: ast.expr) -> Any:
        name = _dotted(node) if isinstance(node, ast.Name | ast.Attribute) else None
        if name is not None:
            column = data[name]
            if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
                return column.map(level_label).to_numpy()
            return column.to_numpy(dtype=float)
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.UnaryOp):
            inner = value(node.operand)
            return np.logical_not(inner) if isinstance(node.op, ast.Not) else -inner
        if isinstance(node, ast.BinOp):
            return _ARITHMETIC[type(node.op)](value(node.left), value(node.right))
        if isinstance(node, ast.BoolOp):
            parts = [np.asarray(value(v), dtype=bool) for v in node.values]
            combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
            out = parts[0]
            for part in parts[1:]:
                out = combine(out, part)
            return out
        assert isinstance(node, ast.Compare)
        left, out = value(node.left), np.ones(len(data), dtype=bool)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = value(right_node)
            out &= np.asarray(_COMPARE[type(op)](left, right), dtype=bool)
            left = right
        return out

    result = np.broadcast_to(np.asarray(value(tree), dtype=bool), (len(data),)).copy()
    return result, known
