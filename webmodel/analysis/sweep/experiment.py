"""Experiment files (``experiments/*.toml``): read, check every field, and say what is wrong.

An experiment names a base scenario, fixed parameter values, factors with their levels, a
design, replicates, a root seed, and the metrics and series to keep (experiments/README.md).

It is also an XLRM frame (Lempert et al. 2003): each factor is an uncertainty (X) or a lever
(L) - by default its parameter's declared role, or ``role = "..."`` in the factor's table - and
the outcomes (M) are the kept metrics plus, where topology varies, their paired
``web_minus_hub.<metric>`` differences (:attr:`Experiment.outcomes`).
Every problem in a file is collected and reported at once, with the closest valid name where a
name is misspelt, before anything runs or any directory is made.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from webmodel.analysis.sweep.parameters import ParameterInfo, model_parameters
from webmodel.coalition.parameters import MAX_SEED
from webmodel.coalition.scenario import ScenarioError, parse_toml, read_toml_text

DESIGNS = ("full-factorial", "latin-hypercube", "sobol", "morris")
SEEDING = ("common", "independent")
TOP_FIELDS = (
    "name",
    "description",
    "scenario",
    "replicates",
    "root_seed",
    "seeds",
    "base",
    "factors",
    "design",
    "output",
    "robust",  # the robust search's settings (webmodel.analysis.robust); sweeps ignore it
)
DESIGN_FIELDS = {
    "full-factorial": ("kind",),
    "latin-hypercube": ("kind", "samples", "crossed"),
    "sobol": ("kind", "samples", "second_order", "crossed"),
    "morris": ("kind", "trajectories", "levels", "crossed"),
}
SAMPLED_DESIGNS = ("latin-hypercube", "sobol", "morris")
OUTPUT_FIELDS = ("metrics", "series")
RANGE_FIELDS = ("min", "max", "n", "role")
LEVELS_FIELDS = ("levels", "role")
FACTOR_ROLES = ("uncertainty", "lever")
# Roles of the model's own keywords (not declared in coalition/parameters.py): what goes wrong is
# the world's; which scenario file is the coalition studied, a setting unless a factor says so.
KEYWORD_ROLES = {"disruptions": "uncertainty", "scenario": "setting"}
# The prefix of a paired outcome: metric(production web) - metric(hub-and-spokes), same seed and
# the same values of every other factor.
PAIRED_PREFIX = "web_minus_hub."
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
# Upper bounds of the design's counts, checked before anything is drawn (the budget in
# webmodel.coalition.budget then bounds their product, the design size).
MAX_REPLICATES = 1_000_000
MAX_SAMPLES = 2**24  # Latin-hypercube or Sobol' base samples
MAX_TRAJECTORIES = 1_000_000  # Morris
MAX_GRID_LEVELS = 1_000  # Morris grid levels
MAX_RANGE_LEVELS = 10_000  # n of an evenly spaced range in a full factorial


class ExperimentError(ScenarioError):
    """An experiment file is wrong; the message lists every problem found."""


def suggest(name: str, known: list[str] | tuple[str, ...]) -> str:
    """' (did you mean 'x'?)' for the closest known name, or '' if none is close."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _unknown(given: dict[str, Any], known: tuple[str, ...], where: str) -> list[str]:
    return [
        f"{where}{key}: unknown field{suggest(key, known)}; known: {', '.join(known)}"
        for key in given
        if key not in known
    ]


@dataclass(frozen=True)
class Factor:
    """A parameter that varies: a list of levels, or a range ``[low, high]`` to sample from.

    ``integer`` ranges are sampled uniformly over the integers low..high. ``role`` is its XLRM
    role: "uncertainty", "lever" or (for a parameter declared so, given no role) "setting".
    """

    name: str
    levels: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None
    integer: bool = False
    role: str = "uncertainty"

    @property
    def is_range(self) -> bool:
        return self.levels is None

    def probe_values(self) -> list[Any]:
        """Values worth building a model with before the sweep: every level, or both ends."""
        if self.levels is not None:
            return list(self.levels)
        return [self.low, self.high]

    def from_unit(self, u: np.ndarray) -> list[Any]:
        """Map samples in [0, 1] to values: levels equally likely, ranges uniform."""
        u = np.clip(np.asarray(u, dtype=float), 0.0, 1.0)
        if self.levels is not None:
            index = np.minimum((u * len(self.levels)).astype(int), len(self.levels) - 1)
            return [self.levels[i] for i in index]
        assert self.low is not None and self.high is not None
        if self.integer:
            span = int(self.high) - int(self.low)
            steps = np.minimum(np.floor(u * (span + 1)).astype(int), span)
            return [int(self.low) + int(s) for s in steps]
        return [float(self.low + x * (self.high - self.low)) for x in u]

    def as_dict(self) -> dict[str, Any]:
        if self.levels is not None:
            return {"name": self.name, "levels": list(self.levels)}
        return {"name": self.name, "min": self.low, "max": self.high, "integer": self.integer}


