"""Bottleneck capacity as a cumulative service curve.

Every capacity model here answers three questions about the bytes the bottleneck
*can* send (whether or not a packet is waiting to use them):

- ``bytes_by(t)``: bytes offered in ``[0, t]`` (right-continuous),
- ``bytes_before(t)``: bytes offered strictly before ``t``,
- ``time_of_bytes(x)``: the first time at which ``x`` bytes have been offered.

That single curve U(t) covers a constant rate (a straight line), a step pattern
such as the RFC 8867 test cases (a piecewise-linear line) and a Mahimahi trace
(a staircase of 1500-byte delivery opportunities).  The FIFO queue of
:mod:`rtlib.net.path` runs its Lindley recursion in "bytes offered" coordinates,
so capacity that goes unused while the queue is empty is lost, as on a real link.

The event-driven :class:`rtlib.net.Path` asks these questions one Python ``float``
at a time, two or three per packet; for that case the step and trace curves answer
with :mod:`bisect` on plain lists (same arithmetic), since numpy's array set-up
costs more than the look-up itself, and the constant rate multiplies directly.
Anything else (arrays, numpy scalars for the step and trace curves, and non-finite
times for the trace) takes the vectorised path.

Used in: notebooks/04_network.ipynb, notebooks/08_adaptive_bitrate.ipynb.
"""

from __future__ import annotations

import math
import numbers
from bisect import bisect_left, bisect_right

import numpy as np

#: Bytes per Mahimahi delivery opportunity (one MTU-sized packet, as the issue and
#: the Mahimahi documentation describe the trace format).
MTU_BYTES = 1500

#: time resolution of trace look-ups (1 ns): see OpportunityTrace._count
TIME_EPS_S = 1e-9


class Capacity:
    """Base class: a non-decreasing cumulative service curve U(t) in bytes."""

    def bytes_by(self, t_s):
        raise NotImplementedError

    def bytes_before(self, t_s):
        raise NotImplementedError

    def time_of_bytes(self, x_bytes):
        raise NotImplementedError

    @property
    def mean_rate_bps(self) -> float:
        raise NotImplementedError

    def rate_bps(self, t_edges_s):
        """Mean capacity in each bin ``[t_edges_s[k], t_edges_s[k+1])``, in bit/s (for plots)."""
        edges = np.asarray(t_edges_s, dtype=float)
        if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
            raise ValueError("t_edges_s must be an increasing 1-D array of at least 2 times in seconds")
        return np.diff(self.bytes_before(edges)) * 8.0 / np.diff(edges)


class ConstantCapacity(Capacity):
    """A link of constant ``rate_bps`` (bit/s), e.g. a DSL uplink."""

    def __init__(self, rate_bps: float):
        self.rate_bps_value = _positive_rate(rate_bps, "capacity_bps")
        self._Bps = self.rate_bps_value / 8.0

    def bytes_by(self, t_s):
        if isinstance(t_s, float):  # scalar fast path (numpy floats included: same arithmetic)
            return t_s * self._Bps
        return np.asarray(t_s, dtype=float) * self._Bps

    bytes_before = bytes_by  # continuous: no jumps

    def time_of_bytes(self, x_bytes):
        if isinstance(x_bytes, float):
            return x_bytes / self._Bps
        return np.asarray(x_bytes, dtype=float) / self._Bps

    @property
    def mean_rate_bps(self) -> float:
        return self.rate_bps_value

    def __repr__(self) -> str:
        return f"ConstantCapacity({self.rate_bps_value:g} bit/s)"


