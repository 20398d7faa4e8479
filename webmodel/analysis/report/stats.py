"""The numbers in a report: estimates with 95% intervals, paired differences with effect sizes
and false-discovery control, sensitivity indices.

How runs are pooled depends on the metric (``summary`` in :data:`webmodel.core.labels.
METRIC_WORDS`, declared once beside its bounds):

- "mean": the mean with its Student t interval; where that interval would cross one of the
  metric's bounds (a mean near 0 weeks, say), the BCa bootstrap interval instead;
- "bootstrap" (bounded or skewed: fill rate, worst week, shares): the mean with a BCa bootstrap
  interval (``scipy.stats.bootstrap``, fixed random state), which stays within the values
  observed and so within the bounds;
- "median" (times to reach a level, absent where never reached, often two modes): the share
  of runs that reach it and, among those, the median (an observed value) with a percentile
  bootstrap interval and the quartiles — never a mean that averages 8 and 40 weeks into 24.

Paired differences (level − reference on the same seed and every other factor's level) carry
effect sizes — mean difference, relative difference, Cohen's d_z (mean over the standard
deviation of the differences; Hedges' g_z corrects its small-sample bias) — and a p-value
(paired t test; sign-flip permutation test for "bootstrap" metrics; sign test for "median"
metrics, a run that never reaches the level counting as slower). :func:`control_fdr` applies
Benjamini–Hochberg across a family of such tests (``scipy.stats.false_discovery_control``) and
records the family, so every claim of significance can say which family it was controlled in.

For a sampled design with a crossed factor (``[design] crossed = ["topology"]``), the paired
difference between its levels at each sample — the web's advantage over hub-and-spokes at the
same parameter values and seeds — gets its own sensitivity indices (:func:`crossed_differences`,
:func:`sensitivity_of_difference`).
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from scipy.special import stdtrit

from webmodel.analysis.report.data import Grouping, SweepResults
from webmodel.core.labels import clip, label_of

CONFIDENCE = 0.95
FDR = 0.05  # the false discovery rate Benjamini-Hochberg controls within a family
RESAMPLES = 9999  # bootstrap resamples and permutations
RANDOM_STATE = 20261202  # fixed: the same results give the same intervals and p-values
BCA_LIMIT = 2000  # BCa's jackknife is quadratic in n; above this, percentile intervals
REFERENCE_TOPOLOGY = "hub-and-spokes"  # what paired differences of topologies are taken against


def _rng() -> np.random.Generator:
    return np.random.default_rng(RANDOM_STATE)


@dataclass(frozen=True)
class Estimate:
    """A centre, its 95% interval (None with fewer than two values) and the count behind it.

    ``mean`` is the centre: the mean, or the median when ``method`` is "median" (its name is
    kept for the callers that read it). ``method`` says how the interval was drawn: "t"
    (Student t), "bootstrap" (BCa, or percentile for large n, of the mean) or "median"
    (percentile bootstrap of the median). ``runs`` counts the runs looked at, ``n`` those with
    a value (for "median", the runs that reached the level); ``quartiles`` are the first and
    third quartile of those values ("median" only).
    """

    mean: float
    low: float | None
    high: float | None
    n: int
    method: str = "t"
    runs: int | None = None
    quartiles: tuple[float, float] | None = None

    @property
    def statistic(self) -> str:
        """What ``mean`` holds: "median" or "mean"."""
        return "median" if self.method == "median" else "mean"

    @classmethod
    def of(cls, values: np.ndarray) -> Estimate | None:
        """The mean with its Student t interval, NaN left out (any metric: see :func:`estimate`
        for the interval a metric's bounds and shape call for)."""
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


def _median(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """The lower median (an observed value: an integer number of weeks stays one)."""
    return np.quantile(x, 0.5, axis=axis, method="inverted_cdf")


def bootstrap_interval(
    values: np.ndarray, statistic: str = "mean", method: str = "BCa"
) -> tuple[float, float]:
    """The 95% bootstrap interval of the mean (BCa; percentile above :data:`BCA_LIMIT` values)
    or of the median (percentile), from ``scipy.stats.bootstrap`` with a fixed random state.

    Both stay within the values observed. Values all alike give that value twice."""
    from scipy import stats

    values = np.asarray(values, dtype=float)
    if np.ptp(values) == 0:
        return float(values[0]), float(values[0])
    if statistic == "median":
        function, method = _median, "percentile"
    else:
        function = np.mean
        method = "percentile" if len(values) > BCA_LIMIT else method
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # BCa's degenerate-distribution warning: handled below
        result = stats.bootstrap(
            (values,),
            function,
            n_resamples=RESAMPLES,
            confidence_level=CONFIDENCE,
            method=method,
            rng=_rng(),
        )
    low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
    if not (math.isfinite(low) and math.isfinite(high)):  # BCa undefined (e.g. one outlier)
        return bootstrap_interval(values, statistic, "percentile")
    return low, high


def estimate(values: np.ndarray, metric: str) -> Estimate | None:
    """``values`` (runs of ``metric``, NaN where it has no value) pooled as the metric's
    ``summary`` asks (module docstring), the interval within the metric's bounds.

    None when no run has a value (the caller says why the metric does not apply)."""
    values = np.asarray(values, dtype=float)
    runs = len(values)
    kept = values[~np.isnan(values)]
    n = len(kept)
    if n == 0:
        return None
    summary = label_of(metric).summary
    if summary == "median":
        centre = float(_median(kept))
        q1, q3 = (float(q) for q in np.quantile(kept, [0.25, 0.75], method="inverted_cdf"))
        low, high = bootstrap_interval(kept, "median") if n > 1 else (None, None)
        return Estimate(centre, low, high, n, "median", runs, (q1, q3))
    plain = Estimate.of(kept)
    if n < 2:
        return replace(plain, runs=runs)
    lower, upper = label_of(metric).bounds
    crosses = (lower is not None and plain.low < lower) or (
        upper is not None and plain.high > upper
    )
    if summary == "mean" and not crosses:
        return replace(plain, runs=runs)
    low, high = bootstrap_interval(kept)
    return Estimate(
        clip(metric, plain.mean), clip(metric, low), clip(metric, high), n, "bootstrap", runs
    )


def by_group(
    values: np.ndarray, grouping: Grouping, ok: np.ndarray, metric: str | None = None
) -> list[Estimate | None]:
    """The estimate of ``values`` in each group, over successful runs: as ``metric`` asks
    (:func:`estimate`), or a plain mean with its t interval without one."""
    groups = [values[(grouping.index == g) & ok] for g in range(len(grouping))]
    if metric is None:
        return [Estimate.of(v) for v in groups]
    return [estimate(v, metric) for v in groups]


@dataclass(frozen=True)
class PairedDifference:
    """metric(level) - metric(reference) over runs that differ only in the paired factor.

    A pair counts where both of its runs have a value; ``at_level`` and ``at_reference`` are
    the metric over those same pairs (for a "median" metric, over every pair, so that they
    show how many runs reach the level), and the shares count the pairs in which the level is
    above or below the reference by more than rounding (None without pairs).

    Effect sizes, over the pairs with both values: ``difference`` (its centre the mean
    difference, or the median one for a "median" metric, with the interval of
    :func:`estimate`), ``relative`` (mean difference over the reference's mean), ``d_z``
    (Cohen's d for paired data: mean difference over the differences' standard deviation;
    None where they do not vary) and :attr:`g_z`. ``p_value`` is from ``test``;
    ``q_value`` is the Benjamini-Hochberg adjusted p-value within ``family`` (None until
    :func:`control_fdr` is applied). For a "median" metric, ``only_level`` and
    ``only_reference`` count the pairs in which only one side reached the level.
    """

    level: str
    reference: str
    metric: str
    difference: Estimate | None
    share_positive: float | None
    share_negative: float | None
    at_level: Estimate | None
    at_reference: Estimate | None
    p_value: float | None = None
    test: str = ""
    relative: float | None = None
    d_z: float | None = None
    q_value: float | None = None
    family: str | None = None
    family_size: int | None = None
    fdr: float = FDR
    only_level: int = 0
    only_reference: int = 0

    @property
    def g_z(self) -> float | None:
        """Hedges' g_z: d_z with the small-sample correction J = 1 - 3 / (4 (n - 1) - 1)."""
        d = self.difference
        if self.d_z is None or d is None or d.n < 3:
            return None
        return self.d_z * (1 - 3 / (4 * (d.n - 1) - 1))

    @property
    def significant(self) -> bool:
        """Significant at the family's false discovery rate (q <= fdr) once
        :func:`control_fdr` has been applied; before that, p < 0.05 on its own."""
        if self.q_value is not None:
            return self.q_value <= self.fdr
        return self.p_value is not None and self.p_value < 1 - CONFIDENCE


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


def paired_t_p(diff: np.ndarray, tolerance: float = 0.0) -> float | None:
    """Two-sided p of the paired t test that the mean difference is 0 (differences that do not
    vary beyond ``tolerance``: 0 if they are not all 0, else 1)."""
    n = len(diff)
    if n < 2:
        return None
    sd = float(diff.std(ddof=1))
    mean = float(diff.mean())
    if sd <= tolerance:
        return 0.0 if mean != 0 else 1.0
    from scipy import stats

    return float(2 * stats.t.sf(abs(mean) / (sd / math.sqrt(n)), n - 1))


def sign_flip_p(diff: np.ndarray) -> float | None:
    """Two-sided p of the sign-flip permutation test of a zero mean difference (exact for up
    to 13 pairs, else 9,999 random flips with a fixed random state): no normality assumed."""
    from scipy import stats

    if len(diff) < 2:
        return None
    if not np.any(diff):
        return 1.0
    result = stats.permutation_test(
        (diff,),
        lambda x, axis: np.mean(x, axis=axis),
        permutation_type="samples",
        n_resamples=RESAMPLES,
        vectorized=True,
        rng=_rng(),
    )
    return float(result.pvalue)


def sign_test_p(higher: int, lower: int) -> float | None:
    """Two-sided exact sign test (binomial, p = 1/2) over the pairs that differ."""
    from scipy import stats

    if higher + lower == 0:
        return None if higher == lower == 0 else 1.0
    return float(stats.binomtest(higher, higher + lower, 0.5).pvalue)


def _difference(
    column: np.ndarray, rows: np.ndarray, ref_rows: np.ndarray, level: str, reference: str, metric
) -> PairedDifference:
    """The paired difference of one metric's ``column`` over pairs (rows, ref_rows)."""
    scale = float(np.abs(column[~np.isnan(column)]).max(initial=0.0))
    return paired_values(column[rows], column[ref_rows], metric, level, reference, scale)


def paired_values(
    at_level: np.ndarray,
    at_reference: np.ndarray,
    metric: str,
    level: str = "level",
    reference: str = "reference",
    scale: float | None = None,
) -> PairedDifference:
    """The paired difference ``at_level - at_reference`` of two aligned arrays (pair k is
    ``at_level[k]`` and ``at_reference[k]``; NaN where a run has no value), with the interval,
    test and effect sizes ``metric`` calls for (unadjusted: see :func:`control_fdr`).

    Differences within 1e-9 x ``scale`` (default: the largest |value|) of zero are ties."""
    at_level = np.asarray(at_level, dtype=float)
    at_reference = np.asarray(at_reference, dtype=float)
    if scale is None:
        both = np.concatenate([at_level, at_reference])
        scale = float(np.abs(both[~np.isnan(both)]).max(initial=0.0))
    has_level, has_reference = ~np.isnan(at_level), ~np.isnan(at_reference)
    keep = has_level & has_reference
    diff = at_level[keep] - at_reference[keep]
    # Differences within rounding of zero are ties, not wins: set to 0 before any test, so
    # floating-point noise is never "significant" nor a standardised effect of 10^15.
    tolerance = 1e-9 * max(1.0, scale)
    diff = np.where(np.abs(diff) <= tolerance, 0.0, diff)
    summary = label_of(metric).summary
    censored = summary == "median"
    only_level = int((has_level & ~has_reference).sum()) if censored else 0
    only_reference = int((~has_level & has_reference).sum()) if censored else 0
    up = int((diff > tolerance).sum())
    down = int((diff < -tolerance).sum())
    if censored:
        # A run that never reaches the level took longer than any that does.
        up, down = up + only_reference, down + only_level
        pairs = len(diff) + only_level + only_reference
        p_value, test = sign_test_p(up, down), "sign test"
        sides = (estimate(at_level, metric), estimate(at_reference, metric))
        centre = estimate(diff, metric)
    else:
        pairs = len(diff)
        if summary == "bootstrap":
            p_value, test = sign_flip_p(diff), "sign-flip permutation"
        else:
            p_value, test = paired_t_p(diff, tolerance), "paired t"
        sides = (estimate(at_level[keep], metric), estimate(at_reference[keep], metric))
        centre = mean_difference(diff, metric)
    reference_mean = float(at_reference[keep].mean()) if keep.any() else 0.0
    mean_diff = float(diff.mean()) if len(diff) else None
    sd = float(diff.std(ddof=1)) if len(diff) > 1 else 0.0
    sd = 0.0 if sd <= tolerance else sd
    return PairedDifference(
        level,
        reference,
        metric,
        centre,
        up / pairs if pairs else None,
        down / pairs if pairs else None,
        *sides,
        p_value=p_value,
        test=test,
        relative=mean_diff / reference_mean if mean_diff is not None and reference_mean else None,
        d_z=mean_diff / sd if mean_diff is not None and sd > 0 else None,
        only_level=only_level,
        only_reference=only_reference,
    )


def mean_difference(diff: np.ndarray, metric: str) -> Estimate | None:
    """The mean of paired differences of ``metric`` (NaN left out): Student t interval, or
    BCa bootstrap for a "bootstrap" metric (a bounded metric's differences are skewed too)."""
    diff = np.asarray(diff, dtype=float)
    diff = diff[~np.isnan(diff)]
    summary = label_of(metric).summary
    plain = Estimate.of(diff)
    if plain is None or plain.n < 2 or summary != "bootstrap":
        return plain
    low, high = bootstrap_interval(diff)
    return Estimate(plain.mean, low, high, plain.n, "bootstrap")


def paired_difference(
    results: SweepResults,
    factor: str,
    level: str,
    reference: str,
    metric: str,
    within: np.ndarray | None = None,
) -> PairedDifference:
    """metric at ``factor = level`` minus at ``factor = reference``, on common seeds, over the
    successful runs in ``within`` (unadjusted: see :func:`control_fdr`)."""
    rows, ref_rows = pair_index(results, factor, level, reference, within)
    return _difference(results.column(metric), rows, ref_rows, level, reference, metric)


def paired_differences(
    results: SweepResults,
    factor: str,
    metrics: list[str],
    reference: str,
    within: np.ndarray | None = None,
) -> list[PairedDifference]:
    """Every level against the reference, for every metric, on common seeds (unadjusted)."""
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


def control_fdr(
    differences: Sequence[PairedDifference], family: str, fdr: float = FDR
) -> list[PairedDifference]:
    """The differences with Benjamini-Hochberg q-values across them as one family.

    ``family`` names what the tests have in common, in words, e.g. "the 35 cells of
    disruptions.toml, loss_area"; it is stored on each difference (with the number of tests)
    so :func:`family_note` can state it. Differences without a p-value (no pairs) are not
    tests: they keep q None and do not count in the family's size. Order is kept.
    """
    from scipy import stats

    tested = [k for k, d in enumerate(differences) if d.p_value is not None]
    q = (
        stats.false_discovery_control([differences[k].p_value for k in tested], method="bh")
        if tested
        else []
    )
    q_of = {k: float(v) for k, v in zip(tested, q, strict=True)}
    return [
        replace(d, q_value=q_of.get(k), family=family, family_size=len(tested), fdr=fdr)
        for k, d in enumerate(differences)
    ]


def family_note(differences: Sequence[PairedDifference]) -> str:
    """One line stating a controlled family and its outcome: "family: the 35 cells of
    disruptions.toml, loss_area (35 tests); Benjamini-Hochberg, q = 0.05: 31 significant"."""
    if not differences or differences[0].family is None:
        return "no false-discovery control applied (each p-value stands alone)"
    first = differences[0]
    hits = sum(d.significant for d in differences)
    return (
        f"family: {first.family} ({first.family_size} test"
        f"{'' if first.family_size == 1 else 's'}); Benjamini–Hochberg, "
        f"q = {first.fdr:g}: {hits} significant"
    )


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
    row per factor; none if y does not vary.

    SALib needs every sample. A Sobol' design is a run of blocks, one per base sample (A, B and
    each A_B^i row); a block with a gap (a failed run) is dropped whole, which leaves a valid
    design of fewer base samples, and each row says how many were dropped and kept
    (``dropped_base``, ``base``).
    A Morris design with a gap gets no indices."""
    if kind not in ("sobol", "morris") or len(y) != len(unit):
        return []
    dropped = 0
    block = len(names) * (2 if design.get("second_order") else 1) + 2
    if kind == "sobol" and np.isnan(y).any():
        if len(y) % block:
            return []
        gaps = np.isnan(y.reshape(-1, block)).any(axis=1)
        dropped = int(gaps.sum())
        y = y.reshape(-1, block)[~gaps].ravel()
        if len(y) < 2 * block:
            return []
    if np.isnan(y).any() or len(y) == 0 or np.ptp(y) == 0:
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
    extra = {"dropped_base": dropped, "base": len(y) // block} if kind == "sobol" else {}
    return [
        {"factor": name, **{key: float(indices[key][j]) for key in keys}, **extra}
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