@dataclass(frozen=True)
class Design:
    """How design points are chosen: ``kind`` and its settings.

    ``crossed`` (sampled designs only) names factors that are not sampled: every sampled point
    is run at every combination of their levels, so that a difference between levels (the web's
    advantage over hub-and-spokes) is measured at the same sampled values and seeds.
    """

    kind: str = "full-factorial"
    samples: int | None = None
    second_order: bool = False
    trajectories: int | None = None
    levels: int = 4
    crossed: tuple[str, ...] = ()

    @property
    def sampled(self) -> bool:
        return self.kind in SAMPLED_DESIGNS

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        if self.kind in ("latin-hypercube", "sobol"):
            out["samples"] = self.samples
        if self.kind == "sobol":
            out["second_order"] = self.second_order
        if self.kind == "morris":
            out.update(trajectories=self.trajectories, levels=self.levels)
        if self.crossed:  # left out when empty, so uncrossed designs record what they did
            out["crossed"] = list(self.crossed)
        return out


@dataclass(frozen=True)
class Experiment:
    """A checked experiment file. Build it with :func:`load_experiment`."""

    path: Path
    name: str
    description: str
    root_seed: int
    replicates: int = 1
    seeds: str = "common"
    scenario: str | None = None  # as written: relative to the experiment file
    base: dict[str, Any] = field(default_factory=dict)
    factors: tuple[Factor, ...] = ()
    design: Design = field(default_factory=Design)
    metrics: tuple[str, ...] = ("*",)
    series: tuple[str, ...] = ()
    text: str = ""

    @property
    def crossed_factors(self) -> tuple[Factor, ...]:
        """The factors run at every level for each sampled point, in ``design.crossed`` order."""
        by_name = {f.name: f for f in self.factors}
        return tuple(by_name[name] for name in self.design.crossed)

    @property
    def sampled_factors(self) -> tuple[Factor, ...]:
        """The factors the design samples: all but the crossed ones (all, for a factorial)."""
        if not self.design.sampled:
            return self.factors
        return tuple(f for f in self.factors if f.name not in self.design.crossed)

    @property
    def uncertainties(self) -> tuple[Factor, ...]:
        """X: the factors the world sets."""
        return tuple(f for f in self.factors if f.role == "uncertainty")

    @property
    def levers(self) -> tuple[Factor, ...]:
        """L: the factors a decision maker sets."""
        return tuple(f for f in self.factors if f.role == "lever")

    @property
    def outcomes(self) -> tuple[str, ...]:
        """M: the metric names or patterns kept, then (where topology is a factor with both
        wirings) each one's paired difference ``web_minus_hub.<metric>``."""
        topology = next((f for f in self.factors if f.name == "topology"), None)
        wirings = set(topology.levels or ()) if topology is not None else set()
        paired = {"hub-and-spokes", "production-web"} <= wirings
        return (*self.metrics, *((PAIRED_PREFIX + m for m in self.metrics) if paired else ()))

    def xlrm(self) -> dict[str, list[str]]:
        """The experiment's frame by role: uncertainties, levers, settings, outcomes."""
        return {
            "uncertainties": [f.name for f in self.uncertainties],
            "levers": [f.name for f in self.levers],
            "settings": [f.name for f in self.factors if f.role == "setting"],
            "outcomes": list(self.outcomes),
        }

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    @property
    def directory(self) -> Path:
        return self.path.resolve().parent

    def scenario_path(self, value: str | None) -> Path | None:
        """A scenario path as written in the file, resolved against the file's folder."""
        return None if value is None else self.directory / value


