"""A sweep's results as the report needs them: the runs table, its provenance, its factors.

Reads with pyarrow alone (a core dependency), from the merged files of a finished sweep or from
the parts of one still running or interrupted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl

QUANTILE_BINS = 4  # a sampled range is tabulated by quartiles of its drawn values


def _parquet_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    data = folder / "data.parquet"
    if data.is_file():
        return [data]
    return sorted(p for p in folder.glob("part-*.parquet"))


def _read(path: Path) -> pa.Table:
    """Read a Parquet file with its page checksums; a damaged file is named, not a bare
    'magic bytes not found'."""
    try:
        return pq.ParquetFile(path, page_checksum_verification=True).read()
    except (OSError, pa.ArrowException) as err:
        raise ValueError(f"{path}: damaged or not a Parquet file ({err})") from err


def level_label(value: Any) -> str:
    """A short label for a factor level as stored in the runs table."""
    if value is None:
        return "default"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str) and value.startswith("["):
        try:
            items = json.loads(value)
        except json.JSONDecodeError:
            return value
        return ", ".join(map(str, items)) if items else "none"
    return str(value)


@dataclass
class Grouping:
    """Runs grouped by one factor: a label per group and each run's group (-1: none)."""

    factor: str
    labels: list[str]
    index: np.ndarray
    binned: bool = False

    def __len__(self) -> int:
        return len(self.labels)


