"""From a checked experiment to its runs: design points x replicates, seeds, and columns.

Building the plan also tries the model itself: a probe model is built for the base point and for
every level (or both ends of every range) of every factor, so that a level the model rejects
fails here, with the model's own message, before any output directory exists. The probes also
tell which metric and series names a run produces, so ``[output]`` patterns are checked too.
"""

from __future__ import annotations

import fnmatch
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from webmodel.analysis.sweep.cache import caching
from webmodel.analysis.sweep.design import DesignPoints, build_design, count_points
from webmodel.analysis.sweep.experiment import Experiment, ExperimentError, suggest
from webmodel.analysis.sweep.parameters import ParameterInfo, model_parameters
from webmodel.analysis.sweep.runner import Context, RunSpec, flatten_totals
from webmodel.coalition.budget import BudgetError, check_design, check_run
from webmodel.coalition.scenario import Scenario, ScenarioError, default_scenario, load_scenario

# Columns of the runs table around the parameters and metrics (docs/sweeps.md).
ID_COLUMNS = [
    ("run_id", pa.int64()),
    ("point", pa.int64()),
    ("replicate", pa.int32()),
    ("seed", pa.int64()),
]
STATUS_COLUMNS = [
    ("status", pa.string()),
    ("error", pa.string()),
    ("wall_time", pa.float64()),
    ("n_firms", pa.int64()),
    ("n_links", pa.int64()),
]
TRAILING_COLUMNS = [("warnings", pa.string()), ("traceback", pa.string())]
PROBE_WEEKS = 5  # weeks a probe is stepped to time a run
MAX_PROBES = 64


def seed_of(sequence: np.random.SeedSequence) -> int:
    """An integer seed from a spawned sequence: 53 bits, exact in every Parquet reader (R too)."""
    return int(sequence.generate_state(1, dtype=np.uint64)[0] >> np.uint64(11))


def run_seeds(root_seed: int, count: int) -> np.ndarray:
    """Seeds from ``numpy.random.SeedSequence(root_seed).spawn(count)``."""
    children = np.random.SeedSequence(root_seed).spawn(count)
    return np.array([seed_of(child) for child in children], dtype=np.int64)


@dataclass
class Plan:
    """Every run of an experiment, and the columns its results will have."""

    experiment: Experiment
    design: DesignPoints
    seeds: np.ndarray  # per replicate ("common" seeds) or per run ("independent")
    scenarios: dict[str | None, Scenario]
    parameters: dict[str, ParameterInfo]
    metric_columns: tuple[str, ...]
    series_variables: tuple[str, ...]
    run_metrics: tuple[str, ...] = ()  # the metrics of compute_metrics (the rest are totals)
    run_seconds: float = 0.05  # estimated time of one run, from the probe
    run_cpu_seconds: float = 0.05  # the same in CPU time (what a busy machine does not inflate)
    warnings: list[str] = field(default_factory=list)

    @property
    def n_points(self) -> int:
        return len(self.design)

    @property
    def n_runs(self) -> int:
        return self.n_points * self.experiment.replicates

    def params_of(self, point: int) -> dict[str, Any]:
        """The parameters given to the model at a design point (not the defaults)."""
        base = dict(self.experiment.base)
        if self.experiment.scenario is not None:
            base["scenario"] = self.experiment.scenario
        return {**base, **self.design.points[point]}

    def run(self, run_id: int) -> RunSpec:
        point, replicate = divmod(run_id, self.experiment.replicates)
        common = self.experiment.seeds == "common"
        seed = int(self.seeds[replicate if common else run_id])
        return RunSpec(run_id, point, replicate, seed, self.params_of(point))

    def runs_schema(self) -> pa.Schema:
        params = [(name, info.arrow_type) for name, info in self.parameters.items()]
        metrics = [(name, pa.float64()) for name in self.metric_columns]
        return pa.schema(ID_COLUMNS + params + STATUS_COLUMNS + metrics + TRAILING_COLUMNS)

    def context(self) -> Context:
        return Context(
            scenarios=self.scenarios,
            parameters=self.parameters,
            runs_schema=self.runs_schema(),
            metric_columns=self.metric_columns,
            series_variables=self.series_variables,
        )


def _load_scenarios(experiment: Experiment, problems: list[str]) -> dict[str | None, Scenario]:
    values: list[str | None] = [experiment.scenario]
    for factor in experiment.factors:
        if factor.name == "scenario":
            values = list(factor.levels or ())
    out: dict[str | None, Scenario] = {}
    for value in dict.fromkeys(values):
        try:
            if value is None:
                out[None] = default_scenario()
            else:
                out[value] = load_scenario(experiment.scenario_path(value))
        except ScenarioError as err:
            problems.append(f"scenario {value!r}: {err}")
    return out


def _probe_points(experiment: Experiment, first: dict[str, Any]) -> list[tuple[str, dict]]:
    """The base point, then each factor level (or range end) in turn on top of it."""
    probes = [("the first design point", first)]
    seen = {repr(sorted(first.items()))}
    for factor in experiment.factors:
        for value in factor.probe_values():
            params = {**first, factor.name: value}
            key = repr(sorted(params.items()))
            if key not in seen and len(probes) < MAX_PROBES:
                seen.add(key)
                probes.append((f"factors.{factor.name} = {value!r}", params))
    return probes


