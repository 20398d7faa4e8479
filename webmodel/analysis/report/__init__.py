"""Reports from sweep results: Markdown tables and publication-quality figures."""

from webmodel.analysis.report.document import write_report

__all__ = ["write_report"]
