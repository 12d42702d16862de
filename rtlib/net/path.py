"""An impaired network path, open loop and vectorised: send times in, arrival times out.

A packet sent at ``send_s[i]`` meets, in this order:

1. **random loss** on the way in (Bernoulli, or Gilbert-Elliott bursts; see
   :mod:`rtlib.net.loss`): a lost packet never reaches the queue;
2. a **FIFO bottleneck** of capacity ``capacity_bps`` (constant, step pattern or a
   Mahimahi trace; see :mod:`rtlib.net.capacity`) with an optional **tail-drop**
   buffer limit in bytes or in milliseconds;
3. fixed **propagation delay** ``delay_ms`` plus random **jitter**, a non-negative
   extra delay whose mean is ``jitter_ms``: uniform on [0, 2·jitter], half-normal, or
   Pareto (Lomax, heavy-tailed).  With ``reorder=False`` a packet never overtakes
   the one sent before it (the path is FIFO end to end; it waits instead).

The FIFO queue is the Lindley recursion, departure d_i = max(a_i, d_{i-1}) + s_i
(D. V. Lindley, "The theory of queues with a single server", Proc. Cambridge Phil.
Soc. 48, 1952).  Unrolled it becomes

    d_i = S_i + max_{j <= i} (a_j - S_{j-1}),     S_i = s_0 + ... + s_i,

a cumulative sum and a cumulative maximum, which numpy runs in C: millions of
packets per second on one core (``python -m benchmarks net``).  For a time-varying
capacity the same recursion runs in "bytes offered" coordinates U(t) instead of
seconds (network calculus' service curve), then maps back with U^-1.  Tail drop
makes each packet depend on which earlier ones were dropped, so congested stretches
run a plain Python loop and the rest stays vectorised.

Used in: notebooks/04_network.ipynb and the chapters that simulate media over a
path (07 jitter buffers, 08 adaptive bitrate).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from rtlib.net.capacity import Capacity, as_capacity
from rtlib.net.loss import check_loss, losses_from_uniforms
from rtlib.sim import make_rng

JITTER_DISTS = ("uniform", "normal", "pareto")

#: the work-ahead value of a queue that has never held a packet: finite, so that a
#: threshold of -inf (a packet larger than the buffer) still drops
EMPTY = -1e300

#: drop codes used in :attr:`PathResult.drop_code`
DELIVERED, LOST, QUEUE_DROP = 0, 1, 2
DROP_REASONS = np.array(["", "loss", "queue"])


@dataclass
class PathResult:
    """Per-packet outcome of :func:`simulate_path` (all arrays in send order).

    - ``arrival_s``: arrival time at the receiver, ``nan`` when the packet was dropped;
    - ``lost``: True when dropped, for either reason;
    - ``drop_code``: 0 delivered, 1 random loss, 2 tail drop at the bottleneck queue
      (``drop_reason`` gives the same as strings "", "loss", "queue");
    - ``queue_delay_s``: time spent in the bottleneck, waiting plus serialisation
      (0 with infinite capacity; ``nan`` for packets that never entered the queue or
      were tail-dropped);
    - ``departure_s``: when the packet left the bottleneck (``send_s + queue_delay_s``).
    """

    send_s: np.ndarray
    size_bytes: np.ndarray
    arrival_s: np.ndarray
    lost: np.ndarray
    drop_code: np.ndarray
    queue_delay_s: np.ndarray
    departure_s: np.ndarray
    params: dict = field(default_factory=dict)

    @cached_property
    def drop_reason(self) -> np.ndarray:
        return DROP_REASONS[self.drop_code]

    @property
    def delay_s(self) -> np.ndarray:
        """One-way delay per packet (``nan`` when dropped)."""
        return self.arrival_s - self.send_s

    @property
    def n(self) -> int:
        return int(self.send_s.size)

    @property
    def loss_rate(self) -> float:
        """Share of packets dropped, for any reason."""
        return float(self.lost.mean()) if self.n else 0.0

    def summary(self) -> dict:
        """Counts and delay percentiles (ms) of the delivered packets."""
        d = self.delay_s[~self.lost] * 1000
        pct = (lambda q: float(np.percentile(d, q))) if d.size else (lambda q: float("nan"))
        return {
            "packets": self.n,
            "delivered": int((~self.lost).sum()),
            "random_loss": int((self.drop_code == LOST).sum()),
            "queue_drops": int((self.drop_code == QUEUE_DROP).sum()),
            "loss_rate": self.loss_rate,
            "delay_ms_min": float(d.min()) if d.size else float("nan"),
            "delay_ms_median": pct(50),
            "delay_ms_p99": pct(99),
            "delay_ms_max": float(d.max()) if d.size else float("nan"),
        }


# -- validation --------------------------------------------------------------------------
def _nonneg(value, name: str, unit: str = "") -> float:
    u = f" {unit}" if unit else ""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0{u}, got {value!r}")
    return float(value)


def _limit(value, name: str, unit: str):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise ValueError(f"{name} must be None (no limit) or a number > 0 {unit}, got {value!r}")
    return float(value)


def check_path_params(*, delay_ms, jitter_ms, jitter_dist, reorder, loss, burst_len, capacity_bps,
                      queue_limit_bytes, queue_limit_ms, pareto_shape) -> dict:
    """Validate the path parameters shared by :func:`simulate_path` and :class:`rtlib.net.sim.Path`."""
    p = {
        "delay_ms": _nonneg(delay_ms, "delay_ms", "ms"),
        "jitter_ms": _nonneg(jitter_ms, "jitter_ms", "ms"),
    }
    if jitter_dist not in JITTER_DISTS:
        raise ValueError(f"jitter_dist must be one of {list(JITTER_DISTS)}, got {jitter_dist!r}")
    p["jitter_dist"] = jitter_dist
    if not isinstance(reorder, (bool, np.bool_)):
        raise ValueError(f"reorder must be True or False, got {reorder!r}")
    p["reorder"] = bool(reorder)
    p["loss"], p["burst_len"] = check_loss(loss, burst_len)
    p["capacity"] = as_capacity(capacity_bps)
    p["queue_limit_bytes"] = _limit(queue_limit_bytes, "queue_limit_bytes", "bytes")
    p["queue_limit_ms"] = _limit(queue_limit_ms, "queue_limit_ms", "ms")
    if isinstance(pareto_shape, bool) or not isinstance(pareto_shape, numbers.Real) or not 1 < pareto_shape <= 100:
        raise ValueError(f"pareto_shape must be in (1, 100] (the mean exists only above 1), got {pareto_shape!r}")
    p["pareto_shape"] = float(pareto_shape)
    return p


def _check_send(send_s, size_bytes) -> tuple[np.ndarray, np.ndarray]:
    send = np.asarray(send_s, dtype=float)
    if send.ndim != 1:
        raise ValueError(f"send_s must be a 1-D array of times in seconds, got shape {send.shape}")
    if not np.all(np.isfinite(send)):
        raise ValueError("send_s must hold finite times in seconds (no nan or inf)")
    if send.size > 1:
        back = np.flatnonzero(np.diff(send) < 0)
        if back.size:
            raise ValueError(f"send_s must be non-decreasing; index {back[0] + 1} goes back in time")
    size = np.asarray(size_bytes, dtype=float)
    if size.ndim == 0:
        size = np.full(send.shape, float(size))
    if size.shape != send.shape:
        raise ValueError(f"size_bytes must be a number or an array shaped like send_s {send.shape}, got {size.shape}")
    if size.size and (not np.all(np.isfinite(size)) or size.min() <= 0):
        raise ValueError("size_bytes must be finite and > 0 bytes")
    return send, size


def random_streams(seed: int, stream: str = "") -> tuple[np.random.Generator, np.random.Generator]:
    """The (loss, jitter) generators of a path; both path forms draw one value per sent packet."""
    if not isinstance(stream, str):
        raise ValueError(f"stream must be a string, got {stream!r}")
    parts = ("net", stream) if stream else ("net",)
    return make_rng(seed, *parts, "loss"), make_rng(seed, *parts, "jitter")


def _check_cross(cross_traffic, cap):
    if cross_traffic is None:
        return None
    if cap is None:
        raise ValueError("cross_traffic needs a finite capacity_bps: without a bottleneck nothing is shared")
    try:
        t, size = cross_traffic
    except (TypeError, ValueError):
        raise ValueError("cross_traffic must be a pair (send_s, size_bytes)") from None
    t = np.asarray(t, dtype=float)
    if t.ndim != 1 or not np.all(np.isfinite(t)):
        raise ValueError("cross_traffic send times must be a 1-D array of finite seconds")
    size = np.broadcast_to(np.asarray(size, dtype=float), t.shape).copy()
    if size.size and (not np.all(np.isfinite(size)) or size.min() <= 0):
        raise ValueError("cross_traffic sizes must be finite and > 0 bytes")
    order = np.argsort(t, kind="stable")
    return t[order], size[order]


def poisson_cross_traffic(rate_bps: float, duration_s: float, size_bytes: float = 1200, *, start_s: float = 0.0,
                          seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Other users' packets: Poisson arrivals at a mean ``rate_bps`` in ``[start_s, start_s + duration_s)``.

    Returns ``(send_s, size_bytes)`` for ``simulate_path(..., cross_traffic=...)``.
    """
    for name, v in (("rate_bps", rate_bps), ("duration_s", duration_s), ("size_bytes", size_bytes)):
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v) or v <= 0:
            raise ValueError(f"{name} must be a finite number > 0, got {v!r}")
    rng = make_rng(seed, "net", "cross")
    n = rng.poisson(rate_bps * duration_s / (8 * size_bytes))
    t = start_s + np.sort(rng.random(n)) * duration_s
    return t, np.full(n, float(size_bytes))


