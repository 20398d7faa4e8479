"""The numbers in a report: means with 95% intervals, paired differences, sensitivity indices.

For a sampled design with a crossed factor (``[design] crossed = ["topology"]``), the paired
difference between its levels at each sample — the web's advantage over hub-and-spokes at the
same parameter values and seeds — gets its own sensitivity indices (:func:`crossed_differences`,
:func:`sensitivity_of_difference`).

Intervals are Student-t intervals of the mean (of runs, or of paired differences): with runs
from independent seeds that is the honest interval for a mean over the model's randomness.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import stdtrit

from webmodel.analysis.report.data import Grouping, SweepResults

CONFIDENCE = 0.95
REFERENCE_TOPOLOGY = "hub-and-spokes"  # what paired differences of topologies are taken against


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
    """metric(level) - metric(reference) over runs that differ only in the paired factor.

    A pair counts where both of its runs have a value; ``at_level`` and ``at_reference`` are
    the metric over those same pairs, and the shares count the pairs in which the level is
    above or below the reference by more than rounding (None without pairs).
    """

    level: str
    reference: str
    metric: str
    difference: Estimate | None
    share_positive: float | None
    share_negative: float | None
    at_level: Estimate | None
    at_reference: Estimate | None

    @property
    def significant(self) -> bool:
        """The 95% interval of the difference excludes zero."""
        d = self.difference
        return d is not None and d.low is not None and (d.low > 0 or d.high < 0)


def pair_index(
    results: SweepResults, factor: str, level: str, reference: str, within: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (into runs) of matched pairs: same seed and same values of every other factor.

    Returns (rows at ``level``, their partners at ``reference``).
    """
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


def _difference(
    column: np.ndarray, rows: np.ndarray, ref_rows: np.ndarray, level: str, reference: str, metric
) -> PairedDifference:
    """The paired difference of one metric's ``column`` over pairs (rows, ref_rows)."""
    at_level, at_reference = column[rows], column[ref_rows]
    keep = ~np.isnan(at_level) & ~np.isnan(at_reference)
    at_level, at_reference = at_level[keep], at_reference[keep]
    diff = at_level - at_reference
    # Differences within rounding of zero are ties, not wins.
    tolerance = 1e-9 * max(1.0, float(np.abs(column[~np.isnan(column)]).max(initial=0.0)))
    up = float((diff > tolerance).sum() / len(diff)) if len(diff) else None
    down = float((diff < -tolerance).sum() / len(diff)) if len(diff) else None
    return PairedDifference(
        level,
        reference,
        metric,
        Estimate.of(diff),
        up,
        down,
        Estimate.of(at_level),
        Estimate.of(at_reference),
    )


def paired_difference(
    results: SweepResults,
    factor: str,
    level: str,
    reference: str,
    metric: str,
    within: np.ndarray | None = None,
) -> PairedDifference:
    """metric at ``factor = level`` minus at ``factor = reference``, on common seeds, over the
    successful runs in ``within``."""
    rows, ref_rows = pair_index(results, factor, level, reference, within)
    return _difference(results.column(metric), rows, ref_rows, level, reference, metric)


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
            out.append(_difference(column, rows, ref_rows, level, reference, metric))
    return out


@dataclass(frozen=True)
class SampleLayout:
    """How a sampled design's runs sit on its samples: sample x crossed combination x replicate.

    Design point ``p`` is sample ``p // n_combos`` at crossed combination ``p % n_combos``
    (webmodel.analysis.sweep.design); without crossed factors there is one combination.
    """

    sampled: list[str]  # the sampled factors: the columns of ``unit``
    crossed: list[str]  # the crossed factors, slowest first
    labels: dict[str, list[str]]  # each crossed factor's level labels, in design order
    unit: np.ndarray  # (samples x sampled factors), in [0, 1]
    n_combos: int
    replicates: int

    @property
    def n_samples(self) -> int:
        return self.unit.shape[0]

    def combos(self) -> list[tuple[int, ...]]:
        """Each combination as level indices of the crossed factors, in design order."""
        return list(itertools.product(*(range(len(self.labels[f])) for f in self.crossed)))

    def combo_label(self, combo: tuple[int, ...]) -> str:
        return ", ".join(
            f"{f} = {self.labels[f][i]}" for f, i in zip(self.crossed, combo, strict=True)
        )


