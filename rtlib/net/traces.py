"""Capacity traces: Mahimahi files, the RFC 8867 patterns, a synthetic cellular link.

**Mahimahi format** (Netravali et al., USENIX ATC 2015; the traces of Winstein et
al., NSDI 2013): a text file with one integer per line, the time in milliseconds of
a delivery opportunity for one 1500-byte packet; the same value on several lines
means several packets in that millisecond.  The trace loops.  :func:`load_mahimahi`
and :func:`write_mahimahi` read and write it; :func:`to_opportunities` turns any
capacity (e.g. an RFC 8867 pattern) into such a trace.

**RFC 8867** ("Test Cases for Evaluating Congestion Control for Interactive
Real-Time Media", 2021) section 5 fixes the bottleneck capacity over time for its
test cases; :func:`rfc8867_5_1`, :func:`rfc8867_5_2` and :func:`rfc8867_5_3` return
those patterns (the RFC's other settings, such as propagation delay and queue
size, are for the caller to choose).

**Synthetic cellular** (:func:`synthetic_cellular`): a Markov-modulated capacity.
A birth-death chain moves between a few capacity levels (e.g. an outage, poor,
fair, good coverage) with exponential dwell times; on top, fast fading multiplies
the rate by a log-normal AR(1) process; each millisecond then offers a Poisson
number of 1500-byte opportunities at that rate.  This is the classic Markov-
modulated Poisson process used to model wireless links; real cellular traces show
the same ingredients (slow level changes, fast fluctuation, outages).  The course
ships two such traces in data/traces (scripts/make_traces.py made them).

Used in: notebooks/04_network.ipynb, notebooks/08_adaptive_bitrate.ipynb.
"""

from __future__ import annotations

import math
import numbers
from pathlib import Path

import numpy as np

from rtlib.net.capacity import MTU_BYTES, Capacity, OpportunityTrace, StepCapacity, as_capacity
from rtlib.sim import make_rng

#: data/traces of the course repository (the synthetic traces shipped with the course)
TRACES_DIR = Path(__file__).resolve().parents[2] / "data" / "traces"


class TraceParseError(ValueError):
    """A Mahimahi trace file that is not one non-decreasing integer (ms) per line."""


# -- Mahimahi files ----------------------------------------------------------------------
def parse_mahimahi(text: str, name: str = "") -> OpportunityTrace:
    """Parse the text of a Mahimahi trace (blank lines are ignored)."""
    times = []
    for lineno, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s:
            continue
        try:
            v = int(s)
        except ValueError:
            raise TraceParseError(f"line {lineno}: expected an integer number of ms, got {s[:40]!r}") from None
        if v < 0:
            raise TraceParseError(f"line {lineno}: times must be >= 0 ms, got {v}")
        if times and v < times[-1]:
            raise TraceParseError(f"line {lineno}: times must be non-decreasing (the trace is unsorted), "
                                  f"{v} after {times[-1]}")
        times.append(v)
    if not times:
        raise TraceParseError("the trace is empty: it must hold at least one delivery time in ms")
    if times[-1] <= 0:
        raise TraceParseError("the trace must end after 0 ms (its last line sets the loop period)")
    return OpportunityTrace(np.array(times, dtype=float), name=name)


def load_mahimahi(path) -> OpportunityTrace:
    """Read a Mahimahi trace file as an :class:`~rtlib.net.capacity.OpportunityTrace`."""
    path = Path(path)
    return parse_mahimahi(path.read_text(), name=path.name)


def write_mahimahi(trace, path) -> Path:
    """Write an :class:`OpportunityTrace` (or an array of times in ms) in Mahimahi format.

    Times are rounded up to whole milliseconds, as the format requires.
    """
    times = trace.times_ms if isinstance(trace, OpportunityTrace) else np.asarray(trace, dtype=float)
    OpportunityTrace(times)  # validates: non-empty, sorted, ends after 0
    ms = np.ceil(np.asarray(times) - 1e-9).astype(np.int64)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(map(str, ms.tolist())) + "\n")
    return path


def course_trace(name: str) -> OpportunityTrace:
    """Load one of the course's own traces from data/traces (see :func:`course_traces`)."""
    path = TRACES_DIR / (name if name.endswith((".down", ".up")) else f"{name}.down")
    if not path.is_file():
        raise ValueError(f"name must be one of {course_traces()}, got {name!r}")
    return load_mahimahi(path)


