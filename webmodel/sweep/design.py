"""Design points: full factorial, Latin hypercube, and Sobol' and Morris samples via SALib.

Sampled designs draw points in the unit cube and map each coordinate to a factor value (levels
equally likely, ranges uniform), so SALib's analysis can run on the unit-cube samples whatever
the factors' types. The sample's randomness comes from the experiment's root seed, on a stream
of its own (``DESIGN_STREAM``) that no run's seed can share.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from webmodel.sweep.experiment import Experiment, Factor

# Runs take streams 0, 1, 2, ... of SeedSequence(root_seed); the design takes this one.
DESIGN_STREAM = 2**32


@dataclass(frozen=True)
class DesignPoints:
    """The factor values of every design point, in design order.

    Attributes:
        points: one dict of factor -> value per point.
        unit: for sampled designs, the (points x factors) samples in [0, 1] that SALib's
            analysis needs; None for a full factorial.
    """

    points: list[dict[str, Any]]
    unit: np.ndarray | None = None

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
    """The design's samples in the unit cube (rows = points)."""
    design, factors = experiment.design, experiment.factors
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


def build_design(experiment: Experiment) -> DesignPoints:
    """Every design point of the experiment (before replicates)."""
    factors = experiment.factors
    if experiment.design.kind == "full-factorial":
        combos = itertools.product(*(f.levels or () for f in factors))
        return DesignPoints([dict(zip([f.name for f in factors], c, strict=True)) for c in combos])
    unit = unit_sample(experiment)
    columns = [f.from_unit(unit[:, j]) for j, f in enumerate(factors)]
    points = [{f.name: columns[j][i] for j, f in enumerate(factors)} for i in range(unit.shape[0])]
    return DesignPoints(points, unit)


def count_points(experiment: Experiment) -> int:
    """How many design points the experiment has, without drawing them."""
    design, d = experiment.design, len(experiment.factors)
    if design.kind == "full-factorial":
        return int(np.prod([len(f.levels or ()) for f in experiment.factors]))
    if design.kind == "latin-hypercube":
        return int(design.samples or 0)
    if design.kind == "sobol":
        return int(design.samples or 0) * ((2 * d + 2) if design.second_order else (d + 2))
    return int(design.trajectories or 0) * (d + 1)
