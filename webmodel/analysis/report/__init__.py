"""Reports from sweep results: Markdown tables and publication-quality figures.

``write_report`` is imported when first used, so reading results (``report.data``) does not
pull in matplotlib.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from webmodel.analysis.report.document import write_report

__all__ = ["write_report"]


def __getattr__(name: str) -> Any:
    if name == "write_report":
        from webmodel.analysis.report.document import write_report

        return write_report
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
