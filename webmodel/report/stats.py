"""The numbers in a report: means with 95% intervals, paired differences, sensitivity indices.

Intervals are Student-t intervals of the mean (of runs, or of paired differences): with runs
from independent seeds that is the honest interval for a mean over the model's randomness.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import stdtrit

from webmodel.report.data import Grouping, SweepResults

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Estimate:
    """A mean, its 95% interval (None with fewer than two values) and the count behind it."""

    mean: float
    low: float | None
    high: float | None
    n: int

    @classmethod
    def of(cls, values: np.ndarray) -> Estimate | None:
        values = np.asarray(values, dtype=float)
        values = values[~np.isnan(values)]
        n = len(values)
        if n == 0:
            return None
        mean = float(values.mean())
        if n < 2:
            return cls(mean, None, None, n)
        half = stdtrit(n - 1, 0.5 + CONFIDENCE / 2) * values.std(ddof=1) / np.sqrt(n)
        return cls(mean, mean - float(half), mean + float(half), n)


def by_group(values: np.ndarray, grouping: Grouping, ok: np.ndarray) -> list[Estimate | None]:
    """The estimate of ``values`` in each group, over successful runs."""
    return [Estimate.of(values[(grouping.index == g) & ok]) for g in range(len(grouping))]


@dataclass(frozen=True)
class PairedDifference:
    """metric(level) - metric(reference) over runs that differ only in the paired factor."""

    level: str
    reference: str
    metric: str
    estimate: Estimate | None
    share_positive: float | None
    share_negative: float | None


def pair_index(
    results: SweepResults, factor: str, level: str, reference: str, within: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (into runs) of matched pairs: same seed and same values of every other factor."""
    grouping = results.grouping(factor)
    others = [f for f in results.factor_names if f != factor]
    keys = [results.runs.column(name).to_pylist() for name in ["seed", *others]]
    ok = results.ok if within is None else results.ok & within
    where = {label: i for i, label in enumerate(grouping.labels)}
    ref_rows: dict[tuple, int] = {}
    for row in np.flatnonzero(ok & (grouping.index == where[reference])):
        ref_rows[tuple(repr(k[row]) for k in keys)] = int(row)
    a, b = [], []
    for row in np.flatnonzero(ok & (grouping.index == where[level])):
        match = ref_rows.get(tuple(repr(k[row]) for k in keys))
        if match is not None:
            a.append(int(row))
            b.append(match)
    return np.array(a, dtype=int), np.array(b, dtype=int)


def paired_differences(
    results: SweepResults,
    factor: str,
    metrics: list[str],
    reference: str,
    within: np.ndarray | None = None,
) -> list[PairedDifference]:
    """Every level against the reference, for every metric, on common seeds."""
    grouping = results.grouping(factor)
    out = []
    for level in grouping.labels:
        if level == reference:
            continue
        rows, ref_rows = pair_index(results, factor, level, reference, within)
        for metric in metrics:
            column = results.column(metric)
            diff = column[rows] - column[ref_rows] if len(rows) else np.zeros(0)
            diff = diff[~np.isnan(diff)]
            # Differences within rounding of zero are ties, not wins.
            tolerance = 1e-9 * max(1.0, float(np.nanmax(np.abs(column))) if len(column) else 1.0)
            up = float(np.mean(diff > tolerance)) if len(diff) else None
            down = float(np.mean(diff < -tolerance)) if len(diff) else None
            out.append(PairedDifference(level, reference, metric, Estimate.of(diff), up, down))
    return out


def replicate_means(results: SweepResults, metric: str) -> np.ndarray | None:
    """The metric averaged over replicates at each design point (None if any point has none)."""
    points = results.column("point").astype(int)
    values = np.where(results.ok, results.column(metric), np.nan)
    n_points = int(results.meta.get("n_runs", len(points))) // max(
        1, int(results.meta.get("replicates", 1))
    )
    sums = np.bincount(points, np.nan_to_num(values), minlength=n_points)
    counts = np.bincount(points, ~np.isnan(values), minlength=n_points)
    if (counts == 0).any():
        return None
    return sums / counts


def sensitivity(results: SweepResults, metrics: list[str]) -> list[dict[str, Any]]:
    """Sobol' (S1, ST) or Morris (mu*, sigma) indices per metric and factor, via SALib."""
    kind = results.design_kind
    if kind not in ("sobol", "morris") or results.design is None:
        return []
    names = results.factor_names
    problem = {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}
    unit = np.column_stack([results.design.column(f"unit.{n}").to_numpy() for n in names])
    design = results.meta_json("design", {})
    rows = []
    for metric in metrics:
        y = replicate_means(results, metric)
        if y is None or len(y) != len(unit) or np.ptp(y) == 0:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if kind == "sobol":
                from SALib.analyze import sobol

                indices = sobol.analyze(
                    problem, y, calc_second_order=bool(design.get("second_order")), seed=1
                )
                for j, name in enumerate(names):
                    rows.append(
                        {
                            "metric": metric,
                            "factor": name,
                            "S1": float(indices["S1"][j]),
                            "S1_conf": float(indices["S1_conf"][j]),
                            "ST": float(indices["ST"][j]),
                            "ST_conf": float(indices["ST_conf"][j]),
                        }
                    )
            else:
                from SALib.analyze import morris

                indices = morris.analyze(
                    problem, unit, y, num_levels=int(design.get("levels", 4)), seed=1
                )
                for j, name in enumerate(names):
                    rows.append(
                        {
                            "metric": metric,
                            "factor": name,
                            "mu_star": float(indices["mu_star"][j]),
                            "mu_star_conf": float(indices["mu_star_conf"][j]),
                            "sigma": float(indices["sigma"][j]),
                        }
                    )
    return rows


def rank_correlations(results: SweepResults, metrics: list[str]) -> list[dict[str, Any]]:
    """Spearman's rank correlation of each numeric factor with each metric (sampled designs)."""
    from scipy import stats

    rows = []
    for factor in results.factors:
        if "min" not in factor:
            continue
        x = results.column(factor["name"])
        for metric in metrics:
            y = results.column(metric)
            keep = results.ok & ~np.isnan(x) & ~np.isnan(y)
            if keep.sum() < 3 or np.ptp(y[keep]) == 0:
                continue
            rho, p = stats.spearmanr(x[keep], y[keep])
            rows.append({"metric": metric, "factor": factor["name"], "rho": rho, "p": p})
    return rows


def series_bands(
    run_id: np.ndarray, step: np.ndarray, value: np.ndarray, group_of_run: np.ndarray, groups: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per group and step: mean and 95% interval of the mean over runs.

    Returns (steps, mean, low, high), the last three shaped (groups, steps); NaN where a group
    has no run at a step.
    """
    steps = np.unique(step)
    position = np.searchsorted(steps, step)
    group = group_of_run[run_id]
    keep = group >= 0
    key = group[keep] * len(steps) + position[keep]
    size = groups * len(steps)
    v = value[keep]
    n = np.bincount(key, minlength=size).astype(float)
    total = np.bincount(key, v, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / n
        squares = np.bincount(key, (v - mean[key]) ** 2, minlength=size)
        sd = np.sqrt(squares / (n - 1))
        t = stdtrit(np.maximum(n - 1, 1), 0.5 + CONFIDENCE / 2)
        half = np.where(n > 1, t * sd / np.sqrt(n), 0.0)
    shape = (groups, len(steps))
    mean = mean.reshape(shape)
    half = half.reshape(shape)
    return steps, mean, mean - half, mean + half
