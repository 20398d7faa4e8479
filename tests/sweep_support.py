"""Helpers shared by the sweep and report tests: small experiment files and result readers."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]

# A small, quick experiment: 2 topologies x 2 surges x 2 replicates = 8 runs of 30 weeks.
SMALL = """
name = "{name}"
description = "a small test sweep"
root_seed = 7
replicates = {replicates}

[base]
steps = {steps}
surge_start = 5

[design]
kind = "full-factorial"

[factors]
topology = ["hub-and-spokes", "production-web"]
surge = [1.0, 2.0]

[output]
metrics = ["*"]
series = ["delivered.shell_155mm", "alpha_mean"]
"""


def write_experiment(
    folder: Path, text: str | None = None, name: str = "small", **fields: object
) -> Path:
    """Write an experiment file (the small one by default, with ``fields`` filled in)."""
    values = {"name": name, "replicates": 2, "steps": 30, **fields}
    body = textwrap.dedent(text if text is not None else SMALL).format(**values)
    path = folder / f"{name}.toml"
    path.write_text(body)
    return path


def read_runs(out: Path, name: str = "small") -> pa.Table:
    return pq.ParquetFile(out / "runs" / f"experiment={name}" / "data.parquet").read()


def read_series(out: Path, name: str = "small") -> pa.Table:
    return pq.ParquetFile(out / "series" / f"experiment={name}" / "data.parquet").read()


def comparable(table: pa.Table) -> pa.Table:
    """A runs table without what legitimately differs between equal sweeps: timings."""
    return table.drop_columns(["wall_time"]).replace_schema_metadata(None)


# Faulty runs for the failure tests. A sweep's workers are fresh processes (forked from a fork
# server, not from the test), so a monkeypatch in the test process does not reach them; instead
# the test makes the scheduler submit one of these functions, which the worker imports from this
# module and which installs the fault in whatever process runs the chunk.


def _with_faulty_run(chunk, fault):
    from webmodel.analysis.sweep.runner import run_chunk
    from webmodel.core.model import CoalitionModel

    original = CoalitionModel.run

    def run(self, steps=None):
        fault(self)
        return original(self, steps)

    CoalitionModel.run = run
    try:
        return run_chunk(chunk)
    finally:
        CoalitionModel.run = original


def _raise_on_surged_web(model) -> None:
    if model.surge == 2.0 and model.topology == "production-web":
        raise RuntimeError("deliberate failure for the test")


def _die_on_surged_odd_hub(model) -> None:
    if model.surge == 2.0 and model.topology == "hub-and-spokes" and model.seed % 2:
        os._exit(3)  # as if the OS killed the worker (out of memory, a crash)


def run_chunk_raising(chunk):
    """``run_chunk``, with the runs of surge 2 in the production web raising."""
    return _with_faulty_run(chunk, _raise_on_surged_web)


def run_chunk_dying(chunk):
    """``run_chunk``, with the runs of surge 2, hub-and-spokes, odd seed killing their worker."""
    return _with_faulty_run(chunk, _die_on_surged_odd_hub)
