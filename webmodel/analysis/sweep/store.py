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

Safety (docs/sweeps.md, "Resuming safely"):

- ``sweep.json`` records the inputs: the experiment file's hash, every scenario file's hash and
  the code's state (version, commit, dirty flag, a hash of the package's own files). A re-run
  whose inputs differ is refused, naming what changed (``--fresh`` starts over).
- Parquet files carry page checksums, and every part's sha256 is appended to
  ``OUT/checksums.sha256`` (``sha256sum -c`` format) once it is whole. On reopening, and again
  before merging, each part is checked; a damaged one is named, moved to ``OUT/damaged/`` and
  its runs run again. The merged files are read back in full and their hashes recorded in
  ``sweep.json`` before the sweep reports success; a damaged merged file found later is set
  aside too, and the sweep runs again.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from webmodel.analysis.sweep.experiment import ExperimentError
from webmodel.analysis.sweep.plan import Plan
from webmodel.analysis.sweep.runner import FAILED, ChunkResult
from webmodel.io.output import (
    PARQUET_OPTIONS,
    DamagedFile,
    file_sha256,
    output_error,
    provenance,
    source_state,
    temp_beside,
    write_parquet_atomic,
    write_text_atomic,
)

MANIFEST = "sweep.json"
CHECKSUMS = "checksums.sha256"
DAMAGED = "damaged"
# What a sweep writes in its folder: what --fresh removes (anything else is left alone).
SWEEP_FILES = (MANIFEST, "experiment.toml", CHECKSUMS, "runs", "series", "design", DAMAGED)
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


def read_verified(path: Path, columns: list[str] | None = None) -> pa.Table:
    """Read a Parquet file, checking its page checksums; a damaged file raises DamagedFile."""
    try:
        return pq.ParquetFile(path, page_checksum_verification=True).read(columns=columns)
    except (OSError, pa.ArrowException) as err:
        raise DamagedFile(path, err) from err


