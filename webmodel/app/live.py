"""Week-by-week updates that go around Solara's renderer.

A Step changes numbers, pictures and chart data, not the page's shape. Rendering the page
again for it costs most of a frame at ~1,000 firms: Reacton reconciles every element and
re-applies the properties of every widget it holds (~400 widgets, ~1,800 property sets per
render, measured). So each component that shows something weekly renders its widget once and
subscribes an update to the page's :class:`Weekly`; a step (or an injected shock) calls
:meth:`Weekly.publish`, which sets those widgets' properties directly — a widget sends only a
property whose value changed. The page renders again only when its shape changes (the first
week, a new shock listed; ``page.page_shape``).

The pattern is the one ipywidgets apps use for animation (set the trait, let the widget sync)
and the one the charts already used for their specs.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import ipyvuetify
import ipywidgets
import reacton.ipyvuetify as rv
import solara
from ipywidgets import Widget
from reacton.core import Element

Update = Callable[[], None]


class Weekly:
    """The page's subscribers to "the models changed", and values they share per change.

    ``shared`` computes a value (the metrics, the chart specs) once per publish for all
    subscribers that need it, and for the components rendered in between.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._updates: dict[int, Update] = {}
        self._ids = itertools.count()
        self._shared: dict[tuple[int, str], tuple[object, Any]] = {}
        self.published = 0  # how many times the subscribers were told (for tests and timing)

    def subscribe(self, update: Update) -> Callable[[], None]:
        """Call ``update`` on each publish, until the returned function is called."""
        key = next(self._ids)
        with self._lock:
            self._updates[key] = update

        def unsubscribe() -> None:
            with self._lock:
                self._updates.pop(key, None)

        return unsubscribe

    def publish(self, lock: AbstractContextManager[object] | None = None) -> None:
        """The models changed: forget the shared values and run every update (holding ``lock``,
        the models' own, so all widgets show the same week)."""
        with lock or contextlib.nullcontext(), self._lock:
            self._shared.clear()
            self.published += 1
            for update in list(self._updates.values()):
                update()

    def shared(self, owner: object, name: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` for ``owner`` (a model pair), computed once until the next publish."""
        key = (id(owner), name)
        with self._lock:
            held = self._shared.get(key)
            if held is None or held[0] is not owner:
                held = (owner, compute())
                self._shared[key] = held
            return held[1]


def use_weekly(weekly: Weekly, widget: Widget, props: Callable[[], dict[str, Any]]) -> None:
    """Keep ``widget`` showing ``props()``: set them after each render of this component and
    on each publish. Call while rendering (a hook), with a widget this component made once
    (``solara.use_memo``) and placed as a child of an element. Reacton re-applies the
    properties of the widgets it made on every render of the page, whichever changed, so a
    widget it made would fall back to the values of its last render; one it did not make is
    left alone."""

    def subscribe() -> Callable[[], None]:
        def update() -> None:
            for name, value in props().items():
                if getattr(widget, name) != value:
                    setattr(widget, name, value)

        update()  # (a new pair, or values that changed between this render and its effects)
        return weekly.subscribe(update)

    solara.use_effect(subscribe, None)  # after every render: the newest ``props``
    solara.use_effect(lambda: widget.close, [])  # closed when the component goes away


def live_text(
    weekly: Weekly,
    text: Callable[[], str],
    classes: list[str] | None = None,
    style: dict[str, str] | None = None,
) -> Element:
    """A span like ``solara.Text`` whose text is ``text()``, kept current by ``weekly``."""

    def make() -> Widget:
        return ipyvuetify.Html(
            tag="span",
            class_=" ".join(classes or []),
            style_="; ".join(f"{key}: {value}" for key, value in (style or {}).items()),
            children=[text()],
        )

    widget = solara.use_memo(make, [])
    use_weekly(weekly, widget, lambda: {"children": [text()]})
    return rv.Html(tag="span", children=[widget])


def live_image(weekly: Weekly, png: Callable[[], bytes], classes: list[str]) -> Element:
    """A PNG shown full width like ``solara.Image``, kept current by ``weekly`` (the widget
    sends the bytes only when they changed)."""

    def make() -> Widget:
        return ipywidgets.Image(
            value=png(),
            format="png",
            layout=ipywidgets.Layout(width="100%"),
            _dom_classes=["solara-image", *classes],
        )

    widget = solara.use_memo(make, [])
    use_weekly(weekly, widget, lambda: {"value": png()})
    return rv.Html(tag="div", children=[widget])
