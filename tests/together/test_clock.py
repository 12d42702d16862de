"""NTP's offset and delay (RFC 5905 section 8), the best-of-N estimator, device clocks."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rtlib.together.clock import DeviceClock, OffsetEstimator, ntp_sample, offset_error_s

seconds = st.floats(0.0, 5.0, allow_nan=False)
offsets = st.floats(-1000.0, 1000.0, allow_nan=False)


def exchange(theta, forward, back, hold=0.001, t1=100.0):
    """Timestamps of one exchange when the answering clock is ``theta`` ahead of the asking one."""
    t2 = t1 + forward + theta
    t3 = t2 + hold
    t4 = t3 - theta + back
    return t1, t2, t3, t4


@given(offsets, seconds)
def test_offset_is_exact_on_a_symmetric_path(theta, d):
    s = ntp_sample(*exchange(theta, d, d))
    assert s.offset_s == pytest.approx(theta, abs=1e-9)
    assert s.delay_s == pytest.approx(2 * d, abs=1e-9)


@given(offsets, seconds, seconds)
def test_offset_is_off_by_half_the_asymmetry(theta, fwd, back):
    s = ntp_sample(*exchange(theta, fwd, back))
    assert s.offset_s - theta == pytest.approx((fwd - back) / 2, abs=1e-9)
    assert offset_error_s(fwd, back) == pytest.approx((fwd - back) / 2)
    # RFC 5905: the true offset lies within offset ± delay / 2
    assert abs(s.offset_s - theta) <= s.delay_s / 2 + 1e-9


def test_best_of_n_takes_the_least_delay():
    est = OffsetEstimator(window=4)
    assert est.offset_s is None
    for fwd, back in ((0.30, 0.02), (0.05, 0.05), (0.02, 0.40)):
        est.add(ntp_sample(*exchange(7.0, fwd, back)))
    assert est.offset_s == pytest.approx(7.0)
    assert est.delay_s == pytest.approx(0.10)


def test_window_forgets_old_samples():
    est = OffsetEstimator(window=2)
    est.add(ntp_sample(*exchange(7.0, 0.01, 0.01)))
    est.add(ntp_sample(*exchange(7.0, 0.30, 0.10)))
    est.add(ntp_sample(*exchange(7.0, 0.20, 0.10)))
    assert est.offset_s == pytest.approx(7.05)


def test_device_clock_round_trips():
    c = DeviceClock(3.5, 80.0)
    assert c.local(10.0) == pytest.approx(3.5 + 10.0 * (1 + 80e-6))
    assert c.true(c.local(42.0)) == pytest.approx(42.0)


@pytest.mark.parametrize("call, name", [
    (lambda: ntp_sample(0.0, 1.0, 0.5, 2.0), "t3_s"),
    (lambda: ntp_sample(2.0, 1.0, 1.0, 1.0), "t4_s"),
    (lambda: ntp_sample(math.nan, 1.0, 1.0, 1.0), "t1_s"),
    (lambda: OffsetEstimator(window=0), "window"),
    (lambda: DeviceClock(skew_ppm=5000), "skew_ppm"),
    (lambda: offset_error_s(-1.0, 0.0), "forward_s"),
])
def test_bad_parameters_raise(call, name):
    with pytest.raises(ValueError, match=name):
        call()