def _check_whole(path: Path, rows: int | None = None, ids_from: int | None = None) -> int:
    """Read every row group of ``path`` with checksums (one at a time: memory stays flat);
    check the row count and, for runs, that run ids run on from ``ids_from``. Returns rows."""
    try:
        handle = pq.ParquetFile(path, page_checksum_verification=True)
        total = 0
        for group in range(handle.num_row_groups):
            table = handle.read_row_group(group)
            if ids_from is not None:
                ids = table.column("run_id").to_numpy()
                start = ids_from + total
                if not np.array_equal(ids, np.arange(start, start + len(ids))):
                    raise DamagedFile(path, f"run ids out of order after run {start}")
            total += table.num_rows
    except (OSError, pa.ArrowException) as err:
        raise DamagedFile(path, err) from err
    if rows is not None and total != rows:
        raise DamagedFile(path, f"{total} rows, {rows} expected")
    return total


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
        self.checksums_path = self.root / CHECKSUMS
        self.manifest: dict[str, Any] = {}
        self._metadata: dict[str, dict[str, str]] = {}
        self._inputs: dict[str, Any] | None = None

    # --- what went in -------------------------------------------------------------------------
    def inputs(self) -> dict[str, Any]:
        """The hashes of everything a run reads, and the state of the code that runs it."""
        if self._inputs is None:
            experiment = self.plan.experiment
            scenarios = {}
            for value in self.plan.scenarios:
                path = experiment.scenario_path(value)
                scenarios[str(value) if value else "default"] = (
                    _sha256(path) if path else "built-in"
                )
            self._inputs = {
                "experiment_sha256": experiment.sha256,
                "scenarios": scenarios,
                **source_state(),
            }
        return self._inputs

    def _changes(self, recorded: dict[str, Any]) -> list[str]:
        """What differs between the recorded inputs and this invocation's, in words."""
        now = self.inputs()
        changes = []
        old, new = recorded.get("scenarios", {}), now["scenarios"]
        for name in dict.fromkeys([*old, *new]):
            if old.get(name) != new.get(name):
                before, after = old.get(name, "absent"), new.get(name, "absent")
                changes.append(
                    f"scenario {name!r} changed (sha256 {before[:12]} then, {after[:12]} now)"
                )
        if recorded.get("webmodel_version") != now["webmodel_version"]:
            changes.append(
                f"webmodel version {recorded.get('webmodel_version')} then, "
                f"{now['webmodel_version']} now"
            )
        if recorded.get("source_sha256") != now["source_sha256"]:
            commit = recorded.get("git_commit", "?")
            dirty = " with uncommitted changes" if recorded.get("git_dirty") else ""
            changes.append(
                f"the webmodel source changed (sha256 {str(recorded.get('source_sha256'))[:12]} "
                f"then, at git commit {commit}{dirty}; {now['source_sha256'][:12]} now, at "
                f"{now['git_commit']}{' with uncommitted changes' if now['git_dirty'] else ''})"
            )
        return changes

    # --- opening ------------------------------------------------------------------------------
    def check_resumable_folder(self) -> None:
        """Raise ExperimentError if the results folder is a file."""
        if self.root.exists() and not self.root.is_dir():
            raise ExperimentError(
                [f"--out: {self.root} is a file; a sweep's results go in a folder"],
                "output folder",
            )

    def check_resumable(self) -> bool:
        """True if a sweep of this same experiment, with the same inputs, is recorded here;
        raise ExperimentError if another one, or one with other inputs, is."""
        self.check_resumable_folder()
        if not self.manifest_path.is_file():
            if (self.root / "runs").exists() or (self.root / "series").exists():
                raise ExperimentError(
                    [f"{self.root} holds results but no {MANIFEST}; choose another --out"],
                    "output folder",
                )
            return False
        try:
            manifest = json.loads(self.manifest_path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ExperimentError(
                [f"{self.manifest_path}: unreadable ({err}); use --fresh to start over"],
                "output folder",
            ) from err
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
                    f"{experiment.sha256[:12]}); use --out for a new folder, or --fresh to "
                    "start again here"
                ],
                "output folder",
            )
        self.manifest = manifest
        complete = self.complete()
        recorded = manifest.get("inputs")
        if recorded is None:
            if not complete:
                raise ExperimentError(
                    [
                        f"{self.root}: this unfinished sweep does not record the hashes of its "
                        "scenario files and code (an older webmodel wrote it), so resuming it "
                        "could mix results; use --fresh to start over"
                    ],
                    "output folder",
                )
        else:
            changes = self._changes(recorded)
            # A finished sweep runs nothing more, so new code cannot mix into it; new scenario
            # files would make its results look current when they are not.
            if complete:
                changes = [c for c in changes if c.startswith("scenario")]
            if changes:
                raise ExperimentError(
                    [
                        f"{self.root}: the inputs differ from those the sweep started with, so "
                        f"resuming would mix results: {'; '.join(changes)}. Restore them, use "
                        "--out for a new folder, or --fresh to start over here"
                    ],
                    "output folder",
                )
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
            return  # an unreadable file: cleanup() sets it aside
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

    def clear(self) -> None:
        """Remove what a sweep writes here (``--fresh``); other files in the folder stay."""
        for name in SWEEP_FILES:
            path = self.root / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
        self.manifest = {}

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
                "inputs": self.inputs(),
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
        if self.complete():
            self.verify_final()
        self.verify_parts()
        return resuming

    def save_manifest(self, **updates: Any) -> None:
        self.manifest.update(updates)
        write_text_atomic(self.manifest_path, json.dumps(self.manifest, indent=2) + "\n")

    # --- provenance ---------------------------------------------------------------------------
    def metadata(self, table: str) -> dict[str, str]:
        """Key-value metadata for a Parquet file of this sweep (computed once per table)."""
        if table not in self._metadata:
            experiment, plan = self.plan.experiment, self.plan
            inputs = self.manifest.get("inputs") or self.inputs()
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
                scenarios=inputs["scenarios"],
                started_with=inputs,
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
        whose runs part never came, and parts of a finished sweep."""
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

    # --- checking what is on disk -------------------------------------------------------------
    def _note(self, message: str) -> None:
        print(f"webmodel sweep: warning: {message}", file=sys.stderr, flush=True)

    def _relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def _checksums(self) -> dict[str, str]:
        """The recorded sha256 of each part (later lines win; a torn last line is skipped)."""
        found: dict[str, str] = {}
        try:
            text = self.checksums_path.read_text(errors="replace")
        except FileNotFoundError:
            return found
        for line in text.splitlines():
            digest, _, name = line.partition("  ")
            if len(digest) == 64 and name:
                found[name] = digest
        return found

    def _record_checksums(self, paths: list[Path]) -> None:
        lines = "".join(f"{file_sha256(p)}  {self._relative(p)}\n" for p in paths)
        try:
            with open(self.checksums_path, "a") as handle:
                handle.write(lines)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as err:
            raise output_error(err, self.checksums_path) from err

    def _set_aside(self, paths: list[Path], reason: str) -> None:
        """Move damaged files to OUT/damaged/ (kept for a post-mortem, out of the dataset)."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        for path in paths:
            if not path.exists():
                continue
            target = self.root / DAMAGED / f"{stamp}-{self._relative(path).replace('/', '_')}"
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
        named = ", ".join(self._relative(p) for p in paths if p.name)
        self._note(f"{named}: {reason}; set aside in {self.root / DAMAGED}, its runs run again")
        self.manifest.setdefault("damaged", []).append(
            {"utc": now_utc(), "files": [self._relative(p) for p in paths], "reason": reason}
        )

    def verify_parts(self) -> int:
        """Check every chunk's parts against their recorded sha256 (or, for a part whose hash
        was never recorded - killed just after the rename - read it whole with its page
        checksums, then record it). Damaged chunks are set aside. Returns how many were."""
        if self.complete():
            return 0
        recorded = self._checksums()
        unrecorded: list[Path] = []
        damaged = 0
        for _, _, runs_part in self._parts(self.runs_dir):
            chunk = [runs_part]
            if self.plan.series_variables:
                chunk.insert(0, self.series_dir / runs_part.name)
            problem = None
            for path in chunk:
                digest = recorded.get(self._relative(path))
                if not path.is_file():
                    problem = f"{self._relative(path)} is missing"
                elif digest is None:
                    try:
                        _check_whole(path)
                        unrecorded.append(path)
                    except DamagedFile as err:
                        problem = str(err.__cause__ or err)
                elif file_sha256(path) != digest:
                    problem = f"{self._relative(path)}: its sha256 is not the one recorded"
                if problem:
                    break
            if problem:
                damaged += 1
                self._set_aside(chunk, f"damaged ({problem})")
        if unrecorded:
            self._record_checksums(unrecorded)
        if damaged:
            self.save_manifest()
        return damaged

    def verify_final(self) -> None:
        """Check the merged files against the hashes recorded when the sweep finished; if one
        is damaged, set the merged files aside so that the sweep runs again."""
        recorded = self.manifest.get("files") or {}
        finals = [self.runs_dir / DATA]
        if self.plan.series_variables:
            finals.insert(0, self.series_dir / DATA)
        for path in finals:
            digest = recorded.get(self._relative(path))
            if not path.is_file():
                problem = "missing"
            elif digest is None:
                try:
                    _check_whole(path)
                    continue
                except DamagedFile as err:
                    problem = f"damaged ({err.__cause__ or err})"
            elif file_sha256(path) == digest:
                continue
            else:
                problem = "damaged (its sha256 is not the one recorded)"
            self._set_aside(finals, f"{self._relative(path)} is {problem}")
            self.save_manifest(status="running", files={})
            return

    def done(self) -> tuple[np.ndarray, int]:
        """Which runs are recorded (a mask over run ids) and how many of them failed."""
        mask = np.zeros(self.plan.n_runs, dtype=bool)
        failed = 0
        files = [self.runs_dir / DATA] if self.complete() else []
        files += [path for _, _, path in self._parts(self.runs_dir)]
        for path in files:
            table = read_verified(path, columns=["run_id", "status"])
            ids = table.column("run_id").to_numpy()
            mask[ids] = True
            failed += int(np.sum(table.column("status").to_numpy(zero_copy_only=False) == FAILED))
        return mask, failed

    def write(self, result: ChunkResult) -> None:
        """Store one chunk: series part first, then the runs part that marks it done, then
        their hashes."""
        name = part_name(result.first, result.last)
        written = []
        if result.series is not None:
            table = result.series.replace_schema_metadata(self.metadata("series"))
            written.append(write_parquet_atomic(table, self.series_dir / name))
        table = result.runs.replace_schema_metadata(self.metadata("runs"))
        written.append(write_parquet_atomic(table, self.runs_dir / name))
        self._record_checksums(written)

    # --- finishing ----------------------------------------------------------------------------
    def finalize(self, invocations: list[dict[str, Any]]) -> dict[str, str]:
        """Merge the parts into one file per table, ordered by run id; read each merged file
        back whole (checksums, row count, run ids); then remove the parts. Returns the merged
        files' sha256, for the manifest.

        Parts are streamed one at a time into fixed-size row groups, so memory stays flat
        however large the sweep, and the files do not depend on how runs were chunked.
        """
        if self.complete():
            self.cleanup()
            return dict(self.manifest.get("files") or {})
        self._metadata.clear()
        extra = {"invocations": json.dumps(invocations)}
        hashes = {}
        tables = [("series", self.series_dir)] if self.plan.series_variables else []
        for table, folder in [*tables, ("runs", self.runs_dir)]:
            target = self._merge(table, folder, extra)
            hashes[self._relative(target)] = file_sha256(target)
        self.cleanup()
        self.checksums_path.unlink(missing_ok=True)  # the parts are gone; sweep.json has files
        return hashes

    def _merge(self, table: str, folder: Path, extra: dict[str, str]) -> Path:
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
                part = read_verified(path)
                if table == "runs":
                    ids = part.column("run_id").to_numpy()
                    if len(ids) and not np.array_equal(
                        ids, np.arange(expected, expected + len(ids))
                    ):
                        raise DamagedFile(path, f"runs out of order (expected run {expected})")
                    expected += len(ids)
                if writer is None:
                    schema = part.schema.with_metadata(metadata)
                    writer = pq.ParquetWriter(tmp, schema, **PARQUET_OPTIONS)
                pending.append(part.replace_schema_metadata(metadata))
                held += part.num_rows
                if len(pending) >= COMPACT_EVERY:
                    pending = [pa.concat_tables(pending).combine_chunks()]
                while held >= rows:
                    merged = pa.concat_tables(pending)
                    writer.write_table(merged.slice(0, rows), row_group_size=rows)
                    pending, held = [merged.slice(rows)], merged.num_rows - rows
            if writer is None:
                raise DamagedFile(folder, f"no {table} parts")
            if held:
                writer.write_table(pa.concat_tables(pending), row_group_size=rows)
            writer.close()
            if table == "runs":
                if expected != self.plan.n_runs:
                    planned = self.plan.n_runs
                    raise DamagedFile(folder, f"{expected} runs recorded, {planned} planned")
                _check_whole(Path(tmp), rows=self.plan.n_runs, ids_from=0)
            else:
                _check_whole(Path(tmp))
            os.replace(tmp, target)
        except OSError as err:
            Path(tmp).unlink(missing_ok=True)
            raise output_error(err, target) from err
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target
