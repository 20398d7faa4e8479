"""Figures for a sweep report, sized and styled for print (PNG at 300 dpi, SVG or PDF).

Colours are the Okabe-Ito palette (distinguishable with the common colour-vision deficiencies);
text stays text in SVG; files carry no creation date, so the same results give the same files.
Figures are plain ``matplotlib.figure.Figure`` objects, not pyplot's: nothing here picks a
backend or keeps figures alive, so a notebook's own backend and figures are left alone (a
notebook shows a returned figure as it is).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from webmodel.analysis.report.data import Grouping, SweepResults
from webmodel.analysis.report.stats import series_bands

OKABE_ITO = (
    "#0072B2",
    "#D55E00",
    "#009E73",
    "#CC79A7",
    "#E69F00",
    "#56B4E9",
    "#F0E442",
    "#000000",
)
WIDTH = 6.5  # inches: a journal's full text width
STYLE = {
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.labelsize": 8,
    "legend.fontsize": 7,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.5,
    "lines.linewidth": 1.2,
    "savefig.dpi": 300,
    "savefig.bbox": "tight",
    "svg.fonttype": "none",
    "svg.hashsalt": "webmodel",
    "pdf.fonttype": 42,
    "axes.prop_cycle": matplotlib.cycler(color=OKABE_ITO),
}


@contextmanager
def style() -> Iterator[None]:
    with matplotlib.rc_context(STYLE):
        yield


def save(fig: Figure, folder: Path, stem: str, formats: tuple[str, ...]) -> list[Path]:
    """Write the figure in every format; return the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        path = folder / f"{stem}.{fmt}"
        metadata: dict[str, Any] = {"Software": "webmodel"} if fmt == "png" else {}
        if fmt in ("svg", "pdf"):
            metadata = {"Date": None, "Creator": "webmodel"}
        if fmt == "pdf":
            metadata["CreationDate"] = None
            del metadata["Date"]
        fig.savefig(path, format=fmt, metadata=metadata)
        paths.append(path)
    return paths


DEMAND_LINE_COLOUR = "#555555"  # the legend's key for the dashed demand lines


def demand_of(variable: str, results: SweepResults) -> str | None:
    """The demand series that goes with a deliveries series (``delivered.X`` or
    ``served.X`` -> ``demanded.X``), if the sweep kept it."""
    kind, dot, rest = variable.partition(".")
    if kind not in ("delivered", "served") or not dot:
        return None
    demand = f"demanded.{rest}"
    return demand if demand in results.series_variables else None


def _colours(grouping: Grouping | None) -> list[str]:
    """A colour per level: the wirings' own colours (webmodel.analysis.palette) when the levels
    are the two topologies, the Okabe-Ito cycle otherwise."""
    from webmodel.analysis.palette import HUB, WEB

    labels = list(grouping.labels) if grouping is not None else ["all runs"]
    wiring = {"hub-and-spokes": HUB, "production-web": WEB}
    if set(labels) <= set(wiring):
        return [wiring[label] for label in labels]
    return [OKABE_ITO[i % len(OKABE_ITO)] for i in range(len(labels))]


