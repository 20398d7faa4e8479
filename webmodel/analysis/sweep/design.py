"""Design points: full factorial, Latin hypercube, and Sobol' and Morris samples via SALib.

Sampled designs draw points in the unit cube and map each coordinate to a factor value (levels
equally likely, ranges uniform), so SALib's analysis can run on the unit-cube samples whatever
the factors' types. The sample's randomness comes from the experiment's root seed, on a stream
of its own (``DESIGN_STREAM``) that no run's seed can share.

A sampled design may cross some factors (``[design] crossed``): those are not sampled; each
sampled point is run at every combination of their levels. Design point ``p`` is then sample
``p // C`` at combination ``p % C`` (``C`` combinations, first crossed factor slowest), so the
report can pair the levels of a crossed factor at the same sampled values.
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from webmodel.analysis.sweep.experiment import Experiment, Factor

# Runs take streams 0, 1, 2, ... of SeedSequence(root_seed); the design takes this one.
DESIGN_STREAM = 2**32


@dataclass(frozen=True)
class DesignPoints:
    """The factor values of every design point, in design order.

    Attributes:
        points: one dict of factor -> value per point.
        unit: for sampled designs, the (points x sampled factors) samples in [0, 1] that
            SALib's analysis needs, repeated at each crossed combination; None for a full
            factorial.
        sample: for sampled designs, the index of each point's sample (0, 1, ...); equal to
            the point unless factors are crossed.
        sampled: the names of the columns of ``unit``.
    """

    points: list[dict[str, Any]]
    unit: np.ndarray | None = None
    sample: np.ndarray | None = None
    sampled: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.points)


def design_seed(root_seed: int) -> int:
    """The seed of the design sample: a stream of the root seed no run uses."""
    sequence = np.random.SeedSequence(root_seed, spawn_key=(DESIGN_STREAM,))
    return int(sequence.generate_state(1, dtype=np.uint32)[0])


def salib_problem(factors: tuple[Factor, ...]) -> dict[str, Any]:
    """The SALib problem: every factor on [0, 1] (values are mapped afterwards)."""
    return {
        "num_vars": len(factors),
        "names": [f.name for f in factors],
        "bounds": [[0.0, 1.0]] * len(factors),
    }


def unit_sample(experiment: Experiment) -> np.ndarray:
    """The design's samples in the unit cube (rows = samples, columns = sampled factors)."""
    design, factors = experiment.design, experiment.sampled_factors
    seed = design_seed(experiment.root_seed)
    if design.kind == "latin-hypercube":
        from scipy.stats import qmc

        sampler = qmc.LatinHypercube(d=len(factors), rng=np.random.default_rng(seed))
        return sampler.random(design.samples)
    problem = salib_problem(factors)
    if design.kind == "sobol":
        from SALib.sample import sobol

        with warnings.catch_warnings():
            # SALib warns when samples is not a power of 2; the user chose it, and the
            # sample is still valid (its convergence is merely less good).
            warnings.simplefilter("ignore", UserWarning)
            return sobol.sample(
                problem, design.samples, calc_second_order=design.second_order, seed=seed
            )
    if design.kind == "morris":
        from SALib.sample import morris

        return morris.sample(problem, design.trajectories, num_levels=design.levels, seed=seed)
    raise ValueError(f"not a sampled design: {design.kind}")


def crossed_combinations(experiment: Experiment) -> list[dict[str, Any]]:
    """Every combination of the crossed factors' levels, first factor slowest ([{}] if none)."""
    crossed = experiment.crossed_factors
    combos = itertools.product(*(f.levels or () for f in crossed))
    return [dict(zip([f.name for f in crossed], c, strict=True)) for c in combos]


def build_design(experiment: Experiment) -> DesignPoints:
    """Every design point of the experiment (before replicates)."""
    factors = experiment.factors
    if experiment.design.kind == "full-factorial":
        combos = itertools.product(*(f.levels or () for f in factors))
        return DesignPoints([dict(zip([f.name for f in factors], c, strict=True)) for c in combos])
    sampled = experiment.sampled_factors
    drawn = unit_sample(experiment)
    columns = [f.from_unit(drawn[:, j]) for j, f in enumerate(sampled)]
    crossed = crossed_combinations(experiment)
    points = []
    for i in range(drawn.shape[0]):  # sample slowest, crossed combinations fastest
        values = {f.name: columns[j][i] for j, f in enumerate(sampled)}
        for combo in crossed:
            point = {**values, **combo}
            points.append({f.name: point[f.name] for f in factors})  # the file's factor order
    sample = np.repeat(np.arange(drawn.shape[0], dtype=np.int64), len(crossed))
    return DesignPoints(points, drawn[sample], sample, tuple(f.name for f in sampled))


def count_samples(experiment: Experiment) -> int:
    """How many points the sampler draws (before crossing), without drawing them (exact
    Python integers: a product of many levels must not wrap around as int64 would)."""
    design, d = experiment.design, len(experiment.sampled_factors)
    if design.kind == "full-factorial":
        return math.prod(len(f.levels or ()) for f in experiment.factors)
    if design.kind == "latin-hypercube":
        return int(design.samples or 0)
    if design.kind == "sobol":
        return int(design.samples or 0) * ((2 * d + 2) if design.second_order else (d + 2))
    return int(design.trajectories or 0) * (d + 1)


def count_points(experiment: Experiment) -> int:
    """How many design points the experiment has: samples x crossed combinations."""
    if experiment.design.kind == "full-factorial":
        return count_samples(experiment)
    crossed = [len(f.levels or ()) for f in experiment.crossed_factors]
    return count_samples(experiment) * math.prod(crossed)