# -- jitter ------------------------------------------------------------------------------
def jitter_from_draws(draws: np.ndarray, jitter_ms: float, dist: str, pareto_shape: float) -> np.ndarray:
    """Extra delay in seconds (>= 0, mean ``jitter_ms``) from per-packet draws.

    ``draws`` are standard normals for "normal" and uniforms in [0, 1) otherwise.
    """
    j = jitter_ms / 1000.0
    if dist == "uniform":
        return 2.0 * j * draws
    if dist == "normal":  # half-normal: E|Z| = sqrt(2/pi)
        return j * math.sqrt(math.pi / 2.0) * np.abs(draws)
    a = pareto_shape  # Lomax (Pareto II) with mean j: scale = j (a - 1)
    return j * (a - 1.0) * ((1.0 - draws) ** (-1.0 / a) - 1.0)


def draw_jitter_source(rng: np.random.Generator, n: int, dist: str) -> np.ndarray:
    return rng.standard_normal(n) if dist == "normal" else rng.random(n)


# -- the FIFO bottleneck -----------------------------------------------------------------
def fifo_departures(u: np.ndarray, s: np.ndarray, h: np.ndarray | None = None) -> np.ndarray:
    """Lindley recursion in offered-byte coordinates, with optional tail drop.

    ``u[i]``: bytes the link had offered before packet i arrived; ``s[i]``: its size;
    ``h[i]``: drop packet i when the work ahead of it, ``e_prev``, exceeds ``h[i]``.
    Returns ``e`` (the offered-byte count at which each packet has been fully sent)
    with ``nan`` for dropped packets.
    """
    n = u.size
    e = np.empty(n)
    if n == 0:
        return e
    if h is None:
        S = np.cumsum(s)
        return S + np.maximum.accumulate(u - (S - s))
    # Vectorised windows while no packet would be dropped; a window that would drop one
    # is accepted up to that packet and the congested stretch runs packet by packet.
    # Windows grow while the queue behaves and shrink after a drop, so the vectorised
    # work stays proportional to n however often congestion comes and goes.
    start, e_prev, window = 0, EMPTY, _MIN_WINDOW
    while start < n:
        stop = min(n, start + window)
        seg_s = s[start:stop]
        S = np.cumsum(seg_s)
        seg_e = S + np.maximum(np.maximum.accumulate(u[start:stop] - (S - seg_s)), e_prev)
        prev = np.empty_like(seg_e)
        prev[0] = e_prev
        prev[1:] = seg_e[:-1]
        viol = prev > h[start:stop]
        if not viol.any():
            e[start:stop] = seg_e
            e_prev = float(seg_e[-1])
            start, window = stop, window * 2
            continue
        v = int(np.argmax(viol))
        e[start:start + v] = seg_e[:v]
        e_prev = float(prev[v])
        start = _fifo_congested(u, s, h, e, start + v, e_prev)
        window = _MIN_WINDOW
        if start < n:
            e_prev = float(e[start - 1]) if not np.isnan(e[start - 1]) else _last_finite(e, start)
    return e


