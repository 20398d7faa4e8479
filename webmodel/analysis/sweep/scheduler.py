"""Run a planned sweep on an executor, streaming each finished chunk to disk.

Chunks are consecutive runs not yet recorded. Their size is guided: about
``TARGET_CHUNK_SECONDS`` of work while much remains, shrinking toward one run at the end, so that
scheduling costs little and the last workers do not idle (on one worker, only the time counts).
At most ``IN_FLIGHT_PER_SLOT`` chunks per worker are submitted at a time and each result is
written as soon as it arrives, so the parent holds no results and its memory stays flat however
many runs the sweep has.

A run that raises is recorded by the worker. A chunk whose task fails as a whole (a worker
killed by the OS, a Dask ``KilledWorker``) is retried run by run; on local processes the suspects
run one at a time after the pool is restarted, so the run that kills its worker is found and
recorded as failed while the others complete.

Ctrl-C or SIGTERM asks the sweep to stop: nothing new is submitted, the chunks already running
finish and are written, and the sweep returns interrupted (run it again to resume). A second
Ctrl-C abandons the running chunks; their runs simply run again on resume.
"""

from __future__ import annotations

import math
import signal
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import numpy as np

from webmodel.analysis.sweep.executor import Workers, open_workers, workers_for
from webmodel.analysis.sweep.experiment import Experiment, load_experiment
from webmodel.analysis.sweep.lock import sweep_lock
from webmodel.analysis.sweep.plan import Plan, build_plan
from webmodel.analysis.sweep.progress import Progress
from webmodel.analysis.sweep.runner import FAILED, Chunk, ChunkResult, failed_rows, run_chunk
from webmodel.analysis.sweep.store import ResultStore, now_utc

if TYPE_CHECKING:
    from webmodel.analysis.report.data import SweepResults

TARGET_CHUNK_SECONDS = 2.0
CHUNKS_PER_SLOT = 4  # guided scheduling: a chunk is at most remaining / (this x slots)
IN_FLIGHT_PER_SLOT = 2
STOP_LATENCY = 0.25  # seconds between checks for Ctrl-C / SIGTERM
MAX_ROUNDS = 3  # rounds of re-running runs whose parts were found damaged before merging


@dataclass
class SweepSummary:
    """How a sweep (this invocation of it) went."""

    out: Path
    n_runs: int
    done: int = 0
    failed: int = 0
    ran: int = 0  # runs recorded in this invocation
    elapsed: float = 0.0  # seconds of this invocation, from first submit to last write
    run_seconds: float = 0.0  # summed wall time of this invocation's runs
    slots: int = 1
    workers: str = ""
    interrupted: bool = False
    resumed: bool = False

    @property
    def complete(self) -> bool:
        return self.done == self.n_runs

    @property
    def rate(self) -> float:
        return self.ran / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def overhead(self) -> float | None:
        """Worker time not spent in runs: elapsed x slots / summed run time - 1."""
        if self.run_seconds <= 0:
            return None
        return self.elapsed * self.slots / self.run_seconds - 1

    def results(self) -> SweepResults:
        """The runs recorded in ``out`` so far (all of them once the sweep is complete)."""
        from webmodel.analysis.report.data import SweepResults

        return SweepResults.load(self.out)