def load_experiment(path: str | Path) -> Experiment:
    """Read and check an experiment file; raise :class:`ExperimentError` listing every problem."""
    path = Path(path)
    source = f"experiment file {path}"
    if not path.is_file():
        raise ExperimentError([f"{path}: no such file"], source)
    try:
        text = read_toml_text(path, "experiment")
        data = parse_toml(text, str(path), "experiment")
    except ScenarioError as err:
        raise ExperimentError(err.problems, source) from None
    problems: list[str] = []
    experiment = _parse(data, path, text, problems)
    if problems or experiment is None:
        raise ExperimentError(problems, source)
    return experiment


def _parse(data: dict[str, Any], path: Path, text: str, problems: list[str]) -> Experiment | None:
    problems += _unknown(data, TOP_FIELDS, "")
    params = model_parameters()

    name = data.get("name", path.stem)
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        problems.append(
            f"name: must be letters, digits, '_', '-' or '.' (it names the results folder), "
            f"got {name!r}"
        )
    description = data.get("description", "")
    if not isinstance(description, str):
        problems.append(f"description: must be text, got {description!r}")

    root_seed = data.get("root_seed")
    if root_seed is None:
        problems.append("root_seed: required: an integer >= 0 from which every run's seed comes")
    elif not _is_int(root_seed) or not 0 <= root_seed <= MAX_SEED:
        problems.append(f"root_seed: must be an integer in [0, 2**63 - 1], got {root_seed!r}")
    replicates = data.get("replicates", 1)
    if not _is_int(replicates) or not 1 <= replicates <= MAX_REPLICATES:
        problems.append(
            f"replicates: must be an integer in [1, {MAX_REPLICATES:,}], got {replicates!r}"
        )
    seeds = data.get("seeds", "common")
    if seeds not in SEEDING:
        problems.append(f"seeds: must be one of {', '.join(SEEDING)}, got {seeds!r}")

    base = _parse_base(data, path, params, problems)
    design = _parse_design(data.get("design", {}), problems)
    raw_factors = data.get("factors", {})
    factors = _parse_factors(raw_factors, design, base, path, params, problems)
    if design is not None and design.kind != "full-factorial" and not factors:
        problems.append(f"factors: a {design.kind} design needs at least one factor")
    if design is not None and design.crossed:
        _check_crossed(design, factors, raw_factors, problems)
    metrics, series = _parse_output(data.get("output", {}), problems)
    if problems or design is None:
        return None
    return Experiment(
        path=path,
        name=name,
        description=description,
        root_seed=int(root_seed),
        replicates=int(replicates),
        seeds=seeds,
        scenario=base.pop("scenario", None),
        base=base,
        factors=tuple(factors),
        design=design,
        metrics=metrics,
        series=series,
        text=text,
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_value(
    info: ParameterInfo, value: Any, where: str, path: Path, problems: list[str]
) -> Any:
    problem = info.check(value)
    if problem:
        problems.append(f"{where}: {problem}")
        return value
    if (
        info.name == "scenario"
        and isinstance(value, str)
        and not (path.resolve().parent / value).is_file()
    ):
        problems.append(
            f"{where}: no scenario file {value!r} (paths are relative to the experiment file)"
        )
    return info.coerce(value)


def _unknown_parameter(name: str, where: str, params: dict[str, ParameterInfo]) -> str:
    return (
        f"{where}{name}: unknown parameter{suggest(name, tuple(params))}; "
        f"parameters: {', '.join(params)}"
    )


def _parse_base(
    data: dict[str, Any], path: Path, params: dict[str, ParameterInfo], problems: list[str]
) -> dict[str, Any]:
    raw = data.get("base", {})
    if not isinstance(raw, dict):
        problems.append("base: must be a table of parameter = value")
        return {}
    if "scenario" in data:
        if "scenario" in raw:
            problems.append("scenario: given both at the top and in [base]; keep one")
        raw = {**raw, "scenario": data["scenario"]}
    base = {}
    for key, value in raw.items():
        if key not in params:
            problems.append(_unknown_parameter(key, "base.", params))
            continue
        where = "scenario" if key == "scenario" and "scenario" in data else f"base.{key}"
        base[key] = _check_value(params[key], value, where, path, problems)
    return base


def _parse_crossed(raw: dict[str, Any], kind: str, problems: list[str]) -> tuple[str, ...]:
    """The ``crossed`` names as written (checked against the factors later)."""
    if "crossed" not in raw:
        return ()
    value = raw["crossed"]
    if kind not in SAMPLED_DESIGNS:
        problems.append(
            "design.crossed: only for sampled designs (latin-hypercube, sobol, morris); in a "
            "full factorial every factor is already crossed with every other"
        )
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append(
            f'design.crossed: must be a list of factor names, e.g. ["topology"], got {value!r}'
        )
        return ()
    for i, name in enumerate(value):
        if name in value[:i]:
            problems.append(f"design.crossed[{i}]: {name!r} is listed twice")
    return tuple(dict.fromkeys(value))


def _check_crossed(
    design: Design, factors: list[Factor], raw_factors: Any, problems: list[str]
) -> None:
    """Each crossed name is a factor given as levels, and at least one factor is sampled."""
    by_name = {f.name: f for f in factors}
    written = list(raw_factors) if isinstance(raw_factors, dict) else []
    for i, name in enumerate(design.crossed):
        where = f"design.crossed[{i}]"
        if name not in written:
            known = ", ".join(written) or "none"
            problems.append(
                f"{where}: {name!r} is not a factor{suggest(name, written)}; factors: {known}"
            )
        elif name in by_name and by_name[name].is_range:
            problems.append(
                f"{where}: {name!r} is a range; a crossed factor needs a list of levels "
                f"(factors.{name} = [...]), since every sampled point runs at each of them"
            )
    if factors and all(f.name in design.crossed for f in factors):
        problems.append(
            f"design.crossed: every factor is crossed, so the {design.kind} design has nothing "
            "to sample; leave at least one factor out of crossed (or use a full-factorial design)"
        )


def _parse_design(raw: Any, problems: list[str]) -> Design | None:
    if not isinstance(raw, dict):
        problems.append("design: must be a table, e.g. [design] kind = 'full-factorial'")
        return None
    kind = raw.get("kind", "full-factorial")
    if kind not in DESIGNS:
        problems.append(
            f"design.kind: unknown design {kind!r}{suggest(str(kind), DESIGNS)}; "
            f"designs: {', '.join(DESIGNS)}"
        )
        return None
    problems += _unknown(
        {k: v for k, v in raw.items() if k != "crossed"}, DESIGN_FIELDS[kind], "design."
    )
    crossed = _parse_crossed(raw, kind, problems)

    def positive(key: str, default: int | None, most: int, least: int = 1) -> int | None:
        value = raw.get(key, default)
        if value is None:
            problems.append(f"design.{key}: required for a {kind} design (an integer)")
        elif not _is_int(value) or not least <= value <= most:
            problems.append(
                f"design.{key}: must be an integer in [{least}, {most:,}], got {value!r}"
            )
            return None
        return value

    if kind in ("latin-hypercube", "sobol"):
        samples = positive("samples", None, MAX_SAMPLES)
        second_order = raw.get("second_order", False)
        if not isinstance(second_order, bool):
            problems.append(f"design.second_order: must be true or false, got {second_order!r}")
        return Design(kind, samples=samples, second_order=second_order is True, crossed=crossed)
    if kind == "morris":
        trajectories = positive("trajectories", None, MAX_TRAJECTORIES, least=2)
        levels = positive("levels", 4, MAX_GRID_LEVELS, least=2)
        if _is_int(levels) and levels % 2:
            problems.append(f"design.levels: must be even (Morris' grid), got {levels}")
        return Design(kind, trajectories=trajectories, levels=levels or 4, crossed=crossed)
    return Design(kind)


def _parse_factors(
    raw: Any,
    design: Design | None,
    base: dict[str, Any],
    path: Path,
    params: dict[str, ParameterInfo],
    problems: list[str],
) -> list[Factor]:
    if not isinstance(raw, dict):
        problems.append("factors: must be a table of parameter = [levels] or {min, max}")
        return []
    factorial = design is None or design.kind == "full-factorial"
    factors = []
    for name, spec in raw.items():
        where = f"factors.{name}"
        if name not in params:
            problems.append(_unknown_parameter(name, "factors.", params))
            continue
        if name in base:
            problems.append(f"{where}: also fixed in [base]; a parameter is one or the other")
            continue
        info = params[name]
        role = _parse_role(name, spec, info, where, problems)
        if isinstance(spec, dict) and "levels" in spec:
            problems += _unknown(spec, LEVELS_FIELDS, f"{where}.")
            levels = spec["levels"]
            if not isinstance(levels, list):
                problems.append(f"{where}.levels: must be a list of levels, got {levels!r}")
                continue
            factor = _levels_factor(name, levels, info, where, path, problems)
        elif isinstance(spec, list):
            factor = _levels_factor(name, spec, info, where, path, problems)
        elif isinstance(spec, dict):
            factor = _range_factor(name, spec, info, where, factorial, problems)
        else:
            problems.append(
                f"{where}: must be a list of levels or a range {{ min = ..., max = ... }}, "
                f"got {spec!r} (a fixed value goes in [base])"
            )
            continue
        if factor is not None:
            factors.append(dataclasses.replace(factor, role=role))
    return factors


def declared_role(info: ParameterInfo) -> str:
    """A parameter's XLRM role as declared (the model's own keywords: :data:`KEYWORD_ROLES`)."""
    if info.spec is not None:
        return info.spec.role
    return KEYWORD_ROLES.get(info.name, "setting")


def _parse_role(name: str, spec: Any, info: ParameterInfo, where: str, problems: list[str]) -> str:
    """The factor's ``role`` if its table gives one, else its parameter's declared role."""
    if not isinstance(spec, dict) or "role" not in spec:
        return declared_role(info)
    role = spec["role"]
    if role not in FACTOR_ROLES:
        problems.append(
            f"{where}.role: must be one of {', '.join(FACTOR_ROLES)} (XLRM: what the world "
            f"sets, or what a decision maker sets), got {role!r}"
        )
        return declared_role(info)
    return role


def _levels_factor(
    name: str, spec: list, info: ParameterInfo, where: str, path: Path, problems: list[str]
) -> Factor | None:
    if not spec:
        problems.append(f"{where}: needs at least one level")
        return None
    before = len(problems)
    levels = [_check_value(info, v, f"{where}[{i}]", path, problems) for i, v in enumerate(spec)]
    seen = []
    for level in levels:
        if level in seen:
            problems.append(f"{where}: level {level!r} is listed twice")
        seen.append(level)
    return None if len(problems) > before else Factor(name, levels=tuple(levels))


def _range_factor(
    name: str,
    spec: dict,
    info: ParameterInfo,
    where: str,
    factorial: bool,
    problems: list[str],
) -> Factor | None:
    problems += _unknown(spec, RANGE_FIELDS, f"{where}.")
    if not info.kinds & {"int", "float"}:
        problems.append(f"{where}: a range needs a numeric parameter; give a list of levels")
        return None
    before = len(problems)
    low, high = spec.get("min"), spec.get("max")
    for key, value in (("min", low), ("max", high)):
        if value is None:
            problems.append(f"{where}.{key}: required for a range")
        else:
            problem = info.check(value)
            if problem:
                problems.append(f"{where}.{key}: {problem}")
    if len(problems) > before:
        return None
    if not low < high:
        problems.append(f"{where}: min must be below max, got min = {low}, max = {high}")
        return None
    integer = "float" not in info.kinds
    n = spec.get("n")
    if factorial:
        if n is None:
            problems.append(
                f"{where}: a full-factorial design needs levels: a list, or add n = <count> to "
                "the range for n evenly spaced levels"
            )
            return None
        if not _is_int(n) or not 2 <= n <= MAX_RANGE_LEVELS:
            problems.append(
                f"{where}.n: must be an integer in [2, {MAX_RANGE_LEVELS:,}], got {n!r}"
            )
            return None
        values = np.linspace(low, high, n)
        levels = (
            tuple(dict.fromkeys(round(float(v)) for v in values))
            if integer
            else tuple(float(v) for v in values)
        )
        return Factor(name, levels=levels)
    if n is not None:
        problems.append(f"{where}.n: only for full-factorial designs (sampled designs draw values)")
        return None
    if not (math.isfinite(low) and math.isfinite(high)):
        problems.append(f"{where}: min and max must be finite")
        return None
    return Factor(name, low=low, high=high, integer=integer)


def _parse_output(raw: Any, problems: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if not isinstance(raw, dict):
        problems.append("output: must be a table with metrics = [...] and series = [...]")
        return ("*",), ()
    problems += _unknown(raw, OUTPUT_FIELDS, "output.")
    out = []
    for key, default in (("metrics", ["*"]), ("series", [])):
        value = raw.get(key, default)
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            problems.append(f"output.{key}: must be a list of names or patterns like 'delivered.*'")
            value = default
        out.append(tuple(value))
    return out[0], out[1]
