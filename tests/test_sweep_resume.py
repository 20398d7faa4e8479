"""An interrupted sweep (Ctrl-C, or killed outright) resumes to exactly the uninterrupted result."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sweep_support import comparable, read_runs, read_series, write_experiment

from webmodel.cli import main

RUNS = 40


def _start(path: Path, out: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "webmodel.cli", "sweep", str(path), "--out", str(out)]
    command += ["--workers", "2", "--chunk-size", "1", "--quiet"]
    return subprocess.Popen(
        command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def _parts(out: Path) -> list[Path]:
    folder = out / "runs" / "experiment=small"
    return sorted(folder.glob("part-*.parquet")) if folder.is_dir() else []


def _wait_for_parts(process: subprocess.Popen, out: Path, count: int) -> None:
    deadline = time.monotonic() + 120
    while len(_parts(out)) < count:
        assert process.poll() is None, "the sweep ended before it could be interrupted"
        assert time.monotonic() < deadline, "the sweep made no progress"
        time.sleep(0.01)


def _live_processes(session: int) -> list[int]:
    """Processes of a session that are still running (not zombies)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session and fields[0] != "Z":
            alive.append(int(stat.parent.name))
    return alive


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_interrupted_then_killed_sweep_resumes_to_the_uninterrupted_dataset(tmp_path):
    path = write_experiment(tmp_path, replicates=RUNS // 4, steps=60)
    out = tmp_path / "out"

    # 1. Ctrl-C: the sweep stops, keeps its finished chunks and says how to resume.
    first = _start(path, out)
    _wait_for_parts(first, out, 3)
    first.send_signal(signal.SIGINT)
    _, err = first.communicate(timeout=60)
    assert first.returncode == 130, err.decode()
    assert b"run the same command again to resume" in err
    after_interrupt = len(_parts(out))
    assert 3 <= after_interrupt < RUNS
    manifest = json.loads((out / "sweep.json").read_text())
    assert manifest["status"] == "interrupted" and manifest["runs_done"] == after_interrupt

    # 2. SIGKILL mid-way: no chance to clean up; the workers die with their parent.
    second = _start(path, out)
    _wait_for_parts(second, out, after_interrupt + 3)
    os.kill(second.pid, signal.SIGKILL)
    second.wait(timeout=30)
    deadline = time.monotonic() + 10
    while _live_processes(second.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _live_processes(second.pid) == [], "worker processes outlived the killed sweep"
    after_kill = len(_parts(out))
    assert after_interrupt + 3 <= after_kill < RUNS
    assert not (out / "runs" / "experiment=small" / "data.parquet").exists()

    # 3. Run again: only the missing runs run, and the dataset is whole.
    assert main(["sweep", str(path), "--out", str(out), "--workers", "2", "--quiet"]) == 0
    manifest = json.loads((out / "sweep.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["invocations"][-1]["runs"] == RUNS - after_kill
    assert _parts(out) == []
    assert not list(out.rglob("*.tmp")), "a temporary file was left behind"

    reference = tmp_path / "reference"
    assert main(["sweep", str(path), "--out", str(reference), "--workers", "0", "--quiet"]) == 0
    assert comparable(read_runs(out)).equals(comparable(read_runs(reference)))
    assert (
        read_series(out)
        .replace_schema_metadata(None)
        .equals(read_series(reference).replace_schema_metadata(None))
    )


def test_resuming_with_a_changed_experiment_file_is_refused(capsys, tmp_path):
    path = write_experiment(tmp_path, replicates=1, steps=10)
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--workers", "0", "--quiet"]) == 0
    path.write_text(path.read_text().replace("surge = [1.0, 2.0]", "surge = [1.0, 3.0]"))
    code = main(["sweep", str(path), "--out", str(out), "--workers", "0", "--quiet"])
    assert code == 2
    assert "holds a sweep of another experiment file" in capsys.readouterr().err


def test_a_finished_sweep_run_again_does_nothing(capsys, tmp_path):
    path = write_experiment(tmp_path, replicates=1, steps=10)
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--workers", "0", "--quiet"]) == 0
    before = read_runs(out)
    capsys.readouterr()
    assert main(["sweep", str(path), "--out", str(out), "--workers", "0", "--quiet"]) == 0
    assert "0 runs in" in capsys.readouterr().err
    assert read_runs(out).equals(before)


def test_resuming_when_the_code_makes_other_columns_is_refused(monkeypatch, capsys, tmp_path):
    import pyarrow as pa

    from webmodel.analysis.sweep.plan import Plan

    path = write_experiment(tmp_path, replicates=1, steps=10)
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--workers", "0", "--quiet"]) == 0
    schema = Plan.runs_schema
    monkeypatch.setattr(
        Plan, "runs_schema", lambda self: schema(self).append(pa.field("new_lever", pa.float64()))
    )
    assert main(["sweep", str(path), "--out", str(out), "--workers", "0", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "other columns than this version of webmodel makes (+new_lever)" in err


def test_a_second_sweep_into_the_same_folder_exits_2_at_once(capsys, tmp_path):
    """Two writers would both run everything and interleave their parts: the second stops."""
    path = write_experiment(tmp_path, replicates=RUNS // 4, steps=40)
    out = tmp_path / "out"
    first = _start(path, out)
    try:
        _wait_for_parts(first, out, 2)
        start = time.monotonic()
        assert main(["sweep", str(path), "--out", str(out), "--workers", "0", "--quiet"]) == 2
        assert time.monotonic() - start < 15
        assert f"process {first.pid} is writing a sweep here" in capsys.readouterr().err
        _, err = first.communicate(timeout=120)
        assert first.returncode == 0, err.decode()
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(timeout=30)
    manifest = json.loads((out / "sweep.json").read_text())
    assert manifest["status"] == "complete" and len(manifest["invocations"]) == 1
    assert read_runs(out).num_rows == RUNS