def series_figure(
    results: SweepResults, variable: str, colour: Grouping | None, panel: Grouping | None
) -> Figure | None:
    """Mean of a series over runs by step, with its 95% interval band; a line per level of
    ``colour``, a panel per level of ``panel``."""
    run_id, step, value = results.series(variable)
    if len(run_id) == 0:
        return None
    n_runs = int(results.runs.column("run_id").to_numpy().max()) + 1
    run_ids = results.runs.column("run_id").to_numpy()
    ok = results.ok

    def index_of(grouping: Grouping | None) -> tuple[np.ndarray, int]:
        out = np.full(n_runs, -1)
        if grouping is None:
            out[run_ids[ok]] = 0
            return out, 1
        out[run_ids[ok]] = grouping.index[ok]
        return out, len(grouping)

    colour_of, n_colours = index_of(colour)
    panel_of, n_panels = index_of(panel)
    combined = np.where((colour_of >= 0) & (panel_of >= 0), panel_of * n_colours + colour_of, -1)
    steps, mean, low, high = series_bands(run_id, step, value, combined, n_colours * n_panels)
    if len(value) and np.nanmin(value) >= 0:
        low = np.maximum(low, 0.0)  # a count's band never below 0 (the t band is symmetric)
    demand = demand_of(variable, results)
    wanted = None
    if demand is not None:
        d_run, d_step, d_value = results.series(demand)
        d_steps, wanted, _, _ = series_bands(d_run, d_step, d_value, combined, n_colours * n_panels)
    fig = Figure(figsize=(WIDTH, 2.4), layout="constrained")
    axes = fig.subplots(1, n_panels, sharey=True, squeeze=False)
    colours = _colours(colour)
    for p in range(n_panels):
        ax = axes[0, p]
        for c in range(n_colours):
            row = p * n_colours + c
            if np.all(np.isnan(mean[row])):
                continue
            label = colour.labels[c] if colour else "all runs"
            ax.fill_between(steps, low[row], high[row], color=colours[c], alpha=0.25, lw=0)
            ax.plot(steps, mean[row], color=colours[c], label=label)
            if wanted is not None and not np.all(np.isnan(wanted[row])):
                # Demand dashed: grey where every level of the colour factor has the same
                # demand, else in the level's colour (a surge factor changes it).
                rows = wanted[p * n_colours : (p + 1) * n_colours]
                same = np.allclose(rows, rows[c], equal_nan=True)
                tint = DEMAND_LINE_COLOUR if same else colours[c]
                ax.plot(d_steps, wanted[row], color=tint, ls="--", lw=0.9, zorder=3)
        if wanted is not None:
            ax.plot([], [], color=DEMAND_LINE_COLOUR, ls="--", lw=0.9, label="demanded")
        if panel is not None:
            ax.set_title(f"{panel.factor} = {panel.labels[p]}")
        ax.set_xlabel("week")
    axes[0, 0].set_ylabel(variable)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    if (colour is not None or wanted is not None) and handles:
        fig.legend(
            handles,
            labels,
            title=colour.factor if colour is not None else None,
            loc="outside upper center",
            ncols=min(len(labels), 4),
            frameon=False,
        )
    return fig


