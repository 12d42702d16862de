"""NACK/RTX deadline analysis."""

import numpy as np
import pytest

from rtlib.media.nack import max_rtt_for_rtx_ms, nack_recover, rtx_in_time


def test_the_rule_by_hand():
    # 20 ms frames, 100 ms buffer: one retransmission fits below an 80 ms RTT, two below 40 ms.
    assert rtx_in_time(80, 100) and not rtx_in_time(81, 100)
    assert rtx_in_time(40, 100, attempt=2) and not rtx_in_time(41, 100, attempt=2)
    assert max_rtt_for_rtx_ms(100) == pytest.approx(80)
    assert max_rtt_for_rtx_ms(100, wait_ms=10, attempt=2) == pytest.approx(35)
    assert list(rtx_in_time(np.array([0, 50, 100]), 100)) == [True, True, False]
    with pytest.raises(ValueError, match="rtt_ms must be in"):
        rtx_in_time(-1, 100)
    with pytest.raises(ValueError, match="attempt must be"):
        rtx_in_time(10, 100, attempt=0)


def trace(n=2000, owd=0.05, loss=0.05, seed=0):
    rng = np.random.default_rng(seed)
    send = 0.02 * np.arange(n)
    arrival = send + owd
    arrival[rng.random(n) < loss] = np.nan
    return send, arrival


def test_retransmission_arrives_one_rtt_after_the_gap_is_seen():
    send, arrival = trace()
    out = nack_recover(send, arrival, rtt_ms=100, rtx_loss=0.0)
    lost = np.isnan(arrival)
    assert not np.isnan(out.arrival_s[:-5]).any()  # everything is repaired ...
    i = np.flatnonzero(lost[:-5])[0]
    nxt = i + 1 + np.argmax(~lost[i + 1:])
    assert out.arrival_s[i] == pytest.approx(arrival[nxt] + 0.100)  # ... one RTT after the next arrival
    noticed = lost & np.concatenate([np.maximum.accumulate((~lost)[::-1])[::-1][1:], [False]])
    assert out.nacks_sent == out.rtx_sent == noticed.sum()  # one NACK per noticed loss, none lost
    assert np.array_equal(out.recovered, lost & ~np.isnan(out.arrival_s))


def test_deadline_aware_receiver_only_asks_when_it_can_make_it():
    send, arrival = trace()
    buffer_s = 0.1
    deadline = send + 0.05 + buffer_s
    fast = nack_recover(send, arrival, rtt_ms=60, deadline_s=deadline, rtx_loss=0.0)
    slow = nack_recover(send, arrival, rtt_ms=120, deadline_s=deadline, rtx_loss=0.0)
    lost = np.isnan(arrival)
    in_time = lambda o: np.mean(o.arrival_s[lost] <= deadline[lost])  # noqa: E731
    # frame (20 ms, when the next packet is not lost too) + 60 ms RTT <= 100 ms: repaired in time
    assert in_time(fast) > 0.9
    assert slow.nacks_sent == 0 and in_time(slow) == 0  # 20 + 120 > 100: never worth asking


def test_retries_overcome_lost_retransmissions():
    send, arrival = trace(n=20_000, loss=0.2, seed=3)
    once = nack_recover(send, arrival, rtt_ms=50, max_retries=1, seed=1)
    thrice = nack_recover(send, arrival, rtt_ms=50, max_retries=3, seed=1)
    lost = np.isnan(arrival)
    residual = lambda o: np.isnan(o.arrival_s[lost]).mean()  # noqa: E731
    assert residual(once) == pytest.approx(1 - 0.8 * 0.8, abs=0.03)  # NACK and RTX must both get through
    assert residual(thrice) == pytest.approx((1 - 0.64) ** 3, abs=0.02)
    assert thrice.nacks_sent > once.nacks_sent and 0.15 < thrice.overhead < 0.3


def test_no_retries_no_repair_and_bad_arguments():
    send, arrival = trace()
    out = nack_recover(send, arrival, rtt_ms=10, max_retries=0)
    assert np.array_equal(np.isnan(out.arrival_s), np.isnan(arrival)) and out.nacks_sent == 0
    with pytest.raises(ValueError, match="max_retries"):
        nack_recover(send, arrival, rtt_ms=10, max_retries=-1)
    with pytest.raises(ValueError, match="one shape"):
        nack_recover(send, arrival[:-1], rtt_ms=10)


