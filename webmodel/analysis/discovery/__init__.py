"""Scenario discovery: where in a sweep's factor space an outcome of interest happens.

PRIM (Friedman & Fisher 1999), as used for scenario discovery (Bryant & Lempert 2010), through
EMA Workbench's implementation. :func:`discover` reads a sweep's runs, pairs web and hub runs
for ``web_minus_hub.*`` outcomes, evaluates a condition and finds boxes;
:func:`write_discovery` writes them as Markdown, JSON and figures. EMA Workbench is imported only
when PRIM runs (it takes seconds to import).
"""

from webmodel.analysis.discovery.frame import OutcomeFrame, outcome_frame
from webmodel.analysis.discovery.prim import Discovery, discover
from webmodel.analysis.discovery.write import write_discovery

__all__ = ["Discovery", "OutcomeFrame", "discover", "outcome_frame", "write_discovery"]
