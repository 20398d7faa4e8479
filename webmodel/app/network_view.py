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
from matplotlib.collections import Collection, LineCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from webmodel.analysis.palette import DOWN, state_colour
from webmodel.app.render import BlitFigure, png_rgb

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
RIM = 1.5  # pixels beyond a shape that its antialiased edge may still tint (FirmLayers)


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

    The links, labels and axes never change, so they are rasterised once; the re-sourced and
    closed links are drawn on that background (matplotlib's blitting) only when they change;
    the firms are rasterised once in three looks and blended pixel by pixel for each week's
    availability (:class:`FirmLayers`; drawing ~1,000 markers took ~11 ms a picture). A picture
    is made at all only when something it shows changed: the week and the counts are a line of
    text beside it (:meth:`status_line`), so most weeks re-use the last picture.
    :meth:`matplotlib_pixels` draws the same picture with matplotlib alone, the spec the fast
    path is tested against.
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
        self._links_shown: tuple | None = None  # the links drawn in ``_links_rgb``
        self._links_rgb = np.zeros((0, 0, 3), dtype=np.uint8)
        self._firm_layers: FirmLayers | None = None  # made with the first picture

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

    def _set_link_artists(self, active: np.ndarray, closed: np.ndarray) -> None:
        if self.wiring != (self.model.network.n_links, hash(active.tobytes())):
            self._set_links()
        n_closed = int(closed.sum())
        self.closed.set_segments(self.segments[closed])
        self.closed.set_linewidth(0.8 if n_closed < 300 else 0.4)
        self.closed.set_alpha(0.8 if n_closed < 300 else 0.45)

    def _set_firm_artists(self, availability: np.ndarray) -> None:
        down = availability < 1.0
        face = self.face.copy()
        # A firm at availability a is drawn faded toward white by (1 - a).
        fade = (1.0 - availability)[:, None] * 0.8
        face[:, :3] = face[:, :3] * (1 - fade) + fade
        self.nodes.set_facecolor(face)
        self.nodes.set_edgecolor(np.where(down[:, None], to_rgba(DISRUPTED), to_rgba("white")))
        self.nodes.set_linewidths(np.where(down, 1.0, 0.3))
        self.crosses.set_offsets(self.layout.firm_xy[down].reshape(-1, 2))

    def _links_pixels(self, active: np.ndarray, closed: np.ndarray) -> np.ndarray:
        """The background with this week's re-sourced and closed links (drawn when they change)."""
        shown = (self.model.network.n_links, active.tobytes(), closed.tobytes())
        if shown != self._links_shown:
            self._set_link_artists(active, closed)
            self._links_rgb = self.blit.pixels("static", [self.resourced, self.closed])
            self._links_shown = shown
        return self._links_rgb

    def pixels(self, observed: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
        """The picture of what ``observed`` (from :meth:`_observe`) shows, as RGB pixels."""
        active, availability, closed = observed
        links = self._links_pixels(active, closed)
        if self._firm_layers is None:
            self._firm_layers = FirmLayers(self)
        return self._firm_layers.over(links, availability)

    def matplotlib_pixels(self) -> np.ndarray:
        """The same picture drawn by matplotlib alone, every firm a marker (the spec
        :meth:`pixels` is tested against; ~10 ms slower at 1,000 firms)."""
        with self._lock:
            active, availability, closed = self._observe()
            self._set_link_artists(active, closed)
            self._set_firm_artists(availability)
            artists = [self.resourced, self.closed, self.nodes, self.crosses]
            pixels = self.blit.pixels("static", artists)
            self._links_shown = None  # the blit's buffer was drawn over
            return pixels

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
                self._png = png_rgb(self.pixels(observed))
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


class FirmLayers:
    """A view's firms rasterised once, each on its own, and composited each week.

    A firm's look depends on its availability ``a`` alone: at ``a = 1`` its state's colour
    with a thin white edge; below 1 a red edge, its colour faded toward white by
    ``0.8 (1 - a)``, and a red cross on top. The fade is linear in ``1 - a`` and the shapes do
    not change, so a marker below 1 is exactly the blend, by ``1 - a``, of the marker drawn at
    ``a`` just below 1 and the one drawn at ``a = 0`` (kept with their coverage as alpha).

    Each firm's marker and cross are rasterised alone, in three looks: firms are split into
    groups in which no two shapes (with their antialiased rims) touch, and each group is drawn
    at once on a transparent canvas. A week's picture lays them over the links in matplotlib's
    order — every marker by firm, then every cross by firm — one overlap rank at a time, so it
    is the picture matplotlib draws up to rounding (:meth:`NetworkView.matplotlib_pixels`, the
    spec; tests/test_app_components.py holds them to 3 levels of 255).
    """

    def __init__(self, view: NetworkView) -> None:
        canvas = view.blit.canvas
        renderer = canvas.get_renderer()
        self.shape = (int(renderer.height), int(renderer.width))
        n = len(view.face)
        per_point = view.figure.dpi / 72.0  # pixels per point
        edge = 1.0  # points: the widest edge a marker or cross is drawn with
        marker = (np.sqrt(view.nodes.get_sizes()) + edge) / 2 * per_point + RIM
        cross_side = np.sqrt(view.crosses.get_sizes()[0])
        cross = np.full(n, (cross_side * np.sqrt(2.0) + edge) / 2 * per_point + RIM)
        x, y = view.ax.transData.transform(view.layout.firm_xy).T
        centres = np.column_stack([self.shape[0] - y, x])  # (row, column) in pixels
        groups = _apart(centres, np.maximum(marker, cross))

        def rasterise(artist: Collection) -> np.ndarray:
            renderer.clear()  # transparent: a drawing keeps its coverage as alpha
            view.ax.draw_artist(artist)
            return np.asarray(canvas.buffer_rgba()).reshape(-1, 4).astype(np.float32)

        marker_parts, cross_parts = [], []
        for members in groups:
            looks = []
            for availability in (1.0, np.nextafter(1.0, 0.0), 0.0):  # up; down; down, faded
                view._set_firm_artists(np.full(n, availability))
                face = view.nodes.get_facecolor()
                edges = view.nodes.get_edgecolor()
                hidden = np.ones(n, dtype=bool)
                hidden[members] = False
                face[hidden, 3] = 0.0
                edges[hidden, 3] = 0.0
                view.nodes.set_facecolor(face)
                view.nodes.set_edgecolor(edges)
                looks.append(rasterise(view.nodes))
            marker_parts.append(self._stamps(looks, members, centres, marker))
            view.crosses.set_offsets(view.layout.firm_xy[members])
            crosses = rasterise(view.crosses)
            cross_parts.append(self._stamps([crosses], members, centres, cross))
        view._set_firm_artists(np.ones(n))
        view._links_shown = None  # the blit's buffer was drawn over
        self.markers = _Stamps.join(marker_parts)
        self.crosses = _Stamps.join(cross_parts)

    def _stamps(
        self, looks: list[np.ndarray], members: np.ndarray, centres: np.ndarray, reach: np.ndarray
    ) -> _Stamps:
        """The drawn pixels of one group's looks, each given to the member that reaches it."""
        drawn = np.zeros(len(looks[0]), dtype=bool)
        for look in looks:
            drawn |= look[:, 3] > 0
        pixels = np.flatnonzero(drawn)
        height, width = self.shape
        # Within a group shapes never touch: each drawn pixel is in one member's reach.
        span = int(np.ceil(reach[members].max()))
        dr, dc = np.mgrid[-span : span + 1, -span : span + 1].reshape(2, -1)
        row, col = centres[members, 0][:, None], centres[members, 1][:, None]
        r, c = np.floor(row).astype(np.int64) + dr, np.floor(col).astype(np.int64) + dc
        near = np.hypot(c + 0.5 - col, r + 0.5 - row) <= reach[members][:, None]
        near &= (r >= 0) & (r < height) & (c >= 0) & (c < width)
        firm = np.broadcast_to(members[:, None], near.shape)
        owners = np.full(height * width, -1, dtype=np.int64)
        owners[(r * width + c)[near]] = firm[near]
        owner = owners[pixels]
        if (owner < 0).any():
            raise AssertionError("a firm is drawn further out than FirmLayers reaches")
        return _Stamps(pixels, owner, [look[pixels] for look in looks])

    def over(self, background: np.ndarray, availability: np.ndarray) -> np.ndarray:
        """The firms at ``availability`` drawn over ``background`` (RGB), as RGB pixels."""
        out = background.reshape(-1, 3).copy()
        markers = self.markers
        a = availability[markers.owner]
        down = (a < 1.0)[:, None]
        up, unfaded, faded = markers.looks
        source = np.where(down, unfaded + (faded - unfaded) * (1.0 - a)[:, None], up)
        for rank in markers.ranks:
            _blend(out, markers.pixels[rank], source[rank])
        crosses = self.crosses
        shown = availability[crosses.owner] < 1.0
        for rank in crosses.ranks:
            rank = rank[shown[rank]]
            _blend(out, crosses.pixels[rank], crosses.looks[0][rank])
        return out.reshape(*self.shape, 3)


class _Stamps:
    """Firms' drawn pixels (flat index, firm, RGBA per look), in drawing order per pixel:
    ``ranks[k]`` indexes the stamps that are the k-th drawn at their pixel."""

    def __init__(self, pixels: np.ndarray, owner: np.ndarray, looks: list[np.ndarray]) -> None:
        order = np.lexsort((owner, pixels))  # by pixel, then by firm: the order drawn
        self.pixels, self.owner = pixels[order], owner[order]
        self.looks = [look[order] for look in looks]
        first = np.flatnonzero(np.diff(self.pixels, prepend=-1))
        rank = np.arange(len(self.pixels)) - np.repeat(first, np.diff(first, append=len(order)))
        self.ranks = [np.flatnonzero(rank == k) for k in range(int(rank.max(initial=-1)) + 1)]

    @classmethod
    def join(cls, parts: list[_Stamps]) -> _Stamps:
        looks = [np.concatenate(look) for look in zip(*(p.looks for p in parts), strict=True)]
        pixels = np.concatenate([p.pixels for p in parts])
        return cls(pixels, np.concatenate([p.owner for p in parts]), looks)


def _apart(centres: np.ndarray, reach: np.ndarray) -> list[np.ndarray]:
    """Firms split into groups in which no two firms' reaches overlap (greedy colouring)."""
    n = len(centres)
    group = np.full(n, -1, dtype=np.int64)
    for firm in range(n):  # (at set-up, n <= FIRM_VIEW_MAX: not per week)
        distance = np.hypot(*(centres - centres[firm]).T)
        touching = (distance < reach + reach[firm]) & (group >= 0)
        taken = np.unique(group[touching])
        free = np.setdiff1d(np.arange(len(taken) + 1), taken)
        group[firm] = free[0]
    return [np.flatnonzero(group == g) for g in range(int(group.max()) + 1)]


def _blend(out: np.ndarray, pixels: np.ndarray, source: np.ndarray) -> None:
    """``source`` (RGBA, straight alpha, 0-255) over ``out[pixels]`` (RGB), in place."""
    under = out[pixels].astype(np.float32)
    alpha = source[:, 3:] / 255.0
    out[pixels] = np.rint(under + (source[:, :3] - under) * alpha).astype(np.uint8)
