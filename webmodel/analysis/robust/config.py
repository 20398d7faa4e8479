"""The ``[robust]`` table of an experiment file: the search's size and what it measures.

The experiment's factors say what is searched: levers (L) are the decision variables,
uncertainties (X) are sampled into the futures (``[design] samples`` of them, by Latin
hypercube), and ``topology``'s levels are the wirings, each searched on its own.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace

from webmodel.analysis.sweep.experiment import Experiment, ExperimentError, suggest

ROBUST_FIELDS = ("generations", "population", "outcome", "quantile", "within")
MAX_GENERATIONS = 1000
MAX_POPULATION = 1000


@dataclass(frozen=True)
class RobustSettings:
    """How big the search is and what it minimises (besides cost)."""

    generations: int = 6
    population: int = 16
    outcome: str = "loss_area"  # a run metric; smaller is better
    quantile: float = 0.9  # the robustness measure: this quantile of the outcome over futures
    within: float = 0.10  # "within 10 % of the best robustness" in the summary


def robust_settings(experiment: Experiment, **overrides: int | None) -> RobustSettings:
    """The experiment file's ``[robust]`` table (and command-line overrides), checked.

    Raises:
        ExperimentError: naming each wrong field.
    """
    raw = tomllib.loads(experiment.text).get("robust", {}) if experiment.text else {}
    problems: list[str] = []
    if not isinstance(raw, dict):
        raise ExperimentError(["robust: must be a table"], f"experiment file {experiment.path}")
    for key in raw:
        if key not in ROBUST_FIELDS:
            problems.append(
                f"robust.{key}: unknown field{suggest(key, ROBUST_FIELDS)}; known: "
                + ", ".join(ROBUST_FIELDS)
            )
    settings = RobustSettings()
    values = {k: v for k, v in raw.items() if k in ROBUST_FIELDS}
    values |= {k: v for k, v in overrides.items() if v is not None}
    for key, most in (("generations", MAX_GENERATIONS), ("population", MAX_POPULATION)):
        value = values.get(key, getattr(settings, key))
        if not isinstance(value, int) or isinstance(value, bool) or not 2 <= value <= most:
            problems.append(f"robust.{key}: must be an integer in [2, {most}], got {value!r}")
    outcome = values.get("outcome", settings.outcome)
    if not isinstance(outcome, str) or (
        outcome not in experiment.metrics and ("*" not in experiment.metrics)
    ):
        problems.append(
            f"robust.outcome: must be one of the kept metrics ({', '.join(experiment.metrics)}), "
            f"got {outcome!r}"
        )
    for key in ("quantile", "within"):
        value = values.get(key, getattr(settings, key))
        if not isinstance(value, int | float) or isinstance(value, bool) or not 0 < value <= 1:
            problems.append(f"robust.{key}: must be a number in (0, 1], got {value!r}")
    if experiment.design.kind != "latin-hypercube":
        problems.append(
            "design.kind: the futures are a latin-hypercube sample of the uncertainties; "
            f'set kind = "latin-hypercube" and samples = <futures>, got {experiment.design.kind!r}'
        )
    if not experiment.levers or all(f.name == "topology" for f in experiment.levers):
        problems.append("factors: no lever to search (give levers besides topology as factors)")
    if not experiment.uncertainties:
        problems.append("factors: no uncertainty to sample futures from")
    topology = next((f for f in experiment.factors if f.name == "topology"), None)
    if topology is not None and topology.is_range:
        problems.append("factors.topology: the wirings must be a list of levels")
    if problems:
        raise ExperimentError(problems, f"experiment file {experiment.path}")
    return replace(settings, **values)