def course_traces() -> list[str]:
    """Names of the traces shipped in data/traces."""
    return sorted(p.name.rsplit(".", 1)[0] for p in TRACES_DIR.glob("*.down"))


def to_opportunities(capacity, duration_s: float, bytes_per_opportunity: int = MTU_BYTES) -> OpportunityTrace:
    """The Mahimahi trace of ``capacity`` over ``[0, duration_s]``: one line per 1500 bytes offered."""
    cap = as_capacity(capacity)
    if cap is None:
        raise ValueError("capacity must be finite (a number > 0 bit/s or a Capacity) to make a trace")
    if not isinstance(duration_s, numbers.Real) or not 0 < duration_s <= 24 * 3600:
        raise ValueError(f"duration_s must be in (0, 86400] s, got {duration_s!r}")
    k = np.arange(1, int(cap.bytes_by(duration_s) // bytes_per_opportunity) + 1)
    if k.size == 0:
        raise ValueError("capacity offers less than one packet over duration_s: the trace would be empty")
    t_ms = np.ceil(cap.time_of_bytes(k * float(bytes_per_opportunity)) * 1000 - 1e-6)
    t_ms[-1] = max(t_ms[-1], 1.0)
    return OpportunityTrace(t_ms, bytes_per_opportunity)


# -- RFC 8867 patterns -------------------------------------------------------------------
def _steps(times_s, mbps, duration_s, name) -> StepCapacity:
    return StepCapacity(times_s, np.asarray(mbps) * 1e6, duration_s=duration_s, name=name)


def rfc8867_5_1() -> StepCapacity:
    """RFC 8867 section 5.1, variable available capacity, single flow (100 s).

    1.0 Mbit/s from 0 s, 2.5 from 40 s, 0.6 from 60 s, 1.0 from 80 s.
    """
    return _steps([0, 40, 60, 80], [1.0, 2.5, 0.6, 1.0], 100.0, "RFC 8867 5.1")


def rfc8867_5_2() -> StepCapacity:
    """RFC 8867 section 5.2, variable available capacity, multiple flows (125 s).

    4.0 Mbit/s from 0 s, 2.0 from 25 s, 3.5 from 50 s, 1.0 from 75 s, 2.0 from 100 s.
    """
    return _steps([0, 25, 50, 75, 100], [4.0, 2.0, 3.5, 1.0, 2.0], 125.0, "RFC 8867 5.2")


def rfc8867_5_3() -> tuple[StepCapacity, StepCapacity]:
    """RFC 8867 section 5.3, congested feedback link, bi-directional media (100 s).

    Returns ``(forward, backward)``: forward 2.0 Mbit/s from 0 s, 1.0 from 20 s,
    0.5 from 40 s, 2.0 from 60 s; backward 2.0 from 0 s, 0.8 from 35 s, 2.0 from 70 s.
    """
    return (_steps([0, 20, 40, 60], [2.0, 1.0, 0.5, 2.0], 100.0, "RFC 8867 5.3 forward"),
            _steps([0, 35, 70], [2.0, 0.8, 2.0], 100.0, "RFC 8867 5.3 backward"))


def step_down(high_bps: float, low_bps: float, at_s: float, duration_s: float | None = None) -> StepCapacity:
    """A link that drops from ``high_bps`` to ``low_bps`` at ``at_s`` (the bufferbloat experiment)."""
    if not isinstance(at_s, numbers.Real) or not at_s > 0:
        raise ValueError(f"at_s must be a time > 0 s, got {at_s!r}")
    for name, v in (("high_bps", high_bps), ("low_bps", low_bps)):
        if not isinstance(v, numbers.Real) or not v > 0:
            raise ValueError(f"{name} must be a number > 0 bit/s, got {v!r}")
    return StepCapacity([0.0, at_s], [high_bps, low_bps], duration_s=duration_s,
                        name=f"{high_bps / 1e6:g} -> {low_bps / 1e6:g} Mbit/s at {at_s:g} s")


# -- synthetic cellular --------------------------------------------------------------------
#: capacity levels (bit/s) and mean dwell times (s) of the two shipped profiles
CELLULAR_PROFILES = {
    # a pedestrian in fair coverage: slow changes, no outage
    "walk": {"rates_bps": (1.5e6, 3e6, 5e6, 8e6), "mean_dwell_s": (3.0, 4.0, 4.0, 3.0), "fading": 0.25},
    # a car: wider swings, short outages (level 0) such as handovers or tunnels
    "drive": {"rates_bps": (0.0, 0.6e6, 2e6, 4.5e6, 8e6), "mean_dwell_s": (0.5, 1.5, 2.5, 2.5, 1.5),
              "fading": 0.45},
}


def synthetic_cellular(duration_s: float = 60.0, *, profile: str = "drive", rates_bps=None, mean_dwell_s=None,
                       fading: float | None = None, coherence_ms: float = 40.0, seed: int = 0,
                       bytes_per_opportunity: int = MTU_BYTES) -> OpportunityTrace:
    """A Markov-modulated Poisson capacity trace (see the module docstring).

    ``profile`` picks levels, dwell times and fading from :data:`CELLULAR_PROFILES`;
    ``rates_bps``/``mean_dwell_s``/``fading`` override them.  ``fading`` is the
    standard deviation of the log of the fast-fading factor (0 = none), correlated
    over ``coherence_ms``.  The chain starts in a level drawn at random.
    """
    if profile not in CELLULAR_PROFILES:
        raise ValueError(f"profile must be one of {sorted(CELLULAR_PROFILES)}, got {profile!r}")
    prof = CELLULAR_PROFILES[profile]
    rates = np.asarray(prof["rates_bps"] if rates_bps is None else rates_bps, dtype=float)
    dwell = np.asarray(prof["mean_dwell_s"] if mean_dwell_s is None else mean_dwell_s, dtype=float)
    sigma = float(prof["fading"] if fading is None else fading)
    if not isinstance(duration_s, numbers.Real) or not 0 < duration_s <= 3600:
        raise ValueError(f"duration_s must be in (0, 3600] s, got {duration_s!r}")
    if rates.ndim != 1 or rates.size == 0 or np.any(~np.isfinite(rates)) or np.any(rates < 0) or rates.max() <= 0:
        raise ValueError("rates_bps must be a non-empty list of levels >= 0 bit/s with at least one > 0")
    if dwell.shape != rates.shape or np.any(~(dwell > 0)):
        raise ValueError(f"mean_dwell_s must hold one time > 0 s per level ({rates.size})")
    if not 0 <= sigma <= 2:
        raise ValueError(f"fading must be in [0, 2], got {sigma!r}")
    if not 1 <= coherence_ms <= 10_000:
        raise ValueError(f"coherence_ms must be in [1, 10000] ms, got {coherence_ms!r}")
    rng = make_rng(seed, "net", "cellular")
    n_ms = int(round(duration_s * 1000))
    # 1. the slow chain: levels and dwell times, one millisecond resolution
    level = np.empty(n_ms, dtype=np.int64)
    t, k, L = 0, int(rng.integers(rates.size)), rates.size
    while t < n_ms:
        stay = max(1, int(round(rng.exponential(dwell[k]) * 1000)))
        level[t:t + stay] = k
        t += stay
        if L > 1:
            step = 1 if k == 0 else -1 if k == L - 1 else (1 if rng.random() < 0.5 else -1)
            k += step
    rate = rates[level]
    # 2. fast fading: log-normal AR(1) with unit mean
    if sigma > 0:
        from scipy.signal import lfilter

        rho = math.exp(-1.0 / coherence_ms)
        x = lfilter([math.sqrt(1 - rho * rho)], [1, -rho], rng.standard_normal(n_ms))
        rate = rate * np.exp(sigma * x - sigma * sigma / 2)
    # 3. Poisson opportunities per millisecond
    counts = rng.poisson(rate * 1e-3 / (8.0 * bytes_per_opportunity))
    counts[-1] = max(counts[-1], 1)  # the last line sets the loop period: make it the full duration
    times = np.repeat(np.arange(n_ms, dtype=float) + 1.0, counts)
    return OpportunityTrace(times, bytes_per_opportunity, name=f"synthetic-cellular-{profile}")


def rate_series(capacity: Capacity, duration_s: float, bin_s: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """``(t_s, rate_bps)``: mean capacity in bins of ``bin_s`` (bin centres), for plots."""
    if not bin_s > 0 or not duration_s > bin_s:
        raise ValueError(f"bin_s must be > 0 and below duration_s, got {bin_s!r} and {duration_s!r}")
    edges = np.arange(0.0, duration_s + bin_s / 2, bin_s)
    return (edges[:-1] + edges[1:]) / 2, capacity.rate_bps(edges)
