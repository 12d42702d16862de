"""The path model as event-loop components, for closed-loop simulations.

:class:`Path` is :func:`rtlib.net.simulate_path` one packet at a time: a sender
calls ``path.send(packet, size_bytes, on_arrival)`` at the current virtual time of
an :class:`rtlib.sim.EventLoop`, and ``on_arrival(packet)`` runs at the packet's
arrival time (never, if it is dropped).  Because the sender reacts to feedback,
send times are not known in advance, which is why later chapters (jitter buffers,
NACK, adaptive bitrate) use this form.  For the same seed and the same send times,
a :class:`Path` and :func:`simulate_path` give the same losses and arrival times
(tests/net/test_sim.py checks it).

:class:`DuplexPath` pairs two independent paths: media goes ``forward``, RTCP
feedback comes ``backward``.

Example::

    loop = EventLoop()
    path = Path(loop, delay_ms=50, jitter_ms=5, loss=0.02, capacity_bps=1e6)
    path.send("hello", 1200, lambda pkt: print(loop.time(), pkt))
    loop.run()

Used in: notebooks/04_network.ipynb, notebooks/07_jitter_buffers.ipynb,
notebooks/08_adaptive_bitrate.ipynb.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from rtlib.net.loss import LossState
from rtlib.net.path import (
    DELIVERED,
    EMPTY,
    LOST,
    QUEUE_DROP,
    PathResult,
    check_path_params,
    random_streams,
)
from rtlib.sim import EventLoop

_BLOCK = 1024  # random draws are taken in blocks; numpy's samplers are sequential, so
# blocks concatenate to exactly what one vectorised call returns


class _Draws:
    __slots__ = ("_rng", "_normal", "_buf", "_i")

    def __init__(self, rng: np.random.Generator, normal: bool):
        self._rng, self._normal = rng, normal
        self._buf: list[float] = []
        self._i = 0

    def next(self) -> float:
        if self._i >= len(self._buf):
            draw = self._rng.standard_normal if self._normal else self._rng.random
            self._buf = draw(_BLOCK).tolist()
            self._i = 0
        v = self._buf[self._i]
        self._i += 1
        return v


class Path:
    """One direction of an impaired path inside an :class:`rtlib.sim.EventLoop`.

    Takes the keyword parameters of :func:`rtlib.net.simulate_path` (same meaning,
    same checks).  ``stream`` names an independent set of random streams (so two
    paths with the same seed differ); ``record=True`` keeps a per-packet log that
    :meth:`result` returns as a :class:`rtlib.net.PathResult`.
    """

    def __init__(self, loop: EventLoop, *, delay_ms: float = 0.0, jitter_ms: float = 0.0,
                 jitter_dist: str = "normal", reorder: bool = True, loss: float = 0.0, burst_len: float = 1.0,
                 capacity_bps=None, queue_limit_bytes: float | None = None, queue_limit_ms: float | None = None,
                 seed: int = 0, pareto_shape: float = 2.0, stream: str = "", record: bool = False,
                 name: str = "path"):
        if not isinstance(loop, EventLoop) and not hasattr(loop, "call_at"):
            raise ValueError(f"loop must be an rtlib.sim.EventLoop, got {type(loop).__name__}")
        p = check_path_params(delay_ms=delay_ms, jitter_ms=jitter_ms, jitter_dist=jitter_dist, reorder=reorder,
                              loss=loss, burst_len=burst_len, capacity_bps=capacity_bps,
                              queue_limit_bytes=queue_limit_bytes, queue_limit_ms=queue_limit_ms,
                              pareto_shape=pareto_shape)
        self.loop, self.name, self.params = loop, name, p
        self.capacity = p["capacity"]
        self._delay_s = p["delay_ms"] / 1000.0
        self._jitter_ms, self._dist, self._shape = p["jitter_ms"], p["jitter_dist"], p["pareto_shape"]
        self._reorder = p["reorder"]
        self._limit_b, self._limit_s = p["queue_limit_bytes"], p["queue_limit_ms"]
        if self._limit_s is not None:
            self._limit_s /= 1000.0
        self._loss = LossState(p["loss"], p["burst_len"])
        loss_rng, jitter_rng = random_streams(seed, stream)
        self._loss_u = _Draws(loss_rng, normal=False)
        self._jitter = _Draws(jitter_rng, normal=(self._dist == "normal"))
        # the scalar form of path.jitter_from_draws (numpy scalars are slow one at a time)
        j_s, a = self._jitter_ms / 1000.0, self._shape
        if self._dist == "uniform":
            self._jitter_of = lambda x: 2.0 * j_s * x
        elif self._dist == "normal":
            k = j_s * math.sqrt(math.pi / 2.0)
            self._jitter_of = lambda x: k * abs(x)
        else:
            self._jitter_of = lambda x: j_s * (a - 1.0) * ((1.0 - x) ** (-1.0 / a) - 1.0)
        self._e_prev = EMPTY  # offered-byte count at which the queue empties
        self._last_arrival = -math.inf
        self.sent = self.delivered = self.random_losses = self.queue_drops = 0
        self.sent_bytes = 0.0
        self._log: list[tuple[float, float, float, int, float]] | None = [] if record else None

    # -- capacity helpers (the capacity curves answer a Python float with a scalar fast path)
    def _U_before(self, t: float) -> float:
        return float(self.capacity.bytes_before(t))

    def _U_by(self, t: float) -> float:
        return float(self.capacity.bytes_by(t))

    def _U_inv(self, x: float) -> float:
        return float(self.capacity.time_of_bytes(x))

    # -- the public face ----------------------------------------------------------------
    def send(self, packet: Any, size_bytes: float, on_arrival: Callable[[Any], Any] | None = None) -> float | None:
        """Send ``packet`` of ``size_bytes`` now; return its arrival time, or None if dropped.

        ``on_arrival(packet)`` is scheduled on the loop for the arrival time (pass
        None for cross traffic nobody receives).
        """
        if not size_bytes > 0 or not math.isfinite(size_bytes):
            raise ValueError(f"size_bytes must be a finite number > 0 bytes, got {size_bytes!r}")
        now = self.loop.time()
        self.sent += 1
        self.sent_bytes += size_bytes
        lost = self._loss.step(self._loss_u.next()) if self._loss.loss > 0 else False
        draw = self._jitter.next() if self._jitter_ms > 0 else 0.0
        if lost:
            self.random_losses += 1
            self._record(now, size_bytes, math.nan, LOST, math.nan)
            return None
        departure = now
        if self.capacity is not None:
            u = self._U_before(now)
            e_prev = self._e_prev
            h = math.inf
            if self._limit_b is not None:
                h = -math.inf if size_bytes > self._limit_b else u + self._limit_b - size_bytes
            if self._limit_s is not None:
                h = min(h, self._U_by(now + self._limit_s))
            if e_prev > h:
                self.queue_drops += 1
                self._record(now, size_bytes, math.nan, QUEUE_DROP, math.nan)
                return None
            self._e_prev = (u if u > e_prev else e_prev) + size_bytes
            departure = self._U_inv(self._e_prev)
        arrival = departure + self._delay_s
        if self._jitter_ms > 0:
            arrival += self._jitter_of(draw)
        if not self._reorder:
            arrival = max(arrival, self._last_arrival)
            self._last_arrival = arrival
        self.delivered += 1
        self._record(now, size_bytes, arrival, DELIVERED, departure - now)
        if on_arrival is not None:
            self.loop.call_at(arrival, on_arrival, packet)
        return arrival

    def queue_delay_s(self) -> float:
        """How long a packet sent now would wait before its turn (0 when the queue is empty)."""
        if self.capacity is None:
            return 0.0
        now = self.loop.time()
        if self._e_prev <= self._U_before(now):
            return 0.0
        return max(0.0, self._U_inv(self._e_prev) - now)

    def queue_bytes(self) -> float:
        """Bytes waiting in the bottleneck now (including what is left of the packet in service)."""
        if self.capacity is None:
            return 0.0
        return max(0.0, self._e_prev - self._U_by(self.loop.time()))

    def stats(self) -> dict:
        return {"sent": self.sent, "delivered": self.delivered, "random_losses": self.random_losses,
                "queue_drops": self.queue_drops, "sent_bytes": self.sent_bytes}

    def _record(self, t, size, arrival, code, qdelay):
        if self._log is not None:
            self._log.append((t, size, arrival, code, qdelay))

    def result(self) -> PathResult:
        """The log of a ``record=True`` path as a :class:`PathResult`."""
        if self._log is None:
            raise ValueError("record must be True when the Path is created to get a result()")
        arr = np.array(self._log, dtype=float).reshape(-1, 5)
        code = arr[:, 3].astype(np.int8)
        return PathResult(send_s=arr[:, 0], size_bytes=arr[:, 1], arrival_s=arr[:, 2], lost=code != DELIVERED,
                          drop_code=code, queue_delay_s=arr[:, 4], departure_s=arr[:, 0] + arr[:, 4],
                          params={"name": self.name})

    def __repr__(self) -> str:
        return f"<Path {self.name}: {self.stats()}>"


class DuplexPath:
    """Two independent :class:`Path` objects: ``forward`` (media) and ``backward`` (feedback).

    ``forward`` and ``backward`` are dicts of :class:`Path` keyword arguments; the
    backward path defaults to the forward one's delay with no loss and no bottleneck.
    """

    def __init__(self, loop: EventLoop, forward: dict | None = None, backward: dict | None = None, *,
                 seed: int = 0):
        forward = dict(forward or {})
        backward = dict(backward) if backward is not None else {"delay_ms": forward.get("delay_ms", 0.0)}
        for d in (forward, backward):
            if "seed" in d or "stream" in d:
                raise ValueError("set seed on DuplexPath itself, not in forward/backward")
        self.forward = Path(loop, seed=seed, stream="forward", name="forward", **forward)
        self.backward = Path(loop, seed=seed, stream="backward", name="backward", **backward)

    def rtt_floor_s(self) -> float:
        """The smallest possible round-trip time: the two propagation delays."""
        return self.forward._delay_s + self.backward._delay_s