# -- the one timing rule: frame + RTT <= buffer, the boundary included ------------------------
from hypothesis import given, settings, strategies as st  # noqa: E402

from rtlib.checks import ch07  # noqa: E402
from rtlib.media.nack import TIME_TOLERANCE_MS, arrives_in_time  # noqa: E402


def test_the_boundary_of_the_rule_in_each_function():
    # 120 ms buffer, 20 ms frames: the largest RTT is 100 ms, and RTT = 100 ms fits.
    assert max_rtt_for_rtx_ms(120, frame_ms=20) == 100
    assert rtx_in_time(100, 120, frame_ms=20)
    assert not rtx_in_time(100.001, 120, frame_ms=20)
    assert ch07.max_rtt_for_nack(100, buffer_ms=120, frame_ms=20)
    assert not ch07.max_rtt_for_nack(100.001, buffer_ms=120, frame_ms=20)


def lone_loss(frame_ms, owd_ms, buffer_ms, n=40, lost=17):
    send = frame_ms / 1000 * np.arange(n)
    arrival = send + owd_ms / 1000
    arrival[lost] = np.nan
    deadline = arrival.copy()
    deadline[lost] = send[lost] + owd_ms / 1000
    return send, arrival, deadline + buffer_ms / 1000, lost


@pytest.mark.parametrize("frame_ms, owd_ms, buffer_ms", [(20, 50, 120), (10, 33.3, 70.7), (60, 0.1, 60.02)])
def test_nack_recover_repairs_in_time_exactly_at_the_boundary(frame_ms, owd_ms, buffer_ms):
    send, arrival, deadline, i = lone_loss(frame_ms, owd_ms, buffer_ms)
    limit = max_rtt_for_rtx_ms(buffer_ms, frame_ms=frame_ms)
    at = nack_recover(send, arrival, rtt_ms=limit, deadline_s=deadline, rtx_loss=0.0)
    assert at.nacks_sent == 1 and at.recovered[i] and arrives_in_time(at.arrival_s[i], deadline[i])
    past = nack_recover(send, arrival, rtt_ms=limit + 0.001, deadline_s=deadline, rtx_loss=0.0)
    assert past.nacks_sent == 0 and np.isnan(past.arrival_s[i])  # not worth asking: it would be late
    no_deadline = nack_recover(send, arrival, rtt_ms=limit + 0.001, rtx_loss=0.0)
    assert not arrives_in_time(no_deadline.arrival_s[i], deadline[i])  # asked anyway: it comes late


@settings(max_examples=200, deadline=None)
@given(buffer_ms=st.floats(0, 1000), frame_ms=st.floats(0, 120), wait_ms=st.floats(0, 50),
       attempt=st.integers(1, 4))
def test_the_largest_rtt_fits_and_one_microsecond_more_does_not(buffer_ms, frame_ms, wait_ms, attempt):
    limit = max_rtt_for_rtx_ms(buffer_ms, frame_ms=frame_ms, wait_ms=wait_ms, attempt=attempt)
    kw = dict(frame_ms=frame_ms, wait_ms=wait_ms, attempt=attempt)
    if limit < 0:  # even an instant retransmission is late (within the rounding slack)
        assert bool(rtx_in_time(0, buffer_ms, **kw)) == (limit * attempt >= -TIME_TOLERANCE_MS)
        return
    assert rtx_in_time(limit, buffer_ms, **kw)
    assert not rtx_in_time(limit + 0.001, buffer_ms, **kw)


def test_arrives_in_time_counts_the_deadline_itself_and_never_nan():
    assert list(arrives_in_time([0.1, 0.1 + 1e-12, 0.1 + 1e-6, np.nan], 0.1)) == [True, True, False, False]


@pytest.mark.parametrize("kw, name", [(dict(frame_ms=-1), "frame_ms"), (dict(wait_ms=np.nan), "wait_ms"),
                                      (dict(attempt=1.5), "attempt")])
def test_bad_rule_arguments_are_named(kw, name):
    for f in (lambda: rtx_in_time(10, 100, **kw), lambda: max_rtt_for_rtx_ms(100, **kw)):
        with pytest.raises(ValueError, match=name):
            f()