def distribution_figure(
    results: SweepResults, metrics: list[str], colour: Grouping | None, x: Grouping | None
) -> Figure:
    """Box plots of each metric's runs by level of ``x`` (positions) and ``colour`` (boxes),
    with every run drawn as a point."""
    columns = min(3, len(metrics))
    rows = int(np.ceil(len(metrics) / columns))
    fig = Figure(figsize=(WIDTH, 2.0 * rows), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False)
    ok = results.ok
    n_colours = len(colour) if colour else 1
    n_x = len(x) if x else 1
    width = 0.8 / n_colours
    colours = _colours(colour)
    jitter = np.random.default_rng(0).uniform(-0.25, 0.25, results.runs.num_rows) * width
    for k, metric in enumerate(metrics):
        ax = axes[k // columns, k % columns]
        values = results.column(metric)
        for c in range(n_colours):
            for i in range(n_x):
                mask = ok & ~np.isnan(values)
                if colour is not None:
                    mask &= colour.index == c
                if x is not None:
                    mask &= x.index == i
                if not mask.any():
                    continue
                position = i + (c - (n_colours - 1) / 2) * width
                ax.boxplot(
                    values[mask],
                    positions=[position],
                    widths=width * 0.8,
                    showfliers=False,
                    patch_artist=True,
                    boxprops={"facecolor": colours[c], "alpha": 0.35, "linewidth": 0.6},
                    medianprops={"color": colours[c], "linewidth": 1.2},
                    whiskerprops={"linewidth": 0.6},
                    capprops={"linewidth": 0.6},
                )
                ax.scatter(
                    position + jitter[mask], values[mask], s=4, color=colours[c], alpha=0.7, lw=0
                )
        ax.set_title(metric)
        ax.set_xticks(range(n_x), x.labels if x else [""])
        if x is not None:
            ax.set_xlabel(x.factor)
    for k in range(len(metrics), rows * columns):
        axes[k // columns, k % columns].set_visible(False)
    if colour is not None:
        handles = [Rectangle((0, 0), 1, 1, color=c, alpha=0.6) for c in colours]
        fig.legend(
            handles,
            colour.labels,
            title=colour.factor if colour is not None else None,
            loc="outside upper center",
            ncols=min(n_colours, 4),
            frameon=False,
        )
    return fig


def heatmap_figure(results: SweepResults, metric: str, gx: Grouping, gy: Grouping) -> Figure:
    """The mean of ``metric`` in each cell of two factors, written in the cell (the median of
    the runs that reach the level, for a time to reach one: a mean would average its modes)."""
    from webmodel.core.labels import label_of

    values = results.column(metric)
    ok = results.ok & ~np.isnan(values)
    median = label_of(metric).summary == "median"
    grid = np.full((len(gy), len(gx)), np.nan)
    for j in range(len(gy)):
        for i in range(len(gx)):
            cell = values[ok & (gx.index == i) & (gy.index == j)]
            if len(cell):
                grid[j, i] = (
                    np.quantile(cell, 0.5, method="inverted_cdf") if median else cell.mean()
                )
    fig = Figure(
        figsize=(min(WIDTH, 1.2 + 0.9 * len(gx)), 1.0 + 0.45 * len(gy)), layout="constrained"
    )
    ax = fig.subplots()
    image = ax.imshow(grid, cmap="viridis", aspect="auto", origin="lower")
    ax.grid(False)
    ax.set_xticks(range(len(gx)), gx.labels)
    ax.set_yticks(range(len(gy)), gy.labels)
    ax.set_xlabel(gx.factor)
    ax.set_ylabel(gy.factor)
    finite = grid[np.isfinite(grid)]
    middle = (finite.min() + finite.max()) / 2 if len(finite) else 0
    for j in range(len(gy)):
        for i in range(len(gx)):
            if np.isfinite(grid[j, i]):
                ax.text(
                    i,
                    j,
                    f"{grid[j, i]:.3g}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="black" if grid[j, i] > middle else "white",
                )
    fig.colorbar(image, ax=ax, label=f"{'median' if median else 'mean'} {metric}")
    return fig


def sensitivity_figure(
    rows: list[dict[str, Any]], metric: str, title: str | None = None
) -> Figure | None:
    """Sobol' S1 and ST as bars with intervals, or Morris mu* against sigma.

    ``title`` (default: the metric) says what the indices are of, e.g. a paired difference.
    """
    rows = [r for r in rows if r["metric"] == metric]
    if not rows:
        return None
    fig = Figure(figsize=(WIDTH / 2, 2.4), layout="constrained")
    ax = fig.subplots()
    names = [r["factor"] for r in rows]
    if "S1" in rows[0]:
        y = np.arange(len(rows))
        for offset, key, colour in ((-0.2, "S1", OKABE_ITO[0]), (0.2, "ST", OKABE_ITO[1])):
            ax.barh(
                y + offset,
                [r[key] for r in rows],
                height=0.38,
                xerr=[r[f"{key}_conf"] for r in rows],
                color=colour,
                label=key,
                error_kw={"linewidth": 0.6},
            )
        ax.set_yticks(y, names)
        ax.set_xlabel("Sobol' index")
        ax.legend(frameon=False)
    else:
        mu = [r["mu_star"] for r in rows]
        sigma = [r["sigma"] for r in rows]
        ax.scatter(mu, sigma, color=OKABE_ITO[0], s=12)
        for name, a, b in zip(names, mu, sigma, strict=True):
            ax.annotate(name, (a, b), fontsize=7, xytext=(3, 3), textcoords="offset points")
        ax.set_xlabel("μ* (mean |elementary effect|)")
        ax.set_ylabel("σ")
    ax.set_title(title or metric)
    return fig
