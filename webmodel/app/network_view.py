"""The network view: a fixed, readable layout of firms, and a fast per-week redraw.

Layout: one vertical band per state (scenario order, hub first), one horizontal band per tier
(end-item assemblers at the top, raw materials at the bottom) and a row of state "demand" nodes
above them. Within a (state, tier) cell firms sit on a small grid, grouped by product. A force
layout would move every node when a link changes and takes seconds at thousands of firms; this
grid is computed once in milliseconds, and a firm stays where it is, so the eye can follow it
from week to week and from one model to the other.

Both models of the app get the same band widths (:func:`shared_layouts`), so a firm that does
not move between topologies is drawn at the same place in both pictures.

Drawing: the figure is built once per model; each week only colours and a few offsets change
before the PNG is rendered (see :class:`NetworkView`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from webmodel.analysis.palette import DOWN, state_colour
from webmodel.app.render import BlitFigure

if TYPE_CHECKING:
    from webmodel.coalition.bom import BillOfMaterials
    from webmodel.coalition.network import Network
    from webmodel.core.model import CoalitionModel

# States' colours and "down / closed" from the one palette (no wiring colour is used for
# states, and "down" has a colour of its own).
DISRUPTED = DOWN
RESOURCED = "#222222"
CELL_ASPECT = 4.0  # a (state, tier) cell is this many node spacings wide per row it holds
ROW_SPAN = 0.72  # share of a tier band's height used by its rows of firms
GAP = 1.5  # node spacings between state bands


@dataclass
class Layout:
    """Where every firm and every state's demand node is drawn, in data coordinates."""

    firm_xy: np.ndarray  # (n_firms, 2)
    state_xy: np.ndarray  # (n_states, 2), the demand nodes
    band_edges: np.ndarray  # (n_states + 1,) x where each state's band starts (last: end)
    n_tiers: int
    spacing: float  # distance between neighbouring firms in a cell (1 = one grid step)


def _cell_counts(network: Network, tiers: np.ndarray) -> np.ndarray:
    n_states = len(network.state_codes)
    counts = np.zeros((n_states, int(tiers.max()) + 1), dtype=np.int64)
    np.add.at(counts, (network.firms.state, tiers[network.firms.product]), 1)
    return counts


def shared_layouts(networks: list[Network], bom: BillOfMaterials) -> list[Layout]:
    """One layout per network, all with the same state bands (widest cell across networks)."""
    tiers = bom.tiers
    counts = np.stack([_cell_counts(n, tiers) for n in networks])  # (nets, states, tiers)
    # Columns of a cell's grid: about sqrt(count * aspect), so cells are wider than tall.
    columns = np.ceil(np.sqrt(counts * CELL_ASPECT)).astype(np.int64)
    width = np.maximum(columns.max(axis=(0, 2)), 2)  # per state
    edges = np.concatenate([[0.0], np.cumsum(width + GAP)]) - GAP / 2
    return [_layout(n, tiers, width, edges) for n in networks]


