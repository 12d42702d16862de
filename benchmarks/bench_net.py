"""rtlib.net.simulate_path throughput: packets per second through an impaired path.

The bar (issue 3): at least 1 million packets/s through a lossy, jittery path with a
FIFO bottleneck, on one core.  The vectorised Lindley recursion (cumulative sum +
cumulative maximum) is timed next to the textbook packet-by-packet loop on the same
packets, and a few harder cases are recorded without a bar:

- tail drop on an overloaded link: congested stretches run a Python loop;
- a real Mahimahi cellular trace (../shared/data/traces, when present);
- the event-driven :class:`rtlib.net.Path` on an :class:`rtlib.sim.EventLoop`
  (one callback per packet: what closed-loop chapters pay).
"""

from __future__ import annotations

import math

import numpy as np

from benchmarks.common import Row, best_of
from rtlib.net import Path, simulate_path
from rtlib.net.traces import load_mahimahi, step_down
from rtlib.sim import EventLoop

N = 1_000_000
SHARED_TRACE = __import__("pathlib").Path(__file__).resolve().parents[2] / "shared" / "data" / "traces" / \
    "ATT-LTE-driving-2016.down"


def workload(n: int = N, load: float = 0.9):
    """Video-like packets (100-1500 bytes, Poisson departures) at ``load`` of a 20 Mbit/s link."""
    rng = np.random.default_rng(1)
    size = rng.integers(100, 1501, n).astype(float)
    cap_bps = 20e6
    mean_gap_s = size.mean() * 8 / (cap_bps * load)
    send = np.cumsum(rng.exponential(mean_gap_s, n))
    return send, size, cap_bps


PATH = dict(delay_ms=40.0, jitter_ms=10.0, jitter_dist="normal", loss=0.02, burst_len=3.0, seed=7)


def python_lindley(send, size, cap_bps):
    """The Lindley recursion packet by packet, in plain Python (the reference speed)."""
    out = [0.0] * len(send)
    d = -math.inf
    bps = cap_bps / 8
    for i, (a, s) in enumerate(zip(send.tolist(), size.tolist())):
        d = (a if a > d else d) + s / bps
        out[i] = d
    return out


def run() -> list[Row]:
    send, size, cap = workload()
    rows = []

    def main_case():
        return simulate_path(send, size, capacity_bps=cap, **PATH)

    res = main_case()
    t = best_of(main_case)
    rows.append(Row("simulate_path: lossy, jittery path, FIFO bottleneck", N / t, "packets/s", bar=1e6,
                    note=f"{N:,} packets, 90% load on 20 Mbit/s, Gilbert-Elliott 2% loss (bursts of 3), "
                         f"half-normal jitter 10 ms; {100 * res.loss_rate:.1f}% lost, "
                         f"p99 delay {res.summary()['delay_ms_p99']:.0f} ms"))

    t_py = best_of(lambda: python_lindley(send, size, cap))
    rows.append(Row("plain-Python Lindley loop, same packets (queue only)", N / t_py, "packets/s",
                    note="reference: no loss, no jitter"))
    rows.append(Row("vectorised path / Python queue loop", t_py / t, "×"))

    # tail drop on an overloaded step-down link: mostly the sequential loop
    over_cap = step_down(cap, cap * 0.6, float(send[N // 10]))

    def congested():
        return simulate_path(send, size, capacity_bps=over_cap, queue_limit_ms=200, **PATH)

    res = congested()
    t = best_of(congested, repeat=2)
    rows.append(Row("simulate_path with tail drop, link overloaded 90% of the time", N / t, "packets/s",
                    note=f"200 ms buffer; {100 * (res.drop_reason == 'queue').mean():.0f}% tail-dropped; "
                         "congested stretches run packet by packet"))

    if SHARED_TRACE.is_file():
        trace = load_mahimahi(SHARED_TRACE)
        rng = np.random.default_rng(2)
        n = N
        gap = 1200 * 8 / (0.8 * trace.mean_rate_bps)
        tsend = np.cumsum(rng.exponential(gap, n))

        def traced():
            return simulate_path(tsend, 1200, capacity_bps=trace, queue_limit_ms=300, **PATH)

        res = traced()
        t = best_of(traced, repeat=2)
        rows.append(Row("simulate_path over a Mahimahi trace (ATT LTE driving)", n / t, "packets/s",
                        note=f"80% of the trace's mean {trace.mean_rate_bps / 1e6:.1f} Mbit/s, 300 ms buffer; "
                             f"{100 * res.loss_rate:.0f}% dropped (../shared/data, GPLv3, not shipped)"))

    m = 200_000

    def event_driven():
        loop = EventLoop()
        path = Path(loop, capacity_bps=cap, **PATH)
        sink = []
        for a, s in zip(send[:m].tolist(), size[:m].tolist()):
            loop.call_at(a, path.send, None, s, sink.append)
        loop.run()
        return len(sink)

    t = best_of(event_driven, repeat=2)
    rows.append(Row("event-driven Path on rtlib.sim.EventLoop", m / t, "packets/s",
                    note=f"{m:,} packets, one send and one arrival callback each (closed-loop form)"))
    return rows