@dataclass
class SweepResults:
    """The runs table of one experiment and what its metadata says about it."""

    root: Path
    name: str
    runs: pa.Table
    meta: dict[str, str]
    series_files: list[Path]
    design: pa.Table | None

    @classmethod
    def load(cls, root: str | Path) -> SweepResults:
        root = Path(root)
        experiments = sorted(p.name for p in (root / "runs").glob("experiment=*"))
        if not experiments:
            raise ValueError(f"{root}: no runs/experiment=NAME folder (is it a sweep's results?)")
        if len(experiments) > 1:
            raise ValueError(f"{root}: holds several experiments ({', '.join(experiments)})")
        partition = experiments[0]
        files = _parquet_files(root / "runs" / partition)
        if not files:
            raise ValueError(f"{root}: no runs recorded yet")
        runs = pa.concat_tables(_read(f) for f in files)
        runs = runs.sort_by("run_id")
        raw = pq.ParquetFile(files[0]).schema_arrow.metadata or {}
        meta = {k.decode(): v.decode() for k, v in raw.items() if not k.startswith(b"ARROW")}
        design_files = _parquet_files(root / "design" / partition)
        design = _read(design_files[0]) if design_files else None
        return cls(
            root=root,
            name=partition.split("=", 1)[1],
            runs=runs,
            meta=meta,
            series_files=_parquet_files(root / "series" / partition),
            design=design,
        )

    # --- what the sweep was -------------------------------------------------------------------
    def meta_json(self, key: str, default: Any = None) -> Any:
        text = self.meta.get(key)
        if text is None:
            return default
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text

    @property
    def factors(self) -> list[dict[str, Any]]:
        return self.meta_json("factors", [])

    @property
    def factor_names(self) -> list[str]:
        return [f["name"] for f in self.factors]

    @property
    def design_kind(self) -> str:
        return self.meta_json("design", {}).get("kind", "full-factorial")

    @property
    def n_planned(self) -> int:
        return int(self.meta.get("n_runs", self.runs.num_rows))

    @property
    def series_variables(self) -> list[str]:
        return self.meta_json("series_variables", [])

    def default_metrics(self) -> list[str]:
        """The per-run metrics kept, less those with no value or one value in every run."""
        names = self.meta_json("run_metrics") or self.meta_json("metric_columns", [])
        return [n for n in names if n in self.runs.column_names and len(self.distinct(n)) > 1]

    def constant_metrics(self) -> dict[str, Any]:
        names = self.meta_json("run_metrics") or self.meta_json("metric_columns", [])
        out = {}
        for name in names:
            if name in self.runs.column_names:
                values = self.distinct(name)
                if len(values) == 1:
                    out[name] = values[0]
        return out

    # --- columns ------------------------------------------------------------------------------
    @property
    def ok(self) -> np.ndarray:
        return self.column("status") == "ok"

    def column(self, name: str) -> np.ndarray:
        """A column as numpy (floats with NaN for nulls where numeric, objects otherwise)."""
        array = self.runs.column(name)
        if pa.types.is_integer(array.type) or pa.types.is_floating(array.type):
            return array.cast(pa.float64()).to_numpy(zero_copy_only=False)
        return np.array(array.to_pylist(), dtype=object)

    def distinct(self, name: str) -> list[Any]:
        ok = self.runs.filter(pc.equal(self.runs["status"], "ok"))
        values = ok.column(name).drop_null().unique().to_pylist()
        return values

    def grouping(self, factor: str) -> Grouping:
        """Runs grouped by a factor: by level, or by quartile bins for a sampled range."""
        spec = next((f for f in self.factors if f["name"] == factor), None)
        values = self.runs.column(factor).to_pylist()
        if spec is not None and "levels" in spec:
            stored = [_stored(v) for v in spec["levels"]]
            labels = [level_label(v) for v in stored]
            lookup = {repr(v): i for i, v in enumerate(stored)}
            index = np.array([lookup.get(repr(v), -1) for v in values])
            if (index >= 0).all():
                return Grouping(factor, labels, index)
        numeric = pa.types.is_integer(self.runs.column(factor).type) or pa.types.is_floating(
            self.runs.column(factor).type
        )
        distinct = sorted({v for v in values if v is not None}, key=repr)
        if numeric and len(distinct) > 2 * QUANTILE_BINS:
            x = np.array([np.nan if v is None else v for v in values], dtype=float)
            edges = np.unique(np.nanquantile(x, np.linspace(0, 1, QUANTILE_BINS + 1)))
            index = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(edges) - 2)
            index[np.isnan(x)] = -1
            labels = [
                f"[{edges[i]:.3g}, {edges[i + 1]:.3g}{']' if i == len(edges) - 2 else ')'}"
                for i in range(len(edges) - 1)
            ]
            return Grouping(factor, labels, index, binned=True)
        if numeric:
            distinct = sorted(distinct)
        lookup = {repr(v): i for i, v in enumerate(distinct)}
        index = np.array([lookup.get(repr(v), -1) for v in values])
        return Grouping(factor, [level_label(v) for v in distinct], index)

    # --- series -------------------------------------------------------------------------------
    def series(self, variable: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(run_id, step, value) of one series variable over every run that kept it."""
        dataset = ds.dataset(self.series_files, format="parquet")
        table = dataset.to_table(
            columns=["run_id", "step", "value"],
            filter=ds.field("variable") == variable,
        )
        return (
            table.column("run_id").to_numpy(),
            table.column("step").to_numpy(),
            table.column("value").to_numpy(),
        )

    def series_table(self, variables: list[str] | None = None) -> pa.Table:
        """Every kept series, tidy: run_id, variable, step (week), value; ``variables`` picks."""
        if not self.series_files:
            raise ValueError(
                f"{self.root}: the sweep kept no series (list some in the experiment's "
                "[output] series)"
            )
        dataset = ds.dataset(self.series_files, format="parquet")
        where = None if variables is None else ds.field("variable").isin(variables)
        return dataset.to_table(columns=["run_id", "variable", "step", "value"], filter=where)

    # --- data frames --------------------------------------------------------------------------
    def _table(self, table: str) -> pa.Table:
        if table == "runs":
            return self.runs
        if table == "series":
            return self.series_table()
        raise ValueError(f"table: must be 'runs' or 'series', got {table!r}")

    def to_pandas(self, table: str = "runs") -> pd.DataFrame:
        """The runs table (one row per run: factors, seed, status, metrics), or with
        ``table="series"`` the kept series (one row per run, variable and week), as pandas."""
        return self._table(table).to_pandas()

    def to_polars(self, table: str = "runs") -> pl.DataFrame:
        """As :meth:`to_pandas`, as a polars DataFrame (needs polars installed)."""
        try:
            import polars as pl
        except ImportError:
            raise ImportError("to_polars needs polars: pip install polars") from None
        return pl.from_arrow(self._table(table))


def _stored(level: Any) -> Any:
    """A level from the experiment's factors metadata as the runs table stores it."""
    if isinstance(level, list | dict):
        return json.dumps(level, sort_keys=True)
    return level
