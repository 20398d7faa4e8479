"""Progress of a sweep: a bar on a terminal, plain periodic lines in a log.

Both show runs done of the total, runs failed, the rate, and the time left. Rates count only the
runs of this invocation, so a resumed sweep does not claim the earlier runs' speed.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


def _duration(seconds: float) -> str:
    """A duration as people say it: 42 s, 3 min 05 s, 2 h 10 min."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class Progress:
    """Shows how a sweep is going.

    Args:
        total: runs in the sweep.
        done, failed: runs already recorded (when resuming).
        label: a prefix for every line, e.g. the experiment's name.
        stream: where to write (standard error by default, so stdout stays clean).
        every: seconds between plain lines (when ``stream`` is not a terminal).
        bar: force the bar on (True) or off (False); None decides from ``stream.isatty()``.
        quiet: show nothing.
    """

    def __init__(
        self,
        total: int,
        done: int = 0,
        failed: int = 0,
        label: str = "sweep",
        stream: TextIO | None = None,
        every: float = 10.0,
        bar: bool | None = None,
        quiet: bool = False,
    ) -> None:
        self.total, self.done, self.failed = total, done, failed
        self.initial = done
        self.label = label
        self.stream = stream or sys.stderr
        self.every = every
        self.quiet = quiet
        self.start = time.monotonic()
        self.last_line = self.start
        isatty = getattr(self.stream, "isatty", lambda: False)()
        self.bar = None
        if not quiet and (bar if bar is not None else isatty):
            from tqdm import tqdm

            self.bar = tqdm(
                total=total,
                initial=done,
                desc=label,
                unit="run",
                file=self.stream,
                dynamic_ncols=True,
                smoothing=0.05,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} runs"
                "{postfix} [{elapsed}<{remaining}, {rate_fmt}]",
            )
            self.bar.set_postfix_str(f"{failed} failed", refresh=False)

    @property
    def rate(self) -> float:
        """Runs per second in this invocation."""
        elapsed = time.monotonic() - self.start
        return (self.done - self.initial) / elapsed if elapsed > 0 else 0.0

    def line(self) -> str:
        rate = self.rate
        left = (self.total - self.done) / rate if rate > 0 else None
        return (
            f"{self.label}: {self.done}/{self.total} runs done, {self.failed} failed, "
            f"{rate:.1f} runs/s, "
            + (f"{_duration(left)} left" if left is not None else "time left unknown")
        )

    def update(self, done: int, failed: int) -> None:
        """Add ``done`` finished runs, ``failed`` of them failed."""
        self.done += done
        self.failed += failed
        if self.quiet:
            return
        if self.bar is not None:
            if failed:
                self.bar.set_postfix_str(f"{self.failed} failed", refresh=False)
            self.bar.update(done)
            return
        now = time.monotonic()
        if now - self.last_line >= self.every or self.done == self.total:
            self.last_line = now
            print(self.line(), file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
