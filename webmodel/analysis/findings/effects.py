"""Effects the findings report: paired differences on common seeds, with 95% intervals,
effect sizes and false-discovery control.

Every comparison pairs runs that share a seed and every other factor's value, so the difference
is the effect of one factor alone on the same random draws (common random numbers). The
statistics are the sweep report's (``webmodel.analysis.report.stats``: ``estimate``,
``paired_difference``, ``control_fdr``; their docstrings say which interval and test each
metric gets); this module only selects runs by their factors' level labels.

For a findings table, one call per table column or claim:

- ``runs.estimate(metric, **levels)``: the metric pooled as it should be (a mean with a t or
  bootstrap interval inside its bounds, or for a time to reach a level a median and the
  share of runs reaching it); show it with ``report.document.cell``.
- ``runs.web_minus_hub_cells(metric, "disruptions", surge="1")``: web − hub at every level of
  a factor (the family's cells), Benjamini-Hochberg controlled across them; each
  ``PairedDifference`` has ``difference``, ``relative``, ``d_z``, ``g_z``, ``p_value``,
  ``q_value``, ``significant`` (q <= 0.05) and ``family``; ``family_note(list(...values()))``
  is the sentence stating the family.
- ``runs.controlled({label: runs.web_minus_hub(...), ...}, family="...")``: the same control
  over any set of cells you build yourself (say a surge x disruption grid).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from webmodel.analysis.report.data import SweepResults, level_label
from webmodel.analysis.report.stats import (
    Estimate,
    PairedDifference,
    control_fdr,
    estimate,
    paired_difference,
)
from webmodel.coalition.disruptions import DisruptionError, parse_disruption
from webmodel.coalition.parameters import TOPOLOGIES

HUB, WEB = TOPOLOGIES


class LabelledRuns:
    """One sweep's runs, with each run's factor levels as labels for selecting and pairing."""

    def __init__(self, results: SweepResults) -> None:
        self.results = results
        self.name = results.name
        self.ok = results.ok
        self._labels: dict[str, np.ndarray] = {}

    @classmethod
    def load(cls, root: str | Path) -> LabelledRuns:
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
        """``metric`` over the runs at ``levels``, pooled as the metric asks
        (``report.stats.estimate``: never an interval outside its bounds, never a mean of two
        modes of a time to reach a level)."""
        return estimate(self.values(metric, self.where(**levels)), metric)

    @property
    def experiment(self) -> str:
        """The experiment file's name (``disruptions.toml``), for naming a family."""
        return Path(str(self.results.meta.get("experiment_file") or self.name)).name

    def paired(
        self,
        metric: str,
        factor: str,
        reference: str | float | bool,
        level: str | float | bool,
        **levels: str | float | bool,
    ) -> PairedDifference:
        """``metric`` at ``factor = level`` minus at ``factor = reference``, other factors as
        given."""
        return paired_difference(
            self.results,
            factor,
            level_label(level),
            level_label(reference),
            metric,
            self.where(**levels),
        )

    def web_minus_hub(self, metric: str, **levels: str | float | bool) -> PairedDifference:
        """The production web minus hub-and-spokes on the same seeds and other factors
        (unadjusted: put it in a family with :meth:`controlled` or :meth:`web_minus_hub_cells`
        before calling it significant)."""
        return self.paired(metric, "topology", HUB, WEB, **levels)

    def controlled[K](
        self, cells: dict[K, PairedDifference], family: str
    ) -> dict[K, PairedDifference]:
        """The cells' differences with Benjamini-Hochberg q-values across them as one family
        (``family`` in words, e.g. "the 35 cells of disruptions.toml, loss_area")."""
        keys = list(cells)
        return dict(zip(keys, control_fdr([cells[k] for k in keys], family), strict=True))

    def web_minus_hub_cells(
        self,
        metric: str,
        factor: str,
        family: str | None = None,
        **levels: str | float | bool,
    ) -> dict[str, PairedDifference]:
        """Web − hub at each level of ``factor`` (other factors at ``levels``), keyed by the
        level's label, controlled as one family; the family defaults to "the N levels of
        FACTOR in EXPERIMENT.toml, METRIC" (with the fixed levels, if any)."""
        cells = {
            level: self.web_minus_hub(metric, **{**levels, factor: level})
            for level in self.levels(factor)
        }
        if family is None:
            fixed = "".join(f", {k} = {v}" for k, v in levels.items())
            family = f"the {len(cells)} levels of {factor} in {self.experiment}{fixed}, {metric}"
        return self.controlled(cells, family)


def kind_and_duration(label: str) -> tuple[str, int] | None:
    """(``KIND[:TARGET]``, duration in weeks) of a level naming one disruption, else None
    (``"none"``, or several disruptions)."""
    if "," in label:
        return None
    try:
        disruption = parse_disruption(label)
    except DisruptionError:
        return None
    kind = f"{disruption.kind}:{disruption.target}" if disruption.target else disruption.kind
    return kind, disruption.duration


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
