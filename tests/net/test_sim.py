"""The event-loop Path agrees with simulate_path, and carries closed-loop traffic."""

import numpy as np
import pytest

from rtlib.net import DuplexPath, OpportunityTrace, Path, StepCapacity, simulate_path
from rtlib.sim import EventLoop

CASES = [
    dict(),
    dict(delay_ms=20, jitter_ms=5, jitter_dist="pareto", loss=0.1, burst_len=3, capacity_bps=8e6,
         queue_limit_ms=30, reorder=False),
    dict(jitter_ms=5, jitter_dist="normal", loss=0.3, capacity_bps=StepCapacity([0, 5, 10, 11], [9e6, 4e6, 0, 12e6]),
         queue_limit_bytes=20000),
    dict(jitter_ms=5, jitter_dist="uniform", capacity_bps=OpportunityTrace(np.arange(1, 1001)),
         queue_limit_bytes=30000, queue_limit_ms=200),
]


@pytest.mark.parametrize("kw", CASES)
def test_event_driven_path_equals_the_vectorised_one(kw):
    rng = np.random.default_rng(1)
    send = np.cumsum(rng.exponential(0.001, 8000))
    size = rng.integers(100, 1500, send.size).astype(float)
    expected = simulate_path(send, size, seed=4, **kw)
    loop = EventLoop()
    path = Path(loop, seed=4, record=True, **kw)
    arrivals = {}
    for i, (t, s) in enumerate(zip(send, size)):
        loop.call_at(t, path.send, i, s, lambda i: arrivals.__setitem__(i, loop.time()))
    loop.run()
    got = path.result()
    np.testing.assert_array_equal(got.drop_code, expected.drop_code)
    np.testing.assert_allclose(got.arrival_s, expected.arrival_s, rtol=0, atol=1e-9)
    seen = np.full(send.size, np.nan)
    seen[list(arrivals)] = list(arrivals.values())
    np.testing.assert_allclose(seen, expected.arrival_s, rtol=0, atol=1e-9)  # callbacks run at arrival time
    assert path.delivered == (~expected.lost).sum()


def test_ping_pong_over_a_duplex_path_measures_the_rtt():
    loop = EventLoop()
    duplex = DuplexPath(loop, forward={"delay_ms": 30}, backward={"delay_ms": 45}, seed=1)
    rtts = []

    def ping(k):
        sent = loop.time()
        duplex.forward.send(k, 100, lambda k: duplex.backward.send(k, 100, lambda k: rtts.append(loop.time() - sent)))
        if k < 9:
            loop.call_later(0.1, ping, k + 1)

    ping(0)
    loop.run()
    np.testing.assert_allclose(rtts, [0.075] * 10)
    assert duplex.rtt_floor_s() == pytest.approx(0.075)


def test_directions_of_a_duplex_path_draw_independent_losses():
    loop = EventLoop()
    duplex = DuplexPath(loop, forward={"loss": 0.5}, backward={"loss": 0.5}, seed=3)
    fwd = [duplex.forward.send(i, 100) is None for i in range(200)]
    bwd = [duplex.backward.send(i, 100) is None for i in range(200)]
    assert fwd != bwd


def test_queue_state_is_observable():
    loop = EventLoop()
    path = Path(loop, capacity_bps=8e5)  # 100 kB/s
    for i in range(10):
        path.send(i, 1000)
    assert path.queue_bytes() == pytest.approx(10_000)
    assert path.queue_delay_s() == pytest.approx(0.1)
    loop.run(until=0.05)
    assert path.queue_bytes() == pytest.approx(5_000)
    loop.run(until=1.0)
    assert path.queue_bytes() == 0 and path.queue_delay_s() == 0


def test_path_checks_its_parameters():
    loop = EventLoop()
    with pytest.raises(ValueError, match=r"loss must be in \[0, 1\], got 2"):
        Path(loop, loss=2)
    with pytest.raises(ValueError, match="capacity_bps must be"):
        Path(loop, capacity_bps=0)
    with pytest.raises(ValueError, match="size_bytes must be a finite number > 0 bytes"):
        Path(loop).send("x", 0)
    with pytest.raises(ValueError, match="record must be True"):
        Path(loop).result()
    with pytest.raises(ValueError, match="set seed on DuplexPath itself"):
        DuplexPath(loop, forward={"seed": 3})
