"""The virtual-time event loop.

Times are seconds (``float``) on a virtual clock that only moves when the loop pops
the next event: nothing here sleeps or reads the wall clock.  The method names follow
:class:`asyncio.AbstractEventLoop` (``time``, ``call_at``, ``call_later``,
``call_soon``) so sans-IO protocol objects can be driven by either loop.

Events scheduled for the same instant run in the order they were scheduled (FIFO),
which keeps runs reproducible.
"""

from __future__ import annotations

import heapq
import math
from itertools import count
from typing import Any, Callable


class Handle(list):
    """A scheduled callback; ``cancel()`` stops it from running.

    A handle is its own heap entry ``[when, seq, callback, args]``: the heap compares
    the first two items in C (``seq`` is unique, so callbacks are never compared),
    which keeps scheduling cheap.  A cancelled or finished handle has ``callback``
    set to ``None``.
    """

    __slots__ = ()

    @property
    def when(self) -> float:
        """The virtual time (seconds) the callback is scheduled for."""
        return self[0]

    def cancel(self) -> None:
        """Cancel the callback; cancelling twice, or after it ran, does nothing."""
        self[2] = None
        self[3] = ()

    def cancelled(self) -> bool:
        """True once cancelled or run."""
        return self[2] is None

    def __repr__(self) -> str:
        state = "done or cancelled" if self[2] is None else "pending"
        return f"<Handle when={self[0]:.6f}s {state}>"


class EventLoop:
    """A deterministic event loop on a virtual clock.

    >>> loop = EventLoop()
    >>> seen = []
    >>> _ = loop.call_later(0.5, seen.append, "b")
    >>> _ = loop.call_at(0.1, seen.append, "a")
    >>> loop.run()
    2
    >>> seen, loop.time()
    (['a', 'b'], 0.5)
    """

    def __init__(self, start_s: float = 0.0):
        if not math.isfinite(start_s):
            raise ValueError(f"start_s must be a finite number of seconds, got {start_s!r}")
        self._now = float(start_s)
        self._queue: list[Handle] = []
        self._seq = count()
        self._stopping = False
        self.events_run = 0

    # -- asyncio-like face -------------------------------------------------------------
    def time(self) -> float:
        """The current virtual time in seconds."""
        return self._now

    def call_at(self, when: float, callback: Callable[..., Any], *args: Any) -> Handle:
        """Run ``callback(*args)`` at virtual time ``when`` (seconds).

        A time in the past (``when < time()``) is a bug in the caller, so it raises
        ``ValueError`` rather than silently running late.
        """
        if not when >= self._now:  # also catches NaN
            raise ValueError(
                f"when must be >= the current time {self._now!r} s (and not NaN), got {when!r}"
            )
        handle = Handle((when, next(self._seq), callback, args))
        heapq.heappush(self._queue, handle)
        return handle

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any) -> Handle:
        """Run ``callback(*args)`` after ``delay`` seconds (``delay >= 0``)."""
        if not delay >= 0:  # also catches NaN
            raise ValueError(f"delay must be >= 0 seconds, got {delay!r}")
        handle = Handle((self._now + delay, next(self._seq), callback, args))
        heapq.heappush(self._queue, handle)
        return handle

    def call_soon(self, callback: Callable[..., Any], *args: Any) -> Handle:
        """Run ``callback(*args)`` at the current time, after those already due."""
        return self.call_at(self._now, callback, *args)

    def stop(self) -> None:
        """Make ``run()`` return after the callback that is running now."""
        self._stopping = True

    # -- running -----------------------------------------------------------------------
    def pending(self) -> int:
        """Number of scheduled callbacks that are not cancelled."""
        return sum(1 for h in self._queue if h[2] is not None)

    def next_time(self) -> float | None:
        """Time of the next pending callback, or ``None`` when there is none."""
        queue = self._queue
        while queue and queue[0][2] is None:
            heapq.heappop(queue)
        return queue[0][0] if queue else None

    def run(self, until: float | None = None) -> int:
        """Run callbacks in time order; return how many ran.

        With ``until`` (seconds), stop before any callback due after ``until`` and
        leave the clock at ``until``; without it, run until nothing is scheduled or
        ``stop()`` is called.
        """
        if until is not None and not until >= self._now:
            raise ValueError(f"until must be >= the current time {self._now!r} s, got {until!r}")
        queue = self._queue
        pop = heapq.heappop
        limit = until
        ran = 0
        self._stopping = False
        while queue:
            if limit is not None and queue[0][0] > limit:
                break
            handle = pop(queue)
            callback = handle[2]
            if callback is None:  # cancelled
                continue
            self._now = handle[0]
            handle[2] = None  # a handle runs once; cancel() afterwards is a no-op
            callback(*handle[3])
            ran += 1
            if self._stopping:
                break
        if until is not None and not self._stopping:
            self._now = max(self._now, until)
        self.events_run += ran
        return ran
