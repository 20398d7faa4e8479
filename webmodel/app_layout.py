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
before the PNG is rendered, which keeps a frame well under a second at 1,000 firms.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

if TYPE_CHECKING:
    from webmodel.bom import BillOfMaterials
    from webmodel.model import CoalitionModel
    from webmodel.network import Network

# Okabe-Ito-like qualitative colours, distinguishable for most colour-blind readers.
STATE_COLOURS = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#999999",
    "#000000",
    "#882255",
)
DISRUPTED = "#d62728"
CELL_ASPECT = 4.0  # a (state, tier) cell is this many node spacings wide per row it holds
ROW_SPAN = 0.72  # share of a tier band's height used by its rows of firms
GAP = 1.5  # node spacings between state bands


def state_colour(index: int) -> str:
    return STATE_COLOURS[index % len(STATE_COLOURS)]


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
    below 1) gets a red edge and a red cross; a closed link (a state cut off, an export freeze)
    is drawn red over the others.
    """

    def __init__(
        self, model: CoalitionModel, layout: Layout, title: str, dpi: int = 100
    ) -> None:
        self.model = model
        self.layout = layout
        self.title = title
        self.dpi = dpi
        self._lock = threading.Lock()
        net = model.network
        firms = net.firms
        n = len(firms)
        self.figure = fig = Figure(figsize=(6.4, 3.9), dpi=dpi, layout="constrained")
        ax = self.ax = fig.add_subplot()

        # Links: supplier -> buying firm, or supplier -> the state's demand node.
        buyer = net.slot_firm[net.link_slot]
        end = np.where(
            (buyer >= 0)[:, None],
            layout.firm_xy[np.maximum(buyer, 0)],
            layout.state_xy[net.slot_state[net.link_slot]],
        )
        segments = np.stack([layout.firm_xy[net.link_supplier], end], axis=1)
        self.link_rgba = np.array(
            [to_rgba(state_colour(s), 0.22) for s in firms.state[net.link_supplier]]
        )
        if len(self.link_rgba) == 0:
            self.link_rgba = np.zeros((0, 4))
        width = 0.5 if net.n_links < 3000 else 0.3
        self.links = LineCollection(segments, colors=self.link_rgba, linewidths=width, zorder=1)
        ax.add_collection(self.links)
        self.segments = segments
        self.closed = LineCollection([], colors=DISRUPTED, linewidths=1.0, zorder=2, alpha=0.8)
        ax.add_collection(self.closed)

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
            zorder=3,
        )
        self.crosses = ax.scatter(
            [], [], s=max(12.0, 40.0 * scale), marker="x", c=DISRUPTED, linewidths=1.0, zorder=4
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
        ax.legend(
            handles=[
                Line2D([], [], marker="o", ls="", mfc="white", mec=DISRUPTED, label="firm down"),
                Line2D([], [], color=DISRUPTED, label="trade closed"),
            ],
            loc="lower right",
            fontsize=7,
            frameon=False,
            ncols=2,
            bbox_to_anchor=(1.0, 1.0),
        )
        self.heading = ax.set_title("", fontsize=9, loc="left")

    def update(self) -> None:
        """Recolour for the model's current week: firms down, links closed."""
        model = self.model
        engine = model.engine
        availability = np.asarray(engine.availability)
        down = availability < 1.0
        face = self.face.copy()
        # A firm at availability a is drawn faded toward white by (1 - a).
        fade = (1.0 - availability)[:, None] * 0.8
        face[:, :3] = face[:, :3] * (1 - fade) + fade
        edges = np.where(down[:, None], to_rgba(DISRUPTED), to_rgba("white"))
        self.nodes.set_facecolor(face)
        self.nodes.set_edgecolor(edges)
        self.nodes.set_linewidths(np.where(down, 1.0, 0.3))
        self.crosses.set_offsets(self.layout.firm_xy[down].reshape(-1, 2))

        link_open = link_openness(model)
        closed = link_open < 1.0
        colours = self.link_rgba.copy()
        colours[closed, 3] = 0.0
        self.links.set_color(colours)
        self.closed.set_segments(self.segments[closed])
        n_down, n_closed = int(down.sum()), int(closed.sum())
        status = f"week {model.week}"
        if n_down:
            status += f" · {n_down} firms down"
        if n_closed:
            status += f" · {n_closed} links closed"
        self.heading.set_text(
            f"{self.title}: {model.network.n_firms} firms, {model.network.n_links} links · {status}"
        )

    def png(self) -> bytes:
        """The current picture as PNG bytes."""
        with self._lock:
            self.update()
            buffer = io.BytesIO()
            self.figure.savefig(buffer, format="png", dpi=self.dpi)
            return buffer.getvalue()


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
    out[order] = link_open
    return out
