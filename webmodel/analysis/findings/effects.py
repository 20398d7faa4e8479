"""Effects the findings report: paired differences on common seeds, with 95% intervals.

Every comparison pairs runs that share a seed and every other factor's value, so the difference
is the effect of one factor alone on the same random draws (common random numbers). Intervals
are Student-t intervals over the pairs (``webmodel.analysis.report.stats.Estimate``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from webmodel.analysis.report.data import SweepResults, level_label
from webmodel.analysis.report.stats import Estimate, pair_index

HUB, WEB = "hub-and-spokes", "production-web"
DISRUPTION = re.compile(r"^(?P<kind>[a-z]+(?::[^@]+)?)@(?P<start>\d+)\+(?P<duration>\d+)")


@dataclass(frozen=True)
class Paired:
    """``metric(b) - metric(a)`` over matched pairs, and how often b is above or below a."""

    a: Estimate | None
    b: Estimate | None
    difference: Estimate | None
    share_b_higher: float
    share_b_lower: float

    @property
    def significant(self) -> bool:
        """The 95% interval of the difference excludes zero."""
        d = self.difference
        return d is not None and d.low is not None and (d.low > 0 or d.high < 0)


class Experiment:
    """One sweep's runs, with each run's factor levels as labels for selecting and pairing."""

    def __init__(self, results: SweepResults) -> None:
        self.results = results
        self.name = results.name
        self.ok = results.ok
        self._labels: dict[str, np.ndarray] = {}

    @classmethod
    def load(cls, root: str | Path) -> Experiment:
        return cls(SweepResults.load(root))

    def labels(self, factor: str) -> np.ndarray:
        """Each run's level of ``factor`` as its label (``"none"`` for no disruption)."""
        if factor not in self._labels:
            grouping = self.results.grouping(factor)
            names = np.array([*grouping.labels, ""], dtype=object)
            self._labels[factor] = names[grouping.index]
        return self._labels[factor]

    def levels(self, factor: str) -> list[str]:
        return list(self.results.grouping(factor).labels)

    def where(self, **levels: str | float | bool) -> np.ndarray:
        """Successful runs at the given levels (compared as labels: ``surge=2`` is ``"2"``)."""
        mask = self.ok.copy()
        for factor, level in levels.items():
            mask &= self.labels(factor) == level_label(level)
        return mask

    def values(self, metric: str, mask: np.ndarray) -> np.ndarray:
        return self.results.column(metric)[mask]

    def estimate(self, metric: str, **levels: str | float | bool) -> Estimate | None:
        return Estimate.of(self.values(metric, self.where(**levels)))

    def paired(
        self, metric: str, factor: str, a: str | float | bool, b: str | float | bool, **levels
    ) -> Paired:
        """``metric`` at ``factor = b`` minus at ``factor = a``, other factors as given."""
        within = self.where(**levels)
        rows_b, rows_a = pair_index(self.results, factor, level_label(b), level_label(a), within)
        column = self.results.column(metric)
        x_a, x_b = column[rows_a], column[rows_b]
        keep = ~np.isnan(x_a) & ~np.isnan(x_b)
        x_a, x_b = x_a[keep], x_b[keep]
        diff = x_b - x_a
        tolerance = 1e-9 * max(1.0, float(np.abs(column[~np.isnan(column)]).max(initial=0.0)))
        n = max(len(diff), 1)
        return Paired(
            Estimate.of(x_a),
            Estimate.of(x_b),
            Estimate.of(diff),
            float((diff > tolerance).sum() / n),
            float((diff < -tolerance).sum() / n),
        )

    def web_minus_hub(self, metric: str, **levels: str | float | bool) -> Paired:
        """The production web minus hub-and-spokes on the same seeds and other factors."""
        return self.paired(metric, "topology", HUB, WEB, **levels)


def parse_disruption(label: str) -> tuple[str, int] | None:
    """(kind with its target, duration in weeks) of a one-disruption label, else None."""
    match = DISRUPTION.match(label)
    if match is None or "," in label:
        return None
    return match["kind"], int(match["duration"])


def power_law_exponent(durations: np.ndarray, losses: np.ndarray) -> tuple[float, float, float]:
    """Slope b of log(loss) on log(duration), with a 95% interval: loss ~ duration^b.

    b > 1 means losses grow faster than the disruption lasts (non-linear, Colon et al. 2021).
    Runs with no loss are left out (their logarithm is undefined).
    """
    from scipy import stats

    keep = (losses > 0) & (durations > 0)
    x, y = np.log(durations[keep]), np.log(losses[keep])
    if len(x) < 3 or np.ptp(x) == 0:
        return float("nan"), float("nan"), float("nan")
    fit = stats.linregress(x, y)
    half = stats.t.ppf(0.975, len(x) - 2) * fit.stderr
    return float(fit.slope), float(fit.slope - half), float(fit.slope + half)
