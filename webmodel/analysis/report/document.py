"""``webmodel report``: a Markdown report of a sweep, with its tables and figures.

What it holds: the provenance of the results; mean and 95% interval of each metric per factor
level; paired differences between topologies on common seeds; sensitivity indices for Sobol' and
Morris designs — for a design with crossed factors, at each crossed level and of the paired
difference between levels (the production web's advantage over hub-and-spokes at the same
sampled values and seeds); and figures (series with interval bands, metric distributions, a
heatmap of one metric over two factors) as PNG plus SVG or PDF.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from webmodel.analysis.report import figures
from webmodel.analysis.report.data import Grouping, SweepResults
from webmodel.analysis.report.stats import (
    CONFIDENCE,
    FDR,
    REFERENCE_TOPOLOGY,
    Estimate,
    PairedDifference,
    by_group,
    control_fdr,
    crossed_differences,
    crossed_factors,
    difference_levels,
    difference_rank_correlations,
    family_note,
    mean_difference,
    paired_differences,
    rank_correlations,
    sensitivity,
    sensitivity_of_difference,
)
from webmodel.core.labels import METRIC_WORDS, clip, label_of

FORMATS = ("png", "svg", "pdf")
MAX_SERIES_FIGURES = 12
MAX_DISTRIBUTION_METRICS = 9
MAX_PANEL_LEVELS = 6
MAX_CELL_LEVELS = 40  # paired differences by level of another factor: one row per level


def number(x: float | None) -> str:
    """Four significant figures, thousands separated; an en dash for no value."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if abs(x) < 1e-12:  # floating-point noise around zero
        return "0"
    if abs(x) >= 1e4:
        return f"{x:,.0f}"
    if x != 0 and abs(x) < 1e-3:
        return f"{x:.2e}"
    return f"{x:.4g}"


def cell(estimate: Estimate | None) -> str:
    """An estimate as ``mean [low, high]``; a "median" one as ``median 8 [8, 9], quartiles
    8–10, reached in 18 of 20 runs`` (the runs that never reach the level are counted, not
    averaged in)."""
    if estimate is None:
        return "–"
    if estimate.low is None:
        text = f"{number(estimate.mean)} (n = 1)"
    else:
        text = f"{number(estimate.mean)} [{number(estimate.low)}, {number(estimate.high)}]"
    if estimate.method != "median":
        return text
    text = f"median {text}"
    if estimate.quartiles is not None and estimate.quartiles[0] != estimate.quartiles[1]:
        q1, q3 = estimate.quartiles
        text += f", quartiles {number(q1)}–{number(q3)}"
    if estimate.runs is not None and estimate.runs > estimate.n:
        text += f", reached in {estimate.n} of {estimate.runs} runs"
    return text


def p_text(p: float | None) -> str:
    """A p- or q-value: two significant figures, "< 0.0001" below that."""
    if p is None:
        return "–"
    return "< 0.0001" if p < 1e-4 else f"{p:.2g}"


def _one_side(d: PairedDifference) -> str:
    """For a time to reach a level: the pairs in which only one side reaches it (left out of
    the difference, counted in the sign test)."""
    if not (d.only_level or d.only_reference):
        return ""
    return (
        f"; only {d.level} reaches it in {d.only_level} pairs, "
        f"only {d.reference} in {d.only_reference}"
    )


def _q(q: float | None) -> str:
    """ "= 0.012" or "< 0.0001", after a "q"."""
    text = p_text(q)
    return text if text.startswith("<") else f"= {text}"


def effect_text(d: PairedDifference) -> tuple[str, str]:
    """(relative difference, d_z) of a paired difference as table cells."""
    relative = "–" if d.relative is None else f"{100 * d.relative:+.1f}%"
    if d.d_z is None:
        dz = "no spread" if d.difference is not None and d.difference.n > 1 else "–"
    else:
        dz = f"{d.d_z:+.2f}"
    return relative, dz


def metric_heading(name: str) -> str:
    """A metric's row label: its name, then what it is in words and its unit."""
    meta = label_of(name)
    return f"{name}: {meta.label} ({meta.plain_unit})" if meta.unit else name


def missing(metric: str) -> str:
    """A cell where no run has a value: why the metric does not apply, not a bare dash."""
    return f"n/a: {label_of(metric).null_when}"


