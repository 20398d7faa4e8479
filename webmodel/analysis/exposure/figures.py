"""Figures of the dependency map: a state x product heatmap of foreign shares, and a tier-by-tier
flow diagram of one end item's inputs coloured by the state they come from.

Matplotlib ``Figure`` objects (no pyplot state), in the report's style and Okabe-Ito colours.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from webmodel.analysis.exposure.dependency import DependencyMap, state_product_shares
from webmodel.analysis.report.figures import OKABE_ITO, STYLE, WIDTH

HOME = "#DDDDDD"  # the state's own production in the flow diagram


def _product_order(dmap: DependencyMap) -> list[int]:
    """Products that enter some supply tree, end items first, then by tier."""
    tier = {}
    for f in dmap.flows:
        for t, p in zip(f.tier.tolist(), f.product.tolist(), strict=True):
            tier[p] = min(tier.get(p, t), t)
    return sorted(tier, key=lambda p: (tier[p], p))


def heatmap(maps: list[DependencyMap], role: str = "consumes") -> Figure:
    """One panel per wiring: rows = states, columns = products, cell = % of the product's units
    in the state's supply trees that are made abroad (blank: the product does not enter)."""
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(WIDTH, 1.6 + 1.5 * len(maps)), layout="constrained")
        axes = fig.subplots(len(maps), 1, squeeze=False)[:, 0]
        image = None
        for ax, dmap in zip(axes, maps, strict=True):
            order = _product_order(dmap)
            shares = state_product_shares(dmap, role)[:, order] * 100
            image = ax.imshow(shares, vmin=0, vmax=100, cmap="cividis", aspect="auto")
            ax.set_yticks(range(len(dmap.states)), dmap.states)
            ax.set_xticks(
                range(len(order)), [dmap.products[p] for p in order], rotation=45, ha="right"
            )
            ax.grid(False)
            for (i, j), value in np.ndenumerate(shares):
                if not np.isnan(value):
                    colour = "black" if value > 60 else "white"
                    ax.text(j, i, f"{value:.0f}", ha="center", va="center", fontsize=5.5, c=colour)
            ax.set_title(f"{dmap.topology}: % of input units made abroad ({role})")
        if image is not None:
            fig.colorbar(image, ax=list(axes), label="% foreign", shrink=0.8)
    return fig


def flow_diagram(maps: list[DependencyMap], state: str, end_item: str) -> Figure:
    """One panel per wiring: a column per tier of ``state``'s supply of ``end_item``; each bar is
    a product's share of the tier's units, split by the state that makes it (grey = home);
    lines join each input to the products that use it."""
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(WIDTH, 2.6 * len(maps)), layout="constrained")
        axes = fig.subplots(len(maps), 1, squeeze=False)[:, 0]
        colours = {}
        for ax, dmap in zip(axes, maps, strict=True):
            flows = dmap.of(state, "consumes", end_item)
            ax.set_title(f"{dmap.topology}: where {state}'s {end_item} and its inputs are made")
            ax.grid(False)
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if flows is None:
                ax.text(0.5, 0.5, "no supply", ha="center", transform=ax.transAxes)
                continue
            home = dmap.states.index(state)
            centres: dict[tuple[int, int], float] = {}
            tiers = np.unique(flows.tier)
            for t in tiers:
                at = flows.tier == t
                total = flows.units[at].sum()
                y = 0.0
                for p in dict.fromkeys(flows.product[at].tolist()):
                    mine = at & (flows.product == p)
                    height = flows.units[mine].sum() / total
                    centres[(int(t), p)] = y + height / 2
                    seg = y
                    by_source = np.bincount(flows.source[mine], flows.units[mine], len(dmap.states))
                    for s in [home, *[s for s in range(len(dmap.states)) if s != home]]:
                        if by_source[s] <= 0:
                            continue
                        h = by_source[s] / total
                        if s == home:
                            colour = HOME
                        else:
                            colour = OKABE_ITO[s % len(OKABE_ITO)]
                            colours[dmap.states[s]] = colour
                        ax.add_patch(Rectangle((t - 0.15, seg), 0.3, h, fc=colour, ec="white"))
                        seg += h
                    ax.text(t + 0.17, y + height / 2, dmap.products[p], va="center", fontsize=6)
                    y += height
            bom = dmap.bom
            for (t, p), yc in centres.items():
                for (t2, q), y2 in centres.items():
                    if t2 == t - 1 and bom[q, p] > 0:
                        ax.plot([t - 0.15, t2 + 0.15], [yc, y2], c="0.6", lw=0.5, zorder=0)
            ax.set_xlim(-0.3, tiers.max() + 1.0)
            ax.set_ylim(0, 1)
            for t in tiers:
                ax.text(t, -0.04, f"tier {t}", ha="center", va="top", fontsize=6)
        handles = [Rectangle((0, 0), 1, 1, fc=HOME)] + [
            Rectangle((0, 0), 1, 1, fc=c) for c in colours.values()
        ]
        fig.legend(
            handles,
            [f"{state} (home)", *colours],
            loc="outside lower center",
            ncols=len(handles),
            frameon=False,
        )
    return fig


def save_svg_png(fig: Figure, path: str | Path) -> list[Path]:
    """Write ``path`` as SVG and PNG (whatever its suffix), with no dates in the files."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    stem = path.with_suffix("")
    out = []
    with matplotlib.rc_context(STYLE):
        for fmt in ("svg", "png"):
            target = stem.with_suffix(f".{fmt}")
            meta = (
                {"Date": None, "Creator": "webmodel"} if fmt == "svg" else {"Software": "webmodel"}
            )
            fig.savefig(target, format=fmt, metadata=meta)
            out.append(target)
    return out
