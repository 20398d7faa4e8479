"""One writer per results folder: a lock file holding the owner's process id.

Two sweeps writing into one folder would both run everything and interleave their parts. The
first takes ``OUT/.lock`` with a POSIX record lock (``fcntl.lockf``) and writes its pid in it; a
second finds the lock held and stops at once, naming the owner. The kernel drops the lock when
its process dies however it dies (even SIGKILL), so a lock left by a dead process is stale by
construction: the next sweep simply takes it. Record locks are not inherited by forked worker
processes, so a worker that outlives its parent holds nothing.

Record locks belong to a process, so this process also keeps its own table: taking the lock of a
folder it already holds (the command line takes it before opening workers, ``run_sweep`` again)
nests instead of silently succeeding twice from two threads.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from webmodel.analysis.sweep.experiment import ExperimentError

LOCK = ".lock"

_held: dict[Path, tuple[int, int, int]] = {}  # folder -> (fd, depth, owning thread)
_guard = threading.Lock()


class SweepLocked(ExperimentError):
    """Another sweep is writing to this results folder."""


def _owner(path: Path) -> str:
    try:
        pid = path.read_text().strip()
    except OSError:
        pid = ""
    return f"process {pid}" if pid.isdigit() else "another process"


@contextmanager
def sweep_lock(folder: str | Path) -> Iterator[None]:
    """Hold the lock of ``folder`` (created if needed) for the duration of the block.

    Raises :class:`SweepLocked` (exit status 2 on the command line) if another process or
    thread holds it.
    """
    folder = Path(folder).resolve()
    me = threading.get_ident()
    with _guard:
        held = _held.get(folder)
        if held is not None:
            fd, depth, owner = held
            if owner != me:
                raise SweepLocked(
                    [f"{folder}: another sweep in this process is writing here"], "output folder"
                )
            _held[folder] = (fd, depth + 1, owner)
        else:
            fd = _acquire(folder)
            _held[folder] = (fd, 1, me)
    try:
        yield
    finally:
        with _guard:
            fd, depth, owner = _held[folder]
            if depth > 1:
                _held[folder] = (fd, depth - 1, owner)
            else:
                del _held[folder]
                os.close(fd)  # releases the record lock; the file stays (no unlink race)


def _acquire(folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise SweepLocked(
            [
                f"{folder}: {_owner(path)} is writing a sweep here; wait for it to finish (or "
                "stop it), or choose another --out"
            ],
            "output folder",
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd
