"""Mahimahi traces, RFC 8867 patterns and the synthetic cellular generator."""

import importlib.util

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtlib.net import OpportunityTrace, simulate_path
from rtlib.net.traces import (
    TRACES_DIR,
    TraceParseError,
    course_trace,
    course_traces,
    load_mahimahi,
    parse_mahimahi,
    rate_series,
    rfc8867_5_1,
    rfc8867_5_2,
    rfc8867_5_3,
    step_down,
    synthetic_cellular,
    to_opportunities,
    write_mahimahi,
)
from tests.conftest import ROOT, SHARED_DATA

trace_lists = st.lists(st.integers(0, 10_000), min_size=1, max_size=200).map(sorted).filter(lambda x: x[-1] > 0)


@settings(max_examples=100, deadline=None)
@given(trace_lists)
def test_write_then_load_round_trips(tmp_path_factory, times):
    path = tmp_path_factory.mktemp("tr") / "t.down"
    write_mahimahi(OpportunityTrace(times), path)
    assert path.read_text().splitlines() == [str(t) for t in times]
    np.testing.assert_array_equal(load_mahimahi(path).times_ms, times)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="0123456789-x \n", max_size=60))
def test_parser_accepts_or_raises_its_parse_error(text):
    try:
        trace = parse_mahimahi(text)
    except TraceParseError as err:
        assert isinstance(err, ValueError) and str(err)
    else:
        assert len(trace) > 0 and np.all(np.diff(trace.times_ms) >= 0)


@pytest.mark.parametrize("text, match", [
    ("", "the trace is empty"),
    ("\n\n", "the trace is empty"),
    ("5\n3\n", r"line 2: times must be non-decreasing \(the trace is unsorted\)"),
    ("1\nabc\n", "line 2: expected an integer number of ms"),
    ("1.5\n", "line 1: expected an integer"),
    ("-3\n", "line 1: times must be >= 0 ms"),
    ("0\n0\n", "must end after 0 ms"),
])
def test_bad_traces_raise_with_the_line(text, match):
    with pytest.raises(TraceParseError, match=match):
        parse_mahimahi(text)


def test_rfc8867_patterns():
    c = rfc8867_5_1()
    np.testing.assert_allclose(c.rate_bps([0, 40, 60, 80, 100]), [1e6, 2.5e6, 0.6e6, 1e6])
    assert c.duration_s == 100 and c.mean_rate_bps == pytest.approx(1.22e6)
    c = rfc8867_5_2()
    np.testing.assert_allclose(c.rate_bps([0, 25, 50, 75, 100, 125]), [4e6, 2e6, 3.5e6, 1e6, 2e6])
    fwd, bwd = rfc8867_5_3()
    np.testing.assert_allclose(fwd.rate_bps([0, 20, 40, 60, 100]), [2e6, 1e6, 0.5e6, 2e6])
    np.testing.assert_allclose(bwd.rate_bps([0, 35, 70, 100]), [2e6, 0.8e6, 2e6])


def test_pattern_as_a_mahimahi_trace_keeps_its_rates():
    tr = to_opportunities(rfc8867_5_1(), 100.0)
    t, rate = rate_series(tr, 100.0, bin_s=5.0)
    expected = rfc8867_5_1().rate_bps(np.arange(0, 101, 5.0))
    np.testing.assert_allclose(rate, expected, rtol=0.01)
    assert np.all(tr.times_ms == np.round(tr.times_ms))  # whole milliseconds


def test_step_down():
    c = step_down(3e6, 1e6, 5.0)
    np.testing.assert_allclose(c.rate_bps([0, 5, 6]), [3e6, 1e6])
    with pytest.raises(ValueError, match="low_bps must be a number > 0"):
        step_down(3e6, 0, 5.0)
    with pytest.raises(ValueError, match="at_s must be a time > 0 s"):
        step_down(3e6, 1e6, 0)


def test_synthetic_cellular_is_reproducible_and_varies():
    a = synthetic_cellular(20.0, profile="drive", seed=5)
    b = synthetic_cellular(20.0, profile="drive", seed=5)
    c = synthetic_cellular(20.0, profile="drive", seed=6)
    np.testing.assert_array_equal(a.times_ms, b.times_ms)
    assert not np.array_equal(a.times_ms[:100], c.times_ms[:100])
    assert a.period_s == pytest.approx(20.0)
    _, rate = rate_series(a, 20.0, 0.5)
    assert rate.max() > 3 * max(rate.min(), 1.0)  # the capacity really swings


def test_synthetic_cellular_mean_follows_its_levels():
    # one level and no fading: a Poisson process at that rate
    tr = synthetic_cellular(60.0, rates_bps=[2e6], mean_dwell_s=[1.0], fading=0.0, seed=1)
    assert tr.mean_rate_bps == pytest.approx(2e6, rel=0.02)


@pytest.mark.parametrize("kwargs, match", [
    (dict(duration_s=0), r"duration_s must be in \(0, 3600\] s"),
    (dict(profile="bike"), r"profile must be one of \['drive', 'walk'\]"),
    (dict(rates_bps=[0, 0], mean_dwell_s=[1, 1]), "rates_bps must be"),
    (dict(rates_bps=[1e6, 2e6], mean_dwell_s=[1]), "mean_dwell_s must hold one time > 0 s per level"),
    (dict(fading=3), r"fading must be in \[0, 2\]"),
])
def test_synthetic_cellular_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        synthetic_cellular(**{"duration_s": 5.0, **kwargs})


def test_shipped_traces_are_what_the_script_makes():
    spec = importlib.util.spec_from_file_location("make_traces", ROOT / "scripts" / "make_traces.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert sorted(script.TRACES) == course_traces()
    for name, (profile, duration_s, seed) in script.TRACES.items():
        shipped = course_trace(name)
        made = synthetic_cellular(duration_s, profile=profile, seed=seed)
        np.testing.assert_array_equal(shipped.times_ms, np.ceil(made.times_ms))
        assert (TRACES_DIR / f"{name}.down").stat().st_size < 200_000  # small enough to ship


def test_course_trace_names():
    with pytest.raises(ValueError, match="name must be one of"):
        course_trace("no-such-trace")


@pytest.mark.skipif(not (SHARED_DATA / "traces").is_dir(), reason="third-party Mahimahi traces not present")
def test_real_mahimahi_traces_load_and_drive_a_path():
    tr = load_mahimahi(SHARED_DATA / "traces" / "ATT-LTE-driving-2016.down")
    assert tr.mean_rate_bps / 1e6 == pytest.approx(4.6, abs=0.1)  # as data/README.md of the traces says
    send = np.arange(0, 20, 0.002)  # 6 Mbit/s of 1500-byte packets: more than the link's mean
    res = simulate_path(send, 1500, capacity_bps=tr, queue_limit_ms=500)
    delivered_bps = (~res.lost).sum() * 1500 * 8 / 20
    assert delivered_bps <= tr.bytes_by(20 + res.queue_delay_s[~res.lost].max()) * 8 / 20 + 1
