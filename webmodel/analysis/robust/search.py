"""The robust search: NSGA-II over the levers, each candidate run in every sampled future.

A generation's candidates are one sweep (candidates x futures x replicates runs, through
:func:`~webmodel.analysis.sweep.run_sweep` on the given workers) in a folder of its own under
``OUT/evaluations/<wiring>/``; a folder that already holds that generation's finished sweep is
read, not run, so an interrupted search run again resumes (the optimiser's random numbers come
from the root seed, so it proposes the same candidates). Identical candidates are run once.

Objectives (both minimised): the portfolio's cost in $M (the scenario's ``[costs]``) and the
``quantile`` (0.9) of the outcome over futures, each future's outcome the mean over its
replicates. Every future runs every candidate at the same parameter values and seeds (common
random numbers), so candidates are compared on the same futures.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from webmodel.analysis.robust.config import RobustSettings, robust_settings
from webmodel.analysis.sweep import build_plan, load_experiment, run_sweep
from webmodel.analysis.sweep.design import DesignPoints, build_design
from webmodel.analysis.sweep.executor import Workers, open_workers
from webmodel.analysis.sweep.experiment import Design, Experiment, Factor

WIRING_FOLDERS = {"hub-and-spokes": "hub", "production-web": "web"}


@dataclass
class Evaluation:
    """One candidate portfolio in one wiring: its levers, cost and outcome in each future."""

    wiring: str
    generation: int
    levers: dict[str, Any]
    cost: float
    breakdown: dict[str, float]
    outcomes: np.ndarray  # per future
    failed: int = 0
    max_regret: float = float("nan")  # against the best candidate of this wiring, per future
    max_regret_any: float = float("nan")  # against the best of either wiring

    def robustness(self, quantile: float) -> float:
        values = self.outcomes[~np.isnan(self.outcomes)]
        return float(np.quantile(values, quantile)) if len(values) else float("inf")


@dataclass
class RobustResult:
    """Every evaluation, each wiring's front, and how long the search took where."""

    experiment: Experiment
    settings: RobustSettings
    futures: list[dict[str, Any]]
    levers: list[Factor]
    wirings: list[str]
    evaluations: list[Evaluation] = field(default_factory=list)
    wall_seconds: float = 0.0
    loop_seconds: float = 0.0  # the search itself, after planning
    sweep_seconds: float = 0.0  # inside run_sweep
    run_seconds: float = 0.0  # summed wall time of the model runs
    slots: int = 1
    runs: int = 0  # runs executed by this invocation
    runs_read: int = 0  # runs read back from finished generations
    workers: str = ""

    def of(self, wiring: str) -> list[Evaluation]:
        return [e for e in self.evaluations if e.wiring == wiring]

    def front(self, wiring: str) -> list[Evaluation]:
        """The non-dominated candidates of a wiring (cost, robustness), cheapest first."""
        q = self.settings.quantile
        points = self.of(wiring)
        front = []
        for a in points:
            ra = a.robustness(q)
            dominated = any(
                (b.cost <= a.cost and b.robustness(q) <= ra)
                and (b.cost < a.cost or b.robustness(q) < ra)
                for b in points
            )
            if not dominated and not any(f.cost == a.cost and f.robustness(q) == ra for f in front):
                front.append(a)
        return sorted(front, key=lambda e: (e.cost, e.robustness(q)))

    def cheapest_within(self, wiring: str) -> Evaluation | None:
        """The cheapest front point whose robustness is within ``within`` of the best."""
        front = self.front(wiring)
        if not front:
            return None
        q = self.settings.quantile
        best = min(e.robustness(q) for e in front)
        bound = best * (1 + self.settings.within) if best > 0 else best
        return min((e for e in front if e.robustness(q) <= bound), key=lambda e: e.cost)

    @property
    def rate(self) -> float:
        """Runs per second of the search (after planning)."""
        return self.runs / self.loop_seconds if self.loop_seconds > 0 else 0.0

    @property
    def outside_share(self) -> float | None:
        """The share of the search's time (after planning) not spent in model runs: 1 - summed
        run time / slots / wall time."""
        if self.loop_seconds <= 0 or self.run_seconds <= 0:
            return None
        return max(0.0, 1 - self.run_seconds / self.slots / self.loop_seconds)