class StepCapacity(Capacity):
    """Piecewise-constant capacity: ``rates_bps[k]`` from ``times_s[k]`` on.

    No capacity before ``times_s[0]``; the last rate holds for ever.  A rate may be
    0 (an outage) except the last one.  Used for the RFC 8867 patterns
    (:mod:`rtlib.net.traces`) and the bufferbloat step-down experiment.
    """

    def __init__(self, times_s, rates_bps, *, duration_s: float | None = None, name: str = ""):
        t = np.asarray(times_s, dtype=float)
        r = np.asarray(rates_bps, dtype=float)
        if t.ndim != 1 or t.size == 0:
            raise ValueError("times_s must be a non-empty 1-D array of seconds")
        if r.shape != t.shape:
            raise ValueError(f"rates_bps must have one rate per time ({t.size}), got shape {r.shape}")
        if not np.all(np.isfinite(t)) or t[0] < 0:
            raise ValueError(f"times_s must be finite and >= 0, got first {t[0]!r}")
        if np.any(np.diff(t) <= 0):
            raise ValueError("times_s must be strictly increasing")
        if not np.all(np.isfinite(r)) or np.any(r < 0):
            raise ValueError("rates_bps must be finite and >= 0 bit/s")
        if r[-1] <= 0:
            raise ValueError(f"the last of rates_bps must be > 0 bit/s (it holds for ever), got {r[-1]!r}")
        if duration_s is not None and not (math.isfinite(duration_s) and duration_s > t[-1]):
            raise ValueError(f"duration_s must be None or a time after the last step {t[-1]:g} s, got {duration_s!r}")
        self.times_s, self.rates_bps = t, r
        self.duration_s, self.name = duration_s, name
        self._Bps = r / 8.0
        self._cum = np.concatenate(([0.0], np.cumsum(self._Bps[:-1] * np.diff(t))))
        # plain-list copies for the scalar fast path (see the module docstring)
        self._t_list, self._cum_list, self._Bps_list = t.tolist(), self._cum.tolist(), self._Bps.tolist()

    def bytes_by(self, t_s):
        if type(t_s) is float:
            if t_s < self._t_list[0]:
                return 0.0
            k = max(bisect_right(self._t_list, t_s) - 1, 0)
            return self._cum_list[k] + self._Bps_list[k] * (t_s - self._t_list[k])
        t = np.asarray(t_s, dtype=float)
        k = np.clip(np.searchsorted(self.times_s, t, side="right") - 1, 0, None)
        out = self._cum[k] + self._Bps[k] * (t - self.times_s[k])
        return np.where(t < self.times_s[0], 0.0, out)

    bytes_before = bytes_by

    def time_of_bytes(self, x_bytes):
        if type(x_bytes) is float:
            if x_bytes <= 0:
                return self._t_list[0]
            k = max(bisect_left(self._cum_list, x_bytes) - 1, 0)
            return self._t_list[k] + (x_bytes - self._cum_list[k]) / self._Bps_list[k]
        x = np.asarray(x_bytes, dtype=float)
        # the segment k with cum[k] < x <= cum[k+1]; its rate is > 0 by construction
        k = np.clip(np.searchsorted(self._cum, x, side="left") - 1, 0, None)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = self.times_s[k] + (x - self._cum[k]) / self._Bps[k]
        return np.where(x <= 0, self.times_s[0], out)

    @property
    def mean_rate_bps(self) -> float:
        """Mean rate up to ``duration_s`` (or, without it, counting the last step as long as the longest)."""
        if self.times_s.size == 1:
            return float(self.rates_bps[0])
        d = np.diff(self.times_s)
        d = np.append(d, self.duration_s - self.times_s[-1] if self.duration_s else d.max())
        return float(np.sum(self.rates_bps * d) / np.sum(d))

    def __repr__(self) -> str:
        steps = ", ".join(f"{t:g} s: {r / 1e6:g} Mbit/s" for t, r in zip(self.times_s, self.rates_bps))
        label = f"{self.name!r}, " if self.name else ""
        return f"StepCapacity({label}{steps})"


class OpportunityTrace(Capacity):
    """A Mahimahi-style trace: one ``bytes_per_opportunity`` delivery chance per entry.

    ``times_ms`` lists the delivery opportunities in milliseconds from the start,
    non-decreasing; a repeated time is several opportunities in that millisecond.
    As in Mahimahi's ``LinkQueue`` the trace loops (the next pass starts at the last
    timestamp), bytes of an opportunity can finish one packet and start the next,
    and an opportunity that finds the queue empty is wasted.

    Reference: K. Winstein, A. Sivaraman, H. Balakrishnan, "Stochastic Forecasts
    Achieve High Throughput and Low Delay over Cellular Networks", NSDI 2013, and
    R. Netravali et al., "Mahimahi: Accurate Record-and-Replay for HTTP", USENIX ATC 2015.
    """

    def __init__(self, times_ms, bytes_per_opportunity: int = MTU_BYTES, name: str = ""):
        t = np.asarray(times_ms, dtype=float)
        if t.ndim != 1 or t.size == 0:
            raise ValueError("times_ms must be a non-empty 1-D array of milliseconds (the trace is empty)")
        if not np.all(np.isfinite(t)) or t[0] < 0:
            raise ValueError("times_ms must be finite and >= 0 ms")
        if np.any(np.diff(t) < 0):
            raise ValueError("times_ms must be sorted (non-decreasing)")
        if t[-1] <= 0:
            raise ValueError(f"times_ms must end after 0 ms (the trace period), got last {t[-1]!r}")
        if (isinstance(bytes_per_opportunity, bool) or not isinstance(bytes_per_opportunity, numbers.Integral)
                or not 1 <= bytes_per_opportunity <= 65535):
            raise ValueError(f"bytes_per_opportunity must be an integer in [1, 65535], got {bytes_per_opportunity!r}")
        self.times_ms = t
        self.name = name
        self.bytes_per_opportunity = int(bytes_per_opportunity)
        self._base = t / 1000.0
        self._n = t.size
        self.period_s = float(self._base[-1])
        self._base_list = self._base.tolist()  # for the scalar fast path (see the module docstring)

    # counts of opportunities, looping the trace.  Opportunities within TIME_EPS_S of t
    # count as "at" t: t - m*P in floating point is off by ~1e-17 s, which must not move an
    # opportunity from "at t" to "after t".
    def _count_le(self, t):
        tc = np.maximum(t, 0.0)
        m = np.floor(tc / self.period_s)
        c = m * self._n + np.searchsorted(self._base, tc - m * self.period_s, side="right")
        return np.where(t < 0, 0.0, c)

    def _count_le_scalar(self, t: float) -> float:
        if t < 0:
            return 0.0
        m = math.floor(t / self.period_s)
        return float(m * self._n + bisect_right(self._base_list, t - m * self.period_s))

    def _count(self, t_s, side: str):
        if type(t_s) is float and math.isfinite(t_s):  # (inf, nan: the numpy path)
            return self._count_le_scalar(t_s + TIME_EPS_S if side == "right" else t_s - TIME_EPS_S)
        t = np.asarray(t_s, dtype=float)
        return self._count_le(t + TIME_EPS_S if side == "right" else t - TIME_EPS_S)

    def bytes_by(self, t_s):
        return self.bytes_per_opportunity * self._count(t_s, "right")

    def bytes_before(self, t_s):
        return self.bytes_per_opportunity * self._count(t_s, "left")

    def time_of_bytes(self, x_bytes):
        if type(x_bytes) is float and math.isfinite(x_bytes):
            k = max(math.ceil(x_bytes / self.bytes_per_opportunity - 1e-9), 1)
            m, j = divmod(k - 1, self._n)
            return self._base_list[j] + m * self.period_s
        x = np.asarray(x_bytes, dtype=float)
        k = np.maximum(np.ceil(x / self.bytes_per_opportunity - 1e-9), 1.0)  # 1-indexed opportunity
        m, j = np.divmod(k - 1, self._n)
        return self._base[j.astype(np.int64)] + m * self.period_s

    @property
    def mean_rate_bps(self) -> float:
        return self._n * self.bytes_per_opportunity * 8.0 / self.period_s

    @property
    def duration_s(self) -> float:
        return self.period_s

    def __len__(self) -> int:
        return self._n

    def __repr__(self) -> str:
        label = f"{self.name!r}, " if self.name else ""
        return (f"OpportunityTrace({label}{self._n} opportunities over {self.period_s:g} s, "
                f"mean {self.mean_rate_bps / 1e6:.2f} Mbit/s)")


def _positive_rate(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0 bit/s (or None for infinite), got {value!r}")
    return float(value)


def as_capacity(capacity_bps) -> Capacity | None:
    """Turn what ``simulate_path(capacity_bps=...)`` accepts into a :class:`Capacity`.

    ``None`` (infinite capacity), a number of bit/s, a :class:`Capacity`, or an
    array of ``(time_s, rate_bps)`` rows (a :class:`StepCapacity`).
    """
    if capacity_bps is None or isinstance(capacity_bps, Capacity):
        return capacity_bps
    if isinstance(capacity_bps, numbers.Real) and not isinstance(capacity_bps, bool):
        return ConstantCapacity(_positive_rate(capacity_bps, "capacity_bps"))
    arr = np.asarray(capacity_bps, dtype=float) if not isinstance(capacity_bps, (str, bytes)) else None
    if arr is not None and arr.ndim == 0:
        return ConstantCapacity(_positive_rate(float(arr), "capacity_bps"))
    if arr is not None and arr.ndim == 2 and arr.shape[1] == 2:
        return StepCapacity(arr[:, 0], arr[:, 1])
    raise ValueError(
        "capacity_bps must be None (infinite), a number > 0 bit/s, a Capacity object or an "
        f"array of (time_s, rate_bps) rows, got {type(capacity_bps).__name__}"
    )
