"""The Solara app: hub-and-spokes and the production web side by side.

``solara run webmodel.app`` (or ``webmodel app``) serves :func:`Page`.
"""

from webmodel.app.page import Page, page

__all__ = ["Page", "page"]