@dataclass
class _Scheduler:
    plan: Plan
    store: ResultStore
    workers: Workers
    progress: Progress
    chunk_size: int | None
    summary: SweepSummary
    cache: bool = True
    remaining: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    cursor: int = 0
    retry: deque = field(default_factory=deque)  # single-run chunks to run again
    suspects: deque = field(default_factory=deque)  # run alone: one of them killed a worker
    generation: int = 0
    in_flight: dict[Future, tuple[Chunk, int, bool]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.context = replace(self.plan.context(), cache=self.cache)
        self.executor: Executor = self.workers.executor
        self.mean_run = max(self.plan.run_seconds, 1e-4)

    # --- choosing chunks ----------------------------------------------------------------------
    def _size(self, slots: int) -> int:
        if self.chunk_size:
            return self.chunk_size
        left = len(self.remaining) - self.cursor
        by_time = max(1, int(TARGET_CHUNK_SECONDS / self.mean_run))
        if slots <= 1:  # one worker never waits for another: only the time per chunk matters
            return by_time
        guided = max(1, math.ceil(left / (CHUNKS_PER_SLOT * slots)))
        return min(by_time, guided)

    def _next_chunk(self, slots: int) -> tuple[Chunk, bool] | None:
        """The next chunk to submit, and whether it must run alone (a suspect)."""
        if any(alone for _, _, alone in self.in_flight.values()):
            return None
        if self.suspects:
            return (self.suspects.popleft(), True) if not self.in_flight else None
        if self.retry:
            return self.retry.popleft(), False
        if self.cursor >= len(self.remaining):
            return None
        ids = self.remaining[self.cursor : self.cursor + self._size(slots)]
        gaps = np.flatnonzero(np.diff(ids) != 1)  # a chunk is consecutive run ids
        if len(gaps):
            ids = ids[: gaps[0] + 1]
        self.cursor += len(ids)
        return Chunk(self.context, tuple(self.plan.run(int(i)) for i in ids)), False

    def _top_up(self) -> None:
        slots = self.workers.slots()
        while len(self.in_flight) < IN_FLIGHT_PER_SLOT * slots:
            picked = self._next_chunk(slots)
            if picked is None:
                return
            chunk, alone = picked
            try:
                future = self.executor.submit(run_chunk, chunk)
            except BrokenProcessPool:  # the pool broke since the last result came in
                (self.suspects if alone else self.retry).appendleft(chunk)
                self._restart()
                continue
            self.in_flight[future] = (chunk, self.generation, alone)

    def _restart(self) -> None:
        if self.workers.restart is None:
            raise RuntimeError("the executor broke and cannot be restarted")
        self.executor = self.workers.restart()
        self.generation += 1

    # --- results ------------------------------------------------------------------------------
    def _record(self, result: ChunkResult) -> None:
        self.store.write(result)
        status = result.runs.column("status").to_numpy(zero_copy_only=False)
        failed = int(np.sum(status == FAILED))
        wall = result.runs.column("wall_time").to_numpy(zero_copy_only=False)
        wall = wall[~np.isnan(wall.astype(float))] if len(wall) else wall
        ran = result.runs.num_rows
        self.summary.ran += ran
        self.summary.done += ran
        self.summary.failed += failed
        self.summary.run_seconds += float(np.sum(wall))
        if self.summary.ran:
            self.mean_run = max(self.summary.run_seconds / self.summary.ran, 1e-4)
        self.progress.update(ran, failed)

    def _failed_task(self, chunk: Chunk, generation: int, alone: bool, err: Exception) -> None:
        detail = "".join(traceback.format_exception(err))
        if isinstance(err, BrokenProcessPool) and self.workers.restart is not None:
            if generation == self.generation:
                self._restart()
            if alone and len(chunk.runs) == 1:
                message = "the worker process died while running this run (killed or crashed)"
                self._record(failed_rows(chunk, f"BrokenProcessPool: {message}", detail))
            else:  # any run in flight may have done it: run each alone to find out
                self.suspects.extend(self._single(chunk))
            return
        if len(chunk.runs) > 1:
            self.retry.extend(self._single(chunk))
            return
        self._record(failed_rows(chunk, f"{type(err).__name__}: {err}", detail))

    def _single(self, chunk: Chunk) -> list[Chunk]:
        return [Chunk(chunk.context, (run,)) for run in chunk.runs]

    def run(self, stop: threading.Event) -> None:
        """Submit and collect chunks until every run is recorded or ``stop`` is set."""
        self._top_up()
        last_beat = time.monotonic()
        while self.in_flight and not stop.is_set():
            # Short waits: a stop request is seen within STOP_LATENCY seconds.
            finished, _ = wait(
                list(self.in_flight), timeout=STOP_LATENCY, return_when=FIRST_COMPLETED
            )
            if not finished:
                if self.progress.every and time.monotonic() - last_beat >= self.progress.every:
                    last_beat = time.monotonic()
                    self.progress.update(0, 0)  # keep the progress output alive
                continue
            for future in finished:
                chunk, generation, alone = self.in_flight.pop(future)
                try:
                    result = future.result()
                except Exception as err:
                    self._failed_task(chunk, generation, alone, err)
                else:
                    self._record(result)
            if not stop.is_set():
                self._top_up()

    def drain(self, force: threading.Event) -> None:
        """Stop: cancel what has not started, record what finishes, unless ``force`` is set;
        then end whatever still runs (its runs are simply run again on resume)."""
        for future in self.in_flight:
            future.cancel()
        while self.in_flight and not force.is_set():
            finished, _ = wait(
                list(self.in_flight), timeout=STOP_LATENCY, return_when=FIRST_COMPLETED
            )
            for future in finished:
                self.in_flight.pop(future)
                if future.cancelled() or future.exception() is not None:
                    continue  # not recorded: it runs again on resume
                self._record(future.result())
        if self.in_flight:
            self.workers.stop()
            self.in_flight.clear()


@contextmanager
def _stop_on_signals() -> Iterator[tuple[threading.Event, threading.Event]]:
    """Turn Ctrl-C and SIGTERM into requests, seen at safe points of the loop.

    The first asks to stop: no new chunks, the running ones finish and are kept. The second
    forces: running chunks are abandoned (their workers killed). A third raises
    KeyboardInterrupt. Flags, not exceptions: an exception raised at an arbitrary point (inside
    a lock held by ``wait`` or ``submit``) could leave the executor deadlocked.
    """
    stop, force = threading.Event(), threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop, force
        return

    def request(signum: int, frame: FrameType | None) -> None:
        if not stop.is_set():
            stop.set()
            print(
                "\nwebmodel sweep: stopping: finishing the chunks in progress "
                "(Ctrl-C again to abandon them)",
                file=sys.stderr,
                flush=True,
            )
        elif not force.is_set():
            force.set()
        else:
            raise KeyboardInterrupt

    previous = {s: signal.signal(s, request) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop, force
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def run_sweep(
    plan: Plan | Experiment | str | Path,
    out: str | Path | None = None,
    workers: Workers | int | None = None,
    chunk_size: int | None = None,
    progress: dict[str, Any] | None = None,
    fresh: bool = False,
    cache: bool = True,
) -> SweepSummary:
    """Run every run of ``plan`` not yet recorded in ``out``; merge the results when all are.

    From a notebook, ``run_sweep("experiments/example.toml", "results/example", workers=2)``
    does it all; ``.results()`` on the summary reads what it wrote.

    Args:
        plan: from :func:`webmodel.analysis.sweep.plan.build_plan`; or an experiment (loaded,
            or the path of its file), planned here.
        out: the results folder (created, or resumed if it holds this experiment's sweep with
            the same inputs; another sweep's folder, or changed inputs, raise ExperimentError);
            default ``results/NAME``.
        workers: from :func:`webmodel.analysis.sweep.executor.open_workers`; or a number of
            local processes (0: this process; None: one per CPU, or this process if the
            planned work is a few seconds), opened and closed here.
        chunk_size: runs per task; None chooses (guided, about 2 s of work per task).
        progress: keyword arguments for :class:`Progress` (``quiet``, ``every``, ``stream``).
        fresh: remove what an earlier sweep wrote in ``out`` and start over.
        cache: reuse each worker's wirings and betweenness across its runs
            (:mod:`webmodel.analysis.sweep.cache`; the results are identical either way).

    Returns:
        A summary; ``interrupted`` is set if Ctrl-C or SIGTERM stopped the sweep (what was
        finished is kept, and running the same sweep again resumes it).

    Only one sweep writes in ``out`` at a time (:func:`~webmodel.analysis.sweep.lock.sweep_lock`);
    a second raises :class:`~webmodel.analysis.sweep.lock.SweepLocked`.
    """
    if isinstance(plan, str | Path):
        plan = load_experiment(plan)
    if isinstance(plan, Experiment):
        plan = build_plan(plan)
    if out is None:
        out = Path("results") / plan.experiment.name
    if not isinstance(workers, Workers):
        workers = workers_for(plan.run_cpu_seconds * plan.n_runs, plan.n_runs, workers)
        with open_workers(workers) as opened:
            return run_sweep(plan, out, opened, chunk_size, progress, fresh, cache)
    with sweep_lock(out):
        store = ResultStore(out, plan)
        if fresh:
            store.clear()
        return _run_locked(plan, store, workers, chunk_size, progress, cache)


def _run_locked(
    plan: Plan,
    store: ResultStore,
    workers: Workers,
    chunk_size: int | None,
    progress: dict[str, Any] | None,
    cache: bool = True,
) -> SweepSummary:
    resumed = store.open()
    mask, failed_before = store.done()
    summary = SweepSummary(
        out=store.root,
        n_runs=plan.n_runs,
        done=int(mask.sum()),
        failed=failed_before,
        slots=workers.slots(),
        workers=workers.label,
        resumed=resumed,
    )
    state = store.inputs()
    invocation = {
        "started_utc": now_utc(),
        "workers": workers.label,
        "runs_before": summary.done,
        "webmodel_version": state["webmodel_version"],
        "git_commit": state["git_commit"],  # says so outside a checkout, never ""
        "git_dirty": state["git_dirty"],
        "source_sha256": state["source_sha256"],
    }
    bar = Progress(
        plan.n_runs, summary.done, failed_before, label=plan.experiment.name, **(progress or {})
    )
    scheduler = _Scheduler(plan, store, workers, bar, chunk_size, summary, cache)
    start = time.perf_counter()
    with _stop_on_signals() as (stop, force):
        try:
            for _ in range(MAX_ROUNDS):
                scheduler.remaining, scheduler.cursor = np.flatnonzero(~mask), 0
                scheduler.run(stop)
                if stop.is_set():
                    scheduler.drain(force)
                    break
                # Before merging, every part is checked again: a damaged one is set aside and
                # its runs run again (a few rounds at most: a disk that keeps damaging files
                # is reported, not retried forever).
                if not summary.complete or not store.verify_parts():
                    break
                mask, summary.failed = store.done()
                summary.done = int(mask.sum())
        except KeyboardInterrupt:
            force.set()
            scheduler.drain(force)
        finally:
            summary.elapsed = time.perf_counter() - start
            summary.interrupted = stop.is_set() and not summary.complete
            summary.slots = workers.slots()
            bar.close()
    invocation.update(
        ended_utc=now_utc(),
        runs=summary.ran,
        seconds=round(summary.elapsed, 3),
        run_seconds=round(summary.run_seconds, 3),
        interrupted=summary.interrupted,
    )
    invocations = [*store.manifest.get("invocations", []), invocation]
    if summary.complete and not summary.interrupted:
        files = store.finalize(invocations)
        store.save_manifest(
            invocations=invocations,
            status="complete",
            finished_utc=now_utc(),
            runs_ok=summary.done - summary.failed,
            runs_failed=summary.failed,
            files=files,
        )
    else:
        store.save_manifest(
            invocations=invocations,
            status="interrupted",
            runs_done=summary.done,
            runs_failed=summary.failed,
        )
    return summary
