"""Running sweeps: the same numbers on any executor, failures recorded, readable results."""

from __future__ import annotations

import hashlib
import io
import json
import os

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pytest
import sweep_support
from sweep_support import comparable, read_runs, read_series, write_experiment

from webmodel.analysis.sweep import scheduler
from webmodel.analysis.sweep.progress import Progress
from webmodel.cli import main
from webmodel.core.model import CoalitionModel


def _sweep(path, out, *options: str) -> int:
    return main(["sweep", str(path), "--out", str(out), "--quiet", *options])


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The small sweep run in this process: what every executor must reproduce."""
    folder = tmp_path_factory.mktemp("reference")
    path = write_experiment(folder)
    assert _sweep(path, folder / "out", "--workers", "0") == 0
    return path, folder / "out"


def test_identical_results_on_one_worker_two_workers_and_a_dask_cluster(reference, tmp_path):
    from distributed import LocalCluster

    path, expected_out = reference
    expected_runs = comparable(read_runs(expected_out))
    expected_series = read_series(expected_out).replace_schema_metadata(None)
    assert expected_runs.num_rows == 8
    assert set(expected_runs.column("status").to_pylist()) == {"ok"}

    outs = {}
    for workers in ("1", "2"):
        outs[workers] = tmp_path / f"local{workers}"
        assert _sweep(path, outs[workers], "--workers", workers, "--chunk-size", "1") == 0
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        outs["dask"] = tmp_path / "dask"
        assert _sweep(path, outs["dask"], "--dask", cluster.scheduler_address) == 0
    for label, out in outs.items():
        assert comparable(read_runs(out)).equals(expected_runs), label
        series = read_series(out).replace_schema_metadata(None)
        assert series.equals(expected_series), label


def test_a_run_can_be_reproduced_from_its_row(reference):
    _, out = reference
    row = read_runs(out).slice(5, 1).to_pylist()[0]
    model = CoalitionModel(
        topology=row["topology"],
        surge=row["surge"],
        steps=row["steps"],
        surge_start=row["surge_start"],
        rng=row["seed"],
    ).run()
    for k, (state, item) in enumerate(zip(model.slot_states, model.slot_items, strict=True)):
        delivered = model.series("delivered")[:, k].sum()
        assert delivered == pytest.approx(row[f"delivered.{state}.{item}"], rel=1e-12)
    assert "delivered" not in row and "delivered.USA" not in row  # never summed across items


def test_duckdb_polars_and_pandas_read_the_dataset_with_its_provenance(reference):
    path, out = reference
    runs_glob = f"{out}/runs/*/*.parquet"
    con = duckdb.connect()
    count, experiments, ok = con.execute(
        "select count(*), count(distinct experiment), count(*) filter (status = 'ok') "
        f"from read_parquet('{runs_glob}', hive_partitioning = true)"
    ).fetchall()[0]
    assert (count, experiments, ok) == (8, 1, 8)
    by_topology = con.execute(
        "select topology, count(*), avg(fill_rate) "
        f"from read_parquet('{runs_glob}', hive_partitioning = true) group by all order by 1"
    ).fetchall()
    assert [row[:2] for row in by_topology] == [("hub-and-spokes", 4), ("production-web", 4)]
    steps = con.execute(
        "select count(distinct run_id), count(distinct variable), max(step) "
        f"from read_parquet('{out}/series/*/*.parquet', hive_partitioning = true)"
    ).fetchall()[0]
    assert steps == (8, 2, 30)

    meta = dict(
        con.execute(f"select key, value from parquet_kv_metadata('{runs_glob}')").fetchall()
    )
    meta = {k.decode(): v.decode() for k, v in meta.items()}
    assert meta["experiment_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert meta["root_seed"] == "7"
    assert meta["experiment_file"] == str(path)
    assert meta["webmodel_version"] and "git_commit" in meta and meta["started_utc"]
    assert meta["experiment_toml"] == path.read_text()
    assert json.loads(meta["factors"])[0] == {
        "name": "topology",
        "levels": ["hub-and-spokes", "production-web"],
    }

    frame = pl.read_parquet(f"{out}/runs/**/*.parquet", hive_partitioning=True)
    assert frame.height == 8
    assert {"run_id", "seed", "status", "error", "wall_time", "topology", "surge", "fill_rate"} <= (
        set(frame.columns)
    )
    assert frame["experiment"].unique().to_list() == ["small"]
    assert frame["run_id"].to_list() == list(range(8))
    panda = pd.read_parquet(out / "runs")
    assert len(panda) == 8 and set(panda["experiment"].astype(str)) == {"small"}
    tidy = pl.read_parquet(f"{out}/series/**/*.parquet", hive_partitioning=True)
    assert tidy.columns == ["run_id", "variable", "step", "value", "experiment"]
    assert tidy.height == 8 * 2 * 30


def test_a_failing_run_is_recorded_and_the_sweep_goes_on(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(scheduler, "run_chunk", sweep_support.run_chunk_raising)
    path = write_experiment(tmp_path)
    out = tmp_path / "out"
    code = main(["sweep", str(path), "--out", str(out), "--workers", "2", "--chunk-size", "3"])
    err = capsys.readouterr().err
    assert code == 1
    assert "2 failed" in err and "deliberate failure for the test" in err
    runs = read_runs(out)
    failed = [r for r in runs.to_pylist() if r["status"] == "failed"]
    assert len(failed) == 2 and runs.num_rows == 8
    for row in failed:
        assert row["topology"] == "production-web" and row["surge"] == 2.0
        assert row["error"] == "RuntimeError: deliberate failure for the test"
        assert "Traceback" in row["traceback"] and "in run" in row["traceback"]
        assert row["fill_rate"] is None
    ok = [r for r in runs.to_pylist() if r["status"] == "ok"]
    assert all(r["error"] is None and r["fill_rate"] is not None for r in ok)
    series_runs = set(read_series(out).column("run_id").to_pylist())
    assert series_runs == {r["run_id"] for r in ok}
    manifest = json.loads((out / "sweep.json").read_text())
    assert manifest["status"] == "complete" and manifest["runs_failed"] == 2
    assert main(["report", str(out), "--metrics", "fill_rate"]) == 0
    report = (out / "report" / "report.md").read_text()
    assert "## Failed runs (2)" in report and "deliberate failure for the test" in report


def test_a_run_that_kills_its_worker_is_found_and_recorded(monkeypatch, tmp_path):
    monkeypatch.setattr(scheduler, "run_chunk", sweep_support.run_chunk_dying)
    path = write_experiment(tmp_path, steps=20)
    out = tmp_path / "out"
    assert _sweep(path, out, "--workers", "2", "--chunk-size", "4") == 1
    runs = read_runs(out).to_pylist()
    dead = [r for r in runs if r["status"] == "failed"]
    assert [r["run_id"] for r in dead] == [
        r["run_id"]
        for r in runs
        if r["surge"] == 2.0 and r["topology"] == "hub-and-spokes" and r["seed"] % 2
    ]
    assert all("worker process died" in r["error"] for r in dead)
    assert sum(r["status"] == "ok" for r in runs) == 8 - len(dead)


def test_progress_lines_when_not_a_terminal_and_a_bar_on_one():
    stream = io.StringIO()
    progress = Progress(10, done=2, failed=1, label="demo", stream=stream, every=0)
    progress.update(3, 1)
    progress.update(5, 0)
    progress.close()
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("demo: 5/10 runs done, 2 failed, ")
    assert "runs/s" in lines[0] and "left" in lines[0]
    assert lines[-1].startswith("demo: 10/10 runs done, 2 failed")

    stream = io.StringIO()
    bar = Progress(10, label="demo", stream=stream, bar=True)
    bar.update(4, 1)
    bar.close()
    text = stream.getvalue()
    assert "4/10 runs" in text and "1 failed" in text and "run/s" in text


def test_progress_goes_to_stderr_in_plain_lines_during_a_sweep(capsys, tmp_path):
    path = write_experiment(tmp_path, steps=10)
    options = ["--workers", "0", "--chunk-size", "1", "--progress-every", "0"]
    code = main(["sweep", str(path), "--out", str(tmp_path / "out"), *options])
    captured = capsys.readouterr()
    assert code == 0 and captured.out == ""
    lines = [line for line in captured.err.splitlines() if "runs done" in line]
    assert len(lines) == 8 and lines[-1].startswith("small: 8/8 runs done, 0 failed")


def test_memory_stays_flat_while_results_stream_to_disk(monkeypatch, tmp_path):
    """The parent keeps no results: 200 runs of ~0.8 MB of series each do not grow it."""
    import pyarrow as pa

    from webmodel.analysis.sweep import runner

    def fake_run(run, context):
        row = {"run_id": run.run_id, "point": run.point, "replicate": run.replicate}
        row.update(seed=run.seed, status="ok", wall_time=0.0)
        n = 2**15
        series = pa.table(
            {
                "run_id": pa.array(np.full(n, run.run_id, dtype=np.int64)),
                "variable": pa.DictionaryArray.from_arrays(
                    pa.array(np.zeros(n, dtype=np.int32)), pa.array(context.series_variables)
                ),
                "step": pa.array(np.arange(n, dtype=np.int32)),
                "value": pa.array(np.random.default_rng(run.run_id).random(n)),
            },
            schema=runner.series_schema(),
        )
        return row, series

    def rss_mb() -> float:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    sizes = []
    original_record = None

    def record(self, result):
        original_record(self, result)
        sizes.append(rss_mb())

    original_record = scheduler._Scheduler._record
    monkeypatch.setattr(scheduler._Scheduler, "_record", record)
    monkeypatch.setattr(runner, "run_one", fake_run)
    path = write_experiment(tmp_path, replicates=50, steps=5)
    assert _sweep(path, tmp_path / "out", "--workers", "0", "--chunk-size", "1") == 0
    assert len(sizes) == 200
    # 160 MB of series passed through; the parent grows by far less than that.
    assert max(sizes[50:]) - sizes[50] < 20, (sizes[50], max(sizes[50:]))
    assert read_series(tmp_path / "out").num_rows == 200 * 2**15


def test_workers_start_safely_from_a_multi_threaded_process(tmp_path):
    """As in a Jupyter kernel: threads are running when the sweep starts its workers. Forking
    such a process can deadlock the child (Python warns); the workers must not be forked from
    it, and the results stay those of the in-process reference."""
    import threading
    import warnings

    from webmodel.analysis.sweep import build_plan, load_experiment, run_sweep

    done = threading.Event()
    busy = threading.Thread(target=done.wait, daemon=True)
    busy.start()
    path = write_experiment(tmp_path, replicates=1, steps=10)
    plan = build_plan(load_experiment(path))
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            summary = run_sweep(plan, tmp_path / "two", workers=2, progress={"quiet": True})
    finally:
        done.set()
    assert summary.complete and summary.failed == 0
    assert not [w for w in caught if "fork" in str(w.message)], [str(w.message) for w in caught]
    reference = run_sweep(path, tmp_path / "zero", workers=0, progress={"quiet": True})
    assert comparable(summary.results().runs).equals(comparable(reference.results().runs))
