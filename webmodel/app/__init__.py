"""The Solara app: hub-and-spokes and the production web side by side.

``solara run webmodel.app`` (or ``webmodel app``) serves :func:`Page`. ``Page`` is imported when
first looked up, so the package's light parts (``webmodel.app.assets``, which fills the offline
asset cache) import without Solara and the page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from webmodel.app.page import Page, page

__all__ = ["Page", "page"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        import webmodel.app.page as module

        # Bind both names here: the import bound ``page`` to the submodule, and the package's
        # ``page`` is the component (as Mesa's examples name it).
        globals().update(Page=module.Page, page=module.page)
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