def decode(levers: list[Factor], unit: list[float]) -> dict[str, Any]:
    """A candidate's lever values from its unit-cube variables (as sweeps map samples)."""
    return {f.name: f.from_unit(np.array([u]))[0] for f, u in zip(levers, unit, strict=True)}


def _key(values: dict[str, Any]) -> str:
    return json.dumps(values, sort_keys=True, default=str)


class _Search:
    """One wiring's search: the optimiser asks for a generation, the sweep answers it."""

    def __init__(self, result: RobustResult, plan: Any, wiring: str, out: Path,
                 workers: Workers, log: Callable[[str], None]) -> None:  # fmt: skip
        self.result, self.plan, self.wiring = result, plan, wiring
        self.out, self.workers, self.log = out, workers, log
        self.cache: dict[str, Evaluation] = {}
        self.generation = 0
        scenario = plan.scenarios[result.experiment.scenario]
        self.costs, self.demand = scenario.costs, scenario.weekly_demand
        self.fixed = {k: v for k, v in result.experiment.base.items() if k in self.costs.models}

    def cost(self, levers: dict[str, Any]) -> tuple[float, dict[str, float]]:
        parts = self.costs.breakdown({**self.fixed, **levers}, self.demand)
        return float(sum(parts.values())), parts

    def evaluate(self, candidates: list[dict[str, Any]]) -> None:
        """Run the candidates not yet seen, in every future, as one sweep."""
        new = list({_key(c): c for c in candidates if _key(c) not in self.cache}.values())
        if not new:
            return
        result, experiment = self.result, self.result.experiment
        points = [
            {**future, **levers, "topology": self.wiring}
            for levers in new
            for future in result.futures
        ]
        digest = hashlib.sha256(_key({"points": points}).encode()).hexdigest()
        short = WIRING_FOLDERS.get(self.wiring, self.wiring)
        name = f"{experiment.name}-{short}-{self.generation:03d}"
        batch = dataclasses.replace(
            experiment,
            name=name,
            design=Design("full-factorial"),
            text=experiment.text + f"\n# robust search: {self.wiring}, generation "
            f"{self.generation}, {len(new)} candidates, points sha256 {digest}\n",
        )
        names = [f.name for f in batch.factors]
        points = [{n: p.get(n) for n in names} for p in points]
        plan = dataclasses.replace(self.plan, experiment=batch, design=DesignPoints(points))
        folder = self.out / "evaluations" / WIRING_FOLDERS.get(self.wiring, self.wiring) / name
        table = self._finished(folder, batch)
        read_back = table is not None
        if table is None:
            started = time.perf_counter()
            summary = run_sweep(plan, folder, self.workers, progress={"quiet": True})
            result.sweep_seconds += time.perf_counter() - started
            result.run_seconds += summary.run_seconds
            result.slots = max(summary.slots, 1)
            result.runs += summary.ran
            if summary.interrupted:
                raise KeyboardInterrupt
            table = summary.results().runs
        else:
            result.runs_read += table.num_rows
        self._record(new, table)
        self.log(
            f"robust: {self.wiring}: generation {self.generation}: {len(new)} new candidates "
            f"x {len(result.futures)} futures"
            + (" (read back from a finished sweep)" if read_back else "")
        )

    def _finished(self, folder: Path, batch: Experiment) -> Any:
        """The runs of a generation already finished in ``folder`` (same points), or None."""
        manifest = folder / "sweep.json"
        if not manifest.is_file():
            return None
        try:
            data = json.loads(manifest.read_text())
        except (OSError, json.JSONDecodeError):
            return None
        if data.get("status") != "complete" or data.get("experiment_sha256") != batch.sha256:
            return None
        from webmodel.analysis.report.data import SweepResults

        return SweepResults.load(folder).runs

    def _record(self, new: list[dict[str, Any]], table: Any) -> None:
        result = self.result
        n_futures, replicates = len(result.futures), result.experiment.replicates
        point = table.column("point").to_numpy()
        ok = np.array([s == "ok" for s in table.column("status").to_pylist()])
        values = table.column(result.settings.outcome).to_numpy(zero_copy_only=False)
        values = np.where(ok, values.astype(float), np.nan)
        grid = np.full((len(new) * n_futures, replicates), np.nan)
        replicate = table.column("replicate").to_numpy()
        grid[point, replicate] = values
        with np.errstate(all="ignore"):
            per_future = np.nanmean(grid, axis=1).reshape(len(new), n_futures)
        failed = (~ok).sum()
        for i, levers in enumerate(new):
            cost, parts = self.cost(levers)
            evaluation = Evaluation(
                self.wiring, self.generation, levers, cost, parts, per_future[i],
                failed=int(failed) if i == 0 else 0,
            )  # fmt: skip
            self.cache[_key(levers)] = evaluation
            result.evaluations.append(evaluation)

    def objectives(self, levers: dict[str, Any]) -> list[float]:
        evaluation = self.cache[_key(levers)]
        return [evaluation.cost, evaluation.robustness(self.result.settings.quantile)]


