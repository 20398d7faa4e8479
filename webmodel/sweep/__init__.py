"""Experiment files -> runs -> Parquet: sweeps on local processes or a Dask cluster."""
