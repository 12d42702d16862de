"""Rebuild ``delay_trace.csv``, the delay-gradient trace the GCC lab's detector reads.

A sender paces 1200-byte packets at 800 kbit/s into a FIFO bottleneck of 1 Mbit/s;
from t = 4 s to t = 8 s it sends at 1.3 Mbit/s, more than the bottleneck carries, so a
queue builds, then drains when the rate falls back.  Propagation delay 40 ms, plus a
little seeded noise on each arrival (0.5 ms standard deviation, never reordering).
The packets then go through the delay-based chain of :mod:`rtlib.cc.gcc`: the
:class:`~rtlib.cc.gcc.PacketGrouper` (5 ms groups, draft section 5.1) and the
:class:`~rtlib.cc.gcc.TrendlineFilter`, whose output m(i) is what the over-use
detector compares with its threshold.

Columns, one row per closed packet group: ``t_s`` (arrival of the group's last
packet), ``send_delta_ms`` (between the groups' send times), ``d_ms`` (inter-group
delay variation) and ``m_ms`` (the filtered value fed to the detector).

    python notebooks/labs/gcc_overuse/make_trace.py
"""

from pathlib import Path

import numpy as np

from rtlib.cc.gcc import PacketGrouper, TrendlineFilter

HERE = Path(__file__).resolve().parent
SIZE_BYTES = 1200
CAPACITY_BPS = 1.0e6
PROPAGATION_S = 0.040


def packets(seconds: float = 12.0, seed: int = 18):
    """``(send_s, arrival_s)`` of every packet through the bottleneck."""
    rng = np.random.default_rng(seed)
    send, t = [], 0.0
    while t < seconds:
        send.append(t)
        rate = 1.3e6 if 4.0 <= t < 8.0 else 0.8e6
        t += SIZE_BYTES * 8 / rate
    send = np.array(send)
    service = SIZE_BYTES * 8 / CAPACITY_BPS
    depart = np.empty_like(send)
    free = 0.0
    for i, s in enumerate(send):  # FIFO: a packet leaves when the link is free and it has been served
        free = max(free, s) + service
        depart[i] = free
    arrival = depart + PROPAGATION_S + np.abs(rng.normal(0.0, 0.0005, send.size))
    arrival = np.maximum.accumulate(arrival)  # one FIFO path: no reordering
    return send, arrival


def main(path: Path = HERE / "delay_trace.csv") -> Path:
    send, arrival = packets()
    grouper, trend = PacketGrouper(), TrendlineFilter()
    rows = []
    for s, a in zip(send, arrival):
        delta = grouper.add(float(s), float(a), SIZE_BYTES)
        if delta is not None:
            trend.update(delta.d_ms, delta.send_delta_ms, delta.arrival_s)
            rows.append((delta.arrival_s, delta.send_delta_ms, delta.d_ms, trend.detector_input_ms()))
    with open(path, "w") as f:
        f.write("t_s,send_delta_ms,d_ms,m_ms\n")
        for r in rows:
            f.write(",".join(f"{x:.6f}" for x in r) + "\n")
    return path


if __name__ == "__main__":
    print(main())