def _nsga2(search: _Search, levers: list[Factor], settings: RobustSettings, seed: int) -> None:
    """platypus' NSGA-II, one sweep per generation (its Evaluator hands over the batch)."""
    from platypus import NSGAII, Evaluator, Problem, Real

    class Batch(Evaluator):
        def evaluate_all(self, jobs, **kwargs):
            jobs = list(jobs)
            search.evaluate([decode(levers, job.solution.variables) for job in jobs])
            for job in jobs:
                job.run()
            return jobs

    class Portfolio(Problem):
        def __init__(self) -> None:
            super().__init__(len(levers), 2)
            self.types[:] = [Real(0.0, 1.0) for _ in levers]
            self.directions[:] = Problem.MINIMIZE

        def evaluate(self, solution) -> None:
            solution.objectives[:] = search.objectives(decode(levers, solution.variables))

    state = random.getstate()
    random.seed(seed)  # platypus draws from the random module
    try:
        algorithm = NSGAII(Portfolio(), population_size=settings.population, evaluator=Batch())
        for generation in range(settings.generations):
            search.generation = generation
            algorithm.step()
    finally:
        random.setstate(state)


def _regrets(result: RobustResult) -> None:
    """Each candidate's largest regret over futures: its outcome minus the best candidate's
    in that future (of its wiring; of either wiring)."""
    every = np.array([e.outcomes for e in result.evaluations])
    if not len(every):
        return
    with np.errstate(all="ignore"):
        best_any = np.nanmin(every, axis=0)
        for wiring in result.wirings:
            mine = [e for e in result.evaluations if e.wiring == wiring]
            best = np.nanmin(np.array([e.outcomes for e in mine]), axis=0)
            for e in mine:
                e.max_regret = float(np.nanmax(e.outcomes - best))
                e.max_regret_any = float(np.nanmax(e.outcomes - best_any))


def search_robust(
    experiment: Experiment | str | Path,
    out: str | Path,
    workers: Workers | int | None = None,
    dask: str | None = None,
    dask_local: bool = False,
    log: Callable[[str], None] = lambda message: None,
    **overrides: int | None,
) -> RobustResult:
    """The robust search of an experiment file, each wiring in turn (see the module's doc)."""
    started = time.perf_counter()
    if not isinstance(experiment, Experiment):
        experiment = load_experiment(experiment)
    settings = robust_settings(experiment, **overrides)
    plan = build_plan(experiment)  # checks every factor against the model, once
    topology = next((f for f in experiment.factors if f.name == "topology"), None)
    wirings = list(topology.levels) if topology is not None and topology.levels else [
        experiment.base.get("topology", "production-web")
    ]  # fmt: skip
    levers = [f for f in experiment.levers if f.name != "topology"]
    sampled = dataclasses.replace(
        experiment, factors=experiment.uncertainties, design=dataclasses.replace(
            experiment.design, crossed=()
        ),
    )  # fmt: skip
    futures = build_design(sampled).points
    result = RobustResult(experiment, settings, futures, levers, wirings)
    out = Path(out)
    if isinstance(workers, Workers):
        _search_all(result, plan, out, workers, log)
    else:
        with open_workers(workers, dask, dask_local) as opened:
            result.workers = opened.label
            _search_all(result, plan, out, opened, log)
    _regrets(result)
    result.wall_seconds = time.perf_counter() - started
    return result


def _search_all(result: RobustResult, plan: Any, out: Path, workers: Workers, log) -> None:
    result.workers = result.workers or workers.label
    started = time.perf_counter()
    for index, wiring in enumerate(result.wirings):
        search = _Search(result, plan, wiring, out, workers, log)
        seed = int(np.random.SeedSequence(result.experiment.root_seed, spawn_key=(index,))
                   .generate_state(1)[0])  # fmt: skip
        _nsga2(search, result.levers, result.settings, seed)
    result.loop_seconds = time.perf_counter() - started