def crossed_factors(results: SweepResults) -> list[str]:
    """The factors a sampled design crossed with its samples (``[design] crossed``)."""
    return list(results.meta_json("design", {}).get("crossed", []))


def sample_layout(results: SweepResults) -> SampleLayout | None:
    """The layout of a sampled design's runs, or None without a design table to say it."""
    if results.design_kind == "full-factorial" or results.design is None:
        return None
    crossed = crossed_factors(results)
    sampled = [n for n in results.factor_names if n not in crossed]
    labels = {f: results.grouping(f).labels for f in crossed}
    n_combos = int(np.prod([len(labels[f]) for f in crossed]))
    design = results.design
    if not sampled or any(f"unit.{n}" not in design.column_names for n in sampled):
        return None
    points = design.column("point").to_numpy()
    order = np.argsort(points)
    first = order[points[order] % n_combos == 0]  # one row per sample, in sample order
    unit = np.column_stack([design.column(f"unit.{n}").to_numpy()[first] for n in sampled])
    replicates = max(1, int(results.meta.get("replicates", 1)))
    return SampleLayout(sampled, crossed, labels, unit, n_combos, replicates)


def sample_values(results: SweepResults, metric: str, layout: SampleLayout) -> np.ndarray:
    """The metric as (samples x crossed combinations x replicates); NaN for a failed or
    missing run, or a metric with no value."""
    out = np.full((layout.n_samples, layout.n_combos, layout.replicates), np.nan)
    points = results.column("point").astype(int)
    replicate = results.column("replicate").astype(int)
    values = np.where(results.ok, results.column(metric), np.nan)
    sample, combo = np.divmod(points, layout.n_combos)
    inside = (sample < layout.n_samples) & (replicate < layout.replicates)
    out[sample[inside], combo[inside], replicate[inside]] = values[inside]
    return out


def difference_levels(results: SweepResults, factor: str) -> list[tuple[str, str]]:
    """The (level, reference) differences the report takes for a crossed factor: each
    topology against hub-and-spokes; for any other factor, its last level against its first."""
    labels = results.grouping(factor).labels
    if len(labels) < 2:
        return []
    if factor == "topology" and REFERENCE_TOPOLOGY in labels:
        return [(level, REFERENCE_TOPOLOGY) for level in labels if level != REFERENCE_TOPOLOGY]
    return [(labels[-1], labels[0])]


def _levels(
    layout: SampleLayout, factor: str, reference: str | None, other: str | None
) -> tuple[int, int]:
    if factor not in layout.crossed:
        crossed = ", ".join(layout.crossed) or "none"
        raise ValueError(f"{factor!r} is not a crossed factor of this design (crossed: {crossed})")
    labels = layout.labels[factor]
    if reference is None:
        reference = (
            REFERENCE_TOPOLOGY
            if factor == "topology" and REFERENCE_TOPOLOGY in labels
            else labels[0]
        )
    if other is None:
        other = next((x for x in reversed(labels) if x != reference), reference)
    for level in (reference, other):
        if level not in labels:
            raise ValueError(f"{factor}: no level {level!r} (levels: {', '.join(labels)})")
    return labels.index(other), labels.index(reference)


