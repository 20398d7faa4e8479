"""Where chunks run: local processes, this process, or a Dask cluster, all as a
``concurrent.futures.Executor`` so the sweep has one code path.

Local workers start from a fork server (``forkserver``), never by forking the sweep's own process:
that process may have threads (a Jupyter kernel always does, and numpy's and Arrow's pools), and
forking a multi-threaded process can deadlock the child. The fork server is a fresh interpreter
that imports the model once; each worker is forked from it, already loaded, so a worker costs
milliseconds instead of the model's import (about a second, more without bytecode). Where there
is no fork server (Windows) workers are spawned. Each worker ignores Ctrl-C (the parent decides
what to do) and dies with its parent, so a killed sweep leaves no orphans.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import select
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

PR_SET_PDEATHSIG = 1
START_METHOD = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
# Imported once by the fork server, so workers forked from it start with the model loaded
# (what a run imports: see runner.run_one).
PRELOAD = [
    "webmodel.analysis.sweep.runner",
    "webmodel.core.model",
    "webmodel.core.metrics",
    "webmodel.io.output",
]


# What starting local workers costs: a fork server that imports the model (about 1.5 s of CPU
# here, more on a loaded machine), paid before the first run. docs/sweeps.md, "Small sweeps".
POOL_START_SECONDS = 1.5


def default_workers() -> int:
    """The CPUs this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def workers_for(planned_seconds: float, runs: int, requested: int | None = None) -> int:
    """How many local workers a sweep of ``runs`` runs and about ``planned_seconds`` of work
    should use: ``requested`` if given; else none (this process, already loaded) when workers
    would save less time than they take to start; else one per CPU, at most one per run."""
    if requested is not None:
        return requested
    cpus = min(default_workers(), max(1, runs))
    if cpus <= 1 or planned_seconds * (1 - 1 / cpus) < POOL_START_SECONDS:
        return 0
    return cpus


def _die_with_parent() -> None:
    """Linux: have the kernel kill this worker when its parent dies (even by SIGKILL): the
    fork server, or the sweep itself where workers are spawned."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _exit_with(sweep: int) -> None:
    """End this worker as soon as the sweep process is gone, however it died.

    The worker's parent is the fork server, not the sweep, and the fork server outlives the
    sweep while any worker lives (each holds its "alive" pipe), so the kernel's parent-death
    signal alone would leave workers running. A thread waits on the sweep's process handle
    (Linux pidfd), or polls where there is none."""
    try:
        handle: int | None = os.pidfd_open(sweep)
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):
        handle = None

    def watch() -> None:
        if handle is not None:
            select.select([handle], [], [])
        else:
            while _alive(sweep):
                time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-sweep", daemon=True).start()


def worker_init(sweep: int) -> None:
    """Run in each local worker process before any task (``sweep``: the sweep's process id)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    _exit_with(sweep)


class InProcessExecutor(Executor):
    """Runs each task at once in this process (``--workers 0``): for debugging and profiling."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as err:
            future.set_exception(err)
        return future


@dataclass
class Workers:
    """An executor and what the sweep needs to know about it.

    Attributes:
        executor: where chunks are submitted.
        label: for messages, e.g. "2 local processes".
        slots: how many chunks can run at once (a callable: a Dask cluster may grow).
        restart: for a local pool, a function that replaces a broken pool; else None.
        stop: ends running work now (Ctrl-C): kills local workers.
    """

    executor: Executor
    label: str
    slots: Callable[[], int]
    restart: Callable[[], Executor] | None = None
    stop: Callable[[], None] = lambda: None


def _process_pool(workers: int) -> ProcessPoolExecutor:
    context = multiprocessing.get_context(START_METHOD)
    if START_METHOD == "forkserver":
        context.set_forkserver_preload(PRELOAD)  # no effect once this process's server runs
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=worker_init,
        initargs=(os.getpid(),),
    )
    # Start the fork server and a first worker now, so the sweep's clock and progress bar do
    # not count the model's import.
    pool.submit(os.getpid).result()
    return pool


def _kill_pool(pool: ProcessPoolExecutor) -> None:
    """End a pool's workers now (no public API before Python 3.14's terminate_workers).

    A worker killed while sending a result leaves half a message in the result pipe, and the
    pool's manager thread would wait forever for the rest, since this process also holds the
    pipe's write end; closing that end lets the read end and the pool shut down.
    """
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for process in processes:
        if process.is_alive():
            process.kill()
    for process in processes:
        process.join(timeout=5)
    result_queue = getattr(pool, "_result_queue", None)
    writer = getattr(result_queue, "_writer", None)
    if processes and writer is not None:
        writer.close()
    pool.shutdown(wait=False, cancel_futures=True)


@contextmanager
def open_workers(
    workers: int | None = None, dask: str | None = None, dask_local: bool = False
) -> Iterator[Workers]:
    """An executor for the sweep; closed (workers ended, cluster shut) on leaving.

    Args:
        workers: local processes (default: one per CPU; see :func:`workers_for` to choose
            from the planned work); 0 runs in this process. With ``dask_local``, the number
            of Dask worker processes.
        dask: address of a running Dask scheduler, e.g. ``tcp://10.0.0.5:8786``.
        dask_local: start a ``distributed.LocalCluster`` on this machine.
    """
    if dask or dask_local:
        with _dask_workers(workers, dask) as found:
            yield found
        return
    count = default_workers() if workers is None else workers
    if count == 0:
        yield Workers(InProcessExecutor(), "this process", lambda: 1)
        return
    state = {"pool": _process_pool(count)}

    def restart() -> Executor:
        _kill_pool(state["pool"])
        state["pool"] = _process_pool(count)
        return state["pool"]

    found = Workers(
        state["pool"],
        f"{count} local process{'es' if count > 1 else ''}",
        lambda: count,
        restart=restart,
        stop=lambda: _kill_pool(state["pool"]),
    )
    try:
        yield found
    finally:
        state["pool"].shutdown(wait=True, cancel_futures=True)


def _warm_up() -> str:
    """Import the model on a Dask worker before the first task (and check it can)."""
    from webmodel.io.output import package_version

    return package_version()


@contextmanager
def _dask_workers(workers: int | None, address: str | None) -> Iterator[Workers]:
    import logging

    from distributed import Client, LocalCluster

    cluster = None
    if address:
        client = Client(address)
        label = f"Dask cluster at {address}"
    else:
        count = workers or default_workers()
        cluster = LocalCluster(
            n_workers=count,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        client = Client(cluster)
        label = f"Dask LocalCluster of {count} worker{'s' if count > 1 else ''}"
    try:
        versions = set(client.run(_warm_up).values())
    except Exception as err:
        client.close()
        if cluster is not None:
            cluster.close()
        raise ValueError(
            f"--dask: the workers cannot run webmodel ({type(err).__name__}: {err}); install "
            "the same webmodel in the workers' environment"
        ) from err
    from webmodel.io.output import package_version

    if versions - {package_version()}:
        warnings.warn(
            f"Dask workers run webmodel {', '.join(sorted(versions))}, this process "
            f"{package_version()}: results may differ from a local sweep",
            RuntimeWarning,
            stacklevel=2,
        )
    executor = client.get_executor(pure=False)

    def slots() -> int:
        return max(1, sum(client.nthreads().values()))

    try:
        # Cancelling the sweep's futures cancels their Dask tasks: no `stop` needed.
        yield Workers(executor, label, slots)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
