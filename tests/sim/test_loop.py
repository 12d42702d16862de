import pytest
from hypothesis import given, strategies as st

from rtlib.sim import EventLoop, make_rng


def test_callbacks_run_in_time_order_and_clock_follows():
    loop = EventLoop()
    seen = []
    loop.call_later(0.3, lambda: seen.append(("c", loop.time())))
    loop.call_at(0.1, lambda: seen.append(("a", loop.time())))
    loop.call_later(0.2, lambda: seen.append(("b", loop.time())))
    assert loop.run() == 3
    assert seen == [("a", 0.1), ("b", 0.2), ("c", 0.3)]


def test_same_time_is_fifo():
    loop = EventLoop()
    seen = []
    for i in range(5):
        loop.call_at(1.0, seen.append, i)
    loop.run()
    assert seen == [0, 1, 2, 3, 4]


def test_cancelled_handle_does_not_run():
    loop = EventLoop()
    seen = []
    h = loop.call_later(1.0, seen.append, "x")
    loop.call_later(2.0, seen.append, "y")
    h.cancel()
    assert h.cancelled()
    assert loop.pending() == 1
    loop.run()
    assert seen == ["y"]


def test_run_until_stops_and_sets_clock():
    loop = EventLoop()
    seen = []
    loop.call_at(1.0, seen.append, 1)
    loop.call_at(3.0, seen.append, 3)
    assert loop.run(until=2.0) == 1
    assert loop.time() == 2.0 and seen == [1]
    assert loop.next_time() == 3.0
    loop.run(until=5.0)
    assert seen == [1, 3] and loop.time() == 5.0


def test_callbacks_can_schedule_more_work():
    loop = EventLoop()
    ticks = []

    def tick():
        ticks.append(round(loop.time(), 9))
        if len(ticks) < 5:
            loop.call_later(0.02, tick)

    loop.call_soon(tick)
    loop.run()
    assert ticks == [0.0, 0.02, 0.04, 0.06, 0.08]


def test_stop_returns_after_current_callback():
    loop = EventLoop()
    seen = []
    loop.call_at(1, lambda: (seen.append(1), loop.stop()))
    loop.call_at(2, seen.append, 2)
    loop.run()
    assert seen == [1] and loop.time() == 1
    loop.run()
    assert seen == [1, 2]


@pytest.mark.parametrize("bad", [-0.1, float("nan")])
def test_bad_delays_are_refused(bad):
    loop = EventLoop()
    with pytest.raises(ValueError, match="delay"):
        loop.call_later(bad, print)


def test_past_times_are_refused():
    loop = EventLoop(start_s=5.0)
    with pytest.raises(ValueError, match="when must be >= the current time"):
        loop.call_at(4.0, print)
    with pytest.raises(ValueError, match="until"):
        loop.run(until=1.0)


@given(st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), max_size=60))
def test_any_schedule_runs_sorted(times):
    loop = EventLoop()
    seen = []
    for i, t in enumerate(times):
        loop.call_at(t, seen.append, (t, i))
    loop.run()
    assert seen == sorted(seen)
    assert len(seen) == len(times)


def test_rng_streams_are_reproducible_and_independent():
    a1 = make_rng(7, "loss").random(5)
    a2 = make_rng(7, "loss").random(5)
    b = make_rng(7, "jitter").random(5)
    c = make_rng(8, "loss").random(5)
    assert (a1 == a2).all()
    assert not (a1 == b).any() and not (a1 == c).any()


@pytest.mark.parametrize("bad", [None, -1, 1.5, True, "3"])
def test_rng_refuses_bad_seeds(bad):
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        make_rng(bad)
