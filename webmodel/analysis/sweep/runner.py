"""The worker side of a sweep: run a chunk of runs and return their rows as Arrow tables.

Everything here runs in a worker process (local or Dask), so it takes plain picklable inputs
and returns Arrow tables; the parent only writes them. A run that raises is caught and recorded
with its error and traceback, so one bad run never costs the rest of its chunk.
"""

from __future__ import annotations

import time
import traceback
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from webmodel.analysis.sweep.cache import caching
from webmodel.analysis.sweep.parameters import ParameterInfo
from webmodel.coalition.scenario import Scenario

OK = "ok"
FAILED = "failed"
# Totals groups whose keys are folded into the column name ("by_state_end_item.USA.shell_155mm.
# delivered" -> "delivered.USA.shell_155mm"), matching the series' naming.
TOTALS_GROUPS = ("by_end_item", "by_state_end_item")


@dataclass(frozen=True)
class RunSpec:
    """One run: its place in the design, its seed, and the parameters given to the model."""

    run_id: int
    point: int
    replicate: int
    seed: int
    params: dict[str, Any]


@dataclass(frozen=True)
class Context:
    """What every chunk of a sweep shares (scenarios are sent parsed: workers need no files)."""

    scenarios: dict[str | None, Scenario]
    parameters: dict[str, ParameterInfo]
    runs_schema: pa.Schema
    metric_columns: tuple[str, ...]
    series_variables: tuple[str, ...]
    cache: bool = True  # reuse wirings and betweenness within a worker (sweep/cache.py)


@dataclass(frozen=True)
class Chunk:
    """Consecutive runs sent to a worker as one task."""

    context: Context
    runs: tuple[RunSpec, ...]

    @property
    def first(self) -> int:
        return self.runs[0].run_id

    @property
    def last(self) -> int:
        return self.runs[-1].run_id


@dataclass(frozen=True)
class ChunkResult:
    """What a chunk sends back: one row per run, and the kept series in tidy form."""

    first: int
    last: int
    runs: pa.Table
    series: pa.Table | None


def series_schema() -> pa.Schema:
    """Tidy series: one row per run, variable and step."""
    return pa.schema(
        [
            ("run_id", pa.int64()),
            ("variable", pa.dictionary(pa.int32(), pa.string())),
            ("step", pa.int32()),
            ("value", pa.float64()),
        ]
    )


def flatten_totals(totals: dict[str, Any], skip: tuple[str, ...] = ()) -> dict[str, float]:
    """``webmodel.io.output.totals`` as flat columns: ``delivered.shell_155mm``,
    ``demanded.USA.shell_155mm``, ``final_backlog.interceptor``, ... - per end item and per
    (state, end item) only; no column adds different end items.

    Names in ``skip`` (the metrics' own, e.g. the pooled ``fill_rate``) are left out so that a
    total never shadows a metric of the same name.
    """
    out: dict[str, float] = {}

    def walk(node: Any, keys: list[str]) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, [*keys, str(key)])
            return
        if node is not None and not isinstance(node, int | float):
            return
        grouped = keys[0] in TOTALS_GROUPS
        name = ".".join([keys[-1], *keys[1:-1]]) if grouped else ".".join(keys)
        if keys[-1] not in skip:
            out[name] = None if node is None else float(node)

    walk(totals, [])
    return out


def _tidy_series(model: Any, run_id: int, variables: tuple[str, ...]) -> pa.Table:
    from webmodel.io.output import series_table

    wide = series_table(model)
    steps = wide.column("step").to_numpy().astype(np.int32)
    present = [(k, v) for k, v in enumerate(variables) if v in wide.column_names]
    weeks = len(steps)
    values = (
        np.concatenate([wide.column(v).to_numpy() for _, v in present]) if present else np.zeros(0)
    )
    indices = np.repeat(np.array([k for k, _ in present], dtype=np.int32), weeks)
    variable = pa.DictionaryArray.from_arrays(pa.array(indices), pa.array(variables))
    return pa.Table.from_arrays(
        [
            pa.array(np.full(len(values), run_id, dtype=np.int64)),
            variable,
            pa.array(np.tile(steps, len(present))),
            pa.array(values.astype(np.float64)),
        ],
        schema=series_schema(),
    )


def run_one(run: RunSpec, context: Context) -> tuple[dict[str, Any], pa.Table | None]:
    """Build and run one model; return its runs-table row and its tidy series (or None)."""
    from webmodel.core.metrics import compute_metrics
    from webmodel.core.model import CoalitionModel
    from webmodel.io.output import totals

    row: dict[str, Any] = {
        "run_id": run.run_id,
        "point": run.point,
        "replicate": run.replicate,
        "seed": run.seed,
    }
    for name, info in context.parameters.items():
        row[name] = info.to_column(run.params.get(name, info.default))
    series = None
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            kwargs = {**run.params, "scenario": context.scenarios[run.params.get("scenario")]}
            model = CoalitionModel(**kwargs, rng=run.seed).run()
            flat = flatten_totals(totals(model), skip=("fill_rate",))
            values = {**compute_metrics(model), **flat}
            row.update(
                {
                    name: None if values.get(name) is None else float(values[name])
                    for name in context.metric_columns
                }
            )
            row.update(n_firms=model.network.n_firms, n_links=model.network.n_links)
            if context.series_variables:
                series = _tidy_series(model, run.run_id, context.series_variables)
            row.update(status=OK, error=None, traceback=None)
        except Exception as err:
            row.update(
                status=FAILED,
                error=f"{type(err).__name__}: {err}",
                traceback=traceback.format_exc(),
            )
    row["wall_time"] = time.perf_counter() - start
    messages = dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught)
    row["warnings"] = "\n".join(messages) or None
    return row, series


def run_chunk(chunk: Chunk) -> ChunkResult:
    """Run every run of a chunk in order (the task a worker executes)."""
    rows, series = [], []
    with caching(chunk.context.cache):
        for run in chunk.runs:
            row, table = run_one(run, chunk.context)
            rows.append(row)
            if table is not None:
                series.append(table)
    runs = pa.Table.from_pylist(rows, schema=chunk.context.runs_schema)
    kept = None
    if chunk.context.series_variables:
        kept = pa.concat_tables(series) if series else series_schema().empty_table()
    return ChunkResult(chunk.first, chunk.last, runs, kept)


def failed_rows(chunk: Chunk, error: str, detail: str) -> ChunkResult:
    """Rows for a chunk that could not run at all (its worker died): every run failed."""
    rows = []
    for run in chunk.runs:
        row: dict[str, Any] = {
            "run_id": run.run_id,
            "point": run.point,
            "replicate": run.replicate,
            "seed": run.seed,
            "status": FAILED,
            "error": error,
            "traceback": detail,
        }
        for name, info in chunk.context.parameters.items():
            row[name] = info.to_column(run.params.get(name, info.default))
        rows.append(row)
    runs = pa.Table.from_pylist(rows, schema=chunk.context.runs_schema)
    kept = series_schema().empty_table() if chunk.context.series_variables else None
    return ChunkResult(chunk.first, chunk.last, runs, kept)
