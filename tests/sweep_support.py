"""Helpers shared by the sweep and report tests: small experiment files and result readers."""

from __future__ import annotations

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
