"""Limits that keep one client from hurting the others: rate limits and bounded queues.

Two sans-IO pieces, fed with the current time, used by the gateway and the live server:

- :class:`RateLimiter`: one *token bucket* per key (a user name).  A bucket holds at
  most ``burst`` tokens and refills at ``rate_per_s``; each request takes one token, and
  a request that finds the bucket empty is refused with the time until the next token
  (the ``retry_after_ms`` of a ``rate_limited`` error, like Matrix's ``M_LIMIT_EXCEEDED``
  and MQTT 5's receive maximum / quota exceeded).  Full buckets are forgotten, so the
  table holds only keys active in the last ``burst / rate_per_s`` seconds.
- :class:`OutQueue`: the frames produced for one connection and not yet taken by the
  transport, bounded in frames and bytes.  :meth:`OutQueue.push` says when the bound is
  crossed; the server then closes the connection (``CLOSE_SLOW_READER``) instead of
  buffering without end for a client that does not read (XEP-0198 and MQTT brokers do
  the same with their per-session queues).

Used in: notebooks/03_im_scale.ipynb, rtlib/im/gateway.py, rtlib/im/server.py.
"""

from __future__ import annotations

import math
from collections import deque


class RateLimiter:
    """Token buckets, one per key.

    >>> rl = RateLimiter(rate_per_s=2.0, burst=3)
    >>> [rl.take("alice", 0.0) for _ in range(4)]   # 3 at once, then wait 0.5 s
    [0.0, 0.0, 0.0, 0.5]
    >>> rl.take("alice", 0.5)
    0.0
    """

    def __init__(self, rate_per_s: float, burst: int):
        if not (isinstance(rate_per_s, (int, float)) and math.isfinite(rate_per_s) and rate_per_s > 0):
            raise ValueError(f"rate_per_s must be a finite number > 0 per second, got {rate_per_s!r}")
        if isinstance(burst, bool) or not isinstance(burst, int) or burst < 1:
            raise ValueError(f"burst must be an integer >= 1, got {burst!r}")
        self.rate_per_s = float(rate_per_s)
        self.burst = burst
        self._buckets: dict = {}  # key -> [tokens, at]
        self.refused = 0

    def take(self, key, now: float) -> float:
        """Take one token for ``key``: 0.0 if granted, else the seconds until one is there."""
        b = self._buckets.get(key)
        if b is None:
            self._buckets[key] = [self.burst - 1.0, now]
            return 0.0
        tokens = b[0] + (now - b[1]) * self.rate_per_s
        if tokens > self.burst:
            tokens = float(self.burst)
        b[1] = now
        if tokens >= 1.0 - 1e-9:  # (a client that waits exactly retry_after gets through)
            b[0] = max(0.0, tokens - 1.0)
            return 0.0
        b[0] = tokens
        self.refused += 1
        return (1.0 - tokens) / self.rate_per_s

    def forget(self, key) -> None:
        """Drop ``key``'s bucket (its connection closed)."""
        self._buckets.pop(key, None)

    def forget_idle(self, now: float) -> None:
        """Drop buckets that have refilled completely (they behave as new ones)."""
        full_after = self.burst / self.rate_per_s
        for key in [k for k, b in self._buckets.items() if now - b[1] >= full_after]:
            del self._buckets[key]

    def __len__(self) -> int:
        return len(self._buckets)


class OutQueue:
    """Frames waiting for one connection's transport, bounded in frames and bytes.

    >>> q = OutQueue(max_frames=2, max_bytes=100)
    >>> q.push("a" * 40), q.push("b" * 40), q.push("c")    # the third crosses max_frames
    (True, True, False)
    >>> q.frames, q.bytes, q.push("d")   # overflowed: what was queued is dropped, and all after
    (0, 0, False)
    """

    __slots__ = ("max_frames", "max_bytes", "items", "bytes", "overflowed", "peak_bytes", "peak_frames")

    def __init__(self, max_frames: int, max_bytes: int):
        for name, v in (("max_frames", max_frames), ("max_bytes", max_bytes)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
        self.max_frames, self.max_bytes = max_frames, max_bytes
        self.items: deque = deque()
        self.bytes = 0
        self.overflowed = False
        self.peak_bytes = self.peak_frames = 0

    @property
    def frames(self) -> int:
        return len(self.items)

    def push(self, text: str) -> bool:
        """Queue ``text``; False once a bound is crossed: then the queue is emptied and
        refuses everything (the connection is to be closed; the client will sync)."""
        if self.overflowed:
            return False
        n = len(text) if text.isascii() else len(text.encode())
        if len(self.items) + 1 > self.max_frames or self.bytes + n > self.max_bytes:
            self.overflowed = True
            self.items.clear()
            self.bytes = 0
            return False
        self.items.append((text, n))
        self.bytes += n
        if self.bytes > self.peak_bytes:
            self.peak_bytes = self.bytes
        if len(self.items) > self.peak_frames:
            self.peak_frames = len(self.items)
        return True

    def pop(self) -> str:
        text, n = self.items.popleft()
        self.bytes -= n
        return text

    def __bool__(self) -> bool:
        return bool(self.items)
