"""``webmodel report``: a Markdown report of a sweep, with its tables and figures.

What it holds: the provenance of the results; mean and 95% interval of each metric per factor
level; paired differences between topologies on common seeds; sensitivity indices for Sobol' and
Morris designs; and figures (series with interval bands, metric distributions, a heatmap of one
metric over two factors) as PNG plus SVG or PDF.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from webmodel.report import figures
from webmodel.report.data import Grouping, SweepResults
from webmodel.report.stats import (
    CONFIDENCE,
    Estimate,
    by_group,
    paired_differences,
    rank_correlations,
    sensitivity,
)

FORMATS = ("png", "svg", "pdf")
MAX_SERIES_FIGURES = 12
MAX_DISTRIBUTION_METRICS = 9
MAX_PANEL_LEVELS = 6
REFERENCE_TOPOLOGY = "hub-and-spokes"


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
    if estimate is None:
        return "–"
    if estimate.low is None:
        return f"{number(estimate.mean)} (n = 1)"
    return f"{number(estimate.mean)} [{number(estimate.low)}, {number(estimate.high)}]"


def table(header: list[str], rows: list[list[str]], align: str | None = None) -> str:
    """A Markdown table; ``align`` is one letter per column, l or r."""
    align = align or "l" + "r" * (len(header) - 1)
    marks = [":--" if a == "l" else "--:" for a in align]

    def escape(text: str) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(escape(h) for h in header) + " |", "|" + "|".join(marks) + "|"]
    lines += ["| " + " | ".join(escape(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


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
        self.add("## The sweep\n")
        self.add(table(["", ""], rows, "ll") + "\n")
        constant = self.results.constant_metrics()
        if constant:
            text = ", ".join(f"{k} = {number(v)}" for k, v in constant.items())
            self.add(f"The same in every run (left out below): {text}.\n")

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

    def by_factor(self) -> None:
        if not self.groupings:
            everything = Grouping("all runs", ["all runs"], np.zeros(self.results.runs.num_rows))
            rows = [
                [m, cell(by_group(self.results.column(m), everything, self.results.ok)[0])]
                for m in self.metrics
            ]
            self.add("## Metrics\n")
            self.add(f"Mean over successful runs and its {CONFIDENCE:.0%} interval (Student t).\n")
            self.add(table(["metric", "all runs"], rows) + "\n")
            return
        self.add("## Metrics by factor level\n")
        self.add(
            f"Mean over successful runs and its {CONFIDENCE:.0%} interval (Student t, over runs; "
            "every other factor averaged over its levels as the design has them). A sampled "
            "range is grouped into quartiles of its drawn values.\n"
        )
        ok = self.results.ok
        for name, grouping in self.groupings.items():
            counts = [int(((grouping.index == g) & ok).sum()) for g in range(len(grouping))]
            rows = [["runs"] + [str(c) for c in counts]]
            for metric in self.metrics:
                estimates = by_group(self.results.column(metric), grouping, ok)
                rows.append([metric] + [cell(e) for e in estimates])
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
            "every other factor; the table gives the mean difference (level − "
            f"{reference}) with its {CONFIDENCE:.0%} interval (Student t over pairs), the "
            "number of pairs, and the shares of pairs in which the difference is positive and "
            "negative (the rest are ties).\n"
        )
        differences = paired_differences(self.results, "topology", self.metrics, reference)
        for level in grouping.labels:
            rows = [
                [
                    d.metric,
                    cell(d.estimate),
                    str(d.estimate.n if d.estimate else 0),
                    _share(d.share_positive),
                    _share(d.share_negative),
                ]
                for d in differences
                if d.level == level
            ]
            if not rows:
                continue
            self.add(f"### {level} − {reference}\n")
            self.add(table(["metric", "mean difference", "pairs", "> 0", "< 0"], rows) + "\n")
            for other, other_grouping in self.groupings.items():
                if other == "topology" or len(other_grouping) > 12:
                    continue
                self._paired_within(level, reference, other, other_grouping)

    def _paired_within(self, level: str, reference: str, other: str, grouping: Grouping) -> None:
        shown = self.metrics[:5]
        rows = []
        for g, label in enumerate(grouping.labels):
            within = grouping.index == g
            found = {
                d.metric: d
                for d in paired_differences(
                    self.results, "topology", shown, reference, within=within
                )
                if d.level == level
            }
            rows.append([label] + [cell(found[m].estimate) if m in found else "–" for m in shown])
        self.add(
            f"By {other} ({level} − {reference}, mean difference [{CONFIDENCE:.0%} interval]):\n"
        )
        self.add(table([other, *shown], rows) + "\n")

    def sensitivity(self) -> None:
        kind = self.results.design_kind
        rows = sensitivity(self.results, self.metrics)
        if kind == "sobol" and rows:
            self.add("## Sobol' indices\n")
            self.add(
                "First-order (S1) and total (ST) indices from SALib, on the mean over replicates "
                "at each design point, with their 95% bootstrap intervals.\n"
            )
            body = [
                [
                    r["metric"],
                    r["factor"],
                    f"{number(r['S1'])} ± {number(r['S1_conf'])}",
                    f"{number(r['ST'])} ± {number(r['ST_conf'])}",
                ]
                for r in rows
            ]
            self.add(table(["metric", "factor", "S1", "ST"], body, "llrr") + "\n")
        elif kind == "morris" and rows:
            self.add("## Morris elementary effects\n")
            self.add(
                "μ* (mean absolute elementary effect, factors scaled to [0, 1]) with its 95% "
                "bootstrap interval, and σ (their spread: interactions or non-linearity), from "
                "SALib on the mean over replicates at each design point.\n"
            )
            body = [
                [
                    r["metric"],
                    r["factor"],
                    f"{number(r['mu_star'])} ± {number(r['mu_star_conf'])}",
                    number(r["sigma"]),
                ]
                for r in rows
            ]
            self.add(table(["metric", "factor", "μ*", "σ"], body, "llrr") + "\n")
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
        for metric in self.metrics if kind in ("sobol", "morris") else []:
            self.figure(
                figures.sensitivity_figure(rows, metric),
                f"sensitivity_{metric}",
                f"{'Sobol’ indices' if kind == 'sobol' else 'Morris μ* and σ'} for {metric}.",
            )

    def figures_section(self) -> None:
        self.add("## Figures\n")
        colour = self.groupings.get(self.colour) if self.colour else None
        second = self.groupings.get(self.second) if self.second else None
        for variable in self.results.series_variables[:MAX_SERIES_FIGURES]:
            fig = figures.series_figure(self.results, variable, colour, second)
            by = f" by {colour.factor}" if colour else ""
            panels = f", one panel per {second.factor}" if second else ""
            self.figure(
                fig,
                f"series_{variable}",
                f"{variable}: mean over runs{by} with its {CONFIDENCE:.0%} interval band{panels}.",
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
        self.figure(
            figures.heatmap_figure(self.results, metric, self.groupings[fx], self.groupings[fy]),
            f"heatmap_{metric}_{fx}_{fy}",
            f"Mean {metric} over {fx} and {fy}.",
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
