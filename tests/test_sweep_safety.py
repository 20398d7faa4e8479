"""A results folder cannot be silently wrong: changed inputs, a second writer and damaged files
are found and named (docs/sweeps.md, "Resuming safely")."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sweep_support import comparable, read_runs, read_series, write_experiment

from webmodel.analysis.sweep import scheduler
from webmodel.cli import main

pytestmark = pytest.mark.filterwarnings("ignore:This process .* is multi-threaded")

SCENARIO_EXPERIMENT = """
name = "{name}"
root_seed = 7
replicates = {replicates}
scenario = "coalition.toml"

[base]
steps = {steps}
surge_start = 5

[factors]
surge = [1.0, 2.0]

[output]
series = ["alpha_mean"]
"""


def _sweep(path: Path, out: Path, *extra: str) -> int:
    return main(["sweep", str(path), "--out", str(out), "--workers", "0", "--quiet", *extra])


@pytest.fixture
def stop_after(monkeypatch):
    """Make the next sweep stop (as on Ctrl-C) once ``n`` chunks are recorded."""

    def arm(n: int) -> None:
        armed = {"stop": threading.Event()}
        seen = []

        @contextmanager
        def events():
            yield armed["stop"], threading.Event()
            armed["stop"] = threading.Event()  # only the next sweep is stopped
            seen.append(None)

        record = scheduler._Scheduler._record

        def counting(self, result):
            record(self, result)
            if not seen and sum(1 for _ in self.store._parts(self.store.runs_dir)) >= n:
                armed["stop"].set()

        monkeypatch.setattr(scheduler, "_stop_on_signals", events)
        monkeypatch.setattr(scheduler._Scheduler, "_record", counting)

    return arm


def _parts(out: Path, table: str = "runs") -> list[Path]:
    return sorted((out / table / "experiment=small").glob("part-*.parquet"))


def _flip_a_byte(path: Path, where: float = 0.4) -> None:
    data = bytearray(path.read_bytes())
    data[int(len(data) * where)] ^= 0x10
    path.write_bytes(bytes(data))


# --- changed inputs ---------------------------------------------------------------------------


def test_resuming_after_the_scenario_file_changed_is_refused_and_fresh_starts_over(
    capsys, tmp_path, stop_after
):
    scenario = (Path(__file__).parents[1] / "webmodel/coalition/scenarios/default.toml").read_text()
    (tmp_path / "coalition.toml").write_text(scenario)
    path = write_experiment(tmp_path, SCENARIO_EXPERIMENT, replicates=3, steps=8)
    out = tmp_path / "out"
    stop_after(2)
    assert _sweep(path, out, "--chunk-size", "1") == 130
    edited = scenario.replace("shell_155mm = 2000", "shell_155mm = 2100")
    assert edited != scenario
    (tmp_path / "coalition.toml").write_text(edited)
    capsys.readouterr()
    assert _sweep(path, out) == 2
    err = capsys.readouterr().err
    assert "scenario 'coalition.toml' changed" in err and "--fresh" in err
    assert len(_parts(out)) == 2, "a refused resume must leave the folder as it was"

    assert _sweep(path, out, "--fresh") == 0
    manifest = json.loads((out / "sweep.json").read_text())
    assert manifest["status"] == "complete" and len(manifest["invocations"]) == 1
    reference = tmp_path / "reference"
    assert _sweep(path, reference) == 0
    assert comparable(read_runs(out)).equals(comparable(read_runs(reference)))


def test_resuming_with_other_code_is_refused_naming_it(capsys, tmp_path, monkeypatch, stop_after):
    from webmodel.analysis.sweep import store

    path = write_experiment(tmp_path, replicates=2, steps=8)
    out = tmp_path / "out"
    stop_after(1)
    assert _sweep(path, out, "--chunk-size", "1") == 130
    manifest = json.loads((out / "sweep.json").read_text())
    state = manifest["inputs"]
    assert len(state["source_sha256"]) == 64 and state["git_commit"]
    changed = {**store.source_state(), "source_sha256": "0" * 64}
    monkeypatch.setattr(store, "source_state", lambda: changed)
    capsys.readouterr()
    assert _sweep(path, out) == 2
    assert "the webmodel source changed" in capsys.readouterr().err


def test_an_unfinished_sweep_without_recorded_inputs_is_not_resumed(capsys, tmp_path, stop_after):
    path = write_experiment(tmp_path, replicates=2, steps=8)
    out = tmp_path / "out"
    stop_after(1)
    assert _sweep(path, out, "--chunk-size", "1") == 130
    manifest = json.loads((out / "sweep.json").read_text())
    del manifest["inputs"]  # as an older webmodel wrote it
    (out / "sweep.json").write_text(json.dumps(manifest))
    capsys.readouterr()
    assert _sweep(path, out) == 2
    assert "does not record the hashes" in capsys.readouterr().err


# --- one writer -------------------------------------------------------------------------------

HOLD = textwrap.dedent(
    """
    import sys, time
    from webmodel.analysis.sweep.lock import sweep_lock
    with sweep_lock(sys.argv[1]):
        print("locked", flush=True)
        time.sleep(60)
    """
)


def test_a_second_writer_exits_2_at_once_and_a_dead_owners_lock_is_stale(capsys, tmp_path):
    path = write_experiment(tmp_path, replicates=1, steps=5)
    out = tmp_path / "out"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(out)], stdout=subprocess.PIPE, start_new_session=True
    )
    try:
        assert holder.stdout.readline() == b"locked\n"
        start = time.monotonic()
        assert _sweep(path, out) == 2
        assert time.monotonic() - start < 10
        err = capsys.readouterr().err
        assert f"process {holder.pid} is writing a sweep here" in err
        assert not (out / "sweep.json").exists(), "the refused sweep wrote into the folder"
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=30)
    # The owner died without cleaning up: its lock file stays, but the lock went with it.
    assert (out / ".lock").exists()
    assert _sweep(path, out) == 0


# --- damaged files ----------------------------------------------------------------------------


def test_page_checksums_find_a_flipped_bit_inside_a_value_page(tmp_path):
    from webmodel.io.output import write_parquet_atomic

    values = np.linspace(0.0, 1.0, 50_000)
    path = write_parquet_atomic(pa.table({"value": values}), tmp_path / "x.parquet")
    _flip_a_byte(path, 0.5)
    unverified = pq.ParquetFile(path).read()  # a reader that does not check: a wrong value
    assert not np.array_equal(unverified.column("value").to_numpy(), values)
    with pytest.raises(OSError, match="CRC"):
        pq.ParquetFile(path, page_checksum_verification=True).read()


@pytest.mark.parametrize("table", ["runs", "series"])
def test_a_damaged_part_is_named_set_aside_and_run_again(capsys, tmp_path, stop_after, table):
    path = write_experiment(tmp_path, replicates=2, steps=8)
    out = tmp_path / "out"
    stop_after(3)
    assert _sweep(path, out, "--chunk-size", "1") == 130
    victim = _parts(out, table)[1]
    _flip_a_byte(victim)
    capsys.readouterr()
    assert _sweep(path, out) == 0
    err = capsys.readouterr().err
    assert f"{table}/experiment=small/{victim.name}" in err and "set aside" in err
    assert len(list((out / "damaged").iterdir())) == 2  # the chunk's series and runs parts
    manifest = json.loads((out / "sweep.json").read_text())
    assert manifest["status"] == "complete" and manifest["damaged"]
    assert set(manifest["files"]) == {
        "runs/experiment=small/data.parquet",
        "series/experiment=small/data.parquet",
    }
    reference = tmp_path / "reference"
    assert _sweep(path, reference) == 0
    assert comparable(read_runs(out)).equals(comparable(read_runs(reference)))
    assert (
        read_series(out)
        .replace_schema_metadata(None)
        .equals(read_series(reference).replace_schema_metadata(None))
    )


def test_a_truncated_final_file_is_named_and_the_sweep_runs_again(capsys, tmp_path):
    path = write_experiment(tmp_path, replicates=1, steps=8)
    out = tmp_path / "out"
    assert _sweep(path, out) == 0
    before = comparable(read_runs(out))
    data = out / "runs" / "experiment=small" / "data.parquet"
    data.write_bytes(data.read_bytes()[:-100])
    capsys.readouterr()
    assert main(["report", str(out)]) == 2
    assert f"{data}: damaged or not a Parquet file" in capsys.readouterr().err
    assert _sweep(path, out) == 0
    err = capsys.readouterr().err
    assert "runs/experiment=small/data.parquet is damaged" in err
    assert comparable(read_runs(out)).equals(before)


# --- the code's state -------------------------------------------------------------------------


def test_the_source_state_is_the_packages_own_not_an_enclosing_repositorys(tmp_path, monkeypatch):
    from webmodel.io import output, version

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    def state() -> dict:
        for cached in (version.git_commit, version.git_dirty, output.source_sha256):
            cached.cache_clear()
        return output.source_state()

    package = tmp_path / "webmodel"
    package.mkdir()
    (package / "__init__.py").write_text("x = 1\n")
    git("init", "-q")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "x")
    monkeypatch.setattr(output, "PACKAGE_DIR", package)
    monkeypatch.setattr(version, "PACKAGE_DIR", package)
    # A version string with no commit in it (a source tree), so the checkout alone decides.
    monkeypatch.setattr(version, "package_version", lambda: "0.1.0")
    try:
        untracked = state()  # inside a repository that does not track the package
        assert untracked["git_commit"] == output.NOT_IN_GIT and untracked["git_dirty"] is None
        git("add", "webmodel")
        git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "package")
        clean = state()
        assert len(clean["git_commit"]) == 40 and clean["git_dirty"] is False
        (package / "__init__.py").write_text("x = 2\n")
        dirty = state()
        assert dirty["git_commit"] == clean["git_commit"] and dirty["git_dirty"] is True
        assert dirty["source_sha256"] != clean["source_sha256"]
    finally:
        monkeypatch.undo()
        for cached in (version.git_commit, version.git_dirty, output.source_sha256):
            cached.cache_clear()
