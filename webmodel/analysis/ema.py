"""The model and its sweeps in EMA Workbench's terms, so the rest of EMA's analysis applies.

- :func:`ema_model`: an ``ema_workbench.Model`` from an experiment file: its factors become
  uncertainties and levers (by their XLRM role: the parameter's declaration or the factor's
  ``role``), its ``[base]`` constants, its kept metrics scalar outcomes. Where the experiment
  varies topology over both wirings, each EMA experiment runs both on the same seed and
  reports ``hub_<metric>``, ``web_<metric>`` and ``web_minus_hub_<metric>`` (EMA 3 wants
  names that are Python identifiers: dots become underscores).
- :func:`sweep_to_ema`: a sweep's results folder as EMA's ``(experiments, outcomes)``: a
  DataFrame of the factors (with EMA's ``scenario``, ``policy`` and ``model`` columns) and a
  dict of outcome arrays; paired (one row per web/hub pair) when the sweep has both wirings.

EMA Workbench is imported only by these functions (it takes seconds to import).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from webmodel.analysis.discovery.frame import HUB, WEB, outcome_frame
from webmodel.analysis.sweep.experiment import Experiment, Factor, load_experiment

DEFAULT_OUTCOMES = ("loss_area", "min_performance", "fill_rate", "time_to_recover")


def ema_name(name: str) -> str:
    """An outcome or parameter name EMA Workbench 3 accepts (a Python identifier)."""
    return name.replace(".", "_")


def _import_ema() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # optional extras (ipyparallel) it warns about
        import ema_workbench
    return ema_workbench


def _encode(value: Any) -> Any:
    """A level EMA can carry as a category (lists as JSON text, decoded again in the run)."""
    return json.dumps(value) if isinstance(value, list | tuple) else value


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("["):
        return json.loads(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def _parameter(ema: Any, factor: Factor) -> Any:
    if factor.levels is not None:
        levels = [_encode(v) for v in factor.levels]
        if set(levels) == {True, False}:
            return ema.BooleanParameter(factor.name)
        return ema.CategoricalParameter(factor.name, levels)
    if factor.integer:
        return ema.IntegerParameter(factor.name, int(factor.low), int(factor.high))
    return ema.RealParameter(factor.name, float(factor.low), float(factor.high))


def run_ema_experiment(
    outcomes: tuple[str, ...] = DEFAULT_OUTCOMES,
    paired: bool = False,
    seed: int = 0,
    scenario_path: str | None = None,
    **parameters: Any,
) -> dict[str, float]:
    """One EMA experiment: build and run the model (both wirings if ``paired``), return its
    metrics. Module-level, so EMA's multiprocessing evaluator can pickle it."""
    from webmodel.coalition.scenario import load_scenario
    from webmodel.core.metrics import compute_metrics
    from webmodel.core.model import CoalitionModel

    kwargs = {k: _decode(v) for k, v in parameters.items()}
    if scenario_path is not None:
        kwargs["scenario"] = load_scenario(scenario_path)

    def metrics(**extra: Any) -> dict[str, float]:
        model = CoalitionModel(**kwargs, **extra, rng=int(seed))
        model.run()
        values = compute_metrics(model)
        return {m: float("nan") if values.get(m) is None else float(values[m]) for m in outcomes}

    if not paired:
        return {ema_name(k): v for k, v in metrics().items()}
    hub, web = metrics(topology=HUB), metrics(topology=WEB)
    out = {}
    for m in outcomes:
        out[f"hub_{m}"], out[f"web_{m}"] = hub[m], web[m]
        out[f"web_minus_hub_{m}"] = web[m] - hub[m]
    return out


def ema_model(experiment: Experiment | str | Path, name: str = "webmodel", seed: int | None = None):
    """An ``ema_workbench.Model`` of the experiment's factors (see the module's docstring)."""
    ema = _import_ema()
    if not isinstance(experiment, Experiment):
        experiment = load_experiment(experiment)
    from functools import partial

    topology = next((f for f in experiment.factors if f.name == "topology"), None)
    paired = topology is not None and {HUB, WEB} <= set(topology.levels or ())
    metrics = tuple(m for m in experiment.metrics if "*" not in m) or DEFAULT_OUTCOMES
    seed = experiment.root_seed if seed is None else seed
    model = ema.Model(name, function=partial(run_ema_experiment, metrics, paired, seed))
    factors = [f for f in experiment.factors if not (paired and f.name == "topology")]
    model.uncertainties = [_parameter(ema, f) for f in factors if f.role == "uncertainty"]
    model.levers = [_parameter(ema, f) for f in factors if f.role == "lever"]
    base = dict(experiment.base)
    scenario = experiment.scenario_path(experiment.scenario)
    constants = [ema.Constant(k, _encode(v)) for k, v in base.items()]
    if scenario is not None:
        constants.append(ema.Constant("scenario_path", str(scenario)))
    model.constants = constants
    names = (
        [f"{side}_{m}" for m in metrics for side in ("hub", "web", "web_minus_hub")]
        if paired
        else [ema_name(m) for m in metrics]
    )
    model.outcomes = [ema.ScalarOutcome(n, kind=_kind(ema, n)) for n in names]
    return model


def _kind(ema: Any, name: str) -> int:
    """Loss area is minimised, fill rate maximised; the rest are for information."""
    if name.endswith("loss_area"):
        return ema.ScalarOutcome.MINIMIZE
    if name.endswith("fill_rate"):
        return ema.ScalarOutcome.MAXIMIZE
    return ema.ScalarOutcome.INFO


def sweep_to_ema(results: str | Path, paired: bool | None = None):
    """A sweep's results as EMA's ``(experiments, outcomes)``; ``paired`` (default: when the
    sweep has both wirings) gives one row per web/hub pair with ``web_minus_hub_*`` outcomes."""
    import pandas as pd

    from webmodel.analysis.report.data import SweepResults

    loaded = SweepResults.load(results)
    if paired is None:
        levels = set(loaded.distinct("topology")) if "topology" in loaded.factor_names else set()
        paired = {HUB, WEB} <= levels
    frame = outcome_frame(loaded, paired=paired)
    experiments = frame.x(frame.factors)
    for name in experiments.attrs.get("integers", []):
        experiments[name] = experiments[name].astype(np.int64)
    experiments = experiments.copy()
    experiments.attrs = {}
    experiments["scenario"] = np.arange(len(experiments))
    experiments["policy"] = "sweep"
    experiments["model"] = "webmodel"
    names = json.loads(loaded.meta.get("metric_columns", "[]"))
    columns = (
        [c for c in frame.data.columns if c.startswith(("web_minus_hub.", "web.", "hub."))]
        if paired
        else [c for c in names if c in frame.data.columns]
    )
    outcomes = {ema_name(c): frame.data[c].to_numpy(dtype=float) for c in columns}
    return pd.DataFrame(experiments).reset_index(drop=True), outcomes
