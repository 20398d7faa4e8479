"""Fast re-rendering of a matplotlib figure whose static parts rarely change (blitting).

A full draw of a figure lays out and rasterises every tick label, title and grid line; in the
app's charts that is most of a frame's time. A :class:`BlitFigure` draws the figure once,
without its *animated* artists (the lines that change every week), keeps that picture, and for
each frame restores it and draws only the animated artists on top. The picture is redrawn only
when ``key`` changes (axis limits, shaded weeks).
"""

from __future__ import annotations

import io
from collections.abc import Hashable, Iterable

import PIL.Image
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


class BlitFigure:
    """A figure rendered to PNG by restoring a cached background and drawing changed artists."""

    def __init__(self, figure: Figure) -> None:
        self.figure = figure
        self.canvas = FigureCanvasAgg(figure)
        self.background = None
        self.key: Hashable = None

    def png(self, key: Hashable, animated: Iterable[Artist]) -> bytes:
        """The figure as PNG bytes; ``animated`` artists must have ``animated=True`` set."""
        if self.background is None or key != self.key:
            self.canvas.draw()
            self.background = self.canvas.copy_from_bbox(self.figure.bbox)
            self.key = key
        self.canvas.restore_region(self.background)
        for artist in animated:
            if artist.axes is not None:
                artist.axes.draw_artist(artist)
            else:
                self.figure.draw_artist(artist)
        width, height = self.canvas.get_width_height()
        image = PIL.Image.frombuffer(
            "RGBA", (width, height), bytes(self.canvas.buffer_rgba()), "raw", "RGBA", 0, 1
        )
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="png", compress_level=1)
        return buffer.getvalue()
