"""Experiment files -> runs -> Parquet: sweeps on local processes or a Dask cluster.

From Python::

    import webmodel

    summary = webmodel.run_sweep("experiments/example.toml", "results/example", workers=2)
    runs = summary.results().to_pandas()

or, with the steps apart (e.g. for a Dask cluster)::

    from webmodel.analysis.sweep import load_experiment, build_plan, open_workers, run_sweep

    plan = build_plan(load_experiment("experiments/example.toml"))
    with open_workers(workers=2) as workers:  # or dask="tcp://scheduler:8786"
        summary = run_sweep(plan, "results/example", workers)
"""

from webmodel.analysis.sweep.executor import open_workers
from webmodel.analysis.sweep.experiment import load_experiment
from webmodel.analysis.sweep.plan import build_plan
from webmodel.analysis.sweep.scheduler import run_sweep

__all__ = ["build_plan", "load_experiment", "open_workers", "run_sweep"]
