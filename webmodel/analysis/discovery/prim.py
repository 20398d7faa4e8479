"""PRIM boxes over an outcome frame, through EMA Workbench, as plain numbers and limits.

The box chosen on each peeling trajectory is the densest one with at least ``min_coverage`` of
the cases of interest, at most ``max_dims`` restricted factors and every limit's quasi-p-value
at most ``max_p`` (Bryant & Lempert 2010's reading of a trajectory, made a rule so that a
script gets the same box every time); if no step qualifies, the step with the largest
coverage x density. Further boxes are sought among the runs outside the boxes found, while a
box is at least twice as dense as the cases of interest are overall.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from webmodel.analysis.discovery.frame import (
    DiscoveryError,
    OutcomeFrame,
    evaluate,
    needs_pairs,
    outcome_frame,
)
from webmodel.analysis.report.data import SweepResults

PEEL_ALPHA = 0.05
MASS_MIN = 0.05
MIN_COVERAGE = 0.5
MAX_DIMS = 3
MAX_P = 0.05


@dataclass(frozen=True)
class Limit:
    """One restricted factor of a box: a range (numbers) or the kept levels (categories).

    ``p_low``/``p_high`` are the quasi-p-values of the lower and upper limit (the one-sided
    binomial test of Bryant & Lempert 2010: how likely the box's density is if that limit
    were dropped); None where that side is not restricted.
    """

    factor: str
    role: str
    low: float | None = None
    high: float | None = None
    levels: tuple[str, ...] = ()
    p_low: float | None = None
    p_high: float | None = None
    full_low: float | None = None
    full_high: float | None = None
    all_levels: tuple[str, ...] = ()

    @property
    def categorical(self) -> bool:
        return bool(self.all_levels)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"factor": self.factor, "role": self.role}
        if self.categorical:
            out.update(levels=list(self.levels), all_levels=list(self.all_levels))
            out["quasi_p"] = self.p_low
        else:
            out.update(low=self.low, high=self.high, full_low=self.full_low)
            out.update(full_high=self.full_high, quasi_p_low=self.p_low)
            out["quasi_p_high"] = self.p_high
        return out


@dataclass(frozen=True)
class Box:
    """A chosen box: its limits and statistics, and the peeling trajectory it was chosen on."""

    index: int  # which box (0 first)
    step: int  # where on its trajectory
    coverage: float
    density: float
    mass: float
    n: int
    cases: int
    limits: tuple[Limit, ...]
    trajectory: pd.DataFrame  # id, coverage, density, mass, res_dim, n, k per step

    def as_dict(self) -> dict[str, Any]:
        return {
            "box": self.index + 1,
            "step": self.step,
            "coverage": self.coverage,
            "density": self.density,
            "mass": self.mass,
            "runs": self.n,
            "cases": self.cases,
            "limits": [limit.as_dict() for limit in self.limits],
            "trajectory": self.trajectory.to_dict(orient="records"),
        }


@dataclass
class Discovery:
    """What PRIM found for one condition over one sweep."""

    source: str
    where: str
    paired: bool
    rows: int
    cases: int
    dropped: int
    factors: list[str]
    roles: dict[str, str]
    boxes: list[Box] = field(default_factory=list)
    settings: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def share(self) -> float:
        return self.cases / self.rows if self.rows else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "where": self.where,
            "unit": "web/hub pair" if self.paired else "run",
            "rows": self.rows,
            "cases_of_interest": self.cases,
            "share": self.share,
            "rows_dropped_for_missing_values": self.dropped,
            "factors": [{"name": f, "role": self.roles.get(f, "")} for f in self.factors],
            "settings": self.settings,
            "boxes": [box.as_dict() for box in self.boxes],
            "method": "PRIM (Friedman & Fisher 1999) via EMA Workbench's prim.Prim, "
            "lenient1 objective; quasi-p-values after Bryant & Lempert (2010)",
        }


def _prim_module() -> Any:
    """EMA Workbench's prim, imported late and quietly (it warns of optional extras)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import prim
    logging.getLogger("EMA").setLevel(logging.WARNING)
    return prim


def _qp(values: list[float], side: int) -> float | None:
    p = float(values[side])
    return None if p < 0 else p


