"""The scalar fast paths give exactly what rtlib.net's capacity curves give."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtlib.cc.fastcap import FastStep, FastTrace, fast_capacity
from rtlib.net import ConstantCapacity, OpportunityTrace
from rtlib.net.traces import rfc8867_5_1, synthetic_cellular

STEP = rfc8867_5_1()
TRACE = synthetic_cellular(20.0, profile="drive", seed=4)


def test_wrappers_are_chosen_by_type():
    assert isinstance(fast_capacity(STEP), FastStep)
    assert isinstance(fast_capacity(TRACE), FastTrace)
    c = ConstantCapacity(1e6)
    assert fast_capacity(c) is c
    assert fast_capacity(STEP).rates_bps is STEP.rates_bps  # attributes pass through


@settings(max_examples=300, deadline=None)
@given(t=st.floats(-1.0, 150.0, allow_nan=False), x=st.floats(-10.0, 3e7, allow_nan=False))
def test_step_scalar_answers_match(t, x):
    f = fast_capacity(STEP)
    assert f.bytes_by(t) == pytest.approx(float(STEP.bytes_by(t)), rel=1e-12, abs=1e-6)
    assert f.bytes_before(t) == pytest.approx(float(STEP.bytes_before(t)), rel=1e-12, abs=1e-6)
    assert f.time_of_bytes(x) == pytest.approx(float(STEP.time_of_bytes(x)), rel=1e-12, abs=1e-9)


@settings(max_examples=300, deadline=None)
@given(t=st.floats(-1.0, 70.0, allow_nan=False), x=st.floats(-10.0, 5e7, allow_nan=False))
def test_trace_scalar_answers_match(t, x):
    f = fast_capacity(TRACE)
    assert f.bytes_by(t) == float(TRACE.bytes_by(t))
    assert f.bytes_before(t) == float(TRACE.bytes_before(t))
    assert f.time_of_bytes(x) == pytest.approx(float(TRACE.time_of_bytes(x)), rel=1e-12, abs=1e-9)


def test_trace_opportunity_times_exactly():
    f = fast_capacity(TRACE)
    for t in TRACE._base[:50].tolist():
        assert f.bytes_by(t) == float(TRACE.bytes_by(t)) and f.bytes_before(t) == float(TRACE.bytes_before(t))


def test_arrays_go_to_the_wrapped_curve():
    f = fast_capacity(STEP)
    edges = np.linspace(0, 100, 11)
    assert np.array_equal(f.rate_bps(edges), STEP.rate_bps(edges))
    assert np.array_equal(f.bytes_by(edges), STEP.bytes_by(edges))
