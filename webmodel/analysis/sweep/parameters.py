"""What a sweep can vary: the keyword parameters of ``CoalitionModel``, read at run time.

The model gains parameters as the project grows (policy levers, disruptions), so the list, the
types and the defaults are introspected from ``CoalitionModel.__init__`` every time rather than
copied here. Numeric bounds come from the parameter declarations
(:data:`webmodel.coalition.parameters.SPECS`): a clear message before any model is built. The
model's own validation (tried on probe models before a sweep starts) covers the rest.
"""

from __future__ import annotations

import inspect
import json
import math
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import pyarrow as pa

# Not experiment parameters: a pre-built network cannot go in a TOML file, the engine is a
# numerical detail (the reference engine is for tests), and seeds come from the root seed.
EXCLUDED = ("network", "engine", "rng")


def _choices() -> dict[str, tuple[str, ...]]:
    from webmodel.coalition.parameters import RATIONING_RULES, TOPOLOGIES

    return {"topology": tuple(TOPOLOGIES), "rationing": tuple(RATIONING_RULES)}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class ParameterInfo:
    """One keyword parameter of the model: its default and the kinds of value it takes.

    ``kinds`` is a subset of {"bool", "int", "float", "str", "none", "sequence", "other"};
    "other" (a Scenario object, a Path) cannot be checked here and is left to the model.
    """

    name: str
    default: Any
    kinds: frozenset[str]

    @property
    def arrow_type(self) -> pa.DataType:
        """The column type of this parameter in the runs table."""
        kinds = self.kinds - {"none"}
        if kinds == {"int"}:
            return pa.int64()
        if kinds and kinds <= {"int", "float"}:
            return pa.float64()
        if kinds == {"bool"}:
            return pa.bool_()
        return pa.string()  # strings as they are; anything else as JSON

    def describe(self) -> str:
        order = ("bool", "int", "float", "str", "sequence", "none", "other")
        names = {"none": "null (the scenario's value)", "sequence": "list", "other": "object"}
        return " or ".join(names.get(k, k) for k in order if k in self.kinds)

    def check(self, value: Any) -> str | None:
        """What is wrong with ``value`` for this parameter, or None if it is acceptable."""
        kinds = self.kinds
        if isinstance(value, bool):
            ok = "bool" in kinds or "other" in kinds
        elif isinstance(value, int):
            ok = bool(kinds & {"int", "float", "other"})
        elif isinstance(value, float):
            ok = "float" in kinds or "other" in kinds
            if not ok and "int" in kinds:
                return f"must be an integer, got {value!r}"
            if ok and not math.isfinite(value):
                return f"must be a finite number, got {value!r}"
        elif isinstance(value, str):
            ok = bool(kinds & {"str", "sequence", "other"})
        elif isinstance(value, list):
            ok = bool(kinds & {"sequence", "other"})
        else:
            ok = "other" in kinds
        if not ok:
            return f"must be {self.describe()}, got {value!r}"
        choices = _choices().get(self.name)
        if choices and isinstance(value, str) and value not in choices:
            return f"must be one of {', '.join(choices)}, got {value!r}"
        from webmodel.coalition.parameters import SPECS

        spec = SPECS.get(self.name)
        if spec is not None and spec.kind in ("int", "float") and _is_number(value):
            return spec.check(value)
        return None

    def coerce(self, value: Any) -> Any:
        """The value to pass to the model: ints for float parameters become floats, and a lone
        string for a list parameter (``disruptions = "state:KOR@10+8"``) becomes a list."""
        integer = isinstance(value, int) and not isinstance(value, bool)
        if integer and "int" not in self.kinds and "float" in self.kinds:
            return float(value)
        if isinstance(value, str) and "sequence" in self.kinds and "str" not in self.kinds:
            return [value]
        return value

    def to_column(self, value: Any) -> Any:
        """The value as stored in the runs table (JSON text where the column is a string)."""
        if value is None or self.arrow_type != pa.string() or isinstance(value, str):
            return value
        return json.dumps(value, sort_keys=True, default=str)


def _kinds_of(hint: Any) -> frozenset[str]:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return frozenset().union(*(_kinds_of(arg) for arg in typing.get_args(hint)))
    simple = {bool: "bool", int: "int", float: "float", str: "str", type(None): "none"}
    if hint in simple:
        return frozenset({simple[hint]})
    base = origin or hint
    if isinstance(base, type) and issubclass(base, Sequence):
        return frozenset({"sequence"})
    return frozenset({"other"})


def _kinds_from_text(text: str) -> frozenset[str]:
    """Fallback when an annotation cannot be resolved: read its text."""
    kinds = set()
    for part in text.replace(" ", "").split("|"):
        words = {"bool": "bool", "int": "int", "float": "float", "str": "str", "None": "none"}
        if part in words:
            kinds.add(words[part])
        elif part.startswith(("Sequence[", "list[", "tuple[")):
            kinds.add("sequence")
        else:
            kinds.add("other")
    return frozenset(kinds)


@cache
def model_parameters() -> dict[str, ParameterInfo]:
    """Every keyword parameter of ``CoalitionModel.__init__`` that an experiment may set."""
    from webmodel.core.model import CoalitionModel

    signature = inspect.signature(CoalitionModel.__init__)
    try:
        hints = typing.get_type_hints(CoalitionModel.__init__)
    except Exception:  # an annotation that names something only imported for type checking
        hints = {}
    out = {}
    for name, param in signature.parameters.items():
        if name == "self" or name in EXCLUDED:
            continue
        if param.kind not in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY):
            continue
        if name in hints:
            kinds = _kinds_of(hints[name])
        elif isinstance(param.annotation, str):
            kinds = _kinds_from_text(param.annotation)
        else:
            kinds = frozenset({"other"})
        default = None if param.default is inspect.Parameter.empty else param.default
        out[name] = ParameterInfo(name, default, kinds)
    return out