def _limits(box: Any, step: int, x: pd.DataFrame, roles: dict[str, str]) -> tuple[Limit, ...]:
    """The restricted factors of a trajectory step, with their quasi-p-values."""
    lims, init = box.box_lims[step], box.prim.box_init
    p_values = box.p_values[step]
    out = []
    for name in x.columns:
        if name not in lims or lims[name].equals(init[name]):
            continue
        p = p_values.get(name, [-1, -1])
        role = roles.get(name, "")
        if pd.api.types.is_numeric_dtype(x[name]):
            low, high = float(lims[name][0]), float(lims[name][1])
            if name in x.attrs.get("integers", ()):
                low, high = float(math.ceil(low - 1e-9)), float(math.floor(high + 1e-9))
            out.append(
                Limit(
                    name,
                    role,
                    low=low,
                    high=high,
                    p_low=_qp(p, 0),
                    p_high=_qp(p, 1),
                    full_low=float(init[name][0]),
                    full_high=float(init[name][1]),
                )
            )
        else:
            kept, every = set(lims[name][0]), set(init[name][0])
            if kept == every:
                continue
            out.append(
                Limit(
                    name,
                    role,
                    levels=tuple(sorted(kept)),
                    all_levels=tuple(sorted(every)),
                    p_low=_qp(p, 0),
                )
            )
    return tuple(out)


def _choose(box: Any, x: pd.DataFrame, roles, min_coverage, max_dims, max_p) -> int:
    """The step on the trajectory (see the module's docstring for the rule)."""
    trajectory = box.peeling_trajectory
    best, best_density = None, -1.0
    for step in range(len(trajectory)):
        row = trajectory.iloc[step]
        if row["coverage"] < min_coverage or row["res_dim"] > max_dims or row["res_dim"] == 0:
            continue
        limits = _limits(box, step, x, roles)
        ps = [p for limit in limits for p in (limit.p_low, limit.p_high) if p is not None]
        if ps and max(ps) > max_p:
            continue
        if row["density"] > best_density:
            best, best_density = step, float(row["density"])
    if best is None:
        score = (trajectory["coverage"] * trajectory["density"]).to_numpy(dtype=float)
        best = int(np.argmax(score))
    return best


def discover(
    results: SweepResults | str,
    where: str,
    factors: list[str] | None = None,
    boxes: int = 2,
    min_coverage: float = MIN_COVERAGE,
    max_dims: int = MAX_DIMS,
    max_p: float = MAX_P,
    peel_alpha: float = PEEL_ALPHA,
    mass_min: float = MASS_MIN,
    frame: OutcomeFrame | None = None,
) -> Discovery:
    """PRIM boxes for the runs (or web/hub pairs) where ``where`` holds.

    Raises:
        DiscoveryError: a bad condition or factor name, or no case (or only cases) of interest.
    """
    started = time.perf_counter()
    if frame is None:
        frame = outcome_frame(results, paired=needs_pairs(where))
    y, known = evaluate(where, frame.data)
    names = factors or frame.factors
    unknown = [n for n in names if n not in frame.data.columns]
    if unknown:
        raise DiscoveryError(
            f"--factors: {unknown[0]!r} is not a factor of {frame.source}; factors: "
            + ", ".join(frame.factors)
        )
    if not names:
        raise DiscoveryError(f"{frame.source}: no factor varies, so there is nothing to search")
    full = frame.x(names)
    x = full[known].reset_index(drop=True)
    x.attrs["integers"] = list(full.attrs["integers"])
    y = y[known].astype(int)
    found = Discovery(
        frame.source, where, frame.paired, len(y), int(y.sum()), int((~known).sum()),
        list(names), frame.roles,
        settings={"peel_alpha": peel_alpha, "mass_min": mass_min, "min_coverage": min_coverage,
                  "max_dims": max_dims, "max_p": max_p, "boxes": boxes},
    )  # fmt: skip
    if found.cases == 0 or found.cases == len(y):
        raise DiscoveryError(
            f"--where: {where!r} holds in {found.cases} of {len(y)} "
            f"{'pairs' if frame.paired else 'runs'}; PRIM needs some rows where it holds and "
            "some where it does not"
        )
    prim = _prim_module()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # EMA Workbench 3.0 on pandas 3: deprecations only
        search = prim.Prim(x, y, peel_alpha=peel_alpha, mass_min=mass_min)
    base_rate = found.share
    for index in range(boxes):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            box = search.find_box()
        if box is None:
            break
        step = _choose(box, x, frame.roles, min_coverage if index == 0 else 0.0, max_dims, max_p)
        box.select(step)
        row = box.peeling_trajectory.iloc[step]
        if index > 0 and float(row["density"]) < 2 * base_rate:
            break
        trajectory = box.peeling_trajectory[["id", "coverage", "density", "mass", "res_dim"]]
        trajectory = trajectory.assign(n=box.peeling_trajectory["n"], k=box.peeling_trajectory["k"])
        found.boxes.append(
            Box(
                index,
                step,
                float(row["coverage"]),
                float(row["density"]),
                float(row["mass"]),
                int(row["n"]),
                int(row["k"]),
                _limits(box, step, x, frame.roles),
                trajectory.astype(float).astype({"id": int, "n": int, "k": int, "res_dim": int}),
            )
        )
    found.seconds = time.perf_counter() - started
    return found