def _match(patterns: tuple[str, ...], names: list[str], where: str, problems: list[str]) -> list:
    chosen: list[str] = []
    for pattern in patterns:
        hits = [n for n in names if fnmatch.fnmatchcase(n, pattern)]
        if not hits:
            shown = ", ".join(names[:40]) + (", ..." if len(names) > 40 else "")
            problems.append(
                f"{where}: {pattern!r} matches nothing{suggest(pattern, names)}; available: {shown}"
            )
        chosen += [h for h in hits if h not in chosen]
    return chosen


def _check_budget(
    experiment: Experiment,
    scenarios: dict[str | None, Scenario],
    allow_large: bool,
    problems: list[str],
) -> None:
    """The largest run the design can make, for each scenario, against the budget - before any
    model is built or any point drawn: every size-like factor at its largest level (or range
    end), the production web if it is a level, together."""
    largest: dict[str, Any] = {**experiment.base}
    for factor in experiment.factors:
        values = [v for v in factor.probe_values() if v is not None]
        if factor.name == "topology":
            largest["topology"] = "production-web" if "production-web" in values else values[0]
        elif factor.name in BUDGET_KEYS and all(isinstance(v, int | float) for v in values):
            largest[factor.name] = max(values) if values else None
    largest.pop("web_ness", None)  # any web_ness is at most the web's size
    run = {k: largest[k] for k in BUDGET_KEYS if largest.get(k) is not None}
    for value, scenario in scenarios.items():
        where = "the largest run of the design" + (f" (scenario {value})" if value else "")
        try:
            check_run(scenario, allow_large, where, **run)
        except BudgetError as err:
            problems += err.problems


BUDGET_KEYS = ("firms", "steps", "topology", "suppliers_per_input", "border_delay")


def build_plan(experiment: Experiment, probe: bool = True, allow_large: bool = False) -> Plan:
    """The runs of ``experiment``, checked against the model (raises ExperimentError).

    The design's size and each probe's projected run size are checked against the budget
    (:mod:`webmodel.coalition.budget`) before anything is drawn or built; ``allow_large``
    lifts the budget."""
    from webmodel.core.metrics import compute_metrics
    from webmodel.core.model import CoalitionModel, load_kernels
    from webmodel.io.output import series_table, totals

    problems: list[str] = []
    source = f"experiment file {experiment.path}"
    points = count_points(experiment)
    if points * experiment.replicates == 0:
        raise ExperimentError(["the design has no runs"], source)
    try:
        check_design(points, experiment.replicates, allow_large)
    except BudgetError as err:
        raise ExperimentError(err.problems, source) from None
    scenarios = _load_scenarios(experiment, problems)
    if problems:
        raise ExperimentError(problems, source)
    _check_budget(experiment, scenarios, allow_large, problems)
    if problems:
        raise ExperimentError(problems, source)
    design = build_design(experiment)
    common = experiment.seeds == "common"
    n_runs = len(design) * experiment.replicates
    seeds = run_seeds(experiment.root_seed, experiment.replicates if common else n_runs)
    plan = Plan(
        experiment=experiment,
        design=design,
        seeds=seeds,
        scenarios=scenarios,
        parameters=dict(model_parameters()),
        metric_columns=(),
        series_variables=(),
    )
    if not probe:
        return plan

    metric_names: list[str] = []
    totals_names: list[str] = []
    series_names: list[str] = []
    caught_warnings: list[str] = []
    first = plan.run(0)
    load_kernels()  # not a run's cost: timed with the probe, a 0.02 s run looked like 3 s
    # Cached: the probes' wirings are the first runs' too, if those run in this process.
    with caching():
        for index, (where, params) in enumerate(_probe_points(experiment, first.params)):
            kwargs = {**params, "scenario": scenarios[params.get("scenario")]}
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    start, cpu_start = time.perf_counter(), time.process_time()
                    model = CoalitionModel(**kwargs, rng=first.seed)
                    if index == 0:
                        weeks = min(PROBE_WEEKS, model.steps_planned)
                        built, cpu_built = time.perf_counter(), time.process_time()
                        model.run(weeks)
                        per_week = (time.perf_counter() - built) / weeks
                        plan.run_seconds = built - start + per_week * model.steps_planned
                        cpu_week = (time.process_time() - cpu_built) / weeks
                        cpu_build = cpu_built - cpu_start
                        plan.run_cpu_seconds = cpu_build + cpu_week * model.steps_planned
                        metric_names = list(compute_metrics(model))
                    names = flatten_totals(totals(model), skip=("fill_rate",))
                    totals_names += [n for n in names if n not in totals_names]
                    columns = [c for c in series_table(model).column_names if c != "step"]
                    series_names += [c for c in columns if c not in series_names]
                except Exception as err:
                    text = str(err).replace("\n", "\n    ")
                    problems.append(f"{where}: the model rejects it: {type(err).__name__}: {text}")
            for w in caught:
                message = f"{where}: {w.category.__name__}: {w.message}"
                if message not in caught_warnings:
                    caught_warnings.append(message)
    if problems:
        raise ExperimentError(problems, source)

    available = metric_names + [n for n in totals_names if n not in metric_names]
    plan.metric_columns = tuple(_match(experiment.metrics, available, "output.metrics", problems))
    plan.run_metrics = tuple(n for n in metric_names if n in plan.metric_columns)
    plan.series_variables = tuple(
        _match(experiment.series, series_names, "output.series", problems)
    )
    fixed = {name for name, _ in ID_COLUMNS + STATUS_COLUMNS + TRAILING_COLUMNS}
    for name in plan.metric_columns:
        if name in fixed or name in plan.parameters:
            problems.append(f"output.metrics: {name!r} would clash with a column of that name")
    if problems:
        raise ExperimentError(problems, source)
    plan.warnings = caught_warnings
    return plan