def crossed_differences(
    results: SweepResults,
    metric: str,
    factor: str = "topology",
    reference: str | None = None,
    other: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The paired difference metric(other) - metric(reference) at each sample.

    Pairs share the sample (so every sampled value), the replicate (so, with common seeds, the
    seed) and the levels of any other crossed factor; each sample's difference is the mean of
    its pairs (over replicates and the other crossed factors' levels), NaN if it has none.
    ``reference`` defaults to hub-and-spokes for topology, else the first level; ``other`` to
    the last level that is not the reference.

    Returns (unit samples, samples x sampled factors; difference per sample).
    """
    layout = sample_layout(results)
    if layout is None or not layout.crossed:
        raise ValueError("the sweep's design crosses no factor ([design] crossed)")
    a, b = _levels(layout, factor, reference, other)
    values = sample_values(results, metric, layout)
    position = layout.crossed.index(factor)
    combos = layout.combos()
    index = {c: k for k, c in enumerate(combos)}
    at_other = [k for k, c in enumerate(combos) if c[position] == a]
    partner = [index[(*combos[k][:position], b, *combos[k][position + 1 :])] for k in at_other]
    pairs = values[:, at_other, :] - values[:, partner, :]
    pairs = pairs.reshape(layout.n_samples, -1)
    counts = (~np.isnan(pairs)).sum(axis=1)
    sums = np.nansum(pairs, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        difference = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return layout.unit, difference


def _indices(
    kind: str, names: list[str], unit: np.ndarray, y: np.ndarray, design: dict[str, Any]
) -> list[dict[str, Any]]:
    """SALib's Sobol' (S1, ST) or Morris (mu*, sigma) indices of y over the unit samples, one
    row per factor; none if y has a gap or does not vary (SALib needs every sample)."""
    if kind not in ("sobol", "morris") or len(y) != len(unit):
        return []
    if np.isnan(y).any() or np.ptp(y) == 0:
        return []
    problem = {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind == "sobol":
            from SALib.analyze import sobol

            indices = sobol.analyze(
                problem, y, calc_second_order=bool(design.get("second_order")), seed=1
            )
            keys = ("S1", "S1_conf", "ST", "ST_conf")
        else:
            from SALib.analyze import morris

            indices = morris.analyze(
                problem, unit, y, num_levels=int(design.get("levels", 4)), seed=1
            )
            keys = ("mu_star", "mu_star_conf", "sigma")
    return [
        {"factor": name, **{key: float(indices[key][j]) for key in keys}}
        for j, name in enumerate(names)
    ]


def sensitivity(results: SweepResults, metrics: list[str]) -> list[dict[str, Any]]:
    """Sobol' (S1, ST) or Morris (mu*, sigma) indices per metric and sampled factor, via SALib,
    on the mean over replicates at each sample. With crossed factors, one set per combination
    of their levels, labelled in ``at`` (e.g. "topology = production-web")."""
    layout = sample_layout(results)
    if results.design_kind not in ("sobol", "morris") or layout is None:
        return []
    design = results.meta_json("design", {})
    rows = []
    for metric in metrics:
        values = sample_values(results, metric, layout)
        for k, combo in enumerate(layout.combos()):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # a sample with no run: NaN
                y = np.nanmean(values[:, k, :], axis=1)
            at = {"at": layout.combo_label(combo)} if layout.crossed else {}
            for row in _indices(results.design_kind, layout.sampled, layout.unit, y, design):
                rows.append({"metric": metric, **at, **row})
    return rows


def sensitivity_of_difference(
    results: SweepResults,
    metric: str,
    factor: str = "topology",
    reference: str | None = None,
    other: str | None = None,
) -> list[dict[str, Any]]:
    """Sobol' or Morris indices of the paired difference (see :func:`crossed_differences`),
    one row per sampled factor: which factors decide how much better one level does.

    Rows: metric, factor, crossed, level, reference, and S1, S1_conf, ST, ST_conf (Sobol') or
    mu_star, mu_star_conf, sigma (Morris); none for a Latin hypercube, or if a sample has no
    pair or the difference never varies.
    """
    layout = sample_layout(results)
    if layout is None:
        return []
    unit, difference = crossed_differences(results, metric, factor, reference, other)
    a, b = _levels(layout, factor, reference, other)
    labels = layout.labels[factor]
    design = results.meta_json("design", {})
    where = {"crossed": factor, "level": labels[a], "reference": labels[b]}
    return [
        {"metric": metric, **row, **where}
        for row in _indices(results.design_kind, layout.sampled, unit, difference, design)
    ]


def difference_rank_correlations(
    results: SweepResults,
    metric: str,
    factor: str = "topology",
    reference: str | None = None,
    other: str | None = None,
) -> list[dict[str, Any]]:
    """Spearman's rho (and p) of each sampled factor with the paired difference, over samples
    (a factor given as levels is ranked by its level's position)."""
    from scipy import stats

    layout = sample_layout(results)
    if layout is None:
        return []
    unit, difference = crossed_differences(results, metric, factor, reference, other)
    specs = {f["name"]: f for f in results.factors}
    keep = ~np.isnan(difference)
    rows = []
    for j, name in enumerate(layout.sampled):
        x = unit[:, j]
        levels = specs.get(name, {}).get("levels")
        if levels:
            x = np.minimum(np.floor(x * len(levels)), len(levels) - 1)
        if keep.sum() < 3 or np.ptp(difference[keep]) == 0 or np.ptp(x[keep]) == 0:
            continue
        rho, p = stats.spearmanr(x[keep], difference[keep])
        rows.append({"metric": metric, "factor": name, "rho": float(rho), "p": float(p)})
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