def within_bounds(estimate: Estimate | None, metric: str) -> Estimate | None:
    """The estimate with its interval clipped to the values the metric can take (a share's
    interval never past 1, a count of weeks never below 0): the t interval is symmetric and
    would otherwise claim impossible values for a metric near its bound."""
    if estimate is None or estimate.low is None:
        return estimate
    return replace(estimate, low=clip(metric, estimate.low), high=clip(metric, estimate.high))


def table(header: list[str], rows: list[list[str]], align: str | None = None) -> str:
    """A Markdown table; ``align`` is one letter per column, l or r."""
    align = align or "l" + "r" * (len(header) - 1)
    marks = [":--" if a == "l" else "--:" for a in align]

    def escape(text: str) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(escape(h) for h in header) + " |", "|" + "|".join(marks) + "|"]
    lines += ["| " + " | ".join(escape(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _slug(text: str) -> str:
    """A level as a file-name part: letters, digits and '-' only."""
    return "".join(c if c.isalnum() or c in "-." else "-" for c in text).strip("-") or "level"


def _share(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


class Report:
    """Builds the report's sections in order, writing figures as it goes."""

    def __init__(
        self,
        results: SweepResults,
        out: Path,
        formats: tuple[str, ...],
        metrics: list[str],
        heatmap: tuple[str, ...] | None,
    ) -> None:
        self.results = results
        self.out = out
        self.figures_dir = out / "figures"
        self.formats = formats
        self.metrics = metrics
        self.heatmap = heatmap
        self.parts: list[str] = []
        self.figure_count = 0
        names = results.factor_names
        self.groupings = {name: results.grouping(name) for name in names}
        small = [n for n in names if len(self.groupings[n]) <= MAX_PANEL_LEVELS]
        small.sort(key=lambda n: self.groupings[n].binned)  # levels before sampled ranges
        self.colour = "topology" if "topology" in small else (small[0] if small else None)
        rest = [n for n in small if n != self.colour]
        self.second = rest[0] if rest else None

    def add(self, text: str) -> None:
        self.parts.append(text)

    def figure(self, fig: Any, stem: str, caption: str) -> None:
        if fig is None:
            return
        paths = figures.save(fig, self.figures_dir, stem, self.formats)
        self.figure_count += 1
        raster = next((p for p in paths if p.suffix == ".png"), paths[0])
        others = ", ".join(f"[{p.suffix[1:].upper()}](figures/{p.name})" for p in paths)
        self.add(
            f"![{caption}](figures/{raster.name})\n\n"
            f"*Figure {self.figure_count}. {caption}* ({others})\n"
        )

    # --- sections -----------------------------------------------------------------------------
    def header(self) -> None:
        r = self.results
        meta = r.meta
        self.add(f"# Sweep report: {r.name}\n")
        if meta.get("description"):
            self.add(f"{meta['description']}\n")
        ok = int(r.ok.sum())
        total = r.runs.num_rows
        state = "" if total == r.n_planned else f" (**incomplete: {total} of {r.n_planned}**)"
        design = r.meta_json("design", {})
        settings = ", ".join(f"{k} = {v}" for k, v in design.items() if k != "kind")
        rows = [
            ["design", design.get("kind", "?") + (f" ({settings})" if settings else "")],
            ["factors", "; ".join(self._factor_text(f) for f in r.factors) or "none"],
            ["replicates", meta.get("replicates", "?")],
            ["seeds", f"{meta.get('seeds', '?')}, root seed {meta.get('root_seed', '?')}"],
            ["runs", f"{total}{state}: {ok} ok, {total - ok} failed"],
            ["experiment file", f"`{meta.get('experiment_file', '?')}`"],
            ["experiment sha256", f"`{meta.get('experiment_sha256', '?')}`"],
            ["webmodel", f"{meta.get('webmodel_version', '?')}"],
            ["git commit", f"`{meta.get('git_commit') or 'unknown'}`"],
            ["started", meta.get("started_utc", "?")],
            ["metric definitions", f"version {meta.get('metrics_version', '?')} (docs/metrics.md)"],
        ]
        self.summary()
        self.add("## The sweep\n")
        self.add(table(["", ""], rows, "ll") + "\n")
        constant = self.results.constant_metrics()
        if constant:
            text = ", ".join(f"{k} = {number(v)}" for k, v in constant.items())
            self.add(f"The same in every run (left out below): {text}.\n")

    HEADLINE = ("fill_rate", "loss_area", "time_to_recover", "backlog_end")

    def summary(self) -> None:
        """A few sentences in plain words at the top: what was run, and what the production
        web changed against hub-and-spokes on the headline metrics (with how sure we are)."""
        r = self.results
        ok = int(r.ok.sum())
        factors = ", ".join(r.factor_names) or "no factor"
        lines = [
            f"- {ok} successful runs of the model, varying {factors}; each figure below is a "
            f"mean (or, for times to reach a level, a median) over runs with its "
            f"{CONFIDENCE:.0%} interval.",
        ]
        grouping = self.groupings.get("topology")
        headline = [m for m in self.HEADLINE if m in self.metrics]
        paired = (
            grouping is not None
            and not grouping.binned
            and REFERENCE_TOPOLOGY in grouping.labels
            and r.meta.get("seeds") == "common"
        )
        if paired and headline:
            differences = paired_differences(r, "topology", headline, REFERENCE_TOPOLOGY)
            family = f"the {len(headline)} headline metrics of this summary, all runs pooled"
            differences = control_fdr(differences, family)
            for d in differences:
                if d.difference is None or d.difference.low is None:
                    continue
                meta = label_of(d.metric)
                est = d.difference
                sign = "higher" if est.mean > 0 else "lower"
                what = f"{est.statistic} difference"
                if d.significant:
                    verdict = f"{d.level} is {number(abs(est.mean))} {sign} than {d.reference}"
                else:
                    verdict = (
                        f"{d.level} and {d.reference} are not clearly different ({what} "
                        f"{number(est.mean)})"
                    )
                relative, dz = effect_text(d)
                lines.append(
                    f"- {meta.label.capitalize()} ({meta.plain_unit}): {verdict} "
                    f"({CONFIDENCE:.0%} interval of the {what} {d.level} − {d.reference}: "
                    f"{number(est.low)} to {number(est.high)}; relative {relative}, d_z {dz}; "
                    f"q {_q(d.q_value)}; {est.n} pairs on common seeds, {d.level} higher "
                    f"in {_share(d.share_positive)} of them)."
                )
            note = family_note(differences)
            lines.append(f"- False discovery control — {note}.")
        else:
            everything = Grouping("all runs", ["all runs"], np.zeros(r.runs.num_rows))
            for m in headline:
                est = by_group(r.column(m), everything, r.ok, m)[0]
                if est is not None:
                    lines.append(
                        f"- {label_of(m).label.capitalize()}: {cell(est)} "
                        f"({label_of(m).plain_unit})."
                    )
        self.add("## In brief\n")
        self.add("\n".join(lines) + "\n")
        shown = [m for m in self.metrics if m in METRIC_WORDS]
        if shown:
            rows = [
                [f"`{m}`", label_of(m).label, label_of(m).plain_unit, label_of(m).definition]
                for m in shown
            ]
            self.add("### What the metrics mean\n")
            self.add("Formulas in docs/metrics.md. Shares are given as 0-1 in the tables.\n")
            self.add(table(["metric", "in words", "unit", "definition"], rows, "llll") + "\n")

    def _factor_text(self, factor: dict[str, Any]) -> str:
        if "levels" in factor:
            labels = self.groupings[factor["name"]].labels
            return f"{factor['name']} ∈ {{{', '.join(labels)}}}"
        return f"{factor['name']} ∈ [{number(factor['min'])}, {number(factor['max'])}]"

    def failures(self) -> None:
        r = self.results
        failed = np.flatnonzero(~r.ok)
        if not len(failed):
            return
        errors = r.runs.column("error").to_pylist()
        ids = r.runs.column("run_id").to_pylist()
        seeds = r.runs.column("seed").to_pylist()
        rows = [
            [str(ids[i]), str(seeds[i]), (errors[i] or "").splitlines()[0][:160]]
            for i in failed[:20]
        ]
        self.add(f"## Failed runs ({len(failed)})\n")
        self.add(
            "Each failed run's full traceback is in the `traceback` column of the runs table.\n"
        )
        self.add(table(["run_id", "seed", "error"], rows, "rrl") + "\n")

    INTERVALS = (
        f"Mean over successful runs with its {CONFIDENCE:.0%} interval: Student t, or, for a "
        "bounded or skewed metric (fill rate, worst week, shares — and any mean whose t "
        "interval would cross the metric's bounds), a BCa bootstrap interval (scipy, 9,999 "
        "resamples, fixed random state), so no interval leaves the values the metric can "
        "take. A time to reach a level (time to recover, time to surge target) is absent "
        "where the level is never reached and often has two modes: it is given as the median "
        "of the runs that reach it, with a percentile bootstrap interval, its quartiles and "
        "how many runs reach it — never a mean of the two modes."
    )

    def by_factor(self) -> None:
        if not self.groupings:
            everything = Grouping("all runs", ["all runs"], np.zeros(self.results.runs.num_rows))
            rows = [
                [
                    metric_heading(m),
                    cell(by_group(self.results.column(m), everything, self.results.ok, m)[0]),
                ]
                for m in self.metrics
            ]
            self.add("## Metrics\n")
            self.add(self.INTERVALS + "\n")
            self.add(table(["metric", "all runs"], rows) + "\n")
            return
        self.add("## Metrics by factor level\n")
        self.add(
            self.INTERVALS
            + " Over runs, every other factor averaged over its levels as the design has "
            "them. A sampled range is grouped into quartiles of its drawn values.\n"
        )
        ok = self.results.ok
        for name, grouping in self.groupings.items():
            counts = [int(((grouping.index == g) & ok).sum()) for g in range(len(grouping))]
            rows = [["runs"] + [str(c) for c in counts]]
            for metric in self.metrics:
                estimates = by_group(self.results.column(metric), grouping, ok, metric)
                cells = [missing(metric) if e is None else cell(e) for e in estimates]
                rows.append([metric_heading(metric), *cells])
            self.add(f"### {name}\n")
            self.add(table(["metric", *grouping.labels], rows) + "\n")

    def paired(self) -> None:
        grouping = self.groupings.get("topology")
        if grouping is None or grouping.binned or len(grouping) < 2:
            return
        reference = (
            REFERENCE_TOPOLOGY if REFERENCE_TOPOLOGY in grouping.labels else grouping.labels[0]
        )
        self.add("## Paired differences between topologies\n")
        if self.results.meta.get("seeds") != "common":
            self.add(
                "Runs used independent seeds, so no two runs share a seed: set "
                '`seeds = "common"` in the experiment for paired comparisons.\n'
            )
            return
        self.add(
            f"Each run is paired with the {reference} run of the same seed and the same level of "
            "every other factor. For each metric: the difference (level − "
            f"{reference}; the mean, or the median for a time to reach a level) with its "
            f"{CONFIDENCE:.0%} interval (Student t over pairs; BCa bootstrap for a bounded or "
            "skewed metric; percentile bootstrap of the median for a time to reach a level, over "
            "the pairs in which both reach it); the relative difference (mean difference over "
            f"the {reference} mean); Cohen's d_z (mean difference over the standard deviation "
            'of the differences: 0.2 small, 0.8 large; "no spread" where every pair differs '
            "alike); the p-value (paired t test; sign-flip permutation test for a bounded or "
            "skewed metric; sign test for a time to reach a level, a run that never reaches it "
            "counting as slower) and its Benjamini–Hochberg q-value within the family named "
            f"under the table (significant: q ≤ {FDR:g}); the number of pairs, and the shares "
            "of pairs in which the difference is positive and negative (the rest are ties).\n"
        )
        differences = paired_differences(self.results, "topology", self.metrics, reference)
        name = self._experiment_name()
        for level in grouping.labels:
            mine = [d for d in differences if d.level == level]
            if not mine:
                continue
            family = f"the {len(mine)} metrics of {name}, {level} − {reference}, all runs pooled"
            mine = control_fdr(mine, family)
            rows = []
            for d in mine:
                relative, dz = effect_text(d)
                rows.append(
                    [
                        metric_heading(d.metric),
                        cell(d.difference) + _one_side(d),
                        relative,
                        dz,
                        p_text(d.p_value),
                        p_text(d.q_value) + (" *" if d.significant else ""),
                        str(d.difference.n if d.difference else 0),
                        _share(d.share_positive),
                        _share(d.share_negative),
                    ]
                )
            self.add(f"### {level} − {reference}\n")
            header = ["metric", "difference", "relative", "d_z", "p", "q (BH)", "pairs"]
            self.add(table([*header, "> 0", "< 0"], rows) + "\n")
            self.add(f"\\* significant; {family_note(mine)}.\n")
            for other, other_grouping in self.groupings.items():
                if other == "topology" or len(other_grouping) > MAX_CELL_LEVELS:
                    continue
                self._paired_within(level, reference, other, other_grouping)

    def _experiment_name(self) -> str:
        path = str(self.results.meta.get("experiment_file") or self.results.name)
        return Path(path).name

    def _paired_within(self, level: str, reference: str, other: str, grouping: Grouping) -> None:
        """Per level of ``other``, the paired difference of the first metrics; each metric's
        cells (the levels of ``other``) are one Benjamini-Hochberg family."""
        shown = self.metrics[:5]
        by_metric: dict[str, list[PairedDifference | None]] = {m: [] for m in shown}
        for g in range(len(grouping)):
            found = {
                d.metric: d
                for d in paired_differences(
                    self.results, "topology", shown, reference, within=grouping.index == g
                )
                if d.level == level
            }
            for m in shown:
                by_metric[m].append(found.get(m))
        name = self._experiment_name()
        notes = []
        for m in shown:
            present = [d for d in by_metric[m] if d is not None]
            family = f"the {len(grouping)} levels of {other} in {name}, {m}"
            controlled = iter(control_fdr(present, family))
            by_metric[m] = [None if d is None else next(controlled) for d in by_metric[m]]
            if present:
                notes.append(f"- `{m}`: {family_note([d for d in by_metric[m] if d])}")

        def show(d: PairedDifference | None) -> str:
            if d is None:
                return "–"
            star = " *" if d.significant else ""
            if d.difference is None and (d.only_level or d.only_reference):
                return (
                    f"no pair where both reach it; only {d.level} in {d.only_level}, "
                    f"only {d.reference} in {d.only_reference}{star}"
                )
            return cell(d.difference) + star

        rows = [
            [label] + [show(by_metric[m][g]) for m in shown]
            for g, label in enumerate(grouping.labels)
        ]
        self.add(
            f"By {other} ({level} − {reference}, difference [{CONFIDENCE:.0%} interval]; "
            f"\\* significant after Benjamini–Hochberg, q ≤ {FDR:g}, within the column):\n"
        )
        self.add(table([other, *shown], rows) + "\n")
        self.add("\n".join(notes) + "\n")

    def sensitivity(self) -> None:
        kind = self.results.design_kind
        crossed = crossed_factors(self.results) if kind != "full-factorial" else []
        rows = sensitivity(self.results, self.metrics)
        at = f" at each level of {', '.join(crossed)}" if crossed else ""
        lead = ["metric", "at"] if crossed else ["metric"]
        if kind == "sobol" and rows:
            self.add(f"## Sobol' indices{at}\n")
            self.add(
                "First-order (S1) and total (ST) indices from SALib, on the mean over replicates "
                "at each sampled point, with their 95% bootstrap intervals.\n"
            )
            self.add(self._sobol_table(rows, lead) + "\n")
        elif kind == "morris" and rows:
            self.add(f"## Morris elementary effects{at}\n")
            self.add(
                "μ* (mean absolute elementary effect, factors scaled to [0, 1]) with its 95% "
                "bootstrap interval, and σ (their spread: interactions or non-linearity), from "
                "SALib on the mean over replicates at each sampled point.\n"
            )
            self.add(self._morris_table(rows, lead) + "\n")
        elif kind == "latin-hypercube":
            correlations = rank_correlations(self.results, self.metrics)
            if correlations:
                self.add("## Rank correlations\n")
                self.add("Spearman's ρ between each sampled range and each metric, over runs.\n")
                body = [
                    [r["metric"], r["factor"], f"{r['rho']:+.3f}", f"{r['p']:.2g}"]
                    for r in correlations
                ]
                self.add(table(["metric", "factor", "ρ", "p"], body, "llrr") + "\n")
        if crossed:
            for factor in crossed:
                for level, reference in difference_levels(self.results, factor):
                    self._difference(factor, level, reference)
            return
        for metric in self.metrics if kind in ("sobol", "morris") else []:
            self.figure(
                figures.sensitivity_figure(rows, metric),
                f"sensitivity_{metric}",
                f"{'Sobol’ indices' if kind == 'sobol' else 'Morris μ* and σ'} for {metric}.",
            )

    @staticmethod
    def _sobol_table(rows: list[dict[str, Any]], lead: list[str]) -> str:
        """Sobol' rows as a table; ``lead`` are the row keys shown before the factor."""
        body = [
            [
                *(r[k] for k in lead),
                r["factor"],
                f"{number(r['S1'])} ± {number(r['S1_conf'])}",
                f"{number(r['ST'])} ± {number(r['ST_conf'])}",
            ]
            for r in rows
        ]
        return table([*lead, "factor", "S1", "ST"], body, "l" * (len(lead) + 1) + "rr")

    @staticmethod
    def _morris_table(rows: list[dict[str, Any]], lead: list[str]) -> str:
        """Morris rows as a table; ``lead`` are the row keys shown before the factor."""
        body = [
            [
                *(r[k] for k in lead),
                r["factor"],
                f"{number(r['mu_star'])} ± {number(r['mu_star_conf'])}",
                number(r["sigma"]),
            ]
            for r in rows
        ]
        return table([*lead, "factor", "μ*", "σ"], body, "l" * (len(lead) + 1) + "rr")

    def _difference(self, factor: str, level: str, reference: str) -> None:
        """The paired difference level − reference of a crossed factor at each sample: its
        mean, its rank correlations with the sampled factors, and its sensitivity indices."""
        r, kind = self.results, self.results.design_kind
        name = f"{level} − {reference}"
        others = [f for f in crossed_factors(r) if f != factor]
        self.add(f"## Sensitivity of the paired difference {name}\n")
        seeds = (
            "the same seed (common seeds)"
            if r.meta.get("seeds") == "common"
            else "independent seeds, so the difference also carries seed noise"
        )
        self.add(
            f"At each sampled point the {factor} = {level} and {factor} = {reference} runs share "
            f"every sampled value and, replicate by replicate, {seeds}. Each sample's difference "
            f"({name}) is the mean of its per-replicate differences"
            + (f" and over the levels of {', '.join(others)}" if others else "")
            + f". The table gives its mean over samples with the {CONFIDENCE:.0%} interval "
            "(Student t over samples; BCa bootstrap for a bounded or skewed metric), the number "
            "of samples, and the shares of samples in "
            "which it is positive and negative (the rest are ties).\n"
        )
        rows, correlations, indices = [], [], []
        for metric in self.metrics:
            _, difference = crossed_differences(r, metric, factor, reference, level)
            valid = difference[~np.isnan(difference)]
            column = r.column(metric)
            scale = float(np.nanmax(np.abs(column))) if np.isfinite(column).any() else 1.0
            tolerance = 1e-9 * max(1.0, scale)  # within rounding of zero: a tie, not a win
            estimate = mean_difference(valid, metric)
            rows.append(
                [
                    metric,
                    cell(estimate),
                    str(len(valid)),
                    _share(float(np.mean(valid > tolerance)) if len(valid) else None),
                    _share(float(np.mean(valid < -tolerance)) if len(valid) else None),
                ]
            )
            correlations += difference_rank_correlations(r, metric, factor, reference, level)
            indices += sensitivity_of_difference(r, metric, factor, reference, level)
        self.add(table(["metric", "mean difference", "samples", "> 0", "< 0"], rows) + "\n")
        if correlations:
            self.add(
                f"Spearman's ρ between each sampled factor and the difference ({name}), over "
                "samples:\n"
            )
            body = [
                [c["metric"], c["factor"], f"{c['rho']:+.3f}", f"{c['p']:.2g}"]
                for c in correlations
            ]
            self.add(table(["metric", "factor", "ρ", "p"], body, "llrr") + "\n")
        if not indices:
            return
        if kind == "sobol":
            self.add(
                f"Sobol' indices of the difference ({name}): S1 and ST from SALib with their "
                "95% bootstrap intervals — how much of its variance over samples each sampled "
                "factor explains alone (S1) and with its interactions (ST).\n"
            )
            self.add(self._sobol_table(indices, ["metric"]) + "\n")
        else:
            self.add(f"Morris μ* and σ of the difference ({name}), factors scaled to [0, 1].\n")
            self.add(self._morris_table(indices, ["metric"]) + "\n")
        what = "Sobol’ indices" if kind == "sobol" else "Morris μ* and σ"
        for metric in self.metrics:
            self.figure(
                figures.sensitivity_figure(indices, metric, title=f"{metric}: {name}"),
                f"sensitivity_difference_{metric}_{_slug(level)}_vs_{_slug(reference)}",
                f"{what} of the paired difference in {metric} ({name}).",
            )

    def figures_section(self) -> None:
        self.add("## Figures\n")
        colour = self.groupings.get(self.colour) if self.colour else None
        second = self.groupings.get(self.second) if self.second else None
        for variable in self.results.series_variables[:MAX_SERIES_FIGURES]:
            fig = figures.series_figure(self.results, variable, colour, second)
            by = f" by {colour.factor}" if colour else ""
            panels = f", one panel per {second.factor}" if second else ""
            demand = figures.demand_of(variable, self.results)
            if demand is not None:
                note = f" Dashed: {demand} (mean over the same runs); the gap is demand unmet."
            elif variable.split(".")[0] in ("delivered", "served") and "." in variable:
                wanted = "demanded." + variable.split(".", 1)[1]
                note = f" (Demand not shown: add {wanted} to the experiment's [output] series.)"
            else:
                note = ""
            self.figure(
                fig,
                f"series_{variable}",
                f"{variable}: mean over runs{by} with its {CONFIDENCE:.0%} interval "
                f"band{panels}.{note}",
            )
        shown = self.metrics[:MAX_DISTRIBUTION_METRICS]
        if shown:
            self.figure(
                figures.distribution_figure(self.results, shown, colour, second),
                "metric_distributions",
                "Distribution of each metric over runs (boxes: quartiles; whiskers: 1.5 IQR; "
                "points: runs)" + (f" by {colour.factor}" if colour else "") + ".",
            )
        self._heatmap()

    def _heatmap(self) -> None:
        names = list(self.groupings)
        if self.heatmap:
            metric, fx, fy = self.heatmap
        elif len(names) >= 2 and self.metrics:
            metric = "fill_rate" if "fill_rate" in self.metrics else self.metrics[0]
            fx, fy = names[0], names[1]
        else:
            self.add("(No heatmap: it needs two factors.)\n")
            return
        median = label_of(metric).summary == "median"
        what = "Median (over the runs that reach the level)" if median else "Mean"
        self.figure(
            figures.heatmap_figure(self.results, metric, self.groupings[fx], self.groupings[fy]),
            f"heatmap_{metric}_{fx}_{fy}",
            f"{what} {metric} over {fx} and {fy}.",
        )

    def text(self) -> str:
        return "\n".join(self.parts)


def write_report(
    results: str | Path,
    out: str | Path | None = None,
    formats: tuple[str, ...] = ("png", "svg"),
    heatmap: tuple[str, ...] | None = None,
    metrics: list[str] | None = None,
) -> Path:
    """Write ``report.md`` and its figures for the sweep in ``results``; return its path."""
    data = SweepResults.load(results)
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise ValueError(f"--formats: choose from {', '.join(FORMATS)}, got {', '.join(formats)}")
    if "png" not in formats:
        formats = ("png", *formats)  # the Markdown shows the PNG
    chosen = metrics or data.default_metrics()
    unknown = [m for m in chosen if m not in data.runs.column_names]
    if unknown:
        raise ValueError(f"--metrics: not in the runs table: {', '.join(unknown)}")
    if heatmap is not None:
        if len(heatmap) != 3:
            raise ValueError("--heatmap: give METRIC,FACTOR_X,FACTOR_Y")
        if heatmap[0] not in data.runs.column_names:
            raise ValueError(f"--heatmap: no metric {heatmap[0]!r} in the runs table")
        for factor in heatmap[1:]:
            if factor not in data.factor_names:
                raise ValueError(
                    f"--heatmap: {factor!r} is not a factor ({', '.join(data.factor_names)})"
                )
    target = Path(out) if out else Path(results) / "report"
    target.mkdir(parents=True, exist_ok=True)
    report = Report(data, target, formats, chosen, heatmap)
    with figures.style():
        report.header()
        report.failures()
        report.by_factor()
        report.paired()
        report.sensitivity()
        report.figures_section()
    path = target / "report.md"
    tmp = target / ".report.md.tmp"
    tmp.write_text(report.text())
    tmp.replace(path)
    return path
