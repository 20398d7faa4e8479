"""Robust portfolios: the lever settings that trade cost against robustness over sampled futures.

For each wiring, NSGA-II (platypus, as EMA Workbench's optimisation uses) searches the levers of
an experiment file for the Pareto front of cost (the scenario's ``[costs]``) against the 90th
percentile of an outcome (loss area by default) over an ensemble of futures drawn by Latin
hypercube from the experiment's uncertainties. Every generation's runs go through the sweep
executors (local processes or Dask) into a results folder of their own, so an interrupted
search resumes where it stopped. See docs/discovery.md.
"""

from webmodel.analysis.robust.config import RobustSettings, robust_settings
from webmodel.analysis.robust.search import RobustResult, search_robust
from webmodel.analysis.robust.write import write_robust

__all__ = ["RobustResult", "RobustSettings", "robust_settings", "search_robust", "write_robust"]