_MIN_WINDOW = 1024


def _last_finite(e: np.ndarray, stop: int) -> float:
    ok = np.flatnonzero(~np.isnan(e[:stop]))
    return float(e[ok[-1]]) if ok.size else EMPTY


def _fifo_congested(u, s, h, e, i, e_prev, chunk: int = 4096, calm: int = 64) -> int:
    """Packet-by-packet tail drop from index ``i`` until the queue has been empty for a while.

    Returns the index at which vectorised processing may resume (the queue is empty
    when that packet arrives and no drop happened in the last ``calm`` packets).
    """
    n = u.size
    nan = float("nan")
    since_drop = 0
    while i < n:
        stop = min(n, i + chunk)
        uu, ss, hh = u[i:stop].tolist(), s[i:stop].tolist(), h[i:stop].tolist()
        out = []
        for k in range(stop - i):
            uk = uu[k]
            if e_prev > hh[k]:
                out.append(nan)
                since_drop = 0
                continue
            if uk >= e_prev and since_drop >= calm:
                e[i:i + k] = out
                return i + k
            e_prev = (uk if uk > e_prev else e_prev) + ss[k]
            out.append(e_prev)
            since_drop += 1
        e[i:stop] = out
        i = stop
    return n


def _drop_thresholds(cap: Capacity, a: np.ndarray, u: np.ndarray, s: np.ndarray,
                     limit_bytes: float | None, limit_ms: float | None) -> np.ndarray | None:
    """Per-packet threshold on the work ahead (offered-byte units) above which it is tail-dropped.

    Bytes: drop when backlog + size > limit, backlog = max(0, e_prev - u).
    Milliseconds: drop when the packet would wait longer than the limit before its
    turn, U^-1(e_prev) - a > limit, which is e_prev > U(a + limit).
    """
    h = None
    if limit_bytes is not None:  # a packet larger than the whole buffer never fits
        h = np.where(s > limit_bytes, -np.inf, u + limit_bytes - s)
    if limit_ms is not None:
        hm = cap.bytes_by(a + limit_ms / 1000.0)
        h = hm if h is None else np.minimum(h, hm)
    return h


