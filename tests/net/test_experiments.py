"""Chapter 04's figure claims: why a packet can be later than the buffer allows."""

import numpy as np
import pytest

from rtlib.net import simulate_path
from rtlib.net.capacity import OpportunityTrace
from rtlib.net.experiments import cellular, worst_delay_parts


def _outage_link(gap_ms: float) -> OpportunityTrace:
    # one 1500-byte opportunity per ms (12 Mbit/s), a silent gap from 1000 ms, then service again
    before = np.arange(0, 1000)
    after = np.arange(1000 + gap_ms, 4000)
    return OpportunityTrace(np.concatenate([before, after]))


def test_parts_add_up_and_the_wait_respects_the_buffer():
    send = np.arange(0, 3.0, 0.002)
    res = simulate_path(send, 1200, delay_ms=30, capacity_bps=_outage_link(600), queue_limit_ms=200)
    w = worst_delay_parts(send, res, 30.0)
    assert w["total_ms"] == pytest.approx(w["propagation_ms"] + w["wait_ms"] + w["transmit_ms"])
    assert w["wait_ms"] <= 200 + 1e-6
    # the packet at the head when the link goes silent waits out the whole gap to be sent:
    # the one-way delay exceeds propagation + buffer because of its own transmission
    assert w["transmit_ms"] > 200 and w["total_ms"] > 30 + 200
    assert w["total_ms"] == pytest.approx(res.delay_s[~res.lost].max() * 1000)


def test_without_an_outage_the_worst_delay_stays_within_the_buffer():
    send = np.arange(0, 3.0, 0.002)
    res = simulate_path(send, 1200, delay_ms=30, capacity_bps=_outage_link(0), queue_limit_ms=200)
    w = worst_delay_parts(send, res, 30.0)
    assert w["total_ms"] < 30 + 200 and w["transmit_ms"] <= 1.0 + 1e-9


def test_cellular_default_explains_its_worst_packet():
    r = cellular(trace="synthetic-cellular-drive", send_mbps=1.5, buffer_ms=500.0)
    w = r["worst"]
    assert w["total_ms"] > r["buffer_ms"]          # the figure's puzzle ...
    assert w["wait_ms"] <= r["buffer_ms"] + 1e-6   # ... the buffer still holds ...
    assert w["transmit_ms"] > 100                  # ... the link was silent when the packet's turn came
    assert w["total_ms"] == pytest.approx(r["summary"]["delay_ms_max"])
