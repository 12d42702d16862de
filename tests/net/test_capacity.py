"""Capacity models: the cumulative service curve and its inverse."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtlib.net import ConstantCapacity, OpportunityTrace, StepCapacity, as_capacity
from rtlib.net.traces import rfc8867_5_1, synthetic_cellular


def test_constant():
    c = ConstantCapacity(8e6)
    assert c.bytes_by(2.0) == pytest.approx(2e6)
    assert c.time_of_bytes(1e6) == pytest.approx(1.0)
    assert c.mean_rate_bps == 8e6


def test_step_with_an_outage():
    c = StepCapacity([0, 1, 2], [8e6, 0.0, 4e6])
    np.testing.assert_allclose(c.bytes_by([0.5, 1.0, 1.5, 2.0, 3.0]), [5e5, 1e6, 1e6, 1e6, 1.5e6])
    # bytes that fall in the outage wait for it to end
    np.testing.assert_allclose(c.time_of_bytes([5e5, 1e6, 1e6 + 1, 1.5e6]), [0.5, 1.0, 2.0 + 2e-6, 3.0])
    np.testing.assert_allclose(c.rate_bps([0, 1, 2, 3]), [8e6, 0, 4e6])


def test_opportunities_loop_like_mahimahi():
    t = OpportunityTrace([0, 2, 2, 10])  # ms; period 10 ms
    assert t.bytes_by(0.0) == 1500  # the opportunity at 0 ms
    assert t.bytes_before(0.0) == 0
    assert t.bytes_by(0.002) == 4500 and t.bytes_before(0.002) == 1500
    # at 10 ms: the last line of pass 1 and the first line of pass 2 coincide
    assert t.bytes_by(0.010) == 5 * 1500 and t.bytes_before(0.010) == 3 * 1500
    np.testing.assert_allclose(t.time_of_bytes(np.arange(1, 10) * 1500.0) * 1000, [0, 2, 2, 10, 10, 12, 12, 20, 20])
    assert t.mean_rate_bps == pytest.approx(4 * 1500 * 8 / 0.010)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 50), min_size=1, max_size=30).map(sorted).filter(lambda x: x[-1] > 0),
       st.floats(0, 0.3))
def test_inverse_is_consistent(times_ms, t):
    tr = OpportunityTrace(times_ms)
    x = tr.bytes_by(t)
    if x > 0:
        # the x-th byte was offered no later than t, and the next byte only after t
        assert tr.time_of_bytes(x) <= t + 1e-9
        assert tr.time_of_bytes(x + 1) > t - 1e-9
    assert tr.bytes_before(t) <= tr.bytes_by(t)


@pytest.mark.parametrize("make, match", [
    (lambda: ConstantCapacity(0), r"capacity_bps must be a finite number > 0 bit/s"),
    (lambda: StepCapacity([0, 1], [1e6, 0]), r"the last of rates_bps must be > 0"),
    (lambda: StepCapacity([1, 0], [1e6, 1e6]), r"times_s must be strictly increasing"),
    (lambda: StepCapacity([0], [-1.0]), r"rates_bps must be finite and >= 0"),
    (lambda: StepCapacity([], []), r"times_s must be a non-empty"),
    (lambda: OpportunityTrace([]), r"the trace is empty"),
    (lambda: OpportunityTrace([5, 3]), r"times_ms must be sorted"),
    (lambda: OpportunityTrace([0, 0]), r"times_ms must end after 0 ms"),
    (lambda: OpportunityTrace([1, 2], bytes_per_opportunity=0), r"bytes_per_opportunity must be an integer"),
    (lambda: as_capacity([1, 2, 3]), r"capacity_bps must be None"),
])
def test_bad_capacities(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_as_capacity_accepts_rows():
    c = as_capacity(np.array([[0, 1e6], [5, 2e6]]))
    assert isinstance(c, StepCapacity) and c.rates_bps.tolist() == [1e6, 2e6]
    assert as_capacity(None) is None
    assert isinstance(as_capacity(np.float64(3e6)), ConstantCapacity)


# -- the scalar fast path (a Python float) gives what the vectorised path gives -------------
STEP = rfc8867_5_1()
TRACE = synthetic_cellular(20.0, profile="drive", seed=4)


@settings(max_examples=300, deadline=None)
@given(t=st.floats(-1.0, 150.0, allow_nan=False), x=st.floats(-10.0, 3e7, allow_nan=False))
def test_step_scalar_answers_match_the_vectorised_ones(t, x):
    assert type(STEP.bytes_by(t)) is float and type(STEP.time_of_bytes(x)) is float  # the scalar path ran
    assert STEP.bytes_by(t) == pytest.approx(float(STEP.bytes_by(np.array(t))), rel=1e-12, abs=1e-6)
    assert STEP.bytes_before(t) == pytest.approx(float(STEP.bytes_before(np.array(t))), rel=1e-12, abs=1e-6)
    assert STEP.time_of_bytes(x) == pytest.approx(float(STEP.time_of_bytes(np.array(x))), rel=1e-12, abs=1e-9)


@settings(max_examples=300, deadline=None)
@given(t=st.floats(-1.0, 70.0, allow_nan=False), x=st.floats(-10.0, 5e7, allow_nan=False))
def test_trace_scalar_answers_match_the_vectorised_ones(t, x):
    assert type(TRACE.bytes_by(t)) is float and type(TRACE.time_of_bytes(x)) is float
    assert TRACE.bytes_by(t) == float(TRACE.bytes_by(np.array(t)))
    assert TRACE.bytes_before(t) == float(TRACE.bytes_before(np.array(t)))
    assert TRACE.time_of_bytes(x) == pytest.approx(float(TRACE.time_of_bytes(np.array(x))), rel=1e-12, abs=1e-9)


def test_trace_scalar_path_at_the_opportunity_times_exactly():
    for t in TRACE.times_ms[:50] / 1000.0:
        t = float(t)
        assert TRACE.bytes_by(t) == float(TRACE.bytes_by(np.array(t)))
        assert TRACE.bytes_before(t) == float(TRACE.bytes_before(np.array(t)))


def test_trace_non_finite_floats_answer_as_the_vectorised_path():
    inf = float("inf")
    assert TRACE.bytes_before(-inf) == float(TRACE.bytes_before(np.array(-inf))) == 0.0
    assert TRACE.time_of_bytes(-inf) == float(TRACE.time_of_bytes(np.array(-inf))) == TRACE.times_ms[0] / 1000
