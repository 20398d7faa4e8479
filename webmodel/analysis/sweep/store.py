"""The results folder of a sweep: Parquet parts while it runs, one file per table when done.

Layout (hive-partitioned by experiment, so several sweeps' folders read as one dataset)::

    OUT/sweep.json                                   what was run, how far it got
    OUT/experiment.toml                              the experiment file as run
    OUT/design/experiment=NAME/data.parquet          one row per design point
    OUT/runs/experiment=NAME/part-FIRST-LAST.parquet while running: one file per chunk
    OUT/runs/experiment=NAME/data.parquet            when complete: every run, by run_id
    OUT/series/experiment=NAME/...                   the same, for the kept series

Every file is written to a temporary name and renamed, so a file is whole or absent. A chunk
counts as done once its runs part exists (its series part is written first), which makes a
killed sweep resumable: finished chunks are kept and the rest run. Finishing writes the series
file, then the runs file (which marks the sweep complete), then removes the parts.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from webmodel.analysis.sweep.experiment import ExperimentError
from webmodel.analysis.sweep.plan import Plan
from webmodel.analysis.sweep.runner import FAILED, ChunkResult
from webmodel.io.output import provenance, temp_beside, write_parquet_atomic, write_text_atomic

MANIFEST = "sweep.json"
DATA = "data.parquet"
PART = re.compile(r"^part-(\d+)-(\d+)\.parquet$")
ROW_GROUP_ROWS = {"runs": 20_000, "series": 1_000_000}  # ~15 MB and ~25 MB of buffer
COMPACT_EVERY = 32  # parts held before their many small buffers are merged into one


def now_utc() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def part_name(first: int, last: int) -> str:
    return f"part-{first:07d}-{last:07d}.parquet"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class ResultStore:
    """Reads and writes one sweep's results folder."""

    def __init__(self, root: str | Path, plan: Plan) -> None:
        self.root = Path(root)
        self.plan = plan
        name = plan.experiment.name
        self.runs_dir = self.root / "runs" / f"experiment={name}"
        self.series_dir = self.root / "series" / f"experiment={name}"
        self.design_dir = self.root / "design" / f"experiment={name}"
        self.manifest_path = self.root / MANIFEST
        self.manifest: dict[str, Any] = {}
        self._metadata: dict[str, dict[str, str]] = {}

    # --- opening ------------------------------------------------------------------------------
    def check_resumable(self) -> bool:
        """True if a sweep of this same experiment is recorded here; raise if another one is."""
        if not self.manifest_path.is_file():
            if (self.root / "runs").exists() or (self.root / "series").exists():
                raise ExperimentError(
                    [f"{self.root} holds results but no {MANIFEST}; choose another --out"],
                    "output folder",
                )
            return False
        manifest = json.loads(self.manifest_path.read_text())
        experiment = self.plan.experiment
        if (
            manifest.get("experiment_sha256") != experiment.sha256
            or manifest.get("n_runs") != self.plan.n_runs
            or manifest.get("experiment") != experiment.name
        ):
            raise ExperimentError(
                [
                    f"{self.root} holds a sweep of another experiment file (or another version "
                    f"of it: sha256 {manifest.get('experiment_sha256', '?')[:12]}, this file "
                    f"{experiment.sha256[:12]}); use --out for a new folder, or delete "
                    f"{self.root} to start again"
                ],
                "output folder",
            )
        self.manifest = manifest
        self._check_columns()
        return True

    def _check_columns(self) -> None:
        """Refuse to resume if the code now makes other columns than the recorded runs have
        (a parameter or metric added or removed since the sweep started)."""
        recorded = [self.runs_dir / DATA] if self.complete() else []
        recorded += [path for _, _, path in self._parts(self.runs_dir)]
        if not recorded:
            return
        try:
            schema = pq.read_schema(recorded[0])
        except (OSError, pa.ArrowException):
            return  # an unreadable part: cleanup() removes it
        expected = self.plan.runs_schema()
        if schema.remove_metadata().equals(expected.remove_metadata()):
            return
        old, new = set(schema.names), set(expected.names)
        changes = [f"+{n}" for n in expected.names if n not in old]
        changes += [f"-{n}" for n in schema.names if n not in new]
        changes = changes or ["column types"]
        commits = [i.get("git_commit", "") for i in self.manifest.get("invocations", [])]
        started = next((c for c in commits if c), "unknown")
        raise ExperimentError(
            [
                f"{self.root}: the runs recorded so far have other columns than this version of "
                f"webmodel makes ({', '.join(changes[:10])}); finish the sweep with the code it "
                f"started with (git commit {started}), or start again in a new folder"
            ],
            "output folder",
        )

    def open(self) -> bool:
        """Create the folder, or reopen it to resume. Returns True when resuming."""
        resuming = self.check_resumable()
        for folder in (self.runs_dir, self.design_dir):
            folder.mkdir(parents=True, exist_ok=True)
        if self.plan.series_variables:
            self.series_dir.mkdir(parents=True, exist_ok=True)
        experiment = self.plan.experiment
        if not resuming:
            self.manifest = {
                "experiment": experiment.name,
                "experiment_file": str(experiment.path),
                "experiment_sha256": experiment.sha256,
                "root_seed": experiment.root_seed,
                "design": experiment.design.as_dict(),
                "replicates": experiment.replicates,
                "seeds": experiment.seeds,
                "n_points": self.plan.n_points,
                "n_runs": self.plan.n_runs,
                "started_utc": now_utc(),
                "status": "running",
                "invocations": [],
            }
            write_text_atomic(self.root / "experiment.toml", experiment.text)
            self.save_manifest()
        if not (self.design_dir / DATA).is_file():
            write_parquet_atomic(self.design_table(), self.design_dir / DATA)
        self.cleanup()
        return resuming

    def save_manifest(self, **updates: Any) -> None:
        self.manifest.update(updates)
        write_text_atomic(self.manifest_path, json.dumps(self.manifest, indent=2) + "\n")

    # --- provenance ---------------------------------------------------------------------------
    def metadata(self, table: str) -> dict[str, str]:
        """Key-value metadata for a Parquet file of this sweep (computed once per table)."""
        if table not in self._metadata:
            experiment, plan = self.plan.experiment, self.plan
            scenarios = {}
            for value in plan.scenarios:
                path = experiment.scenario_path(value)
                scenarios[str(value) if value else "default"] = (
                    _sha256(path) if path else "built-in"
                )
            try:
                from webmodel.core.metrics import METRICS_VERSION
            except ImportError:
                METRICS_VERSION = "unknown"
            self._metadata[table] = provenance(
                table=table,
                experiment=experiment.name,
                experiment_file=str(experiment.path),
                experiment_sha256=experiment.sha256,
                experiment_toml=experiment.text,
                description=experiment.description,
                root_seed=str(experiment.root_seed),
                started_utc=self.manifest.get("started_utc", now_utc()),
                design=experiment.design.as_dict(),
                factors=[f.as_dict() for f in experiment.factors],
                replicates=str(experiment.replicates),
                seeds=experiment.seeds,
                n_runs=str(plan.n_runs),
                parameters=list(plan.parameters),
                metric_columns=list(plan.metric_columns),
                run_metrics=list(plan.run_metrics),
                series_variables=list(plan.series_variables),
                scenarios=scenarios,
                metrics_version=METRICS_VERSION,
                python=platform.python_version(),
            )
        return self._metadata[table]

    def design_table(self) -> pa.Table:
        """One row per design point: its factor values, and for sampled designs its sample's
        index and unit-cube coordinates (sampled factors only: crossed ones are not sampled)."""
        plan = self.plan
        columns: dict[str, Any] = {"point": pa.array(np.arange(plan.n_points, dtype=np.int64))}
        if plan.design.sample is not None:
            columns["sample"] = pa.array(plan.design.sample, type=pa.int64())
        for factor in plan.experiment.factors:
            info = plan.parameters[factor.name]
            values = [info.to_column(p[factor.name]) for p in plan.design.points]
            columns[factor.name] = pa.array(values, type=info.arrow_type)
        if plan.design.unit is not None:
            for j, name in enumerate(plan.design.sampled):
                columns[f"unit.{name}"] = pa.array(plan.design.unit[:, j])
        return pa.table(columns).replace_schema_metadata(self.metadata("design"))

    # --- progress on disk ---------------------------------------------------------------------
    def _parts(self, folder: Path) -> list[tuple[int, int, Path]]:
        if not folder.is_dir():
            return []
        found = []
        for path in folder.iterdir():
            match = PART.match(path.name)
            if match:
                found.append((int(match[1]), int(match[2]), path))
        return sorted(found)

    def complete(self) -> bool:
        """The sweep finished: its runs data file exists (written last)."""
        return (self.runs_dir / DATA).is_file()

    def cleanup(self) -> None:
        """Remove what an interrupted sweep may have left: temporary files, series parts
        whose runs part never came, unreadable parts, and parts of a finished sweep."""
        for folder in (self.runs_dir, self.series_dir, self.design_dir, self.root):
            if folder.is_dir():
                for path in folder.glob(".*.tmp"):
                    path.unlink(missing_ok=True)
        if self.complete():
            for folder in (self.runs_dir, self.series_dir):
                for _, _, path in self._parts(folder):
                    path.unlink()
            return
        runs_parts = {path.name for _, _, path in self._parts(self.runs_dir)}
        for _, _, path in self._parts(self.series_dir):
            if path.name not in runs_parts:
                path.unlink()
        for _, _, path in self._parts(self.runs_dir):
            try:
                pq.read_metadata(path)
            except (OSError, pa.ArrowException):
                path.unlink()
                (self.series_dir / path.name).unlink(missing_ok=True)

    def done(self) -> tuple[np.ndarray, int]:
        """Which runs are recorded (a mask over run ids) and how many of them failed."""
        mask = np.zeros(self.plan.n_runs, dtype=bool)
        failed = 0
        files = [self.runs_dir / DATA] if self.complete() else []
        files += [path for _, _, path in self._parts(self.runs_dir)]
        for path in files:
            table = pq.ParquetFile(path).read(columns=["run_id", "status"])
            ids = table.column("run_id").to_numpy()
            mask[ids] = True
            failed += int(np.sum(table.column("status").to_numpy(zero_copy_only=False) == FAILED))
        return mask, failed

    def write(self, result: ChunkResult) -> None:
        """Store one chunk: series part first, then the runs part that marks it done."""
        name = part_name(result.first, result.last)
        if result.series is not None:
            table = result.series.replace_schema_metadata(self.metadata("series"))
            write_parquet_atomic(table, self.series_dir / name)
        table = result.runs.replace_schema_metadata(self.metadata("runs"))
        write_parquet_atomic(table, self.runs_dir / name)

    # --- finishing ----------------------------------------------------------------------------
    def finalize(self, invocations: list[dict[str, Any]]) -> None:
        """Merge the parts into one file per table, ordered by run id; then remove the parts.

        Parts are streamed one at a time into fixed-size row groups, so memory stays flat
        however large the sweep, and the files do not depend on how runs were chunked.
        """
        if self.complete():
            self.cleanup()
            return
        self._metadata.clear()
        extra = {"invocations": json.dumps(invocations)}
        if self.plan.series_variables:
            self._merge("series", self.series_dir, extra)
        self._merge("runs", self.runs_dir, extra)
        self.cleanup()

    def _merge(self, table: str, folder: Path, extra: dict[str, str]) -> None:
        parts = self._parts(folder)
        metadata = {**self.metadata(table), **extra}
        rows = ROW_GROUP_ROWS[table]
        target = folder / DATA
        fd, tmp = temp_beside(folder / DATA)
        os.close(fd)
        expected = 0
        try:
            writer = None
            pending: list[pa.Table] = []
            held = 0
            for _first, _last, path in parts:
                part = pq.ParquetFile(path).read()
                if table == "runs":
                    ids = part.column("run_id").to_numpy()
                    if len(ids) and not np.array_equal(
                        ids, np.arange(expected, expected + len(ids))
                    ):
                        raise RuntimeError(f"{path}: runs out of order (expected {expected})")
                    expected += len(ids)
                if writer is None:
                    schema = part.schema.with_metadata(metadata)
                    writer = pq.ParquetWriter(tmp, schema)
                pending.append(part.replace_schema_metadata(metadata))
                held += part.num_rows
                if len(pending) >= COMPACT_EVERY:
                    pending = [pa.concat_tables(pending).combine_chunks()]
                while held >= rows:
                    merged = pa.concat_tables(pending)
                    writer.write_table(merged.slice(0, rows), row_group_size=rows)
                    pending, held = [merged.slice(rows)], merged.num_rows - rows
            if writer is None:
                raise RuntimeError(f"no {table} parts in {folder}")
            if held:
                writer.write_table(pa.concat_tables(pending), row_group_size=rows)
            writer.close()
            if table == "runs" and expected != self.plan.n_runs:
                raise RuntimeError(f"{expected} runs recorded, {self.plan.n_runs} planned")
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