# -- the public function -----------------------------------------------------------------
def simulate_path(send_s, size_bytes, *, delay_ms: float = 0.0, jitter_ms: float = 0.0,
                  jitter_dist: str = "normal", reorder: bool = True, loss: float = 0.0,
                  burst_len: float = 1.0, capacity_bps=None, queue_limit_bytes: float | None = None,
                  queue_limit_ms: float | None = None, seed: int = 0, pareto_shape: float = 2.0,
                  stream: str = "", cross_traffic=None) -> PathResult:
    """Send packets through an impaired path; return when (and whether) each arrives.

    Parameters
    ----------
    send_s : non-decreasing send times in seconds.
    size_bytes : one size for all packets, or one per packet (bytes on the wire).
    delay_ms : fixed propagation + processing delay (>= 0), the floor of the one-way delay.
    jitter_ms : mean of the random extra delay (>= 0); ``jitter_dist`` picks its shape:
        "uniform" (on [0, 2·jitter]), "normal" (half-normal) or "pareto" (Lomax with
        shape ``pareto_shape``, heavy-tailed: rare, very late packets).
    reorder : if False, a packet never arrives before one sent earlier.
    loss, burst_len : mean random loss in [0, 1]; ``burst_len`` = 1 for independent
        (Bernoulli) loss, > 1 for Gilbert-Elliott bursts of that mean length in packets.
    capacity_bps : None (infinite), bit/s, a :class:`rtlib.net.capacity.Capacity`
        (e.g. a Mahimahi trace from :func:`rtlib.net.traces.load_mahimahi`) or an array
        of (time_s, rate_bps) rows.
    queue_limit_bytes, queue_limit_ms : tail-drop buffer limit (either or both): a
        packet is dropped if the bytes queued ahead plus its own exceed the byte limit,
        or if it would wait longer than the ms limit before its turn.  Limits apply only
        with a finite capacity (an infinite link never queues).
    seed : the random streams ("net"/"loss" and "net"/"jitter" of :func:`rtlib.sim.make_rng`).
    cross_traffic : optional ``(send_s, size_bytes)`` of other packets that share the
        bottleneck FIFO (e.g. from :func:`poisson_cross_traffic`): they take capacity and
        buffer space but are not reported; ``params["cross_dropped"]`` counts their tail drops.
    stream : optional name for an independent set of streams ("net"/stream/"loss" ...),
        as :class:`rtlib.net.sim.Path` uses for each direction of a duplex path.

    Example
    -------
    >>> import numpy as np
    >>> res = simulate_path(np.arange(5) * 0.02, 200, delay_ms=40, capacity_bps=1e6)
    >>> np.round(res.delay_s * 1000, 1).tolist()
    [41.6, 41.6, 41.6, 41.6, 41.6]
    """
    p = check_path_params(delay_ms=delay_ms, jitter_ms=jitter_ms, jitter_dist=jitter_dist, reorder=reorder,
                          loss=loss, burst_len=burst_len, capacity_bps=capacity_bps,
                          queue_limit_bytes=queue_limit_bytes, queue_limit_ms=queue_limit_ms,
                          pareto_shape=pareto_shape)
    send, size = _check_send(send_s, size_bytes)
    n = send.size
    loss_rng, jitter_rng = random_streams(seed, stream)
    cross = _check_cross(cross_traffic, p["capacity"])
    cross_dropped = 0

    # 1. random loss (one uniform per sent packet, so the event-driven Path agrees)
    code = np.zeros(n, dtype=np.int8)
    if p["loss"] > 0:
        lost_random = losses_from_uniforms(loss_rng.random(n), p["loss"], p["burst_len"])
        code[lost_random] = LOST
    entered = code == DELIVERED

    # 2. FIFO bottleneck
    departure = np.full(n, np.nan)
    cap = p["capacity"]
    if cap is None:
        departure[entered] = send[entered]
    else:
        idx = np.flatnonzero(entered) if not entered.all() else None
        a = send if idx is None else send[idx]
        s = size if idx is None else size[idx]
        if cross is not None:  # merge the other traffic into the same FIFO, in time order
            a_all = np.concatenate((a, cross[0]))
            order = np.argsort(a_all, kind="stable")  # at equal times, our packets first
            mine = order < a.size
            a, s = a_all[order], np.concatenate((s, cross[1]))[order]
        u = cap.bytes_before(a)
        h = _drop_thresholds(cap, a, u, s, p["queue_limit_bytes"], p["queue_limit_ms"])
        e = fifo_departures(u, s, h)
        if cross is not None:
            cross_dropped = int(np.isnan(e[~mine]).sum())
            e = e[mine]  # our packets, back in send order (the merge kept their order)
        dropped = np.isnan(e)
        d = np.full(e.shape, np.nan)
        d[~dropped] = cap.time_of_bytes(e[~dropped])
        if idx is None:
            departure = d
            code[dropped] = QUEUE_DROP
        else:
            departure[idx] = d
            code[idx[dropped]] = QUEUE_DROP

    # 3. propagation delay + jitter (one draw per sent packet)
    delivered = code == DELIVERED
    arrival = departure + p["delay_ms"] / 1000.0
    if p["jitter_ms"] > 0:
        draws = draw_jitter_source(jitter_rng, n, p["jitter_dist"])
        arrival = arrival + jitter_from_draws(draws, p["jitter_ms"], p["jitter_dist"], p["pareto_shape"])
    arrival[~delivered] = np.nan
    if not p["reorder"] and delivered.any():
        if delivered.all():
            arrival = np.maximum.accumulate(arrival)
        else:
            arrival[delivered] = np.maximum.accumulate(arrival[delivered])

    params = {k: v for k, v in p.items() if k != "capacity"}
    params.update(capacity=repr(cap) if cap is not None else None, seed=seed, stream=stream,
                  cross_packets=0 if cross is None else int(cross[0].size), cross_dropped=cross_dropped)
    return PathResult(send_s=send, size_bytes=size, arrival_s=arrival, lost=~delivered, drop_code=code,
                      queue_delay_s=departure - send, departure_s=departure, params=params)