def _layout(network: Network, tiers: np.ndarray, width: np.ndarray, edges: np.ndarray) -> Layout:
    firms = network.firms
    firm_tier = tiers[firms.product]
    n_tiers = int(tiers.max()) + 1
    xy = np.zeros((len(firms), 2))
    # Group by state and tier; within a cell, by product, then largest first.
    order = np.lexsort((-firms.capacity, firms.product, firm_tier, firms.state))
    keys = firms.state[order] * n_tiers + firm_tier[order]
    starts = np.flatnonzero(np.diff(keys, prepend=-1))
    ends = np.append(starts[1:], len(order))
    for start, end in zip(starts, ends, strict=True):
        members = order[start:end]
        state, tier = divmod(int(keys[start]), n_tiers)
        count = len(members)
        cols = min(count, int(width[state]))
        rows = -(-count // cols)
        k = np.arange(count)
        row, col = divmod(k, cols)
        # Centre the last (partial) row under the full ones.
        in_row = np.where(row == rows - 1, count - (rows - 1) * cols, cols)
        left = edges[state] + GAP / 2 + (width[state] - in_row) / 2
        xy[members, 0] = left + col + 0.5
        step = ROW_SPAN / max(rows, 1)
        xy[members, 1] = -tier + ROW_SPAN / 2 - step * (row + 0.5)
    centres = (edges[:-1] + edges[1:]) / 2
    state_xy = np.column_stack([centres, np.full(len(centres), 1.0)])
    return Layout(xy, state_xy, edges, n_tiers, 1.0)


class NetworkView:
    """A model's network drawn once, then recoloured each week and rendered to PNG.

    Node colour: the state where the firm produces. Node area: the firm's capacity relative to
    the largest maker of the same product (units differ across products, so absolute capacity
    would hide every interceptor line behind the shell lines). A disrupted firm (availability
    below 1) is faded, with a red edge and a red cross; a closed link (a state cut off, an
    export freeze) is drawn red over the others; a link added by re-sourcing is drawn dark
    (the link it replaced stays drawn faintly, as part of the wiring the run started with).

    The links, labels and axes never change, so they are rasterised once; a picture restores that
    background and draws only the firms, the crosses and the closed links on top (matplotlib's
    blitting), and is drawn at all only when one of those changed: the week and the counts are
    a line of text beside it (:meth:`status_line`), so most weeks re-use the last picture.
    """

    def __init__(self, model: CoalitionModel, layout: Layout, title: str, dpi: int = 100) -> None:
        self.model = model
        self.layout = layout
        self.title = title
        self._lock = threading.Lock()
        net = model.network
        firms = net.firms
        n = len(firms)
        self.figure = fig = Figure(figsize=(6.4, 4.0), dpi=dpi)
        self.blit = BlitFigure(fig)
        fig.subplots_adjust(left=0.1, right=0.99, top=0.9, bottom=0.08)
        ax = self.ax = fig.add_subplot()

        # Links: the wiring as built is drawn once, in the background. Re-sourcing adds links
        # while the model runs; those are drawn on top each frame (there are few of them), so
        # the background never has to be redrawn.
        self.initial_links = net.n_links
        self.links = LineCollection([], linewidths=0.5)
        ax.add_collection(self.links)
        self.resourced = LineCollection([], colors=RESOURCED, linewidths=1.2, animated=True)
        ax.add_collection(self.resourced)
        self.closed = LineCollection([], colors=DISRUPTED, animated=True)
        ax.add_collection(self.closed)
        self.segments = np.zeros((0, 2, 2))
        self.wiring: tuple[int, int] | None = None

        # Firms: area by capacity relative to the product's largest maker.
        biggest = np.zeros(len(net.product_names))
        np.maximum.at(biggest, firms.product, firms.capacity)
        share = firms.capacity / np.maximum(biggest[firms.product], 1e-12)
        scale = min(1.0, np.sqrt(200.0 / max(n, 1)))
        sizes = (6.0 + 70.0 * share) * scale
        self.face = np.array([to_rgba(state_colour(s)) for s in firms.state]).reshape(-1, 4)
        self.nodes = ax.scatter(
            layout.firm_xy[:, 0],
            layout.firm_xy[:, 1],
            s=sizes,
            c=self.face,
            edgecolors="white",
            linewidths=0.3,
            animated=True,
        )
        self.crosses = ax.scatter(
            np.zeros(0),
            np.zeros(0),
            s=max(12.0, 40.0 * scale),
            marker="x",
            c=DISRUPTED,
            linewidths=1.0,
            animated=True,
        )

        # State demand nodes and band labels.
        codes = net.state_codes
        hub = net.scenario.hub
        for s, code in enumerate(codes):
            x, y = layout.state_xy[s]
            ax.scatter([x], [y], s=110, marker="s", c=state_colour(s), zorder=3)
            label = f"{code} (hub)" if code == hub else code
            ax.text(x, y + 0.3, label, ha="center", va="bottom", fontsize=8)
        for edge in layout.band_edges[1:-1]:
            ax.axvline(edge, color="0.9", linewidth=0.8, zorder=0)
        ticks = [1.0, *(-t for t in range(layout.n_tiers))]
        names = ["demand", "end items", *(f"tier {t}" for t in range(1, layout.n_tiers))]
        ax.set_yticks(ticks, names, fontsize=7)
        ax.set_xticks([])
        ax.set_xlim(layout.band_edges[0], layout.band_edges[-1])
        ax.set_ylim(-(layout.n_tiers - 1) - 0.6, 1.75)
        for side in ("top", "right", "bottom"):
            ax.spines[side].set_visible(False)
        fig.legend(
            handles=[
                Line2D([], [], marker="o", ls="", color="0.5", label="firm (area: capacity)"),
                Line2D([], [], marker="o", ls="", mfc="white", mec=DISRUPTED, label="firm down"),
                Line2D([], [], color=DISRUPTED, label="trade closed"),
                Line2D([], [], color=RESOURCED, label="re-sourced"),
            ],
            loc="lower center",
            fontsize=7,
            frameon=False,
            ncols=4,
            borderaxespad=0.1,
        )
        fig.text(0.01, 0.955, title, fontsize=10, weight="bold", va="center")
        self._set_links(initial=True)
        self._shown: tuple | None = None  # what the last picture showed (see png)
        self._png = b""
        self.encoded = 0  # pictures drawn and encoded so far

    def _set_links(self, initial: bool = False) -> None:
        """Read the links from the network: all of them at the start, re-sourced ones later."""
        net = self.model.network
        layout = self.layout
        active = net.link_weight > 0
        self.wiring = (net.n_links, hash(active.tobytes()))
        buyer = net.slot_firm[net.link_slot]
        end = np.where(
            (buyer >= 0)[:, None],
            layout.firm_xy[np.maximum(buyer, 0)],
            layout.state_xy[net.slot_state[net.link_slot]],
        )
        self.segments = np.stack([layout.firm_xy[net.link_supplier], end], axis=1)
        original = np.arange(net.n_links) < self.initial_links
        self.resourced.set_segments(self.segments[active & ~original])
        if not initial:
            return
        # Fainter links as they multiply, so a dense web stays readable.
        alpha = float(np.clip(0.22 * np.sqrt(1000 / max(int(active.sum()), 1)), 0.06, 0.3))
        palette = np.array([to_rgba(state_colour(s), alpha) for s in range(len(net.state_codes))])
        colours = palette[net.firms.state[net.link_supplier]]
        self.links.set_segments(self.segments[active])
        self.links.set_color(colours[active])
        self.links.set_linewidth(0.5 if net.n_links < 2000 else 0.3)

    def _observe(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """What the picture shows this week: links in use, firms' availability, closed links."""
        model = self.model
        active = model.network.link_weight > 0
        availability = np.asarray(model.engine.availability, dtype=float).copy()
        closed = (link_openness(model) < 1.0) & active
        return active, availability, closed

    def _draw(self, active: np.ndarray, availability: np.ndarray, closed: np.ndarray) -> None:
        model = self.model
        if self.wiring != (model.network.n_links, hash(active.tobytes())):
            self._set_links()
        down = availability < 1.0
        face = self.face.copy()
        # A firm at availability a is drawn faded toward white by (1 - a).
        fade = (1.0 - availability)[:, None] * 0.8
        face[:, :3] = face[:, :3] * (1 - fade) + fade
        self.nodes.set_facecolor(face)
        self.nodes.set_edgecolor(np.where(down[:, None], to_rgba(DISRUPTED), to_rgba("white")))
        self.nodes.set_linewidths(np.where(down, 1.0, 0.3))
        self.crosses.set_offsets(self.layout.firm_xy[down].reshape(-1, 2))
        n_closed = int(closed.sum())
        self.closed.set_segments(self.segments[closed])
        self.closed.set_linewidth(0.8 if n_closed < 300 else 0.4)
        self.closed.set_alpha(0.8 if n_closed < 300 else 0.45)

    def status_line(self, observed: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> str:
        """The week and counts, shown beside the picture (not in it, so that a week in which
        nothing drawn changes re-uses the picture). ``observed``: what :meth:`frame` saw."""
        model = self.model
        net = model.network
        active, availability, closed = observed or self._observe()
        status = f"week {model.week} · {net.n_firms} firms, {int(active.sum())} links"
        if net.n_links > self.initial_links:
            status += f" · {net.n_links - self.initial_links} re-sourced"
        if (down := int((availability < 1.0).sum())) > 0:
            status += f" · {down} firms down"
        if (n_closed := int(closed.sum())) > 0:
            status += f" · {n_closed} links closed"
        return status

    def png(self) -> bytes:
        """The current picture as PNG bytes: drawn and encoded only when something it shows
        (the links in use, a firm's availability, a closed link) changed since the last one."""
        return self.frame()[0]

    def frame(self) -> tuple[bytes, str]:
        """The picture and its status line, from one look at the model."""
        with self._lock:
            observed = self._observe()
            active, availability, closed = observed
            shown = (
                self.model.network.n_links,
                active.tobytes(),
                availability.tobytes(),
                closed.tobytes(),
            )
            if shown != self._shown:
                self._draw(active, availability, closed)
                artists = [self.resourced, self.closed, self.nodes, self.crosses]
                self._png = self.blit.png("static", artists)
                self._shown = shown
                self.encoded += 1
            return self._png, self.status_line(observed)


def link_openness(model: CoalitionModel) -> np.ndarray:
    """Per link, in the network's order: 1 open, 0 closed (the engine keeps its own order)."""
    engine = model.engine
    n_links = model.network.n_links
    link_open = getattr(engine, "link_open", None)
    if link_open is None:
        return np.ones(n_links)
    order = getattr(engine, "link_order", None)
    if order is None:
        return np.asarray(link_open, dtype=float)
    out = np.ones(n_links)
    real = order >= 0  # (-1: a spare place the engine keeps for re-sourcing)
    out[order[real]] = np.asarray(link_open)[real]
    return out
