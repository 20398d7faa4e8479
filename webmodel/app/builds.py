"""Model builds on a shared app server: in a worker, cancellable, bounded per session and in total.

Building the two models at the app's largest size takes seconds (about 6 s at 20,000 firms and
950,000 links on one core) and a few hundred MB, so on a server that many people share:

- a build runs in a worker thread (the page starts it with Solara's ``use_task``), never in the
  request that asked for it, so the page and every other session stay responsive;
- it is **cancellable**: between its stages (scenario, each model) it checks whether it is still
  wanted and stops there if not. A session has at most one build: asking for another, pressing
  *Cancel*, or closing the page cancels the one under way (:class:`SessionBuilds`);
- builds **take turns** in two lanes (:data:`LANES`): *small* ones (up to
  :data:`SMALL_LINKS` links per model, the default size is 1,352) never wait for a large one;
  *large* ones run one at a time, so however many sessions ask for the largest build, at most
  one is being built and the server's memory holds at most one build in progress. Each lane
  has a bounded line; beyond it a build is refused at once (:class:`ServerBusy`) rather than
  queued without end.

Nothing here imports Solara, so the rules are tested in plain pytest.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

SMALL_LINKS = 100_000  # links per model up to which a build is small: < 1 s and < 50 MB here
POLL_SECONDS = 0.05  # how often a waiting build looks whether it was cancelled


class BuildCancelled(Exception):
    """The build is no longer wanted (a newer one, Cancel, or the session closed)."""


class ServerBusy(Exception):
    """Too many builds are waiting already; the message says so in words."""


class BuildRequest:
    """One build a session asked for; ``cancel`` from any thread, ``check`` in the worker."""

    def __init__(self) -> None:
        self._cancelled = threading.Event()

    def cancel(self) -> None:
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def check(self) -> None:
        """Raise :class:`BuildCancelled` if the build is no longer wanted (between stages)."""
        if self.cancelled:
            raise BuildCancelled


@dataclass
class Lane:
    """At most ``running`` builds at once and ``waiting`` in line, served in the order asked."""

    name: str
    running: int
    waiting: int

    def __post_init__(self) -> None:
        self._condition = threading.Condition()
        self._line: deque[BuildRequest] = deque()
        self._busy = 0

    @property
    def busy(self) -> int:
        """Builds running in this lane now."""
        return self._busy

    @property
    def in_line(self) -> int:
        """Builds waiting for their turn now."""
        return len(self._line)

    @contextmanager
    def turn(self, request: BuildRequest) -> Iterator[None]:
        """Wait for this request's turn (or its cancellation), hold it for the block.

        Raises:
            ServerBusy: the line is full (nothing waits, nothing is built).
            BuildCancelled: the request was cancelled while it waited.
        """
        with self._condition:
            if len(self._line) >= self.waiting:
                raise ServerBusy(
                    f"the server is building other sessions' models ({self.in_line} {self.name} "
                    "builds waiting): try again in a moment"
                )
            self._line.append(request)
            try:
                while not (self._busy < self.running and self._line[0] is request):
                    request.check()
                    self._condition.wait(POLL_SECONDS)
                request.check()
            except BaseException:
                self._line.remove(request)
                self._condition.notify_all()
                raise
            self._line.popleft()
            self._busy += 1
        try:
            yield
        finally:
            with self._condition:
                self._busy -= 1
                self._condition.notify_all()


# Per server: small builds two at a time (eight in line), large ones one at a time (four in
# line). The memory bound in docs/app.md follows from the large lane's single turn.
LANES = {"small": Lane("small", running=2, waiting=8), "large": Lane("large", running=1, waiting=4)}


def lane_for(links: int) -> Lane:
    """The lane of a build whose production web has about ``links`` links per model."""
    return LANES["small" if links <= SMALL_LINKS else "large"]


class SessionBuilds:
    """One session's builds: at most one at a time; a newer one cancels the older, and
    :meth:`cancel` (Cancel, or the page closing) cancels the one under way."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.current: BuildRequest | None = None

    def start(self) -> BuildRequest:
        """A new build for this session; the one under way, if any, is cancelled."""
        with self._lock:
            if self.current is not None:
                self.current.cancel()
            self.current = BuildRequest()
            return self.current

    def cancel(self) -> bool:
        """Cancel the build under way; whether there was one."""
        with self._lock:
            request, self.current = self.current, None
        if request is None:
            return False
        request.cancel()
        return True

    @property
    def pending(self) -> bool:
        return self.current is not None

    def finish(self, request: BuildRequest, apply: Callable[[], None]) -> bool:
        """Run ``apply`` (show the built models) only if ``request`` is still this session's
        build and was not cancelled: a build overtaken at its last stage is dropped."""
        with self._lock:
            if request is not self.current or request.cancelled:
                return False
            self.current = None
            apply()
            return True

    def drop(self, request: BuildRequest) -> None:
        """Forget ``request`` (it failed or was refused) if it is still the current one."""
        with self._lock:
            if request is self.current:
                self.current = None
