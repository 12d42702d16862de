"""The offline oracle: the best fixed playout delay, chosen in hindsight.

Knowing every packet's delay in advance, the best *constant* playout delay for a
late-loss budget ``L`` is a quantile of the delays: the smallest ``D`` such that at
most a fraction ``L`` of the received packets have a delay above ``D``.  No causal
buffer can know it beforehand, which makes it the yardstick: an adaptive buffer is
good when, at the same late loss, its mean delay comes close to the oracle's ``D``
(it can even beat it when the delay changes over the call, since the oracle is
stuck with one value).  Moon, Kurose and Towsley (1998) use the same kind of
hindsight bound to judge playout algorithms.

Reference: S. B. Moon, J. Kurose, D. Towsley, "Packet audio playout delay
adjustment: performance bounds and algorithms", Multimedia Systems 6 (1998) 17-28.

Used in: notebooks/07_jitter_buffers.ipynb, benchmarks/bench_playout.py.
"""

from __future__ import annotations

import math

import numpy as np

from rtlib.media.jitter.fixed import FixedDelay
from rtlib.media.jitter.playout import PlayoutResult, play_trace
from rtlib.media.jitter.trace import PacketTrace


def _sorted_delays(trace: PacketTrace) -> np.ndarray:
    d = np.sort(trace.delay_s[trace.received])
    if d.size == 0:
        raise ValueError("the trace has no received packet: there is no delay to choose")
    return d


def oracle_delay_s(trace: PacketTrace, late_loss: float) -> float:
    """Smallest constant playout delay whose late loss is at most ``late_loss`` (a fraction)."""
    if not 0.0 <= late_loss < 1.0:
        raise ValueError(f"late_loss must be in [0, 1), got {late_loss!r}")
    d = _sorted_delays(trace)
    allowed = int(math.floor(late_loss * d.size + 1e-9))  # packets that may be late
    return float(d[d.size - 1 - allowed])


def late_loss_at(trace: PacketTrace, delay_s) -> np.ndarray:
    """Late-loss rate of the constant playout delay(s) ``delay_s`` (vectorised)."""
    d = _sorted_delays(trace)
    return 1.0 - np.searchsorted(d, np.asarray(delay_s, dtype=float), side="right") / d.size


def oracle_curve(trace: PacketTrace, late_losses) -> np.ndarray:
    """The oracle's delay (s) for each late-loss budget in ``late_losses``."""
    return np.array([oracle_delay_s(trace, float(x)) for x in np.atleast_1d(late_losses)])


def oracle_result(trace: PacketTrace, late_loss: float) -> PlayoutResult:
    """Play ``trace`` at the oracle's delay for ``late_loss``."""
    res = play_trace(trace, FixedDelay(oracle_delay_s(trace, late_loss) * 1000.0))
    res.policy = "oracle (best fixed, in hindsight)"
    return res


def compare_to_oracle(result: PlayoutResult) -> dict:
    """A result's mean delay next to the oracle's delay at the same (or lower) late loss.

    ``ratio`` = result delay / oracle delay: 1.10 means 10 % more delay than the best
    fixed delay in hindsight.  ``excess_ratio`` compares the parts above the
    smallest network delay (what the buffer adds beyond the unavoidable minimum).
    """
    trace = result.trace
    loss = result.late_loss_rate
    oracle_s = oracle_delay_s(trace, loss)
    floor_s = float(np.nanmin(trace.delay_s))
    mine_s = result.mean_delay_ms / 1000.0
    return {
        "policy": result.policy, "late_loss": loss, "delay_ms": mine_s * 1e3, "oracle_delay_ms": oracle_s * 1e3,
        "ratio": mine_s / oracle_s,
        "excess_ratio": (mine_s - floor_s) / (oracle_s - floor_s) if oracle_s > floor_s else math.inf,
    }
