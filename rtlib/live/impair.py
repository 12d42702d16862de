"""The impairment of one direction of a live call, sans-IO: a packet and the time in, its fate out.

The relay (:mod:`rtlib.live.relay`) feeds every datagram it receives, with the
current time, to an :class:`ImpairedDirection`; the answer says whether it is
dropped (and why) or at what time it should leave the relay.  No sockets, no
clock: the same object runs under a virtual clock in the tests.

A datagram arriving at ``now_s`` meets, in the order of chapter 04's
:func:`rtlib.net.simulate_path` (so its parameters mean the same thing here)::

    outage? ──► random loss ──► FIFO bottleneck ──► delay + jitter ──► (no overtaking)
       │             │           rate_kbps, queue_ms
    dropped       dropped        dropped when the wait would exceed queue_ms

1. **outage** (a cable pulled, a tunnel): while ``outage`` is True every datagram is
   dropped; datagrams already in flight still arrive.
2. **random loss**: Bernoulli (``burst_len == 1``) or Gilbert–Elliott bursts with mean
   loss ``loss`` and mean burst length ``burst_len`` (:class:`rtlib.net.loss.LossState`,
   one uniform per datagram).
3. **bottleneck**: a FIFO served at ``rate_kbps`` (Lindley's recursion, one packet at a
   time: departure = max(now, link busy until) + size / rate).  A datagram that would
   wait longer than ``queue_ms`` before its turn is tail-dropped, as
   ``simulate_path(queue_limit_ms=...)`` does.  ``rate_kbps=None``: no bottleneck.
4. **propagation delay and jitter**: ``delay_ms`` plus a non-negative extra delay of
   mean ``jitter_ms`` drawn from ``jitter_dist`` ("uniform", "normal" = half-normal,
   "pareto" = Lomax with ``pareto_shape``) by :func:`rtlib.net.path.jitter_from_draws`.
   With ``reorder=False`` a datagram never departs before the one that entered
   before it in this direction (it waits instead: the path stays FIFO, as with
   ``simulate_path(reorder=False)``); with ``reorder=True`` jitter may reorder.

Every parameter may change while the call runs (the relay's ``forward.loss = 0.2``):
the next datagram sees the new values; datagrams already scheduled keep their times.

Used in: notebooks/12_live_call.ipynb (impair a real call while it runs).
References: RFC 3550 section 6.4.1 and appendix A.8 (what loss and jitter the
receiver then reports); Lindley, Proc. Cambridge Phil. Soc. 48 (1952) (the queue);
Gilbert (1960) / Elliott (1963) (bursty loss).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field, fields

import numpy as np

from rtlib.net.loss import LossState, check_loss
from rtlib.net.path import check_path_params, draw_jitter_source, jitter_from_draws
from rtlib.sim import make_rng

#: fates of a datagram
FORWARD, DROP_LOSS, DROP_QUEUE, DROP_OUTAGE = "forward", "loss", "queue", "outage"


@dataclass
class Impairment:
    """The impairment parameters of one direction; mutable, every assignment is validated.

    - ``delay_ms`` (>= 0): one-way propagation delay;
    - ``jitter_ms`` (>= 0): mean extra delay, distributed per ``jitter_dist``
      ("uniform", "normal" or "pareto"; ``pareto_shape`` in (1, 100]);
    - ``reorder``: may jitter reorder datagrams (False: never);
    - ``loss`` in [0, 1] and ``burst_len`` >= 1 (1 = independent loss): Gilbert–Elliott;
    - ``rate_kbps`` (None = no cap, else > 0 kbit/s) and ``queue_ms`` (> 0): the
      bottleneck rate and its drop-tail limit, as the time to drain it at ``rate_kbps``;
    - ``outage``: drop everything while True.

    The same names and ranges as :func:`rtlib.net.simulate_path` (``rate_kbps`` is its
    ``capacity_bps`` / 1000, ``queue_ms`` its ``queue_limit_ms``).  An invalid value
    raises ``ValueError`` naming the parameter and its range, and is not kept.
    """

    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    jitter_dist: str = "normal"
    reorder: bool = False
    loss: float = 0.0
    burst_len: float = 1.0
    rate_kbps: float | None = None
    queue_ms: float = 200.0
    outage: bool = False
    pareto_shape: float = 2.0
    _ready: bool = field(default=False, init=False, repr=False, compare=False)

    def __post_init__(self):
        self.validate()
        object.__setattr__(self, "_ready", True)

    def __setattr__(self, name, value):
        if name.startswith("_") or not getattr(self, "_ready", False):
            object.__setattr__(self, name, value)
            return
        if name not in _FIELD_NAMES:
            raise AttributeError(f"Impairment has no parameter {name!r}; parameters: {', '.join(_FIELD_NAMES)}")
        old = getattr(self, name)
        object.__setattr__(self, name, value)
        try:
            self.validate()
        except ValueError:
            object.__setattr__(self, name, old)
            raise

    def validate(self) -> None:
        """Check every parameter (ValueError names the first bad one and its range); normalise types."""
        p = check_path_params(delay_ms=self.delay_ms, jitter_ms=self.jitter_ms, jitter_dist=self.jitter_dist,
                              reorder=self.reorder, loss=self.loss, burst_len=self.burst_len, capacity_bps=None,
                              queue_limit_bytes=None, queue_limit_ms=None, pareto_shape=self.pareto_shape)
        r = self.rate_kbps
        if r is not None and (isinstance(r, bool) or not isinstance(r, numbers.Real) or not math.isfinite(r)
                              or r <= 0):
            raise ValueError(f"rate_kbps must be None (no cap) or a finite number > 0 kbit/s, got {r!r}")
        q = self.queue_ms
        if isinstance(q, bool) or not isinstance(q, numbers.Real) or not math.isfinite(q) or q <= 0:
            raise ValueError(f"queue_ms must be a finite number > 0 ms, got {q!r}")
        if not isinstance(self.outage, (bool, np.bool_)):
            raise ValueError(f"outage must be True or False, got {self.outage!r}")
        for k in ("delay_ms", "jitter_ms", "loss", "burst_len", "pareto_shape"):
            object.__setattr__(self, k, p[k])
        object.__setattr__(self, "reorder", p["reorder"])
        object.__setattr__(self, "outage", bool(self.outage))
        object.__setattr__(self, "queue_ms", float(q))
        object.__setattr__(self, "rate_kbps", None if r is None else float(r))

    def update(self, **params) -> "Impairment":
        """Set several parameters at once, all or nothing (validated together)."""
        unknown = sorted(set(params) - set(_FIELD_NAMES))
        if unknown:
            raise ValueError(f"unknown impairment parameter(s) {unknown}; parameters: {', '.join(_FIELD_NAMES)}")
        old = self.to_dict()
        for k, v in params.items():
            object.__setattr__(self, k, v)
        try:
            self.validate()
        except ValueError:
            for k, v in old.items():
                object.__setattr__(self, k, v)
            raise
        return self

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in _FIELD_NAMES}


_FIELD_NAMES = tuple(f.name for f in fields(Impairment) if not f.name.startswith("_"))


@dataclass
class DirectionCounters:
    """What one direction has seen: datagrams/bytes in, dropped by cause, forwarded."""

    packets_in: int = 0
    bytes_in: int = 0
    dropped_loss: int = 0
    dropped_queue: int = 0
    dropped_outage: int = 0
    forwarded: int = 0
    bytes_forwarded: int = 0

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Decision:
    """The fate of one datagram: ``fate`` is "forward" (leave at ``depart_s``) or a drop cause."""

    fate: str
    depart_s: float | None = None
    queue_delay_s: float = 0.0

    @property
    def forwarded(self) -> bool:
        return self.fate == FORWARD


class ImpairedDirection:
    """One direction of the relay as a plain object: ``decide(now_s, size_bytes)`` → :class:`Decision`.

    ``impairment`` is read afresh for every datagram, so changing it (or replacing it
    with :meth:`set`) takes effect at once.  ``seed`` and ``stream`` name the random
    streams (:func:`rtlib.sim.make_rng`: ``seed, "live", stream, "loss" / "jitter"``);
    one loss uniform and one jitter draw are taken per datagram that reaches them.
    The counters do not include ``forwarded``: the shell counts what it really sends
    (:meth:`sent`).
    """

    def __init__(self, impairment: Impairment | None = None, *, seed: int = 0, stream: str = "forward"):
        if impairment is None:
            impairment = Impairment()
        if not isinstance(impairment, Impairment):
            raise ValueError(f"impairment must be an Impairment or None, got {type(impairment).__name__}")
        self.impairment = impairment
        self.counters = DirectionCounters()
        self._loss_rng = make_rng(seed, "live", stream, "loss")
        self._jitter_rng = make_rng(seed, "live", stream, "jitter")
        self._loss_state: LossState | None = None
        self._busy_until_s = -math.inf  # when the bottleneck finishes the last accepted datagram
        self._last_depart_s = -math.inf

    def set(self, **params) -> Impairment:
        """Change parameters (validated together, all or nothing)."""
        return self.impairment.update(**params)

    def _loss_chain(self, imp: Impairment) -> LossState:
        st = self._loss_state
        if st is None or st.loss != imp.loss or st.burst_len != imp.burst_len:
            new = LossState(*check_loss(imp.loss, imp.burst_len))
            if st is not None:  # keep the chain's state across a parameter change
                new.bad, new.started = st.bad, st.started
            self._loss_state = st = new
        return st

    def decide(self, now_s: float, size_bytes: int) -> Decision:
        """The fate of a datagram of ``size_bytes`` that reaches the relay at ``now_s``."""
        imp = self.impairment
        c = self.counters
        now_s = float(now_s)
        c.packets_in += 1
        c.bytes_in += int(size_bytes)
        if imp.outage:
            c.dropped_outage += 1
            return Decision(DROP_OUTAGE)
        if imp.loss > 0 and self._loss_chain(imp).step(float(self._loss_rng.random())):
            c.dropped_loss += 1
            return Decision(DROP_LOSS)
        leave_queue_s = now_s
        if imp.rate_kbps is not None:
            start_s = max(now_s, self._busy_until_s)
            if start_s - now_s > imp.queue_ms / 1000.0:
                c.dropped_queue += 1
                return Decision(DROP_QUEUE)
            self._busy_until_s = leave_queue_s = start_s + size_bytes * 8.0 / (imp.rate_kbps * 1000.0)
        depart_s = leave_queue_s + imp.delay_ms / 1000.0
        if imp.jitter_ms > 0:
            draw = draw_jitter_source(self._jitter_rng, 1, imp.jitter_dist)
            depart_s += float(jitter_from_draws(draw, imp.jitter_ms, imp.jitter_dist, imp.pareto_shape)[0])
        if not imp.reorder:
            depart_s = max(depart_s, self._last_depart_s)
        self._last_depart_s = max(self._last_depart_s, depart_s)
        return Decision(FORWARD, depart_s, leave_queue_s - now_s)

    def sent(self, size_bytes: int) -> None:
        """The shell calls this when it has really sent a forwarded datagram."""
        self.counters.forwarded += 1
        self.counters.bytes_forwarded += int(size_bytes)


__all__ = ["DROP_LOSS", "DROP_OUTAGE", "DROP_QUEUE", "FORWARD", "Decision", "DirectionCounters",
           "ImpairedDirection", "Impairment"]
