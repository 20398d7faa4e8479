"""The findings' figures: means with 95% interval bands, one panel per condition.

Drawn with the sweep report's style and written by its writer
(``webmodel.analysis.report.figures``: Okabe-Ito colours, print sizes, PNG at 300 dpi plus SVG,
no creation date in the files).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from webmodel.analysis.palette import HUB, WEB
from webmodel.analysis.report.figures import OKABE_ITO, WIDTH, save, style
from webmodel.analysis.report.stats import Estimate

FINDINGS_FORMATS = ("png", "svg")
TOPOLOGY_COLOURS = {
    "hub-and-spokes": HUB,
    "production-web": WEB,
    "web": WEB,
}


def new_figure(panels: int, columns: int = 4, height: float = 1.9) -> tuple[Figure, list[Axes]]:
    """A grid of ``panels`` small panels, full text width."""
    columns = min(columns, panels)
    rows = -(-panels // columns)
    fig = Figure(figsize=(WIDTH, height * rows), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False)
    flat = list(axes.ravel())
    for ax in flat[panels:]:
        ax.set_visible(False)
    return fig, flat[:panels]


def band(
    ax: Axes,
    x: Sequence[float],
    estimates: Sequence[Estimate | None],
    label: str,
    colour: str,
    marker: str = "o",
) -> None:
    """Means as a line with markers, and their 95% intervals as a shaded band."""
    x = np.asarray(x, dtype=float)
    mean = np.array([np.nan if e is None else e.mean for e in estimates])
    low = np.array([np.nan if e is None or e.low is None else e.low for e in estimates])
    high = np.array([np.nan if e is None or e.high is None else e.high for e in estimates])
    ax.plot(x, mean, marker=marker, markersize=2.5, color=colour, label=label)
    ax.fill_between(x, low, high, color=colour, alpha=0.2, linewidth=0)


def write_figure(fig: Figure, folder: Path, stem: str) -> str:
    """Writes the figure (PNG and SVG) and closes it; returns the PNG's file name (for a
    Markdown link)."""
    save(fig, folder, stem, FINDINGS_FORMATS)
    return f"{stem}.png"


def condition_panels(
    panels: list[tuple[str, list[Estimate | None]]],
    x: Sequence[float],
    xlabel: str,
    ylabel: str,
    folder: Path,
    stem: str,
    columns: int = 4,
    zero_line: bool = False,
) -> str:
    """One panel per condition, each a band of estimates over ``x``; returns the PNG's name."""
    with style():
        fig, axes = new_figure(len(panels), columns=columns)
        for ax, (title, estimates) in zip(axes, panels, strict=True):
            band(ax, x, estimates, title, OKABE_ITO[0])
            if zero_line:
                ax.axhline(0, color="grey", linewidth=0.6)
            ax.set_title(title.replace(" + ", "\n+ "))  # long condition names on two lines
            ax.set_xlabel(xlabel)
        axes[0].set_ylabel(ylabel)
        return write_figure(fig, folder, stem)


def grouped_bars(
    panels: list[tuple[str, list[str], dict[str, list[Estimate | None]]]],
    ylabel: str,
    folder: Path,
    stem: str,
    columns: int = 4,
    height: float = 2.1,
) -> str:
    """Per panel, a bar per category and series (colour: topology) with 95% interval whiskers."""
    with style():
        fig, axes = new_figure(len(panels), columns=columns, height=height)
        for ax, (title, categories, series) in zip(axes, panels, strict=True):
            width = 0.8 / max(len(series), 1)
            x = np.arange(len(categories))
            for k, (label, estimates) in enumerate(series.items()):
                mean = np.array([np.nan if e is None else e.mean for e in estimates])
                low = np.array(
                    [
                        m if e is None or e.low is None else e.low
                        for e, m in zip(estimates, mean, strict=True)
                    ]
                )
                high = np.array(
                    [
                        m if e is None or e.high is None else e.high
                        for e, m in zip(estimates, mean, strict=True)
                    ]
                )
                colour = TOPOLOGY_COLOURS.get(label, OKABE_ITO[k % len(OKABE_ITO)])
                ax.bar(
                    x + (k - (len(series) - 1) / 2) * width,
                    mean,
                    width,
                    yerr=[mean - low, high - mean],
                    color=colour,
                    label=label,
                    error_kw={"linewidth": 0.6},
                )
            ax.axhline(0, color="grey", linewidth=0.6)
            ax.set_xticks(x, categories, rotation=30, ha="right")
            ax.set_title(title.replace(" + ", "\n+ "))
        axes[0].set_ylabel(ylabel)
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), frameon=False)
        return write_figure(fig, folder, stem)
